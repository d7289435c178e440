"""customer-svc settings (environment variables prefixed CUSTOMER_SVC_)."""

from typing import ClassVar

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from retailcare_shared.settings import ServiceSettings


class Settings(ServiceSettings):
    """Settings of customer-svc."""

    model_config = SettingsConfigDict(env_prefix="CUSTOMER_SVC_", extra="ignore")
    service_name: ClassVar[str] = "customer-svc"

    # A batch of 1,000 orders x 10 lines is about 1.6 MB of JSON: the batch endpoint alone may
    # take bodies up to 8 MiB; every other endpoint keeps MAX_BODY_BYTES.
    max_body_bytes_by_path: dict[str, int] = Field(
        default_factory=lambda: {"/api/v1/orders/batch": 8 * 1024 * 1024}
    )
