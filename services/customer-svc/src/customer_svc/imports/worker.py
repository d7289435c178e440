"""The background job merging queued imports, safe with any number of replicas.

A job is claimed with FOR UPDATE SKIP LOCKED and merged in the claiming transaction: another
replica skips it while it runs, and if this process dies mid-merge the transaction rolls back
and the job is simply queued again, its staged rows intact.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid

from fastapi import FastAPI

from customer_svc.common.clock import utc_now
from customer_svc.config import Settings
from customer_svc.imports import repository, service
from retailcare_shared.db import Database, is_database_unavailable
from retailcare_shared.logging import get_logger

log = get_logger(__name__)


def wake(app: FastAPI) -> None:
    """Tell this process's worker a job was queued (other replicas find it by polling)."""
    event: asyncio.Event | None = getattr(app.state, "import_wakeup", None)
    if event is not None:
        event.set()


async def process_next(database: Database, settings: Settings) -> uuid.UUID | None:
    """Merge the oldest queued job nobody holds; its id, or None when none is waiting."""
    job_id: uuid.UUID | None = None
    try:
        async with database.transaction() as session:
            job = await repository.claim_next(session)
            if job is None:
                return None
            job_id = job.id
            await service.merge(session, job, settings)
        log.info("import_completed", job_id=str(job_id))
        return job_id
    except Exception as error:
        if job_id is None or is_database_unavailable(error):
            raise
        # The merge rolled back: nothing of the file was written. Record why, once.
        log.error("import_failed", job_id=str(job_id), error=repr(error)[:500])
        async with database.transaction() as session:
            await repository.drop_staged(session, job_id)
            await repository.mark_failed(
                session,
                job_id,
                f"the import failed and wrote nothing: {type(error).__name__}",
                utc_now(),
            )
        return job_id


async def run_imports(app: FastAPI) -> None:
    """Merge queued jobs until the service stops; wake on a local upload or every poll period."""
    settings: Settings = app.state.settings
    if not settings.import_worker_enabled:
        return
    wakeup = asyncio.Event()
    app.state.import_wakeup = wakeup
    stop: asyncio.Event = app.state.stop_jobs
    while not stop.is_set():
        try:
            while not stop.is_set() and await process_next(app.state.database, settings):
                pass
        except Exception as error:  # the database may be down; try again next round
            log.warning("import_worker_failed", error=type(error).__name__)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wakeup.wait(), timeout=settings.import_poll_seconds)
        wakeup.clear()
