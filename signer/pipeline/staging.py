"""A signed document waits here, on disk, until the registry has recorded it.

Signing is not repeatable (a new signing time, a new timestamp): if the
service died after signing and before the registry's commit, signing again
would make a second, different document for the same result. So the first
signed document is staged under the result's id, before it enters the blob
store, and whoever works on the result next finds it and records that one.
The first stage wins (``os.link`` refuses to replace), so two workers racing
on one result also end with one document.

A stage is not fsynced. It guards against the process dying (kill -9, out
of memory, a crash), and a file written before a process dies survives it
in the kernel's page cache. Only a power cut or a kernel crash can lose a
stage or leave it damaged, stale or another file's blocks; a stage names
its result and carries its own SHA-256, and one that does not check out is
never trusted. The result is then signed anew, which costs nothing: the
lost signature was in no record, page or e-mail. Before, each stage was
fsynced with its folder: two fsyncs a result on the signing path, which
waited on them behind every other process's.

The signing processes stage and store (``sign_and_stage`` in ``pool``): the
signed bytes never cross back to the service process, which records only
``StagedSignature``. File work here is synchronous; the service process
calls ``drop`` and ``leftovers`` off its event loop.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import cbor2

from registry.ids import looks_like_id
from registry.results import SignedFacts
from signer.document import SignedResult

# a stage: this mark, its CBOR, then the SHA-256 of the CBOR
_MARK = b"KQS2"
_DIGEST = 32


@dataclass(frozen=True, slots=True)
class StagedSignature:
    """What the registry records of a signed document, and whether an earlier attempt made it."""

    facts: SignedFacts
    earlier: bool = False  # staged by an earlier attempt (a crash before the record)


@dataclass(frozen=True, slots=True)
class Stage:
    """A signed document waiting for its record: the document, and what the registry records."""

    facts: SignedFacts
    pdf: bytes

    @classmethod
    def of(cls, signed: SignedResult) -> Stage:
        facts = SignedFacts(
            signed_sha256=signed.sha256,
            signed_size=len(signed.pdf),
            signer_fingerprint=signed.signer_fingerprint,
            seal_kid=signed.seal_kid,
            seal_url=signed.seal_url,
            verification_code=signed.verification_code,
            pades_level=signed.level.value,
            signed_at=signed.signed_at,
        )
        return cls(facts, signed.pdf)


class Staging:
    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def _path(self, result_id: str) -> Path:
        if not looks_like_id(result_id):
            raise ValueError(f"not a result id: {result_id!r}")
        return self.root / f"{result_id}.cbor"

    def keep(self, result_id: str, stage: Stage) -> Stage:
        """Stage ``stage``; returns what is staged: an earlier stage, if there is one."""
        path = self._path(result_id)
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        try:
            tmp.write_bytes(_encode(result_id, stage))
            try:
                os.link(tmp, path)
            except FileExistsError:
                earlier = self.find(result_id)
                if earlier is not None:
                    return earlier
                # damaged (a power cut): replaced, by one worker at a time, so that two
                # that found it damaged do not each replace the other's good stage
                with self._locked():
                    earlier = self.find(result_id)
                    if earlier is not None:
                        return earlier
                    os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        return stage

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        fd = os.open(self.root, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def find(self, result_id: str) -> Stage | None:
        """The result's stage; None if there is none, or it does not check out."""
        try:
            return _decode(result_id, self._path(result_id).read_bytes())
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


def _encode(result_id: str, stage: Stage) -> bytes:
    values: dict[str, object] = {name: getattr(stage.facts, name) for name in _FIELDS}
    values |= {
        "result_id": result_id,
        "signed_at": stage.facts.signed_at.isoformat(),
        "pdf": stage.pdf,
    }
    body = cbor2.dumps(values)
    return _MARK + body + hashlib.sha256(body).digest()


def _decode(result_id: str, data: bytes) -> Stage | None:
    try:
        if data.startswith(_MARK):
            if len(data) < len(_MARK) + _DIGEST:
                return None
            body, digest = data[len(_MARK) : -_DIGEST], data[-_DIGEST:]
            if hashlib.sha256(body).digest() != digest:
                return None
            values = cbor2.loads(body)
            if values["result_id"] != result_id:
                return None
            facts = SignedFacts(
                **{name: values[name] for name in _FIELDS},
                signed_at=datetime.fromisoformat(values["signed_at"]),
            )
        else:  # staged by a version before the mark: fsynced then; the document's own hash
            values = cbor2.loads(data)
            facts = SignedFacts(
                signed_sha256=values["sha256"],
                signed_size=len(values["pdf"]),
                signer_fingerprint=values["signer_fingerprint"],
                seal_kid=values["seal_kid"],
                seal_url=values["seal_url"],
                verification_code=values["verification_code"],
                pades_level=values["level"],
                signed_at=datetime.fromisoformat(values["signed_at"]),
            )
        pdf = values["pdf"]
        if not isinstance(pdf, bytes) or hashlib.sha256(pdf).hexdigest() != facts.signed_sha256:
            return None
        return Stage(facts, pdf)
    except (cbor2.CBORDecodeError, TypeError, KeyError, ValueError):
        return None
