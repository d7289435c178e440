"""`Idempotency-Key` support backed by a Postgres table.

Same key + same body → the stored response; same key + different body → 422; concurrent
duplicates → one winner (the others wait on the key's row lock, then replay the stored response).
"""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from typing import Annotated, Any, cast

from fastapi import Depends, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import Table, bindparam, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from retailcare_shared.db import DbSession
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
        existing = await self.session.scalar(
            select(IdempotencyRecord).where(
                IdempotencyRecord.scope == self.scope, IdempotencyRecord.key == self.key
            )
        )
        if existing is None or existing.status_code is None:
            raise Conflict("the first request with this Idempotency-Key is still in progress")
        if existing.request_hash != self.fingerprint:
            raise InvalidInput(
                HEADER,
                "idempotency_key_reused",
                "this Idempotency-Key was already used with a different request body",
            )
        # Copy the values out: the rollback that follows expires the ORM object.
        raise IdempotentReplay(
            existing.status_code, existing.response_body, dict(existing.response_headers or {})
        )

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


async def _idempotency(request: Request, session: DbSession) -> IdempotencyGuard:
    key = request.headers.get(HEADER)
    if key is not None and not (0 < len(key) <= MAX_KEY_LENGTH and key.isprintable()):
        raise InvalidInput(HEADER, "format", f"must be 1-{MAX_KEY_LENGTH} printable characters")
    scope = f"{request.method} {request.url.path}"
    guard = IdempotencyGuard(session, scope, key, request_fingerprint(await request.body()))
    await guard.claim()
    return guard


def replay_response(replay: IdempotentReplay) -> JSONResponse:
    """The stored response of a replayed request, marked as a replay."""
    headers = {**replay.headers, "Idempotent-Replayed": "true"}
    return JSONResponse(replay.body, status_code=replay.status_code, headers=headers)


Idempotency = Annotated[IdempotencyGuard, Depends(_idempotency, scope="function")]


async def purge_expired_keys(session: AsyncSession, ttl_hours: int) -> int:
    """Delete keys older than the TTL (safe to run from every replica); return how many."""
    result = await session.execute(
        delete(IdempotencyRecord).where(
            IdempotencyRecord.created_at < func.now() - timedelta(hours=ttl_hours)
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)
