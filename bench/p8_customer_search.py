"""P8: Chinese search, `GET /api/v1/customers?q=<2 characters>` on 500,000 shops (p95 ≤ 50 ms).

500,000 shops with generated Chinese names (place + word + format: 西湖幸福超市, 张记烟酒店),
addresses (区 + road + number + estate) and owners, loaded by COPY with their search terms
(customers/search_terms.py, as the service writes them), then the first page (50) of a spread of
common 2-character fragments — shop formats (超市, 便利), words (幸福), places (西湖), roads
(中山), surnames (王记) — through customer-svc over HTTP, a few concurrent clients.
Floor, measured in the same run: the statement the service runs (repository.text_search,
compiled) straight on asyncpg, same clients, interleaved round by round.
"""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from sqlalchemy.dialects.postgresql import asyncpg as pg_asyncpg

from bench.common import (
    Result,
    create_database,
    infrastructure,
    percentile,
    service_process,
    spread_of,
)
from customer_svc.customers import repository
from customer_svc.customers.search_terms import search_terms
from retailcare_shared.auth import issue_token
from retailcare_shared.devstack import free_port
from retailcare_shared.http import PageParams

SECRET = "bench-secret-0123456789-0123456789-abcd"
SCALE = float(os.environ.get("BENCH_SCALE", "1"))
SHOPS = max(5_000, int(500_000 * SCALE))
ROUNDS = max(3, int(os.environ.get("BENCH_P8_ROUNDS", "20")))
CLIENTS = 4
TARGET_P95_MS = 50.0
CUSTOMER_SVC = Path(__file__).resolve().parents[1] / "services" / "customer-svc"

PLACES = [
    "西湖",
    "滨江",
    "拱墅",
    "上城",
    "萧山",
    "余杭",
    "临平",
    "富阳",
    "临安",
    "桐庐",
    "淳安",
    "建德",
    "钱塘",
    "下沙",
    "三墩",
    "古荡",
    "翠苑",
    "城东",
    "城西",
    "城南",
    "城北",
    "新城",
    "老街",
    "江南",
    "江北",
    "河西",
    "湖滨",
    "南星",
    "望江",
    "闸弄",
    "九堡",
    "丁桥",
    "半山",
    "瓶窑",
]
WORDS = [
    "幸福",
    "红旗",
    "金鑫",
    "华联",
    "万家",
    "佳佳",
    "好又多",
    "永辉",
    "联华",
    "东方",
    "兴隆",
    "发达",
    "顺发",
    "长青",
    "友谊",
    "吉祥",
    "和平",
    "光明",
    "阳光",
    "春天",
    "新世纪",
    "百姓",
    "家家乐",
    "惠民",
    "便民",
    "利民",
    "诚信",
    "鑫源",
    "恒丰",
    "明珠",
    "龙腾",
    "旺角",
]
SURNAMES = [
    "王",
    "李",
    "张",
    "刘",
    "陈",
    "杨",
    "黄",
    "赵",
    "吴",
    "周",
    "徐",
    "孙",
    "马",
    "朱",
    "胡",
    "郭",
    "何",
    "高",
    "林",
    "罗",
    "郑",
    "梁",
    "谢",
    "宋",
    "唐",
]
GIVEN = [
    "伟",
    "芳",
    "娜",
    "敏",
    "静",
    "丽",
    "强",
    "磊",
    "军",
    "洋",
    "勇",
    "艳",
    "杰",
    "娟",
    "涛",
    "明",
    "超",
    "秀英",
    "华",
    "平",
    "刚",
    "桂英",
    "建国",
    "海燕",
]
FORMATS = [
    "超市",
    "便利店",
    "烟酒店",
    "商店",
    "小卖部",
    "食杂店",
    "烟酒行",
    "副食店",
    "百货店",
    "批发部",
    "便利超市",
    "烟酒商行",
    "购物中心",
    "杂货铺",
    "商行",
]
DISTRICTS = [
    "西湖区",
    "滨江区",
    "拱墅区",
    "上城区",
    "萧山区",
    "余杭区",
    "临平区",
    "富阳区",
    "钱塘区",
]
ROADS = [
    "中山",
    "解放",
    "人民",
    "建设",
    "文三",
    "文二",
    "教工",
    "学院",
    "天目山",
    "延安",
    "庆春",
    "凤起",
    "体育场",
    "环城",
    "秋涛",
    "江城",
    "莫干山",
    "湖墅",
    "东新",
    "石桥",
    "留和",
    "古墩",
    "紫荆花",
    "丰潭",
    "余杭塘",
    "五常",
    "创业",
    "振华",
    "新华",
    "和平",
]
STREET_KINDS = ["路", "街", "大道", "巷", "弄"]
ESTATES = ["小区", "花园", "新村", "公寓", "苑", "家园"]
FRAGMENTS = [
    "超市",
    "便利",
    "烟酒",
    "商店",
    "食杂",
    "百货",
    "幸福",
    "华联",
    "万家",
    "联华",
    "西湖",
    "滨江",
    "萧山",
    "城东",
    "中山",
    "解放",
    "人民",
    "建设",
    "王记",
    "张记",
    "李记",
    "新村",
    "花园",
    "好又",
]


