"""The signer's two process pools and what runs inside them (``plumbing.workers.WorkerPool``).

The signing pool (one ``SigningRuntime`` per process, keys parsed and fonts
subset once) and the intake pool that vets uploads and builds e-mails (short
work, the templates compiled once per process), kept apart so that neither
a request nor an e-mail queues behind signatures. Work crosses the process boundary as plain
values; failures come back as ``Failure`` values, since exceptions with
keyword arguments do not survive pickling.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TypeVar

from plumbing.errors import InputError, KetquaError
from plumbing.workers import WorkerPool, worker_process
from registry.access import DERIVED, hash_code
from registry.blobs import BlobLocation, BlobStore
from registry.outbox import Delivery
from registry.results import ResultRecord
from registry.states import DeliveryKind
from signer.delivery.message import Built, MailSetup, MessageBuilder
from signer.delivery.transport import Outcome, PickupFolder
from signer.metadata import parse_metadata
from signer.pdfinput import vet_pdf
from signer.pipeline.staging import Stage, StagedSignature, Staging
from signer.runtime import RuntimeConfig, SigningRuntime, freeze_prepared_state
from signer.stamp.font import BOLD, REGULAR, prepare_font

T = TypeVar("T")

_runtime: SigningRuntime | None = None
_startup_failure: Failure | None = None
_storage: tuple[BlobStore, Staging] | None = None


@dataclass(frozen=True, slots=True)
class Failure:
    """Why a piece of work failed; ``permanent``: the input is at fault, retrying is futile."""

    message: str
    field: str | None
    permanent: bool

    @classmethod
    def of(cls, exc: KetquaError) -> Failure:
        return cls(exc.message, exc.field, isinstance(exc, InputError))

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


# Signing processes yield the CPU to the service process (HTTP, database) and to
# vetting: those are short and on a request's path; signing is long and queued.
# With every core signing, the event loop would otherwise wait for a time slice
# at each database round trip.
SIGNING_NICENESS = 5


def _init_signing(config: RuntimeConfig, blobs: BlobLocation, staging_root: Path) -> None:
    global _runtime, _startup_failure, _storage
    worker_process(b"ketqua-sign")
    os.nice(SIGNING_NICENESS)
    _storage = (blobs.open(), Staging(staging_root))
    try:
        _runtime = SigningRuntime(config)
    except KetquaError as exc:
        # reported by the first call, as a value: a raising initializer only says "broken pool"
        _startup_failure = Failure(exc.message if exc.field is None else str(exc), None, False)
        return
    prepare_font(REGULAR)
    prepare_font(BOLD)
    freeze_prepared_state()


_intake_blobs: BlobStore | None = None
_builder: MessageBuilder | Failure | None = None


def _init_intake(blobs: BlobLocation, mail: MailSetup | None) -> None:
    global _intake_blobs, _builder
    worker_process(b"ketqua-intake")
    _intake_blobs = blobs.open()
    if mail is not None:
        try:  # the service made one already, so this fails only if the files changed since
            _builder = mail.builder()
        except KetquaError as exc:
            _builder = Failure.of(exc)


def sign_and_stage(
    result_id: str, original_sha256: str, metadata_json: str, recorded: tuple[str, ...] = ()
) -> StagedSignature | Failure:
    """Sign a result's original, stage the signed document, then put it in the blob store.

    The document staged by an earlier attempt, if there is one, instead of a new
    signature. Done here rather than in the service process so that the signed
    bytes, the fsyncs and the hashing stay off the event loop's process; so are the
    staged documents of ``recorded`` results (the registry holds them now) dropped.
    """
    if _runtime is None:
        assert _startup_failure is not None
        return _startup_failure
    assert _storage is not None
    blobs, staging = _storage
    staging.drop(*recorded)  # the registry holds them now
    try:
        staged = staging.find(result_id)
        earlier = staged is not None
        if staged is None:
            original = blobs.get_sync(original_sha256)
            ours = Stage.of(_runtime.sign(original, parse_metadata(metadata_json), vetted=True))
            staged = staging.keep(result_id, ours)
            earlier = staged is not ours  # a racing attempt staged first: record that one
        blobs.put_sync(staged.pdf)
    except KetquaError as exc:
        return Failure.of(exc)
    return StagedSignature(staged.facts, earlier=earlier)


def probe_in_worker() -> Failure | None:
    """The keys are usable (a token answers): None, or why not."""
    if _runtime is None:
        assert _startup_failure is not None
        return _startup_failure
    try:
        _runtime.probe()
    except KetquaError as exc:
        return Failure.of(exc)
    except Exception as exc:  # a token library's own error types
        return Failure(f"the signing key is not usable: {exc}", None, False)
    return None


@dataclass(frozen=True, slots=True)
class KeysFacts:
    """What a signing process's keys are: the agency they sign for, whether the trust
    list names their signing certificate (else offline verifiers call nothing valid), and
    each certificate the signer uses with the moment it runs out."""

    agency_code: str
    listed: bool
    certificates: tuple[CertificateExpiry, ...] = ()


@dataclass(frozen=True, slots=True)
class CertificateExpiry:
    """A certificate the signer uses (``document`` signing, the QR ``seal``) and its end."""

    use: str
    subject: str
    not_after: datetime


def describe_in_worker() -> Failure | KeysFacts:
    """What the keys sign for (after a probe signature), or why they cannot."""
    failure = probe_in_worker()
    if failure is not None:
        return failure
    assert _runtime is not None
    keys = _runtime.keys
    used = (("document", keys.signing_certificate), ("seal", keys.seal.certificate))
    return KeysFacts(
        keys.agency_code,
        keys.listed,
        tuple(
            CertificateExpiry(use, cert.subject.rfc4514_string(), cert.not_valid_after_utc)
            for use, cert in used
        ),
    )


def noop_in_worker() -> None:
    return None


@dataclass(frozen=True, slots=True)
class Accepted:
    """The upload passed and is stored; the access code's hash, if one came with it."""

    access_hash: str | None


