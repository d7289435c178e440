"""Logs are one JSON object per line carrying service, level, request and correlation ids."""

import json
import logging
from collections.abc import Iterator

import pytest
import structlog

from retailcare_shared.logging import (
    configure_logging,
    correlation_id_var,
    get_logger,
    request_id_var,
)


@pytest.fixture(autouse=True)
def restored_logging() -> Iterator[None]:
    """Logging configured here writes to pytest's capture stream, closed after the test: put the
    previous configuration back so later tests do not log into a closed file."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    structlog_config = structlog.get_config()
    yield
    structlog.configure(**structlog_config)
    root.handlers = handlers
    root.setLevel(level)


def test_log_lines_are_json_with_request_and_correlation_ids(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("customer-svc", "INFO", json=True)
    request_token = request_id_var.set("req-9")
    correlation_token = correlation_id_var.set("corr-7")
    try:
        get_logger("test").info("order_received", order_no="ORD-1")
    finally:
        request_id_var.reset(request_token)
        correlation_id_var.reset(correlation_token)

    line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert line["service"] == "customer-svc"
    assert line["level"] == "info"
    assert line["event"] == "order_received"
    assert (line["request_id"], line["correlation_id"]) == ("req-9", "corr-7")
    assert line["order_no"] == "ORD-1"
