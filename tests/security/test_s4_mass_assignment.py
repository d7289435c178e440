"""S4: fields a role may not set, read-only fields and unknown fields are 422s naming the field.

Nothing is written, not even the allowed fields sent alongside (no partial update).
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from retailcare_shared.testing import bearer

ADMIN = bearer(["admin"], sub="sec-admin")
CALL_CENTER = bearer(["call_center"], sub="sec-cc")
SUPERVISOR = bearer(["supervisor"], sub="sec-sup")
QUIET = {"consumers_enabled": False, "relay_enabled": False}


def refused_field(response: httpx.Response, field: str, rule: str | None = None) -> None:
    """Assert a 422 problem whose errors name `field` (and the rule, when given)."""
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    named = {(error["field"], error["rule"]) for error in problem["errors"]}
    assert any(name == field and (rule is None or found == rule) for name, found in named), named
    assert field in problem["detail"]


async def test_manager_cannot_set_assignment_grade_territory_or_read_only_fields(
    launch: Any, rows: Any
) -> None:
    """customer-svc: forbidden and read-only fields refused; the shop stays at version 1."""
    async with launch("customer-svc", **QUIET) as service:
        http = service.http
        managers = []
        for _ in range(2):
            response = await http.post(
                "/api/v1/managers",
                json={
                    "employee_no": "E" + uuid.uuid4().hex[:8],
                    "name": "Manager",
                    "county": "330102",
                    "districts": ["D01"],
                },
                headers=ADMIN,
            )
            managers.append(response.json())
        mine, theirs = managers
        shop_body = {
            "license_no": "330102" + uuid.uuid4().hex[:8].upper(),
            "name": "Corner Shop",
            "county": "330102",
            "district": "D01",
            "market_type": "urban",
            "manager_id": mine["id"],
        }
        shop = (await http.post("/api/v1/customers", json=shop_body, headers=ADMIN)).json()
        me = bearer(["customer_manager"], sub="mgr-a", manager_id=mine["id"])
        cases: list[tuple[dict[str, Any], str, str]] = [
            ({"self_operated": True}, "self_operated", "forbidden_for_role"),
            ({"district": "D99"}, "district", "forbidden_for_role"),
            ({"license_no": "330102ZZZZZZZZ"}, "license_no", "forbidden_for_role"),
            (
                {"display_sku_count": 5, "manager_id": theirs["id"]},
                "manager_id",
                "forbidden_for_role",
            ),
            ({"value_class": "A"}, "value_class", "extra_forbidden"),
            ({"value_quadrant": "star"}, "value_quadrant", "extra_forbidden"),
            ({"status": "exited"}, "status", "extra_forbidden"),
            ({"version": 7}, "version", "extra_forbidden"),
            ({"display_sku_count": 5, "is_vip": True}, "is_vip", "extra_forbidden"),
        ]
        for body, field, rule in cases:
            response = await http.patch(
                f"/api/v1/customers/{shop['id']}", json=body, headers={**me, "If-Match": '"1"'}
            )
            refused_field(response, field, rule)
        stored = (await http.get(f"/api/v1/customers/{shop['id']}", headers=ADMIN)).json()
        assert stored["version"] == 1
        assert stored["manager_id"] == mine["id"]
        assert stored["display_sku_count"] == shop["display_sku_count"]
        assert stored["self_operated"] is False and stored["district"] == "D01"
        assert await rows(service, "customer_versions") == 1

        before = await rows(service, "customers")
        registration = {**shop_body, "license_no": "330102" + uuid.uuid4().hex[:8].upper()}
        for field, value in (("manager_id", theirs["id"]), ("compliance_grade", "A")):
            response = await http.post(
                "/api/v1/customers", json={**registration, field: value}, headers=me
            )
            refused_field(response, field, "forbidden_for_role")
        response = await http.post(
            "/api/v1/customers", json={**registration, "status": "active"}, headers=me
        )
        refused_field(response, "status", "extra_forbidden")
        assert await rows(service, "customers") == before


async def test_complaint_intake_refuses_lifecycle_fields(launch: Any, rows: Any) -> None:
    """complaint-svc: status, assignee, ref, repeat flags are the service's, never the caller's."""
    async with launch("complaint-svc", **QUIET, sweeper_enabled=False) as service:
        body = {
            "complainant_type": "retailer",
            "received_by": "agent-li",
            "channel": "hotline",
            "category": "delivery_timeliness",
            "service_item": "delivery",
            "description": "Late delivery again this week.",
        }
        for field, value in (
            ("status", "closed"),
            ("assignee", "someone-else"),
            ("ref", "TS-20260101-000001"),
            ("is_repeat", True),
            ("customer_verified", True),
            ("reopen_count", 3),
        ):
            response = await service.http.post(
                "/api/v1/complaints", json={**body, field: value}, headers=CALL_CENTER
            )
            refused_field(response, field, "extra_forbidden")
        assert await rows(service, "complaints") == 0
        assert await rows(service, "complaint_timeline") == 0
        assert await rows(service, "outbox") == 0


async def test_survey_and_valuation_bodies_refuse_unknown_fields(launch: Any, rows: Any) -> None:
    """survey-svc and valuation-svc: unknown top-level and nested fields name their path."""
    async with launch("survey-svc", **QUIET) as service:
        staff: dict[str, Any] = {
            "invitation_id": str(uuid.uuid4()),
            "answers": [{"item_code": "rel_stable_supply", "expectation": 4, "perception": 4}],
            "collected_by": "sec-sup",
        }
        response = await service.http.post(
            "/api/v1/survey-responses", json={**staff, "channel": "web"}, headers=SUPERVISOR
        )
        refused_field(response, "channel", "extra_forbidden")
        nested = {**staff, "answers": [{**staff["answers"][0], "weight": 10}]}
        response = await service.http.post(
            "/api/v1/survey-responses", json=nested, headers=SUPERVISOR
        )
        refused_field(response, "answers.0.weight", "extra_forbidden")
        response = await service.http.post(
            f"/api/v1/survey-invitations/{'t' * 32}/response",
            json={"answers": [], "customer_id": str(uuid.uuid4())},
        )
        refused_field(response, "customer_id", "extra_forbidden")
        assert await rows(service, "survey_responses") == 0
    async with launch("valuation-svc", **QUIET) as service:
        before = await rows(service, "valuation_runs")
        response = await service.http.post(
            "/api/v1/valuation-runs",
            json={"period": "2026H1", "status": "succeeded"},
            headers=ADMIN,
        )
        refused_field(response, "status", "extra_forbidden")
        assert await rows(service, "valuation_runs") == before