def vet_and_store(
    data: bytes, max_bytes: int, access_code: str | None = None
) -> Failure | Accepted:
    """Vet an upload; once it passes, store it durably in the blob store, or say why not.

    In the intake process rather than the service's: the bytes are already here,
    and the hashing (the document's, and the access code's deliberately slow one)
    and fsyncs stay off the event loop's process.
    """
    assert _intake_blobs is not None
    try:
        vet_pdf(data, max_bytes=max_bytes)
    except KetquaError as exc:
        return Failure.of(exc)
    _intake_blobs.put_sync(data)
    # the applicant's own code: a slow hash; a generated one is derived again when checked
    return Accepted(hash_code(access_code) if access_code is not None else DERIVED)


@dataclass(frozen=True, slots=True)
class Dropped:
    """A message built and written to the pickup folder in the worker: only this crosses
    back, not the message."""

    mode: str
    outcome: Outcome


def build_email(
    result: ResultRecord,
    delivery: Delivery,
    access_code: str | None,
    replaces: str | None,
    drop_in: PickupFolder | None = None,
) -> Built | Dropped | Failure:
    """The message of ``delivery``: the signed result with its PDF, or a revocation notice;
    written to the pickup folder ``drop_in`` if one is given.

    In an intake process rather than the service's: rendering the templates and
    encoding the PDF are CPU work the event loop's process need not do.
    """
    built = _build_email(result, delivery, access_code, replaces)
    if drop_in is None or isinstance(built, Failure):
        return built
    return Dropped(built.mode, drop_in.drop(built.data, delivery.message_id))


def _build_email(
    result: ResultRecord, delivery: Delivery, access_code: str | None, replaces: str | None
) -> Built | Failure:
    assert _intake_blobs is not None
    if _builder is None or isinstance(_builder, Failure):
        return _builder or Failure("this process builds no e-mail (no mail setup)", None, False)
    try:
        metadata = parse_metadata(result.metadata_json)
        recipient, message_id = delivery.recipient, delivery.message_id
        if delivery.kind is DeliveryKind.REVOCATION:
            return _builder.build_notice(
                result, metadata, recipient=recipient, message_id=message_id
            )
        if result.signed_sha256 is None:
            return Failure(f"result {result.id} has no signed document", None, True)
        return _builder.build(
            result,
            metadata,
            _intake_blobs.get_sync(result.signed_sha256),
            recipient=recipient,
            message_id=message_id,
            access_code=access_code,
            replaces=replaces,
        )
    except KetquaError as exc:
        return Failure.of(exc)


def signing_pool(
    size: int, config: RuntimeConfig, *, blobs: BlobLocation, staging_root: Path
) -> WorkerPool:
    return WorkerPool(size, _init_signing, (config, blobs, staging_root))


def intake_pool(size: int, *, blobs: BlobLocation, mail: MailSetup | None = None) -> WorkerPool:
    """Processes that vet uploads and store them, and build e-mails (with ``mail``)."""
    return WorkerPool(size, _init_intake, (blobs, mail))
