"""A small HTTP/1.1 client for the proxy path: keep-alive connection pools over asyncio protocols.

httpx/httpcore cost the gateway most of its CPU per proxied request (anyio streams, per-request
pool scans, header normalisation, cancellation scopes). The proxy needs much less: send bytes it
already has, parse the answer with httptools (uvicorn's C parser), reuse connections. Anything
else the gateway calls (OpenAPI documents, the customer overview) still uses httpx.
"""

from __future__ import annotations

import asyncio
import collections
import ssl
from collections.abc import AsyncIterator
from typing import cast
from urllib.parse import urlsplit

import httptools

# An upstream answer whose unread body grows past this pauses reading from its socket until the
# client has taken some: a slow client never makes the gateway buffer a large answer.
READ_HIGH_WATER_BYTES = 256 * 1024


class UpstreamError(Exception):
    """The upstream could not be reached, or the connection failed before the answer was whole."""


class UpstreamTimeout(UpstreamError):
    """The upstream did not connect or answer in time."""


class _Connection(asyncio.Protocol):
    """One keep-alive connection; at most one exchange at a time."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.reusable = True
        self.idle_since = 0.0
        self.exchange: _Exchange | None = None

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, but behave as one.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        exchange = self.exchange
        if exchange is None:  # bytes nobody asked for: the connection cannot be trusted
            self.close()
            return
        try:
            exchange.parser.feed_data(data)
        except httptools.HttpParserError as error:
            exchange.fail(UpstreamError(f"malformed upstream answer: {error}"))
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.exchange is not None and not self.exchange.complete:
            self.exchange.fail(UpstreamError("upstream closed the connection"))

    def pause_reading(self) -> None:
        """Stop reading the socket until the buffered body is consumed."""
        if self.transport is not None and not self.closed:
            self.transport.pause_reading()

    def resume_reading(self) -> None:
        """Read the socket again."""
        if self.transport is not None and not self.closed:
            self.transport.resume_reading()

    def close(self) -> None:
        """Close the socket; the connection is never reused."""
        self.reusable = False
        if self.transport is not None and not self.closed:
            self.closed = True
            self.transport.close()


class _Exchange:
    """One request's answer as it arrives: httptools calls the `on_*` methods."""

    def __init__(self, connection: _Connection, head_request: bool) -> None:
        self.connection = connection
        self.parser = httptools.HttpResponseParser(self)
        self.head_request = head_request
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self.headers_ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.chunks: collections.deque[bytes] = collections.deque()
        self.buffered = 0
        self.complete = False
        self.error: UpstreamError | None = None
        self.waiter: asyncio.Future[None] | None = None
        self.paused = False

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name.lower(), value))

    def on_headers_complete(self) -> None:
        self.status = self.parser.get_status_code()
        if not self.parser.should_keep_alive():
            self.connection.reusable = False
        if self.head_request:
            # The parser would wait for the body a HEAD answer announces but never sends; the
            # answer is whole now, and the connection is not reused (its parser state is unclear).
            self.connection.reusable = False
            self.complete = True
        if not self.headers_ready.done():
            self.headers_ready.set_result(None)

    def on_body(self, body: bytes) -> None:
        self.chunks.append(body)
        self.buffered += len(body)
        if self.buffered > READ_HIGH_WATER_BYTES and not self.paused:
            self.paused = True
            self.connection.pause_reading()
        self._wake()

    def on_message_complete(self) -> None:
        self.complete = True
        self._wake()

    def fail(self, error: UpstreamError) -> None:
        """The connection broke: whoever waits for headers or body gets the error."""
        self.error = error
        if not self.headers_ready.done():
            self.headers_ready.set_exception(error)
        self._wake()

    def _wake(self) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)

    async def wait(self, timeout: float) -> None:
        """Wait until more body arrives, the answer is whole, or the connection fails."""
        self.waiter = asyncio.get_running_loop().create_future()
        try:
            async with asyncio.timeout(timeout):
                await self.waiter
        except TimeoutError:
            raise UpstreamTimeout("upstream did not send the rest of its answer in time") from None
        finally:
            self.waiter = None

    def take(self) -> bytes:
        """Everything buffered so far (and let the socket be read again)."""
        data = b"".join(self.chunks)
        self.chunks.clear()
        self.buffered = 0
        if self.paused:
            self.paused = False
            self.connection.resume_reading()
        return data


