"""`Idempotency-Key` support backed by a Postgres table.

Same key + same body → the stored response; same key + different body → 422; concurrent
duplicates → one winner (the others wait on the key's row lock, then replay the stored response).

Two ways to hold a key. `Idempotency` (IdempotencyGuard) claims it at the start of the request's
transaction and stores the answer at its end. A hot path whose whole write is one statement
(DriverStatement) instead puts `claimed_answer()` in that statement: key and final answer are
inserted with the effect, atomically, and a request that finds the key taken writes nothing and
replays (`replay_stored`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Annotated, Any, NoReturn, cast

import asyncpg
from fastapi import Depends, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import Table, bindparam, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.selectable import CTE

from retailcare_shared.db import DbSession, DriverStatement
from retailcare_shared.platform_tables import IdempotencyRecord
from retailcare_shared.problems import Conflict, InvalidInput

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 200


# Built once with named parameters: SQLAlchemy then reuses the compiled statements instead of
# coercing and cache-keying freshly built ones on every request.
# Core statements on the table, not the ORM entity: the ORM's bulk insert / update machinery cost
# more CPU per request than the statements themselves.
_KEYS = cast(Table, IdempotencyRecord.__table__)
_CLAIM = (
    insert(_KEYS)
    .values(scope=bindparam("scope"), key=bindparam("key"), request_hash=bindparam("request_hash"))
    .on_conflict_do_nothing()
    .returning(_KEYS.c.key)
)
_REMEMBER = (
    update(_KEYS)
    .where(_KEYS.c.scope == bindparam("match_scope"), _KEYS.c.key == bindparam("match_key"))
    .values(
        status_code=bindparam("status_code"),
        response_body=bindparam("response_body", type_=_KEYS.c.response_body.type),
        response_headers=bindparam("response_headers", type_=_KEYS.c.response_headers.type),
    )
    .returning(_KEYS.c.key)
)


# What a request whose key is taken is answered from (run in a session, or on the driver).
_STORED_ANSWER = select(
    _KEYS.c.status_code, _KEYS.c.request_hash, _KEYS.c.response_body, _KEYS.c.response_headers
).where(_KEYS.c.scope == bindparam("scope"), _KEYS.c.key == bindparam("key"))
_STORED_ANSWER_ON_DRIVER = DriverStatement(_STORED_ANSWER)


class IdempotentReplay(Exception):
    """Carries the stored response of an earlier identical request (turned into that response)."""

    def __init__(self, status_code: int, body: Any, headers: dict[str, str]) -> None:
        super().__init__("replayed")
        self.status_code = status_code
        self.body = body
        self.headers = headers


def request_fingerprint(body: bytes) -> str:
    """Hash of the request body, insensitive to JSON whitespace and key order."""
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    except ValueError:
        canonical = body
    return hashlib.sha256(canonical).hexdigest()


def _answer_stored(stored: Mapping[Any, Any], fingerprint: str) -> NoReturn:
    """Raise what a request meets when its key is already taken: replay, 422 or 409."""
    if stored["status_code"] is None:
        raise Conflict("the first request with this Idempotency-Key is still in progress")
    if stored["request_hash"] != fingerprint:
        raise InvalidInput(
            HEADER,
            "idempotency_key_reused",
            "this Idempotency-Key was already used with a different request body",
        )
    raise IdempotentReplay(
        stored["status_code"], stored["response_body"], dict(stored["response_headers"] or {})
    )


class IdempotencyGuard:
    """Per-request handle: claims the key at the start, remembers the response at the end."""

    def __init__(
        self, session: AsyncSession, scope: str, key: str | None, fingerprint: str
    ) -> None:
        self.session = session
        self.scope = scope
        self.key = key
        self.fingerprint = fingerprint

    async def claim(self) -> None:
        """Claim the key in this transaction, or raise IdempotentReplay / 422 for a reused key."""
        if self.key is None:
            return
        claimed = await self.session.scalar(
            _CLAIM, {"scope": self.scope, "key": self.key, "request_hash": self.fingerprint}
        )
        if claimed is not None:
            return
        # The row exists and its transaction has committed (the insert waited for it).
        result = await self.session.execute(_STORED_ANSWER, {"scope": self.scope, "key": self.key})
        existing = result.mappings().first()
        if existing is None:
            raise Conflict("the first request with this Idempotency-Key is still in progress")
        _answer_stored(existing, self.fingerprint)

    async def remember(
        self,
        body: BaseModel | dict[str, Any],
        *,
        status_code: int,
        headers: dict[str, str] | None = None,
    ) -> JSONResponse:
        """Store the response under the key (same transaction) and return it."""
        content = jsonable_encoder(body)
        if self.key is not None:
            # One UPDATE (not a SELECT of the row, then an UPDATE when the session flushes).
            remembered = await self.session.scalar(
                _REMEMBER,
                {
                    "match_scope": self.scope,
                    "match_key": self.key,
                    "status_code": status_code,
                    "response_body": content,
                    "response_headers": headers or {},
                },
            )
            assert remembered is not None, "claim() must run before remember()"
        return JSONResponse(content, status_code=status_code, headers=headers)


@dataclass(frozen=True)
class RequestKey:
    """A request's Idempotency-Key (None: not sent), its scope and the body's fingerprint."""

    scope: str
    key: str | None
    fingerprint: str


@dataclass(frozen=True)
class Answer:
    """A response as it is sent and stored under the key: JSON-ready body, status, headers."""

    body: dict[str, Any]
    status_code: int
    headers: dict[str, str] = field(default_factory=dict)

    def response(self) -> JSONResponse:
        """The HTTP response."""
        return JSONResponse(self.body, status_code=self.status_code, headers=self.headers)


async def request_key(request: Request) -> RequestKey:
    """Dependency: the request's Idempotency-Key, checked (422 naming the header), not claimed."""
    key = request.headers.get(HEADER)
    if key is not None and not (0 < len(key) <= MAX_KEY_LENGTH and key.isprintable()):
        raise InvalidInput(HEADER, "format", f"must be 1-{MAX_KEY_LENGTH} printable characters")
    scope = f"{request.method} {request.url.path}"
    return RequestKey(scope, key, request_fingerprint(await request.body()))


