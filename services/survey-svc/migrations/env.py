"""Alembic environment of survey-svc (async, own version table)."""

from retailcare_shared.migrations import run_env
from survey_svc.database import Base
from survey_svc.main import definition

run_env(Base.metadata, definition.version_table)
