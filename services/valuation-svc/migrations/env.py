"""Alembic environment of valuation-svc (async, own version table)."""

from retailcare_shared.migrations import run_env
from valuation_svc.database import Base
from valuation_svc.main import definition

run_env(Base.metadata, definition.version_table)
