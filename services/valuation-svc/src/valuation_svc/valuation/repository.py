"""Queries of value models, runs and results (set-based; results written with COPY)."""

from __future__ import annotations

import asyncio
import secrets
import time
import uuid
from collections.abc import AsyncIterator, Iterable, Sequence
from typing import Any

import numpy.typing as npt
from sqlalchemy import Select, func, insert, select, text, update
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.ext.asyncio import AsyncSession

from retailcare_shared.db import session_driver
from retailcare_shared.outbox import notify_relays
from valuation_svc.intake.models import Shop
from valuation_svc.valuation.emission import (
    EVENT_COLUMNS,
    LATEST_COLUMNS,
    Previous,
    latest_decoder,
    latest_sql,
    previous_of,
)
from valuation_svc.valuation.engine import RESULT_COLUMNS
from valuation_svc.valuation.models import (
    RunGroup,
    ValuationResult,
    ValuationRun,
    ValueModel,
)
from valuation_svc.valuation.pgcopy import FixedRowsDecoder
from valuation_svc.valuation.population import (
    LoadedPopulation,
    cells_sql,
    decoded_population,
    excluded_sql,
    population_copy_sql,
    population_decoder,
    population_sql,
)


async def active_model(session: AsyncSession) -> ValueModel | None:
    """The active value model."""
    return await session.scalar(select(ValueModel).where(ValueModel.active))


async def model_by_version(session: AsyncSession, version: int) -> ValueModel | None:
    """One model version."""
    return await session.get(ValueModel, version)


def models_query() -> Select[Any]:
    """Every model version (paging, newest first, applied by the caller)."""
    return select(ValueModel)


async def next_model_version(session: AsyncSession) -> int:
    """The next free version number (serialised by a transaction-scoped advisory lock)."""
    await session.execute(text("SELECT pg_advisory_xact_lock(hashtext('value_models'))"))
    current = await session.scalar(text("SELECT coalesce(max(version), 0) FROM value_models"))
    return int(current or 0) + 1


async def activate_model(session: AsyncSession, version: int) -> None:
    """Make one version the only active one."""
    await session.execute(text("SELECT pg_advisory_xact_lock(hashtext('value_models'))"))
    await session.execute(update(ValueModel).where(ValueModel.active).values(active=False))
    await session.flush()
    await session.execute(
        update(ValueModel).where(ValueModel.version == version).values(active=True)
    )


async def unfinished_run(
    session: AsyncSession, period: str, county: str | None
) -> ValuationRun | None:
    """A queued or running run of the same period and county."""
    statement = select(ValuationRun).where(
        ValuationRun.period == period,
        ValuationRun.status.in_(("queued", "running")),
        ValuationRun.county.is_(None) if county is None else ValuationRun.county == county,
    )
    return await session.scalar(statement)


async def claim_run(session: AsyncSession, stale_seconds: float) -> ValuationRun | None:
    """Take the oldest queued run (or one whose worker stopped beating) — safe across replicas."""
    row = (
        await session.execute(
            text(
                "UPDATE valuation_runs SET status = 'running', stage = 'loading',"
                " started_at = coalesce(started_at, now()), heartbeat_at = now()"
                " WHERE id = (SELECT id FROM valuation_runs WHERE status = 'queued'"
                "  OR (status = 'running' AND heartbeat_at < now() - make_interval(secs => :stale))"
                "  ORDER BY created_at FOR UPDATE SKIP LOCKED LIMIT 1)"
                " RETURNING id"
            ),
            {"stale": stale_seconds},
        )
    ).first()
    if row is None:
        return None
    return await session.get(ValuationRun, row[0], populate_existing=True)


async def set_progress(
    session: AsyncSession, run_id: uuid.UUID, stage: str, progress: float
) -> None:
    """Report a run's stage and progress (and that its worker is alive)."""
    await session.execute(
        text(
            "UPDATE valuation_runs SET stage = :stage, progress = :progress, heartbeat_at = now()"
            " WHERE id = :id"
        ),
        {"stage": stage, "progress": progress, "id": run_id},
    )


