"""End-to-end flows of events.md through the gateway, every service a separate process."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from retailcare_shared.auth import issue_token
from retailcare_shared.testing import Stack

# The stack and the module's scenario start inside the first test that needs them.
pytestmark = [
    pytest.mark.timeout(300),
    pytest.mark.filterwarnings("ignore:The HMAC key is 10 bytes long"),  # `dev-secret`
]

DEV_SECRET = "dev-secret"  # `make run`'s default AUTH_JWT_SECRET
SHANGHAI = ZoneInfo("Asia/Shanghai")


def today() -> date:
    """The company's business date (orders and runs are dated in Asia/Shanghai)."""
    return datetime.now(SHANGHAI).date()


def period_of(day: date) -> str:
    """The half-year valuation period containing a day."""
    return f"{day.year}H{1 if day.month <= 6 else 2}"


def unique(prefix: str, length: int = 10) -> str:
    """A unique code (licence numbers, order numbers, counties)."""
    return (prefix + uuid.uuid4().hex.upper())[:length]


def token(roles: list[str], *, sub: str, **claims: Any) -> dict[str, str]:
    """Authorization header signed like `make token` (the stack runs with `dev-secret`)."""
    return {
        "Authorization": "Bearer "
        + issue_token(DEV_SECRET, sub=sub, roles=roles, **{k: v for k, v in claims.items() if v})
    }


