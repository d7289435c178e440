"""P6: survey results for a campaign with 100,000 responses (target ≤ 1 s).

Builds one campaign of the seeded 20-item SERVQUAL questionnaire over 50 district strata:
125,000 invitations of which 100,000 answered, 2,000,000 answers, all loaded with COPY, then
the per-cell sums (which each response maintains in the service) rebuilt from the answers.
Times `GET /api/v1/survey-campaigns/{id}/results` (total, and `by=district`) through the real
app on the real database. quality.md gives no floor for P6; for context the run also times one
plain aggregate scan of the campaign's answers (what a results request would cost without
the maintained sums).

`BENCH_SCALE=0.01 uv run python -m bench.p6_survey_results` for a quick smoke run.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import numpy as np
from sqlalchemy.engine import make_url

from bench.common import Result, create_database, infrastructure, spread_of, timed_rounds
from retailcare_shared.app import create_service_app
from retailcare_shared.auth import issue_token
from retailcare_shared.db import Database
from survey_svc.config import Settings
from survey_svc.main import definition
from survey_svc.questionnaires.catalogue import SERVQUAL_RETAIL
from survey_svc.results.repository import rebuild

SCALE = float(os.environ.get("BENCH_SCALE", "1"))
RESPONSES = max(200, int(100_000 * SCALE))
INVITATIONS = RESPONSES * 5 // 4
DISTRICTS = 50
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "7"))
SECRET = "bench-secret-0123456789-0123456789"
TARGET_SECONDS = 1.0


async def load(url: str) -> uuid.UUID:
    """Campaign, strata, cells, invitations, responses and answers, by COPY."""
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    connection = await asyncpg.connect(dsn)
    generator = np.random.default_rng(6)
    campaign_id = uuid.uuid4()
    now = datetime.now(UTC)
    try:
        await connection.execute(
            """INSERT INTO survey_campaigns (id, name, questionnaire_id, kind, method, opens_at,
               closes_at, sampling, status, created_by, frame_size, sample_size)
               VALUES ($1, 'bench', $2, 'monthly_inquiry', 'phone', $3, $4,
               '{"rate": 0.1, "strata": ["district"]}', 'open', 'bench', $5, $6)""",
            campaign_id,
            SERVQUAL_RETAIL.id,
            now - timedelta(days=1),
            now + timedelta(days=30),
            INVITATIONS * 10,
            INVITATIONS,
        )
        strata = generator.integers(0, DISTRICTS, INVITATIONS)
        sizes = np.bincount(strata, minlength=DISTRICTS)
        strata_rows = [
            (campaign_id, h, f'{{"district": "D{h:02d}"}}', int(sizes[h]) * 10, int(sizes[h]), 0, 0)
            for h in range(DISTRICTS)
        ]
        await connection.copy_records_to_table(
            "campaign_strata",
            records=strata_rows,
            columns=STRATA_COLUMNS,
        )
        # A cell is a stratum x value class x market type (the invitation's group attributes).
        cell_of = strata * 12 + (np.arange(INVITATIONS) % 4) * 3 + np.arange(INVITATIONS) % 3
        invited = np.bincount(cell_of, minlength=DISTRICTS * 12)
        cell_rows = [
            (campaign_id, cell, cell // 12, *_attributes(cell), int(invited[cell]), 0)
            for cell in range(DISTRICTS * 12)
            if invited[cell]
        ]
        await connection.copy_records_to_table(
            "campaign_cells", records=cell_rows, columns=CELL_COLUMNS
        )
        invitation_ids = [uuid.uuid4() for _ in range(INVITATIONS)]
        customer_ids = [uuid.uuid4() for _ in range(INVITATIONS)]
        invitation_rows = [
            (
                invitation_ids[i],
                campaign_id,
                customer_ids[i],
                uuid.uuid4().hex,
                "completed" if i < RESPONSES else "pending",
                "phone",
                int(strata[i]),
                int(cell_of[i]),
                *_attributes(int(cell_of[i])),
            )
            for i in range(INVITATIONS)
        ]
        await connection.copy_records_to_table(
            "survey_invitations", records=invitation_rows, columns=INVITATION_COLUMNS
        )
        response_ids = [uuid.uuid4() for _ in range(RESPONSES)]
        response_rows = [
            (
                response_ids[i],
                invitation_ids[i],
                campaign_id,
                customer_ids[i],
                SERVQUAL_RETAIL.id,
                "phone",
            )
            for i in range(RESPONSES)
        ]
        await connection.copy_records_to_table(
            "survey_responses", records=response_rows, columns=RESPONSE_COLUMNS
        )
        codes = [item.code for item in SERVQUAL_RETAIL.items]
        expectations = generator.integers(3, 6, (RESPONSES, len(codes))).tolist()
        perceptions = generator.integers(1, 6, (RESPONSES, len(codes))).tolist()
        cells = cell_of.tolist()
        answer_rows = (
            (response_ids[r], code, campaign_id, cells[r], expectations[r][c], perceptions[r][c])
            for r in range(RESPONSES)
            for c, code in enumerate(codes)
        )
        await connection.copy_records_to_table(
            "survey_answers", records=answer_rows, columns=ANSWER_COLUMNS
        )
        await connection.execute("ANALYZE")
    finally:
        await connection.close()
    return campaign_id


def _attributes(cell: int) -> tuple[str, str, str]:
    """District, value class and market type of a cell number."""
    return f"D{cell // 12:02d}", "ABCD"[(cell % 12) // 3], "rural" if cell % 3 == 0 else "urban"


STRATA_COLUMNS = [
    "campaign_id",
    "stratum_no",
    "key",
    "population",
    "sample_size",
    "fresh_available",
    "drawn_from_recent",
]
CELL_COLUMNS = [
    "campaign_id",
    "cell_no",
    "stratum_no",
    "district",
    "value_class",
    "market_type",
    "invited",
    "responded",
]
INVITATION_COLUMNS = [
    "id",
    "campaign_id",
    "customer_id",
    "token",
    "status",
    "channel",
    "stratum_no",
    "cell_no",
    "district",
    "value_class",
    "market_type",
]
RESPONSE_COLUMNS = [
    "id",
    "invitation_id",
    "campaign_id",
    "customer_id",
    "questionnaire_id",
    "channel",
]
ANSWER_COLUMNS = [
    "response_id",
    "item_code",
    "campaign_id",
    "cell_no",
    "expectation",
    "perception",
]


async def floor_scan(url: str, campaign_id: uuid.UUID) -> list[float]:
    """One aggregate scan of the campaign's answers (context only: P6 names no floor)."""
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    connection = await asyncpg.connect(dsn)
    try:

        async def scan() -> None:
            await connection.fetch(
                "SELECT item_code, count(*), sum(perception - expectation) FROM survey_answers"
                " WHERE campaign_id = $1 GROUP BY item_code",
                campaign_id,
            )

        return await timed_rounds(scan, rounds=ROUNDS, warmup=1)
    finally:
        await connection.close()


