"""Gateway settings (environment variables prefixed GATEWAY_) and the route table."""

from typing import ClassVar

from pydantic import BaseModel, Field, IPvAnyNetwork
from pydantic_settings import SettingsConfigDict

from retailcare_shared.settings import PlatformSettings


class Route(BaseModel):
    """Paths starting with `pattern` (`*` matches one segment) go to `upstream`."""

    pattern: str
    upstream: str


# Most specific first: the first matching pattern wins.
DEFAULT_ROUTES = [
    Route(pattern="/api/v1/customers/*/valuation", upstream="valuation-svc"),
    Route(pattern="/api/v1/customers/*/valuation-history", upstream="valuation-svc"),
    Route(pattern="/api/v1/customers/*/service-plan", upstream="valuation-svc"),
    Route(pattern="/api/v1/customers", upstream="customer-svc"),
    Route(pattern="/api/v1/managers", upstream="customer-svc"),
    Route(pattern="/api/v1/manager-assignments", upstream="customer-svc"),
    Route(pattern="/api/v1/imports", upstream="customer-svc"),
    Route(pattern="/api/v1/orders", upstream="customer-svc"),
    Route(pattern="/api/v1/visits", upstream="customer-svc"),
    Route(pattern="/api/v1/visit-analytics", upstream="customer-svc"),
    Route(pattern="/api/v1/valuation-runs", upstream="valuation-svc"),
    Route(pattern="/api/v1/valuations", upstream="valuation-svc"),
    Route(pattern="/api/v1/value-models", upstream="valuation-svc"),
    Route(pattern="/api/v1/service-plans", upstream="valuation-svc"),
    Route(pattern="/api/v1/sales-anomalies", upstream="valuation-svc"),
    Route(pattern="/api/v1/complaints", upstream="complaint-svc"),
    Route(pattern="/api/v1/complaint-analytics", upstream="complaint-svc"),
    Route(pattern="/api/v1/questionnaires", upstream="survey-svc"),
    Route(pattern="/api/v1/survey-campaigns", upstream="survey-svc"),
    Route(pattern="/api/v1/survey-invitations", upstream="survey-svc"),
    Route(pattern="/api/v1/survey-responses", upstream="survey-svc"),
    Route(pattern="/api/v1/survey-analytics", upstream="survey-svc"),
    Route(pattern="/api/v1/callbacks", upstream="survey-svc"),
]
# The public survey link is the only unauthenticated API path (gateway.md).
DEFAULT_PUBLIC_PREFIXES = ["/api/v1/survey-invitations/"]


class RateLimit(BaseModel):
    """Average requests per second and burst size."""

    rate: float = Field(gt=0)
    burst: float = Field(ge=1)


class Settings(PlatformSettings):
    """Settings of the gateway."""

    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore")
    service_name: ClassVar[str] = "gateway"

    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    customer_svc_url: str
    valuation_svc_url: str
    complaint_svc_url: str
    survey_svc_url: str
    routes: list[Route] = Field(default_factory=lambda: list(DEFAULT_ROUTES))
    public_prefixes: list[str] = Field(default_factory=lambda: list(DEFAULT_PUBLIC_PREFIXES))
    upstream_timeout_seconds: float = Field(default=10.0, gt=0)
    upstream_connect_timeout_seconds: float = Field(default=2.0, gt=0)
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    # A batch of 1,000 orders x 10 lines is about 1.6 MB of JSON; an import file up to 200 MiB.
    max_body_bytes_by_path: dict[str, int] = Field(
        default_factory=lambda: {
            "/api/v1/orders/batch": 8 * 1024 * 1024,
            "/api/v1/imports": 200 * 1024 * 1024,
        }
    )
    # File uploads: any media type, streamed through to the service chunk by chunk (never held
    # whole in memory), with their own timeout: the service checks and stages the whole file
    # before it answers 202 (about 40 s for 500,000 shops).
    streamed_paths: list[str] = Field(default_factory=lambda: ["/api/v1/imports"])
    upload_timeout_seconds: float = Field(default=600.0, gt=0)
    # Per client (token subject); a role listed here overrides the default (most generous wins).
    rate_limit_default: RateLimit = RateLimit(rate=50, burst=100)
    rate_limits_by_role: dict[str, RateLimit] = Field(default_factory=dict)
    # The public survey-token endpoints are limited per client address and per token. Shops
    # behind one carrier-grade NAT share an address, so the address limit is generous; the
    # per-token one is what stops hammering one invitation.
    rate_limit_public: RateLimit = RateLimit(rate=20, burst=100)
    rate_limit_public_token: RateLimit = RateLimit(rate=1, burst=10)
    # Networks of the load balancers / ingress in front of the gateway: only a peer inside one
    # of them is believed about `X-Forwarded-For` (JSON list of CIDRs; empty: nobody is).
    trusted_proxies: list[IPvAnyNetwork] = Field(default_factory=list)
    breaker_failure_threshold: int = Field(default=5, ge=1)
    breaker_reset_seconds: float = Field(default=10.0, gt=0)
    cors_origins: list[str] = Field(default_factory=list)
    overview_timeout_seconds: float = Field(default=3.0, gt=0)

    def upstreams(self) -> dict[str, str]:
        """Upstream name → base URL."""
        return {
            "customer-svc": self.customer_svc_url.rstrip("/"),
            "valuation-svc": self.valuation_svc_url.rstrip("/"),
            "complaint-svc": self.complaint_svc_url.rstrip("/"),
            "survey-svc": self.survey_svc_url.rstrip("/"),
        }
