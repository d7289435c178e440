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
        default_factory=lambda: {
            "/api/v1/orders/batch": 8 * 1024 * 1024,
            # Import files are streamed to a temporary file, never held in memory.
            "/api/v1/imports": 200 * 1024 * 1024,
        }
    )
    # Bulk import (imports/): rows per file, stored refused rows, rows per COPY batch, how often
    # idle workers look for queued jobs, and the statement timeout of a merge.
    import_max_rows: int = Field(default=600_000, ge=1)
    import_max_errors: int = Field(default=100_000, ge=1)
    import_batch_rows: int = Field(default=5_000, ge=1)
    import_poll_seconds: float = Field(default=2.0, gt=0)
    import_statement_timeout_seconds: float = Field(default=1800.0, gt=0)
    import_worker_enabled: bool = True
