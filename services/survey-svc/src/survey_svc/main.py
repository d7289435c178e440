"""survey-svc: SERVQUAL questionnaires, campaigns, responses, results and callbacks."""

from fastapi import FastAPI

from retailcare_shared.app import ServiceDefinition, create_service_app, locate_service_dir
from survey_svc.config import Settings

definition = ServiceDefinition(
    name="survey-svc",
    settings_class=Settings,
    service_dir=locate_service_dir(__file__),
    description="SERVQUAL questionnaires, sampled campaigns, responses, results and callbacks.",
)


def create_app(settings: Settings | None = None) -> FastAPI:
    """The survey-svc application (uvicorn factory)."""
    return create_service_app(definition, settings)
