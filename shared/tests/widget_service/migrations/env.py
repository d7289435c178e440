"""Alembic environment of the test widget service."""

from retailcare_shared.db import Base
from retailcare_shared.migrations import run_env
from widget_service import app  # noqa: F401  (registers the models)

run_env(Base.metadata, "alembic_version_widget_svc")