async def run(server_url: str, bootstrap: str) -> None:
    """Load, then time the results endpoint."""
    url = await create_database(server_url, "bench_p6_survey", definition.service_dir)
    campaign_id = await load(url)
    settings = Settings(
        database_url=url,
        kafka_bootstrap_servers=bootstrap,
        auth_jwt_secret=SECRET,
        relay_enabled=False,
        consumers_enabled=False,
        log_level="WARNING",
    )
    # The bulk load bypassed the per-response bookkeeping: build the cell sums the way a
    # backfill would (timed for the record, not part of the target).
    database = Database(url)
    started = time.perf_counter()
    async with database.transaction() as session:
        await rebuild(session, campaign_id)
    rebuild_seconds = time.perf_counter() - started
    await database.dispose()
    app = create_service_app(definition, settings)
    headers = {"Authorization": "Bearer " + issue_token(SECRET, sub="bench", roles=["analyst"])}
    figures: dict[str, list[float]] = {}
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://survey") as client:
            for label, query in (("total", ""), ("by_district", "?by=district")):
                path = f"/api/v1/survey-campaigns/{campaign_id}/results{query}"

                async def fetch(path: str = path) -> None:
                    response = await client.get(path, headers=headers)
                    response.raise_for_status()
                    body: dict[str, Any] = response.json()
                    assert body["responded"] == RESPONSES

                figures[label] = await timed_rounds(fetch, rounds=ROUNDS, warmup=1)
    floor = await floor_scan(url, campaign_id)
    worst = max(statistics.median(values) for values in figures.values())
    floor_median = statistics.median(floor)
    Result(
        id="P6",
        scenario=f"survey results, {RESPONSES:,} responses x 20 items",
        metric="median seconds per results request (slower of total / by=district)",
        unit="s",
        median=worst,
        spread=max(spread_of(values) for values in figures.values()),
        rounds=ROUNDS,
        target=f"<= {TARGET_SECONDS} s",
        floor_metric="one aggregate scan of the campaign's answers (context; no floor in P6)",
        floor_median=floor_median,
        ratio=worst / floor_median if floor_median else None,
        ratio_target="informative",
        met=worst <= TARGET_SECONDS,
        extra={
            "scale": SCALE,
            "responses": RESPONSES,
            "answers": RESPONSES * 20,
            "median_total_s": statistics.median(figures["total"]),
            "median_by_district_s": statistics.median(figures["by_district"]),
            "rebuild_cells_s": rebuild_seconds,
        },
    ).dump()


def main() -> None:
    """Run P6 on the configured or embedded infrastructure."""
    with infrastructure() as infra:
        asyncio.run(run(infra.postgres_server_url, infra.kafka_bootstrap))


if __name__ == "__main__":
    main()
