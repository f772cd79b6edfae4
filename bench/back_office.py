"""The back office's console on a registry of many results: how long its pages take.

Run: ``.venv/bin/python bench/back_office.py [--results N]``. Seeds N results
(``bench/portal.py``'s rows: a year of one district's results, every
applicant named alike), starts the signer role, logs a clerk in, and times
each page sequentially (one person at a desk, not a load): the dashboard,
search by dossier code, by a name every result has, by a name none has (a
scan of every row), by state, and a result's page. The baseline, measured
in the same run on the same registry: the API's ``GET /api/v1/results``
page of 25, which the console's pages are shown as ratios of.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import summary  # bench/summary.py, beside this file
from portal import seed  # bench/portal.py, beside this file

from tests.console import StaffBrowser, add_user
from tests.service import Service, create_api_key, ketqua_command

TIMES = 20


async def timed(session: aiohttp.ClientSession, url: str, **kwargs: object) -> list[float]:
    taken = []
    for _ in range(TIMES):
        started = time.perf_counter()
        async with session.get(url, **kwargs) as response:  # type: ignore[arg-type]
            body = await response.read()
            assert response.status == 200, (url, response.status, body[:300])
        taken.append(time.perf_counter() - started)
    return taken


async def measure(service: Service, dossier: str) -> list[tuple[str, list[float]]]:
    key = await asyncio.to_thread(create_api_key, service.home, "bench-console")
    initial = await asyncio.to_thread(add_user, service.home, "bench.clerk", "clerk")
    async with StaffBrowser(service.signer_url) as person:
        await person.first_login("bench.clerk", initial, "bàn-một-cửa-đo-tốc-độ")
        listing = await person.get("/results")
        first = listing.text.split('href="/results/', 2)[1].split('"', 1)[0]
        api = {"Authorization": f"Bearer {key}"}
        base = service.signer_url
        pages = [
            ("API GET /api/v1/results?limit=25 (baseline)", "/api/v1/results?limit=25"),
            ("GET / (dashboard)", "/"),
            ("GET /results (newest 25)", "/results"),
            ("GET /results?dossier_code=...", f"/results?dossier_code={dossier}"),
            (
                "GET /results?applicant=nguyễn văn an (every row)",
                "/results?applicant=nguyễn văn an",
            ),
            ("GET /results?applicant=không ai (no row: a scan)", "/results?applicant=không ai"),
            ("GET /results?state=delivered", "/results?state=delivered"),
            ("GET /results/{id} (a result's page)", f"/results/{first}"),
        ]
        found = []
        for name, path in pages:
            headers = api if path.startswith("/api/") else {}
            found.append((name, await timed(person.session, base + path, headers=headers)))
        return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ketqua-bench-console-") as tmp:
        home = Path(tmp) / "home"
        keys = ketqua_command("keys", "init", "--dir", str(home / "keys"))
        subprocess.run(keys, check=True, capture_output=True)
        dossier = asyncio.run(seed(home, args.results))
        service = Service(home, role="signer", env={"KETQUA_WORKERS": "1"}).start()
        try:
            found = asyncio.run(measure(service, dossier))
        finally:
            service.stop()
    baseline = statistics.median(found[0][1])
    print(f"console pages on {args.results:,} results, {TIMES} requests each, one at a time")
    print(f"{'page':58} {'median ms':>10} {'p95 ms':>8} {'x API':>7}")
    slowest = max(found[1:], key=lambda item: statistics.median(item[1]))
    summary.record(
        f"console: slowest page ({slowest[0].split(' (')[0]})",
        f"{statistics.median(slowest[1]) * 1000:.1f} ms",
        f"the API's list {baseline * 1000:.1f} ms",
        statistics.median(slowest[1]) / baseline,
    )
    for name, taken in found:
        median = statistics.median(taken)
        p95 = sorted(taken)[int(len(taken) * 0.95) - 1]
        print(f"{name:58} {median * 1000:10.1f} {p95 * 1000:8.1f} {median / baseline:7.2f}")


if __name__ == "__main__":
    main()
