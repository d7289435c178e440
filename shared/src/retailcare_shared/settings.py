"""Settings from the environment only, validated at start-up with messages naming each variable."""

from __future__ import annotations

from datetime import date
from typing import Any, ClassVar, Self

from pydantic import (
    AliasChoices,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from retailcare_shared.logging import get_logger
from retailcare_shared.workdays import (
    CHINA,
    WorkCalendar,
    WorkdayBase,
    business_today,
    overlapping_dates,
    parse_dates,
    unconfigured_years,
    work_calendar,
    years_deadlines_reach,
)

log = get_logger(__name__)


class ConfigurationError(RuntimeError):
    """Raised at start-up when environment variables are missing or malformed."""


def _global(name: str) -> Any:
    """A platform-wide variable: read without the service prefix (shared by every service)."""
    return AliasChoices(name)


class PlatformSettings(BaseSettings):
    """Settings every process shares: bus, auth, logging. Variables have no prefix."""

    model_config = SettingsConfigDict(extra="ignore", case_sensitive=False, populate_by_name=True)

    service_name: ClassVar[str] = "retailcare"

    kafka_bootstrap_servers: str = Field(validation_alias=_global("KAFKA_BOOTSTRAP_SERVERS"))
    kafka_enable_idempotence: bool = Field(
        default=False, validation_alias=_global("KAFKA_ENABLE_IDEMPOTENCE")
    )
    kafka_transactions: bool = Field(default=False, validation_alias=_global("KAFKA_TRANSACTIONS"))
    # Prepended to every topic name: several environments (or test runs) can share one cluster.
    kafka_topic_prefix: str = Field(default="", validation_alias=_global("KAFKA_TOPIC_PREFIX"))
    auth_jwt_secret: SecretStr | None = Field(
        default=None, validation_alias=_global("AUTH_JWT_SECRET")
    )
    auth_jwt_public_key: str | None = Field(
        default=None, validation_alias=_global("AUTH_JWT_PUBLIC_KEY")
    )
    auth_jwt_public_key_file: str | None = Field(
        default=None, validation_alias=_global("AUTH_JWT_PUBLIC_KEY_FILE")
    )
    # A JWKS document (RFC 7517) of RS256 keys; a token's `kid` header picks its key, so the
    # identity provider can rotate keys by publishing the next one beside the current one.
    auth_jwks_file: str | None = Field(default=None, validation_alias=_global("AUTH_JWKS_FILE"))
    # When set, tokens must carry exactly this `iss` / list this `aud` (else 401).
    auth_jwt_issuer: str | None = Field(default=None, validation_alias=_global("AUTH_JWT_ISSUER"))
    auth_jwt_audience: str | None = Field(
        default=None, validation_alias=_global("AUTH_JWT_AUDIENCE")
    )
    log_level: str = Field(default="INFO", validation_alias=_global("LOG_LEVEL"))
    log_json: bool = Field(default=True, validation_alias=_global("LOG_JSON"))

    @model_validator(mode="after")
    def _one_way_to_verify_tokens(self) -> Self:
        if not (
            self.auth_jwt_secret
            or self.auth_jwt_public_key
            or self.auth_jwt_public_key_file
            or self.auth_jwks_file
        ):
            raise ValueError(
                "AUTH_JWT_SECRET (HS256) or AUTH_JWT_PUBLIC_KEY / AUTH_JWT_PUBLIC_KEY_FILE / "
                "AUTH_JWKS_FILE (RS256) must be set"
            )
        return self

    @classmethod
    def load(cls, **overrides: Any) -> Self:
        """Read and validate the environment; raise ConfigurationError naming every bad variable."""
        try:
            return cls(**overrides)
        except ValidationError as error:
            raise ConfigurationError(cls._describe(error)) from None

    @classmethod
    def _describe(cls, error: ValidationError) -> str:
        prefix = str(cls.model_config.get("env_prefix") or "")
        problems = []
        for item in error.errors():
            field = str(item["loc"][0]) if item["loc"] else ""
            variable = cls._variable_name(field, prefix)
            reason = "missing" if item["type"] == "missing" else item["msg"]
            problems.append(f"  {variable}: {reason}" if variable else f"  {reason}")
        return f"invalid configuration for {cls.service_name}:\n" + "\n".join(problems)

    @classmethod
    def _variable_name(cls, field: str, prefix: str) -> str:
        info = cls.model_fields.get(field)
        if info is None:
            # Aliased fields are reported under their alias in pydantic's error location.
            return field
        alias = info.validation_alias
        if isinstance(alias, AliasChoices):
            return str(alias.choices[0])
        return f"{prefix}{field}".upper()


class ServiceSettings(PlatformSettings):
    """Settings of a service with a database; subclasses set `env_prefix` and `service_name`."""

    database_url: str
    database_pool_size: int = Field(default=20, ge=1, le=200)
    database_connect_timeout_seconds: float = Field(default=5.0, gt=0)
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    # Server processes sharing the port (each with its own pool, relay and consumers): a service
    # is CPU-bound in Python, so one process uses one core at most.
    workers: int = Field(default=1, ge=1, le=64)
    outbox_batch_size: int = Field(default=500, ge=1, le=10_000)
    # The relay polls (an indexed SKIP LOCKED select) instead of being woken by NOTIFY per
    # request: NOTIFY takes a global lock at commit and serialises concurrent writers.
    outbox_poll_seconds: float = Field(default=0.5, gt=0)
    relay_max_backoff_seconds: float = Field(default=5.0, gt=0)
    relay_enabled: bool = True
    consumers_enabled: bool = True
    consumer_max_retries: int = Field(default=3, ge=0, le=20)
    consumer_retry_backoff_seconds: float = Field(default=0.2, ge=0)
    # Records per partition applied in one transaction (getmany's max_records).
    consumer_batch_size: int = Field(default=500, ge=1, le=10_000)
    idempotency_ttl_hours: int = Field(default=24, ge=1)
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    # Exact paths allowed larger bodies than MAX_BODY_BYTES (JSON object: path → bytes).
    max_body_bytes_by_path: dict[str, int] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _asyncpg_url(self) -> Self:
        if not self.database_url.startswith(("postgresql+asyncpg://", "postgresql://")):
            raise ValueError(
                f"{type(self).model_config.get('env_prefix', '')}DATABASE_URL must be a "
                "postgresql:// or postgresql+asyncpg:// URL"
            )
        if self.database_url.startswith("postgresql://"):
            self.database_url = "postgresql+asyncpg://" + self.database_url[len("postgresql://") :]
        return self


class WorkdaySettings(ServiceSettings):
    """A service that counts working days: base calendar plus the configured override lists."""

    # `china` = statutory holidays and 调休 from chinesecalendar, `weekdays` = Mon-Fri; the
    # comma-separated YYYY-MM-DD lists override either.
    workday_calendar: WorkdayBase = CHINA
    holidays: str = ""
    makeup_workdays: str = ""

    @field_validator("holidays", "makeup_workdays")
    @classmethod
    def _dates_parse(cls, value: str) -> str:
        # A bad date fails at start-up, not at the first deadline computed.
        parse_dates(value)
        return value

    @field_validator("makeup_workdays")
    @classmethod
    def _not_both(cls, value: str, info: ValidationInfo) -> str:
        both = overlapping_dates(info.data.get("holidays", ""), value)
        if both:
            raise ValueError(f"also listed as holidays: {', '.join(map(str, both))}")
        return value

    def calendar(self, today: date | None = None) -> WorkCalendar:
        """The working-day calendar; warns about the coming years it only knows weekends of."""
        calendar = work_calendar(
            self.workday_calendar,
            holidays=parse_dates(self.holidays),
            makeup_workdays=parse_dates(self.makeup_workdays),
        )
        missing = unconfigured_years(
            calendar, self.workday_calendar, years_deadlines_reach(today or business_today())
        )
        if missing:
            prefix = str(type(self).model_config.get("env_prefix") or "")
            log.warning(
                "workday_calendar_year_not_covered",
                years=missing,
                detail="chinesecalendar has no holidays for these years: working days skip"
                f" weekends only until {prefix}HOLIDAYS / {prefix}MAKEUP_WORKDAYS list their dates",
            )
        return calendar
