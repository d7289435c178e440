# ruff: noqa: RUF001  (Chinese names and complaint texts use full-width punctuation on purpose)
"""`make seed [SHOPS=5000]`: fill a running stack with a synthetic province, through the gateway.

Everything goes through the public API with the tokens the roles would hold (county supervisors
register their managers and shops, the ordering platform posts order batches, call-centre agents
take complaints, the province supervisor runs the valuation and the survey campaign), so the seed
exercises the same paths as real callers. The data is deterministic for a `--seed`; every run
claims a fresh *slice* (licence numbers, employee numbers and order numbers carry the slice tag),
so running it again adds another slice of the province instead of failing.

    python -m retailcare_shared.devseed --shops 5000 --gateway http://127.0.0.1:8080
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import sys
import time
import warnings
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, TypeVar

import httpx

from retailcare_shared.auth import issue_token
from retailcare_shared.workdays import COMPANY_TIME_ZONE

T = TypeVar("T")

# Gateway body limit is 1 MiB on most paths; keep every batch below it whatever the gateway allows.
MAX_BATCH_ORDERS = 1000
MAX_BATCH_BYTES = 1_000_000
REQUESTS_PER_SECOND_PER_CALLER = 40.0  # the gateway allows 50/s per token subject by default
CENT = Decimal("0.01")


class SeedError(RuntimeError):
    """The stack answered something the seed cannot work with."""


def log(message: str) -> None:
    """One progress line."""
    print(f"[seed] {message}", flush=True)


# --------------------------------------------------------------------------------------------
# The province: counties, districts, SKUs (fixed reference data) and the random generators
# --------------------------------------------------------------------------------------------


def words(text: str) -> tuple[str, ...]:
    """Space-separated words (keeps the long Chinese word lists compact)."""
    return tuple(text.split())


# (code, name, urban share): the districts of a city are mostly urban, its counties mostly rural.
COUNTIES: tuple[tuple[str, str, float], ...] = (
    ("330102", "上城区", 0.95),
    ("330105", "拱墅区", 0.92),
    ("330106", "西湖区", 0.85),
    ("330108", "滨江区", 0.95),
    ("330109", "萧山区", 0.65),
    ("330110", "余杭区", 0.60),
    ("330111", "富阳区", 0.45),
    ("330112", "临安区", 0.40),
    ("330122", "桐庐县", 0.30),
    ("330127", "淳安县", 0.20),
    ("330182", "建德市", 0.30),
)
TOWNS = words(
    "湖滨 清波 小营 望江 南星 紫阳 米市巷 大关 祥符 北山 灵隐 翠苑 文新 "
    "蒋村 西兴 长河 浦沿 城厢 北干 新塘 临平 五常 良渚 富春 东洲 锦城 "
    "於潜 桐君 分水 千岛湖 汾口 新安江 乾潭 "
)

STREETS = words(
    "解放路 延安路 中山路 文三路 建国路 人民路 环城西路 学院路 新华路 "
    "江南大道 市心路 迎宾路 富春街 城南路 滨江路 西湖大道 "
)

SHOP_WORDS = words(
    "好又多 佳佳 永兴 顺发 万家 惠民 鑫源 兴旺 金鑫 福满 百姓 邻里 华联 "
    "联华 老街 新城 阳光 和美 聚源 乐购 "
)

FORMAT_SUFFIX = {
    "grocery": "食杂店",
    "convenience": "便利店",
    "supermarket": "超市",
    "mall": "商场烟酒柜",
    "tobacco_liquor": "烟酒行",
    "entertainment": "娱乐会所",
    "other": "商行",
}
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程"
GIVEN = words(
    "伟 芳 娜 敏 静 丽 强 磊 军 洋 勇 艳 杰 娟 涛 明 超 秀英 华 "
    "建国 国平 海燕 志强 晓东 丹 萍 斌 红 "
)

HOBBIES = ("钓鱼", "象棋", "书法", "太极", "广场舞", "骑行", "茶艺", "摄影", "越剧", "登山")

# (brand, line, price class 1-5, key brand): key brands are the province's focus brands, whose
# SKU variety scores in the value model (`key_brand_variety`).
SKU_LINES: tuple[tuple[str, str, int, bool], ...] = tuple(
    (brand, line, int(price_class), key == "key")
    for brand, line, price_class, key in (
        row.split()
        for row in """
中华 硬 1 key
中华 软 1 key
中华 双中支 1 key
利群 新版 2 key
利群 阳光 2 key
利群 休闲 1 key
利群 软长嘴 2 key
利群 红利 3 key
利群 西子阳光 1 key
玉溪 软 2 key
玉溪 硬 2 key
玉溪 初心 2 key
云烟 软珍品 2 key
云烟 紫 3 key
云烟 印象 1 key
黄鹤楼 硬奇景 2 key
黄鹤楼 软蓝 2 key
黄鹤楼 1916 1 key
芙蓉王 硬 2 key
芙蓉王 蓝 2 key
南京 炫赫门 3 key
南京 雨花石 1 key
南京 红 3 key
红塔山 硬经典 3 -
红塔山 软 4 -
双喜 红 4 -
双喜 硬经典 3 -
白沙 精品 3 -
白沙 和天下 1 -
娇子 宽窄 3 -
黄山 红方印 3 -
黄山 一品 4 -
七匹狼 白 3 -
真龙 起源 3 -
贵烟 跨越 2 -
钻石 荷花 2 -
泰山 红将军 4 -
大前门 短支 5 -
红河 软甲 5 -
哈德门 精品 5 -
金圣 硬 5 -
长白山 777 3 -
苏烟 五星 1 -
好猫 金丝猴 4 -
""".strip().splitlines()
    )
)

PRICE_BANDS = {1: (480, 800), 2: (260, 420), 3: (150, 250), 4: (90, 150), 5: (45, 90)}


@dataclass(frozen=True)
class Sku:
    """One product: code, brand label, wholesale price per carton, margin, key brand."""

    code: str
    brand: str
    price: Decimal
    margin: Decimal
    price_class: int
    key_brand: bool


def sku_catalogue() -> list[Sku]:
    """The SKUs, identical for every seed (a fixed product list)."""
    rng = random.Random("retailcare-skus")
    skus = []
    for number, (brand, line, price_class, key) in enumerate(SKU_LINES):
        low, high = PRICE_BANDS[price_class]
        price = Decimal(rng.randrange(low, high)) + Decimal(rng.choice((0, 0, 50))) / 100
        margin = Decimal(rng.choice(("0.10", "0.11", "0.12", "0.13", "0.15")))
        skus.append(
            Sku(f"6901028{number:06d}", f"{brand}({line})", price, margin, price_class, key)
        )
    return skus


@dataclass(frozen=True)
class County:
    """A county with its districts (township codes)."""

    code: str
    name: str
    urban_share: float
    districts: tuple[str, ...]
    district_mood: dict[str, float]  # satisfaction offset per district (survey answers)


@dataclass
class Manager:
    """A customer manager to create."""

    employee_no: str
    name: str
    county: County
    districts: list[str]
    id: str | None = None


@dataclass
class Shop:
    """A shop to register, with what the seed needs to simulate its ordering."""

    index: int
    license_no: str
    county: County
    district: str
    market_type: str
    body: dict[str, Any]
    weekly_cartons: float
    e_settlement_share: float
    order_weekday: int
    assortment: list[Sku]
    licensed_on: date
    last_order_by: date  # dormant shops stop ordering earlier
    manager: Manager | None
    mood: float
    id: str | None = None
    orders: int = 0
    cartons: int = 0


def weighted(rng: random.Random, table: Mapping[str, float]) -> str:
    """Pick a key by weight."""
    return rng.choices(list(table), weights=list(table.values()))[0]


def person_name(rng: random.Random) -> str:
    """A plausible Chinese name."""
    return (
        rng.choice(SURNAMES) + rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.3 else "")
    )


def mobile(rng: random.Random) -> str:
    """A mainland mobile number."""
    return rng.choice(("138", "139", "135", "137", "150", "151", "158", "186", "187", "189")) + (
        f"{rng.randrange(10**8):08d}"
    )


def local_today() -> date:
    """Today in the company's time zone (order dates and analytics use it)."""
    return datetime.now(COMPANY_TIME_ZONE).date()


