"""Documents stored by content: the name of a blob is the SHA-256 of its bytes.

Two stores behind one interface (``BlobStore``):

- a folder (``$KETQUA_HOME/blobs``), the embedded default, for one machine;
- the registry's database (table ``blobs``), for a deployment of many
  machines that share one PostgreSQL and nothing else.

Either way a write is durable before it returns (folder: temp file, fsync,
rename, fsync of the folder; database: a committed row), so the registry
never names a blob that a crash could lose. Storing the same bytes twice
stores them once. A blob whose bytes no longer match its name is reported,
never served. Both have a blocking face (``put_sync``, ``get_sync``: worker
processes, threads) and an awaitable one (``put``, ``get``: the event loop).

An S3-compatible store would be a third class with these four methods
(objects keyed by digest, written with a checksum header, read back and
checked); ``BlobLocation`` would name its bucket. Not built yet.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
from collections.abc import Callable, Coroutine
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, TypeVar

from sqlalchemy import Connection, func, select
from sqlalchemy.dialects import postgresql, sqlite

from plumbing.files import fsync_dir, write_atomic
from registry.database import Database, open_database
from registry.errors import BlobMissing
from registry.schema import blobs

T = TypeVar("T")
A = TypeVar("A")

BLOB_CONNECTIONS = 4  # per process: documents move one or a few at a time


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class BlobStore(Protocol):
    def put_sync(self, data: bytes) -> str: ...
    def get_sync(self, digest: str) -> bytes: ...
    async def put(self, data: bytes) -> str: ...
    async def get(self, digest: str) -> bytes: ...


@dataclass(frozen=True, slots=True)
class BlobLocation:
    """Where a deployment keeps its blobs; small and picklable, for worker processes."""

    folder: Path | None = None
    database_url: str | None = None

    def __post_init__(self) -> None:
        if (self.folder is None) == (self.database_url is None):
            raise ValueError("a blob location is a folder or a database, exactly one")

    @property
    def kind(self) -> str:
        return "folder" if self.folder is not None else "database"

    def open(self) -> FolderBlobStore | DatabaseBlobStore:
        if self.folder is not None:
            return FolderBlobStore(self.folder)
        assert self.database_url is not None
        return DatabaseBlobStore(self.database_url)


def _check(digest: str) -> None:
    if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise ValueError(f"not a SHA-256 hex digest: {digest!r}")


class FolderBlobStore:
    """Blobs as files ``ROOT/ab/cd/abcd...``; file I/O runs off the event loop."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, digest: str) -> Path:
        _check(digest)
        return self.root / digest[:2] / digest[2:4] / digest

    async def put(self, data: bytes) -> str:
        """Store ``data``; returns its SHA-256 (hex) once the bytes are on disk."""
        return await asyncio.to_thread(self.put_sync, data)

    def put_sync(self, data: bytes) -> str:
        digest = sha256_hex(data)
        path = self.path(digest)
        if path.exists() and path.stat().st_size == len(data):
            return digest
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, data, mode=0o640)
        fsync_dir(path.parent)
        return digest

    async def get(self, digest: str) -> bytes:
        return await asyncio.to_thread(self.get_sync, digest)

    def get_sync(self, digest: str) -> bytes:
        try:
            data = self.path(digest).read_bytes()
        except FileNotFoundError as exc:
            raise BlobMissing(f"document {digest[:12]}... is not in the blob store") from exc
        if sha256_hex(data) != digest:
            raise BlobMissing(f"document {digest[:12]}... in the blob store is damaged")
        return data

    def count(self) -> int:
        return sum(1 for p in self.root.rglob("*") if p.is_file() and not p.name.startswith("."))

    def close(self) -> None:
        pass


class DatabaseBlobStore:
    """Blobs as rows of the registry's table ``blobs`` (bytea on PostgreSQL).

    Its own small connection pool on a private event loop in a daemon thread,
    so that the same store serves blocking callers (worker processes, threads)
    and the service's event loop alike; the registry's error mapping applies
    (a database that cannot be reached raises ``Unavailable``).
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._db: Database | None = None

    def put_sync(self, data: bytes) -> str:
        return self._submit(self._put, data).result()

    def get_sync(self, digest: str) -> bytes:
        _check(digest)
        return self._submit(self._get, digest).result()

    async def put(self, data: bytes) -> str:
        return await asyncio.wrap_future(self._submit(self._put, data))

    async def get(self, digest: str) -> bytes:
        _check(digest)
        return await asyncio.wrap_future(self._submit(self._get, digest))

    def count(self) -> int:
        return self._submit(self._count, None).result()

    def close(self) -> None:
        with self._lock:
            loop, db, self._loop, self._db = self._loop, self._db, None, None
        if loop is not None and db is not None:
            asyncio.run_coroutine_threadsafe(db.close(), loop).result()
            loop.call_soon_threadsafe(loop.stop)

    def _submit(self, fn: Callable[[Database, A], Coroutine[Any, Any, T]], arg: A) -> Future[T]:
        with self._lock:
            if self._loop is None:
                self._loop = asyncio.new_event_loop()
                threading.Thread(
                    target=_run_until_stopped, args=(self._loop,), name="blob-store", daemon=True
                ).start()
                self._db = open_database(self.url, pool_size=BLOB_CONNECTIONS)
            loop, db = self._loop, self._db
        assert db is not None
        return asyncio.run_coroutine_threadsafe(fn(db, arg), loop)

    @staticmethod
    async def _put(db: Database, data: bytes) -> str:
        digest = sha256_hex(data)
        await db.write(_insert_blob, digest, data)
        return digest

    @staticmethod
    async def _get(db: Database, digest: str) -> bytes:
        data = await db.read(_select_blob, digest)
        if data is None:
            raise BlobMissing(f"document {digest[:12]}... is not in the blob store")
        if sha256_hex(data) != digest:
            raise BlobMissing(f"document {digest[:12]}... in the blob store is damaged")
        return data

    @staticmethod
    async def _count(db: Database, _: None) -> int:
        return await db.read(
            lambda conn: int(conn.execute(select(func.count()).select_from(blobs)).scalar_one())
        )


def _run_until_stopped(loop: asyncio.AbstractEventLoop) -> None:
    try:
        loop.run_forever()
    finally:
        loop.close()


def _insert_blob(conn: Connection, digest: str, data: bytes) -> None:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    row = {"sha256": digest, "size": len(data), "data": data, "stored_at": datetime.now(UTC)}
    conn.execute(dialect.insert(blobs).values(row).on_conflict_do_nothing())


def _select_blob(conn: Connection, digest: str) -> bytes | None:
    data = conn.execute(select(blobs.c.data).where(blobs.c.sha256 == digest)).scalar()
    return None if data is None else bytes(data)