async def _positional(
    session: AsyncSession, sql: str, params: dict[str, Any]
) -> tuple[str, list[Any]]:
    """A text query with named parameters as asyncpg SQL and its positional arguments."""
    connection = await session.connection()
    compiled = text(sql).compile(dialect=connection.dialect)
    return compiled.string, [params[name] for name in compiled.positiontup or ()]


DECODE_PIECE = 8 << 20  # bytes of COPY data decoded at a time (in a worker thread)
# A run's bulk COPY statements move a million shops' rows: longer than the connections' 60 s
# command timeout on a busy machine is slow, not stuck.
COPY_TIMEOUT_SECONDS = 900.0


async def copy_out(
    session: AsyncSession, sql: str, params: dict[str, Any], decoder: FixedRowsDecoder
) -> npt.NDArray[Any]:
    """Stream `COPY (sql) TO STDOUT (FORMAT binary)` into a fixed-width row decoder, piece by
    piece in a worker thread (only the rows' values are kept, never the raw stream)."""
    query, arguments = await _positional(session, sql, params)
    driver = await session_driver(session)
    pending: list[bytes] = []
    size = 0

    async def sink(data: bytes) -> None:
        nonlocal size
        pending.append(data)
        size += len(data)
        if size >= DECODE_PIECE:
            piece = b"".join(pending)
            pending.clear()
            size = 0
            await asyncio.to_thread(decoder.feed, piece)

    await driver.copy_from_query(
        query, *arguments, output=sink, format="binary", timeout=COPY_TIMEOUT_SECONDS
    )
    await asyncio.to_thread(decoder.feed, b"".join(pending))
    return await asyncio.to_thread(decoder.finish)


async def fetch_population(
    session: AsyncSession, params: dict[str, Any], group_by: str
) -> LoadedPopulation:
    """Every eligible shop of the scope with its figures: one query streamed as fixed-width
    binary COPY rows and decoded by numpy (no per-row Python objects). Run it in a REPEATABLE
    READ transaction: the cells are read first and must cover every shop of the scope."""
    county_scoped = params.get("county") is not None
    cells = await session.execute(
        text(cells_sql(county_scoped=county_scoped)),
        {key: params[key] for key in ("county", "licence_cutoff") if key in params},
    )
    labels = sorted((str(county), str(market)) for county, market in cells.all())
    arguments = {
        **params,
        "cell_counties": [county for county, _ in labels],
        "cell_markets": [market for _, market in labels],
    }
    sql = population_copy_sql(county_scoped=county_scoped)
    rows = await copy_out(session, sql, arguments, population_decoder())
    return await asyncio.to_thread(decoded_population, rows, labels, group_by)


async def fetch_excluded(session: AsyncSession, params: dict[str, Any]) -> list[tuple[str, str]]:
    """Shops of the scope that are not evaluated, with the reason."""
    keys = ("county", "licence_cutoff")
    result = await session.execute(text(excluded_sql()), {key: params[key] for key in keys})
    return [(row[0], row[1]) for row in result.all()]


async def copy_in(
    session: AsyncSession, table: str, columns: Sequence[str], data: Iterable[bytes]
) -> None:
    """Write rows given as binary COPY data on the session's own connection (same
    transaction); pieces are produced in a worker thread one at a time."""
    driver = await session_driver(session)
    pieces = iter(data)

    async def stream() -> AsyncIterator[bytes]:
        while (piece := await asyncio.to_thread(next, pieces, None)) is not None:
            yield piece

    await driver.copy_to_table(
        table,
        source=stream(),
        columns=list(columns),
        format="binary",
        timeout=COPY_TIMEOUT_SECONDS,
    )


async def copy_results(session: AsyncSession, data: Iterable[bytes]) -> None:
    """Write result rows given as binary COPY data (engine.result_copy_chunks)."""
    await copy_in(session, "valuation_results", RESULT_COLUMNS, data)


async def delete_results(session: AsyncSession, run_id: uuid.UUID) -> None:
    """Remove what an interrupted attempt of a run stored (its results and groups)."""
    await session.execute(text("DELETE FROM valuation_results WHERE run_id = :id"), {"id": run_id})
    await session.execute(text("DELETE FROM run_groups WHERE run_id = :id"), {"id": run_id})


