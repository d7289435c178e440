"""`make seed` on the `make run` stack: a small province, then what it made, via the gateway."""

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from retailcare_shared.auth import issue_token
from retailcare_shared.testing import Stack

DEV_SECRET = "dev-secret"  # what `make run` (and so the stack fixture) uses
pytestmark = pytest.mark.filterwarnings("ignore:The HMAC key is")  # dev-secret is short on purpose


def headers(role: str) -> dict[str, str]:
    return {"Authorization": "Bearer " + issue_token(DEV_SECRET, sub=f"test-{role}", roles=[role])}


def get(stack: Stack, role: str, path: str, **params: Any) -> Any:
    response = httpx.get(stack.url() + path, headers=headers(role), params=params, timeout=30)
    assert response.status_code == 200, (path, response.status_code, response.text[:500])
    return response.json()


def every(stack: Stack, role: str, path: str, **params: Any) -> list[Any]:
    items: list[Any] = []
    query = {**params, "limit": 500}
    while True:
        page = get(stack, role, path, **query)
        items.extend(page["items"])
        if not page.get("next_cursor"):
            return items
        query["cursor"] = page["next_cursor"]


@pytest.fixture(scope="module")
def seeded(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    summary = tmp_path_factory.mktemp("seed") / "summary.json"
    environment = {key: value for key, value in os.environ.items() if key != "AUTH_JWT_SECRET"}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "retailcare_shared.devseed",
            "--shops",
            "60",
            "--gateway",
            stack.url(),
            "--seed",
            "11",
            "--settle-timeout",
            "240",
            "--summary-json",
            str(summary),
        ],
        env=environment,
        capture_output=True,
        text=True,
        timeout=540,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "WARNING" not in result.stdout, result.stdout[-3000:]
    data: dict[str, Any] = json.loads(Path(summary).read_text(encoding="utf-8"))
    data["stdout"] = result.stdout
    return data


@pytest.mark.timeout(600)
def test_the_seed_registers_every_shop_with_its_managers(
    stack: Stack, seeded: dict[str, Any]
) -> None:
    assert len(seeded["shops"]) == 60
    found = set()
    for county in seeded["counties"]:
        found |= {
            shop["id"] for shop in every(stack, "supervisor", "/api/v1/customers", county=county)
        }
    assert set(seeded["shops"]) <= found
    manager = seeded["managers"][0]
    own = get(stack, "supervisor", f"/api/v1/managers/{manager['id']}/customers", limit=500)
    assert own["items"], "the first manager has shops"
    assert "curl -s" in seeded["stdout"]


@pytest.mark.timeout(600)
def test_the_seed_posts_weeks_of_orders(stack: Stack, seeded: dict[str, Any]) -> None:
    assert seeded["orders_accepted"] >= 60 * 6
    assert seeded["orders_rejected"] == 0
    shops_with_orders = [
        shop
        for shop in seeded["shops"][:10]
        if get(stack, "supervisor", f"/api/v1/customers/{shop}/orders", limit=500)["items"]
    ]
    assert len(shops_with_orders) >= 8
    orders = get(stack, "supervisor", f"/api/v1/customers/{shops_with_orders[0]}/orders", limit=500)
    assert len(orders["items"]) >= 5


@pytest.mark.timeout(600)
def test_the_seed_files_complaints_in_several_states(stack: Stack, seeded: dict[str, Any]) -> None:
    complaints = [
        get(stack, "call_center", f"/api/v1/complaints/{cid}") for cid in seeded["complaints"]
    ]
    assert len(complaints) >= 3
    statuses = {complaint["status"] for complaint in complaints}
    assert len(statuses) >= 2
    assert {complaint["customer_id"] for complaint in complaints} <= set(seeded["shops"])


@pytest.mark.timeout(600)
def test_the_seed_runs_a_survey_campaign_with_responses(
    stack: Stack, seeded: dict[str, Any]
) -> None:
    campaign = get(stack, "supervisor", f"/api/v1/survey-campaigns/{seeded['campaign_id']}")
    assert campaign["status"] == "open"
    results = get(stack, "analyst", f"/api/v1/survey-campaigns/{seeded['campaign_id']}/results")
    assert results["invited"] == seeded["invitations"] > 0
    assert results["responded"] == seeded["responses"] > 0
    assert results["satisfaction_index"] is not None


@pytest.mark.timeout(600)
def test_the_seed_finishes_a_valuation_run(stack: Stack, seeded: dict[str, Any]) -> None:
    run = get(stack, "analyst", f"/api/v1/valuation-runs/{seeded['run_id']}")
    assert run["status"] == "completed"
    assert run["evaluated"] >= 40
    results = every(stack, "analyst", "/api/v1/valuations", run_id=seeded["run_id"])
    ours = [row for row in results if row["customer_id"] in set(seeded["shops"])]
    assert len(ours) >= 40
    assert len({row["value_class"] for row in ours}) >= 3
    example = seeded["example_shops"]["C"]
    valuation = get(stack, "call_center", f"/api/v1/customers/{example}/valuation")
    assert valuation["run_id"] == seeded["run_id"]
