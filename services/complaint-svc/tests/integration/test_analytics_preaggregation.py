"""The pre-aggregated analytics equal a straightforward recomputation from the raw rows.

Data is written with plain SQL (so the triggers on `complaints` maintain the pre-aggregates as
they would for any writer) and through the intake API; every figure is then compared with the
spec's definitions evaluated in Python over the raw complaint and shop rows.
"""

import asyncio
import random
import uuid
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from alembic import command
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from complaint_svc.analytics import repository, service
from complaint_svc.analytics.formulas import next_period, period_start, periods_between
from complaint_svc.analytics.repository import Window
from complaint_svc.complaints import repository as complaints_repository
from complaint_svc.readmodel.models import DIMENSIONS, Shop
from retailcare_shared.migrations import alembic_config
from retailcare_shared.testing import DatabaseFactory, ServiceUnderTest, bearer
from retailcare_shared.workdays import COMPANY_TIME_ZONE

CALL = bearer(["call_center"], sub="agent-li")
SERVICE_DIR = Path(__file__).resolve().parents[2]
CATEGORIES = ["brand_shortage", "staff_attitude", "forced_bundling", "supply_volume"]
ITEMS = ["supply_allocation", "customer_manager_visit", "delivery"]
WINDOWS = [
    (date(2025, 11, 1), date(2026, 4, 30)),  # whole months
    (date(2025, 11, 15), date(2026, 3, 10)),  # partial first and last months
    (date(2025, 10, 31), date(2026, 2, 1)),  # one-day edges
    (date(2026, 1, 5), date(2026, 1, 20)),  # inside one month
    (date(2026, 1, 20), date(2026, 2, 5)),  # across a month end, no whole month
    (date(2025, 12, 1), date(2025, 12, 31)),  # one whole month
]
SCOPES = [(None, None), ("C1", None), ("C1", "D2"), (None, "D3"), ("nowhere", None)]


def local(day: date, hour: int = 12, minute: int = 0) -> datetime:
    """A company-local moment."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=COMPANY_TIME_ZONE)


# --- Data --------------------------------------------------------------------------------------


async def build_data(session: AsyncSession, seed: int) -> list[uuid.UUID]:
    """Shops with varied activity spans and ~600 complaints around the test windows."""
    rng = random.Random(seed)
    shops = [uuid.uuid4() for _ in range(60)]
    shop_rows = []
    for index, shop in enumerate(shops):
        since = date(2020, 1, 1)
        inactive = None
        if index % 7 == 0:  # started inside the data's span
            since = date(2025, 10, 1) + timedelta(days=rng.randrange(240))
        if index % 5 == 0:  # stopped inside the data's span (some before they started)
            inactive = date(2025, 9, 1) + timedelta(days=rng.randrange(300))
        shop_rows.append(
            {
                "id": shop,
                "county": f"C{index % 2}",
                "district": f"D{index % 4}",
                "market_type": rng.choice(["urban", "rural", None]),
                "trading_area": rng.choice(["residential", "commercial"]),
                "business_format": rng.choice(["grocery", "convenience"]),
                "scale": rng.choice(["small", "large"]),
                "order_method": rng.choice(["phone", "online"]),
                "value_class": rng.choice(["A", "B", "C", None]),
                "status": "active" if inactive is None else "exited",
                "since": since,
                "inactive": inactive,
            }
        )
    await session.execute(
        text(
            """INSERT INTO shops (customer_id, county, district, market_type, trading_area,
                                  business_format, scale, order_method, value_class, status,
                                  active_since, inactive_since, snapshot_version)
               VALUES (:id, :county, :district, :market_type, :trading_area, :business_format,
                       :scale, :order_method, :value_class, :status, :since,
                       CAST(:inactive AS date), 1)"""
        ),
        shop_rows,
    )
    unknown = uuid.uuid4()  # a shop the read model has not heard of
    rows = []
    for _ in range(600):
        day = date(2025, 9, 20) + timedelta(days=rng.randrange(270))
        # Some complaints just before or after local midnight at month ends.
        moment = local(day, rng.choice([0, 12, 23]), rng.choice([0, 30, 59]))
        customer: uuid.UUID | None = rng.choice([*shops, unknown, None])
        shop = next((row for row in shop_rows if row["id"] == customer), None)
        rows.append(
            {
                "customer_id": customer,
                "county": shop["county"] if shop else None,
                "district": shop["district"] if shop else None,
                "complainant_type": "retailer" if rng.random() < 0.75 else "consumer",
                "company_responsible": rng.random() < 0.8,
                "category": rng.choice(CATEGORIES),
                "service_item": rng.choice(ITEMS),
                "is_repeat": rng.random() < 0.2,
                "filed_at": moment,
            }
        )
    # Half in one multi-row statement, the rest one statement each (as intake does).
    await insert_complaints(session, rows[:300])
    for row in rows[300:]:
        await insert_complaints(session, [row])
    return shops


async def insert_complaints(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Raw complaint rows with the columns analytics read (filed_month from filed_at)."""
    await session.execute(
        text(
            """INSERT INTO complaints (id, seq, ref, customer_id, customer_verified, county,
                    district, complainant_type, channel, category, service_item,
                    company_responsible, description, priority, received_by, status, is_repeat,
                    filed_at, filed_month, acknowledge_due_at, resolve_due_at)
               SELECT gen_random_uuid(), s.seq, 'T-' || s.seq, :customer_id, true, :county,
                      :district, :complainant_type, 'hotline', :category, :service_item,
                      :company_responsible, 'test', 'normal', 'agent', 'received', :is_repeat,
                      :filed_at,
                      CAST(date_trunc('month', CAST(:filed_at AS timestamptz)
                                      AT TIME ZONE 'Asia/Shanghai') AS date),
                      :filed_at, :filed_at
                 FROM (SELECT nextval('complaint_ref_seq') AS seq) AS s"""
        ),
        rows,
    )


