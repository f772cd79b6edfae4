"""The signer service end to end: N submissions over HTTP, accepted -> published.

Measured in one run, on this machine:

  baseline     one in-process ``SigningRuntime`` signing the same document N' times
               (the signing benchmark's "ketqua, 1 process" figure)
  service      a real ``ketqua serve`` (default settings: one signing process per
               core, SQLite, logs at INFO) receiving N results from 8 concurrent
               clients, then 100 more from one client, one at a time, while the
               pool signs the backlog; the clock runs from the first request to the
               moment the last result is published (read from ``/metrics``)

Printed: both rates and their ratio, the CPU time per document of each process
(the service's, its signing and intake processes', this client's: on 2 cores,
their sum bounds the rate) (what the service adds beyond signing; the
target is >= 1.6x with 2 workers), and the intake latency p50/p99 of the
one-at-a-time submissions, made while the signing pool is busy (the target is
p99 < 50 ms: intake never waits for signing). The flood's latencies are
printed too; they mostly measure the clients' own queue (Little's law).

Run: ``make bench`` (or ``.venv/bin/python bench/service.py [--docs N]``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import summary  # bench/summary.py, beside this file

from keys.devpki import init_keydir
from signer.document import SignOptions
from signer.metadata import parse_metadata
from signer.runtime import KeySource, RuntimeConfig, SigningRuntime, freeze_prepared_state
from tests.pdfs import example_metadata, result_pdf
from tests.service import Service, create_api_key, submission

CONCURRENCY = 8


def baseline(work: Path, pdf: bytes, count: int) -> float:
    keydir = init_keydir(work / "baseline-keys")
    metadata = parse_metadata(json.dumps(example_metadata()))
    with SigningRuntime(RuntimeConfig(KeySource(keydir.root), SignOptions())) as runtime:
        freeze_prepared_state()
        runtime.sign(pdf, metadata)  # warm-up, as the service's workers are warm
        start = time.perf_counter()
        for _ in range(count):
            runtime.sign(pdf, metadata)
        return count / (time.perf_counter() - start)


def metadata_for(i: int) -> dict[str, object]:
    metadata = example_metadata()
    metadata["dossier_code"] = f"000.00.14.H49-2203{1 + i // 9000:02d}-{i % 9000 + 1:04d}"
    return metadata


async def published(client: aiohttp.ClientSession) -> int:
    """Results published so far, e-mailed ones included (they move on to ``delivered``)."""
    async with client.get("/metrics") as response:
        text = await response.text()
    done = ('ketqua_results{state="published"}', 'ketqua_results{state="delivered"}')
    return sum(int(float(line.split()[-1])) for line in text.splitlines() if line.startswith(done))


async def drive(
    service: Service, key: str, pdf: bytes, count: int, probes: int
) -> tuple[float, list[float], list[float], int]:
    """Flood ``count`` submissions, then ``probes`` one at a time while the backlog signs.

    Returns the end-to-end rate (all submissions, first request to last
    published), the flood's latencies, the probes' latencies, and the backlog
    (results not yet published) when the probes ended.
    """
    flood: list[float] = []
    probed: list[float] = []
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(count):
        queue.put_nowait(i)
    headers = {"Authorization": f"Bearer {key}"}
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(service.signer_url, headers=headers, timeout=timeout) as c:

        async def submit(i: int, latencies: list[float]) -> None:
            body = submission(metadata_for(i), pdf)
            sent = time.perf_counter()
            async with c.post("/api/v1/results", data=body) as response:
                await response.read()
                assert response.status == 202, await response.text()
            latencies.append(time.perf_counter() - sent)

        async def client() -> None:
            while not queue.empty():
                await submit(queue.get_nowait(), flood)

        start = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(CONCURRENCY)))
        for i in range(count, count + probes):
            await submit(i, probed)
        backlog = count + probes - await published(c)
        while await published(c) < count + probes:  # noqa: ASYNC110 - another process
            await asyncio.sleep(0.25)
        elapsed = time.perf_counter() - start
    return (count + probes) / elapsed, flood, probed, backlog


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a live process (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def process_tree(pid: int) -> dict[int, str]:
    """The service process and its children, each named by its command line."""
    tree = {pid: "service process (HTTP, registry)"}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if parent == pid:
            # the pools name their processes (PR_SET_NAME); the rest is Python's helpers
            comm = (entry / "comm").read_text().strip()
            tree[int(entry.name)] = f"{comm} process {entry.name}"
    return tree


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=1000, help="submissions to the service")
    parser.add_argument("--probes", type=int, default=100, help="one-at-a-time submissions")
    parser.add_argument("--baseline-docs", type=int, default=300, help="in-process signatures")
    args = parser.parse_args()
    pdf = result_pdf()
    with tempfile.TemporaryDirectory(prefix="ketqua-bench-service-") as tmp:
        work = Path(tmp)
        base_rate = baseline(work, pdf, args.baseline_docs)
        service = Service(work / "home").start()
        try:
            key = create_api_key(service.home)
            assert service.process is not None
            tree = process_tree(service.process.pid)
            before = {pid: cpu_seconds(pid) for pid in tree}
            client_before = time.process_time()
            rate, flood, probed, backlog = asyncio.run(
                drive(service, key, pdf, args.docs, args.probes)
            )
            client_cpu = time.process_time() - client_before
            used = {pid: cpu_seconds(pid) - before[pid] for pid in tree}
        finally:
            service.stop()
    total = args.docs + args.probes
    print("service benchmark: 1-page A4, PAdES B-B, RSA-2048 PKCS#12, SQLite, over HTTP")
    print(f"python {platform.python_version()}, {os.cpu_count()} cores, {platform.machine()}")
    print(f"{'contender':44s} {'docs':>6s} {'docs/s':>9s} {'vs baseline':>12s}")
    print(
        f"{'baseline: SigningRuntime, 1 process':44s} {args.baseline_docs:6d} "
        f"{base_rate:9.1f} {1.0:11.2f}x"
    )
    print(
        f"{'service: accepted -> published, default pool':44s} {total:6d} {rate:9.1f} "
        f"{rate / base_rate:11.2f}x"
    )
    print(
        f"intake, one client while the pool signs a backlog of {backlog}: "
        f"p50 {percentile(probed, 50) * 1000:.1f} ms, p99 {percentile(probed, 99) * 1000:.1f} ms"
    )
    print(
        f"intake under the flood ({CONCURRENCY} concurrent clients): "
        f"p50 {percentile(flood, 50) * 1000:.1f} ms, p99 {percentile(flood, 99) * 1000:.1f} ms"
    )
    summary.record(
        "service: accepted -> published",
        f"{rate:.1f} docs/s",
        f"one in-process signer {base_rate:.1f} docs/s",
        rate / base_rate,
    )
    print("CPU per document (user + system), by process:")
    for pid, seconds in sorted(used.items(), key=lambda item: -item[1]):
        if seconds > 0:
            print(f"  {tree[pid]:44s} {seconds / total * 1000:6.2f} ms")
    print(f"  {'this benchmark client':44s} {client_cpu / total * 1000:6.2f} ms")
    print(
        f"  {'all':44s} {(sum(used.values()) + client_cpu) / total * 1000:6.2f} ms "
        f"(one signature in the baseline: {1000 / base_rate:.2f} ms)"
    )


if __name__ == "__main__":
    main()
