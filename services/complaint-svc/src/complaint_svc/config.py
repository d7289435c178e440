"""complaint-svc settings (environment variables prefixed COMPLAINT_SVC_)."""

from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from retailcare_shared.settings import ServiceSettings


class Settings(ServiceSettings):
    """Settings of complaint-svc."""

    model_config = SettingsConfigDict(env_prefix="COMPLAINT_SVC_", extra="ignore")
    service_name: ClassVar[str] = "complaint-svc"