async def eventually(
    check: Callable[[], Awaitable[Any]], *, timeout: float = 180.0, interval: float = 0.3
) -> Any:
    """Poll until `check` returns something truthy (AssertionError with the last value).

    Generous by default: events cross four processes and a broker on a shared 2-core machine.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    last: Any = None
    while True:
        last = await check()
        if last:
            return last
        if loop.time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last value: {last!r})")
        await asyncio.sleep(interval)


class County:
    """One county company of the test province: its supervisor, managers and shops."""

    def __init__(self, http: httpx.AsyncClient, code: str | None = None) -> None:
        self.http = http
        self.code = code or unique("E", 8)
        self.supervisor = token(["supervisor"], sub=f"sup-{self.code}", county=self.code)
        self.call_center = token(["call_center"], sub=f"cc-{self.code}")
        self.platform = token(["order_platform"], sub=f"op-{self.code}")
        self.analyst = token(["analyst"], sub=f"an-{self.code}", county=self.code)

    def manager_token(self, manager_id: str) -> dict[str, str]:
        """A customer manager's token."""
        return token(["customer_manager"], sub=f"mgr-{manager_id}", manager_id=manager_id)

    async def manager(self) -> str:
        """Register a customer manager of this county; returns the id."""
        response = await self.http.post(
            "/api/v1/managers",
            json={
                "employee_no": unique("EMP", 12),
                "name": "Wang Wu",
                "county": self.code,
                "districts": ["D01"],
            },
            headers=self.supervisor,
        )
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    async def shop(self, manager_id: str | None = None, **overrides: Any) -> dict[str, Any]:
        """Register an eligible urban shop (licensed long ago, full credit attributes)."""
        body: dict[str, Any] = {
            "license_no": unique("L", 16),
            "name": "Lucky Convenience",
            "owner_name": "Zhang San",
            "phones": ["13812345678"],
            "county": self.code,
            "district": "D01",
            "market_type": "urban",
            "trading_area": "residential",
            "business_format": "convenience",
            "scale": "small",
            "order_method": "phone",
            "business_hours": 16,
            "display_form": "shelf",
            "display_sku_count": 15,
            "renown": "street",
            "reputation": "good",
            "compliance_grade": "A",
            "price_labeling": "price_board",
            "licensed_on": "2024-01-15",
            **overrides,
        }
        if manager_id is not None:
            body["manager_id"] = manager_id
        response = await self.http.post("/api/v1/customers", json=body, headers=self.supervisor)
        assert response.status_code == 201, response.text
        shop: dict[str, Any] = response.json()
        return shop

    async def order(
        self, shop_id: str, lines: list[tuple[int, str]], *, settlement: str = "e_settlement"
    ) -> dict[str, Any]:
        """Post one order dated today: lines of (cartons, unit price)."""
        response = await self.http.post(
            "/api/v1/orders",
            json={
                "order_no": unique("ORD", 24),
                "customer_id": shop_id,
                "order_date": today().isoformat(),
                "settlement": settlement,
                "lines": [
                    {
                        "sku": f"SKU{n}",
                        "brand": "Liqun",
                        "quantity": quantity,
                        "unit_price": price,
                        "gross_profit": "10.00",
                        "key_brand": True,
                        "promoted": n == 0,
                    }
                    for n, (quantity, price) in enumerate(lines)
                ],
            },
            headers={**self.platform, "Idempotency-Key": str(uuid.uuid4())},
        )
        assert response.status_code == 201, response.text
        order: dict[str, Any] = response.json()
        return order

    async def complaint(
        self, shop_id: str, *, complainant_type: str = "retailer", category: str = "staff_attitude"
    ) -> dict[str, Any]:
        """The call centre files a complaint against a shop."""
        response = await self.http.post(
            "/api/v1/complaints",
            json={
                "customer_id": shop_id,
                "complainant_type": complainant_type,
                "received_by": "agent-li",
                "channel": "hotline",
                "category": category,
                "description": "The delivery man was rude on Monday.",
            },
            headers={**self.call_center, "Idempotency-Key": str(uuid.uuid4())},
        )
        assert response.status_code == 201, response.text
        complaint: dict[str, Any] = response.json()
        return complaint

    async def resolve(self, complaint_id: str) -> None:
        """Assign (supervisor), start and resolve (call centre) a complaint."""
        base = f"/api/v1/complaints/{complaint_id}"

        async def in_supervisors_county() -> bool:
            # The complaint's county comes from complaint-svc's read model of customer events.
            response = await self.http.get(base, headers=self.supervisor)
            return response.status_code == 200 and response.json()["county"] == self.code

        await eventually(in_supervisors_county)
        steps = [
            ("assign", {"assignee": "li.si"}, self.supervisor),
            ("start", {}, self.call_center),
            (
                "resolve",
                {"resolution": "Apologised.", "root_cause": "Rush hour."},
                self.call_center,
            ),
        ]
        for action, body, headers in steps:
            response = await self.http.post(f"{base}/{action}", json=body, headers=headers)
            assert response.status_code == 200, (action, response.text)

    async def valuation_run(self, period: str) -> dict[str, Any]:
        """Start this county's run of a period and wait until it is completed."""
        started = await self.http.post(
            "/api/v1/valuation-runs", json={"period": period}, headers=self.supervisor
        )
        assert started.status_code == 202, started.text
        run_id = started.json()["run_id"]

        async def finished() -> dict[str, Any] | None:
            response = await self.http.get(
                f"/api/v1/valuation-runs/{run_id}", headers=self.supervisor
            )
            assert response.status_code == 200, response.text
            run: dict[str, Any] = response.json()
            assert run["status"] != "failed", run
            return run if run["status"] == "completed" else None

        run: dict[str, Any] = await eventually(finished)
        assert run["county"] == self.code
        return run

    async def results(self, run_id: str) -> dict[str, dict[str, Any]]:
        """Every result of a run, by shop id."""
        response = await self.http.get(
            "/api/v1/valuations", params={"run_id": run_id, "limit": 100}, headers=self.supervisor
        )
        assert response.status_code == 200, response.text
        return {row["customer_id"]: row for row in response.json()["items"]}


def indicator(result: dict[str, Any], name: str) -> dict[str, Any]:
    """One indicator of a valuation result."""
    found: list[dict[str, Any]] = [row for row in result["indicators"] if row["name"] == name]
    assert len(found) == 1, (name, result["indicators"])
    return found[0]


def input_of(results: dict[str, dict[str, Any]], shop_id: str, name: str) -> Any:
    """An indicator's input in a run's results (None while the shop or indicator is missing)."""
    for row in results.get(shop_id, {}).get("indicators", []):
        if row["name"] == name:
            return row["input"]
    return None


