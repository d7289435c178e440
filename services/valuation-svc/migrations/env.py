"""Alembic environment of valuation-svc (async, own version table)."""

from valuation_svc.main import definition
from retailcare_shared.db import Base
from retailcare_shared.migrations import run_env

run_env(Base.metadata, definition.version_table)