def shop_names(rng: random.Random) -> Iterator[tuple[str, str, str]]:
    """Endless (name, address, owner) triples shaped like a provincial licence register."""
    while True:
        surname = rng.choice(SURNAMES)
        owner = surname + rng.choice(GIVEN)
        style = rng.random()
        if style < 0.45:
            name = rng.choice(PLACES) + rng.choice(WORDS) + rng.choice(FORMATS)
        elif style < 0.75:
            name = rng.choice(WORDS) + rng.choice(FORMATS)
        elif style < 0.9:
            name = surname + "记" + rng.choice(FORMATS)
        else:
            name = owner + rng.choice(FORMATS)
        address = (
            f"杭州市{rng.choice(DISTRICTS)}{rng.choice(ROADS)}{rng.choice(STREET_KINDS)}"
            f"{rng.randint(1, 999)}号"
        )
        if rng.random() < 0.5:
            address += rng.choice(ROADS[:10]) + rng.choice(ESTATES) + f"{rng.randint(1, 30)}幢"
        yield name, address, owner


COLUMNS = [
    "id",
    "license_no",
    "name",
    "owner_name",
    "address",
    "county",
    "district",
    "market_type",
    "business_format",
    "status",
    "version",
    "search_terms",
]


def records(count: int) -> list[tuple[Any, ...]]:
    """The shops to COPY, terms included."""
    rng = random.Random(8)
    names = shop_names(rng)
    rows = []
    for index in range(count):
        name, address, owner = next(names)
        rows.append(
            (
                uuid.UUID(int=rng.getrandbits(128), version=4),
                f"3301{index:010d}",
                name,
                owner,
                address,
                "33010" + str(index % 9 + 1),
                f"D{index % 40:02d}",
                "urban" if index % 3 else "rural",
                "convenience",
                "active",
                1,
                search_terms(name, address, owner),
            )
        )
    return rows


COPY_BATCH = 50_000


async def load(url: str) -> dict[str, float]:
    """COPY the shops (their keys written by the insert trigger; indexes dropped, rebuilt),
    vacuum and analyse; seconds per stage."""
    stages: dict[str, float] = {}
    started = time.perf_counter()
    rows = await asyncio.to_thread(records, SHOPS)
    stages["terms"] = time.perf_counter() - started
    connection = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
    try:
        started = time.perf_counter()
        await connection.execute(
            "DROP INDEX ix_customers_search_terms; DROP INDEX ix_customer_search_keys_customer;"
            " ALTER TABLE customer_search_keys DROP CONSTRAINT pk_customer_search_keys"
        )
        for start in range(0, len(rows), COPY_BATCH):
            await connection.copy_records_to_table(
                "customers", records=rows[start : start + COPY_BATCH], columns=COLUMNS
            )
        stages["copy"] = time.perf_counter() - started
        started = time.perf_counter()
        await connection.execute("SET maintenance_work_mem = '512MB'")
        await connection.execute(
            "CREATE INDEX ix_customers_search_terms ON customers USING gin (search_terms)"
            " WITH (fastupdate = off);"
            " ALTER TABLE customer_search_keys ADD CONSTRAINT pk_customer_search_keys"
            " PRIMARY KEY (term, tier, name_length, license_no, customer_id);"
            " CREATE INDEX ix_customer_search_keys_customer ON customer_search_keys (customer_id)"
        )
        await connection.execute("VACUUM ANALYZE customers")
        await connection.execute("VACUUM ANALYZE customer_search_keys")
        stages["index"] = time.perf_counter() - started
    finally:
        await connection.close()
    return stages


def service_sql(fragment: str) -> tuple[str, list[Any]]:
    """The statement customer-svc runs for `?q=<fragment>` as admin, compiled for asyncpg."""
    statement = repository.text_search(
        repository.search({}), fragment, PageParams(limit=50), owner_names=True
    )
    compiled = statement.compile(dialect=pg_asyncpg.dialect())  # type: ignore[no-untyped-call]
    return compiled.string, [compiled.params[name] for name in compiled.positiontup or []]


