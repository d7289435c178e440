"""complaint-svc: complaint intake, lifecycle, deadlines, repeats and analytics."""

from fastapi import FastAPI

from complaint_svc.config import Settings
from retailcare_shared.app import ServiceDefinition, create_service_app, locate_service_dir

definition = ServiceDefinition(
    name="complaint-svc",
    settings_class=Settings,
    service_dir=locate_service_dir(__file__),
    description="Complaint intake, lifecycle, deadlines, repeat complaints and analytics.",
)


def create_app(settings: Settings | None = None) -> FastAPI:
    """The complaint-svc application (uvicorn factory)."""
    return create_service_app(definition, settings)
