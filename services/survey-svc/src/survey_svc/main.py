"""survey-svc: SERVQUAL questionnaires, campaigns, responses, results and callbacks."""

from fastapi import FastAPI

from retailcare_shared.app import ServiceDefinition, create_service_app, locate_service_dir
from retailcare_shared.consumer import Subscription
from retailcare_shared.events import COMPLAINT_EVENTS, CUSTOMER_EVENTS, VALUATION_EVENTS
from survey_svc.actions.router import router as actions_router
from survey_svc.alerts.router import router as alerts_router
from survey_svc.callbacks import handlers as callback_handlers
from survey_svc.callbacks.router import router as callbacks_router
from survey_svc.campaigns.router import router as campaigns_router
from survey_svc.config import Settings
from survey_svc.questionnaires.router import router as questionnaires_router
from survey_svc.readmodel import handlers as readmodel
from survey_svc.responses.router import public as public_responses_router
from survey_svc.responses.router import staff as staff_responses_router
from survey_svc.results.router import router as results_router

definition = ServiceDefinition(
    name="survey-svc",
    settings_class=Settings,
    service_dir=locate_service_dir(__file__),
    description="SERVQUAL questionnaires, sampled campaigns, responses, results and callbacks.",
    routers=[
        questionnaires_router,
        campaigns_router,
        results_router,
        actions_router,
        public_responses_router,
        staff_responses_router,
        callbacks_router,
        alerts_router,
    ],
    subscriptions=[
        Subscription(
            name="readmodel",
            topics=[CUSTOMER_EVENTS, VALUATION_EVENTS, COMPLAINT_EVENTS],
            handlers={
                "customer.registered": readmodel.on_customer_snapshot,
                "customer.updated": readmodel.on_customer_snapshot,
                "customer.status_changed": readmodel.on_status_changed,
                "customer.manager_assigned": readmodel.on_manager_assigned,
                "valuation.customer_classified": readmodel.on_classified,
                "complaint.filed": readmodel.on_complaint_filed,
                "complaint.customer_attached": readmodel.on_complaint_customer_attached,
                "complaint.resolved": callback_handlers.on_complaint_resolved,
            },
        )
    ],
    background_jobs=(callback_handlers.prepare_callback_rules,),
)


def create_app(settings: Settings | None = None) -> FastAPI:
    """The survey-svc application (uvicorn factory)."""
    return create_service_app(definition, settings)
