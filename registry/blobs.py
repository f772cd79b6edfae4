"""Documents stored by content: the name of a blob is the SHA-256 of its bytes.

The embedded default is a folder (``$KETQUA_HOME/blobs``). A write is
atomic and durable before it returns (temp file, fsync, rename, fsync of
the folder), so the database never names a blob that a crash could lose.
Storing the same bytes twice stores them once. A blob whose bytes no longer
match its name is reported, never served.
"""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

from ketqua.files import fsync_dir, write_atomic
from registry.errors import BlobMissing


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class FolderBlobStore:
    """Blobs as files ``ROOT/ab/cd/abcd...``; file I/O runs off the event loop."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, digest: str) -> Path:
        if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            raise ValueError(f"not a SHA-256 hex digest: {digest!r}")
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
        except FileNotFoundError:
            raise BlobMissing(f"document {digest[:12]}... is not in the blob store") from None
        if sha256_hex(data) != digest:
            raise BlobMissing(f"document {digest[:12]}... in the blob store is damaged")
        return data

    def count(self) -> int:
        return sum(1 for p in self.root.rglob("*") if p.is_file() and not p.name.startswith("."))
