"""S3: missing, expired, unsigned (`alg: none`) and wrongly signed tokens get a 401 problem.

Every service checks tokens itself (defence in depth), and so does the gateway; a refused write
stores nothing.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from retailcare_shared.auth import issue_token
from retailcare_shared.testing import TEST_JWT_SECRET, running


def _unsigned_token() -> str:
    """A token whose header says `alg: none` and that carries no signature."""

    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    now = int(time.time())
    claims = {"sub": "mallory", "roles": ["admin"], "iat": now, "exp": now + 3600}
    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


TOKENS: dict[str, str | None] = {
    "missing": None,
    "expired": issue_token(TEST_JWT_SECRET, sub="u", roles=["admin"], ttl_seconds=-3600),
    "alg-none": _unsigned_token(),
    "wrongly-signed": issue_token(
        "another-secret-that-is-long-enough-0123456789", sub="u", roles=["admin"]
    ),
}
# (method, path, table a refused write must leave as it was)
REQUESTS: dict[str, list[tuple[str, str, str | None]]] = {
    "customer-svc": [
        ("GET", "/api/v1/customers", None),
        ("POST", "/api/v1/customers", "customers"),
        ("POST", "/api/v1/managers", "managers"),
    ],
    "valuation-svc": [
        ("GET", "/api/v1/valuations", None),
        ("POST", "/api/v1/value-models", "value_models"),
        ("POST", "/api/v1/valuation-runs", "valuation_runs"),
    ],
    "complaint-svc": [
        ("GET", "/api/v1/complaints", None),
        ("POST", "/api/v1/complaints", "complaints"),
    ],
    "survey-svc": [
        ("GET", "/api/v1/survey-campaigns", None),
        ("POST", "/api/v1/survey-campaigns", "survey_campaigns"),
        ("POST", "/api/v1/survey-responses", "survey_responses"),
    ],
    "gateway": [
        ("GET", "/api/v1/customers", None),
        ("POST", "/api/v1/complaints", None),
        ("GET", f"/api/v1/customers/{uuid.uuid4()}/overview", None),
    ],
}


@pytest.fixture
async def target(
    request: pytest.FixtureRequest, launch: Any, gateway_app: Any
) -> AsyncIterator[tuple[httpx.AsyncClient, Any]]:
    """A client for the service under test, and a row counter for its database (None: gateway)."""
    name: str = request.param
    if name == "gateway":
        async with (
            running(gateway_app({})) as app,
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw") as http,
        ):
            yield http, None
        return
    async with launch(name, consumers_enabled=False, relay_enabled=False) as service:
        yield service.http, service


def _headers(token: str | None) -> dict[str, str]:
    return {} if token is None else {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize("target", list(REQUESTS), indirect=True)
async def test_bad_tokens_get_a_401_problem_and_change_nothing(
    target: tuple[httpx.AsyncClient, Any], request: pytest.FixtureRequest, rows: Any
) -> None:
    """Each kind of bad token on reads and writes: 401 problem with WWW-Authenticate."""
    http, service = target
    name = request.node.callspec.params["target"]
    for method, path, table in REQUESTS[name]:
        before = await rows(service, table) if table else None
        for kind, token in TOKENS.items():
            body: dict[str, Any] | None = {} if method == "POST" else None
            response = await http.request(method, path, json=body, headers=_headers(token))
            assert response.status_code == 401, (name, method, path, kind, response.text)
            assert response.headers["content-type"] == "application/problem+json"
            assert response.headers["www-authenticate"].startswith("Bearer")
            problem = response.json()
            assert problem["status"] == 401 and problem["type"].endswith("/unauthorized")
            expected = "expired" if kind == "expired" else "token"
            assert expected in problem["detail"], (kind, problem["detail"])
        if table:
            assert await rows(service, table) == before, (name, table)
