"""A run against real PostgreSQL: the population streamed as binary COPY (compared with the
former row query), float text as PostgreSQL prints it, and what a run stores and emits —
events and latest classes identical to the former SQL, all or nothing."""

from __future__ import annotations

import json
import math
import random
import uuid
from collections.abc import AsyncIterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from sqlalchemy import text

from retailcare_shared.db import Database, session_driver
from retailcare_shared.testing import DatabaseFactory, fresh_database
from valuation_svc.valuation import repository, service
from valuation_svc.valuation.classify import CATEGORY_INPUTS, FLAG_VIOLATION
from valuation_svc.valuation.periods import parse_period
from valuation_svc.valuation.pgcopy import float8_text
from valuation_svc.valuation.population import (
    FLOAT_COLUMNS,
    LoadedPopulation,
    _category_sql,
    from_rows,
    population_sql,
)
from valuation_svc.valuation.runner import execute_run, run_once, window_params
from valuation_svc.valuation.schemas import PreviewIn

SERVICE_DIR = Path(__file__).resolve().parents[2]
PERIOD = "2026H1"


@pytest.fixture
async def database(database_factory: DatabaseFactory) -> AsyncIterator[Database]:
    async with fresh_database(database_factory, SERVICE_DIR) as url:
        db = Database(url, pool_size=3)
        try:
            yield db
        finally:
            await db.dispose()


def legacy_population_sql(county_scoped: bool) -> str:
    """The population query before the one-pass aggregates (numeric sums, three scans)."""
    eligible = (
        ("s.county = :county AND " if county_scoped else "")
        + "s.status = 'active' AND NOT s.self_operated"
        " AND (s.licensed_on IS NULL OR s.licensed_on <= :licence_cutoff)"
    )
    in_scope = (
        "customer_id IN (SELECT customer_id FROM shops WHERE county = :county)"
        if county_scoped
        else "TRUE"
    )
    categories = ", ".join(_category_sql(i, c) for i, c in CATEGORY_INPUTS.items())
    return f"""
WITH cur AS (
    SELECT customer_id, sum(cartons) AS v, sum(amount) AS a, sum(gross_profit) AS g,
           sum(orders) AS o, sum(e_orders) AS eo, sum(e_amount) AS ea, sum(promoted_cartons) AS pc
    FROM shop_months WHERE month BETWEEN :first_month AND :last_month AND {in_scope}
    GROUP BY customer_id
), prior AS (
    SELECT customer_id, sum(cartons) AS v
    FROM shop_months WHERE month BETWEEN :last_year_first AND :last_year_last AND {in_scope}
    GROUP BY customer_id
), complaints AS (
    SELECT customer_id, count(*) AS k FROM complaints
    WHERE complainant_type = 'consumer' AND filed_on BETWEEN :period_start AND :as_of
      AND {in_scope}
    GROUP BY customer_id
), violated AS (
    SELECT DISTINCT customer_id FROM violations
    WHERE kind <> 'other' AND occurred_on BETWEEN :period_start AND :as_of
), recent AS (
    SELECT DISTINCT customer_id FROM shop_months
    WHERE month BETWEEN :recent_first_month AND :as_of AND orders > 0
      AND last_order_date BETWEEN :recent_from AND :as_of AND {in_scope}
)
SELECT s.customer_id::text, s.county, s.market_type,
       violated.customer_id IS NOT NULL AS violation,
       recent.customer_id IS NOT NULL AS recent_order,
       COALESCE(cur.v, 0)::float8, COALESCE(cur.a, 0)::float8, COALESCE(cur.g, 0)::float8,
       COALESCE(cur.o, 0)::float8, COALESCE(cur.eo, 0)::float8, COALESCE(cur.ea, 0)::float8,
       COALESCE(cur.pc, 0)::float8, COALESCE(skus.key_skus, 0)::float8,
       s.display_sku_count::float8, COALESCE(complaints.k, 0)::float8, s.business_hours::float8,
       prior.v::float8,
       {categories}
FROM shops s
LEFT JOIN cur ON cur.customer_id = s.customer_id
LEFT JOIN prior ON prior.customer_id = s.customer_id
LEFT JOIN shop_periods skus ON skus.customer_id = s.customer_id AND skus.period = :period
LEFT JOIN complaints ON complaints.customer_id = s.customer_id
LEFT JOIN violated ON violated.customer_id = s.customer_id
LEFT JOIN recent ON recent.customer_id = s.customer_id
WHERE {eligible}
"""


