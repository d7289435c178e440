"""Alembic environment of customer-svc (async, own version table)."""

from customer_svc.common.db import Base
from customer_svc.main import definition
from retailcare_shared.migrations import run_env

run_env(Base.metadata, definition.version_table)
