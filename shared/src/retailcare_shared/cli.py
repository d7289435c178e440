"""`python -m <service> migrate|serve|check-config`: the commands containers and `make run` use."""

from __future__ import annotations

import os
import sys

from retailcare_shared.app import ServiceDefinition
from retailcare_shared.memory import FREEZE_AT_STARTUP
from retailcare_shared.migrations import upgrade_to_head
from retailcare_shared.settings import ConfigurationError


def main(definition: ServiceDefinition, factory_path: str, argv: list[str] | None = None) -> int:
    """Run one command for a service."""
    args = sys.argv[1:] if argv is None else argv
    command = args[0] if args else "serve"
    try:
        settings = definition.settings_class.load()
    except ConfigurationError as error:
        print(error, file=sys.stderr)
        return 2
    if command == "migrate":
        upgrade_to_head(definition.service_dir, settings.database_url)
        return 0
    if command == "check-config":
        print(f"{definition.name}: configuration ok")
        return 0
    if command == "serve":
        import uvicorn

        # Each server process freezes its heap once its app has started (app.py's lifespan);
        # worker processes are spawned, so a freeze here would not reach them.
        os.environ[FREEZE_AT_STARTUP] = "1"
        uvicorn.run(
            factory_path,
            factory=True,
            host=settings.host,
            port=settings.port,
            workers=settings.workers,
            log_config=None,
            # In-flight requests get 5 s, then the lifespan 4 s (app.py): exit within 10 s.
            timeout_graceful_shutdown=5,
            proxy_headers=True,
        )
        return 0
    print(f"unknown command {command!r}: use migrate, serve or check-config", file=sys.stderr)
    return 2
