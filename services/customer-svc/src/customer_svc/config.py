"""customer-svc settings (environment variables prefixed CUSTOMER_SVC_)."""

from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from retailcare_shared.settings import ServiceSettings


class Settings(ServiceSettings):
    """Settings of customer-svc."""

    model_config = SettingsConfigDict(env_prefix="CUSTOMER_SVC_", extra="ignore")
    service_name: ClassVar[str] = "customer-svc"
