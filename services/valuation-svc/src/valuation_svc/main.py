"""valuation-svc: the customer value model, classes, value matrix and service plans."""

from fastapi import FastAPI

from retailcare_shared.app import ServiceDefinition, create_service_app, locate_service_dir
from valuation_svc.config import Settings
from valuation_svc.intake.handlers import SUBSCRIPTIONS
from valuation_svc.plans.router import router as plans_router
from valuation_svc.valuation.router import router as valuation_router
from valuation_svc.valuation.runner import valuation_worker

definition = ServiceDefinition(
    name="valuation-svc",
    settings_class=Settings,
    service_dir=locate_service_dir(__file__),
    routers=[valuation_router, plans_router],
    subscriptions=SUBSCRIPTIONS,
    background_jobs=(valuation_worker,),
    description="The customer value model, classes, value matrix and service plans.",
)


def create_app(settings: Settings | None = None) -> FastAPI:
    """The valuation-svc application (uvicorn factory)."""
    return create_service_app(definition, settings)
