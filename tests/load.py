"""Load on a running service with ``wrk`` (Debian's package), for the benchmarks."""

from __future__ import annotations

import re
import subprocess


def wrk(url: str) -> tuple[float, float]:
    """Requests per second and p99 latency (ms) from ``wrk --latency``."""
    out = subprocess.run(
        ["wrk", "-t2", "-c64", "-d10s", "--latency", url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    value, unit = re.search(r"99%\s+([\d.]+)(us|ms|s)", out).groups()  # type: ignore[union-attr]
    p99 = float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise SystemExit(f"{url}: {errors.group(1)} non-2xx answers:\n{out}")
    return rate, p99
