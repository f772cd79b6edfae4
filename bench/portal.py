"""The portal's routes with 100,000 results in the registry.

Generates a registry (SQLite, the embedded default) of N published results
of one agency over the year 2022, starts ``ketqua serve --role verifier`` on
it, and measures with ``wrk`` (2 threads, 64 connections, 10 s, loopback):
the listing's first page (``/api/v1/published?limit=50``), a filtered page,
the status lookup of one dossier (``/api/v1/lookup/{code}``) and the listing
page people see (``/ket-qua``, plain and filtered) and the statistics page for
the year with its breakdown (``/thong-ke?period=2022``), each asked once
before the load (that first answer's time is printed apart: it is computed,
the load's are mostly kept ones); then the statistics for the whole year
(``/api/v1/statistics?period=2022``), timed one request at a time.
Printed: requests/s and p99 (target < 50 ms), and the statistics' times.

Run: ``make bench`` (or ``.venv/bin/python bench/portal.py [--results N]``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import summary  # bench/summary.py, beside this file

from plumbing.vietnam import VIETNAM_TIME
from registry.access import hash_code
from registry.database import open_database, upgrade
from registry.ids import new_id
from registry.schema import results
from registry.timeliness import timeliness
from tests.load import wrk
from tests.service import Service, ketqua_command

AGENCY = "000.00.14.H49"


def rows(count: int) -> list[dict[str, object]]:
    start = datetime(2022, 1, 3, 8, 0, tzinfo=VIETNAM_TIME)
    access = hash_code("BENCH-CODE-1")  # one slow hash, shared: generating 100k is not the point
    now = datetime.now(UTC)
    made = []
    for n in range(count):
        resolved = start + timedelta(minutes=5 * n % (360 * 24 * 60))
        due = resolved + timedelta(days=(n % 7) - 1)
        metadata = {
            "agency": {"code": AGENCY, "name": "Ủy ban nhân dân huyện Vân Đồn"},
            "procedure": {"code": f"1.00{n % 50:04d}", "name": "Cấp giấy phép xây dựng"},
            "applicant": {"name": "Nguyễn Văn An", "email": "an@example.vn"},
        }
        made.append(
            {
                "id": new_id(),
                "dossier_code": f"{AGENCY}-22{resolved:%m%d}-{n % 10000:04d}",
                "result_no": 1 + n // 10000,
                "agency_code": AGENCY,
                "procedure_code": f"1.00{n % 50:04d}",
                "state": "published" if n % 3 else "delivered",
                "metadata_json": json.dumps(metadata, ensure_ascii=False),
                "applicant_folded": "nguyễn văn an",
                "publish": True,
                "received_at": resolved - timedelta(days=10),
                "due_at": due,
                "resolved_at": resolved,
                "timeliness": timeliness(resolved, due).value,
                "original_sha256": f"{n:064x}",
                "original_size": 1,
                "signed_at": resolved,
                "seal_url": f"https://ketqua.example.vn/V/BENCH{n}",
                "access_hash": access,
                "created_at": now,
                "updated_at": now,
            }
        )
    return made


async def seed(home: Path, count: int) -> str:
    db = open_database(f"sqlite:///{home / 'ketqua.db'}")
    await upgrade(db)
    made = rows(count)
    await db.write(lambda conn: conn.execute(results.insert(), made))
    await db.close()
    return str(made[count // 2]["dossier_code"])


async def stats_times(url: str, times: int = 20) -> list[float]:
    taken = []
    async with aiohttp.ClientSession() as session:
        for _ in range(times):
            started = time.perf_counter()
            async with session.get(url) as response:
                body = await response.read()
                assert response.status == 200, body[:300]
            taken.append(time.perf_counter() - started)
    return taken


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ketqua-bench-portal-") as tmp:
        home = Path(tmp) / "home"
        keys = ketqua_command("keys", "init", "--dir", str(home / "keys"))
        subprocess.run(keys, check=True, capture_output=True)
        started = time.perf_counter()
        dossier = asyncio.run(seed(home, args.results))
        seeded = time.perf_counter() - started
        env = {
            "KETQUA_VERIFY_RATE": "10000",
            "KETQUA_VERIFY_BURST": "100000",
            # one bench client stands for many visitors; the per-client limit is not measured
            "KETQUA_PORTAL_RATE": "10000",
            "KETQUA_PORTAL_BURST": "100000",
        }
        service = Service(home, role="verifier", env=env).start()
        try:
            base = service.verifier_url
            routes = [
                ("GET /api/v1/published?limit=50", "/api/v1/published?limit=50"),
                (
                    "GET /api/v1/published (procedure, period)",
                    "/api/v1/published?limit=50&procedure=1.000007&from=2022-06-01&to=2022-06-30",
                ),
                ("GET /api/v1/lookup/{dossier} (status)", f"/api/v1/lookup/{dossier}"),
                ("GET /ket-qua (the page)", "/ket-qua"),
                (
                    "GET /ket-qua (procedure, days)",
                    "/ket-qua?procedure=1.000007&from=01/06/2022&to=30/06/2022",
                ),
                ("GET /thong-ke?period=2022 (the page)", "/thong-ke?period=2022"),
            ]
            figures = []
            for name, path in routes:
                # asked once first: the first computation of an answer is timed apart below
                first = asyncio.run(stats_times(base + path, times=1))[0]
                figures.append((name, first, wrk(base + path)))
            year = asyncio.run(stats_times(f"{base}/api/v1/statistics?period=2022"))
        finally:
            service.stop()
    print(f"portal benchmark: {args.results:,} results in SQLite (seeded in {seeded:.1f} s)")
    print(f"{'route':48s} {'first ms':>9s} {'req/s':>8s} {'p99 ms':>8s}")
    for name, first, (rate, p99) in figures:
        print(f"{name:48s} {first * 1000:9.1f} {rate:8.0f} {p99:8.1f}")
    slowest = min(figures, key=lambda item: item[2][0])
    summary.record(
        f"portal: slowest route ({slowest[0]})",
        f"{slowest[2][0]:.0f} req/s",
        f"{args.results:,} results (no baseline)",
        None,
    )
    print(
        f"statistics for a year (GET /api/v1/statistics?period=2022): median "
        f"{statistics.median(year) * 1000:.1f} ms, max {max(year) * 1000:.1f} ms"
    )


if __name__ == "__main__":
    main()
