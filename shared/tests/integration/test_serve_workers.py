"""`<PREFIX>WORKERS`: `serve` runs that many server processes on one port."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import httpx
import psutil

from complaint_svc.main import definition
from retailcare_shared.testing import DatabaseFactory, ServiceProcess, TestBus, fresh_database


async def test_serve_runs_the_configured_number_of_worker_processes(
    database_factory: DatabaseFactory, bus: TestBus, tmp_path: Path
) -> None:
    async with fresh_database(database_factory, definition.service_dir) as database_url:
        service = ServiceProcess(
            "complaint_svc",
            "COMPLAINT_SVC_",
            database_url=database_url,
            kafka_bootstrap=bus.bootstrap,
            topic_prefix=bus.prefix,
            log_path=tmp_path / "complaint-svc.log",
            workers=2,
            sweeper_enabled=False,
            consumers_enabled=False,
        )
        try:
            await service.start()
            workers = [
                child
                for child in psutil.Process(service.pid).children()
                if "multiprocessing" in " ".join(child.cmdline())
                and "resource_tracker" not in " ".join(child.cmdline())
            ]
            async with httpx.AsyncClient(base_url=service.url, timeout=5) as client:
                answers = await asyncio.gather(*(client.get("/readyz") for _ in range(20)))
            service.send_signal(signal.SIGTERM)
            exit_code = await service.wait(timeout=15)
        finally:
            service.kill()

    assert len(workers) == 2, service.output()[-2000:]
    assert {answer.status_code for answer in answers} == {200}
    assert exit_code in (0, -signal.SIGTERM)
