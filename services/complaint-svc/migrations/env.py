"""Alembic environment of complaint-svc (async, own version table)."""

from complaint_svc.database import Base
from complaint_svc.main import definition
from retailcare_shared.migrations import run_env

run_env(Base.metadata, definition.version_table)