CATEGORY_VALUES = {
    "trading_area": ["commercial", "campus", "moon_base", None],
    "business_format": ["supermarket", "grocery", "kiosk", None],
    "display_form": ["shelf", "window", "hologram", None],
    "renown": ["national", "street", "galactic", None],  # renown has no `other`: unknown → NaN
    "reputation": ["good", "average", "legendary", None],
    "compliance_grade": ["A", "C", "Z", None],
    "price_labeling": ["price_board", "none", "chalk", None],
}


async def seed(db: Database, shops: int = 60) -> list[uuid.UUID]:
    """Shops in three counties and three market types with every awkward input: NULL and
    unknown categoricals, no months at all, only last year's, cents, zero orders, NULL last
    order dates, orders just before the period (the recent window of an early as_of),
    ineligible shops, non-consumer complaints and `other` violations."""
    rng = random.Random(5)
    ids = [uuid.UUID(int=rng.getrandbits(128)) for _ in range(shops)]
    shop_rows, month_rows, period_rows, complaint_rows, violation_rows = [], [], [], [], []
    for i, customer_id in enumerate(ids):
        categories = {
            column: values[(i + k) % len(values)]
            for k, (column, values) in enumerate(CATEGORY_VALUES.items())
        }
        shop_rows.append(
            {
                "customer_id": customer_id,
                "county": ["C1", "C2", "Ω-county"][i % 3],
                "market_type": ["urban", "rural", "suburban"][i % 4 % 3],
                "status": "suspended" if i % 17 == 5 else "active",
                "licensed_on": date(2026, 6, 20) if i % 19 == 7 else date(2020, 1, 1),
                "self_operated": i % 23 == 11,
                "business_hours": None if i % 6 == 0 else 8.0 + i % 17,
                "display_sku_count": None if i % 7 == 0 else i % 25,
                **categories,
            }
        )
        if i % 10 == 9:
            continue  # no aggregates at all
        months = [date(2026, m, 1) for m in range(1, 7)] if i % 5 else [date(2025, 12, 1)]
        if i % 4 == 0:
            months.append(date(2025, 3, 1))  # last year
        if i % 8 == 3:
            months = [date(2025, 2, 1)]  # only last year
        for month in months:
            cartons = rng.randrange(0, 500)
            month_rows.append(
                {
                    "customer_id": customer_id,
                    "month": month,
                    "cartons": cartons,
                    "amount": Decimal(rng.randrange(0, 10**9)) / 100,
                    "gross_profit": Decimal(rng.randrange(-(10**6), 10**8)) / 100,
                    "orders": 0 if i % 9 == 4 else rng.randrange(1, 9),
                    "e_orders": rng.randrange(0, 3),
                    "e_amount": Decimal(rng.randrange(0, 10**7)) / 100,
                    "promoted_cartons": rng.randrange(0, 60),
                    "last_order_date": None
                    if i % 11 == 2
                    else month.replace(day=1 + rng.randrange(0, 28)),
                }
            )
        if i % 3:
            period_rows.append({"customer_id": customer_id, "period": PERIOD, "k": i % 22})
        for k in range(i % 4):
            complaint_rows.append(
                {
                    "customer_id": customer_id,
                    "type": "consumer" if k % 2 == 0 else "retailer",
                    "filed_on": date(2026, 2 + k, 3),
                }
            )
        if i % 13 == 1:
            violation_rows.append(
                {
                    "customer_id": customer_id,
                    "kind": "other" if i % 2 else "counterfeit",
                    "occurred_on": date(2026, 3, 1),
                }
            )
    async with db.transaction() as session:
        await session.execute(
            text(
                "INSERT INTO shops (customer_id, county, market_type, status, licensed_on,"
                " self_operated, business_hours, display_sku_count, trading_area,"
                " business_format, display_form, renown, reputation, compliance_grade,"
                " price_labeling) VALUES (:customer_id, :county, :market_type, :status,"
                " :licensed_on, :self_operated, :business_hours, :display_sku_count,"
                " :trading_area, :business_format, :display_form, :renown, :reputation,"
                " :compliance_grade, :price_labeling)"
            ),
            shop_rows,
        )
        await session.execute(
            text(
                "INSERT INTO shop_months (customer_id, month, cartons, amount, gross_profit,"
                " orders, e_orders, e_amount, promoted_cartons, last_order_date) VALUES"
                " (:customer_id, :month, :cartons, :amount, :gross_profit, :orders, :e_orders,"
                " :e_amount, :promoted_cartons, :last_order_date)"
            ),
            month_rows,
        )
        await session.execute(
            text(
                "INSERT INTO shop_periods (customer_id, period, key_skus)"
                " VALUES (:customer_id, :period, :k)"
            ),
            period_rows,
        )
        await session.execute(
            text(
                "INSERT INTO complaints (complaint_id, customer_id, complainant_type, filed_on)"
                " VALUES (gen_random_uuid(), :customer_id, :type, :filed_on)"
            ),
            complaint_rows,
        )
        await session.execute(
            text(
                "INSERT INTO violations (violation_id, customer_id, kind, occurred_on)"
                " VALUES (gen_random_uuid(), :customer_id, :kind, :occurred_on)"
            ),
            violation_rows,
        )
    return ids


