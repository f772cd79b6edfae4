"""A signed document waits here, on disk, until the registry has recorded it.

Signing is not repeatable (a new signing time, a new timestamp): if the
service died after signing and before the registry's commit, signing again
would make a second, different document for the same result. So the first
signed document is staged under the result's id, and whoever works on the
result next finds it and records that one. The first stage wins
(``os.link`` refuses to replace), so two workers racing on one result also
end with one document.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from datetime import datetime
from pathlib import Path

import cbor2

from ketqua.files import fsync_dir
from registry.ids import looks_like_id
from signer.document import SignedResult
from signer.pades import PadesLevel


class Staging:
    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def _path(self, result_id: str) -> Path:
        if not looks_like_id(result_id):
            raise ValueError(f"not a result id: {result_id!r}")
        return self.root / f"{result_id}.cbor"

    async def keep(self, result_id: str, signed: SignedResult) -> SignedResult:
        """Stage ``signed``; returns what is staged (an earlier document, if one was)."""
        return await asyncio.to_thread(self._keep, result_id, signed)

    def _keep(self, result_id: str, signed: SignedResult) -> SignedResult:
        path = self._path(result_id)
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        try:
            with tmp.open("wb") as fh:
                fh.write(_encode(signed))
                fh.flush()
                os.fsync(fh.fileno())
            os.link(tmp, path)
        except FileExistsError:
            return self._read(path)
        finally:
            tmp.unlink(missing_ok=True)
        fsync_dir(self.root)
        return signed

    async def find(self, result_id: str) -> SignedResult | None:
        path = self._path(result_id)
        return await asyncio.to_thread(lambda: self._read(path) if path.exists() else None)

    async def drop(self, result_id: str) -> None:
        await asyncio.to_thread(self._path(result_id).unlink, True)

    def leftovers(self) -> list[str]:
        return sorted(p.stem for p in self.root.glob("*.cbor"))

    @staticmethod
    def _read(path: Path) -> SignedResult:
        return _decode(path.read_bytes())


def _encode(signed: SignedResult) -> bytes:
    return bytes(
        cbor2.dumps(
            {
                "pdf": signed.pdf,
                "level": signed.level.value,
                "seal": signed.seal,
                "seal_url": signed.seal_url,
                "verification_code": signed.verification_code,
                "signed_at": signed.signed_at.isoformat(),
                "sha256": signed.sha256,
                "signer_fingerprint": signed.signer_fingerprint,
                "seal_kid": signed.seal_kid,
            }
        )
    )


def _decode(data: bytes) -> SignedResult:
    values = cbor2.loads(data)
    return SignedResult(
        pdf=values["pdf"],
        level=PadesLevel(values["level"]),
        seal=values["seal"],
        seal_url=values["seal_url"],
        verification_code=values["verification_code"],
        signed_at=datetime.fromisoformat(values["signed_at"]),
        sha256=values["sha256"],
        signer_fingerprint=values["signer_fingerprint"],
        seal_kid=values["seal_kid"],
    )
