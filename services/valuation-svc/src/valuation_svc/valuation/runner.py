"""Background execution of queued valuation runs (safe with several replicas)."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

import numpy as np
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from retailcare_shared.db import Database
from retailcare_shared.events import VALUATION_EVENTS
from retailcare_shared.logging import get_logger
from valuation_svc.valuation import emission, repository
from valuation_svc.valuation.classify import Classified, Scored
from valuation_svc.valuation.engine import result_copy_chunks, run_outputs
from valuation_svc.valuation.models import ValuationRun
from valuation_svc.valuation.periods import Period, parse_period
from valuation_svc.valuation.pgcopy import customer_order
from valuation_svc.valuation.population import LoadedPopulation, window

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
        # One snapshot for the scope's cells, its population and its exclusions.
        await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
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
        loaded = await repository.fetch_population(session, params, group_by)
        lap("load")
        excluded = await repository.fetch_excluded(session, params)
    await _progress(database, run_id, "scoring", 0.4)
    scored, classified, group_rows, summary = await asyncio.to_thread(
        run_outputs, loaded, model, model_version=model_row.version, excluded=excluded
    )
    # Peak memory at a million shops: the input columns live on in scored.inputs and the
    # effective weights are not stored, so neither is kept while the rows are written.
    loaded.population.columns.clear()
    scored.weights = np.empty((0, len(scored.weights[0]) if len(scored.weights) else 0))
    order = await asyncio.to_thread(customer_order, loaded.id_bytes)
    lap("score")
    await _progress(database, run_id, "storing", 0.6)
    evaluated = len(loaded.customer_ids)

    async def write_results() -> None:
        started = time.perf_counter()
        async with database.transaction() as session:
            # What an interrupted attempt of this run committed (see below) is replaced.
            await repository.delete_results(session, run_id)
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
            await repository.insert_groups(session, run_id, group_rows)
        timings["copy"] = round(time.perf_counter() - started, 3)

    # The results and the events are written at once on two connections (PostgreSQL works on
    # both). All or nothing still holds for what readers see: the results are committed first,
    # and the run becomes `completed` — with its events and latest classes — only in the second
    # transaction, which commits after the first did and rolls back if it failed. Results are
    # read through completed runs only; those of a run that did not complete are deleted
    # (below, or by the next attempt of a run taken over after a crash).
    results = asyncio.create_task(write_results())
    try:
        async with database.transaction() as session:
            changed = await _emit(session, loaded, order, scored, classified, run, source)
            lap("emit")
            await results
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
    except BaseException:
        await _abandon_results(database, run_id, results)
        raise
    lap("store")
    log.info(
        "valuation_run_completed",
        run_id=str(run_id),
        evaluated=evaluated,
        changed=changed,
        timings=timings,
    )


async def _abandon_results(
    database: Database, run_id: uuid.UUID, results: asyncio.Task[None]
) -> None:
    """After a failed store: stop writing results, or delete those already committed."""
    if not results.done():
        results.cancel()
    with contextlib.suppress(BaseException):
        await results
    if results.cancelled() or results.exception() is not None:
        return  # rolled back
    try:
        async with database.transaction() as session:
            await repository.delete_results(session, run_id)
    except Exception as error:  # the next attempt deletes them; readers never see them
        log.warning("valuation_results_not_deleted", run_id=str(run_id), error=repr(error))


async def _emit(
    session: AsyncSession,
    loaded: LoadedPopulation,
    order: Any,
    scored: Scored,
    classified: Classified,
    run: ValuationRun,
    source: str,
) -> int:
    """One outbox event per shop whose class or quadrant changed (a first classification
    counts), then every shop's latest classification; returns how many changed."""
    await repository.lock_latest(session)
    previous = await repository.fetch_previous(session)
    ids = loaded.id_bytes
    changes = await asyncio.to_thread(
        emission.compare, ids, order, classified.value_class, classified.quadrant, previous
    )
    changed = int(changes.changed.sum())
    if changed:
        context = emission.EventContext(
            run_id=run.id,
            period=run.period,
            source=source,
            topic=VALUATION_EVENTS,
            time=datetime.now(UTC).isoformat(),
            id_prefix=repository.event_id_prefix(),
        )
        # The JSON carries the stored (rounded) figures.
        events = emission.event_copy_chunks(
            ids,
            order,
            changes,
            classified.value_class,
            classified.quadrant,
            np.round(scored.total, 6),
            scored.credit,
            context,
            chunk=COPY_CHUNK,
        )
        await repository.write_events(session, events)

    def latest(rows: Any) -> Iterator[bytes] | None:
        if not len(rows):
            return None
        return emission.latest_copy_chunks(
            ids,
            rows,
            classified.value_class,
            classified.quadrant,
            run_id=run.id,
            period=run.period,
            chunk=COPY_CHUNK,
        )

    # Rows in customer order: index pages are touched in key order.
    await repository.write_latest(
        session, latest(order[~changes.known[order]]), latest(order[changes.known[order]])
    )
    return changed


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
