"""valuation-svc settings (environment variables prefixed VALUATION_SVC_)."""

from typing import ClassVar

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from retailcare_shared.settings import ServiceSettings


class Settings(ServiceSettings):
    """Settings of valuation-svc."""

    model_config = SettingsConfigDict(env_prefix="VALUATION_SVC_", extra="ignore")
    service_name: ClassVar[str] = "valuation-svc"

    run_poll_seconds: float = Field(
        default=2.0, gt=0, description="how often workers look for queued runs"
    )
    run_stale_seconds: float = Field(
        default=600.0, gt=0, description="a running run without heartbeat this long is taken over"
    )
    # Hours one visit of a service item takes (the seeds give monthly minimums, not durations).
    hours_assisted_ordering: float = Field(default=0.5, gt=0)
    hours_business_guidance: float = Field(default=0.5, gt=0)
    hours_issue_handling: float = Field(default=0.5, gt=0)
    hours_relationship_care: float = Field(default=0.25, gt=0)
