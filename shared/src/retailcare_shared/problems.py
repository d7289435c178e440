"""RFC 9457 problem details: one place turns every error into `application/problem+json`."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from retailcare_shared.db import is_database_unavailable
from retailcare_shared.logging import get_logger, request_id_var

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_BASE = "https://retailcare.example/problems/"

_TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    410: "Gone",
    412: "Precondition failed",
    413: "Content too large",
    415: "Unsupported media type",
    422: "Validation failed",
    428: "Precondition required",
    429: "Too many requests",
    500: "Internal server error",
    502: "Bad gateway",
    503: "Service unavailable",
    504: "Gateway timeout",
}

log = get_logger(__name__)


class ProblemError(Exception):
    """A domain or platform error that carries its HTTP status and becomes a problem response."""

    status: int = 400
    type_slug: str = "bad-request"
    title: str | None = None

    def __init__(
        self,
        detail: str,
        *,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors
        self.headers = headers or {}
        self.extensions = extensions


class NotFound(ProblemError):
    status, type_slug = 404, "not-found"


class Conflict(ProblemError):
    status, type_slug = 409, "conflict"


class Gone(ProblemError):
    status, type_slug = 410, "gone"


class PreconditionFailed(ProblemError):
    status, type_slug = 412, "precondition-failed"


class PreconditionRequired(ProblemError):
    status, type_slug = 428, "precondition-required"


class Unauthorized(ProblemError):
    status, type_slug = 401, "unauthorized"

    def __init__(self, detail: str) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})


class Forbidden(ProblemError):
    status, type_slug = 403, "forbidden"


class TooManyRequests(ProblemError):
    status, type_slug = 429, "rate-limited"

    def __init__(self, detail: str, retry_after_seconds: int) -> None:
        super().__init__(detail, headers={"Retry-After": str(max(1, retry_after_seconds))})


class ServiceUnavailable(ProblemError):
    status, type_slug = 503, "service-unavailable"

    def __init__(self, detail: str, retry_after_seconds: int = 1) -> None:
        super().__init__(detail, headers={"Retry-After": str(max(1, retry_after_seconds))})


class InvalidInput(ProblemError):
    """A 422 raised by service rules after schema validation, naming the field and the rule."""

    status, type_slug = 422, "validation-failed"

    def __init__(self, field: str, rule: str, message: str) -> None:
        super().__init__(
            f"{field}: {message}", errors=[{"field": field, "rule": rule, "message": message}]
        )


def problem_body(
    status: int,
    detail: str,
    *,
    type_slug: str | None = None,
    title: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    instance: str | None = None,
    **extensions: Any,
) -> dict[str, Any]:
    """Build an RFC 9457 problem object."""
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + (type_slug or _slug(status)),
        "title": title or _TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
    }
    if instance:
        body["instance"] = instance
    if errors is not None:
        body["errors"] = errors
    request_id = request_id_var.get()
    if request_id:
        body["request_id"] = request_id
    body.update(extensions)
    return body


def problem_response(
    status: int, detail: str, headers: dict[str, str] | None = None, **kwargs: Any
) -> JSONResponse:
    """A JSONResponse carrying a problem body with the problem media type."""
    return JSONResponse(
        problem_body(status, detail, **kwargs),
        status_code=status,
        headers=headers,
        media_type=PROBLEM_MEDIA_TYPE,
    )


def _slug(status: int) -> str:
    return _TITLES.get(status, "error").lower().replace(" ", "-")


def validation_errors(raw: list[Any]) -> list[dict[str, Any]]:
    """Turn pydantic/FastAPI error entries into `{field, rule, message}` items."""
    errors = []
    for item in raw:
        location = [str(part) for part in item.get("loc", ())]
        source = (
            location[0] if location and location[0] in {"body", "query", "path", "header"} else None
        )
        field_parts = location[1:] if source else location
        errors.append(
            {
                "field": ".".join(field_parts) or (source or "body"),
                "in": source or "body",
                "rule": item.get("type", "invalid"),
                "message": item.get("msg", "invalid value"),
            }
        )
    return errors


async def _problem_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, ProblemError)
    return problem_response(
        error.status,
        error.detail,
        headers=error.headers,
        type_slug=error.type_slug,
        title=error.title,
        errors=error.errors,
        instance=request.url.path,
        **error.extensions,
    )


async def _request_validation(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    errors = validation_errors(list(error.errors()))
    names = ", ".join(sorted({entry["field"] for entry in errors}))
    return problem_response(
        422,
        f"invalid request: {names}",
        type_slug="validation-failed",
        errors=errors,
        instance=request.url.path,
    )


async def _http_exception(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StarletteHTTPException)
    detail = error.detail if isinstance(error.detail, str) else _TITLES.get(error.status_code, "")
    if error.status_code == 404 and detail == "Not Found":
        detail = f"no resource at {request.url.path}"
    if error.status_code == 405:
        detail = f"{request.method} is not allowed on {request.url.path}"
    return problem_response(
        error.status_code, detail, headers=dict(error.headers or {}), instance=request.url.path
    )


async def _integrity_error(request: Request, error: Exception) -> JSONResponse:
    # Unique and foreign-key violations that escaped a service's own checks: a conflict, no SQL.
    log.warning("integrity_error", error=type(error).__name__)
    return problem_response(
        409, "the request conflicts with existing data", instance=request.url.path
    )


async def _database_unavailable(request: Request, error: Exception) -> JSONResponse:
    log.error("database_unavailable", error=type(error).__name__)
    return problem_response(
        503,
        "the database is unavailable; retry shortly",
        headers={"Retry-After": "2"},
        instance=request.url.path,
    )


def unexpected_error_response(path: str, error: BaseException) -> JSONResponse:
    """503 for a lost database connection, else a 500 that leaks nothing of the internals."""
    if is_database_unavailable(error):
        log.error("database_unavailable", error=type(error).__name__)
        return problem_response(
            503,
            "the database is unavailable; retry shortly",
            headers={"Retry-After": "2"},
            instance=path,
        )
    log.error("unhandled_error", path=path, exc_info=error)
    return problem_response(500, "an unexpected error occurred", instance=path)


def install_problem_handlers(app: FastAPI) -> None:
    """Register the handlers that turn every error into an RFC 9457 problem."""
    app.add_exception_handler(ProblemError, _problem_error)
    app.add_exception_handler(RequestValidationError, _request_validation)
    app.add_exception_handler(StarletteHTTPException, _http_exception)
    app.add_exception_handler(IntegrityError, _integrity_error)
    app.add_exception_handler(OperationalError, _database_unavailable)
    # Anything else is answered by RequestContextMiddleware (unexpected_error_response), which
    # still knows the request id.
