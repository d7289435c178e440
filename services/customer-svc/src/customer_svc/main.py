"""customer-svc: shops with full history, managers, orders, visits, violations."""

from fastapi import FastAPI

from customer_svc.config import Settings
from retailcare_shared.app import ServiceDefinition, create_service_app, locate_service_dir

definition = ServiceDefinition(
    name="customer-svc",
    settings_class=Settings,
    service_dir=locate_service_dir(__file__),
    description="Shops with full history, customer managers, orders, visits and violations.",
)


def create_app(settings: Settings | None = None) -> FastAPI:
    """The customer-svc application (uvicorn factory)."""
    return create_service_app(definition, settings)