async def insert_groups(
    session: AsyncSession, run_id: uuid.UUID, rows: list[dict[str, Any]]
) -> None:
    """Ranking-group figures of a run (one multi-row insert)."""
    if rows:
        await session.execute(insert(RunGroup), [{"run_id": run_id, **row} for row in rows])


def event_id_prefix(now_ms: int | None = None) -> str:
    """The first 20 hex digits of a run's event ids (UUIDv7 layout: time, version, random bits,
    variant); a 48-bit counter completes each id, so ids are unique, time-ordered and appended
    to the event-id index in order — and cost no random-number call per event."""
    millis = int(time.time() * 1000) if now_ms is None else now_ms
    bits = secrets.randbits(26)
    return f"{millis & (2**48 - 1):012x}7{bits >> 14:03x}{0x8000 | (bits & 0x3FFF):04x}"


async def lock_latest(session: AsyncSession) -> None:
    """Keep other runs from writing shop_latest until this transaction ends: the change check
    (previous classes read by fetch_previous) and the writes then see one state."""
    # SHARE ROW EXCLUSIVE conflicts with itself and with row writes, not with readers.
    await session.execute(text("LOCK TABLE shop_latest IN SHARE ROW EXCLUSIVE MODE"))


async def fetch_previous(session: AsyncSession) -> Previous:
    """Every shop's latest classification (binary COPY, decoded by numpy)."""
    return previous_of(await copy_out(session, latest_sql(), {}, latest_decoder()))


async def write_events(session: AsyncSession, data: Iterable[bytes]) -> None:
    """Outbox rows given as binary COPY data (emission.event_copy_chunks); relays are woken
    when the transaction commits."""
    await copy_in(session, "outbox", EVENT_COLUMNS, data)
    await notify_relays(session)


async def write_latest(
    session: AsyncSession, first: Iterable[bytes] | None, again: Iterable[bytes] | None
) -> None:
    """Shops' latest classification: `first` (COPY data) for shops classified for the first
    time, `again` for shops that have a row already (updated through a temporary table).
    Needs lock_latest: no other run inserts the same shops meanwhile."""
    if first is not None:
        await copy_in(session, "shop_latest", LATEST_COLUMNS, first)
    if again is not None:
        await session.execute(
            text(
                "CREATE TEMP TABLE run_latest (LIKE shop_latest INCLUDING DEFAULTS) ON COMMIT DROP"
            )
        )
        await copy_in(session, "run_latest", LATEST_COLUMNS, again)
        await session.execute(
            text(
                "UPDATE shop_latest l SET value_class = t.value_class, quadrant = t.quadrant,"
                " run_id = t.run_id, period = t.period FROM run_latest t"
                " WHERE l.customer_id = t.customer_id"
            )
        )


async def latest_completed_run(
    session: AsyncSession, period: str, county: str | None = None
) -> ValuationRun | None:
    """The current result of a period: its latest completed run (a whole-scope run or the
    county's)."""
    statement = select(ValuationRun).where(
        ValuationRun.period == period, ValuationRun.status == "completed"
    )
    if county is not None:
        statement = statement.where(
            (ValuationRun.county.is_(None)) | (ValuationRun.county == county)
        )
    return await session.scalar(statement.order_by(ValuationRun.completed_at.desc()).limit(1))


async def latest_completed_period(session: AsyncSession, county: str | None) -> str | None:
    """The latest period with a completed run (covering `county`, when given)."""
    statement = select(func.max(ValuationRun.period)).where(ValuationRun.status == "completed")
    if county is not None:
        statement = statement.where(
            (ValuationRun.county.is_(None)) | (ValuationRun.county == county)
        )
    value: str | None = await session.scalar(statement)
    return value


def current_results_query(
    period: str,
    *,
    county: str | None,
    value_class: str | None,
    quadrant: str | None,
    manager_id: uuid.UUID | None,
) -> Select[Any]:
    """A period's current results: each county's from the latest completed run that covers it
    (a whole-scope run or the county's own), so a later county run never hides the others."""
    current = (
        select(RunGroup.county, RunGroup.run_id)
        .join(ValuationRun, ValuationRun.id == RunGroup.run_id)
        .where(ValuationRun.period == period, ValuationRun.status == "completed")
        .ext(distinct_on(RunGroup.county))
        .order_by(RunGroup.county, ValuationRun.completed_at.desc(), ValuationRun.id.desc())
    )
    if county is not None:
        current = current.where(RunGroup.county == county)
    runs = current.subquery("current_runs")
    statement = select(ValuationResult).join(
        runs,
        (runs.c.run_id == ValuationResult.run_id) & (runs.c.county == ValuationResult.county),
    )
    return _result_filters(
        statement, county=None, value_class=value_class, quadrant=quadrant, manager_id=manager_id
    )


