"""Run every benchmark module `bench/p*_*.py` (or those named on the command line) in turn,
then rewrite docs/benchmarks.md from bench-results/*.json."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from bench import report

HERE = Path(__file__).parent


def main(argv: list[str]) -> int:
    """Each benchmark runs in its own process so memory peaks are its own."""
    names = argv or sorted(path.stem for path in HERE.glob("p[0-9]_*.py"))
    print(f"{'id':<4} {'scenario':<48} {'median':>12} {'unit':<10}", flush=True)
    failures = 0
    for name in names:
        started = time.monotonic()
        completed = subprocess.run([sys.executable, "-m", f"bench.{name}"], check=False)
        failures += completed.returncode != 0
        print(f"     ({name}: {time.monotonic() - started:,.0f} s wall)", flush=True)
    print(f"wrote {report.write()}", flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
