"""Single-statement writes on the driver connection (DriverStatement, Database.driver_connection)
against a real PostgreSQL: the idempotency claim travels with the write, broken connections are
never handed out again."""

import asyncio
import contextlib

import pytest
from sqlalchemy import func, select

from retailcare_shared.db import Database, DriverStatement
from retailcare_shared.idempotency import (
    Answer,
    IdempotentReplay,
    RequestKey,
    answer_parameters,
    claimed_answer,
    replay_stored,
)
from retailcare_shared.problems import InvalidInput

CLAIM = DriverStatement(select(func.count()).select_from(claimed_answer()))
KEY = RequestKey("POST /api/v1/widgets", "key-1", "fingerprint-1")
ANSWER = Answer({"id": "w-1", "tags": ["a", "b"]}, status_code=201, headers={"ETag": 'W/"1"'})


async def test_a_claim_stores_the_answer_and_a_second_request_replays_or_is_refused(
    widget_db: Database,
) -> None:
    async with widget_db.driver_connection() as connection:
        first = await CLAIM.fetchval(connection, answer_parameters(KEY, ANSWER))
        again = await CLAIM.fetchval(connection, answer_parameters(KEY, ANSWER))
        with pytest.raises(IdempotentReplay) as replay:
            await replay_stored(connection, KEY)
        other_body = RequestKey(KEY.scope, KEY.key, "fingerprint-2")
        with pytest.raises(InvalidInput) as refused:
            await replay_stored(connection, other_body)

    assert (first, again) == (1, 0)
    assert replay.value.status_code == 201
    assert replay.value.body == ANSWER.body  # JSONB, serialised by the column type's processor
    assert replay.value.headers == ANSWER.headers
    assert refused.value.errors[0]["rule"] == "idempotency_key_reused"


def test_a_statement_names_the_parameter_it_was_not_given() -> None:
    with pytest.raises(KeyError, match="idempotency_hash"):
        CLAIM.arguments({"idempotency_scope": "s", "idempotency_key": "k"})


async def test_a_connection_cut_mid_statement_is_replaced_one_after_a_service_error_kept(
    widget_db: Database,
) -> None:
    async with widget_db.driver_connection() as connection:
        original = connection.get_server_pid()

    with contextlib.suppress(ValueError):
        async with widget_db.driver_connection() as connection:
            await connection.fetchval("SELECT 1")
            raise ValueError("a rule refused the request between statements")
    async with widget_db.driver_connection() as connection:
        kept = connection.get_server_pid()

    async def slow_statement() -> None:
        async with widget_db.driver_connection() as connection:
            await connection.fetchval("SELECT pg_sleep(10)")

    task = asyncio.create_task(slow_statement())
    await asyncio.sleep(0.5)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    async with widget_db.driver_connection() as connection:
        answer = await connection.fetchval("SELECT 41 + 1")
        replaced = connection.get_server_pid()

    assert kept == original
    assert answer == 42
    assert replaced != original
