"""P5: complaint analytics over 1,000,000 complaints and 200,000 shops (each p95 ≤ 300 ms).

The data is loaded with COPY into a migrated complaint-svc database; complaint-svc runs as a
real uvicorn process and each analytics endpoint is called repeatedly over a one-year window.
"""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx
from sqlalchemy.engine import make_url

from bench.common import (
    Result,
    create_database,
    infrastructure,
    percentile,
    service_process,
    spread_of,
)
from retailcare_shared.auth import issue_token
from retailcare_shared.devstack import free_port
from retailcare_shared.workdays import COMPANY_TIME_ZONE as SHANGHAI

SECRET = "bench-secret-0123456789-0123456789-abcd"
SCALE = float(os.environ.get("BENCH_SCALE", "1"))
SHOPS = max(1000, int(200_000 * SCALE))
COMPLAINTS = max(5000, int(1_000_000 * SCALE))
CALLS = max(10, int(os.environ.get("BENCH_CALLS", "40")))
COMPLAINT_SVC = Path(__file__).resolve().parents[1] / "services" / "complaint-svc"
END = date(2026, 10, 31)
START = date(2024, 11, 1)  # two years of complaints; the queries look at the last year
ITEMS = [
    "customer_manager_visit",
    "phone_ordering",
    "online_ordering",
    "delivery",
    "after_sales_window",
    "market_supervision",
    "supply_allocation",
    "other",
]
CATEGORIES = [
    "brand_shortage",
    "scarce_allocation",
    "supply_volume",
    "damaged_goods",
    "forced_bundling",
    "staff_attitude",
    "delivery_timeliness",
    "settlement",
]
DISTRICTS = [f"D{index:02d}" for index in range(30)]
FORMATS = ["grocery", "convenience", "supermarket", "tobacco_shop", "entertainment"]
CLASSES = ["A", "B", "C", "D", "problem"]


def shop_rows(rng: random.Random) -> list[tuple[object, ...]]:
    rows: list[tuple[object, ...]] = []
    for _ in range(SHOPS):
        since = date(2015, 1, 1) + timedelta(days=rng.randrange(0, 3900))
        inactive = since + timedelta(days=rng.randrange(30, 2000)) if rng.random() < 0.08 else None
        rows.append(
            (
                uuid.uuid4(),
                f"C{rng.randrange(5)}",
                rng.choice(DISTRICTS),
                rng.choice(["urban", "rural"]),
                rng.choice(["residential", "commercial", "transport"]),
                rng.choice(FORMATS),
                rng.choice(["small", "medium", "large"]),
                rng.choice(["phone", "online"]),
                rng.choice(CLASSES),
                "active" if inactive is None else "exited",
                since,
                inactive,
                1,
            )
        )
    return rows


def complaint_rows(rng: random.Random, shops: list[tuple[object, ...]]) -> list[tuple[object, ...]]:
    span = (END - START).days * 86400
    begin = datetime.combine(START, datetime.min.time(), UTC)
    rows: list[tuple[object, ...]] = []
    roots: list[uuid.UUID] = []
    for seq in range(1, COMPLAINTS + 1):
        shop = (
            shops[int(rng.paretovariate(1.2)) % len(shops)]
            if rng.random() < 0.3
            else rng.choice(shops)
        )
        filed = begin + timedelta(seconds=rng.randrange(span))
        repeat_of = rng.choice(roots) if roots and rng.random() < 0.12 else None
        complaint_id = uuid.uuid4()
        if repeat_of is None and len(roots) < 50_000:
            roots.append(complaint_id)
        status = rng.choice(["received", "assigned", "in_progress", "resolved", "closed", "closed"])
        acknowledged = filed + timedelta(hours=rng.random() * 30) if status != "received" else None
        resolved = (
            filed + timedelta(hours=rng.random() * 150)
            if status in ("resolved", "closed")
            else None
        )
        retailer = rng.random() < 0.8
        rows.append(
            (
                complaint_id,
                seq,
                f"TS-{filed:%Y%m%d}-{seq:06d}",
                shop[0],
                True,
                shop[1],
                shop[2],
                "retailer" if retailer else "consumer",
                rng.choice(["hotline", "web", "app"]),
                rng.choice(CATEGORIES),
                rng.choice(ITEMS),
                retailer,
                "Benchmark complaint description.",
                "normal",
                "agent",
                status,
                repeat_of is not None,
                repeat_of,
                filed,
                filed.astimezone(SHANGHAI).date().replace(day=1),
                filed + timedelta(days=1),
                filed + timedelta(days=7),
                acknowledged,
                resolved,
                rng.random() < 0.05,
                rng.randrange(2),
            )
        )
    return rows


