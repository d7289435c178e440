"""`make run` brings up five processes; a `make token` token reaches each owning service."""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

from retailcare_shared.devstack import free_port

SERVICES = {
    "customer-svc": "/api/v1/customers/00000000-0000-0000-0000-000000000001",
    "valuation-svc": "/api/v1/value-models/0",
    "complaint-svc": "/api/v1/complaints/00000000-0000-0000-0000-000000000001",
    "survey-svc": "/api/v1/questionnaires/0",
}
PREFIXES = {
    "customer-svc": "CUSTOMER_SVC_",
    "valuation-svc": "VALUATION_SVC_",
    "complaint-svc": "COMPLAINT_SVC_",
    "survey-svc": "SURVEY_SVC_",
    "gateway": "GATEWAY_",
}


@pytest.fixture(scope="module")
def stack(
    postgres_server_url: str, kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, int]]:
    ports = {name: free_port() for name in PREFIXES}
    environment = {
        **os.environ,
        "DATABASE_SERVER_URL": postgres_server_url,
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "RETAILCARE_DATA_DIR": str(tmp_path_factory.mktemp("stack")),
        **{f"{PREFIXES[name]}PORT": str(port) for name, port in ports.items()},
    }
    environment.pop("AUTH_JWT_SECRET", None)  # make run's own default applies
    process = subprocess.Popen(
        [sys.executable, "-m", "retailcare_shared.devrun"],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output: list[str] = []
    assert process.stdout is not None
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line and process.poll() is not None:
            pytest.fail("make run exited early:\n" + "".join(output[-40:]))
        output.append(line)
        if "Ctrl-C stops everything" in line:
            break
    else:
        process.kill()
        pytest.fail("make run did not come up:\n" + "".join(output[-40:]))
    try:
        yield ports
    finally:
        process.send_signal(signal.SIGINT)
        remaining, _ = process.communicate(timeout=60)
        assert process.returncode == 0, remaining[-2000:]
        assert "[make run] stopped" in remaining


def make_token(role: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "retailcare_shared.devtoken", "--role", role],
        env={key: value for key, value in os.environ.items() if key != "AUTH_JWT_SECRET"},
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


def test_all_five_processes_are_ready(stack: dict[str, int]) -> None:
    for name, port in stack.items():
        response = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5)
        assert response.status_code == 200, (name, response.text)


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_a_request_through_the_gateway_reaches_the_owning_service(
    stack: dict[str, int], service: str
) -> None:
    gateway = f"http://127.0.0.1:{stack['gateway']}"
    token = make_token("admin")

    response = httpx.get(
        gateway + SERVICES[service],
        headers={"Authorization": f"Bearer {token}", "X-Request-ID": "e2e-1"},
        timeout=10,
    )

    assert response.headers["x-served-by"] == f"{service}, gateway"
    assert response.headers["x-request-id"] == "e2e-1"
    assert response.headers["content-type"].startswith("application/problem+json")


def test_the_gateway_refuses_a_request_without_a_token(stack: dict[str, int]) -> None:
    response = httpx.get(f"http://127.0.0.1:{stack['gateway']}/api/v1/customers", timeout=5)
    assert response.status_code == 401
    assert response.headers["x-served-by"] == "gateway"
