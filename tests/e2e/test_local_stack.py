"""`make run` brings up five processes; a `make token` token reaches each owning service."""

import os
import subprocess
import sys

import httpx
import pytest

from retailcare_shared.testing import Stack

SERVICES = {
    "customer-svc": "/api/v1/customers/00000000-0000-0000-0000-000000000001",
    "valuation-svc": "/api/v1/value-models/0",
    "complaint-svc": "/api/v1/complaints/00000000-0000-0000-0000-000000000001",
    "survey-svc": "/api/v1/questionnaires/0",
}


def make_token(role: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "retailcare_shared.devtoken", "--role", role],
        env={key: value for key, value in os.environ.items() if key != "AUTH_JWT_SECRET"},
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


def test_all_five_processes_are_ready(stack: Stack) -> None:
    for name, port in stack.ports.items():
        response = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5)
        assert response.status_code == 200, (name, response.text)


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_a_request_through_the_gateway_reaches_the_owning_service(
    stack: Stack, service: str
) -> None:
    gateway = stack.url()
    token = make_token("admin")

    response = httpx.get(
        gateway + SERVICES[service],
        headers={"Authorization": f"Bearer {token}", "X-Request-ID": "e2e-1"},
        timeout=10,
    )

    assert response.headers["x-served-by"] == f"{service}, gateway"
    assert response.headers["x-request-id"] == "e2e-1"
    assert response.headers["content-type"].startswith("application/problem+json")


def test_the_gateway_refuses_a_request_without_a_token(stack: Stack) -> None:
    response = httpx.get(stack.url() + "/api/v1/customers", timeout=5)
    assert response.status_code == 401
    assert response.headers["x-served-by"] == "gateway"


def test_the_gateway_serves_one_merged_openapi_document(stack: Stack) -> None:
    document = httpx.get(stack.url() + "/openapi.json", timeout=20).json()
    paths = set(document["paths"])
    assert "x-unavailable" not in document["info"]
    assert {
        "/api/v1/customers",
        "/api/v1/orders/batch",
        "/api/v1/valuation-runs",
        "/api/v1/customers/{customer_id}/valuation",
        "/api/v1/complaints",
        "/api/v1/complaint-analytics/rate",
        "/api/v1/survey-campaigns",
        "/api/v1/callbacks",
        "/api/v1/customers/{customer_id}/overview",
    } <= paths
    assert httpx.get(stack.url() + "/docs", timeout=5).status_code == 200
