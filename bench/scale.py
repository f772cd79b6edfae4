"""Scaling out on PostgreSQL: 1, 2 and 4 signer processes on one database; SQLite vs PostgreSQL.

Measured in one run, on this machine, against a throwaway PostgreSQL cluster
(initdb + pg_ctl on loopback, as the tests make it; fsync on, as in production):

  signers      N ``ketqua serve --role signer`` processes (N = 1, 2, 4), each with
               one signing process (``KETQUA_WORKERS=1``), one key folder and one
               database between them, as N machines of one core each would run;
               8 clients submit DOCS results round robin over the N signer APIs;
               the clock runs from the first request until the last result is
               published (read from ``/metrics``, which counts the whole database).
               Baseline: N = 1.
  backends     one ``ketqua serve`` (both roles, default settings) with the same
               DOCS results, on SQLite (the embedded default, the baseline) and on
               PostgreSQL (documents in the database too).

Printed: docs/s and the ratio to the baseline of each part. On 2 cores the
figure to watch is 1 -> 2 signers (target >= 1.7x); 4 signers share the same
2 cores and show what the contention costs.

Run: ``make bench`` (or ``.venv/bin/python bench/scale.py [--docs N]``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.pdfs import example_metadata, result_pdf
from tests.postgres import Cluster, start_cluster
from tests.service import Service, create_api_key, ketqua_command, submission

CONCURRENCY = 8


def metadata_for(i: int) -> dict[str, object]:
    metadata = example_metadata()
    metadata["dossier_code"] = f"000.18.27.H47-2203{1 + i // 9000:02d}-{i % 9000 + 1:04d}"
    metadata["deliver"] = {"email": False}
    return metadata


async def published(session: aiohttp.ClientSession, url: str) -> int:
    async with session.get(url + "/metrics") as response:
        text = await response.text()
    for line in text.splitlines():
        if line.startswith('ketqua_results{state="published"}'):
            return int(float(line.split()[-1]))
    return 0


async def drive(urls: list[str], key: str, pdfs: list[bytes]) -> float:
    """Submit every PDF round robin over ``urls``; docs/s from first request to last published."""
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(len(pdfs)):
        queue.put_nowait(i)
    headers = {"Authorization": f"Bearer {key}"}
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(headers=headers, timeout=timeout) as session:

        async def client() -> None:
            while not queue.empty():
                i = queue.get_nowait()
                url = urls[i % len(urls)] + "/api/v1/results"
                async with session.post(url, data=submission(metadata_for(i), pdfs[i])) as r:
                    assert r.status == 202, await r.text()

        start = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(CONCURRENCY)))
        while await published(session, urls[0]) < len(pdfs):  # noqa: ASYNC110 - other processes
            await asyncio.sleep(0.1)
        return len(pdfs) / (time.perf_counter() - start)


def signers_rate(work: Path, cluster: Cluster, keys: Path, count: int, pdfs: list[bytes]) -> float:
    url = cluster.createdb(f"signers_{count}")
    env = {"KETQUA_DATABASE_URL": url, "KETQUA_KEYS": str(keys), "KETQUA_WORKERS": "1"}
    signers = [
        Service(work / f"signers-{count}-{n}", env=env, role="signer") for n in range(count)
    ]
    try:
        for signer in signers:
            signer.start()
        key = create_api_key(signers[0].home, env=env)
        return asyncio.run(drive([s.signer_url for s in signers], key, pdfs))
    finally:
        for signer in signers:
            if signer.process is not None and signer.process.poll() is None:
                signer.stop()


def backend_rate(work: Path, name: str, env: dict[str, str], pdfs: list[bytes]) -> float:
    service = Service(work / f"backend-{name}", env=env).start()
    try:
        key = create_api_key(service.home, env=env)
        return asyncio.run(drive([service.signer_url], key, pdfs))
    finally:
        service.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=1000, help="results per run")
    args = parser.parse_args()
    pdfs = [result_pdf(trailing_text=f"scale-{n:05d}") for n in range(args.docs)]
    with tempfile.TemporaryDirectory(prefix="ketqua-bench-scale-") as tmp:
        work = Path(tmp)
        keys = work / "keys"
        subprocess.run(
            ketqua_command("keys", "init", "--dir", str(keys)), check=True, capture_output=True
        )
        cluster = start_cluster(durable=True)
        try:
            signers = {n: signers_rate(work, cluster, keys, n, pdfs) for n in (1, 2, 4)}
            sqlite = backend_rate(work, "sqlite", {}, pdfs)
            pg = backend_rate(
                work, "postgresql", {"KETQUA_DATABASE_URL": cluster.createdb("backend")}, pdfs
            )
        finally:
            cluster.stop()
    print(f"scale-out benchmark: {args.docs} results, 1-page A4, PAdES B-B, over HTTP")
    print(f"python {platform.python_version()}, {os.cpu_count()} cores, {platform.machine()}")
    print(f"{'contender':52s} {'docs/s':>8s} {'vs baseline':>12s}")
    for n, rate in signers.items():
        name = f"{n} signer process(es), 1 signing worker each, PostgreSQL"
        print(f"{name:52s} {rate:8.1f} {rate / signers[1]:11.2f}x")
    print(f"{'one service (both roles), SQLite (baseline)':52s} {sqlite:8.1f} {1.0:11.2f}x")
    print(f"{'one service (both roles), PostgreSQL':52s} {pg:8.1f} {pg / sqlite:11.2f}x")


if __name__ == "__main__":
    main()
