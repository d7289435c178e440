"""Service application factory: lifespan owns the engine, relay, consumers and background jobs."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse

from retailcare_shared.auth import TokenVerifier
from retailcare_shared.consumer import ConsumerRunner, Subscription
from retailcare_shared.db import Database
from retailcare_shared.idempotency import IdempotentReplay, purge_expired_keys, replay_response
from retailcare_shared.kafka import make_consumer, make_producer
from retailcare_shared.logging import configure_logging, get_logger
from retailcare_shared.memory import freeze_if_serving
from retailcare_shared.middleware import BodyGuardMiddleware, RequestContextMiddleware
from retailcare_shared.migrations import migration_heads
from retailcare_shared.observability import router as operations_router
from retailcare_shared.openapi_problems import document_problem_responses
from retailcare_shared.outbox import EventRecorder
from retailcare_shared.problems import install_problem_handlers
from retailcare_shared.relay import OutboxRelay
from retailcare_shared.settings import ServiceSettings

log = get_logger(__name__)

BackgroundJob = Callable[[FastAPI], Coroutine[Any, Any, None]]
# With uvicorn's 5 s to drain HTTP (cli.py), SIGTERM to exit stays under 10 s (quality.md R9).
SHUTDOWN_GRACE_SECONDS = 4.0


def locate_service_dir(module_file: str) -> Path:
    """The service folder holding `alembic.ini` and `migrations/`.

    In the workspace that is two levels above the package; in an image where the package is
    installed into site-packages it is the working directory (`/app/services/<svc>`).
    """
    beside_sources = Path(module_file).resolve().parents[2]
    if (beside_sources / "alembic.ini").exists():
        return beside_sources
    return Path.cwd()


@dataclass(frozen=True)
class ServiceDefinition:
    """Everything that makes one service: its name, settings, migrations, routes and consumers."""

    name: str
    settings_class: type[ServiceSettings]
    service_dir: Path
    routers: Sequence[APIRouter] = ()
    subscriptions: Sequence[Subscription] = ()
    background_jobs: Sequence[BackgroundJob] = field(default_factory=tuple)
    description: str = ""
    # File-upload paths: any media type, streamed to the handler (limit: max_body_bytes_by_path).
    streamed_paths: Sequence[str] = ()

    @property
    def version_table(self) -> str:
        """Each service keeps its own Alembic version table."""
        return "alembic_version_" + self.name.replace("-", "_")


def create_service_app(
    definition: ServiceDefinition, settings: ServiceSettings | None = None
) -> FastAPI:
    """Build the FastAPI app of a service; nothing connects until the lifespan starts."""
    settings = settings or definition.settings_class.load()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging(definition.name, settings.log_level, settings.log_json)
        database = Database(
            settings.database_url,
            pool_size=settings.database_pool_size,
            connect_timeout=settings.database_connect_timeout_seconds,
        )
        app.state.database = database
        app.state.migration_heads = migration_heads(definition.service_dir)
        producer_factory = partial(make_producer, settings, client_id=definition.name)
        tasks: list[asyncio.Task[None]] = []
        stoppers: list[Callable[[], None]] = []
        if settings.relay_enabled:
            relay = OutboxRelay(
                database,
                partial(
                    make_producer,
                    settings,
                    client_id=f"{definition.name}-relay",
                    transactional=settings.kafka_transactions,
                ),
                service=definition.name,
                batch_size=settings.outbox_batch_size,
                poll_seconds=settings.outbox_poll_seconds,
                max_backoff_seconds=settings.relay_max_backoff_seconds,
                transactional=settings.kafka_transactions,
                topic_prefix=settings.kafka_topic_prefix,
            )
            app.state.relay = relay
            tasks.append(asyncio.create_task(relay.run(), name="outbox-relay"))
            stoppers.append(relay.stop)
        app.state.consumers = []
        if settings.consumers_enabled:
            for subscription in definition.subscriptions:
                runner = ConsumerRunner(
                    database,
                    subscription,
                    service=definition.name,
                    consumer_factory=lambda topics, group: make_consumer(
                        settings, topics=topics, group_id=group, client_id=definition.name
                    ),
                    producer_factory=producer_factory,
                    max_retries=settings.consumer_max_retries,
                    retry_backoff_seconds=settings.consumer_retry_backoff_seconds,
                    topic_prefix=settings.kafka_topic_prefix,
                    batch_size=settings.consumer_batch_size,
                    # Handlers reach the app through `app_of(session)`, never through globals.
                    context=app,
                )
                app.state.consumers.append(runner)
                tasks.append(
                    asyncio.create_task(runner.run(), name=f"consumer-{subscription.name}")
                )
                stoppers.append(runner.stop)
        stop_jobs = asyncio.Event()
        app.state.stop_jobs = stop_jobs
        for job in (purge_idempotency_keys, *definition.background_jobs):
            tasks.append(asyncio.create_task(job(app), name=getattr(job, "__name__", "job")))
        log.info("service_started", port=settings.port)
        freeze_if_serving()
        try:
            yield
        finally:
            stop_jobs.set()
            for stop in stoppers:
                stop()
            _, pending = (
                await asyncio.wait(tasks, timeout=SHUTDOWN_GRACE_SECONDS) if tasks else ((), ())
            )
            for task in pending:
                task.cancel()
            await database.dispose()
            log.info("service_stopped")

    app = FastAPI(
        title=definition.name,
        description=definition.description,
        version="1.0.0",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.service = definition.name
    app.state.version_table = definition.version_table
    app.state.token_verifier = TokenVerifier(settings)
    app.state.events = EventRecorder(definition.name)
    install_common(
        app,
        definition.name,
        settings.max_body_bytes,
        settings.max_body_bytes_by_path,
        streamed_paths=definition.streamed_paths,
    )
    app.include_router(operations_router)
    for router in definition.routers:
        app.include_router(router)
    return app


async def purge_idempotency_keys(app: FastAPI) -> None:
    """Every ten minutes, forget idempotency keys older than the configured TTL."""
    settings: ServiceSettings = app.state.settings
    while not app.state.stop_jobs.is_set():
        try:
            async with app.state.database.transaction() as session:
                await purge_expired_keys(session, settings.idempotency_ttl_hours)
        except Exception as error:  # the database may be down; try again next round
            log.warning("idempotency_purge_failed", error=type(error).__name__)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(app.state.stop_jobs.wait(), timeout=600)


def install_common(
    app: FastAPI,
    service: str,
    max_body_bytes: int,
    path_limits: dict[str, int] | None = None,
    *,
    streamed_paths: Sequence[str] = (),
) -> None:
    """Problems, idempotent replays and the request middleware every app shares."""
    install_problem_handlers(app)
    document_problem_responses(app)

    async def replay(_: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, IdempotentReplay)
        return replay_response(error)

    app.add_exception_handler(IdempotentReplay, replay)
    app.add_middleware(
        BodyGuardMiddleware,
        max_body_bytes=max_body_bytes,
        path_limits=path_limits,
        streamed_paths=streamed_paths,
    )
    app.add_middleware(RequestContextMiddleware, service=service)
