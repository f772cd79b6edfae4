"""``ketqua import SIGNED.pdf --metadata META.json``: register a result signed outside the service.

The checks and the registration are ``console.imports``' (the console's
upload does the same); this reads the files and opens the home folder's
registry. The actor in the result's history is ``cli:<user>``.
"""

from __future__ import annotations

import asyncio
import getpass
from pathlib import Path
from typing import Any

from console.imports import import_signed as register
from plumbing.errors import InputError
from registry.results import ResultRecord
from signer.metadata import ResultMetadata, parse_metadata


async def import_signed(
    pdf: Path, metadata_file: Path, settings: Any
) -> tuple[ResultRecord, ResultMetadata]:
    from keys.keydir import KeyDir
    from registry.database import open_database, upgrade

    try:
        data = await asyncio.to_thread(pdf.read_bytes)
        metadata = parse_metadata(await asyncio.to_thread(metadata_file.read_bytes))
        trust_json = await asyncio.to_thread(KeyDir(settings.keys_dir).trust_list.read_bytes)
    except OSError as exc:
        raise InputError(f"cannot read {exc.filename}: {exc.strerror}") from exc
    db = open_database(settings.database)
    blobs = settings.blobs.open()
    try:
        await upgrade(db)
        actor = f"cli:{getpass.getuser()}"
        recorded = await register(db, blobs, data, metadata, trust_json, actor=actor)
    finally:
        await asyncio.to_thread(blobs.close)
        await db.close()
    return recorded, metadata