# --- The definitions, straight from the raw rows -----------------------------------------------


async def raw_rows(session: AsyncSession) -> tuple[list[Any], list[Any]]:
    """Every complaint and shop row."""
    complaints = (
        await session.execute(
            text(
                """SELECT customer_id, county, district, complainant_type, company_responsible,
                          category, service_item, is_repeat, filed_at, filed_month
                     FROM complaints"""
            )
        )
    ).all()
    shops = (
        await session.execute(
            text(
                f"SELECT customer_id, county, {', '.join(DIMENSIONS)}, active_since, "
                "inactive_since FROM shops"
            )
        )
    ).all()
    return complaints, shops


def in_scope(row: Any, window: Window) -> bool:
    """The window's county / district filter on a row with `county` and `district`."""
    return (window.county is None or row.county == window.county) and (
        window.district is None or row.district == window.district
    )


def qualifying(row: Any) -> bool:
    """A complaint that counts in the complaint rate."""
    return bool(row.complainant_type == "retailer" and row.company_responsible and row.customer_id)


def key_of(shop: Any, by: str | None) -> str:
    """The group of a shop."""
    if by is None:
        return "all"
    value = getattr(shop, by)
    return "unknown" if value is None else str(value)


def expected_rate(raw: tuple[list[Any], list[Any]], window: Window, by: str | None) -> list[Any]:
    """(key, complaining shops, active shops) per group."""
    complaints, shops = raw
    complaining = {
        row.customer_id
        for row in complaints
        if qualifying(row) and window.start <= row.filed_at < window.end
    }
    groups: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for shop in shops:
        active = shop.active_since <= window.last and (
            shop.inactive_since is None or shop.inactive_since >= window.first
        )
        if active and in_scope(shop, window):
            groups[key_of(shop, by)][0] += shop.customer_id in complaining
            groups[key_of(shop, by)][1] += 1
    return sorted((key, n, d) for key, (n, d) in groups.items())


def in_window(raw: tuple[list[Any], list[Any]], window: Window) -> list[Any]:
    """Complaints filed in the window, in its county / district."""
    return [
        row for row in raw[0] if window.start <= row.filed_at < window.end and in_scope(row, window)
    ]


