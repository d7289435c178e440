"""Settings come from the environment only and fail with every bad variable named."""

import pytest

from customer_svc.config import Settings
from retailcare_shared.settings import ConfigurationError

GOOD = {
    "CUSTOMER_SVC_DATABASE_URL": "postgresql://u@localhost:5432/customer_svc",
    "KAFKA_BOOTSTRAP_SERVERS": "localhost:9092",
    "AUTH_JWT_SECRET": "s3cret",
}


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in [*GOOD, "AUTH_JWT_PUBLIC_KEY", "AUTH_JWT_PUBLIC_KEY_FILE", "CUSTOMER_SVC_PORT"]:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_valid_environment_is_read_with_the_service_prefix(environment: pytest.MonkeyPatch) -> None:
    for name, value in GOOD.items():
        environment.setenv(name, value)
    environment.setenv("CUSTOMER_SVC_PORT", "8001")
    settings = Settings.load()
    assert settings.port == 8001
    assert settings.database_url == "postgresql+asyncpg://u@localhost:5432/customer_svc"
    assert settings.kafka_enable_idempotence is False
    assert settings.kafka_transactions is False


def test_missing_variables_are_each_named(environment: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigurationError) as raised:
        Settings.load()
    message = str(raised.value)
    assert "CUSTOMER_SVC_DATABASE_URL: missing" in message
    assert "KAFKA_BOOTSTRAP_SERVERS: missing" in message


def test_malformed_variable_is_named(environment: pytest.MonkeyPatch) -> None:
    for name, value in GOOD.items():
        environment.setenv(name, value)
    environment.setenv("CUSTOMER_SVC_PORT", "eighty")
    with pytest.raises(
        ConfigurationError, match="CUSTOMER_SVC_PORT: Input should be a valid integer"
    ):
        Settings.load()


def test_a_token_key_is_required(environment: pytest.MonkeyPatch) -> None:
    for name, value in GOOD.items():
        if name != "AUTH_JWT_SECRET":
            environment.setenv(name, value)
    with pytest.raises(ConfigurationError, match="AUTH_JWT_SECRET"):
        Settings.load()


def test_non_postgres_database_is_refused(environment: pytest.MonkeyPatch) -> None:
    for name, value in GOOD.items():
        environment.setenv(name, value)
    environment.setenv("CUSTOMER_SVC_DATABASE_URL", "mysql://u@h/db")
    with pytest.raises(ConfigurationError, match="CUSTOMER_SVC_DATABASE_URL must be a postgresql"):
        Settings.load()