async def _idempotency(request: Request, session: DbSession) -> IdempotencyGuard:
    key = await request_key(request)
    guard = IdempotencyGuard(session, key.scope, key.key, key.fingerprint)
    await guard.claim()
    return guard


def claimed_answer() -> CTE:
    """A CTE inserting the key with its answer, returning a row only if the key was new.

    A statement whose inserts select FROM it writes nothing when another request holds the key
    (the insert waits for that request's statement, then does nothing). Its parameters come from
    `answer_parameters`.
    """
    return (
        insert(_KEYS)
        .values(
            scope=bindparam("idempotency_scope"),
            key=bindparam("idempotency_key"),
            request_hash=bindparam("idempotency_hash"),
            status_code=bindparam("idempotency_status"),
            response_body=bindparam("idempotency_body", type_=_KEYS.c.response_body.type),
            response_headers=bindparam("idempotency_headers", type_=_KEYS.c.response_headers.type),
        )
        .on_conflict_do_nothing()
        .returning(_KEYS.c.key)
        .cte("claimed")
    )


def answer_parameters(key: RequestKey, answer: Answer) -> dict[str, Any]:
    """The values of `claimed_answer()` for this key and answer."""
    return {
        "idempotency_scope": key.scope,
        "idempotency_key": key.key,
        "idempotency_hash": key.fingerprint,
        "idempotency_status": answer.status_code,
        "idempotency_body": answer.body,
        "idempotency_headers": answer.headers,
    }


async def replay_stored(connection: asyncpg.Connection, key: RequestKey) -> NoReturn:
    """After `claimed_answer()` found the key taken: the stored answer (replay), 422 or 409."""
    rows = await _STORED_ANSWER_ON_DRIVER.fetch(connection, {"scope": key.scope, "key": key.key})
    if not rows:
        # Taken when the statement ran, gone now: purged after its TTL in between.
        raise Conflict("this Idempotency-Key was used; retry the request")
    _answer_stored(rows[0], key.fingerprint)


def replay_response(replay: IdempotentReplay) -> JSONResponse:
    """The stored response of a replayed request, marked as a replay."""
    headers = {**replay.headers, "Idempotent-Replayed": "true"}
    return JSONResponse(replay.body, status_code=replay.status_code, headers=headers)


Idempotency = Annotated[IdempotencyGuard, Depends(_idempotency, scope="function")]
IdempotencyKey = Annotated[RequestKey, Depends(request_key)]


async def purge_expired_keys(session: AsyncSession, ttl_hours: int) -> int:
    """Delete keys older than the TTL (safe to run from every replica); return how many."""
    result = await session.execute(
        delete(IdempotencyRecord).where(
            IdempotencyRecord.created_at < func.now() - timedelta(hours=ttl_hours)
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)