def add_months(day: date, months: int) -> date:
    """First day of the month `months` away from the day's month."""
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def order_window(today: date, weeks: int) -> date:
    """First order date: `weeks` back, but never before the 1st of the month two months ago.

    Keeping the orders inside three calendar months lets the seed check, through
    `GET /sales-anomalies`, that valuation-svc has counted every order before the run.
    """
    return max(today - timedelta(weeks=weeks) + timedelta(days=1), add_months(today, -2))


def build_counties(rng: random.Random, shops: int) -> list[County]:
    """Enough counties for the shops (about 500 a county), each with 4-8 districts."""
    count = max(2, min(len(COUNTIES), math.ceil(shops / 500)))
    counties = []
    for code, name, urban in COUNTIES[:count]:
        districts = tuple(f"{code}{n:03d}" for n in range(1, rng.randint(4, 8) + 1))
        mood = {d: rng.choice((-0.9, -0.4, 0.0, 0.0, 0.2, 0.4)) for d in districts}
        counties.append(County(code, name, urban, districts, mood))
    return counties


def build_managers(
    rng: random.Random, counties: list[County], shops: int, tag: str
) -> list[Manager]:
    """About one manager per 120 shops, at least two a county, each with a few districts."""
    per_county = max(2, round(shops / len(counties) / 120))
    managers = []
    for county in counties:
        for n in range(per_county):
            districts = [
                d for i, d in enumerate(county.districts) if i % per_county == n % per_county
            ]
            managers.append(
                Manager(f"{tag}-{county.code}-{n + 1:02d}", person_name(rng), county, districts)
            )
    return managers


FORMATS = {
    "urban": {
        "convenience": 30,
        "grocery": 20,
        "tobacco_liquor": 18,
        "supermarket": 12,
        "mall": 5,
        "entertainment": 5,
        "other": 10,
    },
    "rural": {
        "grocery": 50,
        "tobacco_liquor": 15,
        "convenience": 15,
        "supermarket": 8,
        "mall": 2,
        "entertainment": 3,
        "other": 7,
    },
}
AREAS = {
    "urban": {
        "residential": 35,
        "commercial": 25,
        "transit_hub": 8,
        "campus": 6,
        "government_business": 6,
        "industrial": 8,
        "other": 12,
    },
    "rural": {"residential": 50, "commercial": 10, "industrial": 10, "other": 30},
}
SCALES = {
    "supermarket": {"large": 45, "medium": 45, "small": 10},
    "mall": {"large": 60, "medium": 35, "small": 5},
    "tobacco_liquor": {"large": 15, "medium": 45, "small": 40},
    "convenience": {"large": 5, "medium": 45, "small": 50},
    "grocery": {"large": 2, "medium": 23, "small": 75},
    "entertainment": {"large": 10, "medium": 40, "small": 50},
    "other": {"large": 5, "medium": 25, "small": 70},
}
SIZE_CARTONS = {"large": 38.0, "medium": 16.0, "small": 6.0}


def build_shop(
    rng: random.Random,
    index: int,
    tag: str,
    county: County,
    managers: list[Manager],
    skus: list[Sku],
    today: date,
) -> Shop:
    """One shop with varied, internally consistent attributes."""
    market = "urban" if rng.random() < county.urban_share else "rural"
    business_format = weighted(rng, FORMATS[market])
    scale = weighted(rng, SCALES[business_format])
    district = rng.choice(county.districts)
    owner = person_name(rng)
    roll = rng.random()
    if roll < 0.03:  # newly licensed: too new to be valued (`new_licence`)
        licensed_on = today - timedelta(days=rng.randint(3, 25))
    elif roll < 0.10:
        licensed_on = today - timedelta(days=rng.randint(40, 330))
    else:
        licensed_on = date(rng.randint(2006, 2024), rng.randint(1, 12), rng.randint(1, 28))
    store_area = round(
        {"large": 220.0, "medium": 80.0, "small": 25.0}[scale] * rng.uniform(0.6, 1.8)
    )
    consent = rng.random() < 0.6
    own_managers = [m for m in managers if m.county is county and district in m.districts]
    manager = rng.choice(own_managers) if own_managers and rng.random() < 0.97 else None
    body: dict[str, Any] = {
        "license_no": f"{tag}{county.code}{index:05d}",
        "name": f"{rng.choice(TOWNS)}{rng.choice(SHOP_WORDS)}{FORMAT_SUFFIX[business_format]}",
        "owner_name": owner,
        "phones": [mobile(rng)] + ([mobile(rng)] if rng.random() < 0.25 else []),
        "address": f"{county.name}{rng.choice(STREETS)}{rng.randint(1, 999)}号",
        "county": county.code,
        "district": district,
        "market_type": market,
        "trading_area": weighted(rng, AREAS[market]),
        "business_format": business_format,
        "scale": scale,
        "order_method": weighted(rng, {"web": 45, "app": 35, "phone": 20}),
        "business_hours": 24.0
        if business_format == "convenience" and rng.random() < 0.4
        else float(rng.choice((9, 10, 11, 12, 12.5, 13, 14, 15, 16))),
        "display_form": weighted(
            rng,
            {
                "dedicated_cabinet": 20,
                "counter_prominent": 30,
                "counter_other": 25,
                "shelf": 12,
                "window": 8,
                "other": 5,
            },
        ),
        "display_sku_count": max(
            3, int(rng.gauss({"large": 30, "medium": 18, "small": 10}[scale], 5))
        ),
        "renown": weighted(
            rng, {"national": 1, "city": 5, "district": 15, "street": 45, "none": 34}
        ),
        "reputation": weighted(rng, {"good": 70, "average": 30}),
        "compliance_grade": weighted(rng, {"A": 62, "B": 24, "C": 10, "none": 4}),
        "price_labeling": weighted(rng, {"price_board": 55, "price_tags": 38, "none": 7}),
        "store_area_m2": store_area,
        "tobacco_area_m2": round(store_area * rng.uniform(0.05, 0.3), 1),
        "self_operated": rng.random() < 0.01,
        "licensed_on": licensed_on.isoformat(),
        "personal_data_consent": consent,
    }
    if consent:
        body["birthday"] = date(
            rng.randint(1960, 1998), rng.randint(1, 12), rng.randint(1, 28)
        ).isoformat()
        body["hobbies"] = "、".join(rng.sample(HOBBIES, rng.randint(1, 3)))
    if manager is not None:
        body["manager_id"] = None  # filled in once the manager exists
    weekly = SIZE_CARTONS[scale] * rng.lognormvariate(0, 0.45) * (0.8 if market == "rural" else 1.0)
    assortment_size = {"large": 34, "medium": 24, "small": 15}[scale]
    premium = {"large": 1.6, "medium": 1.0, "small": 0.6}[scale]
    weights = [
        (premium if s.price_class <= 2 else 1.0) * (1.5 if s.key_brand else 1.0) for s in skus
    ]
    assortment: list[Sku] = []
    while len(assortment) < assortment_size:
        pick = rng.choices(skus, weights=weights)[0]
        if pick not in assortment:
            assortment.append(pick)
    dormant = rng.random() < 0.02
    return Shop(
        index=index,
        license_no=body["license_no"],
        county=county,
        district=district,
        market_type=market,
        body=body,
        weekly_cartons=weekly,
        e_settlement_share=rng.choice((0.0, 0.3, 0.6, 0.85, 1.0, 1.0)),
        order_weekday=rng.randrange(6),
        assortment=assortment,
        licensed_on=licensed_on,
        last_order_by=today - timedelta(days=rng.randint(35, 50)) if dormant else today,
        manager=manager,
        mood=county.district_mood[district] + rng.gauss(0, 0.35),
    )