async def load(dsn: str) -> None:
    """COPY shops and complaints, then analyse the tables."""
    rng = random.Random(5)
    shops = shop_rows(rng)
    complaints = complaint_rows(rng, shops)
    connection = await asyncpg.connect(dsn)
    try:
        await connection.copy_records_to_table(
            "shops",
            records=shops,
            columns=[
                "customer_id",
                "county",
                "district",
                "market_type",
                "trading_area",
                "business_format",
                "scale",
                "order_method",
                "value_class",
                "status",
                "active_since",
                "inactive_since",
                "snapshot_version",
            ],
        )
        await connection.copy_records_to_table(
            "complaints",
            records=complaints,
            columns=[
                "id",
                "seq",
                "ref",
                "customer_id",
                "customer_verified",
                "county",
                "district",
                "complainant_type",
                "channel",
                "category",
                "service_item",
                "company_responsible",
                "description",
                "priority",
                "received_by",
                "status",
                "is_repeat",
                "repeat_of",
                "filed_at",
                "filed_month",
                "acknowledge_due_at",
                "resolve_due_at",
                "acknowledged_at",
                "resolved_at",
                "overdue",
                "reassignment_count",
            ],
        )
        await connection.execute(f"SELECT setval('complaint_ref_seq', {COMPLAINTS})")
        await connection.execute("VACUUM ANALYZE shops")
        await connection.execute("VACUUM ANALYZE complaints")
    finally:
        await connection.close()


ANALYTICS = "/api/v1/complaint-analytics"
WINDOW = "from=2025-11-01&to=2026-10-31"
QUERIES = {
    "rate": f"{ANALYTICS}/rate?{WINDOW}",
    "rate_by_district": f"{ANALYTICS}/rate?by=district&{WINDOW}",
    "repeat_rate": f"{ANALYTICS}/repeat-rate?{WINDOW}",
    "concentration": f"{ANALYTICS}/concentration?by=category&{WINDOW}",
    "trend": f"{ANALYTICS}/trend?granularity=month&{WINDOW}",
}


async def measure(base: str) -> dict[str, list[float]]:
    """Latencies of each query, CALLS times after a warm-up, interleaved."""
    token = issue_token(SECRET, sub="bench-analyst", roles=["analyst"], ttl_seconds=7200)
    headers = {"Authorization": f"Bearer {token}"}
    timings: dict[str, list[float]] = {name: [] for name in QUERIES}
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        for path in QUERIES.values():
            (await client.get(path, headers=headers)).raise_for_status()
        for _ in range(CALLS):
            for name, path in QUERIES.items():
                started = time.perf_counter()
                response = await client.get(path, headers=headers)
                timings[name].append(time.perf_counter() - started)
                response.raise_for_status()
    return timings


def main() -> None:
    """Load, measure and report."""
    with infrastructure() as infra:
        url = asyncio.run(create_database(infra.postgres_server_url, "bench_p5", COMPLAINT_SVC))
        dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        started = time.perf_counter()
        asyncio.run(load(dsn))
        load_seconds = time.perf_counter() - started
        environment = {
            "AUTH_JWT_SECRET": SECRET,
            "KAFKA_BOOTSTRAP_SERVERS": infra.kafka_bootstrap,
            "COMPLAINT_SVC_DATABASE_URL": url,
            "COMPLAINT_SVC_SWEEPER_ENABLED": "false",
        }
        with service_process("complaint_svc", "COMPLAINT_SVC_", free_port(), environment) as base:
            timings = asyncio.run(measure(base))
    p95_ms = {name: percentile(values, 0.95) * 1000 for name, values in timings.items()}
    worst = max(p95_ms.values())
    medians = {name: statistics.median(values) * 1000 for name, values in timings.items()}
    Result(
        id="P5",
        scenario="complaint analytics, 1M complaints / 200k shops",
        metric="worst p95 over rate, repeat, concentration, trend",
        unit="ms",
        median=worst,
        spread=spread_of([value * 1000 for value in timings[max(p95_ms, key=p95_ms.__getitem__)]]),
        rounds=CALLS,
        target="each p95 <= 300 ms",
        met=worst <= 300,
        extra={
            "p95_ms": p95_ms,
            "median_ms": medians,
            "shops": SHOPS,
            "complaints": COMPLAINTS,
            "load_seconds": load_seconds,
            "scale": SCALE,
        },
    ).dump()


if __name__ == "__main__":
    main()
