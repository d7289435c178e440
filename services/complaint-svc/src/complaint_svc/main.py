"""complaint-svc: complaint intake, lifecycle, deadlines, repeats and analytics."""

from fastapi import FastAPI

from complaint_svc.analytics.router import router as analytics_router
from complaint_svc.complaints.router import router as complaints_router
from complaint_svc.config import Settings
from complaint_svc.deadlines.sweeper import deadline_sweeper
from complaint_svc.readmodel.handlers import (
    on_callback_completed,
    on_classified,
    on_customer_snapshot,
    on_manager_assigned,
    on_personal_data_erased,
    on_status_changed,
)
from retailcare_shared.app import ServiceDefinition, create_service_app, locate_service_dir
from retailcare_shared.consumer import Subscription
from retailcare_shared.events import CUSTOMER_EVENTS, SURVEY_EVENTS, VALUATION_EVENTS

definition = ServiceDefinition(
    name="complaint-svc",
    settings_class=Settings,
    service_dir=locate_service_dir(__file__),
    description="Complaint intake, lifecycle, deadlines, repeat complaints and analytics.",
    routers=[complaints_router, analytics_router],
    subscriptions=[
        Subscription(
            name="readmodel",
            topics=[CUSTOMER_EVENTS, VALUATION_EVENTS, SURVEY_EVENTS],
            handlers={
                "customer.registered": on_customer_snapshot,
                "customer.updated": on_customer_snapshot,
                "customer.status_changed": on_status_changed,
                "customer.manager_assigned": on_manager_assigned,
                "customer.personal_data_erased": on_personal_data_erased,
                "valuation.customer_classified": on_classified,
                "survey.callback_completed": on_callback_completed,
            },
        )
    ],
    background_jobs=(deadline_sweeper,),
)


def create_app(settings: Settings | None = None) -> FastAPI:
    """The complaint-svc application (uvicorn factory)."""
    return create_service_app(definition, settings)