def by_customer(loaded: LoadedPopulation) -> dict[str, tuple[Any, ...]]:
    """Each shop's loaded row: labels, flags and float columns (NaN as None)."""
    population = loaded.population
    groups = [loaded.group_labels[g] for g in population.group.tolist()]
    out: dict[str, tuple[Any, ...]] = {}
    for i, customer_id in enumerate(loaded.customer_ids):
        floats = tuple(
            None if math.isnan(value := float(population.columns[name][i])) else value
            for name in FLOAT_COLUMNS
        )
        out[customer_id] = (
            loaded.counties[i],
            loaded.market_types[i],
            groups[i],
            bool(population.market_rural[i]),
            bool(population.violation[i]),
            bool(population.recent_order[i]),
            *floats,
        )
    return out


async def load_both(
    db: Database, as_of: date, county: str | None, group_by: str
) -> tuple[LoadedPopulation, LoadedPopulation, LoadedPopulation]:
    """The population by COPY, by the row query (previews) and by the legacy query."""
    period = parse_period(PERIOD)
    assert period is not None
    params = window_params(period, as_of, county, 30)
    async with db.transaction() as session:
        await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        copied = await repository.fetch_population(session, params, group_by)
        sql = population_sql(group_by, county_scoped=county is not None)
        rows = (await session.execute(text(sql), params)).all()
        legacy = (
            await session.execute(text(legacy_population_sql(county is not None)), params)
        ).all()
    return copied, from_rows(list(rows), group_by), from_rows(list(legacy), group_by)


@pytest.mark.parametrize(
    ("as_of", "county", "group_by"),
    [
        (date(2026, 6, 30), None, "county_market_type"),
        (date(2026, 1, 10), None, "county_market_type"),  # recent window reaches into 2025
        (date(2026, 4, 15), "C2", "county_market_type"),
        (date(2026, 6, 30), "Ω-county", "county"),
    ],
)
async def test_copied_population_equals_row_and_legacy_queries(
    database: Database, as_of: date, county: str | None, group_by: str
) -> None:
    await seed(database)
    copied, rows, legacy = await load_both(database, as_of, county, group_by)
    expected = by_customer(legacy)
    assert len(expected) > 10
    assert by_customer(copied) == expected
    assert by_customer(rows) == expected
    assert copied.group_labels == legacy.group_labels
    values = by_customer(copied).values()
    # The data really holds the awkward cases.
    renown = 6 + FLOAT_COLUMNS.index("renown")
    prior = 6 + FLOAT_COLUMNS.index("last_year_volume")
    assert any(row[renown] is None for row in values) and any(row[prior] is None for row in values)
    assert any(row[5] for row in values) and any(not row[5] for row in values)


