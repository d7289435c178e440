"""Document the RFC 9457 problem responses every API operation can give, in its OpenAPI document.

FastAPI documents only the success response and its own 422 shape; the services answer every
error with `application/problem+json` (problems.py). This adds a shared `Problem` schema and the
problem statuses to each `/api/` operation, so clients (and schema-based fuzzers) see the real
contract.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from retailcare_shared.problems import _TITLES, PROBLEM_MEDIA_TYPE

PROBLEM_REF = "#/components/schemas/Problem"
# Statuses any API operation may answer with (authentication, scope, validation, limits, outage).
API_PROBLEM_STATUSES = (400, 401, 403, 404, 409, 412, 413, 415, 422, 428, 429, 503)

PROBLEM_SCHEMAS: dict[str, Any] = {
    "Problem": {
        "title": "Problem",
        "description": "RFC 9457 problem details.",
        "type": "object",
        "required": ["type", "title", "status", "detail"],
        "properties": {
            "type": {"type": "string", "title": "Type"},
            "title": {"type": "string", "title": "Title"},
            "status": {"type": "integer", "title": "Status"},
            "detail": {"type": "string", "title": "Detail"},
            "instance": {"type": "string", "title": "Instance"},
            "request_id": {"type": "string", "title": "Request Id"},
            "errors": {
                "type": "array",
                "title": "Errors",
                "items": {"$ref": "#/components/schemas/ProblemFieldError"},
            },
        },
        "additionalProperties": True,
    },
    "ProblemFieldError": {
        "title": "ProblemFieldError",
        "description": "One invalid field: where it is, the rule it broke and why.",
        "type": "object",
        "required": ["field", "rule", "message"],
        "properties": {
            "field": {"type": "string", "title": "Field"},
            "in": {"type": "string", "title": "In"},
            "rule": {"type": "string", "title": "Rule"},
            "message": {"type": "string", "title": "Message"},
        },
        "additionalProperties": True,
    },
}


def problem_response_entry(status: int) -> dict[str, Any]:
    """The OpenAPI response object of a problem with the given status."""
    return {
        "description": _TITLES.get(status, "Error"),
        "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": PROBLEM_REF}}},
    }


def add_problem_responses(document: dict[str, Any]) -> dict[str, Any]:
    """Add the Problem schema and problem responses to an OpenAPI document (idempotent)."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas.update(PROBLEM_SCHEMAS)
    for path, operations in document.get("paths", {}).items():
        if path.startswith("/api/"):
            statuses: tuple[int, ...] = API_PROBLEM_STATUSES
        elif path == "/readyz":
            statuses = (503,)
        else:
            continue
        for operation in operations.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            for status in statuses:
                # FastAPI's own 422 entry describes a body the services never send: replace it.
                if status == 422 or str(status) not in responses:
                    responses[str(status)] = problem_response_entry(status)
    return document


def document_problem_responses(app: FastAPI) -> None:
    """Make `app.openapi()` include the problem responses."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = add_problem_responses(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
