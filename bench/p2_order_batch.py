"""P2: order sync, `POST /api/v1/orders/batch`, 1,000 orders x 10 lines per call, 4 callers.

Target: >= 5,000 orders/s (50,000 lines/s). customer-svc runs as REPLICAS (default 2, one per
core) identical uvicorn processes (`python -m customer_svc serve`, default settings: relay and
consumers on; the relays take turns through their advisory lock), as it is deployed; the 4
callers are spread over the replicas and post pre-serialised bodies straight to the service (no
gateway: P7 measures the gateway). Each call validates every order, computes amounts and writes
orders, lines and one `order.placed` outbox row per order in one statement. After each round the
benchmark waits (untimed, reported) until the relays have published the round's events, so the
floor never runs while the service is still busy.

Floor, measured in the same run: COPY of the same rows (orders, lines, outbox rows with the
same event bytes) into the same tables, one transaction per 1,000-order batch, 4 connections at
once. Ratio = service orders/s / COPY orders/s, target >= 0.25.

BENCH_SCALE (default 1) scales the number of calls per caller per round (at least one).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import statistics
import time
import uuid
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from sqlalchemy.engine import make_url

from bench.common import Result, create_database, drain, infrastructure, service_process, spread_of
from retailcare_shared.auth import issue_token
from retailcare_shared.devstack import free_port
from retailcare_shared.events import OrderLine, OrderPlaced, build_envelope, encode

SECRET = "bench-secret-0123456789-0123456789-abcd"
SCALE = float(os.environ.get("BENCH_SCALE", "1"))
CALLERS = 4
ORDERS_PER_CALL = 1000
LINES_PER_ORDER = 10
CALLS_PER_CALLER = max(1, round(5 * SCALE))
REPLICAS = int(os.environ.get("BENCH_P2_REPLICAS", "2"))
ROUNDS = 3
SHOP_COUNT = 2000
CUSTOMER_SVC = Path(__file__).resolve().parents[1] / "services" / "customer-svc"
BRANDS = ["Liqun", "Zhonghua", "Yuxi", "Huanghelou", "Furongwang", "Nanjing", "Yunyan"]


def make_batch(tag: str, shops: list[uuid.UUID]) -> list[dict[str, Any]]:
    """1,000 orders of 10 lines, order numbers unique to `tag`."""
    today = date.today().isoformat()
    orders = []
    for index in range(ORDERS_PER_CALL):
        orders.append(
            {
                "order_no": f"{tag}-{index:04d}",
                "customer_id": str(shops[(hash(tag) + index) % len(shops)]),
                "order_date": today,
                "settlement": "e_settlement" if index % 3 else "cash",
                "lines": [
                    {
                        "sku": f"69010280{line:05d}",
                        "brand": BRANDS[line % len(BRANDS)],
                        "quantity": 1 + (index + line) % 9,
                        "unit_price": f"{100 + line * 17}.50",
                        "gross_profit": f"{20 + line}.00",
                        "key_brand": line % 4 == 0,
                        "promoted": line % 5 == 0,
                    }
                    for line in range(LINES_PER_ORDER)
                ],
            }
        )
    return orders


def copy_rows(orders: list[dict[str, Any]]) -> tuple[list[tuple[Any, ...]], ...]:
    """The rows the service would write for these orders (orders, lines, outbox)."""
    order_rows, line_rows, outbox_rows = [], [], []
    for order in orders:
        order_id = uuid.uuid4()
        customer_id = uuid.UUID(order["customer_id"])
        amounts = [Decimal(line["unit_price"]) * line["quantity"] for line in order["lines"]]
        total = sum(amounts, Decimal("0.00"))
        quantity = sum(line["quantity"] for line in order["lines"])
        order_rows.append(
            (
                order_id,
                order["order_no"],
                customer_id,
                date.fromisoformat(order["order_date"]),
                order["settlement"],
                total,
                quantity,
                len(order["lines"]),
                "placed",
                "floor",
            )
        )
        for line_no, (line, amount) in enumerate(zip(order["lines"], amounts, strict=True), 1):
            line_rows.append(
                (
                    order_id,
                    line_no,
                    line["sku"],
                    line["brand"],
                    line["quantity"],
                    Decimal(line["unit_price"]),
                    amount,
                    Decimal(line["gross_profit"]),
                    line["key_brand"],
                    line["promoted"],
                )
            )
        envelope = build_envelope(
            OrderPlaced(
                order_id=order_id,
                order_no=order["order_no"],
                customer_id=customer_id,
                order_date=date.fromisoformat(order["order_date"]),
                settlement=order["settlement"],
                total_amount=total,
                total_quantity=quantity,
                lines=[
                    OrderLine(
                        sku=line["sku"],
                        brand=line["brand"],
                        quantity=line["quantity"],
                        unit_price=Decimal(line["unit_price"]),
                        amount=amount,
                        gross_profit=Decimal(line["gross_profit"]),
                        key_brand=line["key_brand"],
                        promoted=line["promoted"],
                    )
                    for line, amount in zip(order["lines"], amounts, strict=True)
                ],
            ),
            source="customer-svc",
            subject=str(customer_id),
        )
        outbox_rows.append(
            (envelope.id, "order-events", envelope.subject, envelope.type, encode(envelope))
        )
    return order_rows, line_rows, outbox_rows


async def seed_shops(dsn: str) -> list[uuid.UUID]:
    """SHOP_COUNT active shops, written directly (registration is not what P2 measures)."""
    shops = [uuid.uuid4() for _ in range(SHOP_COUNT)]
    connection = await asyncpg.connect(dsn)
    try:
        await connection.copy_records_to_table(
            "customers",
            records=[
                (shop, f"330102{index:08d}", f"Shop {index}", "330102", "urban", "active", 1)
                for index, shop in enumerate(shops)
            ],
            columns=["id", "license_no", "name", "county", "market_type", "status", "version"],
        )
    finally:
        await connection.close()
    return shops


async def service_round(base_urls: list[str], bodies: list[list[bytes]]) -> float:
    """Every caller posts its bodies one after another, 4 callers at once; orders/s."""
    token = issue_token(SECRET, sub="bench-platform", roles=["order_platform"], ttl_seconds=3600)
    headers = {"Authorization": f"Bearer {token}", "content-type": "application/json"}
    async with httpx.AsyncClient(timeout=120) as client:

        async def caller(base_url: str, own: list[bytes]) -> int:
            accepted = 0
            for body in own:
                response = await client.post(
                    base_url + "/api/v1/orders/batch", content=body, headers=headers
                )
                if response.status_code != 200:
                    raise RuntimeError(f"{response.status_code}: {response.text[:500]}")
                result = response.json()
                if result["accepted"] != ORDERS_PER_CALL:
                    raise RuntimeError(f"only {result['accepted']} orders accepted")
                accepted += result["accepted"]
            return accepted

        started = time.perf_counter()
        counts = await asyncio.gather(
            *(caller(base_urls[index % len(base_urls)], own) for index, own in enumerate(bodies))
        )
        elapsed = time.perf_counter() - started
    return sum(counts) / elapsed


async def floor_round(dsn: str, batches: list[list[tuple[list[Any], ...]]]) -> float:
    """COPY the same rows, one transaction per batch, 4 connections at once; orders/s."""
    connections = [await asyncpg.connect(dsn) for _ in range(CALLERS)]

    async def copier(connection: asyncpg.Connection, own: list[tuple[list[Any], ...]]) -> int:
        written = 0
        for order_rows, line_rows, outbox_rows in own:
            async with connection.transaction():
                await connection.copy_records_to_table(
                    "orders",
                    records=order_rows,
                    columns=[
                        "id",
                        "order_no",
                        "customer_id",
                        "order_date",
                        "settlement",
                        "total_amount",
                        "total_quantity",
                        "line_count",
                        "status",
                        "created_by",
                    ],
                )
                await connection.copy_records_to_table(
                    "order_lines",
                    records=line_rows,
                    columns=[
                        "order_id",
                        "line_no",
                        "sku",
                        "brand",
                        "quantity",
                        "unit_price",
                        "amount",
                        "gross_profit",
                        "key_brand",
                        "promoted",
                    ],
                )
                await connection.copy_records_to_table(
                    "outbox",
                    records=outbox_rows,
                    columns=["event_id", "topic", "key", "event_type", "value"],
                )
            written += len(order_rows)
        return written

    try:
        started = time.perf_counter()
        counts = await asyncio.gather(
            *(copier(connection, own) for connection, own in zip(connections, batches, strict=True))
        )
        elapsed = time.perf_counter() - started
    finally:
        for connection in connections:
            await connection.close()
    return sum(counts) / elapsed


def round_bodies(tag: str, shops: list[uuid.UUID]) -> list[list[bytes]]:
    """Pre-serialised request bodies: CALLS_PER_CALLER per caller, unique order numbers."""
    return [
        [
            json.dumps({"orders": make_batch(f"{tag}-c{caller}-b{call}", shops)}).encode()
            for call in range(CALLS_PER_CALLER)
        ]
        for caller in range(CALLERS)
    ]


def round_rows(tag: str, shops: list[uuid.UUID]) -> list[list[tuple[list[Any], ...]]]:
    """The floor's rows for a round, built before the clock starts."""
    return [
        [
            copy_rows(make_batch(f"{tag}-c{caller}-b{call}", shops))
            for call in range(CALLS_PER_CALLER)
        ]
        for caller in range(CALLERS)
    ]