async def test_an_empty_scope_loads_an_empty_population(database: Database) -> None:
    await seed(database, shops=9)
    copied, _, legacy = await load_both(database, date(2026, 6, 30), "nowhere", "county")
    assert len(copied.customer_ids) == len(legacy.customer_ids) == 0
    assert copied.group_labels == []


async def test_float8_text_matches_postgresql(database: Database) -> None:
    rng = np.random.default_rng(2)
    values = np.concatenate(
        [
            np.round(rng.uniform(0, 100, 2000), 6),
            rng.uniform(-1e6, 1e6, 200),
            10.0 ** rng.uniform(-20, 20, 200),
            [0.0, -0.0, 1.0, 18.0, 1e-4, 9.99e-5, 1e15, 999999999999999.9, 1e16, 5e-324],
            [float("nan"), float("inf"), float("-inf"), 2.0**53, 0.1 + 0.2],
        ]
    )
    async with database.transaction() as session:
        driver = await session_driver(session)
        printed = await driver.fetchval(
            "SELECT array_agg(v::text ORDER BY i) FROM"
            " unnest($1::float8[]) WITH ORDINALITY AS t(v, i)",
            values.tolist(),
        )
    texts, lengths = float8_text(values)
    assert [text.decode() for text in texts.tolist()] == printed
    assert lengths.tolist() == [len(text) for text in printed]


LEGACY_EVENTS = """
SELECT x.customer_id::text AS customer_id, convert_from(convert_to(
 '{"id":"' || x.eid || '","type":"valuation.customer_classified","source":"'
 || CAST(:source AS text) || '","subject":"' || x.customer_id || '","time":"' || CAST(:now AS text)
 || '","schema_version"\\:1,"correlation_id"\\:null,"data":{"customer_id":"' || x.customer_id
 || '","period":"' || x.period || '","run_id":"' || x.run_id || '","value_class":"'
 || x.value_class || '","previous_class":' || COALESCE('"' || x.previous_class || '"', 'null')
 || ',"quadrant":"' || x.quadrant || '","total_score":' || x.total_score
 || ',"credit_score":' || x.credit_score || '}}', 'UTF8'), 'UTF8') AS value
FROM (SELECT CAST(:eid AS uuid) AS eid, r.customer_id, r.period, r.run_id, r.value_class,
             l.value_class AS previous_class, r.quadrant, r.total_score, r.credit_score
      FROM valuation_results r LEFT JOIN before_run l ON l.customer_id = r.customer_id
      WHERE r.run_id = :run_id AND (l.customer_id IS NULL OR l.value_class <> r.value_class
            OR l.quadrant <> r.quadrant)) x
"""


async def run(
    db: Database, county: str | None = None, as_of: date = date(2026, 6, 30)
) -> uuid.UUID:
    """Queue a run as the API does, remember shop_latest as it was, execute it as the worker."""
    run_id = uuid.uuid4()
    async with db.transaction() as session:
        await session.execute(text("DROP TABLE IF EXISTS before_run"))
        await session.execute(text("CREATE TABLE before_run AS SELECT * FROM shop_latest"))
        await session.execute(
            text(
                "INSERT INTO valuation_runs (id, period, county, as_of, status, requested_by,"
                " heartbeat_at) VALUES (:id, :period, :county, :as_of, 'running', 'test', now())"
            ),
            {"id": run_id, "period": PERIOD, "county": county, "as_of": as_of},
        )
    await execute_run(db, run_id, "valuation-svc")
    return run_id


