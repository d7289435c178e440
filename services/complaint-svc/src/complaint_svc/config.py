"""complaint-svc settings (environment variables prefixed COMPLAINT_SVC_)."""

from typing import ClassVar

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from retailcare_shared.settings import WorkdaySettings


class Settings(WorkdaySettings):
    """Settings of complaint-svc."""

    model_config = SettingsConfigDict(env_prefix="COMPLAINT_SVC_", extra="ignore")
    service_name: ClassVar[str] = "complaint-svc"

    # Deadlines by priority.
    normal_acknowledge_working_days: int = Field(default=1, ge=0, le=30)
    normal_resolve_working_days: int = Field(default=5, ge=0, le=60)
    urgent_acknowledge_hours: float = Field(default=2.0, gt=0, le=240)
    urgent_resolve_working_days: int = Field(default=1, ge=0, le=30)
    # Repeat complaints.
    repeat_window_days: int = Field(default=30, ge=1, le=365)
    repeat_alert_level: float = Field(default=0.10, ge=0, le=1)
    # Sweeper.
    sweeper_enabled: bool = True
    sweeper_interval_seconds: float = Field(default=30.0, gt=0)
    sweeper_batch_size: int = Field(default=500, ge=1, le=10_000)
    escalation_target: str = "supervisor"
    # Extra category codes (comma-separated `group:code`) added to the default catalogue.
    extra_categories: str = ""
