"""Health, readiness and Prometheus endpoints."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from retailcare_shared.logging import get_logger
from retailcare_shared.problems import problem_response

log = get_logger(__name__)
router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="Process alive")
async def healthz() -> dict[str, str]:
    """Liveness: the process answers."""
    return {"status": "ok"}


@router.get("/readyz", summary="Database reachable and migrations at head")
async def readyz(request: Request) -> Response:
    """Readiness: 200 when the database answers and its schema is at the migration head."""
    state = request.app.state
    try:
        async with state.database.engine.connect() as connection:
            rows = await connection.execute(text(f"SELECT version_num FROM {state.version_table}"))
            applied = {row[0] for row in rows}
    except Exception as error:
        log.warning("not_ready", error=type(error).__name__)
        return problem_response(
            503, "the database is unreachable or not migrated", headers={"Retry-After": "2"}
        )
    if applied != state.migration_heads:
        return problem_response(
            503,
            f"migrations not at head (applied {sorted(applied)}, "
            f"head {sorted(state.migration_heads)})",
            headers={"Retry-After": "5"},
        )
    return JSONResponse({"status": "ready", "migration": sorted(applied)})


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics(request: Request) -> Response:
    """Prometheus text format; refreshes the outbox backlog gauge on each scrape."""
    relay = getattr(request.app.state, "relay", None)
    if relay is not None:
        try:
            await relay.backlog()
        except Exception as error:  # a scrape must not fail because the database is down
            log.warning("backlog_unavailable", error=type(error).__name__)
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
