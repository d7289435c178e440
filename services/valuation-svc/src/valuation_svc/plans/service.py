"""Service plans: facts from the repository, rules from plans.rules."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from retailcare_shared.problems import NotFound
from valuation_svc.config import Settings
from valuation_svc.plans import repository, rules
from valuation_svc.plans.schemas import (
    AnomalyOut,
    ServiceItemOut,
    ServicePlanOut,
    WorkloadItemOut,
    WorkloadOut,
)


def _anomaly(customer_id: uuid.UUID, month: date, facts: Any) -> AnomalyOut:
    before_total = float(facts["before_total"])
    last = float(facts["last_cartons"])
    flagged, change = rules.sales_anomaly(last, [before_total / 3.0] * 3)
    return AnomalyOut(
        customer_id=customer_id,
        month=month,
        cartons=last,
        three_month_average=before_total / 3.0 if before_total > 0 else None,
        change=None if change is None else round(change, 6),
        anomaly=flagged,
    )


def _plan_facts(facts: Any, today: date, anomaly: bool) -> rules.PlanFacts:
    return rules.PlanFacts(
        value_class=facts["value_class"],
        quadrant=facts["quadrant"],
        licensed_on=facts["licensed_on"],
        order_method=facts["order_method"],
        orders_last_month=int(facts["last_orders"]),
        sales_anomaly=anomaly,
        open_complaints=int(facts["open_complaints"]),
        today=today,
    )


async def service_plan(
    session: AsyncSession, customer_id: uuid.UUID, today: date
) -> ServicePlanOut:
    """A shop's plan from its latest classification and its data."""
    month = rules.last_complete_month(today)
    facts = await repository.shop_facts(session, customer_id, month)
    if facts is None or facts["value_class"] is None:
        raise NotFound(f"customer {customer_id} has no valuation result yet")
    anomaly = _anomaly(customer_id, month, facts)
    plan_facts = _plan_facts(facts, today, anomaly.anomaly)
    value_class = plan_facts.value_class
    return ServicePlanOut(
        customer_id=customer_id,
        period=facts["period"],
        run_id=facts["run_id"],
        value_class=value_class,
        quadrant=plan_facts.quadrant,
        strategy=rules.STRATEGY.get(plan_facts.quadrant or ""),
        delivery_promise_hours=rules.DELIVERY_HOURS[value_class],
        visits_per_month=rules.VISITS_PER_MONTH[value_class],
        visit_purpose=rules.visit_purpose(value_class),
        service_items=[
            ServiceItemOut(name=item.name, reason=item.reason)
            for item in rules.service_items(plan_facts)
        ],
        sales_anomaly=anomaly,
    )


async def workload(
    session: AsyncSession, manager_id: uuid.UUID, today: date, settings: Settings
) -> WorkloadOut:
    """Monthly visits and hours per service item over a manager's shops vs the minimums."""
    month = rules.last_complete_month(today)
    rows = await repository.manager_facts(session, manager_id, month)
    hours_per_visit = {
        "assisted_ordering": settings.hours_assisted_ordering,
        "business_guidance": settings.hours_business_guidance,
        "issue_handling": settings.hours_issue_handling,
        "relationship_care": settings.hours_relationship_care,
    }
    visits = dict.fromkeys(rules.SERVICE_ITEMS, 0)
    total_visits = 0
    unclassified = 0
    for facts in rows:
        if facts["value_class"] is None:
            unclassified += 1
            continue
        anomaly = _anomaly(facts["customer_id"], month, facts).anomaly
        total_visits += rules.VISITS_PER_MONTH[facts["value_class"]]
        for item in rules.service_items(_plan_facts(facts, today, anomaly)):
            visits[item.name] += 1
    items = [
        WorkloadItemOut.model_validate(
            rules.workload_status(name, count * hours_per_visit[name], count)
        )
        for name, count in visits.items()
    ]
    return WorkloadOut(
        manager_id=manager_id,
        shops=len(rows),
        unclassified_shops=unclassified,
        visits_per_month=total_visits,
        items=items,
    )


async def anomalies_page(
    session: AsyncSession,
    month: date,
    *,
    county: str | None,
    manager_id: uuid.UUID | None,
    after: uuid.UUID | None,
    limit: int,
) -> tuple[list[AnomalyOut], uuid.UUID | None]:
    """A page of sales anomalies and the id to continue after."""
    rows = await repository.anomalies(
        session, month, county=county, manager_id=manager_id, after=after, limit=limit + 1
    )
    items = [
        AnomalyOut(
            customer_id=row["customer_id"],
            month=month,
            cartons=float(row["cartons"]),
            three_month_average=float(row["average"]),
            change=round(float(row["change"]), 6),
            anomaly=True,
        )
        for row in rows[:limit]
    ]
    more = len(rows) > limit
    return items, (items[-1].customer_id if more and items else None)
