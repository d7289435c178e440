"""Each service starts on its migrated database and serves health, readiness and metrics."""

import pytest

from complaint_svc.main import definition as complaint_service
from customer_svc.main import definition as customer_service
from retailcare_shared.app import ServiceDefinition
from retailcare_shared.migrations import migration_heads
from retailcare_shared.testing import DatabaseFactory, TestBus, running_service
from survey_svc.main import definition as survey_service
from valuation_svc.main import definition as valuation_service


@pytest.mark.parametrize(
    "definition",
    [customer_service, valuation_service, complaint_service, survey_service],
    ids=lambda definition: definition.name,
)
async def test_health_readiness_and_metrics(
    definition: ServiceDefinition, database_factory: DatabaseFactory, bus: TestBus
) -> None:
    async with running_service(definition, database_factory, bus) as service:
        client = service.http
        ready = await client.get("/readyz")
        metrics = await client.get("/metrics")
        unknown = await client.get("/api/v1/nowhere")

        assert (await client.get("/healthz")).status_code == 200
        assert ready.status_code == 200, ready.text
        assert ready.json()["migration"] == sorted(migration_heads(definition.service_dir))
        assert f'outbox_backlog{{service="{definition.name}"}}' in metrics.text
        assert unknown.status_code == 404
        assert unknown.headers["x-served-by"] == definition.name


@pytest.mark.parametrize(
    "definition",
    [customer_service, valuation_service, complaint_service, survey_service],
    ids=lambda definition: definition.name,
)
def test_each_service_keeps_its_own_migration_history(definition: ServiceDefinition) -> None:
    assert definition.version_table == "alembic_version_" + definition.name.replace("-", "_")
    assert (definition.service_dir / "migrations" / "env.py").exists()
