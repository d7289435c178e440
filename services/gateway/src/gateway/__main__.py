"""`python -m gateway serve|check-config`."""

import os
import sys

import uvicorn

from gateway.config import Settings
from retailcare_shared.memory import FREEZE_AT_STARTUP
from retailcare_shared.settings import ConfigurationError


def main() -> int:
    """Run a gateway command."""
    command = sys.argv[1] if len(sys.argv) > 1 else "serve"
    try:
        settings = Settings.load()
    except ConfigurationError as error:
        print(error, file=sys.stderr)
        return 2
    if command == "check-config":
        print("gateway: configuration ok")
        return 0
    if command != "serve":
        print(f"unknown command {command!r}: use serve or check-config", file=sys.stderr)
        return 2
    os.environ[FREEZE_AT_STARTUP] = "1"  # the app freezes its heap once started (main.py)
    uvicorn.run(
        "gateway.main:create_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        log_config=None,
        timeout_graceful_shutdown=5,
        # Longer than clients' usual idle expiry (httpx: 5 s), so a client never sends on a
        # keep-alive connection at the instant the gateway closes it (a failed POST).
        timeout_keep_alive=30,
        # The gateway reads X-Forwarded-For itself, from GATEWAY_TRUSTED_PROXIES only
        # (uvicorn's own handling would trust 127.0.0.1 whatever is configured).
        proxy_headers=False,
    )
    return 0


raise SystemExit(main())
