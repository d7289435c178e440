"""P4: a valuation run over 1,000,000 shops with the aggregates in place.

Builds shops and six months of per-shop aggregates (plus last year's) server-side, then times the
run itself (load → score and classify → the results COPY, side by side with the outbox events and
latest classes) as the background worker executes it, each round a first classification (every
shop emits an event). Stage timings: load, score, copy (the results' transaction), emit (events
and latest classes, concurrent with copy), store (the rest until the run is completed).
Floor: one SELECT scan of the period's aggregates streamed to the client, timed right before
each measured run (the ratio is the median of the rounds' ratios, robust to a shared machine).
Also times a county run over a tenth of the shops (the 100,000-shop target at full scale). The
time limit is the spec's, scaled to the shop count (8 s per 100,000 up to 100,000 shops, 60 s at
1,000,000); peak memory is this process's (the run executes in it, as in the worker).

BENCH_SCALE=0.1 runs it on 100,000 shops (the 8 s target); BENCH_SCALE=1 on 1,000,000.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import time
import uuid
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

from bench.common import (
    Result,
    create_database,
    infrastructure,
    peak_memory_mb,
    spread_of,
    timed_rounds,
)
from retailcare_shared.db import Database
from valuation_svc.valuation.runner import execute_run

SCALE = float(os.environ.get("BENCH_SCALE", "1"))
SHOPS = max(2_000, int(1_000_000 * SCALE))
COUNTIES = 10
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
SERVICE_DIR = Path(__file__).resolve().parents[1] / "services" / "valuation-svc"


def plain(url: str) -> str:
    """asyncpg DSN of a SQLAlchemy URL."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def build(dsn: str) -> None:
    """Shops in 10 counties (urban/rural), 6 months of 2026H1 and one month of 2025H1 each."""
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute("SELECT setseed(0.42)")
        await connection.execute(
            """
INSERT INTO shops (customer_id, county, district, market_type, manager_id, status, licensed_on,
                   self_operated, order_method, trading_area, business_format, business_hours,
                   display_form, renown, reputation, compliance_grade, price_labeling,
                   display_sku_count)
SELECT md5('shop' || i)::uuid, 'C' || (i % $2), 'D' || (i % 50),
       CASE WHEN i % 3 = 0 THEN 'rural' ELSE 'urban' END,
       md5('manager' || (i % 2000))::uuid,
       CASE WHEN i % 200 = 0 THEN 'suspended' ELSE 'active' END,
       DATE '2020-01-01' + (i % 2000), i % 500 = 0,
       (ARRAY['phone','web','app'])[1 + i % 3],
       (ARRAY['commercial','transit_hub','residential','industrial','campus',
              'government_business','other'])[1 + i % 7],
       (ARRAY['grocery','convenience','supermarket','mall','tobacco_liquor',
              'entertainment','other'])[1 + i % 7],
       8 + (i % 17), (ARRAY['dedicated_cabinet','counter_prominent','counter_other','shelf',
              'window','other'])[1 + i % 6],
       (ARRAY['national','city','district','street','none'])[1 + i % 5],
       CASE WHEN i % 4 = 0 THEN NULL WHEN i % 2 = 0 THEN 'good' ELSE 'average' END,
       (ARRAY['A','B','C','none'])[1 + i % 4],
       (ARRAY['price_board','price_tags','none'])[1 + i % 3],
       i % 25
FROM generate_series(1, $1) AS i
""",
            SHOPS,
            COUNTIES,
        )
        await connection.execute(
            """
INSERT INTO shop_months (customer_id, month, cartons, amount, gross_profit, orders, e_orders,
                         e_amount, promoted_cartons, last_order_date)
SELECT s.customer_id, m.month, c.cartons, c.cartons * 230, c.cartons * 18, 4, (random() * 4)::int,
       c.cartons * 230 * random(), (c.cartons * random() * 0.2)::int,
       m.month + (random() * 27)::int
FROM shops s
CROSS JOIN (SELECT generate_series(DATE '2026-01-01', DATE '2026-06-01', INTERVAL '1 month')::date
            AS month) m
CROSS JOIN LATERAL (SELECT (20 + random() * 400)::int AS cartons) c
"""
        )
        await connection.execute(
            """
INSERT INTO shop_months (customer_id, month, cartons, amount, gross_profit, orders, e_orders,
                         e_amount, promoted_cartons, last_order_date)
SELECT customer_id, DATE '2025-03-01', (500 + random() * 2000)::int, 0, 0, 1, 0, 0, 0,
       DATE '2025-03-15'
FROM shops WHERE random() < 0.8
"""
        )
        await connection.execute(
            "INSERT INTO shop_periods (customer_id, period, key_skus)"
            " SELECT customer_id, '2026H1', (random() * 25)::int FROM shops"
        )
        await connection.execute(
            "INSERT INTO complaints (complaint_id, customer_id, complainant_type, filed_on, open)"
            " SELECT gen_random_uuid(), customer_id, 'consumer', DATE '2026-04-01', false"
            " FROM shops WHERE random() < 0.02"
        )
        await connection.execute(
            "INSERT INTO violations (violation_id, customer_id, kind, occurred_on)"
            " SELECT gen_random_uuid(), customer_id, 'counterfeit', DATE '2026-03-01'"
            " FROM shops WHERE random() < 0.005"
        )
        await connection.execute("VACUUM ANALYZE")
    finally:
        await connection.close()


