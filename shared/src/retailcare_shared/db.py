"""Async engine and session lifecycle: one session and one transaction per request or message."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Annotated

import asyncpg
from fastapi import Depends, Request
from sqlalchemy import MetaData
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase

# Set on a session by whoever writes outbox rows; Database.transaction() then wakes this process's
# relay right after the commit, so events leave at once without any NOTIFY on the request path.
OUTBOX_WRITTEN = "retailcare.outbox_written"

# Stable constraint names make Alembic migrations reviewable and reversible.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def new_metadata() -> MetaData:
    """A MetaData with the house naming convention (one per service: see each `database.py`)."""
    return MetaData(naming_convention=NAMING_CONVENTION)


class Base(DeclarativeBase):
    """Declarative base of the platform tables (outbox, inbox, idempotency keys).

    Each service declares its own base with `new_metadata()`, so several services' models can
    live in one process (the end-to-end tests) without their table names colliding.
    """

    metadata = new_metadata()


class Database:
    """Owns the engine and session factory of one service; created in the app's lifespan."""

    def __init__(self, url: str, *, pool_size: int = 20, connect_timeout: float = 5.0) -> None:
        # No overflow: an overflow connection is opened for one request and closed after it (a
        # TCP and authentication handshake each time) exactly when the service is busiest. No
        # pre-ping either (a round trip per request): a connection found dead when used fails that
        # request with a 503 and SQLAlchemy then replaces every pooled connection at once.
        self.engine: AsyncEngine = create_async_engine(
            url,
            pool_size=pool_size,
            max_overflow=0,
            pool_pre_ping=False,
            pool_timeout=connect_timeout,
            connect_args={"timeout": connect_timeout, "command_timeout": 60},
        )
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False, autoflush=False)
        self._outbox_listeners: list[Callable[[], None]] = []

    def on_outbox_commit(self, callback: Callable[[], None]) -> None:
        """Call `callback` after each committed transaction that wrote outbox rows."""
        self._outbox_listeners.append(callback)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """One session in one transaction: committed on success, rolled back on error."""
        async with self.sessions() as session:
            async with session.begin():
                yield session
            if session.info.get(OUTBOX_WRITTEN):
                for callback in self._outbox_listeners:
                    callback()

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()


def get_database(request: Request) -> Database:
    """The Database created by the app's lifespan."""
    database: Database = request.app.state.database
    return database


async def _request_session(request: Request) -> AsyncIterator[AsyncSession]:
    # scope="function" below: the commit happens after the endpoint returns and *before* the
    # response is sent, so a client never sees a success whose transaction later failed.
    async with get_database(request).transaction() as session:
        yield session


DbSession = Annotated[AsyncSession, Depends(_request_session, scope="function")]


# asyncpg errors that mean "the server is gone, going or not yet back", not "the request is bad":
# lost connections (SQLSTATE class 08), shutdown/startup (57P01-57P03), too many connections.
_UNAVAILABLE_DRIVER_ERRORS: tuple[type[BaseException], ...] = (
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.TooManyConnectionsError,
)
_UNAVAILABLE_ERRORS = (
    OperationalError,  # SQLAlchemy's name for "could not talk to the server"
    PoolTimeout,  # every pooled connection busy for longer than the pool timeout
    OSError,  # refused, reset, unreachable (ConnectionError is one)
    TimeoutError,  # connect or command timeout
    *_UNAVAILABLE_DRIVER_ERRORS,
)


def _causes(error: BaseException) -> list[BaseException]:
    """The error, the driver error SQLAlchemy wraps, and what each was raised `from`."""
    found: list[BaseException] = []
    pending: list[BaseException | None] = [error]
    while pending and len(found) < 20:
        current = pending.pop()
        if current is None or any(current is seen for seen in found):
            continue
        found.append(current)
        pending += [getattr(current, "orig", None), current.__cause__]
    return found


def is_database_unavailable(error: BaseException) -> bool:
    """True when the database is unreachable (retry later) rather than the work faulty."""
    for cause in _causes(error):
        if isinstance(cause, _UNAVAILABLE_ERRORS):
            return True
        if isinstance(cause, DBAPIError) and cause.connection_invalidated:
            return True
        if isinstance(cause, asyncpg.InterfaceError) and "closed" in str(cause):
            return True  # "connection is closed": the pool handed out a connection that died
    return False