def results_query(
    run_id: uuid.UUID,
    *,
    county: str | None,
    value_class: str | None,
    quadrant: str | None,
    manager_id: uuid.UUID | None,
) -> Select[Any]:
    """Results of a run with the list filters (and a manager's own shops)."""
    statement = select(ValuationResult).where(ValuationResult.run_id == run_id)
    return _result_filters(
        statement,
        county=county,
        value_class=value_class,
        quadrant=quadrant,
        manager_id=manager_id,
    )


def _result_filters(
    statement: Select[Any],
    *,
    county: str | None,
    value_class: str | None,
    quadrant: str | None,
    manager_id: uuid.UUID | None,
) -> Select[Any]:
    """The list filters of `GET /valuations` (and a manager's own shops)."""
    if county is not None:
        statement = statement.where(ValuationResult.county == county)
    if value_class is not None:
        statement = statement.where(ValuationResult.value_class == value_class)
    if quadrant is not None:
        statement = statement.where(ValuationResult.quadrant == quadrant)
    if manager_id is not None:
        own = select(Shop.customer_id).where(Shop.manager_id == manager_id)
        statement = statement.where(ValuationResult.customer_id.in_(own))
    return statement


async def customer_result(
    session: AsyncSession, customer_id: uuid.UUID, period: str | None
) -> tuple[ValuationResult, ValuationRun] | None:
    """A shop's result in the latest completed run (of the period, if given)."""
    statement = (
        select(ValuationResult, ValuationRun)
        .join(ValuationRun, ValuationRun.id == ValuationResult.run_id)
        .where(ValuationResult.customer_id == customer_id, ValuationRun.status == "completed")
    )
    if period is not None:
        statement = statement.where(ValuationResult.period == period)
    row = (
        await session.execute(statement.order_by(ValuationRun.completed_at.desc()).limit(1))
    ).first()
    return None if row is None else (row[0], row[1])


def customer_history(customer_id: uuid.UUID) -> Select[Any]:
    """A shop's results of completed runs (paging by run completion applied by the caller)."""
    return (
        select(ValuationResult)
        .join(ValuationRun, ValuationRun.id == ValuationResult.run_id)
        .where(ValuationResult.customer_id == customer_id, ValuationRun.status == "completed")
    )


async def run_group(
    session: AsyncSession, run_id: uuid.UUID, county: str, market_type: str
) -> RunGroup | None:
    """A ranking group of a run."""
    return await session.scalar(
        select(RunGroup).where(
            RunGroup.run_id == run_id,
            RunGroup.county == county,
            RunGroup.market_type.in_((market_type, "*")),
        )
    )


async def count_better(
    session: AsyncSession, run_id: uuid.UUID, group: RunGroup, total: float, exclude: uuid.UUID
) -> int:
    """How many other shops of the group scored strictly more (beyond the tie tolerance)."""
    statement = (
        select(text("count(*)"))
        .select_from(ValuationResult)
        .where(
            ValuationResult.run_id == run_id,
            ValuationResult.county == group.county,
            ValuationResult.total_score > total + 1e-6,
            ValuationResult.customer_id != exclude,
        )
    )
    if group.market_type != "*":
        statement = statement.where(ValuationResult.market_type == group.market_type)
    return int(await session.scalar(statement) or 0)


async def shop(session: AsyncSession, customer_id: uuid.UUID) -> Shop | None:
    """A shop of the read model."""
    return await session.get(Shop, customer_id)


async def shop_figures(
    session: AsyncSession, customer_id: uuid.UUID, params: dict[str, Any], group_by: str
) -> Any:
    """One shop's period figures (the population query narrowed to it, eligibility ignored)."""
    sql = population_sql(group_by, single_shop=True)
    result = await session.execute(text(sql), {**params, "customer_id": customer_id})
    return result.first()
