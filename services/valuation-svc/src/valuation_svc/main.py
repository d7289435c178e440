"""valuation-svc: the customer value model, classes, value matrix and service plans."""

from fastapi import FastAPI

from retailcare_shared.app import ServiceDefinition, create_service_app, locate_service_dir
from valuation_svc.config import Settings

definition = ServiceDefinition(
    name="valuation-svc",
    settings_class=Settings,
    service_dir=locate_service_dir(__file__),
    description="The customer value model, classes, value matrix and service plans.",
)


def create_app(settings: Settings | None = None) -> FastAPI:
    """The valuation-svc application (uvicorn factory)."""
    return create_service_app(definition, settings)
