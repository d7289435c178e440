"""S5: more requests than the limit through the gateway get a 429 problem with Retry-After.

The gateway sits in front of real services; a refused request never reaches them.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx

from retailcare_shared.testing import bearer, running, serve_http

QUIET = {"consumers_enabled": False, "relay_enabled": False}


def assert_limited(response: httpx.Response) -> None:
    """A 429 problem telling the client how long to wait."""
    assert response.status_code == 429, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert int(response.headers["retry-after"]) >= 1
    assert response.json()["status"] == 429


@contextlib.asynccontextmanager
async def gateway_client(
    app: Any, address: str = "198.51.100.7"
) -> AsyncIterator[httpx.AsyncClient]:
    """A client reaching the gateway from the given client address."""
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
        yield client


async def test_per_subject_per_role_and_per_address_limits(
    launch: Any, gateway_app: Any, rows: Any
) -> None:
    """Subjects, roles and public-link addresses each have their own bucket."""
    async with (
        launch("customer-svc", **QUIET) as customers,
        launch("survey-svc", **QUIET) as surveys,
        serve_http(customers.app) as customers_url,
        serve_http(surveys.app) as surveys_url,
    ):
        app = gateway_app(
            {"customer-svc": customers_url, "survey-svc": surveys_url},
            rate_limit_default={"rate": 0.01, "burst": 3},
            rate_limits_by_role={"call_center": {"rate": 0.01, "burst": 6}},
            rate_limit_public={"rate": 0.01, "burst": 2},
        )
        async with running(app), gateway_client(app) as client:
            bob = bearer(["admin"], sub="bob")
            allowed = [await client.get("/api/v1/customers", headers=bob) for _ in range(3)]
            assert [response.status_code for response in allowed] == [200, 200, 200]
            assert_limited(await client.get("/api/v1/customers", headers=bob))
            # A write while limited is refused at the gateway: the shop is never registered.
            write = await client.post(
                "/api/v1/customers",
                json={
                    "license_no": "330102" + uuid.uuid4().hex[:8].upper(),
                    "name": "Late Shop",
                    "county": "330102",
                    "market_type": "urban",
                },
                headers=bob,
            )
            assert_limited(write)
            assert await rows(customers, "customers") == 0
            # Another subject has its own bucket; a role with a larger burst gets more.
            carol = bearer(["admin"], sub="carol")
            assert (await client.get("/api/v1/customers", headers=carol)).status_code == 200
            agent = bearer(["call_center"], sub="agent")
            burst = [await client.get("/api/v1/customers", headers=agent) for _ in range(7)]
            assert [response.status_code for response in burst] == [200] * 6 + [429]
            assert_limited(burst[-1])

            # The public survey link: per client address, no token needed.
            link = f"/api/v1/survey-invitations/{'t' * 32}"
            public = [await client.get(link) for _ in range(2)]
            assert [response.status_code for response in public] == [404, 404]
            assert_limited(await client.get(link))
            answer = await client.post(f"{link}/response", json={"answers": []})
            assert_limited(answer)
            # A token does not lift the per-address limit of the public link.
            assert_limited(await client.get(link, headers=carol))
            async with gateway_client(app, address="203.0.113.9") as elsewhere:
                assert (await elsewhere.get(link)).status_code == 404
            assert await rows(surveys, "survey_responses") == 0
