"""A real ``ketqua serve`` in a subprocess, as tests and benchmarks talk to it: over HTTP.

Ports are chosen by the OS (``:0``) and read back from the service's log.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from registry.blobs import BlobLocation

# the verifier's public base URL every test's documents print in their QR codes
PUBLIC_URL = "https://ketqua.vandon.quangninh.gov.vn"

_LISTENING = re.compile(r"(signer API|verifier) listening on (http://[0-9.]+:[0-9]+)")
START_TIMEOUT = 60.0
LOG_SETTLE = 0.3  # the service writes its log lines in batches every 50 ms


def ketqua_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "ketqua.cli", *args]


# Which registry a home's service uses. None: the service's own default (SQLite
# in the home). The suite's PostgreSQL run (``pytest --registry=postgresql``)
# sets a function that gives each home a database of its own.
_registry_for: Callable[[Path], str] | None = None


def use_registry(provider: Callable[[Path], str] | None) -> None:
    global _registry_for
    _registry_for = provider


def home_env(home: Path, env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a ``ketqua`` command for ``home``: the registry it shares."""
    extra = dict(env or {})
    if _registry_for is not None and "KETQUA_DATABASE_URL" not in extra:
        extra["KETQUA_DATABASE_URL"] = _registry_for(home)
    return {**os.environ, **extra}


def registry_url(home: Path, env: Mapping[str, str] | None = None) -> str:
    """The database URL the service of ``home`` uses."""
    return home_env(home, env).get("KETQUA_DATABASE_URL") or f"sqlite:///{home / 'ketqua.db'}"


