"""S6: hostile input gets a 4xx problem naming the field (413 for size), never a 5xx or a write.

SQL and LIKE metacharacters are data: stored verbatim and searched literally.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from retailcare_shared.testing import bearer
from survey_svc.questionnaires.catalogue import SERVQUAL_RETAIL

ADMIN = bearer(["admin"], sub="sec-admin")
CALL_CENTER = bearer(["call_center"], sub="sec-cc")
SUPERVISOR = bearer(["supervisor"], sub="sec-sup")
QUIET = {"consumers_enabled": False, "relay_enabled": False}
INJECTION = "x'; DROP TABLE customers;--"


def shop_body(**overrides: Any) -> dict[str, Any]:
    """A valid shop registration."""
    return {
        "license_no": "330102" + uuid.uuid4().hex[:8].upper(),
        "name": "Corner Shop",
        "county": "330102",
        "district": "D01",
        "market_type": "urban",
        **overrides,
    }


def campaign_body() -> dict[str, Any]:
    """A valid survey campaign."""
    now = datetime.now(UTC)
    return {
        "name": "Spring inquiry",
        "questionnaire_id": str(SERVQUAL_RETAIL.id),
        "kind": "monthly_inquiry",
        "method": "phone",
        "opens_at": now.isoformat(),
        "closes_at": (now + timedelta(days=5)).isoformat(),
        "sampling": {"rate": 0.5},
    }


# service → (create path, token, valid body, a text field, its documented maximum, table)
CREATES: dict[str, tuple[str, dict[str, str], Any, str, int, str]] = {
    "customer-svc": ("/api/v1/customers", ADMIN, shop_body, "name", 200, "customers"),
    "complaint-svc": (
        "/api/v1/complaints",
        CALL_CENTER,
        lambda: {
            "complainant_type": "retailer",
            "received_by": "agent-li",
            "channel": "hotline",
            "category": "delivery_timeliness",
            "description": "Late delivery again this week.",
        },
        "description",
        4000,
        "complaints",
    ),
    "survey-svc": (
        "/api/v1/survey-campaigns",
        SUPERVISOR,
        campaign_body,
        "name",
        200,
        "survey_campaigns",
    ),
    "valuation-svc": (
        "/api/v1/valuation-runs",
        ADMIN,
        lambda: {"period": "2026H1", "county": "330102"},
        "county",
        50,
        "valuation_runs",
    ),
}


def assert_problem(response: httpx.Response, status: int, field: str | None = None) -> None:
    """A problem response of the given status; for 422 its errors name `field`."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == status
    if field is not None:
        assert field in {error["field"] for error in problem["errors"]}, problem


@pytest.mark.parametrize("name", list(CREATES))
async def test_hostile_bodies_are_refused_and_nothing_is_stored(
    name: str, launch: Any, rows: Any
) -> None:
    """Too long, NUL, control characters, non-UTF-8 and over 1 MB: 4xx, no row, no event."""
    path, token, valid, field, maximum, table = CREATES[name]
    extra = {"sweeper_enabled": False} if name == "complaint-svc" else {}
    async with launch(name, **QUIET, **extra) as service:
        http = service.http
        before = await rows(service, table), await rows(service, "outbox")
        json_headers = {**token, "content-type": "application/json"}

        too_long = await http.post(
            path, json={**valid(), field: "x" * (maximum + 1)}, headers=token
        )
        assert_problem(too_long, 422, field)
        assert too_long.json()["errors"][0]["rule"] == "string_too_long"
        nul = await http.post(path, json={**valid(), field: "ab\x00cd"}, headers=token)
        assert_problem(nul, 422, field)
        control = await http.post(path, json={**valid(), field: "ab\x1b[2Jcd"}, headers=token)
        assert_problem(control, 422, field)
        raw = json.dumps(valid()).encode()
        latin1 = raw.replace(b'"' + str(valid()[field]).encode(), b'"\xff\xfe', 1)
        not_utf8 = await http.post(path, content=latin1, headers=json_headers)
        assert_problem(not_utf8, 422, "body")
        broken = await http.post(path, content=raw[:-3], headers=json_headers)
        assert_problem(broken, 422)
        huge = await http.post(path, json={**valid(), field: "x" * 1_100_000}, headers=token)
        assert_problem(huge, 413)
        streamed = await http.post(path, content=_chunks(b"x" * 1_200_000), headers=json_headers)
        assert_problem(streamed, 413)

        assert (await rows(service, table), await rows(service, "outbox")) == before
        accepted = await http.post(path, json=valid(), headers=token)
        assert accepted.status_code in (201, 202), accepted.text  # the service is still fine


async def _chunks(data: bytes, size: int = 64 * 1024) -> Any:
    """Stream a body without a Content-Length header."""
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def test_sql_and_like_metacharacters_are_data(launch: Any, rows: Any) -> None:
    """customer-svc: metacharacters are stored verbatim and `q` matches them literally."""
    async with launch("customer-svc", **QUIET) as service:
        http = service.http
        names = ["100% Tobacco", "Corner_Shop", "Back\\slash Store", INJECTION, "Plain Shop"]
        shops = {}
        for shop_name in names:
            response = await http.post(
                "/api/v1/customers", json=shop_body(name=shop_name), headers=ADMIN
            )
            assert response.status_code == 201, response.text
            shops[shop_name] = response.json()
            assert shops[shop_name]["name"] == shop_name

        async def search(q: str) -> list[str]:
            response = await http.get("/api/v1/customers", params={"q": q}, headers=ADMIN)
            assert response.status_code == 200, (q, response.text)
            return sorted(item["name"] for item in response.json()["items"])

        assert await search("%") == ["100% Tobacco"]
        assert await search("_") == ["Corner_Shop"]
        assert await search("\\") == ["Back\\slash Store"]
        assert await search("'") == [INJECTION]
        assert await search(";--") == [INJECTION]
        assert await search("%Shop%") == []
        assert await search("' OR '1'='1") == []
        by_licence = await http.get(
            "/api/v1/customers", params={"license_no": "' OR 1=1--"}, headers=ADMIN
        )
        assert_problem(by_licence, 422, "license_no")
        for bad_q, rule in (("x" * 101, "string_too_long"), ("a\x00b", None), ("a\x07b", None)):
            response = await http.get("/api/v1/customers", params={"q": bad_q}, headers=ADMIN)
            assert_problem(response, 422, "q")
            if rule:
                assert response.json()["errors"][0]["rule"] == rule
        assert await rows(service, "customers") == len(names)