def expected_trend(
    raw: tuple[list[Any], list[Any]], window: Window, by: str | None, granularity: str
) -> dict[str, tuple[list[int], list[int]]]:
    """Per key: complaining shops and active shops per period (today's definitions)."""
    complaints, shops = raw
    periods = periods_between(window.first, window.last, granularity)
    first_month = period_start(window.first, "month")
    result: dict[str, tuple[list[int], list[int]]] = {}
    scoped = [shop for shop in shops if in_scope(shop, window)]
    keys = {key_of(shop, by) for shop in scoped if shop.active_since <= window.last}
    numerators: dict[str, list[int]] = defaultdict(lambda: [0] * len(periods))
    for index, start in enumerate(periods):
        end = next_period(start, granularity)
        complained = {
            row.customer_id
            for row in complaints
            if qualifying(row) and max(start, first_month) <= row.filed_month < end
        }
        for shop in scoped:
            active = shop.active_since < end and (
                shop.inactive_since is None or shop.inactive_since >= start
            )
            if active and shop.customer_id in complained:
                numerators[key_of(shop, by)][index] += 1
    keys |= set(numerators)
    for key in keys:
        denominators = []
        for start in periods:
            end = next_period(start, granularity)
            began = sum(
                1
                for shop in scoped
                if key_of(shop, by) == key
                and shop.active_since <= window.last
                and period_start(shop.active_since, "month") < end
            )
            ended = sum(
                1
                for shop in scoped
                if key_of(shop, by) == key
                and shop.inactive_since is not None
                and shop.inactive_since <= window.last
                and period_start(shop.inactive_since, "month") < start
            )
            denominators.append(began - ended)
        result[key] = (numerators[key], denominators)
    return result


async def assert_matches_raw(running: ServiceUnderTest, windows: list[tuple[date, date]]) -> int:
    """Every endpoint's figures over every window, scope and `by` equal the definitions."""
    async with running.database.transaction() as session:
        raw = await raw_rows(session)
    compared = 0
    for first, last in windows:
        for county, district in SCOPES:
            window = Window(first, last, county, district)
            async with running.database.transaction() as session:
                for by in (None, *DIMENSIONS):
                    rate = await service.complaint_rate(session, window, by)
                    got = [
                        (group.key, group.complaining_customers, group.customers)
                        for group in rate.groups
                    ]
                    expected = expected_rate(raw, window, by)
                    if by is None:
                        total = rate.total
                        got = (
                            [("all", total.complaining_customers, total.customers)]
                            if (total.customers)
                            else []
                        )
                    assert got == expected, (window, by)
                    compared += 1
                scoped = in_window(raw, window)
                repeat = await service.repeat_rate(session, window, 0.1)
                assert (repeat.total_complaints, repeat.repeat_complaints) == (
                    len(scoped),
                    sum(row.is_repeat for row in scoped),
                ), window
                for column in ("category", "service_item"):
                    table = await service.concentration(session, window, column)
                    counts: dict[str, int] = defaultdict(int)
                    for row in scoped:
                        counts[getattr(row, column)] += 1
                    assert {row.key: row.count for row in table.rows} == counts, (window, column)
                compared += 3
                for granularity in ("month", "quarter"):
                    for by in (None, "district", "value_class", "market_type"):
                        trend = await service.trend(session, window, by, granularity)
                        expected_groups = expected_trend(raw, window, by, granularity)
                        series = (
                            {group.key: group.periods for group in trend.groups}
                            if by
                            else {"all": trend.periods}
                        )
                        got_groups = {
                            key: (
                                [period.complaining_customers for period in periods],
                                [period.customers for period in periods],
                            )
                            for key, periods in series.items()
                        }
                        if by is None and not expected_groups:  # no shop in scope
                            zeros = [0] * len(trend.periods)
                            expected_groups = {"all": (zeros, zeros)}
                        assert got_groups == expected_groups, (window, by, granularity)
                        compared += 1
    return compared


