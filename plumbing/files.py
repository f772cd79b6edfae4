"""Atomic file writes: a reader sees the old file or the whole new one, never half."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def write_atomic(path: Path, data: bytes, *, mode: int = 0o644) -> None:
    """Temp file in the same folder (created with ``mode``), fsync, rename over ``path``."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def remove_temp_files(folder: Path) -> int:
    """Delete what ``write_atomic`` left in ``folder`` (and below) when a process died mid-write.

    For a folder only this process writes to (the embedded blob store, staging).
    """
    removed = 0
    for path in folder.rglob(".*.tmp"):
        path.unlink(missing_ok=True)
        removed += 1
    return removed


def fsync_dir(folder: Path) -> None:
    """Make a rename or a new entry in ``folder`` durable (the folder's own fsync)."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
