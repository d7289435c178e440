"""P7: latency the gateway adds to `GET /api/v1/customers/{id}` (target ≤ 2 ms at the median).

Floor: the same GET straight to customer-svc, measured in the same run, interleaved.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
import uuid
from pathlib import Path

import httpx

from bench.common import Result, create_database, infrastructure, percentile, service_process
from retailcare_shared.auth import issue_token
from retailcare_shared.devstack import free_port

SECRET = "bench-secret-0123456789-0123456789-abcd"
SCALE = float(os.environ.get("BENCH_SCALE", "1"))
REQUESTS = max(200, int(5000 * SCALE))
CUSTOMER_SVC = Path(__file__).resolve().parents[1] / "services" / "customer-svc"


async def measure(client: httpx.AsyncClient, url: str, headers: dict[str, str]) -> float:
    started = time.perf_counter()
    response = await client.get(url, headers=headers)
    elapsed = time.perf_counter() - started
    response.raise_for_status()
    return elapsed


async def run(direct: str, gateway: str) -> tuple[list[float], list[float]]:
    headers = {"Authorization": "Bearer " + issue_token(SECRET, sub="bench", roles=["admin"])}
    async with httpx.AsyncClient(timeout=10) as client:
        body = {
            "license_no": f"B{uuid.uuid4().hex[:11]}",
            "name": "Bench Store",
            "county": "330102",
            "district": "D1",
            "market_type": "urban",
            "business_format": "grocery",
        }
        created = await client.post(f"{direct}/api/v1/customers", json=body, headers=headers)
        created.raise_for_status()
        path = f"/api/v1/customers/{created.json()['id']}"
        for _ in range(200):  # warm both paths
            await measure(client, direct + path, headers)
            await measure(client, gateway + path, headers)
        straight, through = [], []
        for _ in range(REQUESTS):  # interleaved so both see the same machine state
            straight.append(await measure(client, direct + path, headers))
            through.append(await measure(client, gateway + path, headers))
    return straight, through


def main() -> None:
    """Measure and report."""
    with infrastructure() as infra:
        url = asyncio.run(create_database(infra.postgres_server_url, "bench_p7", CUSTOMER_SVC))
        common = {
            "AUTH_JWT_SECRET": SECRET,
            "KAFKA_BOOTSTRAP_SERVERS": infra.kafka_bootstrap,
            "CUSTOMER_SVC_DATABASE_URL": url,
        }
        with service_process("customer_svc", "CUSTOMER_SVC_", free_port(), common) as direct:
            gateway_env = {
                **common,
                **{
                    f"GATEWAY_{name}_SVC_URL": direct
                    for name in ("CUSTOMER", "VALUATION", "COMPLAINT", "SURVEY")
                },
                "GATEWAY_RATE_LIMIT_DEFAULT": '{"rate": 100000, "burst": 100000}',
            }
            with service_process("gateway", "GATEWAY_", free_port(), gateway_env) as gateway:
                straight, through = asyncio.run(run(direct, gateway))
    added = [(b - a) * 1000 for a, b in zip(straight, through, strict=True)]
    median_added = statistics.median(added)
    Result(
        id="P7",
        scenario="gateway overhead, GET /api/v1/customers/{id}",
        metric="added latency (median)",
        unit="ms",
        median=median_added,
        spread=(percentile(added, 0.75) - percentile(added, 0.25)) / 2,
        rounds=REQUESTS,
        target="<= 2 ms added (median)",
        floor_metric="direct GET median",
        floor_median=statistics.median(straight) * 1000,
        ratio=statistics.median(through) / statistics.median(straight),
        ratio_target="through / direct",
        met=median_added <= 2.0,
        extra={
            "direct_median_ms": statistics.median(straight) * 1000,
            "gateway_median_ms": statistics.median(through) * 1000,
        },
    ).dump()


if __name__ == "__main__":
    main()
