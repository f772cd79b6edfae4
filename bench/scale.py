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

Printed: docs/s and the ratio to the baseline of each part, and what the whole
machine spent (all processes: services, signing and intake workers, PostgreSQL,
this client; from /proc/stat): CPU milliseconds per document and how busy the
cores were. On 2 cores the figure to watch is 1 -> 2 signers (target >= 1.7x):
a second signer can add at most what the first leaves idle of the cores.

Run: ``make bench`` (or ``.venv/bin/python bench/scale.py [--docs N] [--rounds R]``).
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
from dataclasses import dataclass
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import summary  # bench/summary.py, beside this file

from tests.pdfs import example_metadata, result_pdf
from tests.postgres import Cluster, start_cluster
from tests.service import Service, create_api_key, ketqua_command, submission

CONCURRENCY = 8


def metadata_for(i: int) -> dict[str, object]:
    metadata = example_metadata()
    metadata["dossier_code"] = f"000.00.14.H49-2203{1 + i // 9000:02d}-{i % 9000 + 1:04d}"
    metadata["deliver"] = {"email": False}
    return metadata


async def published(session: aiohttp.ClientSession, url: str) -> int:
    async with session.get(url + "/metrics") as response:
        text = await response.text()
    for line in text.splitlines():
        if line.startswith('ketqua_results{state="published"}'):
            return int(float(line.split()[-1]))
    return 0


@dataclass(frozen=True)
class Run:
    rate: float  # documents per second, first request to last published
    cpu_ms: float  # CPU of the whole machine per document
    busy: float  # share of all cores' time used


def machine_cpu() -> float:
    """Seconds of CPU all cores have spent (user, nice, system, irq, softirq: not idle)."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq = (int(f) for f in fields[:7])
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def measured(urls: list[str], key: str, pdfs: list[bytes]) -> Run:
    cpu, start = machine_cpu(), time.perf_counter()
    rate = asyncio.run(drive(urls, key, pdfs))
    used, elapsed = machine_cpu() - cpu, time.perf_counter() - start
    return Run(rate, used / len(pdfs) * 1000, used / (elapsed * (os.cpu_count() or 1)))


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


def signers_rate(
    work: Path, cluster: Cluster, keys: Path, count: int, pdfs: list[bytes], tag: str
) -> Run:
    url = cluster.createdb(f"signers_{count}_{tag}")
    env = {"KETQUA_DATABASE_URL": url, "KETQUA_KEYS": str(keys), "KETQUA_WORKERS": "1"}
    signers = [
        Service(work / f"signers-{count}-{n}-{tag}", env=env, role="signer") for n in range(count)
    ]
    try:
        for signer in signers:
            signer.start()
        key = create_api_key(signers[0].home, env=env)
        return measured([s.signer_url for s in signers], key, pdfs)
    finally:
        for signer in signers:
            if signer.process is not None and signer.process.poll() is None:
                signer.stop()


def backend_rate(work: Path, name: str, env: dict[str, str], pdfs: list[bytes]) -> Run:
    service = Service(work / f"backend-{name}", env=env).start()
    try:
        key = create_api_key(service.home, env=env)
        return measured([service.signer_url], key, pdfs)
    finally:
        service.stop()


def median_run(runs: list[Run]) -> Run:
    """The run of median rate (its own CPU figures with it)."""
    return sorted(runs, key=lambda run: run.rate)[len(runs) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=600, help="results per run")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of every contender")
    args = parser.parse_args()
    pdfs = [result_pdf(trailing_text=f"scale-{n:05d}") for n in range(args.docs)]
    runs: dict[str, list[Run]] = {}
    with tempfile.TemporaryDirectory(prefix="ketqua-bench-scale-") as tmp:
        work = Path(tmp)
        keys = work / "keys"
        subprocess.run(
            ketqua_command("keys", "init", "--dir", str(keys)), check=True, capture_output=True
        )
        cluster = start_cluster(durable=True)
        try:
            # rounds, each contender once per round: this machine's speed drifts by tens of
            # percent over minutes; interleaving spreads the drift over all of them
            for r in range(args.rounds):
                for n in (1, 2, 4):
                    run = signers_rate(work, cluster, keys, n, pdfs, f"r{r}")
                    runs.setdefault(f"{n} signers", []).append(run)
                sqlite = backend_rate(work, f"sqlite-r{r}", {}, pdfs)
                runs.setdefault("sqlite", []).append(sqlite)
                url = cluster.createdb(f"backend_r{r}")
                pg = backend_rate(work, f"postgresql-r{r}", {"KETQUA_DATABASE_URL": url}, pdfs)
                runs.setdefault("postgresql", []).append(pg)
        finally:
            cluster.stop()
    print(
        f"scale-out benchmark: {args.docs} results a run, median of {args.rounds} interleaved "
        "rounds, 1-page A4, PAdES B-B, over HTTP"
    )
    print(f"python {platform.python_version()}, {os.cpu_count()} cores, {platform.machine()}")
    columns = ("docs/s", "vs baseline", "CPU ms/doc", "busy", "docs/s of each round")
    print(
        f"{'contender':52s} {columns[0]:>7s} {columns[1]:>12s} {columns[2]:>11s} "
        f"{columns[3]:>5s}  {columns[4]}"
    )

    def row(name: str, key: str, baseline: str) -> None:
        run, base = median_run(runs[key]), median_run(runs[baseline])
        each = " ".join(f"{r.rate:.1f}" for r in runs[key])
        if key != baseline:
            summary.record(
                f"scale-out: {name}",
                f"{run.rate:.1f} docs/s",
                f"{base.rate:.1f} docs/s",
                run.rate / base.rate,
            )
        print(
            f"{name:52s} {run.rate:7.1f} {run.rate / base.rate:11.2f}x {run.cpu_ms:11.1f} "
            f"{run.busy:5.0%}  {each}"
        )

    for n in (1, 2, 4):
        row(
            f"{n} signer process(es), 1 signing worker each, PostgreSQL",
            f"{n} signers",
            "1 signers",
        )
    row("one service (both roles), SQLite (baseline)", "sqlite", "sqlite")
    row("one service (both roles), PostgreSQL", "postgresql", "sqlite")


if __name__ == "__main__":
    main()