async def aggregates(session: AsyncSession) -> tuple[list[Any], list[Any]]:
    """The pre-aggregated state: shop complaint months and the (folded or not) counters."""
    months = (
        await session.execute(
            text(
                """SELECT customer_id, y, coalesce(complaint_months[y], 0)
                     FROM shops
                    CROSS JOIN LATERAL generate_series(
                          coalesce(array_lower(complaint_months, 1), 0),
                          coalesce(array_upper(complaint_months, 1), -1)) AS y
                    WHERE coalesce(complaint_months[y], 0) <> 0
                    ORDER BY 1, 2"""
            )
        )
    ).all()
    counts = (
        await session.execute(
            text(
                """SELECT month, county, district, category, service_item, is_repeat,
                          sum(complaints)
                     FROM (SELECT * FROM complaint_month_counts
                           UNION ALL SELECT * FROM complaint_count_deltas) AS c
                    GROUP BY 1, 2, 3, 4, 5, 6 HAVING sum(complaints) <> 0
                    ORDER BY 1, 2, 3, 4, 5, 6"""
            )
        )
    ).all()
    return list(months), list(counts)


# --- Tests -------------------------------------------------------------------------------------


async def test_fast_path_equals_the_definitions_and_follows_later_changes(
    quiet_service: ServiceUnderTest,
) -> None:
    async with quiet_service.database.transaction() as session:
        shops = await build_data(session, seed=5)
    # Through the real intake too (deltas and a bit set in the request's transaction).
    for shop in shops[:3]:
        response = await quiet_service.http.post(
            "/api/v1/complaints",
            json={
                "customer_id": str(shop),
                "complainant_type": "retailer",
                "received_by": "agent-li",
                "channel": "hotline",
                "category": "supply_volume",
                "service_item": "delivery",
                "description": "Filed through the API.",
            },
            headers=CALL,
        )
        assert response.status_code == 201, response.text
    today = datetime.now(COMPANY_TIME_ZONE).date()
    windows = [*WINDOWS, (today - timedelta(days=40), today)]
    assert await assert_matches_raw(quiet_service, windows) == len(windows) * len(SCOPES) * 19

    # Later changes of every field the analytics read, and a status change.
    async with quiet_service.database.transaction() as session:
        # The read model moves a shop to another district (complaints follow it).
        await session.execute(
            text("UPDATE shops SET county = 'C1', district = 'D9' WHERE customer_id = :id"),
            {"id": shops[1]},
        )
        shop = await session.get(Shop, shops[1])
        assert shop is not None
        await complaints_repository.mark_verified(session, shop)
        # A complaint is found not to be the company's fault; a consumer complaint turns
        # out to come from the retailer; one is re-dated into another month; one category
        # and item are corrected; one complaint is deleted; status changes move nothing.
        await session.execute(
            text(
                """UPDATE complaints SET company_responsible = false
                    WHERE id = (SELECT id FROM complaints
                                 WHERE complainant_type = 'retailer' AND company_responsible
                                   AND customer_id = :id ORDER BY seq LIMIT 1)"""
            ),
            {"id": shops[2]},
        )
        await session.execute(
            text(
                """UPDATE complaints SET complainant_type = 'retailer',
                          company_responsible = true, is_repeat = NOT is_repeat
                    WHERE id IN (SELECT id FROM complaints
                                  WHERE complainant_type = 'consumer' ORDER BY seq LIMIT 5)"""
            )
        )
        await session.execute(
            text(
                """UPDATE complaints SET filed_at = filed_at - INTERVAL '40 days',
                          filed_month = CAST(date_trunc('month',
                              (filed_at - INTERVAL '40 days') AT TIME ZONE 'Asia/Shanghai')
                              AS date),
                          customer_id = :other
                    WHERE id IN (SELECT id FROM complaints WHERE customer_id = :id
                                  ORDER BY seq LIMIT 2)"""
            ),
            {"id": shops[4], "other": shops[5]},
        )
        await session.execute(
            text(
                """UPDATE complaints SET category = 'forced_bundling', service_item = 'other'
                    WHERE id IN (SELECT id FROM complaints ORDER BY seq DESC LIMIT 3)"""
            )
        )
        await session.execute(
            text(
                """DELETE FROM complaints WHERE id IN (
                       SELECT id FROM complaints WHERE customer_id = :id ORDER BY seq)"""
            ),
            {"id": shops[6]},
        )
        await session.execute(text("UPDATE complaints SET status = 'assigned'"))
    assert await assert_matches_raw(quiet_service, windows) == len(windows) * len(SCOPES) * 19

    # What the triggers maintained equals a rebuild from scratch.
    async with quiet_service.database.transaction() as session:
        maintained = await aggregates(session)
    async with quiet_service.database.transaction() as session:
        await repository.rebuild_aggregates(session)
    async with quiet_service.database.transaction() as session:
        assert await aggregates(session) == maintained
    assert maintained[0] and maintained[1]