def run_ketqua(
    home: Path, *args: str, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``ketqua ARGS --home HOME`` to the end, checked; its output as text."""
    return subprocess.run(
        ketqua_command(*args, "--home", str(home)),
        check=True,
        capture_output=True,
        text=True,
        env=home_env(home, env),
    )


def create_api_key(
    home: Path,
    name: str = "back-office",
    env: Mapping[str, str] | None = None,
    agencies: tuple[str, ...] = (),
) -> str:
    """A new API key (by default for the agency of ``home``'s keys); the key itself."""
    flags = [arg for agency in agencies for arg in ("--agency", agency)]
    out = run_ketqua(home, "apikey", "create", "--name", name, *flags, env=env)
    return out.stdout.strip().splitlines()[-1]


async def query(url: str, sql: str, **params: object) -> list[tuple[Any, ...]]:
    """Rows of one read-only SQL statement on a registry, whichever its backend."""
    from sqlalchemy import Connection, text

    from registry.database import open_database

    def read(conn: Connection) -> list[tuple[Any, ...]]:
        return [tuple(row) for row in conn.execute(text(sql), params)]

    db = open_database(url)
    try:
        return await db.read(read)
    finally:
        await db.close()


def blob_location(service: Service) -> BlobLocation:
    """Where the service keeps its documents, by the service's own rule (``Settings.blobs``)."""
    from ketqua.settings import Settings

    chosen = home_env(service.home, service.env).get("KETQUA_BLOB_STORE")
    settings = Settings.model_validate(
        {"home": service.home, "database_url": service.database_url, "blob_store": chosen}
    )
    return settings.blobs


async def stored_blobs(service: Service) -> list[str]:
    """The digest of every document in the service's blob store, one per stored copy."""
    location = blob_location(service)
    if location.folder is None:
        return [str(d) for (d,) in await query(service.database_url, "SELECT sha256 FROM blobs")]
    root = location.folder
    files = [p for p in root.rglob("*") if p.is_file() and not p.name.startswith(".")]
    for path in files:  # the layout: ab/cd/abcd...
        assert path.relative_to(root).parts == (path.name[:2], path.name[2:4], path.name)
    return [p.name for p in files]


async def stored_blob(service: Service, digest: str) -> bytes:
    """One document as the service's blob store holds it (read and checked by the store)."""
    store = blob_location(service).open()
    try:
        return await store.get(digest)
    finally:
        await asyncio.to_thread(store.close)


@dataclass
class Service:
    """One ``ketqua serve`` process with its home folder, log and base URLs."""

    home: Path
    env: dict[str, str] = field(default_factory=dict)
    role: str = "both"
    process: subprocess.Popen[bytes] | None = None
    signer_url: str = ""
    verifier_url: str = ""

    @property
    def log_path(self) -> Path:
        return self.home / "serve.log"

    @property
    def database_url(self) -> str:
        return registry_url(self.home, self.env)

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def settled_log(self) -> str:
        """The log once what was logged so far is written (lines go out every 50 ms)."""
        time.sleep(LOG_SETTLE)
        return self.log()

    def start(self) -> Service:
        self.home.mkdir(parents=True, exist_ok=True)
        if self.role == "verifier":  # it does not migrate: the operator's step, as in README
            run_ketqua(self.home, "migrate", env=self.env)
        env = home_env(
            self.home,
            {
                "KETQUA_HOME": str(self.home),
                "KETQUA_SIGNER_LISTEN": "127.0.0.1:0",
                "KETQUA_VERIFIER_LISTEN": "127.0.0.1:0",
                **self.env,
            },
        )
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                ketqua_command("serve", "--role", self.role),
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
            )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            text = self.log()[offset:]
            if " ready (" in text:
                for name, url in _LISTENING.findall(text):
                    if name == "verifier":
                        self.verifier_url = url
                    else:
                        self.signer_url = url
                return self
            if self.process.poll() is not None:
                raise RuntimeError(f"ketqua serve exited ({self.process.returncode}):\n{text}")
            time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"ketqua serve not ready in {START_TIMEOUT} s:\n{self.log()[offset:]}")

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM, then wait; the exit code."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout)

    def kill(self) -> None:
        """``kill -9``: no clean-up of any kind."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


_sequence = iter(range(1, 10_000))


def unique_metadata(**changes: object) -> dict[str, object]:
    """The example metadata under a dossier code no other test of this process uses.

    Without email delivery unless ``deliver`` is given: the result ends ``published``.
    """
    from datetime import datetime, timedelta

    from plumbing.vietnam import VIETNAM_TIME
    from tests.pdfs import example_metadata

    metadata = example_metadata()
    metadata["deliver"] = {"email": False}
    day = 1 + (os.getpid() % 28)
    # the code's day is the day received (Circular 01/2018); the example's spans kept
    received = datetime(2022, 3, day, 8, tzinfo=VIETNAM_TIME)
    metadata["dossier_code"] = f"000.00.14.H49-2203{day:02d}-{next(_sequence):04d}"
    metadata["received_at"] = received.isoformat()
    metadata["resolved_at"] = (received + timedelta(days=13, hours=2)).isoformat()
    metadata["due_at"] = (received + timedelta(days=14, hours=9)).isoformat()
    metadata.update(changes)
    return metadata


def resolved_on(dossier_code: str) -> str:
    """The day ``unique_metadata`` resolves the dossier of this code on (13 days later)."""
    from datetime import date, timedelta

    yymmdd = dossier_code.rsplit("-", 2)[1]
    received = date(2000 + int(yymmdd[:2]), int(yymmdd[2:4]), int(yymmdd[4:]))
    return (received + timedelta(days=13)).isoformat()


def submission(metadata: Mapping[str, object] | bytes, document: bytes) -> aiohttp.FormData:
    """The multipart body of ``POST /api/v1/results``."""
    import json

    form = aiohttp.FormData()
    raw = metadata.decode() if isinstance(metadata, bytes) else json.dumps(metadata)
    form.add_field("metadata", raw, content_type="application/json")
    form.add_field(
        "document", io.BytesIO(document), filename="ket-qua.pdf", content_type="application/pdf"
    )
    return form


API = "/api/v1/results"


@dataclass
class Client:
    """The back office's view of one service: submit, read, download."""

    session: aiohttp.ClientSession
    service: Service
    key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}

    def url(self, path: str) -> str:
        return self.service.signer_url + path

    async def submit(self, metadata: dict[str, object], pdf: bytes) -> tuple[int, Any]:
        async with self.session.post(
            self.url(API), data=submission(metadata, pdf), headers=self.headers
        ) as response:
            return response.status, await response.json(content_type=None)

    async def revoke(
        self, result_id: str, reason: str, reason_code: str = "issued_in_error"
    ) -> None:
        async with self.session.post(
            self.url(f"{API}/{result_id}/revoke"),
            json={"reason_code": reason_code, "reason": reason},
            headers=self.headers,
        ) as response:
            assert response.status == 200, await response.text()

    async def result(self, result_id: str) -> dict[str, Any]:
        async with self.session.get(self.url(f"{API}/{result_id}"), headers=self.headers) as r:
            assert r.status == 200, await r.text()
            body: dict[str, Any] = await r.json()
            return body

    async def document(self, result_id: str) -> bytes:
        async with self.session.get(
            self.url(f"{API}/{result_id}/document"), headers=self.headers
        ) as response:
            assert response.status == 200, await response.text()
            assert response.content_type == "application/pdf"
            return await response.read()

    async def listing(self, state: str | None = None) -> list[dict[str, Any]]:
        """Every result (of ``state``), following the ``next`` links."""
        query = f"?limit=200&state={state}" if state else "?limit=200"
        path: str | None = API + query
        items: list[dict[str, Any]] = []
        while path is not None:
            async with self.session.get(self.url(path), headers=self.headers) as response:
                assert response.status == 200, await response.text()
                page = await response.json()
            items.extend(page["items"])
            path = page["next"]
        return items

    async def states(self) -> Counter[str]:
        return Counter(item["state"] for item in await self.listing())

    async def wait_for(self, ids: set[str], state: str, within: float) -> float:
        """Seconds until every result of ``ids`` is in ``state``; fails after ``within`` s."""
        started = time.monotonic()
        while True:
            items = await self.listing()
            now = {item["id"]: item["state"] for item in items if item["id"] in ids}
            if len(now) == len(ids) and all(s == state for s in now.values()):
                return time.monotonic() - started
            if time.monotonic() - started > within:
                others = Counter(now.values())
                raise AssertionError(
                    f"not all {len(ids)} results are {state} after {within} s: {dict(others)}"
                )
            await asyncio.sleep(0.25)


