"""customer-svc: shops with full history, managers, orders, visits, violations."""

from fastapi import FastAPI

from customer_svc.classification.handlers import subscription as classification
from customer_svc.config import Settings
from customer_svc.customers.router import router as customers
from customer_svc.imports.router import UPLOAD_PATH
from customer_svc.imports.router import router as imports
from customer_svc.imports.worker import run_imports
from customer_svc.managers.router import assignments_router
from customer_svc.managers.router import router as managers
from customer_svc.orders.router import router as orders
from customer_svc.visits.router import router as visits
from retailcare_shared.app import ServiceDefinition, create_service_app, locate_service_dir

definition = ServiceDefinition(
    name="customer-svc",
    settings_class=Settings,
    service_dir=locate_service_dir(__file__),
    routers=[orders, customers, managers, assignments_router, visits, imports],
    subscriptions=[classification],
    background_jobs=[run_imports],
    streamed_paths=[UPLOAD_PATH],
    description="Shops with full history, customer managers, orders, visits and violations.",
)


def create_app(settings: Settings | None = None) -> FastAPI:
    """The customer-svc application (uvicorn factory)."""
    return create_service_app(definition, settings)
