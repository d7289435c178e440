"""ASGI middleware: request ids and logs, metrics, body size (413) and media type (415) checks."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Collection
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from retailcare_shared.logging import correlation_id_var, get_logger, request_id_var
from retailcare_shared.metrics import HTTP_LATENCY, HTTP_REQUESTS
from retailcare_shared.problems import PROBLEM_MEDIA_TYPE, problem_body, unexpected_error_response

log = get_logger("http")
BODY_METHODS = {"POST", "PUT", "PATCH"}
QUIET_PATHS = {"/healthz", "/readyz", "/metrics"}


class RequestContextMiddleware:
    """Assigns/propagates X-Request-ID, logs one line per request, records metrics."""

    def __init__(self, app: ASGIApp, *, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        raw_id = headers.get(b"x-request-id", b"").decode("latin-1")
        request_id = (
            raw_id if 0 < len(raw_id) <= 200 and raw_id.isprintable() else str(uuid.uuid4())
        )
        request_token = request_id_var.set(request_id)
        correlation_token = correlation_id_var.set(request_id)
        started = time.perf_counter()
        status = 500
        started_response = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, started_response
            if message["type"] == "http.response.start":
                status = message["status"]
                started_response = True
                message.setdefault("headers", [])
                # Behind the gateway the upstream's id is already there; x-served-by is a chain.
                headers = [(k, v) for k, v in message["headers"] if k.lower() != b"x-served-by"]
                served_by = [v for k, v in message["headers"] if k.lower() == b"x-served-by"]
                if not any(k.lower() == b"x-request-id" for k, _ in headers):
                    headers.append((b"x-request-id", request_id.encode()))
                headers.append((b"x-served-by", b", ".join([*served_by, self.service.encode()])))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as error:
            if started_response:
                raise
            await unexpected_error_response(scope["path"], error)(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = getattr(scope.get("route"), "path", "unmatched")
            HTTP_REQUESTS.labels(self.service, scope["method"], route, str(status)).inc()
            HTTP_LATENCY.labels(self.service, scope["method"], route).observe(elapsed)
            if scope["path"] not in QUIET_PATHS:
                log.info(
                    "request",
                    method=scope["method"],
                    path=scope["path"],
                    route=route,
                    status=status,
                    duration_ms=round(elapsed * 1000, 2),
                )
            request_id_var.reset(request_token)
            correlation_id_var.reset(correlation_token)


class BodyTooLarge(Exception):
    """Raised into a streamed upload's reader when the body passes its path's limit."""


class BodyGuardMiddleware:
    """Rejects bodies over the limit (413) and non-JSON bodies (415) before any handler runs.

    Paths in `streamed_paths` (file uploads) are the exception: any media type, never buffered
    here; the size is counted as the handler reads and passing the limit ends the request in 413.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int,
        path_limits: dict[str, int] | None = None,
        streamed_paths: Collection[str] = (),
    ) -> None:
        self.app = app
        self.default_limit = max_body_bytes
        # Exact paths that take larger bodies (e.g. the order batch endpoint).
        self.path_limits = path_limits or {}
        self.streamed_paths = frozenset(streamed_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in BODY_METHODS:
            await self.app(scope, receive, send)
            return
        limit = self.path_limits.get(scope["path"], self.default_limit)
        headers = dict(scope["headers"])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._reject(send, 413, f"the request body exceeds {limit} bytes")
            return
        if scope["path"] in self.streamed_paths:
            await self._streamed(scope, receive, send, limit)
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await self._reject(send, 413, f"the request body exceeds {limit} bytes")
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        content_type = (
            headers.get(b"content-type", b"").decode("latin-1").split(";")[0].strip().lower()
        )
        if body and not (content_type == "application/json" or content_type.endswith("+json")):
            await self._reject(send, 415, "the request body must be application/json")
            return
        try:
            body.decode("utf-8")
        except UnicodeDecodeError as error:
            # JSON is UTF-8 (RFC 8259); say so with a 422 naming the body, not a bare 400.
            await self._reject(
                send,
                422,
                f"the request body is not valid UTF-8 (byte {error.start})",
                errors=[
                    {
                        "field": "body",
                        "in": "body",
                        "rule": "utf8",
                        "message": "JSON must be encoded as UTF-8",
                    }
                ],
            )
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    async def _streamed(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        size = 0
        started = False

        async def counted() -> Message:
            nonlocal size
            message = await receive()
            size += len(message.get("body", b""))
            if size > limit:
                raise BodyTooLarge
            return message

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, tracked)
        except BodyTooLarge:
            if started:
                raise
            await self._reject(send, 413, f"the request body exceeds {limit} bytes")

    @staticmethod
    async def _reject(
        send: Send, status: int, detail: str, errors: list[dict[str, Any]] | None = None
    ) -> None:
        payload: dict[str, Any] = problem_body(status, detail, errors=errors)
        raw = json.dumps(payload).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", PROBLEM_MEDIA_TYPE.encode()),
                    (b"content-length", str(len(raw)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": raw})