async def gather_limited(limit: int, *jobs: Any) -> list[Any]:
    """The results of ``jobs``, at most ``limit`` of them running at a time."""
    gate = asyncio.Semaphore(limit)

    async def one(job: Any) -> Any:
        async with gate:
            return await job

    return list(await asyncio.gather(*(one(job) for job in jobs)))


def distinct_pdfs(count: int, tag: str) -> list[bytes]:
    """``count`` result PDFs that differ in their bytes (one original blob each)."""
    from tests.pdfs import result_pdf

    pdfs = [result_pdf(trailing_text=f"{tag}-{n:04d}") for n in range(count)]
    assert len({hashlib.sha256(pdf).digest() for pdf in pdfs}) == count
    return pdfs


async def issue(client: Client, tag: str, **changes: object) -> dict[str, Any]:
    """Submit the example result (``changes`` to its metadata), wait until it is issued."""
    from tests.pdfs import result_pdf

    status, body = await client.submit(unique_metadata(**changes), result_pdf(trailing_text=tag))
    assert status == 202, body
    deliver = changes.get("deliver")
    emailed = isinstance(deliver, dict) and bool(deliver.get("email"))
    state = "delivered" if emailed else "published" if changes.get("publish", True) else "signed"
    await client.wait_for({body["id"]}, state, within=60)
    return await client.result(body["id"])


async def correct(client: Client, old: dict[str, Any], tag: str) -> dict[str, Any]:
    """Submit a correction of the issued result ``old``; the new result once published."""
    from tests.pdfs import result_pdf

    metadata = unique_metadata(supersedes=old["id"], dossier_code=old["dossier_code"])
    status, body = await client.submit(metadata, result_pdf(trailing_text=tag))
    assert status == 202, body
    await client.wait_for({body["id"]}, "published", within=60)
    return await client.result(body["id"])
