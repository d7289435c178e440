"""survey-svc settings (environment variables prefixed SURVEY_SVC_)."""

from typing import ClassVar

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from retailcare_shared.settings import WorkdaySettings


class Settings(WorkdaySettings):
    """Settings of survey-svc."""

    model_config = SettingsConfigDict(env_prefix="SURVEY_SVC_", extra="ignore")
    service_name: ClassVar[str] = "survey-svc"

    callback_due_working_days: int = Field(default=3, ge=0, le=30)
    callback_max_attempts: int = Field(default=3, ge=1, le=20)
    alert_complaint_rate_max: float = Field(default=0.02, ge=0, le=1)
    alert_satisfaction_index_below: float = Field(default=70.0, ge=0, le=100)
    token_bytes: int = Field(default=24, ge=16, le=64)
