"""Platform HTTP behaviour on a real PostgreSQL: problems, idempotency, ETags, pages, health."""

import asyncio
import uuid
from datetime import timedelta

import httpx
import jwt
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select, update

from retailcare_shared.auth import issue_token
from retailcare_shared.devstack import free_port
from retailcare_shared.idempotency import purge_expired_keys
from retailcare_shared.platform_tables import IdempotencyRecord, OutboxMessage
from retailcare_shared.testing import TEST_JWT_SECRET, bearer, running, service_overrides
from widget_service.app import Widget, create_app

AUTH = bearer(["call_center"])
PROBLEM = "application/problem+json"


async def count(app: FastAPI, model: type) -> int:
    async with app.state.database.transaction() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def create(client: httpx.AsyncClient, **body: object) -> httpx.Response:
    return await client.post("/api/v1/widgets", json={"name": "w", "size": 3, **body}, headers=AUTH)


async def test_validation_error_names_each_field_and_rule(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/widgets", json={"name": "", "size": 99}, headers=AUTH)

    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert problem["status"] == 422 and problem["type"].endswith("validation-failed")
    rules = {(error["field"], error["rule"]) for error in problem["errors"]}
    assert rules == {("name", "string_too_short"), ("size", "less_than_equal")}


async def test_unknown_fields_are_rejected(client: httpx.AsyncClient, widget_app: FastAPI) -> None:
    response = await create(client, colour="red")

    assert response.status_code == 422
    assert [(e["field"], e["rule"]) for e in response.json()["errors"]] == [
        ("colour", "extra_forbidden")
    ]
    assert await count(widget_app, Widget) == 0


async def test_malformed_json_is_a_422_problem(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/widgets",
        content=b'{"name": ',
        headers={**AUTH, "content-type": "application/json"},
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["rule"] == "json_invalid"


async def test_not_found_and_method_not_allowed_are_problems(client: httpx.AsyncClient) -> None:
    missing = await client.get(f"/api/v1/widgets/{uuid.uuid4()}", headers=AUTH)
    wrong_method = await client.delete("/api/v1/widgets", headers=AUTH)
    no_route = await client.get("/api/v1/nothing-here", headers=AUTH)

    assert (missing.status_code, missing.headers["content-type"]) == (404, PROBLEM)
    assert "does not exist" in missing.json()["detail"]
    assert (wrong_method.status_code, wrong_method.json()["status"]) == (405, 405)
    assert no_route.status_code == 404 and no_route.headers["content-type"] == PROBLEM


async def test_bad_path_parameter_names_the_parameter(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/widgets/not-a-uuid", headers=AUTH)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "widget_id"
    assert response.json()["errors"][0]["in"] == "path"


async def test_body_over_one_megabyte_is_413(
    client: httpx.AsyncClient, widget_app: FastAPI
) -> None:
    big = b'{"name": "' + b"x" * 1_100_000 + b'", "size": 1}'
    response = await client.post(
        "/api/v1/widgets", content=big, headers={**AUTH, "content-type": "application/json"}
    )
    assert response.status_code == 413
    assert response.headers["content-type"] == PROBLEM
    assert await count(widget_app, Widget) == 0


async def test_non_json_body_is_415(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/widgets",
        content=b"name=w",
        headers={**AUTH, "content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 415
    assert response.json()["status"] == 415


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (None, "bearer token is required"),
        ("Bearer not-a-token", "invalid token"),
        (
            "Bearer "
            + issue_token(TEST_JWT_SECRET, sub="u", roles=["call_center"], ttl_seconds=-60),
            "expired",
        ),
        (
            "Bearer "
            + issue_token(
                "another-secret-of-sufficient-length-000", sub="u", roles=["call_center"]
            ),
            "Signature verification failed",
        ),
        (
            "Bearer "
            + jwt.encode(
                {"sub": "u", "roles": ["admin"], "exp": 4102444800}, None, algorithm="none"
            ),
            "invalid token",
        ),
        ("Bearer " + issue_token(TEST_JWT_SECRET, sub="u", roles=["emperor"]), "unknown roles"),
        (
            "Bearer "
            + jwt.encode({"sub": "u", "roles": ["admin"]}, TEST_JWT_SECRET, algorithm="HS256"),
            'missing the "exp" claim',
        ),
    ],
    ids=[
        "missing",
        "malformed",
        "expired",
        "wrong-signature",
        "alg-none",
        "unknown-role",
        "no-exp",
    ],
)
async def test_bad_tokens_get_401(
    client: httpx.AsyncClient, header: str | None, reason: str
) -> None:
    headers = {"Authorization": header} if header else {}
    response = await client.get("/api/v1/widgets", headers=headers)

    assert response.status_code == 401
    assert response.headers["content-type"] == PROBLEM
    assert reason in response.json()["detail"]
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_role_without_permission_gets_403(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/widgets", headers=bearer(["analyst"]))
    assert response.status_code == 403


async def test_twenty_concurrent_identical_requests_create_one_row(
    client: httpx.AsyncClient, widget_app: FastAPI
) -> None:
    headers = {**AUTH, "Idempotency-Key": "key-20"}
    body = {"name": "same", "size": 2}

    responses = await asyncio.gather(
        *[client.post("/api/v1/widgets", json=body, headers=headers) for _ in range(20)]
    )

    assert {response.status_code for response in responses} == {201}
    assert len({response.json()["id"] for response in responses}) == 1
    assert await count(widget_app, Widget) == 1
    assert await count(widget_app, OutboxMessage) == 1
    assert (
        sum(response.headers.get("idempotent-replayed") == "true" for response in responses) == 19
    )


async def test_same_key_with_different_body_is_422(
    client: httpx.AsyncClient, widget_app: FastAPI
) -> None:
    headers = {**AUTH, "Idempotency-Key": "key-x"}
    first = await client.post("/api/v1/widgets", json={"name": "a", "size": 1}, headers=headers)
    again = await client.post("/api/v1/widgets", json={"size": 1, "name": "a"}, headers=headers)
    different = await client.post("/api/v1/widgets", json={"name": "b", "size": 1}, headers=headers)

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert different.status_code == 422
    assert different.json()["errors"][0] == {
        "field": "Idempotency-Key",
        "rule": "idempotency_key_reused",
        "message": "this Idempotency-Key was already used with a different request body",
    }
    assert await count(widget_app, Widget) == 1


async def test_failed_request_does_not_burn_the_key(client: httpx.AsyncClient) -> None:
    headers = {**AUTH, "Idempotency-Key": "key-retry"}
    bad = await client.post("/api/v1/widgets", json={"name": "a", "size": 0}, headers=headers)
    good = await client.post("/api/v1/widgets", json={"name": "a", "size": 1}, headers=headers)
    assert (bad.status_code, good.status_code) == (422, 201)


async def test_stale_if_match_gets_412_and_changes_nothing(client: httpx.AsyncClient) -> None:
    created = (await create(client)).json()
    url = f"/api/v1/widgets/{created['id']}"
    read = await client.get(url, headers=AUTH)
    assert read.headers["etag"] == '"1"'

    first = await client.patch(
        url, json={"size": 4}, headers={**AUTH, "If-Match": read.headers["etag"]}
    )
    stale = await client.patch(
        url, json={"size": 9}, headers={**AUTH, "If-Match": read.headers["etag"]}
    )
    missing = await client.patch(url, json={"size": 9}, headers=AUTH)

    assert (first.status_code, first.headers["etag"]) == (200, '"2"')
    assert stale.status_code == 412 and stale.headers["content-type"] == PROBLEM
    assert missing.status_code == 428
    assert (await client.get(url, headers=AUTH)).json()["size"] == 4


async def test_concurrent_patches_with_one_etag_let_exactly_one_win(
    client: httpx.AsyncClient,
) -> None:
    created = (await create(client)).json()
    url = f"/api/v1/widgets/{created['id']}"
    headers = {**AUTH, "If-Match": '"1"'}

    responses = await asyncio.gather(
        *[client.patch(url, json={"size": n}, headers=headers) for n in range(1, 9)]
    )

    assert sorted(response.status_code for response in responses) == [200] + [412] * 7


async def test_cursor_pagination_walks_every_item_once(client: httpx.AsyncClient) -> None:
    for index in range(7):
        assert (await create(client, name=f"w{index}")).status_code == 201
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, str | int] = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/api/v1/widgets", params=params, headers=AUTH)).json()
        seen += [item["name"] for item in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"w{index}" for index in range(7)]
    assert pages == 3


async def test_bad_cursor_and_limit_are_named(client: httpx.AsyncClient) -> None:
    cursor = await client.get("/api/v1/widgets", params={"cursor": "garbage!"}, headers=AUTH)
    limit = await client.get("/api/v1/widgets", params={"limit": 501}, headers=AUTH)
    assert cursor.status_code == 422 and cursor.json()["errors"][0]["field"] == "cursor"
    assert limit.status_code == 422 and limit.json()["errors"][0]["field"] == "limit"


async def test_health_ready_and_metrics(client: httpx.AsyncClient) -> None:
    await create(client)
    health = await client.get("/healthz")
    ready = await client.get("/readyz")
    metrics = await client.get("/metrics")

    assert health.status_code == 200
    assert ready.status_code == 200 and ready.json()["migration"] == ["0001"]
    assert metrics.status_code == 200
    text = metrics.text
    assert (
        'http_requests_total{method="POST",route="/api/v1/widgets",service="widget-svc",status="201"}'
        in text
    )
    assert 'outbox_backlog{service="widget-svc"}' in text
    assert "dlq_messages_total" in text and "consumer_lag" in text


async def test_readyz_is_503_when_migrations_are_behind(
    client: httpx.AsyncClient, widget_app: FastAPI
) -> None:
    widget_app.state.migration_heads = {"0002"}
    response = await client.get("/readyz")
    assert response.status_code == 503
    assert "not at head" in response.json()["detail"]


async def test_request_id_is_echoed_and_becomes_the_event_correlation_id(
    client: httpx.AsyncClient, widget_app: FastAPI
) -> None:
    response = await client.post(
        "/api/v1/widgets",
        json={"name": "c", "size": 1},
        headers={**AUTH, "X-Request-ID": "req-abc-123"},
    )
    assert response.headers["x-request-id"] == "req-abc-123"
    async with widget_app.state.database.transaction() as session:
        value = await session.scalar(select(OutboxMessage.value))
    assert value is not None and b'"correlation_id":"req-abc-123"' in value


async def test_unexpected_errors_are_500_problems_that_leak_nothing(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post("/api/v1/widgets/faults/crash", headers=AUTH)
    assert response.status_code == 500
    assert response.headers["content-type"] == PROBLEM
    assert "hunter2" not in response.text and "app.py" not in response.text
    assert response.json()["detail"] == "an unexpected error occurred"
    assert response.json()["request_id"] == response.headers["x-request-id"]


async def test_integrity_violations_are_409_problems_without_sql(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/widgets/faults/conflict", headers=AUTH)
    assert response.status_code == 409
    assert response.json()["detail"] == "the request conflicts with existing data"
    assert "INSERT" not in response.text and "pk_widgets" not in response.text


async def test_rate_limit_problem_carries_retry_after(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/widgets/faults/throttle", headers=AUTH)
    assert response.status_code == 429
    assert response.headers["retry-after"] == "3"


async def test_readyz_is_503_when_the_database_is_unreachable(kafka_bootstrap: str) -> None:
    unreachable = f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/nothing"
    overrides = {
        **service_overrides(unreachable, kafka_bootstrap),
        "database_connect_timeout_seconds": 1,
    }
    async with running(create_app(overrides)) as app:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://w") as http:
            ready = await http.get("/readyz")
            write = await http.post("/api/v1/widgets", json={"name": "a", "size": 1}, headers=AUTH)
    assert ready.status_code == 503
    assert write.status_code == 503
    assert write.headers["retry-after"] == "2"


async def test_expired_idempotency_keys_are_purged(
    client: httpx.AsyncClient, widget_app: FastAPI
) -> None:
    await client.post(
        "/api/v1/widgets",
        json={"name": "old", "size": 1},
        headers={**AUTH, "Idempotency-Key": "old"},
    )
    await client.post(
        "/api/v1/widgets",
        json={"name": "new", "size": 1},
        headers={**AUTH, "Idempotency-Key": "new"},
    )
    async with widget_app.state.database.transaction() as session:
        await session.execute(
            update(IdempotencyRecord)
            .where(IdempotencyRecord.key == "old")
            .values(created_at=func.now() - timedelta(hours=25))
        )
    async with widget_app.state.database.transaction() as session:
        purged = await purge_expired_keys(session, ttl_hours=24)
        remaining = (await session.scalars(select(IdempotencyRecord.key))).all()
    assert (purged, remaining) == (1, ["new"])
