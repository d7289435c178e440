"""S1: property-based fuzzing of every service's OpenAPI document (schemathesis, real HTTP).

Each service runs on its own migrated PostgreSQL database behind uvicorn; every generated request
(valid and invalid) is sent with a valid token (mostly admin, some scoped roles), and every
response must be no 5xx, carry a documented status and media type, and match the documented
schema.
"""

from __future__ import annotations

import uuid
import zlib
from typing import Any

import requests
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

import complaint_svc.main
import customer_svc.main
import gateway.main
import survey_svc.main
import valuation_svc.main
from gateway.config import Settings as GatewaySettings
from retailcare_shared.testing import TEST_JWT_SECRET, bearer, service_overrides

SERVICES = {
    "customer-svc": customer_svc.main,
    "valuation-svc": valuation_svc.main,
    "complaint-svc": complaint_svc.main,
    "survey-svc": survey_svc.main,
}
TARGETS = [*SERVICES, "gateway"]


def offline_app(name: str) -> FastAPI:
    """An app that is never started: only its OpenAPI document is read."""
    if name == "gateway":
        upstreams = {f"{svc.split('-')[0]}_svc_url": "http://127.0.0.1:1" for svc in SERVICES}
        front: FastAPI = gateway.main.create_app(
            GatewaySettings(
                auth_jwt_secret=TEST_JWT_SECRET, kafka_bootstrap_servers="x:1", **upstreams
            )
        )
        return front
    module = SERVICES[name]
    overrides = service_overrides("postgresql+asyncpg://unused@127.0.0.1/unused", "x:1")
    app: FastAPI = module.create_app(module.definition.settings_class(**overrides))
    return app


TITLES = {offline_app(name).title: name for name in TARGETS}
SCHEMAS = {
    name.replace("-", "_"): schemathesis.openapi.from_dict(offline_app(name).openapi())
    for name in TARGETS
}
for loaded in SCHEMAS.values():
    loaded.config.generation.update(max_examples=5, deterministic=True, allow_x00=True)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
# Most requests as admin (reaches every operation); the rest as scoped roles, so role checks,
# manager and county scoping and masking are fuzzed too. Chosen from the request's own content:
# deterministic, yet varied across examples.
TOKENS = [
    bearer(["admin"], sub="fuzzer"),
    bearer(["admin"], sub="fuzzer"),
    bearer(["admin"], sub="fuzzer"),
    bearer(["supervisor"], sub="fuzz-sup", county="330102"),
    bearer(["customer_manager"], sub="fuzz-mgr", manager_id=str(uuid.UUID(int=7))),
    bearer(["call_center"], sub="fuzz-cc"),
    bearer(["analyst"], sub="fuzz-analyst"),
]
SESSION = requests.Session()  # keep-alive across the many small requests


def token_for(case: schemathesis.Case[Any]) -> dict[str, str]:
    """The token one generated request is sent with."""
    key = repr((case.path_parameters, case.query, case.body)).encode()
    token: dict[str, str] = TOKENS[zlib.crc32(key) % len(TOKENS)]
    return token


@schemathesis.pytest.parametrize(**SCHEMAS)
@settings(
    max_examples=5,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_answers_within_its_documented_contract(
    case: schemathesis.Case[Any], live_stack: Any
) -> None:
    """Valid and invalid requests: never a 5xx; status, media type and body as documented."""
    service = TITLES[case.operation.schema.raw_schema["info"]["title"]]
    headers: dict[str, Any] = dict(token_for(case))
    case.call_and_validate(
        base_url=live_stack.urls[service],
        session=SESSION,
        headers=headers,
        checks=CHECKS,
        timeout=30,
    )