async def test_concurrent_intakes_share_no_counter_row_and_folding_skips_uncommitted_ones(
    quiet_service: ServiceUnderTest,
) -> None:
    shops = [uuid.uuid4(), uuid.uuid4()]
    async with quiet_service.database.transaction() as session:
        await session.execute(
            text(
                """INSERT INTO shops (customer_id, county, district, status, active_since)
                   VALUES (:id, 'C1', 'D1', 'active', '2020-01-01')"""
            ),
            [{"id": shop} for shop in shops],
        )
    moment = datetime.now(UTC)
    same_group = {
        "county": "C1",
        "district": "D1",
        "complainant_type": "retailer",
        "company_responsible": True,
        "category": "brand_shortage",
        "service_item": "delivery",
        "is_repeat": False,
        "filed_at": moment,
    }
    window = Window(
        moment.astimezone(COMPANY_TIME_ZONE).date(), moment.astimezone(COMPANY_TIME_ZONE).date()
    )
    # Two transactions file a complaint of the same group for two shops at once: the second
    # must not wait for the first (lock_timeout fails it if it does).
    async with quiet_service.database.transaction() as first:
        await insert_complaints(first, [{**same_group, "customer_id": shops[0]}])
        async with quiet_service.database.transaction() as second:
            await second.execute(text("SET LOCAL lock_timeout = '2s'"))
            await insert_complaints(second, [{**same_group, "customer_id": shops[1]}])
        # A fold meanwhile moves the committed delta only; the uncommitted one stays pending.
        async with quiet_service.database.transaction() as folding:
            assert await repository.fold_deltas(folding)
            assert await repository.repeat_counts(folding, window) == (1, 0)
        # Another fold is skipped while one holds the lock, and counts stay exact.
        async with quiet_service.database.transaction() as holder:
            assert await repository.fold_deltas(holder)
            async with quiet_service.database.transaction() as other:
                assert not await repository.fold_deltas(other)
    async with quiet_service.database.transaction() as session:
        pending = await session.scalar(text("SELECT count(*) FROM complaint_count_deltas"))
        assert pending == 1
        assert await repository.repeat_counts(session, window) == (2, 0)
        rate = await service.complaint_rate(session, window, None)
        assert (rate.total.complaining_customers, rate.total.customers) == (2, 2)
        await repository.fold_deltas(session)
        assert await session.scalar(text("SELECT count(*) FROM complaint_count_deltas")) == 0
        assert await repository.repeat_counts(session, window) == (2, 0)


async def test_migration_backfills_existing_complaints(database_factory: DatabaseFactory) -> None:
    url = await database_factory.create(SERVICE_DIR)
    config = alembic_config(SERVICE_DIR, url)
    engine = create_async_engine(url)
    try:
        # Complaints written before the pre-aggregation existed, then the upgrade.
        await asyncio.to_thread(command.downgrade, config, "0002")
        async with AsyncSession(engine) as session, session.begin():
            await build_data(session, seed=11)
        await asyncio.to_thread(command.upgrade, config, "head")
        async with AsyncSession(engine) as session, session.begin():
            backfilled = await aggregates(session)
            await repository.rebuild_aggregates(session)
            assert await aggregates(session) == backfilled
        assert len(backfilled[0]) > 50
        assert sum(row[-1] for row in backfilled[1]) == 600
    finally:
        await engine.dispose()
        await database_factory.drop(url)
