"""Background execution of queued valuation runs (safe with several replicas)."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from dataclasses import asdict
from typing import Any

from fastapi import FastAPI
from sqlalchemy import text

from retailcare_shared.db import Database
from retailcare_shared.logging import get_logger
from valuation_svc.valuation import repository
from valuation_svc.valuation.engine import result_copy_chunks, run_outputs
from valuation_svc.valuation.models import ValuationRun
from valuation_svc.valuation.periods import Period, parse_period
from valuation_svc.valuation.population import assemble, window

log = get_logger(__name__)
COPY_CHUNK = 100_000
RUN_WORK_MEM = "128MB"


def window_params(
    period: Period, as_of: Any, county: str | None, no_order_days: int
) -> dict[str, Any]:
    """Bind parameters of the population query."""
    return {**asdict(window(period, as_of, no_order_days)), "county": county}


async def execute_run(database: Database, run_id: uuid.UUID, source: str) -> None:
    """Evaluate one claimed run: load, score (in a worker thread), store, emit — atomically."""
    clock = time.perf_counter()
    timings: dict[str, float] = {}

    def lap(stage: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[stage] = round(now - clock, 3)
        clock = now

    async with database.transaction() as session:
        # The population query hashes and aggregates every shop of the scope: let it stay in
        # memory rather than spill to disk at a million shops.
        await session.execute(text(f"SET LOCAL work_mem = '{RUN_WORK_MEM}'"))
        run = await session.get(ValuationRun, run_id)
        assert run is not None
        model_row = await repository.active_model(session)
        assert model_row is not None, "migration 0002 seeds an active model"
        period = parse_period(run.period)
        assert period is not None
        model = model_row.definition
        group_by = str(model.get("ranking_group", "county_market_type"))
        params = window_params(
            period, run.as_of, run.county, int(model["thresholds"]["no_order_days"])
        )
        chunks = await repository.fetch_population(session, params, group_by)
        lap("load")
        excluded = await repository.fetch_excluded(session, params)
    await _progress(database, run_id, "scoring", 0.4)
    loaded = await asyncio.to_thread(assemble, chunks, group_by)
    del chunks
    scored, classified, group_rows, summary = await asyncio.to_thread(
        run_outputs, loaded, model, model_version=model_row.version, excluded=excluded
    )
    lap("score")
    await _progress(database, run_id, "storing", 0.6)
    evaluated = len(loaded.customer_ids)
    async with database.transaction() as session:
        # Binary COPY built column-wise by numpy, one piece of COPY_CHUNK rows at a time.
        await repository.copy_results(
            session,
            result_copy_chunks(
                loaded,
                scored,
                classified,
                run_id=run_id,
                period=run.period,
                model_version=model_row.version,
                chunk=COPY_CHUNK,
            ),
        )
        lap("copy")
        await repository.insert_groups(session, run_id, group_rows)
        changed = await repository.emit_changes(session, run_id, source)
        lap("emit")
        summary["changed"] = changed
        summary["timings_s"] = timings
        await session.execute(
            text(
                "UPDATE valuation_runs SET status = 'completed', stage = 'completed',"
                " progress = 1.0, completed_at = now(), heartbeat_at = now(),"
                " model_version = :version, evaluated = :evaluated, changed = :changed,"
                " summary = CAST(:summary AS jsonb) WHERE id = :id AND status = 'running'"
            ),
            {
                "version": model_row.version,
                "evaluated": evaluated,
                "changed": changed,
                "summary": _json(summary),
                "id": run_id,
            },
        )
    lap("commit")
    log.info(
        "valuation_run_completed",
        run_id=str(run_id),
        evaluated=evaluated,
        changed=changed,
        timings=timings,
    )


def _json(value: Any) -> str:
    import json

    return json.dumps(value, allow_nan=False)


async def _progress(database: Database, run_id: uuid.UUID, stage: str, progress: float) -> None:
    async with database.transaction() as session:
        await repository.set_progress(session, run_id, stage, progress)


async def run_once(app: FastAPI) -> bool:
    """Claim and execute one queued run; False when there was none."""
    database: Database = app.state.database
    settings = app.state.settings
    async with database.transaction() as session:
        run = await repository.claim_run(session, settings.run_stale_seconds)
        run_id = None if run is None else run.id
    if run_id is None:
        return False
    try:
        await execute_run(database, run_id, app.state.service)
    except Exception as error:
        log.error("valuation_run_failed", run_id=str(run_id), error=repr(error))
        async with database.transaction() as session:
            await session.execute(
                text(
                    "UPDATE valuation_runs SET status = 'failed', stage = 'failed',"
                    " error = :error, completed_at = now() WHERE id = :id AND status = 'running'"
                ),
                {"error": f"{type(error).__name__}: {error}"[:2000], "id": run_id},
            )
    return True


async def valuation_worker(app: FastAPI) -> None:
    """Execute queued runs until the app stops; woken early when a run is requested here."""
    wake = asyncio.Event()
    app.state.valuation_wake = wake
    poll = float(app.state.settings.run_poll_seconds)
    while not app.state.stop_jobs.is_set():
        try:
            if await run_once(app):
                continue
        except Exception as error:  # the database may be down; try again next round
            log.warning("valuation_worker_failed", error=repr(error))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wake.wait(), timeout=poll)
        wake.clear()