class UpstreamResponse:
    """Status and raw headers of an upstream answer; its body is read whole or streamed once."""

    def __init__(self, pool: UpstreamPool, exchange: _Exchange) -> None:
        self._pool = pool
        self._exchange = exchange
        self._released = False
        self.status = exchange.status
        self.headers = exchange.headers

    def header(self, name: bytes) -> bytes | None:
        """The first value of a header (name in lower case), or None."""
        return next((value for key, value in self.headers if key == name), None)

    async def read(self) -> bytes:
        """The whole body; the connection goes back to the pool."""
        parts = [piece async for piece in self.iter_body()]
        return b"".join(parts)

    async def iter_body(self) -> AsyncIterator[bytes]:
        """The body as it arrives (transfer coding removed, content coding untouched)."""
        exchange = self._exchange
        try:
            while True:
                if exchange.chunks:
                    yield exchange.take()
                if exchange.error is not None:
                    raise exchange.error
                if exchange.complete:
                    if exchange.chunks:
                        yield exchange.take()
                    return
                await exchange.wait(self._pool.timeout)
        finally:
            self.release()

    def release(self) -> None:
        """Give the connection back (whole answer, keep-alive) or close it."""
        if not self._released:
            self._released = True
            self._pool.release(self._exchange.connection, self._exchange.complete)


class UpstreamPool:
    """Keep-alive HTTP/1.1 connections to one upstream base URL."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float,
        connect_timeout: float,
        max_connections: int = 100,
        max_idle: int = 50,
        keepalive_expiry: float = 4.0,
    ) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) base URL: {base_url}")
        self.host = parts.hostname
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.ssl = ssl.create_default_context() if parts.scheme == "https" else None
        self.prefix = parts.path.rstrip("/").encode()
        self.host_header = parts.netloc.encode()
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.max_idle = max_idle
        self.keepalive_expiry = keepalive_expiry
        self._slots = asyncio.Semaphore(max_connections)
        self._idle: collections.deque[_Connection] = collections.deque()

    async def request(
        self, method: str, target: bytes, headers: list[tuple[bytes, bytes]], body: bytes
    ) -> UpstreamResponse:
        """Send one request; return once the answer's status and headers are in."""
        if self._slots.locked():  # every connection busy: wait for one, but not for ever
            try:
                async with asyncio.timeout(self.timeout):
                    await self._slots.acquire()
            except TimeoutError:
                raise UpstreamTimeout("no upstream connection became free in time") from None
        else:
            await self._slots.acquire()
        try:
            connection = await self._connection()
            exchange = _Exchange(connection, head_request=method == "HEAD")
            connection.exchange = exchange
            assert connection.transport is not None
            connection.transport.write(self._encode(method, target, headers, body))
            try:
                async with asyncio.timeout(self.timeout):
                    await exchange.headers_ready
            except TimeoutError:
                connection.close()
                raise UpstreamTimeout("upstream did not answer in time") from None
            except UpstreamError:
                connection.close()
                raise
        except BaseException:
            self._slots.release()
            raise
        return UpstreamResponse(self, exchange)

    def release(self, connection: _Connection, complete: bool) -> None:
        """A finished exchange: keep the connection for the next request, or close it."""
        self._slots.release()
        connection.exchange = None
        if not complete or not connection.reusable or connection.closed:
            connection.close()
            return
        loop = asyncio.get_running_loop()
        connection.idle_since = loop.time()
        self._idle.append(connection)
        # Drop connections idle too long (oldest first) and any beyond the idle limit.
        while self._idle and (
            len(self._idle) > self.max_idle
            or loop.time() - self._idle[0].idle_since > self.keepalive_expiry
        ):
            self._idle.popleft().close()

    async def aclose(self) -> None:
        """Close every idle connection."""
        while self._idle:
            self._idle.popleft().close()

    async def _connection(self) -> _Connection:
        """The most recently used live connection, or a new one."""
        now = asyncio.get_running_loop().time()
        while self._idle:
            connection = self._idle.pop()
            # uvicorn closes a connection idle for 5 s; one idle nearly that long may be closing
            # as we write, and a POST sent on it would fail. Those are not reused.
            if not connection.closed and now - connection.idle_since <= self.keepalive_expiry:
                return connection
            connection.close()
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self.connect_timeout):
                _, protocol = await loop.create_connection(
                    _Connection, self.host, self.port, ssl=self.ssl
                )
        except TimeoutError:
            raise UpstreamTimeout("upstream did not accept the connection in time") from None
        except OSError as error:
            raise UpstreamError(f"cannot connect: {error}") from None
        return protocol

    def _encode(
        self, method: str, target: bytes, headers: list[tuple[bytes, bytes]], body: bytes
    ) -> bytes:
        lines = [method.encode(), b" ", self.prefix, target, b" HTTP/1.1\r\nhost: "]
        lines.append(self.host_header)
        for name, value in headers:
            lines += (b"\r\n", name, b": ", value)
        if body or method in ("POST", "PUT", "PATCH"):
            lines += (b"\r\ncontent-length: ", str(len(body)).encode())
        lines += (b"\r\n\r\n", body)
        return b"".join(lines)
