"""The durable pipeline, end to end, against a real ``ketqua serve`` subprocess.

Issue 3, "The pipeline": results accepted over HTTP are signed and published
exactly once, across a ``kill -9`` and across a SIGTERM (clean shutdown,
bounded in time, in-flight jobs finished or given back); a job that keeps
failing is retried with backoff and then ``failed`` with its reason; a
document that cannot be signed fails at once while the others flow on.

Every test has its own home folder, so the blob store and the staging
folder can be counted file by file.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import signal
import socket
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from keys.keydir import KeyDir
from keys.trust import TrustList
from seal import seal_from_text, verify_seal
from tests.pdfs import result_pdf, small_page_pdf
from tests.service import (
    PUBLIC_URL,
    Client,
    Service,
    create_api_key,
    distinct_pdfs,
    gather_limited,
    query,
    stored_blobs,
    unique_metadata,
)
from tests.validators import make_nssdb, pdfsig

HTTP_TIMEOUT = aiohttp.ClientTimeout(total=60, sock_connect=5)
API = "/api/v1/results"


# only what a test sets reaches its commands and services
# slow: the service under kill -9, SIGTERM and retries
pytestmark = [
    pytest.mark.usefixtures("clean_environment"),
    pytest.mark.slow,
]


@dataclass
class Accepted:
    """What the test submitted and the service accepted (202): id -> original, metadata."""

    originals: dict[str, bytes] = field(default_factory=dict)
    metadata: dict[str, dict[str, object]] = field(default_factory=dict)

    @property
    def ids(self) -> set[str]:
        return set(self.originals)

    def add(self, body: Any, metadata: dict[str, object], pdf: bytes) -> None:
        assert body["state"] == "queued", body
        assert body["id"] not in self.originals, f"two submissions got the id {body['id']}"
        self.originals[body["id"]] = pdf
        self.metadata[body["id"]] = metadata


async def submit_all(client: Client, pdfs: list[bytes]) -> Accepted:
    """Submit every PDF at once (concurrent requests); every one must be accepted (202)."""
    metadatas = [unique_metadata() for _ in pdfs]
    answers = await asyncio.gather(
        *(client.submit(m, pdf) for m, pdf in zip(metadatas, pdfs, strict=True))
    )
    statuses = Counter(status for status, _ in answers)
    assert statuses == {202: len(pdfs)}, f"not every submission was accepted: {statuses}"
    accepted = Accepted()
    for (_, body), metadata, pdf in zip(answers, metadatas, pdfs, strict=True):
        accepted.add(body, metadata, pdf)
    return accepted


async def until_signing(client: Client, count: int) -> Counter[str]:
    """The states once ``count`` results are being signed (20 s at most)."""
    async with asyncio.timeout(20):
        while True:
            seen = await client.states()
            if seen["signing"] >= count:
                return seen
            await asyncio.sleep(0.1)


def closed_port() -> int:
    """A local port nothing listens on (bound, read, closed: connections are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture
def black_hole() -> Iterator[str]:
    """An http URL that takes the connection and the request, and never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)  # never accept()ed: the kernel completes the handshakes
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/tsa"


def at(value: str) -> datetime:
    return datetime.fromisoformat(value)


def signed_events(detail: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for e in detail["events"] if e["state"] == "signed"]


def first_event(detail: dict[str, Any], state: str) -> datetime | None:
    times = [at(e["at"]) for e in detail["events"] if e["state"] == state]
    return min(times) if times else None


def files_under(folder: Path) -> list[Path]:
    """Every file, hidden ones (an interrupted write's temp file) included."""
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def temp_files(home: Path) -> list[Path]:
    """The temp files of atomic writes (``.NAME.HEX.tmp``) in the blob store and staging."""
    found = files_under(home / "blobs") + files_under(home / "staging")
    return [p.relative_to(home) for p in found if p.name.startswith(".")]


def assert_no_temp_files(home: Path) -> None:
    """Nothing is left of writes a crash interrupted (after a restart, all is clean)."""
    temp = temp_files(home)
    assert not temp, (
        f"PRODUCT BUG: the temp file(s) of writes interrupted by the kill are never removed: "
        f"{temp}. write_atomic (plumbing/files.py) and Staging._keep "
        "(signer/pipeline/staging.py) leave '.NAME.HEX.tmp' behind on kill -9, and nothing "
        "sweeps them at start (Staging.leftovers globs only '*.cbor'; FolderBlobStore.count "
        "skips dot files): each crash can leave debris in HOME/blobs or HOME/staging for ever"
    )


def trust_of(home: Path) -> TrustList:
    """The development PKI the service made in its home on first start."""
    return TrustList.load(KeyDir(home / "keys").trust_list)


async def check_exactly_once(
    client: Client, home: Path, accepted: Accepted
) -> dict[str, dict[str, Any]]:
    """Every accepted result published with exactly one signed document, and nothing else.

    Returns each result's detail (from the API) for the caller's own checks.
    """
    ids = accepted.ids
    listed = await client.listing()
    assert {item["id"] for item in listed} == ids, "the registry holds other results than 202'd"
    details: dict[str, dict[str, Any]] = dict(
        zip(
            sorted(ids),
            await gather_limited(16, *(client.result(i) for i in sorted(ids))),
            strict=True,
        )
    )
    signed: dict[str, str] = {}
    for result_id, detail in details.items():
        assert detail["state"] == "published", (result_id, detail["state"], detail["failure"])
        original = accepted.originals[result_id]
        assert detail["original"]["sha256"] == hashlib.sha256(original).hexdigest()
        signature = detail["signature"]
        assert signature is not None, f"{result_id} is published without a signed document"
        signed[result_id] = signature["document_sha256"]
        # one signature recorded: a second signing would show as a second "signed" event
        assert len(signed_events(detail)) == 1, (result_id, detail["events"])
        assert [e["state"] for e in detail["events"]].count("published") == 1, detail["events"]

    # no two results share a signed document, no signed document is an original
    originals = {detail["original"]["sha256"] for detail in details.values()}
    assert len(set(signed.values())) == len(ids), "two results share one signed document"
    assert len(originals) == len(ids)
    assert not originals & set(signed.values())

    # the blob store: the originals and one signed document per result, nothing more
    # (a result signed into two documents would leave a second signed blob here)
    stored = await stored_blobs(client.service)
    names = Counter(stored)
    expected = originals | set(signed.values())
    extra = sorted(set(names) - expected)
    assert not extra, f"{len(extra)} unexpected document(s) in the blob store: {extra[:5]}"
    assert set(names) == expected
    assert len(stored) == 2 * len(ids), (len(stored), 2 * len(ids))
    staged = files_under(home / "staging")
    assert not [p for p in staged if not p.name.startswith(".")], (
        f"documents left in staging: {[p.name for p in staged]}"
    )

    # each signed document: the recorded one, and its QR seal binds its own original
    trust = trust_of(home)
    seal_keys = {key.kid: key.public_key for key in trust.seal_keys}
    documents = dict(
        zip(
            sorted(ids),
            await gather_limited(16, *(client.document(i) for i in sorted(ids))),
            strict=True,
        )
    )
    for result_id, pdf in documents.items():
        detail = details[result_id]
        original = accepted.originals[result_id]
        metadata = accepted.metadata[result_id]
        assert hashlib.sha256(pdf).hexdigest() == signed[result_id]
        assert len(pdf) == detail["signature"]["document_size"]
        # the agency's signature is an incremental update after the original's bytes
        assert pdf.startswith(original), (
            f"{result_id}: the signed PDF does not extend its original"
        )
        url = detail["verification_url"]
        assert url, detail
        claims = verify_seal(seal_from_text(url), seal_keys)
        assert claims.dossier_code == metadata["dossier_code"], result_id
        assert claims.result_no == metadata["result_no"], result_id
        assert claims.binds(original), f"{result_id}: its seal does not bind its original"
        assert claims.binds(pdf), f"{result_id}: its seal does not bind its signed PDF"
    return details


def validate_sample(home: Path, workdir: Path, documents: dict[str, bytes]) -> None:
    """pdfsig (poppler + NSS), trusting the service's own development root."""
    nssdb = make_nssdb(workdir / "nss", list(trust_of(home).document_roots))
    for result_id, pdf in documents.items():
        path = workdir / f"{result_id}.pdf"
        path.write_bytes(pdf)
        sigs = pdfsig(path, nssdb)
        assert len(sigs) == 1, f"{result_id}: {len(sigs)} signatures: {[s.raw for s in sigs]}"
        (sig,) = sigs
        assert sig.valid, f"{result_id}: pdfsig says the signature is not valid:\n{sig.raw}"
        assert sig.trusted, f"{result_id}: pdfsig does not trust the signer:\n{sig.raw}"
        assert sig.total_document, f"{result_id}: the signature does not cover the file"


@pytest.fixture
def services() -> Iterator[list[Service]]:
    """Every service a test starts: killed at the end if the test left it running."""
    started: list[Service] = []
    yield started
    for service in started:
        service.kill()


def start(services: list[Service], home: Path, env: dict[str, str]) -> Service:
    service = Service(home, env={"KETQUA_PUBLIC_URL": PUBLIC_URL, **env})
    services.append(service)
    return service.start()


# --- 1. crash safety: kill -9 in the middle of signing ----------------------------------

CRASH_RESULTS = 200


async def test_kill_9_while_signing_then_restart_signs_each_result_exactly_once(
    tmp_path: Path, services: list[Service]
) -> None:
    home = tmp_path / "home"
    env = {"KETQUA_WORKERS": "2", "KETQUA_JOB_LEASE": "3"}
    pdfs = distinct_pdfs(CRASH_RESULTS, "crash")
    service = start(services, home, env)
    key = create_api_key(home)
    async with aiohttp.ClientSession(timeout=HTTP_TIMEOUT) as session:
        client = Client(session, service, key)
        accepted = await submit_all(client, pdfs)

        # kill as soon as the pipeline has published some, and is signing others
        deadline = time.monotonic() + 30
        while True:
            seen = await client.states()
            if seen["published"] >= 1 and seen["signing"] >= 1:
                break
            if time.monotonic() > deadline:
                break
            await asyncio.sleep(0.05)
        service.kill()
        killed_at = datetime.now(UTC)
        assert seen["published"] < CRASH_RESULTS, (
            f"every result was published before the kill ({dict(seen)}): the test proves nothing"
        )
        staged_at_kill = [p.name for p in files_under(home / "staging")]
        temp_at_kill = temp_files(home)
        blobs_at_kill = len(files_under(home / "blobs"))
        # between two jobs a worker holds no lease: the kill may fall there for every worker
        leased_at_kill = (
            await query(
                service.database_url,
                "SELECT count(*) FROM jobs WHERE state = 'queued' AND lease_owner IS NOT NULL",
            )
        )[0][0]

        offset = len(service.log())
        service.start()
        client = Client(session, service, key)
        restart_took = await client.wait_for(accepted.ids, "published", within=90)
        details = await check_exactly_once(client, home, accepted)
        log = service.settled_log()[offset:]
        assert "Traceback" not in log, log
        # the dead process's leases were freed at start, not waited out (job_lease)
        assert ("which died" in log) == (leased_at_kill > 0), (leased_at_kill, log[-2000:])

        # what the kill interrupted, from each result's history (same clock, same machine)
        published_before = {
            i for i, d in details.items() if (first_event(d, "published") or killed_at) < killed_at
        }
        in_flight = {
            i
            for i, d in details.items()
            if i not in published_before and (first_event(d, "signing") or killed_at) < killed_at
        }
        print(
            f"\ncrash: states seen just before the kill {dict(seen)}; "
            f"published at kill {len(published_before)}, "
            f"not yet {CRASH_RESULTS - len(published_before)} "
            f"(of them {len(in_flight)} signing); staged at kill {len(staged_at_kill)}; "
            f"blob files at kill {blobs_at_kill}; temp files at kill {len(temp_at_kill)}; "
            "staged documents recorded after the restart "
            f"{service.log().count('recording the document staged by an earlier attempt')}; "
            f"all published {restart_took:.1f} s after the restart"
        )
        assert published_before, "nothing was published before the kill"
        assert len(published_before) < CRASH_RESULTS, "the kill came after the last publication"
        # (how many were being signed at that instant is reported, not asserted: between two
        # jobs a worker holds none, and the kill may fall there for all three of them)

        # an independent validator on a sample: the interrupted ones first
        sample = sorted(in_flight)[:3] + sorted(published_before)[:1]
        sample += sorted(set(details) - set(sample))[: 6 - len(sample)]
        documents = {i: await client.document(i) for i in sample}
    assert service.stop() == 0
    await asyncio.to_thread(validate_sample, home, tmp_path, documents)
    # last, so that every check above has run: a restart leaves no debris of the crash
    assert_no_temp_files(home)


# --- 2. graceful shutdown on SIGTERM ----------------------------------------------------

SHUTDOWN_TIMEOUT = 6.0
EXIT_MARGIN = 3.0  # the process's own exit: interpreter, pools, database


@dataclass
class AfterSigterm:
    """What the back office saw while the service was stopping."""

    exit_code: int
    took: float
    refused_after: float | None  # seconds from SIGTERM to the first refused connection
    refused_while_running: bool
    accepted: Accepted


async def sigterm_and_keep_submitting(client: Client, pdfs: list[bytes]) -> AfterSigterm:
    """SIGTERM, then try to submit until a connection is refused; wait for the exit."""
    service = client.service
    assert service.process is not None
    late = Accepted()
    refused_after: float | None = None
    refused_while_running = False
    sent = time.monotonic()
    service.process.send_signal(signal.SIGTERM)
    for pdf in pdfs:
        metadata = unique_metadata()
        try:
            status, body = await client.submit(metadata, pdf)
        except (aiohttp.ClientConnectionError, TimeoutError):
            refused_after = time.monotonic() - sent
            refused_while_running = service.process.poll() is None
            break
        # accepted before the listener closed: it must not be lost
        assert status == 202, (status, body)
        late.add(body, metadata, pdf)
    remaining = sent + SHUTDOWN_TIMEOUT + EXIT_MARGIN - time.monotonic()
    try:
        await asyncio.to_thread(service.process.wait, max(remaining, 0.1))
    except subprocess.TimeoutExpired:
        service.kill()
        raise AssertionError(
            f"ketqua serve did not exit within {SHUTDOWN_TIMEOUT} s + {EXIT_MARGIN} s of SIGTERM"
        ) from None
    took = time.monotonic() - sent
    return AfterSigterm(
        service.process.returncode, took, refused_after, refused_while_running, late
    )


async def test_sigterm_finishes_or_releases_jobs_and_exits_in_time(
    tmp_path: Path, services: list[Service]
) -> None:
    home = tmp_path / "home"
    # the default lease (30 s): after the restart nothing may wait for a lease to expire
    env = {"KETQUA_WORKERS": "2", "KETQUA_SHUTDOWN_TIMEOUT": str(SHUTDOWN_TIMEOUT)}
    count = 120
    pdfs = distinct_pdfs(count + 40, "term")
    service = start(services, home, env)
    key = create_api_key(home)
    async with aiohttp.ClientSession(timeout=HTTP_TIMEOUT) as session:
        client = Client(session, service, key)
        accepted = await submit_all(client, pdfs[:count])
        seen = await client.states()
        assert seen["published"] < count, f"nothing in flight at SIGTERM: {dict(seen)}"
        offset = len(service.log())
        stopping = await sigterm_and_keep_submitting(client, pdfs[count:])
        log = service.log()[offset:]
        print(
            f"\nSIGTERM: states just before {dict(seen)}; exit {stopping.exit_code} after "
            f"{stopping.took:.2f} s; port refused after {stopping.refused_after} s "
            f"(process still running: {stopping.refused_while_running}); "
            f"{len(stopping.accepted.ids)} accepted after the signal"
        )
        assert stopping.exit_code == 0, log[-2000:]
        assert stopping.took <= SHUTDOWN_TIMEOUT + EXIT_MARGIN
        assert "stopping: no new requests" in log, log[-2000:]
        assert re.search(r": stopped$", log, re.M), log[-2000:]
        assert "Traceback" not in log, log
        assert stopping.refused_after is not None, (
            f"the signer accepted all {len(pdfs) - count} submissions sent after SIGTERM"
        )
        assert stopping.refused_after < 3.0, "the signer kept accepting submissions after SIGTERM"
        for result_id, pdf in stopping.accepted.originals.items():
            accepted.originals[result_id] = pdf
            accepted.metadata[result_id] = stopping.accepted.metadata[result_id]

        service.start()
        client = Client(session, service, key)
        restart_took = await client.wait_for(accepted.ids, "published", within=25)
        print(f"SIGTERM: all {len(accepted.ids)} published {restart_took:.1f} s after restart")
        await check_exactly_once(client, home, accepted)
    assert service.stop() == 0
    assert_no_temp_files(home)


async def test_sigterm_with_stuck_signatures_releases_them_and_exits_in_time(
    tmp_path: Path, services: list[Service], black_hole: str
) -> None:
    """Signatures that hang (a timestamp server that never answers) do not hold the exit.

    The jobs are given back to the queue at once (not left to their 30 s
    lease), so the next start, here without the timestamp server, signs them.
    """
    home = tmp_path / "home"
    shutdown_timeout = 4.0
    env = {
        "KETQUA_WORKERS": "2",
        "KETQUA_SHUTDOWN_TIMEOUT": str(shutdown_timeout),
        "KETQUA_TSA_URL": black_hole,
        "KETQUA_PADES_LEVEL": "B-T",
        "KETQUA_NETWORK_TIMEOUT": "120",
    }
    count = 12
    pdfs = distinct_pdfs(count, "stuck")
    service = start(services, home, env)
    key = create_api_key(home)
    async with aiohttp.ClientSession(timeout=HTTP_TIMEOUT) as session:
        client = Client(session, service, key)
        accepted = await submit_all(client, pdfs)
        seen = await until_signing(client, 2)
        assert seen["published"] == 0, dict(seen)
        offset = len(service.log())
        assert service.process is not None
        sent = time.monotonic()
        try:
            code = service.stop(timeout=shutdown_timeout + EXIT_MARGIN)
        except subprocess.TimeoutExpired:
            raise AssertionError(
                f"ketqua serve did not exit within {shutdown_timeout} s + {EXIT_MARGIN} s of "
                f"SIGTERM with signatures stuck:\n{service.log()[offset:][-3000:]}"
            ) from None
        took = time.monotonic() - sent
        log = service.log()[offset:]
        print(f"\nstuck: {dict(seen)} at SIGTERM; exit {code} after {took:.2f} s")
        assert code == 0, log[-3000:]
        assert took <= shutdown_timeout + EXIT_MARGIN, took
        assert "unfinished job(s) for the next start" in log, log[-3000:]
        assert re.search(r": stopped$", log, re.M), log[-3000:]
        assert "Traceback" not in log, log

        service.env = {"KETQUA_WORKERS": "2"}  # the operator drops the dead timestamp server
        service.start()
        client = Client(session, service, key)
        # well within the 30 s lease: the released jobs were claimable at once
        restart_took = await client.wait_for(accepted.ids, "published", within=20)
        print(f"stuck: all {count} published {restart_took:.1f} s after restart")
        details = await check_exactly_once(client, home, accepted)
        assert {d["signature"]["level"] for d in details.values()} == {"B-B"}
    assert service.stop() == 0
    assert_no_temp_files(home)


# --- 3. retries, failures, and the others keep flowing ----------------------------------


async def test_unreachable_timestamp_server_retries_with_backoff_then_fails(
    tmp_path: Path, services: list[Service]
) -> None:
    home = tmp_path / "home"
    env = {
        "KETQUA_WORKERS": "1",
        "KETQUA_TSA_URL": f"http://127.0.0.1:{closed_port()}/tsa",
        "KETQUA_PADES_LEVEL": "B-T",
        "KETQUA_JOB_MAX_ATTEMPTS": "3",
        "KETQUA_JOB_RETRY_BASE": "0.2",
        "KETQUA_JOB_RETRY_MAX": "1",
    }
    service = start(services, home, env)
    key = create_api_key(home)
    async with aiohttp.ClientSession(timeout=HTTP_TIMEOUT) as session:
        client = Client(session, service, key)
        metadata = unique_metadata()
        status, body = await client.submit(metadata, result_pdf(trailing_text="tsa"))
        assert status == 202, body
        result_id = body["id"]
        took = await client.wait_for({result_id}, "failed", within=30)

        detail = await client.result(result_id)
        print(f"\nretries: failed after {took:.1f} s: {detail['failure']}")
        assert "timestamp server" in (detail["failure"] or ""), detail
        assert detail["signature"] is None
        assert detail["verification_url"] is None
        states = [e["state"] for e in detail["events"]]
        retries = [e["detail"] for e in detail["events"] if "retry in" in (e["detail"] or "")]
        assert len(retries) == 2, detail["events"]  # attempts 1 and 2; the 3rd is the last
        for n, text in enumerate(retries, start=1):
            assert text.startswith(f"attempt {n} failed, retry in "), text
            assert "timestamp server" in text, text
        assert states.count("signing") == 3, states
        # each retry waited its backoff (0.2 s, then 0.4 s, each with jitter down to half)
        signing = [at(e["at"]) for e in detail["events"] if e["state"] == "signing"]
        requeued = [at(e["at"]) for e in detail["events"] if "retry in" in (e["detail"] or "")]
        for n, (failed_at, next_try) in enumerate(
            zip(requeued, signing[1:], strict=True), start=1
        ):
            assert (next_try - failed_at).total_seconds() >= 0.1 * 2 ** (n - 1), detail["events"]
        assert states[-1] == "failed"
        assert detail["events"][-1]["detail"] == detail["failure"]
        assert "signed" not in states

        failed = await client.listing("failed")
        assert [item["id"] for item in failed] == [result_id]
        assert failed[0]["failure"] == detail["failure"]
        async with session.get(
            client.url(f"{API}/{result_id}/document"), headers=client.headers
        ) as response:
            assert response.status == 409, await response.text()
    service.stop()
    assert not files_under(home / "staging")
    assert "failed: PAdES B-T" in service.settled_log()


async def test_unsignable_document_fails_at_once_while_the_others_are_published(
    tmp_path: Path, services: list[Service]
) -> None:
    home = tmp_path / "home"
    env = {"KETQUA_WORKERS": "2", "KETQUA_JOB_RETRY_BASE": "0.2"}
    service = start(services, home, env)
    key = create_api_key(home)
    good = distinct_pdfs(20, "flow")
    bad = small_page_pdf()
    async with aiohttp.ClientSession(timeout=HTTP_TIMEOUT) as session:
        client = Client(session, service, key)
        # the unsignable one in the middle of a burst of good ones
        metadatas = [unique_metadata() for _ in range(21)]
        pdfs = [*good[:10], bad, *good[10:]]
        answers = await asyncio.gather(
            *(client.submit(m, p) for m, p in zip(metadatas, pdfs, strict=True))
        )
        statuses = [status for status, _ in answers]
        assert statuses == [202] * 21, (
            f"intake refused a PDF it cannot judge unsignable before signing: {answers[10]}"
        )
        bad_id = answers[10][1]["id"]
        good_ids = {body["id"] for n, (_, body) in enumerate(answers) if n != 10}
        await client.wait_for({bad_id}, "failed", within=30)
        await client.wait_for(good_ids, "published", within=30)

        detail = await client.result(bad_id)
        print(f"\nunsignable: {detail['failure']}")
        assert "does not fit on page 1" in (detail["failure"] or ""), detail
        states = [e["state"] for e in detail["events"]]
        assert states == ["queued", "signing", "failed"], detail["events"]  # no retry
        assert not any("retry in" in (e["detail"] or "") for e in detail["events"])
        failed = await client.listing("failed")
        assert [item["id"] for item in failed] == [bad_id]
        assert await client.states() == Counter({"published": 20, "failed": 1})
    service.stop()
    assert not files_under(home / "staging")
