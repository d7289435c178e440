"""Queries of value models, runs and results (set-based; results written with COPY)."""

from __future__ import annotations

import asyncio
import secrets
import time
import uuid
from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from retailcare_shared.events import VALUATION_EVENTS
from retailcare_shared.platform_tables import OUTBOX_CHANNEL
from valuation_svc.intake.models import Shop
from valuation_svc.valuation.engine import RESULT_COLUMNS
from valuation_svc.valuation.models import (
    RunGroup,
    ValuationResult,
    ValuationRun,
    ValueModel,
)
from valuation_svc.valuation.population import Chunk, chunk_of, excluded_sql, population_sql


async def active_model(session: AsyncSession) -> ValueModel | None:
    """The active value model."""
    return await session.scalar(select(ValueModel).where(ValueModel.active))


async def model_by_version(session: AsyncSession, version: int) -> ValueModel | None:
    """One model version."""
    return await session.get(ValueModel, version)


async def list_models(session: AsyncSession) -> Sequence[ValueModel]:
    """Every model version, newest first."""
    return (await session.scalars(select(ValueModel).order_by(ValueModel.version.desc()))).all()


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


FETCH_CHUNK = 50_000


async def fetch_population(
    session: AsyncSession, params: dict[str, Any], group_by: str
) -> list[Chunk]:
    """Every eligible shop of the scope with its figures: one query, streamed in chunks that are
    turned into column arrays at once (row objects never all live together)."""
    connection = await session.connection()
    sql = population_sql(group_by, county_scoped=params.get("county") is not None)
    compiled = text(sql).compile(dialect=connection.dialect)
    arguments = [params[name] for name in compiled.positiontup or ()]
    raw = await connection.get_raw_connection()
    driver: Any = raw.driver_connection
    # asyncpg's cursor directly (inside the session's transaction): no per-row ORM/Row work.
    cursor = await driver.cursor(compiled.string, *arguments)
    chunks: list[Chunk] = []
    while rows := await cursor.fetch(FETCH_CHUNK):
        chunks.append(chunk_of(rows))
    return chunks


async def fetch_excluded(session: AsyncSession, params: dict[str, Any]) -> list[tuple[str, str]]:
    """Shops of the scope that are not evaluated, with the reason."""
    keys = ("county", "licence_cutoff")
    result = await session.execute(text(excluded_sql()), {key: params[key] for key in keys})
    return [(row[0], row[1]) for row in result.all()]


async def copy_results(session: AsyncSession, data: Iterable[bytes]) -> None:
    """Write result rows given as binary COPY data (engine.result_copy_chunks) on the session's
    own connection (same transaction); pieces are produced in a worker thread one at a time."""
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    driver: Any = raw.driver_connection
    pieces = iter(data)

    async def stream() -> AsyncIterator[bytes]:
        while (piece := await asyncio.to_thread(next, pieces, None)) is not None:
            yield piece

    await driver.copy_to_table(
        "valuation_results", source=stream(), columns=list(RESULT_COLUMNS), format="binary"
    )


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


async def emit_changes(session: AsyncSession, run_id: uuid.UUID, source: str) -> int:
    """One outbox row per shop whose class or quadrant changed (one INSERT … SELECT), then the
    shops' latest classification; returns how many changed.

    Event ids are a per-run time-ordered prefix plus the row number: gen_random_uuid() per row
    was a third of this statement's cost (a million events)."""
    # The envelope is assembled as text (ids, class names and periods need no escaping; floats
    # print as JSON numbers): far cheaper per row than jsonb_build_object for a million shops.
    inserted = await session.execute(
        text(
            "INSERT INTO outbox (event_id, topic, key, event_type, value)"
            " SELECT x.eid, CAST(:topic AS text), x.customer_id::text,"
            " 'valuation.customer_classified', convert_to("
            ' \'{"id":"\' || x.eid || \'","type":"valuation.customer_classified",'
            '"source":"\' || CAST(:source AS text) || \'","subject":"\' || x.customer_id'
            ' || \'","time":"\' || CAST(:now AS text) || \'","schema_version"\\:1,'
            '"correlation_id"\\:null,"data":{"customer_id":"\' || x.customer_id'
            ' || \'","period":"\' || x.period || \'","run_id":"\' || x.run_id'
            ' || \'","value_class":"\' || x.value_class || \'","previous_class":\''
            " || COALESCE('\"' || x.previous_class || '\"', 'null')"
            ' || \',"quadrant":"\' || x.quadrant || \'","total_score":\' || x.total_score'
            " || ',\"credit_score\":' || x.credit_score || '}}', 'UTF8')"
            " FROM (SELECT CAST(CAST(:id_prefix AS text) || lpad(to_hex(row_number() OVER ()),"
            " 12, '0') AS uuid) AS eid, r.customer_id, r.period, r.run_id,"
            "  r.value_class, l.value_class AS previous_class, r.quadrant, r.total_score,"
            "  r.credit_score FROM valuation_results r"
            "  LEFT JOIN shop_latest l ON l.customer_id = r.customer_id"
            "  WHERE r.run_id = :run_id AND (l.customer_id IS NULL"
            "   OR l.value_class <> r.value_class OR l.quadrant <> r.quadrant)) x"
        ),
        {
            "topic": VALUATION_EVENTS,
            "source": source,
            "run_id": run_id,
            "now": datetime.now(UTC).isoformat(),
            "id_prefix": event_id_prefix(),
        },
    )
    changed = int(getattr(inserted, "rowcount", 0) or 0)
    await session.execute(
        text(
            "INSERT INTO shop_latest (customer_id, value_class, quadrant, run_id, period)"
            " SELECT customer_id, value_class, quadrant, run_id, period FROM valuation_results"
            " WHERE run_id = :run_id ORDER BY customer_id"  # index pages touched in key order
            " ON CONFLICT (customer_id) DO UPDATE SET value_class = EXCLUDED.value_class,"
            " quadrant = EXCLUDED.quadrant, run_id = EXCLUDED.run_id, period = EXCLUDED.period"
        ),
        {"run_id": run_id},
    )
    if changed:
        await session.execute(text("SELECT pg_notify(:channel, '')"), {"channel": OUTBOX_CHANNEL})
    return changed


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


async def customer_history(
    session: AsyncSession, customer_id: uuid.UUID
) -> list[tuple[ValuationResult, ValuationRun]]:
    """Every completed result of a shop, newest first."""
    rows = await session.execute(
        select(ValuationResult, ValuationRun)
        .join(ValuationRun, ValuationRun.id == ValuationResult.run_id)
        .where(ValuationResult.customer_id == customer_id, ValuationRun.status == "completed")
        .order_by(ValuationRun.completed_at.desc())
    )
    return [(row[0], row[1]) for row in rows.all()]


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