async def check_stored(db: Database, run_id: uuid.UUID) -> int:
    """The run's events equal the former SQL's text, event ids are fresh, time-ordered UUIDv7
    in outbox order, and shop_latest holds the run's classes; returns the events."""
    async with db.transaction() as session:
        status, changed = (
            await session.execute(
                text("SELECT status, changed FROM valuation_runs WHERE id = :id"), {"id": run_id}
            )
        ).one()
        assert status == "completed"
        events = (
            await session.execute(
                text(
                    "SELECT id, event_id, topic, key, event_type, value FROM outbox"
                    " WHERE value LIKE :run ORDER BY id"
                ),
                {"run": f'%"run_id":"{run_id}"%'.encode()},
            )
        ).all()
        assert len(events) == changed
        first = json.loads(events[0].value) if events else {"time": "", "source": ""}
        expected = {
            row.customer_id: row.value
            for row in (
                await session.execute(
                    text(LEGACY_EVENTS),
                    {
                        "source": "valuation-svc",
                        "now": first["time"],
                        "eid": "00000000-0000-7000-8000-000000000000",
                        "run_id": run_id,
                    },
                )
            ).all()
        }
        assert len(expected) == changed
        for event in events:
            value = bytes(event.value).decode()
            assert (
                value.replace(str(event.event_id), "00000000-0000-7000-8000-000000000000")
                == (expected[event.key])
            )
            assert event.topic == "valuation-events"
            assert event.event_type == "valuation.customer_classified"
            assert event.event_id.version == 7
        ids = [event.event_id for event in events]
        assert ids == sorted(ids) and len(set(ids)) == len(ids)
        mismatched = await session.scalar(
            text(
                "SELECT count(*) FROM valuation_results r FULL JOIN shop_latest l"
                " USING (customer_id) WHERE r.run_id = :id AND (l.customer_id IS NULL"
                " OR (l.value_class, l.quadrant, l.run_id, l.period)"
                " IS DISTINCT FROM (r.value_class, r.quadrant, r.run_id, r.period))"
            ),
            {"id": run_id},
        )
        assert mismatched == 0
    return len(events)


async def test_runs_emit_exactly_the_former_events_and_keep_latest_classes(
    database: Database,
) -> None:
    ids = await seed(database, shops=90)
    county_run = await run(database, county="C2")
    async with database.transaction() as session:
        evaluated = await session.scalar(
            text("SELECT evaluated FROM valuation_runs WHERE id = :id"), {"id": county_run}
        )
    assert evaluated > 10
    assert await check_stored(database, county_run) == evaluated  # all first classifications
    # A province run: C2's shops have a latest class (updated), the others are new.
    first = await run(database)
    changed_first = await check_stored(database, first)
    assert changed_first > 0
    # New complaints and a violation change some classes; the rest keep theirs.
    async with database.transaction() as session:
        for customer_id in ids[:30]:
            await session.execute(
                text(
                    "INSERT INTO complaints (complaint_id, customer_id, complainant_type,"
                    " filed_on) SELECT gen_random_uuid(), :c, 'consumer', DATE '2026-05-05'"
                    " FROM generate_series(1, 4)"
                ),
                {"c": customer_id},
            )
    again = await run(database)
    changed_again = await check_stored(database, again)
    assert 0 < changed_again < 70
    async with database.transaction() as session:
        previous = await session.scalar(
            text("SELECT count(*) FROM outbox WHERE value LIKE :run AND value NOT LIKE :first"),
            {"run": f'%"run_id":"{again}"%'.encode(), "first": b'%"previous_class":null%'},
        )
    assert previous == changed_again  # every shop had a class before