def main() -> None:
    """Measure and report."""
    with infrastructure() as infra:
        url = asyncio.run(create_database(infra.postgres_server_url, "bench_p2", CUSTOMER_SVC))
        dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        shops = asyncio.run(seed_shops(dsn))
        environment = {
            "AUTH_JWT_SECRET": SECRET,
            "KAFKA_BOOTSTRAP_SERVERS": infra.kafka_bootstrap,
            "CUSTOMER_SVC_DATABASE_URL": url,
            "CUSTOMER_SVC_DATABASE_POOL_SIZE": str(CALLERS),
        }
        throughputs: list[float] = []
        floors: list[float] = []
        drains: list[float] = []
        body_bytes = 0
        with contextlib.ExitStack() as stack:
            bases = [
                stack.enter_context(
                    service_process("customer_svc", "CUSTOMER_SVC_", free_port(), environment)
                )
                for _ in range(REPLICAS)
            ]
            warm = round_bodies("warm", shops)
            body_bytes = len(warm[0][0])
            asyncio.run(service_round(bases, [own[:1] for own in warm]))
            asyncio.run(drain(dsn))
            asyncio.run(floor_round(dsn, [own[:1] for own in round_rows("fwarm", shops)]))
            for number in range(ROUNDS):
                bodies = round_bodies(f"r{number}", shops)
                throughputs.append(asyncio.run(service_round(bases, bodies)))
                drains.append(asyncio.run(drain(dsn)))
                floors.append(asyncio.run(floor_round(dsn, round_rows(f"f{number}", shops))))
    median = statistics.median(throughputs)
    floor = statistics.median(floors)
    ratio = median / floor
    Result(
        id="P2",
        scenario=f"order batch 1,000x10, 4 callers, {REPLICAS} replicas",
        metric="orders per second",
        unit="orders/s",
        median=median,
        spread=spread_of(throughputs),
        rounds=ROUNDS,
        target=">= 5,000 orders/s",
        floor_metric="COPY of the same rows (orders, lines, outbox), 4 connections",
        floor_median=floor,
        ratio=ratio,
        ratio_target=">= 0.25",
        met=median >= 5000 and ratio >= 0.25,
        extra={
            "lines_per_second": median * LINES_PER_ORDER,
            "calls_per_caller_per_round": CALLS_PER_CALLER,
            "body_bytes": body_bytes,
            "scale": SCALE,
            "service": f"{REPLICAS} x python -m customer_svc serve (uvicorn), default settings",
            "replicas": REPLICAS,
            "relay_drain_seconds_median": statistics.median(drains),
        },
    ).dump()


if __name__ == "__main__":
    main()
