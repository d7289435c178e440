"""Async engine and session lifecycle: one session and one transaction per request or message."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Annotated, Any, cast

import asyncpg
from fastapi import Depends, Request
from sqlalchemy import MetaData, text
from sqlalchemy.dialects.postgresql import asyncpg as asyncpg_dialect
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

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

    def outbox_committed(self) -> None:
        """Tell this process's relays that a committed transaction wrote outbox rows."""
        for callback in self._outbox_listeners:
            callback()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """One session in one transaction: committed on success, rolled back on error."""
        async with self.sessions() as session:
            async with session.begin():
                yield session
            if session.info.get(OUTBOX_WRITTEN):
                self.outbox_committed()

    @asynccontextmanager
    async def driver_connection(self) -> AsyncIterator[asyncpg.Connection]:
        """A pooled connection's asyncpg driver in autocommit: each statement one transaction.

        For hot paths whose whole write is one statement (see DriverStatement): no BEGIN and
        COMMIT round trips, no ORM session. Returned to the pool when the block ends.
        """
        async with self.engine.connect() as connection:
            raw = await connection.get_raw_connection()
            driver: asyncpg.Connection = raw.driver_connection
            try:
                yield driver
            except BaseException as error:
                # SQLAlchemy never sees the driver's errors, so it cannot tell that this
                # connection broke: hand it to the pool again and the next user finds the
                # protocol mid-statement ("another operation is in progress").
                lost = isinstance(error, Exception) and driver.is_closed()
                if lost or _breaks_connection(error):
                    with contextlib.suppress(Exception):
                        await connection.invalidate(error)
                if lost and not is_database_unavailable(error):
                    # An error that left the connection closed is a lost connection whatever the
                    # driver called it (SQLAlchemy's rule for its own): a pooled connection the
                    # server dropped while idle fails its next statement with a protocol error.
                    raise DBAPIError(None, None, error, connection_invalidated=True) from error
                raise

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()


def get_database(request: Request) -> Database:
    """The Database created by the app's lifespan."""
    database: Database = request.app.state.database
    return database


_BEGIN_ON_FIRST_STATEMENT = text("SELECT 1")


async def session_driver(session: AsyncSession) -> asyncpg.Connection:
    """The session's asyncpg connection inside the session's transaction (for COPY, arrays).

    SQLAlchemy's asyncpg adapter begins its transaction on the first statement; a session that
    has run none yet gets one first, so the driver's statements are never in autocommit.
    """
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    driver: asyncpg.Connection = raw.driver_connection
    if not driver.is_in_transaction():
        await session.execute(_BEGIN_ON_FIRST_STATEMENT)
    return driver


async def _request_session(request: Request) -> AsyncIterator[AsyncSession]:
    # scope="function" below: the commit happens after the endpoint returns and *before* the
    # response is sent, so a client never sees a success whose transaction later failed.
    async with get_database(request).transaction() as session:
        yield session


DbSession = Annotated[AsyncSession, Depends(_request_session, scope="function")]


async def _request_connection(request: Request) -> AsyncIterator[asyncpg.Connection]:
    async with get_database(request).driver_connection() as connection:
        yield connection


# A request's driver connection in autocommit (Database.driver_connection); the endpoint's single
# statement is its transaction, and whoever writes outbox rows calls Database.outbox_committed().
DbConnection = Annotated[asyncpg.Connection, Depends(_request_connection, scope="function")]

_ASYNCPG = asyncpg_dialect.dialect()  # type: ignore[no-untyped-call]
_MISSING = object()


class DriverStatement:
    """A Core statement compiled once for asyncpg and run on the driver connection.

    Written with SQLAlchemy (named parameters, the models' columns and types, casts rendered for
    asyncpg), executed without SQLAlchemy's per-execution machinery: values are put in position
    and converted by the types' bind processors (JSONB serialised), nothing else.
    """

    def __init__(self, statement: ClauseElement) -> None:
        compiled = cast(SQLCompiler, statement.compile(dialect=_ASYNCPG))
        self.sql = str(compiled)
        binds = compiled.binds
        self._positions: list[tuple[str, Callable[[Any], Any] | None, Any]] = [
            (
                name,
                binds[name].type.dialect_impl(_ASYNCPG).bind_processor(_ASYNCPG),
                _MISSING if binds[name].required else binds[name].effective_value,
            )
            for name in compiled.positiontup or ()
        ]

    def arguments(self, values: Mapping[str, Any]) -> list[Any]:
        """The positional arguments for `values` (a bind's own value when it has one)."""
        arguments = []
        for name, process, default in self._positions:
            value = values.get(name, default)
            if value is _MISSING:
                raise KeyError(f"no value for the statement's parameter {name!r}")
            arguments.append(value if process is None or value is None else process(value))
        return arguments

    async def fetch(
        self, connection: asyncpg.Connection, values: Mapping[str, Any]
    ) -> list[asyncpg.Record]:
        """Run the statement; its rows."""
        rows: list[asyncpg.Record] = await connection.fetch(self.sql, *self.arguments(values))
        return rows

    async def fetchval(self, connection: asyncpg.Connection, values: Mapping[str, Any]) -> Any:
        """Run the statement; the first column of its first row."""
        return await connection.fetchval(self.sql, *self.arguments(values))


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


def _breaks_connection(error: BaseException) -> bool:
    """True when a driver connection must not be used again after `error`.

    A cancellation or a client-side driver error can interrupt the protocol mid-statement; a
    lost server leaves nothing to use. Errors the server reports (a constraint, a bad value) and
    the service's own errors between statements leave the connection as good as before.
    """
    return (
        not isinstance(error, Exception)
        or isinstance(error, asyncpg.InterfaceError | asyncpg.InternalClientError)
        or is_database_unavailable(error)
    )


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
