"""Service-plan rules (pure): delivery promise, visits, service items, sales anomalies, workload."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from valuation_svc.valuation.periods import add_months

DELIVERY_HOURS = {"A": 12, "B": 24, "C": 48, "D": 48, "problem": 48}
VISITS_PER_MONTH = {"A": 4, "B": 3, "C": 2, "D": 1, "problem": 2}
STRATEGY = {
    "value": "one-to-one retention: proactive contact, tailored service, best advice",
    "sub_value": "keep investing, strengthen supervision, raise cooperation",
    "potential": "rebuild the relationship: more visits, personalised business guidance",
    "low_value": "develop towards sub-value or potential; otherwise change or give up",
}
ANOMALY_THRESHOLD = 0.30
# Seeds' table 3-5: monthly minimums per service item (hours, visits).
MINIMUMS = {
    "assisted_ordering": (13.0, 40),
    "business_guidance": (13.0, 30),
    "relationship_care": (4.0, 36),
}
SERVICE_ITEMS = ("assisted_ordering", "business_guidance", "issue_handling", "relationship_care")


@dataclass(frozen=True)
class ServiceItem:
    """One service item of a plan and why it applies."""

    name: str
    reason: str


@dataclass(frozen=True)
class PlanFacts:
    """What a plan is derived from."""

    value_class: str
    quadrant: str | None
    licensed_on: date | None
    order_method: str | None
    orders_last_month: int
    sales_anomaly: bool
    open_complaints: int
    today: date


def visit_purpose(value_class: str) -> str:
    """Problem customers are visited for inspection; the others for service."""
    return "inspection" if value_class == "problem" else "service"


def sales_anomaly(last_month: float, three_before: list[float]) -> tuple[bool, float | None]:
    """Last complete month differs from the average of the three before by more than 30%.

    Returns (anomaly, relative change); no average (all zero) means no comparison is possible.
    """
    if not three_before:
        return False, None
    average = sum(three_before) / len(three_before)
    if average <= 0:
        return False, None
    change = (last_month - average) / average
    return abs(change) > ANOMALY_THRESHOLD, change


def last_complete_month(today: date) -> date:
    """First day of the last month that has ended."""
    return add_months(today.replace(day=1), -1)


def service_items(facts: PlanFacts) -> list[ServiceItem]:
    """The seeds' service items that apply, each with its reason."""
    items: list[ServiceItem] = []
    if facts.licensed_on is not None and facts.licensed_on > add_months(facts.today, -3):
        items.append(ServiceItem("assisted_ordering", "licensed less than 3 months ago"))
    elif facts.order_method in ("web", "app") and facts.orders_last_month < 3:
        items.append(
            ServiceItem(
                "assisted_ordering",
                f"orders by {facts.order_method} with {facts.orders_last_month} orders "
                "last month (< 3)",
            )
        )
    guidance: list[str] = []
    if facts.quadrant == "potential":
        guidance.append("potential-value customer")
    if facts.sales_anomaly:
        guidance.append("sales anomaly: last month differs from the 3-month average by > 30%")
    if guidance:
        items.append(ServiceItem("business_guidance", "; ".join(guidance)))
    if facts.open_complaints > 0:
        items.append(ServiceItem("issue_handling", f"{facts.open_complaints} open complaint(s)"))
    if facts.value_class == "A":
        items.append(ServiceItem("relationship_care", "class A customer"))
    return items


def workload_status(item: str, hours: float, visits: int) -> dict[str, object]:
    """A manager's monthly hours and visits of one item against the seeds' minimums."""
    minimum = MINIMUMS.get(item)
    if minimum is None:
        return {"item": item, "hours": hours, "visits": visits, "meets_minimum": None}
    min_hours, min_visits = minimum
    return {
        "item": item,
        "hours": round(hours, 2),
        "visits": visits,
        "minimum_hours": min_hours,
        "minimum_visits": min_visits,
        "meets_minimum": hours >= min_hours and visits >= min_visits,
    }
