"""The route table sends each path to the service that owns it."""

import pytest

from gateway.config import DEFAULT_ROUTES
from gateway.routing import match_upstream


@pytest.mark.parametrize(
    ("path", "upstream"),
    [
        ("/api/v1/customers", "customer-svc"),
        ("/api/v1/customers/3f1c/history", "customer-svc"),
        ("/api/v1/customers/3f1c/valuation", "valuation-svc"),
        ("/api/v1/customers/3f1c/valuation-history", "valuation-svc"),
        ("/api/v1/customers/3f1c/service-plan", "valuation-svc"),
        ("/api/v1/orders/batch", "customer-svc"),
        ("/api/v1/visit-analytics/coverage", "customer-svc"),
        ("/api/v1/valuation-runs/9", "valuation-svc"),
        ("/api/v1/complaints/by-ref/TS-1", "complaint-svc"),
        ("/api/v1/complaint-analytics/rate", "complaint-svc"),
        ("/api/v1/survey-invitations/tok/response", "survey-svc"),
        ("/api/v1/callbacks", "survey-svc"),
        ("/api/v1/unknown", None),
        ("/api/v1/customersX", None),
    ],
)
def test_paths_route_to_their_owner(path: str, upstream: str | None) -> None:
    assert match_upstream(path, DEFAULT_ROUTES) == upstream
