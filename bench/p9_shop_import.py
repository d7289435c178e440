"""P9: bulk import of shops, `POST /api/v1/imports?kind=shops` with a 500,000-row CSV.

The clock runs from the first byte of the upload until `GET /api/v1/imports/{id}` says
`completed`: streaming the file to disk, decoding, checking every row with the API's rules,
COPY into the staging table, then the background merge (shops, version 1 of each, search terms,
one `customer.registered` outbox row per shop) in one transaction. customer-svc runs as one
real uvicorn process (`python -m customer_svc serve`, default settings: relay on). Between
rounds the benchmark waits, untimed, until the relay has published the round's events.

Floor, measured in the same run: COPY of the same shops (same columns, search terms computed
before the clock) into the same `customers` table, one transaction. Ratio = service rows/s /
COPY rows/s, target >= 0.25 (issue 15).

BENCH_SCALE (default 1) scales the rows per file (500,000 at 1).
"""

from __future__ import annotations

import asyncio
import csv
import io
import os
import statistics
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from sqlalchemy.engine import make_url

from bench.common import Result, create_database, drain, infrastructure, service_process, spread_of
from customer_svc.customers.search_terms import search_terms
from retailcare_shared.auth import issue_token
from retailcare_shared.devstack import free_port

SECRET = "bench-secret-0123456789-0123456789-abcd"
SCALE = float(os.environ.get("BENCH_SCALE", "1"))
ROWS = max(1000, round(500_000 * SCALE))
ROUNDS = 3
CUSTOMER_SVC = Path(__file__).resolve().parents[1] / "services" / "customer-svc"
HEADER = [
    "license_no",
    "name",
    "owner_name",
    "phones",
    "address",
    "county",
    "district",
    "market_type",
    "business_format",
    "scale",
    "trading_area",
]
NAMES = ["幸福便利店", "红塔山烟酒", "老街小卖部", "阳光超市", "Lucky Mart", "平安商行"]
STREETS = ["解放路", "人民路", "中山路", "建设路", "文一路", "Wulin Road"]
FORMATS = ["grocery", "convenience", "supermarket", "tobacco_liquor"]
SCALES = ["large", "medium", "small"]


def shop_rows(tag: str) -> list[list[str]]:
    """ROWS shops with licences unique to `tag`."""
    return [
        [
            f"{tag}{index:08d}",
            f"{NAMES[index % len(NAMES)]}{index}",
            f"张{index % 97}",
            f"138{index:08d}",
            f"杭州市{STREETS[index % len(STREETS)]}{index % 500}号",
            "330102",
            f"D{index % 40:02d}",
            "urban" if index % 3 else "rural",
            FORMATS[index % len(FORMATS)],
            SCALES[index % len(SCALES)],
            "residential",
        ]
        for index in range(ROWS)
    ]


def csv_body(rows: list[list[str]]) -> bytes:
    """The upload: a UTF-8 CSV with a header."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER)
    writer.writerows(rows)
    return out.getvalue().encode()


def floor_records(rows: list[list[str]]) -> list[tuple[Any, ...]]:
    """The customers rows the import writes for the same shops (search terms included)."""
    return [
        (
            uuid.uuid4(),
            row[0],
            row[1],
            row[2],
            [row[3]],
            row[4],
            row[5],
            row[6],
            row[7],
            row[8],
            row[9],
            row[10],
            "active",
            1,
            search_terms(row[1], row[4], row[2]),
        )
        for row in rows
    ]


FLOOR_COLUMNS = [
    "id",
    *HEADER,
    "status",
    "version",
    "search_terms",
]


async def service_round(base_url: str, body: bytes) -> float:
    """Upload one file and wait until its job completes; rows/s."""
    token = issue_token(SECRET, sub="bench-admin", roles=["admin"], ttl_seconds=3600)
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(timeout=1800) as client:
        started = time.perf_counter()
        response = await client.post(
            base_url + "/api/v1/imports",
            params={"kind": "shops"},
            content=body,
            headers={**headers, "content-type": "text/csv"},
        )
        if response.status_code != 202:
            raise RuntimeError(f"{response.status_code}: {response.text[:500]}")
        job_url = base_url + f"/api/v1/imports/{response.json()['id']}"
        while True:
            job = (await client.get(job_url, headers=headers)).json()
            if job["status"] == "completed":
                break
            if job["status"] == "failed":
                raise RuntimeError(f"import failed: {job}")
            await asyncio.sleep(0.05)
        elapsed = time.perf_counter() - started
    if job["progress"]["rows_imported"] != ROWS:
        raise RuntimeError(f"only {job['progress']['rows_imported']} rows imported")
    return ROWS / elapsed


async def floor_round(dsn: str, records: list[tuple[Any, ...]]) -> float:
    """COPY the same shops into customers in one transaction; rows/s."""
    connection = await asyncpg.connect(dsn)
    try:
        started = time.perf_counter()
        async with connection.transaction():
            await connection.copy_records_to_table(
                "customers", records=records, columns=FLOOR_COLUMNS
            )
        elapsed = time.perf_counter() - started
    finally:
        await connection.close()
    return len(records) / elapsed


def main() -> None:
    """Measure and report."""
    with infrastructure() as infra:
        url = asyncio.run(create_database(infra.postgres_server_url, "bench_p9", CUSTOMER_SVC))
        dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        environment = {
            "AUTH_JWT_SECRET": SECRET,
            "KAFKA_BOOTSTRAP_SERVERS": infra.kafka_bootstrap,
            "CUSTOMER_SVC_DATABASE_URL": url,
        }
        throughputs: list[float] = []
        floors: list[float] = []
        drains: list[float] = []
        body_bytes = 0
        with service_process("customer_svc", "CUSTOMER_SVC_", free_port(), environment) as base:
            for number in range(ROUNDS):
                body = csv_body(shop_rows(f"S{number}"))
                body_bytes = len(body)
                records = floor_records(shop_rows(f"F{number}"))
                throughputs.append(asyncio.run(service_round(base, body)))
                drains.append(asyncio.run(drain(dsn, timeout=1800, interval=0.5)))
                floors.append(asyncio.run(floor_round(dsn, records)))
    median = statistics.median(throughputs)
    floor = statistics.median(floors)
    ratio = median / floor
    Result(
        id="P9",
        scenario=f"shop import, {ROWS:,}-row CSV to completed job",
        metric="rows per second",
        unit="rows/s",
        median=median,
        spread=spread_of(throughputs),
        rounds=ROUNDS,
        target="ratio >= 0.25 to COPY",
        floor_metric="COPY of the same shops into customers, 1 transaction",
        floor_median=floor,
        ratio=ratio,
        ratio_target=">= 0.25",
        met=ratio >= 0.25,
        extra={
            "rows_per_file": ROWS,
            "seconds_per_file_median": ROWS / median,
            "body_bytes": body_bytes,
            "scale": SCALE,
            "service": "1 x python -m customer_svc serve (uvicorn), default settings",
            "relay_drain_seconds_median": statistics.median(drains),
        },
    ).dump()


if __name__ == "__main__":
    main()
