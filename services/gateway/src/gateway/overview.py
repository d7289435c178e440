"""The customer-360 view: every service's part fetched concurrently; a down service is named."""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import Request

from retailcare_shared.logging import get_logger, request_id_var
from retailcare_shared.problems import NotFound

log = get_logger(__name__)
OPEN_COMPLAINT_STATUSES = ("received", "assigned", "in_progress")


@dataclass(frozen=True)
class Part:
    """One upstream read that fills one field of the overview."""

    field: str
    upstream: str
    path: str
    params: dict[str, str]
    items: bool = False  # take `items` of a page instead of the whole body


def parts_for(customer_id: uuid.UUID) -> list[Part]:
    """What the overview reads, from whom (spec/gateway.md)."""
    shop = str(customer_id)
    return [
        Part("profile", "customer-svc", f"/api/v1/customers/{shop}", {}),
        Part("valuation", "valuation-svc", f"/api/v1/customers/{shop}/valuation", {}),
        Part("service_plan", "valuation-svc", f"/api/v1/customers/{shop}/service-plan", {}),
        Part(
            "recent_complaints",
            "complaint-svc",
            "/api/v1/complaints",
            {"customer_id": shop, "limit": "5"},
            items=True,
        ),
        *[
            Part(
                f"open_complaints:{status}",
                "complaint-svc",
                "/api/v1/complaints",
                {"customer_id": shop, "status": status, "limit": "100"},
                items=True,
            )
            for status in OPEN_COMPLAINT_STATUSES
        ],
        Part(
            "last_survey_result",
            "survey-svc",
            "/api/v1/survey-responses",
            {"customer_id": shop, "limit": "1"},
            items=True,
        ),
        Part(
            "pending_callbacks",
            "survey-svc",
            "/api/v1/callbacks",
            {"customer_id": shop, "status": "pending", "limit": "100"},
            items=True,
        ),
    ]


class Unavailable(Exception):
    """The upstream did not give an answer (down, timed out, 5xx, breaker open)."""


async def _fetch(gateway: Any, request: Request, part: Part, timeout: float) -> tuple[int, Any]:
    breaker = gateway.breakers[part.upstream]
    if not breaker.allow(time.monotonic()):
        raise Unavailable(part.upstream)
    headers = {
        "authorization": request.headers.get("authorization", ""),
        "x-request-id": request_id_var.get() or "",
    }
    try:
        response = await gateway.client.get(
            gateway.upstreams[part.upstream] + part.path,
            params=part.params,
            headers=headers,
            timeout=timeout,
        )
    except httpx.HTTPError as error:
        breaker.record_failure(time.monotonic())
        log.warning("overview_part_unavailable", upstream=part.upstream, error=type(error).__name__)
        raise Unavailable(part.upstream) from None
    if response.status_code >= 500:
        breaker.record_failure(time.monotonic())
        raise Unavailable(part.upstream)
    breaker.record_success()
    return response.status_code, response.json() if response.content else None


async def build_overview(
    gateway: Any, request: Request, customer_id: uuid.UUID, timeout: float
) -> dict[str, Any]:
    """Fetch every part at once and assemble the view; 404 if the profile itself is not found."""
    parts = parts_for(customer_id)
    results = await asyncio.gather(
        *(_fetch(gateway, request, part, timeout) for part in parts), return_exceptions=True
    )
    view: dict[str, Any] = {"customer_id": str(customer_id)}
    unavailable: set[str] = set()
    withheld: set[str] = set()
    open_complaints: list[Any] = []
    for part, result in zip(parts, results, strict=True):
        name = part.field.split(":")[0]
        if isinstance(result, BaseException):
            if not isinstance(result, Unavailable):
                raise result
            unavailable.add(part.upstream)
            view.setdefault(name, None)
            continue
        status, body = result
        if part.field == "profile" and status == 404:
            # The shop does not exist or is not the caller's (a manager's other shops look absent).
            raise NotFound(f"customer {customer_id} does not exist")
        if status in (401, 403):
            withheld.add(name)
            view.setdefault(name, None)
            continue
        value = None if status == 404 else (body.get("items", []) if part.items else body)
        if name == "open_complaints":
            open_complaints.extend(value or [])
            view["open_complaints"] = open_complaints
        elif name == "last_survey_result":
            view[name] = value[0] if value else None
        else:
            view[name] = value
    if "complaint-svc" in unavailable:  # a partial list of open complaints would mislead
        view["open_complaints"] = None
    view["unavailable"] = sorted(unavailable)
    view["withheld"] = sorted(withheld)
    return view
