"""survey-svc settings (environment variables prefixed SURVEY_SVC_)."""

from datetime import date
from typing import ClassVar

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from retailcare_shared.settings import ServiceSettings
from retailcare_shared.workdays import WorkCalendar, parse_dates


class Settings(ServiceSettings):
    """Settings of survey-svc."""

    model_config = SettingsConfigDict(env_prefix="SURVEY_SVC_", extra="ignore")
    service_name: ClassVar[str] = "survey-svc"

    # Comma-separated YYYY-MM-DD lists: public holidays and make-up working days (调休).
    holidays: str = ""
    makeup_workdays: str = ""
    callback_due_working_days: int = Field(default=3, ge=0, le=30)
    callback_max_attempts: int = Field(default=3, ge=1, le=20)
    alert_complaint_rate_max: float = Field(default=0.02, ge=0, le=1)
    alert_satisfaction_index_below: float = Field(default=70.0, ge=0, le=100)
    token_bytes: int = Field(default=24, ge=16, le=64)

    def calendar(self) -> WorkCalendar:
        """The working-day calendar for callback deadlines."""
        return WorkCalendar(
            holidays=_dates(self.holidays), makeup_workdays=_dates(self.makeup_workdays)
        )


def _dates(text: str) -> frozenset[date]:
    return parse_dates(text)