async def reset(dsn: str) -> None:
    """Forget previous rounds so each round is a first classification (an event per shop)."""
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(
            "TRUNCATE valuation_results, run_groups, shop_latest, outbox, valuation_runs"
        )
    finally:
        await connection.close()


LAST_TIMINGS: dict[str, float] = {}


def target_seconds(shops: int) -> float:
    """The spec's limits scaled to a run size: 8 s per 100,000 shops up to 100,000, then on
    towards 60 s at 1,000,000."""
    if shops <= 100_000:
        return 8.0 * shops / 100_000
    return 8.0 + 52.0 * (shops - 100_000) / 900_000


async def one_run(database: Database, dsn: str, county: str | None) -> None:
    """Queue a run as the API does and execute it as the worker does."""
    await reset(dsn)
    run_id = uuid.uuid4()
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(
            "INSERT INTO valuation_runs (id, period, county, as_of, status, requested_by,"
            " heartbeat_at)"
            " VALUES ($1, '2026H1', $2, DATE '2026-06-30', 'running', 'bench', now())",
            run_id,
            county,
        )
    finally:
        await connection.close()
    await execute_run(database, run_id, "valuation-svc")
    check = await asyncpg.connect(dsn)
    try:
        status, summary = await check.fetchrow(
            "SELECT status, summary FROM valuation_runs WHERE id = $1", run_id
        )
        assert status == "completed", status
        LAST_TIMINGS.clear()
        LAST_TIMINGS.update(json.loads(summary).get("timings_s", {}))
    finally:
        await check.close()


async def floor_scan(dsn: str) -> None:
    """One SELECT of every shop's period aggregates, streamed to the client."""
    connection = await asyncpg.connect(dsn)
    try:
        async with connection.transaction():
            rows = 0
            async for _ in connection.cursor(
                "SELECT customer_id, sum(cartons), sum(amount), sum(gross_profit), sum(orders),"
                " sum(e_orders), sum(e_amount), sum(promoted_cartons) FROM shop_months"
                " WHERE month BETWEEN DATE '2026-01-01' AND DATE '2026-06-01'"
                " GROUP BY customer_id",
                prefetch=50_000,
            ):
                rows += 1
        assert rows > 0
    finally:
        await connection.close()


async def run_benchmark(server_url: str) -> None:
    """Build, warm up, measure the run and the floor, report."""
    url = await create_database(server_url, "bench_p4_valuation", SERVICE_DIR)
    dsn = plain(url)
    started = time.perf_counter()
    await build(dsn)
    build_seconds = time.perf_counter() - started
    database = Database(url, pool_size=4)
    try:
        # Each round times the floor scan right before the run, so both see the same load on a
        # shared machine; the ratio is the median of the rounds' ratios.
        await one_run(database, dsn, None)  # warm-up
        await floor_scan(dsn)
        durations: list[float] = []
        floors: list[float] = []
        for _ in range(ROUNDS):
            floors += await timed_rounds(lambda: floor_scan(dsn), rounds=1, warmup=0)
            durations += await timed_rounds(
                lambda: one_run(database, dsn, None), rounds=1, warmup=0
            )
        stages = dict(LAST_TIMINGS)
        county_durations = await timed_rounds(
            lambda: one_run(database, dsn, "C1"), rounds=ROUNDS, warmup=0
        )
    finally:
        await database.dispose()
    median = statistics.median(durations)
    floor = statistics.median(floors)
    county_median = statistics.median(county_durations)
    memory = peak_memory_mb()
    ratio = statistics.median(run / scan for run, scan in zip(durations, floors, strict=True))
    full_target = target_seconds(SHOPS)
    county_target = target_seconds(SHOPS // COUNTIES)
    Result(
        id="P4",
        scenario=f"valuation run over {SHOPS:,} shops",
        metric="run duration",
        unit="s",
        median=median,
        spread=spread_of(durations),
        rounds=len(durations),
        target=f"<= {full_target:,.1f} s, <= 2048 MB",
        floor_metric="one SELECT scan of the period's aggregates",
        floor_median=floor,
        ratio=ratio,
        ratio_target="<= 5",
        met=median <= full_target and memory <= 2048 and ratio <= 5,
        extra={
            "scale": SCALE,
            "shops": SHOPS,
            "stages_s": stages,
            "peak_memory_mb": round(memory, 1),
            "county_run_shops": SHOPS // COUNTIES,
            "county_run_median_s": round(county_median, 3),
            "county_run_target_s": round(county_target, 3),
            "county_run_met": county_median <= county_target,
            "build_seconds": round(build_seconds, 1),
            "rounds_s": [round(value, 3) for value in durations],
            "floor_rounds_s": [round(value, 3) for value in floors],
        },
    ).dump()


def main() -> None:
    """Entry point: `python -m bench.p4_valuation_run`."""
    with infrastructure() as infra:
        asyncio.run(run_benchmark(infra.postgres_server_url))


if __name__ == "__main__":
    main()
