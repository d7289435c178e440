"""Alembic environment of complaint-svc (async, own version table)."""

from complaint_svc.main import definition
from retailcare_shared.db import Base
from retailcare_shared.migrations import run_env

run_env(Base.metadata, definition.version_table)