def shop_orders(
    shop: Shop, start: date, today: date, seed: str, promos: dict[int, set[str]]
) -> Iterator[dict[str, Any]]:
    """The shop's weekly orders (a week is skipped now and then)."""
    first = max(start, shop.licensed_on)
    day = first + timedelta(days=(shop.order_weekday - first.weekday()) % 7)
    while day <= min(today, shop.last_order_by):
        rng = random.Random(f"{seed}:order:{shop.index}:{day.isoformat()}")
        if rng.random() >= 0.06:
            week = (day - start).days // 7
            lines_wanted = min(len(shop.assortment), rng.randint(3, 10))
            chosen = rng.sample(shop.assortment, lines_wanted)
            target = max(lines_wanted, round(shop.weekly_cartons * rng.uniform(0.7, 1.3)))
            shares = [rng.random() + 0.2 for _ in chosen]
            total_share = sum(shares)
            lines = []
            for sku, share in zip(chosen, shares, strict=True):
                quantity = max(1, round(target * share / total_share))
                line: dict[str, Any] = {
                    "sku": sku.code,
                    "brand": sku.brand,
                    "quantity": quantity,
                    "unit_price": str(sku.price),
                    "gross_profit": str(
                        (sku.price * sku.margin * quantity).quantize(CENT, ROUND_HALF_UP)
                    ),
                }
                if sku.key_brand:
                    line["key_brand"] = True
                if sku.code in promos.get(week, set()):
                    line["promoted"] = True
                lines.append(line)
            yield {
                "order_no": f"{shop.license_no}-{day:%y%m%d}",
                "license_no": shop.license_no,
                "order_date": day.isoformat(),
                "settlement": "e_settlement" if rng.random() < shop.e_settlement_share else "cash",
                "lines": lines,
            }
        day += timedelta(days=7)


# --------------------------------------------------------------------------------------------
# The HTTP side: identities (one token per caller), pacing, retries
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Caller:
    """Who makes a request: one token subject with its roles and scope."""

    sub: str
    roles: tuple[str, ...]
    county: str | None = None
    manager_id: str | None = None


class Pacer:
    """Spaces one caller's requests so the gateway's per-subject rate limit is not hit."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate
        self.next_slot = 0.0
        self.lock = asyncio.Lock()

    async def wait(self) -> None:
        """Sleep until this caller's next slot."""
        async with self.lock:
            now = time.monotonic()
            slot = max(now, self.next_slot)
            self.next_slot = slot + self.interval
        if slot > now:
            await asyncio.sleep(slot - now)


class Api:
    """The gateway, with bounded concurrency, per-caller pacing and retries on 429/503."""

    def __init__(self, gateway: str, secret: str, concurrency: int) -> None:
        self.gateway = gateway.rstrip("/")
        self.secret = secret
        self.http = httpx.AsyncClient(
            base_url=self.gateway,
            timeout=httpx.Timeout(120.0, connect=5.0),
            limits=httpx.Limits(max_connections=concurrency + 4),
        )
        self.semaphore = asyncio.Semaphore(concurrency)
        self.tokens: dict[Caller, tuple[str, float]] = {}
        self.pacers: dict[str, Pacer] = {}
        self.requests = 0

    def token(self, caller: Caller) -> str:
        """A token for the caller, renewed before it expires."""
        cached = self.tokens.get(caller)
        if cached is None or cached[1] < time.monotonic():
            token = issue_token(
                self.secret,
                sub=caller.sub,
                roles=list(caller.roles),
                county=caller.county,
                manager_id=caller.manager_id,
            )
            cached = (token, time.monotonic() + 3000)
            self.tokens[caller] = cached
        return cached[0]

    async def call(
        self,
        caller: Caller | None,
        method: str,
        path: str,
        *,
        body: Any = None,
        content: bytes | None = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        ok: Sequence[int] = (200, 201, 202),
    ) -> httpx.Response:
        """One request; retried on 429/503 (after Retry-After) and on connection errors."""
        all_headers = dict(headers or {})
        if caller is not None:
            all_headers["Authorization"] = f"Bearer {self.token(caller)}"
        if content is not None:
            all_headers["Content-Type"] = "application/json"
        pacer_key = caller.sub if caller is not None else "public"
        rate = REQUESTS_PER_SECOND_PER_CALLER if caller is not None else 1.5
        pacer = self.pacers.setdefault(pacer_key, Pacer(rate))
        for attempt in range(10):
            await pacer.wait()
            try:
                async with self.semaphore:
                    self.requests += 1
                    response = await self.http.request(
                        method, path, json=body, content=content, params=params, headers=all_headers
                    )
            except httpx.TransportError as error:
                if attempt >= 4:
                    raise SeedError(f"{method} {path}: {error!r}") from error
                await asyncio.sleep(0.5 * (attempt + 1))
                continue
            if response.status_code in (429, 502, 503, 504) and attempt < 9:
                await asyncio.sleep(_retry_after(response, attempt))
                continue
            if response.status_code not in ok:
                raise SeedError(
                    f"{method} {path} answered {response.status_code}: {response.text[:800]}"
                )
            return response
        raise SeedError(f"{method} {path}: gave up after retries")

    async def json(self, caller: Caller | None, method: str, path: str, **kwargs: Any) -> Any:
        """`call` and decode the JSON answer."""
        return (await self.call(caller, method, path, **kwargs)).json()

    async def pages(
        self, caller: Caller, path: str, params: dict[str, Any] | None = None
    ) -> list[Any]:
        """Every item of a keyset-paginated list."""
        items: list[Any] = []
        query: dict[str, Any] = {**(params or {}), "limit": 500}
        while True:
            page = await self.json(caller, "GET", path, params=query)
            items.extend(page["items"])
            if not page.get("next_cursor"):
                return items
            query["cursor"] = page["next_cursor"]

    async def close(self) -> None:
        """Close the connection pool."""
        await self.http.aclose()


