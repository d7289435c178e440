"""P1: complaint intake through the gateway (≥ 500 complaints/s, p99 ≤ 150 ms, 32 clients).

Each request carries an Idempotency-Key; complaint-svc writes the complaint row, its timeline
entry and the outbox event in one transaction. Floor: raw asyncpg doing the same inserts (key,
row, timeline, outbox) in one transaction each at the same concurrency; ratio ≥ 0.25.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

from bench.common import (
    Result,
    create_database,
    infrastructure,
    percentile,
    service_process,
    spread_of,
)
from gateway.upstream import UpstreamPool
from retailcare_shared.auth import issue_token
from retailcare_shared.devstack import free_port

SECRET = "bench-secret-0123456789-0123456789-abcd"
SCALE = float(os.environ.get("BENCH_SCALE", "1"))
CLIENTS = 32
REQUESTS = max(CLIENTS * 10, int(6000 * SCALE))
ROUNDS = 3
WORKERS = int(os.environ.get("BENCH_P1_WORKERS", str(os.cpu_count() or 1)))
SHOPS = [uuid.uuid4() for _ in range(2000)]
COMPLAINT_SVC = Path(__file__).resolve().parents[1] / "services" / "complaint-svc"
CATEGORIES = [
    "brand_shortage",
    "staff_attitude",
    "delivery_timeliness",
    "settlement",
    "damaged_goods",
]


def body(index: int) -> dict[str, object]:
    return {
        "customer_id": str(SHOPS[index % len(SHOPS)]),
        "complainant_type": "retailer",
        "received_by": "bench-agent",
        "complainant_name": "张三",
        "complainant_phone": "13812345678",
        "channel": "hotline",
        "category": CATEGORIES[index % len(CATEGORIES)],
        "service_item": "delivery",
        "description": f"Benchmark complaint number {index}.",
    }


async def intake_round(gateway: str, offset: int) -> tuple[float, list[float]]:
    """REQUESTS POSTs from 32 concurrent clients; (complaints/s, latencies in seconds)."""
    token = issue_token(SECRET, sub="bench-agent", roles=["call_center"], ttl_seconds=3600)
    latencies: list[float] = []
    queue = iter(range(offset, offset + REQUESTS))
    # The load generator shares the two cores with what it measures: it uses the gateway's lean
    # HTTP/1.1 client (keep-alive, one connection per client), which costs a fraction of httpx's
    # CPU per request (httpx took as much CPU as complaint-svc itself).
    client = UpstreamPool(gateway, timeout=30, connect_timeout=5, max_connections=CLIENTS)
    authorization = f"Bearer {token}".encode()

    async def worker() -> None:
        for index in queue:
            headers = [
                (b"authorization", authorization),
                (b"content-type", b"application/json"),
                (b"idempotency-key", f"p1-{index}".encode()),
            ]
            started = time.perf_counter()
            answer = await client.request(
                "POST", b"/api/v1/complaints", headers, json.dumps(body(index)).encode()
            )
            content = await answer.read()
            latencies.append(time.perf_counter() - started)
            if answer.status != 201:
                raise RuntimeError(f"{answer.status}: {content.decode()}")

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CLIENTS)))
    elapsed = time.perf_counter() - started
    await client.aclose()
    return REQUESTS / elapsed, latencies


async def floor_round(dsn: str, offset: int) -> float:
    """The same four inserts per complaint with raw asyncpg, one transaction each, 32 at once."""
    pool = await asyncpg.create_pool(dsn, min_size=CLIENTS, max_size=CLIENTS)
    queue = iter(range(offset, offset + REQUESTS))

    async def worker() -> None:
        async with pool.acquire() as connection:
            for index in queue:
                now = datetime.now(UTC)
                complaint_id = uuid.uuid4()
                data = body(index)
                async with connection.transaction():
                    await connection.execute(
                        "INSERT INTO idempotency_keys (scope, key, request_hash) "
                        "VALUES ($1, $2, $3)",
                        "floor",
                        f"floor-{index}",
                        "hash",
                    )
                    seq = await connection.fetchval("SELECT nextval('complaint_ref_seq')")
                    await connection.execute(
                        """INSERT INTO complaints (id, seq, ref, customer_id, customer_verified,
                               complainant_type, complainant_name, complainant_phone, channel,
                               category, service_item, company_responsible, description, priority,
                               received_by, status, is_repeat, filed_at, filed_month,
                               acknowledge_due_at, resolve_due_at)
                           VALUES ($1, $2, $3, $4, false, 'retailer', $5, $6, 'hotline', $7,
                               'delivery', true, $8, 'normal', 'floor', 'received', false, $9,
                               $12, $10, $11)""",
                        complaint_id,
                        seq,
                        f"TS-F-{seq:08d}",
                        uuid.UUID(str(data["customer_id"])),
                        data["complainant_name"],
                        data["complainant_phone"],
                        data["category"],
                        data["description"],
                        now,
                        now + timedelta(days=1),
                        now + timedelta(days=5),
                        now.date().replace(day=1),
                    )
                    await connection.execute(
                        """INSERT INTO complaint_timeline
                               (complaint_id, at, actor, action, to_status)
                           VALUES ($1, $2, 'floor', 'filed', 'received')""",
                        complaint_id,
                        now,
                    )
                    await connection.execute(
                        """INSERT INTO outbox (event_id, topic, key, event_type, value)
                           VALUES ($1, 'complaint-events', $2, 'complaint.filed', $3)""",
                        uuid.uuid4(),
                        str(data["customer_id"]),
                        json.dumps({"complaint_id": str(complaint_id)}).encode(),
                    )
                    await connection.execute(
                        "UPDATE idempotency_keys SET status_code = 201, response_body = $3 "
                        "WHERE scope = $1 AND key = $2",
                        "floor",
                        f"floor-{index}",
                        json.dumps({"id": str(complaint_id)}),
                    )

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CLIENTS)))
    elapsed = time.perf_counter() - started
    await pool.close()
    return REQUESTS / elapsed


def main() -> None:
    """Measure and report."""
    with infrastructure() as infra:
        url = asyncio.run(create_database(infra.postgres_server_url, "bench_p1", COMPLAINT_SVC))
        dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        common = {
            "AUTH_JWT_SECRET": SECRET,
            "KAFKA_BOOTSTRAP_SERVERS": infra.kafka_bootstrap,
            "COMPLAINT_SVC_DATABASE_URL": url,
            # One server process per core (the service is CPU-bound Python), pools sharing the
            # 32 connections the floor uses.
            "COMPLAINT_SVC_WORKERS": str(WORKERS),
            "COMPLAINT_SVC_DATABASE_POOL_SIZE": str(CLIENTS // WORKERS),
        }
        throughputs: list[float] = []
        latencies: list[float] = []
        floors: list[float] = []
        with service_process("complaint_svc", "COMPLAINT_SVC_", free_port(), common) as service:
            gateway_env = {
                **common,
                **{
                    f"GATEWAY_{name}_SVC_URL": service
                    for name in ("CUSTOMER", "VALUATION", "COMPLAINT", "SURVEY")
                },
                "GATEWAY_RATE_LIMIT_DEFAULT": '{"rate": 100000, "burst": 100000}',
            }
            with service_process("gateway", "GATEWAY_", free_port(), gateway_env) as gateway:
                asyncio.run(intake_round(gateway, 10_000_000))  # warm-up
                asyncio.run(floor_round(dsn, 10_000_000))
                for round_number in range(ROUNDS):
                    rate, round_latencies = asyncio.run(
                        intake_round(gateway, round_number * REQUESTS)
                    )
                    throughputs.append(rate)
                    latencies.extend(round_latencies)
                    floors.append(asyncio.run(floor_round(dsn, round_number * REQUESTS)))
    median = statistics.median(throughputs)
    floor = statistics.median(floors)
    p99_ms = percentile(latencies, 0.99) * 1000
    ratio = median / floor
    Result(
        id="P1",
        scenario="complaint intake via gateway, 32 clients",
        metric="complaints per second",
        unit="req/s",
        median=median,
        spread=spread_of(throughputs),
        rounds=ROUNDS,
        target=">= 500/s, p99 <= 150 ms",
        floor_metric="raw asyncpg same inserts, 32 connections",
        floor_median=floor,
        ratio=ratio,
        ratio_target=">= 0.25",
        met=median >= 500 and p99_ms <= 150 and ratio >= 0.25,
        extra={
            "p99_ms": p99_ms,
            "p50_ms": percentile(latencies, 0.5) * 1000,
            "requests_per_round": REQUESTS,
            "complaint_svc_workers": WORKERS,
            "scale": SCALE,
        },
    ).dump()


if __name__ == "__main__":
    main()
