"""R2: every event delivered twice leaves read models and aggregates as one delivery does."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import partial
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from sqlalchemy import text

from complaint_svc.main import definition as complaint_definition
from retailcare_shared.db import Database
from retailcare_shared.events import (
    ComplaintFiled,
    CustomerManagerAssigned,
    CustomerRegistered,
    CustomerStatusChanged,
    CustomerUpdated,
    CustomerViolationRecorded,
    Envelope,
    OrderCancelled,
    OrderLine,
    OrderPlaced,
    Payload,
    ValuationCustomerClassified,
    build_envelope,
)
from retailcare_shared.testing import DatabaseFactory, TestBus, eventually, running_service
from valuation_svc.main import definition as valuation_definition

SHOPS = 20
ORDERS_PER_SHOP = 10
SNAPSHOT: dict[str, Any] = {
    "license_no": "L1",
    "name": "shop",
    "county": "C1",
    "district": "D1",
    "market_type": "urban",
    "trading_area": "commercial",
    "business_format": "convenience",
    "scale": "medium",
    "order_method": "phone",
    "manager_id": None,
    "status": "active",
    "licensed_on": date(2020, 1, 1),
    "self_operated": False,
    "business_hours": 16.0,
    "display_form": "shelf",
    "renown": "street",
    "reputation": "good",
    "compliance_grade": "A",
    "price_labeling": "price_board",
    "display_sku_count": 15,
}
# What each service consumes (its consumer groups and their topics), to know when it caught up.
VALUATION_GROUPS = [
    ("valuation-svc.customers", "customer-events"),
    ("valuation-svc.orders", "order-events"),
    ("valuation-svc.complaints", "complaint-events"),
]
COMPLAINT_GROUPS = [
    ("complaint-svc.readmodel", "customer-events"),
    ("complaint-svc.readmodel", "valuation-events"),
]
VALUATION_TABLES = ["shops", "shop_orders", "shop_months", "shop_period_skus", "shop_periods"]
VALUATION_TABLES += ["complaints", "violations"]


def event(payload: Payload, shop: uuid.UUID) -> Envelope:
    """An envelope about one shop."""
    return build_envelope(payload, source="test", subject=str(shop))


def shop_history(shop: uuid.UUID, number: int) -> list[Envelope]:
    """Registration, an update, orders (one cancelled), a complaint, a violation, a class."""
    events = [event(CustomerRegistered(customer_id=shop, **SNAPSHOT), shop)]
    events.append(
        event(
            CustomerUpdated(
                customer_id=shop,
                **{**SNAPSHOT, "county": f"C{number % 3}"},
                changed_fields=["county"],
                version=2,
            ),
            shop,
        )
    )
    if number % 4 == 0:
        events.append(
            event(
                CustomerStatusChanged(
                    customer_id=shop, status="suspended", effective_date=date(2026, 3, 1)
                ),
                shop,
            )
        )
    events.append(
        event(
            CustomerManagerAssigned(
                customer_id=shop, manager_id=uuid.uuid4(), effective_date=date(2026, 2, 1)
            ),
            shop,
        )
    )
    order_ids = [uuid.uuid4() for _ in range(ORDERS_PER_SHOP)]
    for index, order_id in enumerate(order_ids):
        cartons = 1 + (number + index) % 5
        line = OrderLine(
            sku=f"SKU{index % 4}",
            brand="B",
            quantity=cartons,
            unit_price=Decimal("200.00"),
            amount=Decimal("200.00") * cartons,
            gross_profit=Decimal("15.00") * cartons,
            key_brand=index % 2 == 0,
            promoted=index % 3 == 0,
        )
        events.append(
            event(
                OrderPlaced(
                    order_id=order_id,
                    order_no=f"N{number}-{index}",
                    customer_id=shop,
                    order_date=date(2026, 1 + index % 6, 10),
                    settlement="cash" if index % 2 else "e_settlement",
                    total_amount=line.amount,
                    total_quantity=cartons,
                    lines=[line],
                ),
                shop,
            )
        )
    events.append(
        event(OrderCancelled(order_id=order_ids[0], order_no="N", customer_id=shop), shop)
    )
    events.append(
        event(
            ComplaintFiled(
                complaint_id=uuid.uuid4(),
                customer_id=shop,
                complainant_type="consumer",
                channel="hotline",
                category="settlement",
                priority="normal",
                filed_at=datetime(2026, 4, 1, 9, tzinfo=UTC),
            ),
            shop,
        )
    )
    events.append(
        event(
            CustomerViolationRecorded(
                customer_id=shop,
                violation_id=uuid.uuid4(),
                kind="other",
                occurred_on=date(2026, 5, 1),
            ),
            shop,
        )
    )
    events.append(
        event(
            ValuationCustomerClassified(
                customer_id=shop,
                period="2026H1",
                run_id=uuid.uuid4(),
                value_class="B",
                total_score=71.5,
            ),
            shop,
        )
    )
    return events


async def caught_up(bus: TestBus, groups: list[tuple[str, str]]) -> bool:
    """True when every group has committed up to the end of its topic."""
    for group, topic in groups:
        # Kafka groups are namespaced by the topic prefix, like the topics.
        probe = AIOKafkaConsumer(bootstrap_servers=bus.bootstrap, group_id=bus.prefix + group)
        await probe.start()
        try:
            name = bus.prefix + topic
            partitions = [TopicPartition(name, p) for p in probe.partitions_for_topic(name) or ()]
            if not partitions:
                return False
            ends = await probe.end_offsets(partitions)
            for partition in partitions:
                if ((await probe.committed(partition)) or 0) < ends[partition]:
                    return False
        finally:
            await probe.stop()
    return True


async def dump(database: Database, tables: list[str]) -> dict[str, list[str]]:
    """Every row of the tables as sorted JSON text, without the when-applied bookkeeping column."""
    rows: dict[str, list[str]] = {}
    async with database.transaction() as session:
        for table in tables:
            result = await session.execute(
                text(f"SELECT (to_jsonb(t) - 'updated_at')::text FROM {table} AS t")
            )
            rows[table] = sorted(str(row[0]) for row in result)
    return rows


async def test_events_delivered_twice_leave_the_same_state_as_one_delivery(
    database_factory: DatabaseFactory, kafka_bootstrap: str
) -> None:
    """valuation aggregates and complaint-svc's shop read model: twice == once, row for row."""
    envelopes = [e for number in range(SHOPS) for e in shop_history(uuid.uuid4(), number)]
    once = TestBus(kafka_bootstrap, f"r2once{uuid.uuid4().hex[:6]}.")
    twice = TestBus(kafka_bootstrap, f"r2twice{uuid.uuid4().hex[:6]}.")
    try:
        await once.publish_all(envelopes)
        # The whole stream again after it, as a consumer replaying from an old offset sees it.
        await twice.publish_all(envelopes + envelopes)
        async with (
            running_service(valuation_definition, database_factory, once) as valuation_once,
            running_service(valuation_definition, database_factory, twice) as valuation_twice,
            running_service(
                complaint_definition, database_factory, once, sweeper_enabled=False
            ) as complaints_once,
            running_service(
                complaint_definition, database_factory, twice, sweeper_enabled=False
            ) as complaints_twice,
        ):
            groups = VALUATION_GROUPS + COMPLAINT_GROUPS
            for bus in (once, twice):
                await eventually(partial(caught_up, bus, groups), timeout=180, interval=0.5)
            valuation = [
                await dump(service.database, VALUATION_TABLES)
                for service in (valuation_once, valuation_twice)
            ]
            readmodel = [
                await dump(service.database, ["shops"])
                for service in (complaints_once, complaints_twice)
            ]
    finally:
        await once.close()
        await twice.close()

    assert len(valuation[0]["shop_orders"]) == SHOPS * ORDERS_PER_SHOP
    assert len(readmodel[0]["shops"]) == SHOPS
    assert valuation[1] == valuation[0]
    assert readmodel[1] == readmodel[0]
