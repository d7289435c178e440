"""Alembic helpers: async env.py body, platform tables, programmatic upgrade."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command, context, op
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData, pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from retailcare_shared.platform_tables import PLATFORM_TABLES


def create_platform_tables() -> None:
    """Create outbox, inbox and idempotency tables (used by each service's first revision)."""
    for table in PLATFORM_TABLES:
        table.create(op.get_bind())


def drop_platform_tables() -> None:
    """Drop the platform tables (downgrade of the first revision)."""
    for table in reversed(PLATFORM_TABLES):
        table.drop(op.get_bind())


def run_env(target_metadata: MetaData, version_table: str) -> None:
    """The whole body of a service's async `env.py`."""
    config = context.config
    url = config.attributes.get("database_url") or config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no database URL: run migrations with `python -m <service> migrate`")

    def run(connection: Connection) -> None:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            version_table=version_table,
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()

    async def run_async() -> None:
        engine = create_async_engine(url, poolclass=pool.NullPool)
        async with engine.connect() as connection:
            await connection.run_sync(run)
        await engine.dispose()

    if context.is_offline_mode():
        context.configure(
            url=url,
            target_metadata=target_metadata,
            version_table=version_table,
            literal_binds=True,
        )
        with context.begin_transaction():
            context.run_migrations()
    else:
        asyncio.run(run_async())


def alembic_config(service_dir: Path, database_url: str) -> Config:
    """An Alembic config for a service directory, pointed at a database."""
    config = Config(str(service_dir / "alembic.ini"))
    config.set_main_option("script_location", str(service_dir / "migrations"))
    config.attributes["database_url"] = database_url
    return config


def upgrade_to_head(service_dir: Path, database_url: str) -> None:
    """Apply every migration (blocking: call from a thread inside an event loop)."""
    command.upgrade(alembic_config(service_dir, database_url), "head")


def migration_heads(service_dir: Path) -> set[str]:
    """The head revisions of a service's migrations."""
    return set(ScriptDirectory(str(service_dir / "migrations")).get_heads())
