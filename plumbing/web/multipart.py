"""Reading a ``multipart/form-data`` upload part by part, never past each part's limit.

Both services take files this way (the signer's intake, the verifier's
upload check). The media type is read without aiohttp's
``request.content_type`` (the stdlib e-mail parser, ~1 ms a request since
every boundary misses its cache); the parts stream in chunks and a part
that grows past its limit is refused (413) at once, before the rest of the
body is read. Framing errors, unknown, repeated or missing parts are 400s
that name the part. ``receiving_file`` streams one part to a temporary
file instead, so that a large upload never sits in the service's memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from aiohttp import BodyPartReader, hdrs, web
from aiohttp.http_exceptions import HttpProcessingError

from plumbing.web.problems import Problem

CHUNK = 256 * 1024


def media_type(request: web.Request) -> str:
    return request.headers.get(hdrs.CONTENT_TYPE, "").partition(";")[0].strip().lower()


def too_large(name: str, limit: int) -> Problem:
    size = f"{limit / 1024 / 1024:.0f} MB" if limit >= 1024 * 1024 else f"{limit // 1024} KB"
    return Problem(
        413,
        "too-large",
        "Payload too large",
        f"the {name} is over the limit of {size}",
        field=name,
        limit=limit,
    )


async def read_parts(
    request: web.Request,
    limits: Mapping[str, int],
    *,
    expected: str,
    required: Collection[str] | None = None,
) -> dict[str, bytes]:
    """Every part named in ``limits``, each at most its limit; ``expected`` says what to send.

    ``required``: the parts that must be there (all of them unless said: a form's unticked
    box sends nothing, so a form names the parts it cannot do without).
    """
    parts: dict[str, bytes] = {}

    async def keep(name: str, part: BodyPartReader) -> None:
        chunks: list[bytes] = []
        size = 0
        while chunk := await part.read_chunk(CHUNK):
            size += len(chunk)
            if size > limits[name]:
                raise too_large(name, limits[name])
            chunks.append(chunk)
        parts[name] = b"".join(chunks)

    await _each_part(request, limits, expected, keep, required)
    return parts


async def _each_part(
    request: web.Request,
    limits: Mapping[str, int],
    expected: str,
    take: Callable[[str, BodyPartReader], Awaitable[None]],
    required: Collection[str] | None = None,
) -> None:
    """Hands ``take`` each part named in ``limits``, once each; anything else is a 4xx."""
    if media_type(request) != "multipart/form-data":
        raise Problem(415, "unsupported-media-type", "Unsupported media type", f"send {expected}")
    seen: set[str] = set()
    known = " and ".join(repr(n) for n in limits)
    try:
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader):
                raise Problem(
                    400, "bad-request", "Bad request", "nested multipart is not accepted"
                )
            name = part.name or ""
            if name not in limits:
                raise Problem(
                    400,
                    "bad-request",
                    "Bad request",
                    f"unknown part {name!r}: only {known}",
                    field=name or None,
                )
            if name in seen:
                raise Problem(
                    400, "bad-request", "Bad request", f"part {name!r} given twice", field=name
                )
            seen.add(name)
            await take(name, part)
    except (ValueError, AssertionError, HttpProcessingError) as exc:
        # aiohttp's complaints about the framing, or a part's headers (a control character
        # in a name: InvalidHeader)
        raise Problem(
            400, "bad-request", "Bad request", f"malformed multipart body: {exc}"
        ) from None
    for name in limits if required is None else required:
        if name not in seen:
            raise Problem(
                400, "bad-request", "Bad request", f"the part {name!r} is missing", field=name
            )


@dataclass(frozen=True, slots=True)
class ReceivedFile:
    """An uploaded part on disk (removed when ``receiving_file`` ends), its size and digest."""

    path: Path
    size: int
    sha256: str


@contextlib.asynccontextmanager
async def receiving_file(
    request: web.Request, name: str, limit: int, *, expected: str, folder: Path | None = None
) -> AsyncIterator[ReceivedFile]:
    """The one part ``name``, streamed to a new file (0600) in ``folder`` under ``limit``.

    Only a chunk at a time is in memory; the digest is computed on the way.
    Other parts, a second ``name`` or none: 400s, as ``read_parts`` says them.
    """
    if media_type(request) != "multipart/form-data":
        # before a temporary file is made for it
        raise Problem(415, "unsupported-media-type", "Unsupported media type", f"send {expected}")
    handle, raw_path = tempfile.mkstemp(prefix="upload-", suffix=".pdf", dir=folder)
    path = Path(raw_path)
    try:
        with os.fdopen(handle, "wb") as sink:
            received = await _stream_part(request, name, limit, sink, path, expected)
        yield received
    finally:
        await asyncio.to_thread(path.unlink, missing_ok=True)


async def _stream_part(
    request: web.Request, name: str, limit: int, sink: BinaryIO, path: Path, expected: str
) -> ReceivedFile:
    write = sink.write
    digest = hashlib.sha256()
    size = 0

    async def store(_: str, part: BodyPartReader) -> None:
        nonlocal size
        while chunk := await part.read_chunk(CHUNK):
            size += len(chunk)
            if size > limit:
                raise too_large(name, limit)
            digest.update(chunk)
            await asyncio.to_thread(write, chunk)

    await _each_part(request, {name: limit}, expected, store)
    return ReceivedFile(path, size, digest.hexdigest())