@pytest.fixture(scope="module")
async def gateway(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client of the gateway (the only entry the flows use)."""
    async with httpx.AsyncClient(base_url=stack.url(), timeout=30) as client:
        yield client


# Order lines (cartons, unit price): 35 cartons, 3,000 yuan, 2 orders of which 1 e-settled.
SMALL_ORDERS = [([(10, "100.00"), (20, "50.00")], "e_settlement"), ([(5, "200.00")], "cash")]
# 125 cartons, 13,000 yuan.
BIG_ORDERS = [([(60, "100.00"), (40, "50.00")], "e_settlement"), ([(25, "200.00")], "cash")]


@dataclass
class Valued:
    """One county valued once: four shops of two managers with orders, complaints, a violation."""

    county: County
    period: str
    manager_1: str
    manager_2: str
    plain: str  # manager 1, small orders
    consumer: str  # manager 1, small orders, one consumer complaint
    violator: str  # manager 2, small orders, a counterfeit violation
    big: str  # manager 2, big orders, one retailer complaint
    consumer_complaint: str
    retailer_complaint: str
    run: dict[str, Any]
    results: dict[str, dict[str, Any]]

    @property
    def shops(self) -> list[str]:
        """Every shop of the county."""
        return [self.plain, self.consumer, self.violator, self.big]


@pytest.fixture(scope="module")
async def valued(gateway: httpx.AsyncClient) -> Valued:
    """Orders, complaints and a violation go in; one valuation run (re-run until it sees them)."""
    county = County(gateway)
    period = period_of(today())
    manager_1, manager_2 = await county.manager(), await county.manager()
    plain = (await county.shop(manager_1))["id"]
    consumer = (await county.shop(manager_1))["id"]
    violator = (await county.shop(manager_2))["id"]
    big = (await county.shop(manager_2))["id"]
    for shop, orders in (
        (plain, SMALL_ORDERS),
        (consumer, SMALL_ORDERS),
        (violator, SMALL_ORDERS),
        (big, BIG_ORDERS),
    ):
        for lines, settlement in orders:
            await county.order(shop, lines, settlement=settlement)
    consumer_complaint = await county.complaint(
        consumer, complainant_type="consumer", category="overpricing"
    )
    assert consumer_complaint["company_responsible"] is False
    retailer_complaint = await county.complaint(big)
    violation = await gateway.post(
        f"/api/v1/customers/{violator}/violations",
        json={"kind": "counterfeit", "occurred_on": today().isoformat(), "note": "fake Zhonghua"},
        headers=county.supervisor,
    )
    assert violation.status_code == 201, violation.text

    async def run_seeing_everything() -> tuple[dict[str, Any], dict[str, Any]] | None:
        # A run values what valuation-svc has consumed so far: run again until it saw it all.
        run = await county.valuation_run(period)
        results = await county.results(run["id"])
        seen = (
            set(results) == {plain, consumer, violator, big}
            and input_of(results, plain, "sales_volume") == 35
            and input_of(results, consumer, "sales_volume") == 35
            and input_of(results, violator, "sales_volume") == 35
            and input_of(results, big, "sales_volume") == 125
            and input_of(results, consumer, "consumer_complaints") == 1
            and results[violator]["value_class"] == "problem"
        )
        return (run, results) if seen else None

    run, results = await eventually(run_seeing_everything, timeout=120, interval=1.0)
    return Valued(
        county,
        period,
        manager_1,
        manager_2,
        plain,
        consumer,
        violator,
        big,
        consumer_complaint["id"],
        retailer_complaint["id"],
        run,
        results,
    )


async def test_orders_feed_the_shops_valuation(gateway: httpx.AsyncClient, valued: Valued) -> None:
    """Flow 1: order.placed → valuation-svc's aggregates → the run's sales figures and scores."""
    county, plain, big = valued.county, valued.results[valued.plain], valued.results[valued.big]

    assert valued.run["evaluated"] == 4
    assert input_of(valued.results, valued.plain, "sales_amount") == 3000
    assert input_of(valued.results, valued.big, "sales_amount") == 13000
    assert input_of(valued.results, valued.plain, "gross_profit") == 30
    assert indicator(plain, "e_settlement_orders")["score"] == pytest.approx(50)
    assert indicator(plain, "e_settlement_amount")["score"] == pytest.approx(100 * 2000 / 3000)
    # The bigger buyer is the group's log2 maximum and contributes more.
    assert indicator(big, "sales_volume")["score"] == pytest.approx(100)
    assert indicator(plain, "sales_volume")["score"] < 100
    assert big["dimensions"]["contribution"] > plain["dimensions"]["contribution"]
    assert big["rank"] == 1 and big["group_size"] == 4

    # The same result is the shop's current valuation, readable by the ordering platform.
    current = await gateway.get(
        f"/api/v1/customers/{valued.plain}/valuation",
        params={"period": valued.period},
        headers=county.platform,
    )
    assert current.status_code == 200, current.text
    assert current.json()["run_id"] == valued.run["id"]
    assert current.json()["total_score"] == pytest.approx(plain["total_score"])
    orders = await gateway.get(
        f"/api/v1/customers/{valued.plain}/orders", headers=county.supervisor
    )
    assert orders.status_code == 200, orders.text
    assert len(orders.json()["items"]) == 2


async def test_a_consumer_complaint_lowers_the_shops_credit(valued: Valued) -> None:
    """Flow 3: the same shop with one consumer complaint gets less credit (75 instead of 100)."""
    plain, consumer = valued.results[valued.plain], valued.results[valued.consumer]

    assert input_of(valued.results, valued.plain, "consumer_complaints") == 0
    assert indicator(consumer, "consumer_complaints")["score"] == pytest.approx(75)
    assert indicator(plain, "consumer_complaints")["score"] == pytest.approx(100)
    assert consumer["credit_score"] < plain["credit_score"]
    assert plain["credit_score"] == pytest.approx(20)
    assert consumer["credit_score"] == pytest.approx(18.5)
    assert consumer["total_score"] < plain["total_score"]
    for dimension in ("contribution", "support", "influence", "growth"):
        assert consumer["dimensions"][dimension] == pytest.approx(plain["dimensions"][dimension])


async def test_a_violation_makes_a_problem_customer(
    gateway: httpx.AsyncClient, valued: Valued
) -> None:
    """Flow 4: customer.violation_recorded → class `problem` whatever the score."""
    violator, plain = valued.results[valued.violator], valued.results[valued.plain]

    assert violator["value_class"] == "problem"
    assert violator["total_score"] == pytest.approx(plain["total_score"])  # same figures
    assert plain["value_class"] != "problem", plain["reasons"]
    assert any("violation" in reason for reason in violator["reasons"]), violator["reasons"]
    violations = await gateway.get(
        f"/api/v1/customers/{valued.violator}/violations", headers=valued.county.supervisor
    )
    assert [row["kind"] for row in violations.json()["items"]] == ["counterfeit"]


@dataclass
class Surveyed:
    """A satisfaction campaign of the valued county, drawn by value class, every shop answering."""

    campaign_id: str
    responses: dict[str, str]  # shop id → response id


@pytest.fixture(scope="module")
async def surveyed(gateway: httpx.AsyncClient, valued: Valued) -> Surveyed:
    """Draw a campaign stratified by value class once survey-svc knows the classes; answer it."""
    county = valued.county
    questionnaires = await gateway.get(
        "/api/v1/questionnaires",
        params={"code": "service-satisfaction"},
        headers=county.supervisor,
    )
    assert questionnaires.status_code == 200, questionnaires.text
    questionnaire = questionnaires.json()["items"][0]
    expected = Counter(valued.results[shop]["value_class"] for shop in valued.shops)
    now = datetime.now(SHANGHAI)

    async def campaign_drawn_by_class() -> dict[str, Any] | None:
        # Strata are the shops' classes as survey-svc knows them when the sample is drawn.
        created = await gateway.post(
            "/api/v1/survey-campaigns",
            json={
                "name": "Satisfaction by class",
                "questionnaire_id": questionnaire["id"],
                "kind": "quarterly",
                "method": "face_to_face",
                "opens_at": (now - timedelta(hours=1)).isoformat(),
                "closes_at": (now + timedelta(days=30)).isoformat(),
                "sampling": {
                    "rate": 1.0,
                    "strata": ["value_class"],
                    "exclude_surveyed_within_days": 0,
                },
            },
            headers=county.supervisor,
        )
        assert created.status_code == 201, created.text
        campaign_id = created.json()["id"]
        sampled = await gateway.post(
            f"/api/v1/survey-campaigns/{campaign_id}/sample", headers=county.supervisor
        )
        if sampled.status_code == 409 and "frame is empty" in sampled.text:
            return None  # survey-svc has not consumed the registrations yet
        assert sampled.status_code == 200, sampled.text
        strata = Counter(
            {row["key"]["value_class"]: row["population"] for row in sampled.json()["strata"]}
        )
        return sampled.json() if strata == expected else None

    campaign = await eventually(campaign_drawn_by_class, interval=1.0)
    opened = await gateway.post(
        f"/api/v1/survey-campaigns/{campaign['id']}/open", headers=county.supervisor
    )
    assert opened.status_code == 200, opened.text
    invitations = await gateway.get(
        f"/api/v1/survey-campaigns/{campaign['id']}/invitations", headers=county.supervisor
    )
    assert invitations.status_code == 200, invitations.text
    responses: dict[str, str] = {}
    for invitation in invitations.json()["items"]:
        answered = await gateway.post(
            "/api/v1/survey-responses",
            json={
                "invitation_id": invitation["id"],
                "answers": [
                    {"item_code": item["code"], "score": 2} for item in questionnaire["items"]
                ],
                "collected_by": "Wang Wu",
            },
            headers={**county.supervisor, "Idempotency-Key": str(uuid.uuid4())},
        )
        assert answered.status_code == 201, answered.text
        responses[invitation["customer_id"]] = answered.json()["id"]
    assert set(responses) == set(valued.shops)
    return Surveyed(campaign["id"], responses)


async def test_the_classification_shows_everywhere(
    gateway: httpx.AsyncClient, valued: Valued, surveyed: Surveyed
) -> None:
    """Flow 5: valuation.customer_classified → customer-svc, complaint analytics, survey results."""
    county = valued.county
    classes = {shop: valued.results[shop]["value_class"] for shop in valued.shops}
    expected = Counter(classes.values())

    async def customer_svc_shows_classes() -> bool:
        for shop, value_class in classes.items():
            response = await gateway.get(f"/api/v1/customers/{shop}", headers=county.supervisor)
            assert response.status_code == 200, response.text
            body = response.json()
            if (body["value_class"], body["value_period"]) != (value_class, valued.period):
                return False
            assert body["value_quadrant"] == valued.results[shop]["quadrant"]
        return True

    await eventually(customer_svc_shows_classes)
    listed = await gateway.get(
        "/api/v1/customers",
        params={"county": county.code, "value_class": "problem"},
        headers=county.supervisor,
    )
    assert [row["id"] for row in listed.json()["items"]] == [valued.violator]

    async def complaint_rate_by_class() -> dict[str, Any] | None:
        response = await gateway.get(
            "/api/v1/complaint-analytics/rate",
            params={"by": "value_class"},
            headers=county.supervisor,  # county-scoped: this county only
        )
        assert response.status_code == 200, response.text
        groups = {row["key"]: row for row in response.json()["groups"]}
        counts = {key: row["customers"] for key, row in groups.items()}
        return groups if counts == dict(expected) else None

    groups = await eventually(complaint_rate_by_class)
    # Only the big shop's retailer complaint counts (a consumer complaint is about the shop).
    big_class = classes[valued.big]
    assert groups[big_class]["complaining_customers"] == 1
    assert sum(row["complaining_customers"] for row in groups.values()) == 1

    results = await gateway.get(
        f"/api/v1/survey-campaigns/{surveyed.campaign_id}/results",
        params={"by": "value_class"},
        headers=county.analyst,
    )
    assert results.status_code == 200, results.text
    by_class = {row["key"]: row["responded"] for row in results.json()["groups"]}
    assert by_class == dict(expected)
    window = {"from": (today() - timedelta(days=1)).isoformat(), "to": today().isoformat()}
    alerts = await gateway.get(
        "/api/v1/survey-analytics/alerts",
        params={**window, "by": "value_class", "complaint_rate_max": 1},
        headers=county.supervisor,
    )
    assert alerts.status_code == 200, alerts.text
    # Every class answered 2 of 5 (satisfaction index 25 < 70): each group is flagged.
    flagged = {row["key"]: row["responses"] for row in alerts.json()["alerts"]}
    assert flagged == dict(expected)


async def test_a_customer_manager_sees_only_their_own_shops(
    gateway: httpx.AsyncClient, valued: Valued, surveyed: Surveyed
) -> None:
    """Flow 6: another manager's shop, its complaints, valuation, plan, overview → 404."""
    me = valued.county.manager_token(valued.manager_1)
    own, foreign = valued.consumer, valued.big

    # Own shop: everything readable (complaint-svc learns the manager from customer events).
    for path in (
        f"/api/v1/customers/{own}",
        f"/api/v1/customers/{own}/valuation",
        f"/api/v1/customers/{own}/service-plan",
        f"/api/v1/customers/{own}/overview",
    ):
        response = await gateway.get(path, headers=me)
        assert response.status_code == 200, (path, response.text)

    async def own_complaint_visible() -> bool:
        response = await gateway.get(f"/api/v1/complaints/{valued.consumer_complaint}", headers=me)
        return response.status_code == 200

    await eventually(own_complaint_visible)

    # The other manager's shop: indistinguishable from a missing one, in every service.
    for path in (
        f"/api/v1/customers/{foreign}",
        f"/api/v1/customers/{foreign}/valuation",
        f"/api/v1/customers/{foreign}/valuation-history",
        f"/api/v1/customers/{foreign}/service-plan",
        f"/api/v1/customers/{foreign}/overview",
        f"/api/v1/customers/{foreign}/orders",
        f"/api/v1/complaints/{valued.retailer_complaint}",
        f"/api/v1/complaints/{valued.retailer_complaint}/timeline",
        f"/api/v1/survey-responses/{surveyed.responses[foreign]}",
    ):
        response = await gateway.get(path, headers=me)
        assert response.status_code == 404, (path, response.status_code, response.text)

    # Lists are filtered to the manager's own shops.
    mine = {valued.plain, valued.consumer}
    shops = await gateway.get(
        "/api/v1/customers", params={"county": valued.county.code}, headers=me
    )
    assert {row["id"] for row in shops.json()["items"]} == mine
    valuations = await gateway.get(
        "/api/v1/valuations", params={"run_id": valued.run["id"]}, headers=me
    )
    assert valuations.status_code == 200, valuations.text
    assert {row["customer_id"] for row in valuations.json()["items"]} == mine
    complaints = await gateway.get(
        "/api/v1/complaints", params={"customer_id": foreign}, headers=me
    )
    assert complaints.status_code == 200, complaints.text
    assert complaints.json()["items"] == []
    complaints = await gateway.get("/api/v1/complaints", headers=me)
    assert valued.consumer_complaint in {row["id"] for row in complaints.json()["items"]}
    assert {row["customer_id"] for row in complaints.json()["items"]} <= mine
    invitations = await gateway.get(
        f"/api/v1/survey-campaigns/{surveyed.campaign_id}/invitations", headers=me
    )
    assert invitations.status_code == 200, invitations.text
    assert {row["customer_id"] for row in invitations.json()["items"]} == mine


async def test_the_overview_assembles_every_part(
    gateway: httpx.AsyncClient, valued: Valued, surveyed: Surveyed
) -> None:
    """Flow 7: profile, valuation, service plan, complaints, survey, callbacks; nothing missing."""
    county, shop = valued.county, valued.consumer
    # A second (retailer) complaint, resolved: survey-svc opens a callback for it.
    resolved = await county.complaint(shop, category="delivery_timeliness")
    await county.resolve(resolved["id"])

    async def overview_with_callback() -> dict[str, Any] | None:
        response = await gateway.get(
            f"/api/v1/customers/{shop}/overview", headers=county.call_center
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body if body["pending_callbacks"] else None

    overview = await eventually(overview_with_callback)

    assert overview["unavailable"] == []
    assert overview["withheld"] == []
    assert overview["profile"]["id"] == shop
    assert overview["profile"]["owner_name"] == "Zhang San"  # the call centre may see it
    assert overview["valuation"]["run_id"] == valued.run["id"]
    assert overview["valuation"]["value_class"] == valued.results[shop]["value_class"]
    assert overview["service_plan"]["value_class"] == valued.results[shop]["value_class"]
    assert [row["id"] for row in overview["open_complaints"]] == [valued.consumer_complaint]
    assert {row["id"] for row in overview["recent_complaints"]} == {
        valued.consumer_complaint,
        resolved["id"],
    }
    assert overview["last_survey_result"]["id"] == surveyed.responses[shop]
    assert [row["complaint_id"] for row in overview["pending_callbacks"]] == [resolved["id"]]


async def test_complaint_callback_closes_or_reopens_with_a_repeat(
    gateway: httpx.AsyncClient,
) -> None:
    """Flow 2: filed → resolved → callback; satisfied closes it, dissatisfied reopens + repeat."""
    county = County(gateway)
    happy = (await county.shop())["id"]
    unhappy = (await county.shop())["id"]

    # Intake is idempotent: the same key and body replay the stored complaint.
    body = {
        "customer_id": happy,
        "complainant_type": "retailer",
        "received_by": "agent-li",
        "channel": "hotline",
        "category": "delivery_timeliness",
        "description": "Tuesday's delivery came two days late.",
    }
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = await gateway.post(
        "/api/v1/complaints", json=body, headers={**county.call_center, **key}
    )
    again = await gateway.post(
        "/api/v1/complaints", json=body, headers={**county.call_center, **key}
    )
    assert first.status_code == again.status_code == 201, (first.text, again.text)
    assert again.headers.get("idempotent-replayed") == "true"
    assert again.json()["id"] == first.json()["id"]
    closed_one = first.json()["id"]
    reopened_one = (await county.complaint(unhappy, category="delivery_timeliness"))["id"]
    for complaint_id in (closed_one, reopened_one):
        await county.resolve(complaint_id)

    async def pending_callback(shop: str) -> dict[str, Any] | None:
        response = await gateway.get(
            "/api/v1/callbacks",
            params={"customer_id": shop, "status": "pending"},
            headers=county.call_center,
        )
        assert response.status_code == 200, response.text
        items: list[dict[str, Any]] = response.json()["items"]
        return items[0] if items else None

    async def answer(shop: str, *, solved: bool, satisfaction: int) -> dict[str, Any]:
        callback: dict[str, Any] = await eventually(lambda: pending_callback(shop))
        response = await gateway.post(
            f"/api/v1/callbacks/{callback['id']}/response",
            json={
                "answers": [
                    {"item_code": "reached", "value": True},
                    {"item_code": "solved", "value": solved},
                    {"item_code": "satisfaction", "score": satisfaction},
                ],
                "collected_by": "Zhao Liu",
            },
            headers={**county.call_center, "Idempotency-Key": str(uuid.uuid4())},
        )
        assert response.status_code in (200, 201), response.text
        return callback

    async def complaint(complaint_id: str) -> dict[str, Any]:
        response = await gateway.get(
            f"/api/v1/complaints/{complaint_id}", headers=county.call_center
        )
        assert response.status_code == 200, response.text
        found: dict[str, Any] = response.json()
        return found

    callback = await answer(happy, solved=True, satisfaction=5)
    assert callback["complaint_id"] == closed_one

    async def closed() -> dict[str, Any] | None:
        found = await complaint(closed_one)
        return found if found["status"] == "closed" else None

    assert (await eventually(closed))["callback_satisfied"] is True
    answered = await gateway.get(f"/api/v1/callbacks/{callback['id']}", headers=county.call_center)
    assert answered.json()["status"] == "completed" and answered.json()["satisfied"] is True

    callback = await answer(unhappy, solved=False, satisfaction=2)
    assert callback["complaint_id"] == reopened_one

    async def reopened() -> dict[str, Any] | None:
        found = await complaint(reopened_one)
        return found if found["status"] == "in_progress" and found["reopen_count"] == 1 else None

    await eventually(reopened)
    listed = await gateway.get(
        "/api/v1/complaints", params={"customer_id": unhappy}, headers=county.call_center
    )
    repeats = [row for row in listed.json()["items"] if row["id"] != reopened_one]
    assert len(repeats) == 1, listed.json()
    assert repeats[0]["is_repeat"] is True
    assert repeats[0]["repeat_of"] == reopened_one
    assert repeats[0]["category"] == "delivery_timeliness"
    timeline = await gateway.get(
        f"/api/v1/complaints/{reopened_one}/timeline", headers=county.call_center
    )
    reopen = [row for row in timeline.json()["items"] if row["action"] == "reopen"]
    assert len(reopen) == 1, timeline.json()
    assert reopen[0]["from_status"] == "resolved"
    assert reopen[0]["details"]["repeat_complaint_id"] == repeats[0]["id"]
    # The happy shop's complaint stays closed: no repeat there.
    listed = await gateway.get(
        "/api/v1/complaints", params={"customer_id": happy}, headers=county.call_center
    )
    assert [row["id"] for row in listed.json()["items"]] == [closed_one]
