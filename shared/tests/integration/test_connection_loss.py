"""A pooled connection the server dropped (a shutdown, a terminated backend), used in the moment
between the server's last message and the socket's end: the request gets a 503, never a 500, and
the pool replaces the connection. Real PostgreSQL, reached through a TCP relay that holds that
moment open (in production it lasts a few milliseconds, and a loaded process lands in it)."""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import pytest
from sqlalchemy import make_url, text

from retailcare_shared.db import Database, is_database_unavailable
from retailcare_shared.problems import unexpected_error_response


class HeldOpenRelay:
    """A TCP relay to PostgreSQL; when the server ends a connection, the client's stays open."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self.server_ended = asyncio.Event()
        self._server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> int:
        """Listen on a free local port; the port."""
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    async def stop(self) -> None:
        """Close every relayed socket and the listener."""
        for task in self._tasks:
            task.cancel()
        for writer in self._writers:
            writer.close()
        if self._server is not None:
            self._server.close()

    async def _relay(self, client: asyncio.StreamReader, to_client: asyncio.StreamWriter) -> None:
        server, to_server = await asyncio.open_connection(self.host, self.port)
        self._writers += [to_client, to_server]
        self._tasks.append(asyncio.create_task(_pipe(client, to_server)))
        await _pipe(server, to_client)
        self.server_ended.set()  # and to_client is left open: the client has not seen the end


async def _pipe(source: asyncio.StreamReader, target: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError):
        while data := await source.read(65536):
            target.write(data)
            await target.drain()


@dataclass
class Relayed:
    """A one-connection Database reaching the test database through the relay."""

    database: Database
    relay: HeldOpenRelay


@pytest.fixture
async def relayed(widget_database: str) -> AsyncIterator[Relayed]:
    url = make_url(widget_database)
    relay = HeldOpenRelay(url.host or "127.0.0.1", url.port or 5432)
    through_relay = url.set(host="127.0.0.1", port=await relay.start())
    database = Database(through_relay.render_as_string(hide_password=False), pool_size=1)
    try:
        yield Relayed(database, relay)
    finally:
        await relay.stop()  # first: a connection still held open would make dispose wait
        await database.dispose()


async def _driver_pid(database: Database) -> int:
    async with database.driver_connection() as connection:
        pid: int = await connection.fetchval("SELECT pg_backend_pid()")
    return pid


async def _session_pid(database: Database) -> int:
    async with database.transaction() as session:
        pid: int = (await session.execute(text("SELECT pg_backend_pid()"))).scalar_one()
    return pid


async def _drop_the_pooled_connection(relayed: Relayed, direct: Database, pid: int) -> None:
    """The server ends the backend (57P01, as in a shutdown); the client gets only its message."""
    async with direct.driver_connection() as connection:
        assert await connection.fetchval("SELECT pg_terminate_backend($1)", pid)
    await asyncio.wait_for(relayed.relay.server_ended.wait(), timeout=30)
    await asyncio.sleep(0.2)  # the FATAL message reaches the idle pooled connection


@pytest.mark.parametrize("use", [_driver_pid, _session_pid], ids=["driver", "session"])
async def test_a_dropped_pooled_connection_answers_503_and_is_replaced(
    relayed: Relayed, widget_db: Database, use: Callable[[Database], Awaitable[int]]
) -> None:
    dropped = await use(relayed.database)
    await _drop_the_pooled_connection(relayed, widget_db, dropped)

    with pytest.raises(Exception) as lost:
        await use(relayed.database)
    answer = unexpected_error_response("/api/v1/widgets", lost.value)
    replacement = await use(relayed.database)

    assert is_database_unavailable(lost.value), repr(lost.value)
    assert answer.status_code == 503 and answer.headers["retry-after"]
    assert replacement != dropped