async def test_a_failed_store_leaves_nothing_behind(database: Database) -> None:
    await seed(database, shops=30)
    first = await run(database)
    async with database.transaction() as session:
        counts = (
            await session.execute(
                text(
                    "SELECT (SELECT count(*) FROM valuation_results),"
                    " (SELECT count(*) FROM outbox), (SELECT count(*) FROM run_groups)"
                )
            )
        ).one()
        # A damaged latest class makes the event step fail after the results were written.
        await session.execute(
            text(
                "UPDATE shop_latest SET value_class = 'Z' WHERE ctid IN"
                " (SELECT ctid FROM shop_latest LIMIT 1)"
            )
        )
        latest = (await session.execute(text("SELECT * FROM shop_latest ORDER BY 1"))).all()
        run_id = uuid.uuid4()
        await session.execute(
            text(
                "INSERT INTO valuation_runs (id, period, as_of, status, requested_by)"
                " VALUES (:id, :period, DATE '2026-06-30', 'queued', 'test')"
            ),
            {"id": run_id, "period": PERIOD},
        )

    app = SimpleNamespace(
        state=SimpleNamespace(
            database=database,
            settings=SimpleNamespace(run_stale_seconds=600.0),
            service="valuation-svc",
        )
    )
    assert await run_once(app)  # type: ignore[arg-type]
    async with database.transaction() as session:
        status, error = (
            await session.execute(
                text("SELECT status, error FROM valuation_runs WHERE id = :id"), {"id": run_id}
            )
        ).one()
        assert status == "failed" and "shop_latest" in error
        after = (
            await session.execute(
                text(
                    "SELECT (SELECT count(*) FROM valuation_results),"
                    " (SELECT count(*) FROM outbox), (SELECT count(*) FROM run_groups)"
                )
            )
        ).one()
        assert after == counts
        assert (await session.execute(text("SELECT * FROM shop_latest ORDER BY 1"))).all() == latest
    assert first != run_id


async def test_a_run_taken_over_after_a_crash_replaces_what_it_had_stored(
    database: Database,
) -> None:
    await seed(database, shops=30)
    run_id = uuid.uuid4()
    async with database.transaction() as session:
        await session.execute(
            text(
                "INSERT INTO valuation_runs (id, period, as_of, status, requested_by,"
                " heartbeat_at) VALUES (:id, :period, DATE '2026-06-30', 'running', 'test',"
                " now() - interval '1 hour')"
            ),
            {"id": run_id, "period": PERIOD},
        )
        await session.execute(text("CREATE TABLE before_run AS SELECT * FROM shop_latest"))
        # What a worker that died between its two commits left: results and groups only.
        shop = await session.scalar(text("SELECT customer_id FROM shops LIMIT 1"))
        await session.execute(
            text(
                "INSERT INTO valuation_results (run_id, customer_id, period, county, market_type,"
                " model_version, value_class, quadrant, total_score, current_value,"
                " potential_value, credit_score, rank, group_size, position, rank_class, flags,"
                " dimensions, scores, inputs) VALUES (:run, :shop, :period, 'C9', 'urban', 1,"
                " 'A', 'value', 1, 1, 1, 1, 1, 1, 1, 'A', 0, '', '', '')"
            ),
            {"run": run_id, "shop": shop, "period": PERIOD},
        )
        await session.execute(
            text(
                "INSERT INTO run_groups VALUES (:run, 'C9', 'urban', 1, 0, 0, 0, 0, 0, 0, 0, 0, 0)"
            ),
            {"run": run_id},
        )
    await execute_run(database, run_id, "valuation-svc")
    await check_stored(database, run_id)
    async with database.transaction() as session:
        assert (
            await session.scalar(text("SELECT count(*) FROM run_groups WHERE county = 'C9'")) == 0
        )
        assert (
            await session.scalar(text("SELECT count(*) FROM valuation_results WHERE county = 'C9'"))
            == 0
        )


async def test_a_preview_without_changes_reproduces_the_stored_result(database: Database) -> None:
    await seed(database, shops=45)
    run_id = await run(database)
    async with database.transaction() as session:
        stored = (
            await session.execute(
                text(
                    "SELECT customer_id, value_class, quadrant, total_score, flags"
                    " FROM valuation_results WHERE run_id = :id"
                ),
                {"id": run_id},
            )
        ).all()
        assert {row.flags for row in stored} >= {0, FLAG_VIOLATION}
        for row in stored:
            shop = await repository.shop(session, row.customer_id)
            assert shop is not None
            body = PreviewIn(customer_id=row.customer_id, period=PERIOD)
            previewed = await service.preview(session, shop, body)
            # Violation and recent-order flags come from their own columns of the row.
            assert (previewed.value_class, previewed.quadrant, previewed.total_score) == (
                row.value_class,
                row.quadrant,
                row.total_score,
            ), row.customer_id
