"""valuation-svc settings (environment variables prefixed VALUATION_SVC_)."""

from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from retailcare_shared.settings import ServiceSettings


class Settings(ServiceSettings):
    """Settings of valuation-svc."""

    model_config = SettingsConfigDict(env_prefix="VALUATION_SVC_", extra="ignore")
    service_name: ClassVar[str] = "valuation-svc"