async def floor_round(url: str, queries: list[str]) -> list[float]:
    """The ranked index query straight on asyncpg, CLIENTS connections at once."""
    pool = await asyncpg.create_pool(
        url.replace("postgresql+asyncpg", "postgresql"), min_size=CLIENTS, max_size=CLIENTS
    )
    assert pool is not None
    durations: list[float] = []

    async def one(fragment: str) -> None:
        async with pool.acquire() as connection:
            sql, arguments = service_sql(fragment)
            started = time.perf_counter()
            await connection.fetch(sql, *arguments)
            durations.append(time.perf_counter() - started)

    try:
        await _fan_out(queries, one)
    finally:
        await pool.close()
    return durations


async def service_round(base_url: str, queries: list[str]) -> tuple[list[float], dict[str, int]]:
    """The same fragments through the service over HTTP; seconds each, and hits per fragment."""
    headers = {"Authorization": "Bearer " + issue_token(SECRET, sub="bench", roles=["admin"])}
    durations: list[float] = []
    hits: dict[str, int] = {}
    limits = httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=CLIENTS)
    async with httpx.AsyncClient(base_url=base_url, timeout=30, limits=limits) as client:

        async def one(fragment: str) -> None:
            started = time.perf_counter()
            response = await client.get(
                "/api/v1/customers", params={"q": fragment}, headers=headers
            )
            durations.append(time.perf_counter() - started)
            response.raise_for_status()
            hits[fragment] = len(response.json()["items"])

        await _fan_out(queries, one)
    return durations, hits


async def _fan_out(queries: list[str], one: Any) -> None:
    queue = list(queries)

    async def worker() -> None:
        while queue:
            await one(queue.pop())

    await asyncio.gather(*(worker() for _ in range(CLIENTS)))


async def match_counts(url: str) -> dict[str, int]:
    """How many shops each fragment matches (how hard each query is)."""
    connection = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
    try:
        return {
            fragment: await connection.fetchval(
                "SELECT count(*) FROM customer_search_keys WHERE term = $1", fragment
            )
            for fragment in FRAGMENTS
        }
    finally:
        await connection.close()


def main() -> None:
    """Load, measure service and floor interleaved round by round, report."""
    with infrastructure() as infra:
        url = asyncio.run(create_database(infra.postgres_server_url, "bench_p8", CUSTOMER_SVC))
        stages = asyncio.run(load(url))
        counts = asyncio.run(match_counts(url))
        environment = {
            "AUTH_JWT_SECRET": SECRET,
            "KAFKA_BOOTSTRAP_SERVERS": infra.kafka_bootstrap,
            "CUSTOMER_SVC_DATABASE_URL": url,
        }
        with service_process("customer_svc", "CUSTOMER_SVC_", free_port(), environment) as base:
            asyncio.run(service_round(base, FRAGMENTS))  # warm-up: caches, connections
            asyncio.run(floor_round(url, FRAGMENTS))
            through: list[float] = []
            floor: list[float] = []
            hits: dict[str, int] = {}
            for _ in range(ROUNDS):
                durations, hits = asyncio.run(service_round(base, FRAGMENTS))
                through += durations
                floor += asyncio.run(floor_round(url, FRAGMENTS))
    service_ms = [value * 1000 for value in through]
    floor_ms = [value * 1000 for value in floor]
    p95 = percentile(service_ms, 0.95)
    Result(
        id="P8",
        scenario=f"Chinese search ?q=<2 chars>, {SHOPS:,} shops, {CLIENTS} clients",
        metric="p95 latency",
        unit="ms",
        median=p95,
        spread=spread_of(service_ms),
        rounds=len(service_ms),
        target="p95 <= 50 ms",
        floor_metric="same ranked index query on asyncpg, p95",
        floor_median=percentile(floor_ms, 0.95),
        ratio=p95 / percentile(floor_ms, 0.95),
        ratio_target="service p95 / floor p95",
        met=p95 <= TARGET_P95_MS,
        extra={
            "shops": SHOPS,
            "p50_ms": statistics.median(service_ms),
            "p99_ms": percentile(service_ms, 0.99),
            "floor_p50_ms": statistics.median(floor_ms),
            "load_s": round(sum(stages.values()), 1),
            "stages_s": stages,
            "matches_per_fragment": counts,
            "page_items": hits,
        },
    ).dump()


if __name__ == "__main__":
    main()
