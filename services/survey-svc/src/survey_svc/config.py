"""survey-svc settings (environment variables prefixed SURVEY_SVC_)."""

from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from retailcare_shared.settings import ServiceSettings


class Settings(ServiceSettings):
    """Settings of survey-svc."""

    model_config = SettingsConfigDict(env_prefix="SURVEY_SVC_", extra="ignore")
    service_name: ClassVar[str] = "survey-svc"
