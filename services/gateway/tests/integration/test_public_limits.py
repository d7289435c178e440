"""Public survey links: limited per token and per real client address (trusted proxies); the
gateway's own token check with a JWKS."""

import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI, Request

from gateway.config import Settings
from gateway.main import create_app
from retailcare_shared.testing import TEST_JWT_SECRET, running, serve_http

INGRESS = "10.20.0.5"  # inside the trusted network configured below
ClientAt = Callable[[str], AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture
async def survey_svc() -> AsyncIterator[str]:
    """A stand-in survey-svc answering every invitation link."""
    app = FastAPI()

    @app.api_route("/api/v1/survey-invitations/{token}", methods=["GET"])
    async def invitation(token: str, request: Request) -> dict[str, str]:
        return {"token": token}

    async with serve_http(app) as url:
        yield url


def settings_for(url: str, **overrides: Any) -> Settings:
    upstreams = {
        f"{name}_svc_url": url for name in ("customer", "valuation", "complaint", "survey")
    }
    return Settings(
        **{
            "auth_jwt_secret": TEST_JWT_SECRET,
            "kafka_bootstrap_servers": "unused:9092",
            **upstreams,
            **overrides,
        }
    )


@pytest.fixture
async def client_at(survey_svc: str) -> AsyncIterator[Callable[..., Any]]:
    """`await client_at(**settings)` starts a gateway; `at(peer)` connects from that peer."""
    async with AsyncExitStack() as stack:

        async def start(**overrides: Any) -> ClientAt:
            app = await stack.enter_async_context(
                running(create_app(settings_for(survey_svc, **overrides)))
            )

            @asynccontextmanager
            async def at(peer: str) -> AsyncIterator[httpx.AsyncClient]:
                transport = httpx.ASGITransport(app=app, client=(peer, 40000))
                async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
                    yield client

            return at

        yield start


async def test_twelve_quick_links_from_one_address_are_all_answered(
    client_at: Callable[..., Any],
) -> None:
    """One shop's NAT address opening twelve different invitations: the default limits pass."""
    at = await client_at()
    async with at("198.51.100.7") as client:
        answers = [
            await client.get(f"/api/v1/survey-invitations/token-{number:02d}")
            for number in range(12)
        ]
    assert [answer.status_code for answer in answers] == [200] * 12


async def test_one_token_hammered_is_refused_after_its_burst(
    client_at: Callable[..., Any],
) -> None:
    at = await client_at(rate_limit_public_token={"rate": 0.01, "burst": 12})
    link = "/api/v1/survey-invitations/the-same-token"
    async with at("198.51.100.7") as client, at("203.0.113.9") as elsewhere:
        burst = [await client.get(link) for _ in range(13)]
        # The limit is the token's, from wherever it is asked.
        from_elsewhere = await elsewhere.get(f"{link}/response")
        other_token = await client.get("/api/v1/survey-invitations/another-token")
    assert [answer.status_code for answer in burst] == [200] * 12 + [429]
    assert burst[-1].headers["retry-after"] == "100"
    assert burst[-1].headers["content-type"] == "application/problem+json"
    assert from_elsewhere.status_code == 429
    assert other_token.status_code == 200


async def test_the_address_limit_counts_the_real_client_behind_a_trusted_proxy(
    client_at: Callable[..., Any],
) -> None:
    at = await client_at(
        rate_limit_public={"rate": 0.01, "burst": 2}, trusted_proxies=["10.20.0.0/16"]
    )
    async with at(INGRESS) as ingress:
        shop_a = [
            await ingress.get(
                f"/api/v1/survey-invitations/a{number}",
                headers={"X-Forwarded-For": "198.51.100.7"},
            )
            for number in range(3)
        ]
        # Another shop behind the same ingress has its own bucket.
        shop_b = await ingress.get(
            "/api/v1/survey-invitations/b1", headers={"X-Forwarded-For": "203.0.113.9, 10.20.0.9"}
        )
    assert [answer.status_code for answer in shop_a] == [200, 200, 429]
    assert shop_b.status_code == 200


async def test_a_forwarded_for_header_from_an_untrusted_peer_is_ignored(
    client_at: Callable[..., Any],
) -> None:
    at = await client_at(
        rate_limit_public={"rate": 0.01, "burst": 2}, trusted_proxies=["10.20.0.0/16"]
    )
    async with at("198.51.100.66") as attacker:
        spoofed = [
            await attacker.get(
                f"/api/v1/survey-invitations/s{number}",
                headers={"X-Forwarded-For": f"192.0.2.{number}"},
            )
            for number in range(3)
        ]
    # Each request claimed another address; the peer is what counts, so the third is refused.
    assert [answer.status_code for answer in spoofed] == [200, 200, 429]

    # Without any trusted proxy configured, not even an ingress address is believed.
    untrusting = await client_at(rate_limit_public={"rate": 0.01, "burst": 1})
    async with untrusting(INGRESS) as ingress:
        first = await ingress.get(
            "/api/v1/survey-invitations/u1", headers={"X-Forwarded-For": "198.51.100.1"}
        )
        second = await ingress.get(
            "/api/v1/survey-invitations/u2", headers={"X-Forwarded-For": "198.51.100.2"}
        )
    assert (first.status_code, second.status_code) == (200, 429)


async def test_the_gateway_verifies_tokens_against_the_jwks_by_kid(
    survey_svc: str, tmp_path: Path
) -> None:
    """The gateway's own check (defence in depth) uses the same JWKS, issuer and audience."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps({"keys": [{**jwk, "kid": "k1", "use": "sig", "alg": "RS256"}]}))
    settings = settings_for(
        survey_svc,
        auth_jwt_secret=None,
        auth_jwks_file=str(jwks),
        auth_jwt_issuer="https://idp.example",
        auth_jwt_audience="retailcare",
    )
    now = int(time.time())
    claims = {
        "sub": "agent",
        "roles": ["call_center"],
        "iat": now,
        "exp": now + 60,
        "iss": "https://idp.example",
        "aud": "retailcare",
    }

    def token(kid: str, **extra: object) -> dict[str, str]:
        signed = jwt.encode({**claims, **extra}, key, algorithm="RS256", headers={"kid": kid})
        return {"Authorization": f"Bearer {signed}"}

    async with (
        running(create_app(settings)) as app,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw") as client,
    ):
        # The stand-in upstream has no such route: 404 from it means the gateway let it through.
        good = await client.get("/api/v1/callbacks", headers=token("k1"))
        unknown_kid = await client.get("/api/v1/callbacks", headers=token("k2"))
        wrong_audience = await client.get("/api/v1/callbacks", headers=token("k1", aud="other"))
    assert good.status_code == 404, good.text
    assert unknown_kid.status_code == 401
    assert unknown_kid.headers["content-type"] == "application/problem+json"
    assert wrong_audience.status_code == 401