def _retry_after(response: httpx.Response, attempt: int) -> float:
    try:
        seconds = float(str(response.headers.get("retry-after", "")))
    except ValueError:
        seconds = 0.25 * 2**attempt
    return min(10.0, max(0.05, seconds))


async def gather_limited(
    items: Sequence[T], work: Callable[[T], Awaitable[Any]], label: str
) -> list[Any]:
    """Run `work` over items concurrently (the Api bounds the requests), with progress lines."""
    done = 0
    step = max(1, len(items) // 5)
    started = time.monotonic()

    async def one(item: T) -> Any:
        nonlocal done
        result = await work(item)
        done += 1
        if len(items) >= 50 and done % step == 0 and done < len(items):
            log(f"  {label}: {done}/{len(items)} ({time.monotonic() - started:.0f}s)")
        return result

    return list(await asyncio.gather(*(one(item) for item in items)))


# --------------------------------------------------------------------------------------------
# The seed itself
# --------------------------------------------------------------------------------------------

COMPLAINT_CATEGORIES: dict[str, tuple[float, str, str]] = {
    # category: (weight, service item, what the caller says)
    "brand_shortage": (14, "supply_allocation", "想订的利群(阳光)连续三周订不到货，希望增加投放。"),
    "scarce_allocation": (
        8,
        "supply_allocation",
        "紧俏品规分配不公平，隔壁店每周都有，我店一条都没有。",
    ),
    "supply_volume": (6, "supply_allocation", "本月订货总量被压得太低，不够卖。"),
    "damaged_goods": (7, "delivery", "送到的货有两条包装破损，要求调换。"),
    "wrong_items": (5, "delivery", "到货品种和订单不符，少了一条中华(软)。"),
    "forced_bundling": (4, "customer_manager_visit", "客户经理要求必须搭配滞销品规才能订紧俏烟。"),
    "price_fluctuation": (3, "other", "批发价格本月波动太大，利润没法保证。"),
    "staff_attitude": (8, "customer_manager_visit", "客户经理态度生硬，来了几分钟就走。"),
    "delivery_timeliness": (12, "delivery", "送货比约定时间晚了半天，影响周末销售。"),
    "settlement": (6, "online_ordering", "电子结算扣款失败但订单显示已扣款，请核实。"),
    "information_disclosure": (3, "supply_allocation", "货源投放规则不公开，不知道怎么才能多订。"),
    "contact_frequency": (2, "phone_ordering", "电话访问太频繁，一周打了四次。"),
    "market_regulation": (3, "market_supervision", "附近有无证售烟的，举报多次没人管。"),
    "network_layout": (2, "monopoly_enforcement", "同一条街新开了三家零售点，布局太密。"),
    "handling_dissatisfaction": (3, "after_sales_window", "上次投诉的问题说已解决，实际没有解决。"),
    "other_service": (2, "other", "订货网站晚上经常打不开。"),
}
CONSUMER_CATEGORIES: dict[str, tuple[float, str, str]] = {
    "counterfeit_suspected": (4, "market_supervision", "在该店买的香烟口感不对，怀疑是假烟。"),
    "overpricing": (5, "market_supervision", "该店售价明显高于标价，要求处理。"),
    "sale_to_minors": (2, "market_supervision", "看到该店向穿校服的学生卖烟。"),
    "other_conduct": (1, "other", "该店在店门口吸烟，影响顾客。"),
}
RESOLUTIONS = {
    "supply_allocation": ("已向货源部门反映并调整本周投放量", "货源投放模型未考虑该店近期销量增长"),
    "delivery": ("已补送并调换破损商品，向客户致歉", "配送线路调整后分拣复核环节遗漏"),
    "customer_manager_visit": ("已约谈客户经理并安排回访", "客户经理服务规范执行不到位"),
    "online_ordering": ("已核对扣款记录并退回重复扣款", "银行接口超时导致状态不一致"),
    "phone_ordering": ("已调整电访频次为每周一次", "电访计划重复排班"),
    "market_supervision": ("已转市场监管部门现场核查并处理", "零售户经营行为不规范"),
    "monopoly_enforcement": ("已向专卖部门反映布局问题", "布局规划执行偏差"),
    "after_sales_window": ("已重新处理并由主管回访", "首次处理未彻底解决问题"),
    "other": ("已解释说明并记录改进建议", "沟通不充分"),
}
# Items where shops are, on the whole, less satisfied than elsewhere (a realistic pattern).
ITEM_BIAS = {
    "asu_sufficient_supply": -0.8,
    "rel_stable_supply": -0.6,
    "rsp_complaint_speed": -0.5,
    "emp_manager_cares": -0.3,
    "tan_vehicles": 0.3,
    "tan_attire": 0.4,
    "emp_settlement": 0.3,
}


@dataclass
class Outcome:
    """What the seed created (for the summary, the test and the next steps)."""

    tag: str = ""
    counties: list[str] = field(default_factory=list)
    managers: list[dict[str, str]] = field(default_factory=list)
    shops: list[str] = field(default_factory=list)
    orders_accepted: int = 0
    orders_duplicate: int = 0
    orders_rejected: int = 0
    orders_cancelled: int = 0
    lines: int = 0
    complaints: list[str] = field(default_factory=list)
    complaint_status: Counter[str] = field(default_factory=Counter)
    repeats: int = 0
    callbacks_answered: int = 0
    callbacks_pending: int = 0
    violations: int = 0
    status_changes: int = 0
    run_id: str | None = None
    run_summary: dict[str, Any] = field(default_factory=dict)
    campaign_id: str | None = None
    invitations: int = 0
    responses: int = 0
    declines: int = 0
    example_shops: dict[str, str] = field(default_factory=dict)


class Seeder:
    """Builds the province for one slice and pushes it through the gateway."""

    def __init__(self, api: Api, args: argparse.Namespace) -> None:
        self.api = api
        self.args = args
        self.today = local_today()
        self.skus = sku_catalogue()
        self.out = Outcome()
        self.platform = Caller("ordering-platform", ("order_platform",))
        self.province = Caller("seed-province-supervisor", ("supervisor",))
        self.analyst = Caller("seed-analyst", ("analyst",))
        self.agents = [Caller(f"cc-agent-{n:02d}", ("call_center",)) for n in range(1, 5)]
        self.counties: list[County] = []
        self.managers: list[Manager] = []
        self.shops: list[Shop] = []
        self.resolved_ids: set[str] = set()  # complaints left resolved (callbacks expected)

    def supervisor(self, county: County) -> Caller:
        """The county's supervisor (a county-scoped token)."""
        return Caller(f"supervisor-{county.code}", ("supervisor",), county=county.code)

    # -- slice --------------------------------------------------------------------------------

    async def claim_slice(self) -> str:
        """The first slice tag whose first licence is not registered yet."""
        for number in range(100):
            tag = f"D{self.args.seed % 1000:03d}{number:02d}"
            probe = f"{tag}{COUNTIES[0][0]}{0:05d}"
            response = await self.api.call(
                self.province, "GET", f"/api/v1/customers/by-license/{probe}", ok=(200, 404)
            )
            if response.status_code == 404:
                return tag
            log(f"slice {tag} already seeded; trying the next one")
        raise SeedError("100 slices of this seed exist already; use another --seed")

    # -- phases -------------------------------------------------------------------------------

    async def run(self) -> Outcome:
        """Every phase in order."""
        started = time.monotonic()
        tag = await self.claim_slice()
        self.out.tag = tag
        rng = random.Random(f"{self.args.seed}:{tag}")
        self.counties = build_counties(rng, self.args.shops)
        self.out.counties = [c.code for c in self.counties]
        self.managers = build_managers(rng, self.counties, self.args.shops, tag)
        self.shops = [
            build_shop(
                rng,
                i,
                tag,
                self.counties[i % len(self.counties)],
                self.managers,
                self.skus,
                self.today,
            )
            for i in range(self.args.shops)
        ]
        log(
            f"slice {tag}: {len(self.counties)} counties, "
            f"{sum(len(c.districts) for c in self.counties)} districts, "
            f"{len(self.managers)} managers, "
            f"{len(self.shops)} shops (seed {self.args.seed})"
        )
        await self.create_managers()
        await self.register_shops()
        await self.file_complaints(rng)
        await self.post_orders(rng)
        await self.record_violations_and_status(rng)
        await self.wait_for_valuation_intake()
        await self.valuation_run()
        await self.answer_callbacks(rng)
        await self.survey(rng)
        log(f"done in {time.monotonic() - started:.0f}s ({self.api.requests} requests)")
        return self.out

    async def create_managers(self) -> None:
        log(f"creating {len(self.managers)} customer managers")

        async def create(manager: Manager) -> None:
            body = {
                "employee_no": manager.employee_no,
                "name": manager.name,
                "county": manager.county.code,
                "districts": manager.districts,
            }
            created = await self.api.json(
                self.supervisor(manager.county), "POST", "/api/v1/managers", body=body
            )
            manager.id = created["id"]

        await gather_limited(self.managers, create, "managers")
        self.out.managers = [
            {"id": m.id or "", "name": m.name, "county": m.county.code} for m in self.managers
        ]

    async def register_shops(self) -> None:
        log(f"registering {len(self.shops)} shops (supervisor of each county)")

        async def register(shop: Shop) -> None:
            body = dict(shop.body)
            if shop.manager is not None:
                body["manager_id"] = shop.manager.id
            caller = self.supervisor(shop.county)
            response = await self.api.call(
                caller, "POST", "/api/v1/customers", body=body, ok=(201, 409)
            )
            if response.status_code == 409:  # a retried POST that had gone through
                response = await self.api.call(
                    caller, "GET", f"/api/v1/customers/by-license/{shop.license_no}"
                )
            shop.id = response.json()["id"]

        await gather_limited(self.shops, register, "shops")
        self.out.shops = [s.id or "" for s in self.shops]

    async def file_complaints(self, rng: random.Random) -> None:
        """Retailer and consumer complaints in every state, a few repeats and reopenings."""
        plans: list[tuple[Shop, str, str, str, str]] = []  # shop, type, category, item, text
        for shop in self.shops:
            if rng.random() < 0.07 + (0.05 if shop.mood < -0.5 else 0.0):
                category = weighted(rng, {k: v[0] for k, v in COMPLAINT_CATEGORIES.items()})
                _, item, text = COMPLAINT_CATEGORIES[category]
                plans.append((shop, "retailer", category, item, text))
            if rng.random() < 0.025:
                category = weighted(rng, {k: v[0] for k, v in CONSUMER_CATEGORIES.items()})
                _, item, text = CONSUMER_CATEGORIES[category]
                plans.append((shop, "consumer", category, item, text))
        if not plans:
            return
        fates = [
            weighted(
                rng,
                {"received": 10, "assigned": 12, "in_progress": 13, "resolved": 40, "closed": 25},
            )
            for _ in plans
        ]
        log(f"filing {len(plans)} complaints (call centre) and working them")
        numbered = list(enumerate(zip(plans, fates, strict=True)))
        ids: dict[int, str] = {}

        async def work(entry: tuple[int, tuple[tuple[Shop, str, str, str, str], str]]) -> None:
            number, ((shop, kind, category, item, text), fate) = entry
            agent = self.agents[number % len(self.agents)]
            ids[number] = await self.complaint(
                agent, shop, kind, category, item, text, fate, number
            )

        await gather_limited(numbered, work, "complaints")
        # Repeats: the same shop calls again about the same thing (detected by complaint-svc).
        open_ones = [n for n, fate in enumerate(fates) if fate != "closed"]
        repeat_numbers = rng.sample(open_ones, min(len(open_ones), max(1, len(plans) // 15)))
        for n in repeat_numbers:
            shop, kind, category, item, text = plans[n]
            complaint = await self.complaint(
                self.agents[0],
                shop,
                kind,
                category,
                item,
                "又来反映：" + text,
                "received",
                10_000 + n,
            )
            ids[10_000 + n] = complaint
        # Reopenings of closed complaints (each creates a repeat complaint).
        closed = [n for n, fate in enumerate(fates) if fate == "closed"]
        for n in rng.sample(closed, min(len(closed), max(1, len(plans) // 30))):
            await self.api.call(
                self.agents[1],
                "POST",
                f"/api/v1/complaints/{ids[n]}/reopen",
                body={"reason": "客户来电表示问题再次出现"},
            )
            self.out.complaint_status["reopened"] += 1
        self.out.complaints = list(ids.values())
        self.resolved_ids = {ids[n] for n, fate in enumerate(fates) if fate == "resolved"}
        summary = await self.api.json(self.analyst, "GET", "/api/v1/complaint-analytics/overview")
        self.out.repeats = len(repeat_numbers) + self.out.complaint_status["reopened"]
        log(
            f"  complaints: {dict(self.out.complaint_status)}; "
            f"province overview: {summary.get('by_status', summary.get('counts'))}"
        )

    async def complaint(
        self,
        agent: Caller,
        shop: Shop,
        kind: str,
        category: str,
        item: str,
        text: str,
        fate: str,
        number: int,
    ) -> str:
        """File one complaint and take it as far as its fate."""
        crng = random.Random(f"{self.args.seed}:{self.out.tag}:complaint:{number}")
        body: dict[str, Any] = {
            "customer_id": shop.id,
            "complainant_type": kind,
            "received_by": agent.sub,
            "complainant_name": shop.body["owner_name"]
            if kind == "retailer"
            else person_name(crng),
            "complainant_phone": shop.body["phones"][0] if kind == "retailer" else mobile(crng),
            "channel": weighted(
                crng,
                {
                    "hotline": 70,
                    "web": 8,
                    "app": 8,
                    "sms": 4,
                    "visit": 5,
                    "walk_in": 3,
                    "letter": 2,
                },
            ),
            "category": category,
            "service_item": item,
            "description": text,
            "priority": "urgent" if crng.random() < 0.05 else "normal",
        }
        key = f"seed-{self.out.tag}-complaint-{number}"
        created = await self.api.json(
            agent, "POST", "/api/v1/complaints", body=body, headers={"Idempotency-Key": key}
        )
        complaint_id: str = created["id"]
        base = f"/api/v1/complaints/{complaint_id}"
        steps = ["received", "assigned", "in_progress", "resolved", "closed"]
        reached = steps.index(fate)
        if reached >= 1:
            assignee = f"handler-{shop.county.code}-{crng.randint(1, 3)}"
            await self.api.call(agent, "POST", base + "/assign", body={"assignee": assignee})
        if reached >= 2:
            await self.api.call(agent, "POST", base + "/start", body={"note": "已联系客户核实情况"})
        if reached >= 3:
            resolution, cause = RESOLUTIONS[item]
            await self.api.call(
                agent,
                "POST",
                base + "/resolve",
                body={"resolution": resolution, "root_cause": cause},
            )
        if reached >= 4:
            await self.api.call(agent, "POST", base + "/close", body={"callback_satisfied": True})
        self.out.complaint_status[fate] += 1
        return complaint_id

    async def post_orders(self, rng: random.Random) -> None:
        """Weekly orders of every shop, in batches of at most 1,000 orders (and under 1 MB)."""
        start = order_window(self.today, self.args.weeks)
        weeks = (self.today - start).days // 7 + 1
        promo_skus = [s.code for s in self.skus if s.price_class <= 3]
        promos = {w: set(rng.sample(promo_skus, 4)) for w in range(weeks + 1) if w % 3 != 2}
        seed = f"{self.args.seed}:{self.out.tag}"
        log(f"posting weekly orders {start} .. {self.today} (ordering platform, /orders/batch)")

        def batches() -> Iterator[list[bytes]]:
            batch: list[bytes] = []
            size = 0
            iterators = [shop_orders(shop, start, self.today, seed, promos) for shop in self.shops]
            by_license = {shop.license_no: shop for shop in self.shops}
            while iterators:  # week by week across shops, like the platform would send them
                still = []
                for iterator in iterators:
                    order = next(iterator, None)
                    if order is None:
                        continue
                    still.append(iterator)
                    shop = by_license[order["license_no"]]
                    shop.orders += 1
                    shop.cartons += sum(line["quantity"] for line in order["lines"])
                    self.out.lines += len(order["lines"])
                    encoded = json.dumps(order, ensure_ascii=False, separators=(",", ":")).encode()
                    if batch and (
                        len(batch) >= MAX_BATCH_ORDERS or size + len(encoded) + 20 > MAX_BATCH_BYTES
                    ):
                        yield batch
                        batch, size = [], 0
                    batch.append(encoded)
                    size += len(encoded) + 1
                iterators = still
            if batch:
                yield batch

        all_batches = list(batches())
        total = sum(len(b) for b in all_batches)
        log(f"  {total} orders, {self.out.lines} lines in {len(all_batches)} batches")
        cancel_candidates: list[tuple[str, str]] = []

        async def send(batch: list[bytes]) -> None:
            content = b'{"orders":[' + b",".join(batch) + b"]}"
            result = await self.api.json(
                self.platform, "POST", "/api/v1/orders/batch", content=content
            )
            self.out.orders_accepted += result["accepted"]
            self.out.orders_duplicate += result["duplicates"]
            self.out.orders_rejected += result["rejected"]
            for row in result["results"]:
                if row["status"] == "rejected" and self.out.orders_rejected <= 3:
                    log(f"  rejected {row['order_no']}: {row['errors']}")
                elif (
                    row["status"] == "accepted"
                    and row["order_no"].endswith("5")
                    and len(cancel_candidates) < 10_000
                ):
                    cancel_candidates.append((row["order_no"], row["order_id"]))

        semaphore = asyncio.Semaphore(3)

        async def limited(batch: list[bytes]) -> None:
            async with semaphore:
                await send(batch)

        await gather_limited(all_batches, limited, "order batches")
        log(
            f"  orders: {self.out.orders_accepted} accepted, "
            f"{self.out.orders_duplicate} duplicates, "
            f"{self.out.orders_rejected} rejected"
        )
        # A few cancellations (order.cancelled takes the order back out of the figures).
        cancel_candidates.sort()
        chosen = random.Random(seed).sample(
            cancel_candidates, min(len(cancel_candidates), max(1, total // 400))
        )
        by_license = {shop.license_no: shop for shop in self.shops}

        async def cancel(entry: tuple[str, str]) -> None:
            order_no, order_id = entry
            order = await self.api.json(self.platform, "GET", f"/api/v1/orders/{order_id}")
            await self.api.call(
                self.platform,
                "POST",
                f"/api/v1/orders/{order_id}/cancel",
                body={"reason": "零售户来电取消订单"},
            )
            shop = by_license[order_no.rsplit("-", 1)[0]]
            shop.cartons -= int(order["total_quantity"])
            shop.orders -= 1

        await gather_limited(chosen, cancel, "cancellations")
        self.out.orders_cancelled = len(chosen)

    async def record_violations_and_status(self, rng: random.Random) -> None:
        """A few violations (problem customers) and status changes (suspended, exited)."""
        active = [s for s in self.shops if s.id]
        violators = rng.sample(active, max(1, len(active) // 200))
        for shop in violators:
            kind = weighted(rng, {"counterfeit": 2, "non_channel": 3, "smuggled": 1, "other": 4})
            await self.api.call(
                self.supervisor(shop.county),
                "POST",
                f"/api/v1/customers/{shop.id}/violations",
                body={
                    "kind": kind,
                    "occurred_on": (self.today - timedelta(days=rng.randint(1, 40))).isoformat(),
                    "note": "市场检查发现",
                },
            )
        self.out.violations = len(violators)
        others = [s for s in active if s not in violators]
        changes = rng.sample(others, max(1, len(others) // 100))
        for number, shop in enumerate(changes):
            status = "exited" if number % 3 == 2 else "suspended"
            await self.api.call(
                self.supervisor(shop.county),
                "POST",
                f"/api/v1/customers/{shop.id}/status",
                body={
                    "status": status,
                    "reason": "停业整顿" if status == "suspended" else "零售户申请退网",
                    "effective_date": self.today.isoformat(),
                },
            )
        self.out.status_changes = len(changes)
        log(
            f"recorded {len(violators)} violations and "
            f"{len(changes)} status changes (suspended/exited)"
        )

    async def wait_for_valuation_intake(self) -> None:
        """Wait until valuation-svc has counted every order (its figures are fed by events).

        `GET /sales-anomalies?month=<the month after the last order>` lists every shop that ordered
        in the three months before, with their average: 3 x average is the shop's cartons there.
        """
        expected = {s.id: s.cartons for s in self.shops if s.id and s.cartons > 0}
        if not expected:
            return
        month = add_months(self.today, 1)
        log(
            f"waiting for valuation-svc to count {sum(expected.values())} cartons "
            f"of {len(expected)} shops"
        )
        total = sum(expected.values())
        deadline = time.monotonic() + self.args.settle_timeout
        last_report = 0.0
        while True:
            rows = await self.api.pages(
                self.analyst, "/api/v1/sales-anomalies", {"month": f"{month:%Y-%m}"}
            )
            counted = {
                row["customer_id"]: round(3 * (row["three_month_average"] or 0)) for row in rows
            }
            matched = sum(1 for cid, cartons in expected.items() if counted.get(cid) == cartons)
            if matched == len(expected):
                log(f"  valuation-svc has every order ({matched} shops)")
                return
            if time.monotonic() > deadline:
                log(
                    f"  WARNING: after {self.args.settle_timeout:.0f}s valuation-svc has counted "
                    f"{matched}/{len(expected)} shops completely; running the valuation anyway"
                )
                return
            if time.monotonic() - last_report > 15:
                seen = sum(min(counted.get(cid, 0), cartons) for cid, cartons in expected.items())
                log(
                    f"  counted {seen}/{total} cartons ({seen / total:.0%}), "
                    f"{matched}/{len(expected)} shops complete"
                )
                last_report = time.monotonic()
            await asyncio.sleep(2)

    async def valuation_run(self) -> None:
        """Run the period's valuation for the province and wait for it."""
        period = f"{self.today.year}H{1 if self.today.month <= 6 else 2}"
        log(f"starting valuation run {period} (province supervisor)")
        while True:
            response = await self.api.call(
                self.province,
                "POST",
                "/api/v1/valuation-runs",
                body={"period": period},
                ok=(202, 409),
            )
            if response.status_code == 202:
                break
            log("  another run of the period is in progress; waiting")
            await asyncio.sleep(3)
        run_id = response.json()["run_id"]
        self.out.run_id = run_id
        stage = None
        deadline = time.monotonic() + 600
        while True:
            run = await self.api.json(self.province, "GET", f"/api/v1/valuation-runs/{run_id}")
            if run["stage"] != stage:
                stage = run["stage"]
                log(f"  run {run['status']}, stage {stage}, progress {run['progress']:.0%}")
            if run["status"] in ("completed", "failed"):
                break
            if time.monotonic() > deadline:
                raise SeedError(f"valuation run {run_id} did not finish in 10 minutes")
            await asyncio.sleep(1)
        if run["status"] == "failed":
            raise SeedError(f"valuation run {run_id} failed: {run['error']}")
        summary = (
            await self.api.json(self.province, "GET", f"/api/v1/valuation-runs/{run_id}/summary")
        )["summary"] or {}
        self.out.run_summary = summary
        classes = {name: sum(q.values()) for name, q in summary.get("classes", {}).items()}
        quadrants: Counter[str] = Counter()
        for counts in summary.get("classes", {}).values():
            quadrants.update(counts)
        not_evaluated = summary.get("not_evaluated", {})
        log(
            f"  run {run_id} completed: {summary.get('evaluated')} shops valued, "
            f"{run['changed']} changed"
        )
        log(f"  classes {classes}")
        log(f"  quadrants {dict(quadrants)}")
        log(f"  not valued {not_evaluated.get('count', 0)}: {not_evaluated.get('by_reason', {})}")
        for county, counts in sorted(summary.get("counties", {}).items()):
            if county in self.out.counties:
                log(f"    {county}: {counts}")
        results = await self.api.pages(self.analyst, "/api/v1/valuations", {"run_id": run_id})
        ours = {s.id for s in self.shops}
        for row in sorted(results, key=lambda r: r["rank"]):
            if row["customer_id"] in ours and row["value_class"] not in self.out.example_shops:
                self.out.example_shops[row["value_class"]] = row["customer_id"]

    async def answer_callbacks(self, rng: random.Random) -> None:
        """Answer most complaint callbacks (satisfied closes; unsatisfied reopens with a repeat)."""
        wanted = self.resolved_ids
        if not wanted:
            return
        log(f"waiting for the callbacks of {len(wanted)} resolved complaints (survey-svc)")
        deadline = time.monotonic() + 120
        agent = self.agents[2]
        while True:
            pending = await self.api.pages(agent, "/api/v1/callbacks", {"status": "pending"})
            ours = sorted(
                (c for c in pending if c["complaint_id"] in wanted), key=lambda c: c["complaint_id"]
            )
            if len(ours) >= len(wanted) or time.monotonic() > deadline:
                break
            await asyncio.sleep(2)
        questionnaire_items = None
        for number, callback in enumerate(ours):
            roll = rng.random()
            path = f"/api/v1/callbacks/{callback['id']}"
            if roll < 0.15:
                await self.api.call(agent, "POST", path + "/attempts", body={"note": "无人接听"})
                continue
            if roll < 0.30:
                continue  # still in the queue
            satisfied = roll < 0.88
            answers: list[dict[str, Any]] = [
                {"item_code": "reached", "value": True},
                {"item_code": "solved", "value": satisfied},
                {
                    "item_code": "satisfaction",
                    "score": rng.choice((4, 5, 5)) if satisfied else rng.choice((1, 2, 3)),
                },
            ]
            if not satisfied:
                answers.append({"item_code": "comment", "value": "问题没有真正解决"})
            await self.api.call(
                agent,
                "POST",
                path + "/response",
                body={"answers": answers, "collected_by": agent.sub},
                headers={"Idempotency-Key": f"seed-{self.out.tag}-callback-{number}"},
            )
            self.out.callbacks_answered += 1
            questionnaire_items = questionnaire_items or callback["questionnaire_id"]
        self.out.callbacks_pending = len(ours) - self.out.callbacks_answered
        log(
            f"  {len(ours)} callbacks found, {self.out.callbacks_answered} answered, "
            f"{self.out.callbacks_pending} left in the queue"
        )

    async def survey(self, rng: random.Random) -> None:
        """A SERVQUAL campaign: drawn, opened, answered by most invited shops."""
        questionnaires = await self.api.pages(
            self.province, "/api/v1/questionnaires", {"code": "servqual-retail"}
        )
        if not questionnaires:
            raise SeedError("the servqual-retail questionnaire is missing")
        questionnaire = max(questionnaires, key=lambda q: q["version"])
        now = datetime.now(COMPANY_TIME_ZONE)
        quarter = (now.month - 1) // 3 + 1
        small = self.args.shops < 400
        body = {
            "name": f"{now.year}Q{quarter} 零售客户SERVQUAL满意度调查 ({self.out.tag})",
            "questionnaire_id": questionnaire["id"],
            "kind": "quarterly",
            "method": "face_to_face",
            "opens_at": now.isoformat(),
            "closes_at": (now + timedelta(days=30)).isoformat(),
            "sampling": {
                "rate": 0.3 if small else 0.08,
                "strata": ["market_type"] if small else ["district", "market_type"],
                "min_per_stratum": 2,
                "exclude_surveyed_within_days": 90,
                "seed": self.args.seed,
            },
        }
        campaign = await self.api.json(self.province, "POST", "/api/v1/survey-campaigns", body=body)
        campaign_id = campaign["id"]
        self.out.campaign_id = campaign_id
        sampled = await self.api.json(
            self.province, "POST", f"/api/v1/survey-campaigns/{campaign_id}/sample"
        )
        await self.api.call(self.province, "POST", f"/api/v1/survey-campaigns/{campaign_id}/open")
        invitations = await self.api.pages(
            self.province, f"/api/v1/survey-campaigns/{campaign_id}/invitations"
        )
        self.out.invitations = len(invitations)
        log(
            f"survey campaign {campaign_id}: frame {sampled.get('frame_size')}, "
            f"{len(invitations)} invitations in {len(sampled.get('strata', []))} strata; "
            "collecting answers"
        )
        moods = {s.id: s.mood for s in self.shops}
        collectors = {s.id: s.manager.name for s in self.shops if s.manager is not None}
        items = [i["code"] for i in questionnaire["items"] if i["format"] == "servqual_pair"]
        invitations.sort(key=lambda i: i["customer_id"])
        answering = [i for i in invitations if rng.random() < 0.75]
        declining = [i for i in invitations if i not in answering][:3]

        async def answer(invitation: dict[str, Any]) -> None:
            arng = random.Random(
                f"{self.args.seed}:{self.out.tag}:answer:{invitation['customer_id']}"
            )
            mood = moods.get(invitation["customer_id"], arng.gauss(0, 0.4))
            answers = []
            for code in items:
                expectation = min(5, max(3, round(arng.gauss(4.5, 0.5))))
                perception = min(
                    5, max(1, round(arng.gauss(3.9 + mood + ITEM_BIAS.get(code, 0.0), 0.7)))
                )
                answers.append(
                    {"item_code": code, "expectation": expectation, "perception": perception}
                )
            await self.api.call(
                self.province,
                "POST",
                "/api/v1/survey-responses",
                body={
                    "invitation_id": invitation["id"],
                    "answers": answers,
                    "collected_by": collectors.get(invitation["customer_id"], "调查员"),
                },
                headers={"Idempotency-Key": f"seed-{self.out.tag}-response-{invitation['id']}"},
            )

        await gather_limited(answering, answer, "survey responses")
        self.out.responses = len(answering)
        for invitation in declining:  # the public link (no token), as a shop would
            await self.api.call(
                None,
                "POST",
                f"/api/v1/survey-invitations/{invitation['token']}/decline",
                ok=(200, 201, 204),
            )
            self.out.declines += 1
        results = await self.api.json(
            self.analyst,
            "GET",
            f"/api/v1/survey-campaigns/{campaign_id}/results",
            params={"weakest": 3},
        )
        weakest = ", ".join(
            f"{w['item_code']} {w['mean_gap']:+.2f}" for w in results.get("weakest_items", [])
        )
        log(
            f"  {results['responded']}/{results['invited']} responded; SERVQUAL score "
            f"{results['servqual_score']:+.2f}, "
            f"satisfaction index {results['satisfaction_index']:.1f}; "
            f"weakest: {weakest}"
        )


def curl(gateway: str, role: str, path: str) -> str:
    """A curl line with a `make token` token."""
    return f'  curl -s -H "Authorization: Bearer $(make -s token {role})" "{gateway}{path}"'


def print_summary(out: Outcome, gateway: str) -> None:
    """Counts, examples and curl lines to paste."""
    first = out.shops[0] if out.shops else ""
    shop = out.example_shops.get("A") or next(iter(out.example_shops.values()), first)
    manager = out.managers[0]["id"] if out.managers else ""
    county = out.counties[0] if out.counties else ""
    statuses = ", ".join(f"{k} {v}" for k, v in sorted(out.complaint_status.items()))
    examples = ", ".join(f"{cls}: {cid}" for cls, cid in sorted(out.example_shops.items()))
    lines = [
        "",
        f"Seeded slice {out.tag} through {gateway}:",
        f"  counties        {', '.join(out.counties)}",
        f"  managers        {len(out.managers)}",
        f"  shops           {len(out.shops)} ({out.status_changes} suspended/exited, "
        f"{out.violations} with violations)",
        f"  orders          {out.orders_accepted} accepted ({out.lines} lines), "
        f"{out.orders_duplicate} duplicates, {out.orders_rejected} rejected, "
        f"{out.orders_cancelled} cancelled",
        f"  complaints      {len(out.complaints)} ({statuses}), {out.repeats} repeats; "
        f"callbacks {out.callbacks_answered} answered, {out.callbacks_pending} queued",
        f"  valuation run   {out.run_id} ({out.run_summary.get('evaluated', 0)} shops valued)",
        f"  survey campaign {out.campaign_id} ({out.invitations} invited, "
        f"{out.responses} answered, {out.declines} declined)",
        f"  example shops   {examples}",
        "",
        "Try (tokens from `make token`, valid one hour):",
        curl(gateway, "ROLE=call_center", f"/api/v1/customers?county={county}&limit=5"),
        curl(gateway, "ROLE=analyst", f"/api/v1/customers/{shop}/valuation"),
        curl(gateway, "ROLE=supervisor", f"/api/v1/customers/{shop}/service-plan"),
        curl(gateway, "ROLE=analyst", "/api/v1/complaint-analytics/overview"),
        curl(
            gateway,
            "ROLE=analyst",
            f"/api/v1/survey-campaigns/{out.campaign_id}/results?by=district",
        ),
        curl(
            gateway,
            f"ROLE=customer_manager MANAGER_ID={manager}",
            f"/api/v1/managers/{manager}/customers",
        ),
    ]
    print("\n".join(lines), flush=True)


async def seed(args: argparse.Namespace) -> Outcome:
    """Run the seed against the gateway."""
    secret = os.environ.get("AUTH_JWT_SECRET") or "dev-secret"
    api = Api(args.gateway, secret, args.concurrency)
    try:
        ready = await api.call(None, "GET", "/readyz", ok=(200, 503))
        if ready.status_code != 200:
            raise SeedError(f"{args.gateway}/readyz is not ready; is `make run` up?")
        seeder = Seeder(api, args)
        out = await seeder.run()
        print_summary(out, args.gateway)
        return out
    finally:
        await api.close()


def main(argv: list[str] | None = None) -> int:
    """Command line entry."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--shops", type=int, default=5000)
    parser.add_argument(
        "--gateway", default=f"http://127.0.0.1:{os.environ.get('GATEWAY_PORT', '8080')}"
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--weeks", type=int, default=12, help="weeks of orders (at most 3 calendar months)"
    )
    parser.add_argument("--concurrency", type=int, default=12)
    parser.add_argument(
        "--settle-timeout",
        type=float,
        default=1800.0,
        help="seconds to wait for valuation-svc to count the orders",
    )
    parser.add_argument("--summary-json", default=None, help="also write what was created as JSON")
    args = parser.parse_args(argv)
    # `dev-secret` is a development secret by design; PyJWT's key-length warning is noise here.
    warnings.filterwarnings("ignore", message="The HMAC key is")
    if args.shops < 10:
        parser.error("--shops must be at least 10")
    try:
        out = asyncio.run(seed(args))
    except (SeedError, httpx.HTTPError) as error:
        print(f"[seed] FAILED: {error}", file=sys.stderr, flush=True)
        return 1
    if args.summary_json:
        with open(args.summary_json, "w", encoding="utf-8") as handle:
            json.dump(
                {
                    "tag": out.tag,
                    "counties": out.counties,
                    "managers": out.managers,
                    "shops": out.shops,
                    "orders_accepted": out.orders_accepted,
                    "orders_rejected": out.orders_rejected,
                    "orders_cancelled": out.orders_cancelled,
                    "complaints": out.complaints,
                    "complaint_status": dict(out.complaint_status),
                    "repeats": out.repeats,
                    "callbacks_answered": out.callbacks_answered,
                    "run_id": out.run_id,
                    "evaluated": out.run_summary.get("evaluated"),
                    "campaign_id": out.campaign_id,
                    "invitations": out.invitations,
                    "responses": out.responses,
                    "example_shops": out.example_shops,
                },
                handle,
                ensure_ascii=False,
                indent=2,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
