"""A signed document's facts wait here, on disk, until the registry has recorded them.

Signing is not repeatable (a new signing time, a new timestamp): if the
service died after signing and before the registry's commit, signing again
would make a second, different document for the same result. So once the
signed document is in the blob store, what the registry will record of it
(``SignedFacts``: its SHA-256, seal, signing time) is staged under the
result's id, and whoever works on the result next finds it and records
that one. The first stage wins (``os.link`` refuses to replace), so two
workers racing on one result also end with one document.

The order is what makes a stage safe to trust: the document is durable in
the blob store before its stage is written, so a stage never names a
document that is not there. The stage itself is not fsynced. It guards
against the process dying (kill -9, out of memory, a crash), and a file
written before a process dies survives it in the kernel's page cache.
Only a power cut or a kernel crash can lose it, or leave it damaged. The
result is then signed anew, which costs nothing: the lost signature was in
no record, page or e-mail. Before, the whole signed document was staged
and fsynced with its folder: two more fsyncs a result on the signing path,
which waited on them.

The signing processes stage (``sign_and_stage`` in ``pool``): the signed
bytes never cross back to the service process, which records only
``StagedSignature``. File work here is synchronous; the service process
calls ``drop`` and ``leftovers`` off its event loop.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import cbor2

from registry.ids import looks_like_id
from registry.results import SignedFacts
from signer.document import SignedResult


@dataclass(frozen=True, slots=True)
class StagedSignature:
    """What the registry records of a signed document, and whether an earlier attempt made it."""

    facts: SignedFacts
    earlier: bool = False  # staged by an earlier attempt (a crash before the record)


def facts_of(signed: SignedResult) -> SignedFacts:
    return SignedFacts(
        signed_sha256=signed.sha256,
        signed_size=len(signed.pdf),
        signer_fingerprint=signed.signer_fingerprint,
        seal_kid=signed.seal_kid,
        seal_url=signed.seal_url,
        verification_code=signed.verification_code,
        pades_level=signed.level.value,
        signed_at=signed.signed_at,
    )


@dataclass(frozen=True, slots=True)
class Stage:
    """A result's stage: the facts of its signed document; ``pdf``, the document itself when
    an earlier version of ketqua staged it whole (perhaps not yet in the blob store)."""

    facts: SignedFacts
    pdf: bytes | None = None


class Staging:
    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def _path(self, result_id: str) -> Path:
        if not looks_like_id(result_id):
            raise ValueError(f"not a result id: {result_id!r}")
        return self.root / f"{result_id}.cbor"

    def keep(self, result_id: str, facts: SignedFacts) -> Stage:
        """Stage ``facts`` (their document is in the blob store already); returns what is
        staged: an earlier stage, if there is one."""
        path = self._path(result_id)
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        try:
            tmp.write_bytes(_encode(facts))
            try:
                os.link(tmp, path)
            except FileExistsError:
                earlier = self.find(result_id)
                if earlier is not None:
                    return earlier
                os.replace(tmp, path)  # a stage a power cut damaged: never trusted, replaced
        finally:
            tmp.unlink(missing_ok=True)
        return Stage(facts)

    def find(self, result_id: str) -> Stage | None:
        """The result's stage; None if there is none, or it is damaged (see the module)."""
        try:
            return _decode(self._path(result_id).read_bytes())
        except FileNotFoundError:
            return None

    def drop(self, *result_ids: str) -> None:
        for result_id in result_ids:
            self._path(result_id).unlink(missing_ok=True)

    def leftovers(self) -> list[str]:
        return sorted(p.stem for p in self.root.glob("*.cbor"))


_FIELDS = (
    "signed_sha256",
    "signed_size",
    "signer_fingerprint",
    "seal_kid",
    "seal_url",
    "verification_code",
    "pades_level",
)


def _encode(facts: SignedFacts) -> bytes:
    values: dict[str, object] = {name: getattr(facts, name) for name in _FIELDS}
    values["signed_at"] = facts.signed_at.isoformat()
    return bytes(cbor2.dumps(values))


def _decode(data: bytes) -> Stage | None:
    try:
        values = cbor2.loads(data)
        if "pdf" in values:  # a whole signed document, staged by an earlier version
            return Stage(
                SignedFacts(
                    signed_sha256=values["sha256"],
                    signed_size=len(values["pdf"]),
                    signer_fingerprint=values["signer_fingerprint"],
                    seal_kid=values["seal_kid"],
                    seal_url=values["seal_url"],
                    verification_code=values["verification_code"],
                    pades_level=values["level"],
                    signed_at=datetime.fromisoformat(values["signed_at"]),
                ),
                pdf=values["pdf"],
            )
        return Stage(
            SignedFacts(
                **{name: values[name] for name in _FIELDS},
                signed_at=datetime.fromisoformat(values["signed_at"]),
            )
        )
    except (cbor2.CBORDecodeError, TypeError, KeyError, ValueError):
        return None
