"""A whole quarter through the service: the seed district's 4,334 results, accepted -> delivered.

Measured in one run, on this machine:

  baseline  one in-process ``SigningRuntime`` signing the same document (one core)
  quarter   a real ``ketqua serve`` on its defaults (SQLite unless ``--postgres``)
            receiving the quarter's results from 8 concurrent clients over HTTP,
            with e-mail on: to the pickup folder, or (``--smtp``) to an aiosmtpd
            on loopback in this process; the clock runs from the first request
            to the moment the last result is ``delivered`` (read from /metrics)

The quarter: 4,334 results (as many as the district received in Q1 2022, as
if each had been resolved), ahead of time, on time and late in the seed's
proportions (944 : 2,781 : 3 of 3,728), over the quarter's days; each
document a file of its own (the same 69 KB result with its own trailer ID),
so that the intake stores every original as it would a district's.

Printed: the wall time, results a second, and against the baseline; the
CPU time per result of each process (the service's, its signing and intake
processes', PostgreSQL's backends, this client's, the SMTP server's share
of this process): on 2 cores, their sum bounds the rate.

Run: ``make bench`` (or ``.venv/bin/python bench/quarter.py [--results N]
[--smtp] [--postgres] [--documents folder|database]``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import summary  # bench/summary.py, beside this file
from service import baseline, cpu_seconds, process_tree  # bench/service.py, beside this file

from plumbing.vietnam import VIETNAM_TIME
from tests.pdfs import example_metadata, result_pdf
from tests.service import Service, create_api_key, submission
from tests.smtp import Mailbox, SmtpServer

RESULTS = 4334
SEED = {"ahead": 944, "on_time": 2781, "late": 3}  # of 3,728 resolved in Q1 2022
CONCURRENCY = 8
QUARTER_START = datetime(2022, 1, 3, 8, 0, tzinfo=VIETNAM_TIME)


def quarter(count: int) -> list[dict[str, object]]:
    """``count`` results over the quarter's working days, in the seed's proportions."""
    total = sum(SEED.values())
    late = max(1, round(count * SEED["late"] / total))
    ahead = round(count * SEED["ahead"] / total)
    kinds = ["late"] * late + ["ahead"] * ahead + ["on_time"] * (count - late - ahead)
    made = []
    sequence: dict[str, int] = {}
    for n, kind in enumerate(kinds):
        received = QUARTER_START + timedelta(days=(n * 88) // count, minutes=n % 480)
        day = f"{received:%y%m%d}"
        sequence[day] = sequence.get(day, 0) + 1
        due = received + timedelta(days=10)
        resolved = {
            "ahead": due - timedelta(days=2),
            "on_time": due.replace(hour=16),
            "late": due + timedelta(days=1),
        }[kind]
        metadata = example_metadata()
        metadata.update(
            dossier_code=f"000.00.14.H49-{day}-{sequence[day]:04d}",
            received_at=received.isoformat(),
            due_at=due.isoformat(),
            resolved_at=resolved.isoformat(),
            document_date=resolved.date().isoformat(),
            applicant={"name": "Nguyễn Văn An", "email": f"nguoi-nop-{n}@example.vn"},
            deliver={"email": True},
        )
        made.append(metadata)
    return made


async def delivered(client: aiohttp.ClientSession) -> int:
    async with client.get("/metrics") as response:
        text = await response.text()
    return sum(
        int(float(line.split()[-1]))
        for line in text.splitlines()
        if line.startswith('ketqua_results{state="delivered"}')
    )


def one_of_many(pdf: bytes, n: int) -> bytes:
    """``pdf`` with the trailer's instance ID set to ``n``: a document of its own (another
    SHA-256, so the intake stores each one, as it would a district's real results), with
    the same length and the same cross-reference offsets."""
    start = pdf.rindex(b"/ID [ <")
    second = pdf.index(b"> <", start) + 3
    end = pdf.index(b">", second)
    return pdf[:second] + f"{n:0{end - second}x}".encode() + pdf[end:]


async def drive(service: Service, key: str, pdf: bytes, results: list[dict[str, object]]) -> float:
    """Submit every result from 8 clients; seconds until the last one is delivered."""
    queue: asyncio.Queue[tuple[int, dict[str, object]]] = asyncio.Queue()
    for n, metadata in enumerate(results):
        queue.put_nowait((n, metadata))
    headers = {"Authorization": f"Bearer {key}"}
    timeout = aiohttp.ClientTimeout(total=300)
    async with aiohttp.ClientSession(service.signer_url, headers=headers, timeout=timeout) as c:

        async def client() -> None:
            while not queue.empty():
                n, metadata = queue.get_nowait()
                body = submission(metadata, one_of_many(pdf, n))
                async with c.post("/api/v1/results", data=body) as response:
                    assert response.status == 202, await response.text()

        start = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(CONCURRENCY)))
        # /metrics counts every result by state (a scan): scraped once a second, and ten
        # times a second only for the last 5%, it costs the run nothing measurable
        while (done := await delivered(c)) < len(results):  # noqa: ASYNC110 - another process
            await asyncio.sleep(0.1 if done >= 0.95 * len(results) else 1.0)
        return time.perf_counter() - start


def postgres_backends(owner: int) -> dict[int, str]:
    """PostgreSQL's processes (its backends do the registry's work): all of them."""
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                comm = (entry / "comm").read_text().strip()
            except OSError:
                continue
            if comm in ("postgres", "postmaster"):
                found[int(entry.name)] = "PostgreSQL (every process)"
    return found


def alive(pids: dict[int, str]) -> list[int]:
    return [pid for pid in pids if os.path.exists(f"/proc/{pid}")]


def run(args: argparse.Namespace, work: Path, pdf: bytes) -> None:
    env = {"KETQUA_PUBLIC_URL": "https://ketqua.vandon.quangninh.gov.vn"}
    cluster = None
    if args.postgres:
        from tests.postgres import start_cluster

        cluster = start_cluster(durable=True)  # fsync on, as in production
        env["KETQUA_DATABASE_URL"] = cluster.createdb("quarter")
    if args.documents is not None:
        env["KETQUA_BLOB_STORE"] = args.documents

    async def with_mail() -> tuple[float, dict[int, float], dict[int, str], float]:
        mailbox = Mailbox(headers_only=True)
        async with SmtpServer(mailbox) as smtp:
            if args.smtp:
                env["KETQUA_SMTP_URL"] = f"smtp://127.0.0.1:{smtp.port}?tls=none"
            service = await asyncio.to_thread(Service(work / "home", env=env).start)
            try:
                key = await asyncio.to_thread(create_api_key, service.home, "bench", env)
                assert service.process is not None
                tree = process_tree(service.process.pid)
                if cluster is not None:
                    tree |= postgres_backends(service.process.pid)
                before = {pid: cpu_seconds(pid) for pid in tree}
                mine = time.process_time()
                wall = await drive(service, key, pdf, quarter(args.results))
                client = time.process_time() - mine
                if cluster is not None:  # backends the pool opened during the run count too
                    tree |= postgres_backends(service.process.pid)
                used = {pid: cpu_seconds(pid) - before.get(pid, 0.0) for pid in alive(tree)}
            finally:
                await asyncio.to_thread(service.stop)
            if args.smtp:
                assert len(mailbox.messages) >= args.results, len(mailbox.messages)
        return wall, used, tree, client

    try:
        wall, used, tree, client = asyncio.run(with_mail())
    finally:
        if cluster is not None:
            cluster.stop()
    base = baseline(work, pdf, args.baseline_docs)
    rate = args.results / wall
    where = "PostgreSQL" if args.postgres else "SQLite"
    if args.documents is not None:
        where += f", documents in the {args.documents}"
    mail = "aiosmtpd on loopback" if args.smtp else "the pickup folder"
    print(f"quarter: {args.results:,} results over HTTP, {where}, e-mail to {mail}")
    print(f"python {platform.python_version()}, {os.cpu_count()} cores, {platform.machine()}")
    print(f"  accepted -> delivered: {wall:.1f} s, {rate:.1f} results/s")
    print(
        f"  in-process signing on one core (baseline): {base:.1f} docs/s; ratio {rate / base:.2f}x"
    )
    print("  CPU per result (user + system), by process:")
    per: dict[str, float] = {}
    for pid, seconds in used.items():
        per[tree[pid]] = per.get(tree[pid], 0.0) + seconds
    per["this client and the SMTP server (one process)"] = client
    for name, seconds in sorted(per.items(), key=lambda item: -item[1]):
        if seconds > 0:
            print(f"    {name:50s} {seconds / args.results * 1000:6.2f} ms")
    print(f"    {'all':50s} {sum(per.values()) / args.results * 1000:6.2f} ms")
    print(
        json.dumps({"wall_s": round(wall, 1), "rate": round(rate, 1), "baseline": round(base, 1)})
    )
    summary.record(
        f"quarter: {args.results:,} results, {where}, to {mail}",
        f"{wall:.1f} s, {rate:.1f}/s",
        f"in-process signing {base:.1f} docs/s",
        rate / base,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=int, default=RESULTS)
    parser.add_argument("--smtp", action="store_true", help="e-mail to aiosmtpd, not a folder")
    parser.add_argument("--postgres", action="store_true", help="the registry on PostgreSQL")
    parser.add_argument(
        "--documents",
        choices=("folder", "database"),
        help="where the service keeps documents (its default: database on PostgreSQL)",
    )
    parser.add_argument("--baseline-docs", type=int, default=300)
    args = parser.parse_args()
    pdf = result_pdf()
    with tempfile.TemporaryDirectory(prefix="ketqua-bench-quarter-") as tmp:
        run(args, Path(tmp), pdf)


if __name__ == "__main__":
    main()
