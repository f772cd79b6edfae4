"""Staging: the first signed document of a result is the one recorded, whatever happens next."""

from __future__ import annotations

import dataclasses
import json
import resource
import signal
from pathlib import Path

import cbor2
import pytest

from registry.blobs import FolderBlobStore
from registry.ids import new_id
from signer.document import SignedResult
from signer.metadata import ResultMetadata
from signer.pipeline import pool
from signer.pipeline.staging import Stage, StagedSignature, Staging, facts_of
from signer.runtime import SigningRuntime
from tests.pdfs import example_metadata


@pytest.fixture
def two_signatures(
    runtime: SigningRuntime, example_pdf: bytes, metadata: ResultMetadata
) -> tuple[SignedResult, SignedResult]:
    return runtime.sign(example_pdf, metadata), runtime.sign(example_pdf, metadata)


def staged_whole(signed: SignedResult) -> bytes:
    """A stage as versions before the stage of facts wrote it: the whole signed document."""
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


def test_the_first_stage_wins(
    tmp_path: Path, two_signatures: tuple[SignedResult, SignedResult]
) -> None:
    first, second = (facts_of(signed) for signed in two_signatures)
    assert first.signed_sha256 != second.signed_sha256  # signing is not repeatable: why
    staging = Staging(tmp_path / "staging")
    result_id = new_id()
    assert staging.find(result_id) is None
    assert staging.keep(result_id, first).facts is first
    kept = staging.keep(result_id, second)  # a racing or repeated attempt
    assert kept.facts == first
    # a new Staging over the same folder (a restart) finds the same document
    found = Staging(tmp_path / "staging").find(result_id)
    assert found == Stage(first)
    assert staging.leftovers() == [result_id]
    assert not [p for p in (tmp_path / "staging").iterdir() if p.name.startswith(".")]
    staging.drop(result_id)
    assert staging.find(result_id) is None
    assert staging.leftovers() == []


@pytest.mark.parametrize("damage", [b"", b"\xa1", b"\x01", b"\xa1\x61x\x01", b"\x9f\xff"])
def test_a_damaged_stage_is_not_trusted_and_gives_way(
    tmp_path: Path, two_signatures: tuple[SignedResult, SignedResult], damage: bytes
) -> None:
    """What a power cut can leave of a stage that was never fsynced: the result is signed
    anew, and the new stage replaces the damaged one."""
    staging = Staging(tmp_path)
    result_id = new_id()
    (tmp_path / f"{result_id}.cbor").write_bytes(damage)
    assert staging.find(result_id) is None
    facts = facts_of(two_signatures[1])
    assert staging.keep(result_id, facts).facts is facts
    assert staging.find(result_id) == Stage(facts)


def test_a_whole_document_staged_by_an_earlier_version_is_still_recorded(
    tmp_path: Path, two_signatures: tuple[SignedResult, SignedResult]
) -> None:
    signed = two_signatures[0]
    result_id = new_id()
    (tmp_path / f"{result_id}.cbor").write_bytes(staged_whole(signed))
    assert Staging(tmp_path).find(result_id) == Stage(facts_of(signed), pdf=signed.pdf)


@pytest.fixture
def in_a_signing_process(
    runtime: SigningRuntime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[FolderBlobStore, Staging]:
    """This process set up as ``pool`` sets up a signing process (without its niceness and
    process name): a blob store and a staging folder of its own."""
    storage = (FolderBlobStore(tmp_path / "blobs"), Staging(tmp_path / "staging"))
    monkeypatch.setattr(pool, "_runtime", runtime)
    monkeypatch.setattr(pool, "_storage", storage)
    return storage


def test_a_stage_names_a_document_the_blob_store_holds_and_is_signed_once(
    in_a_signing_process: tuple[FolderBlobStore, Staging], example_pdf: bytes
) -> None:
    blobs, staging = in_a_signing_process
    original = blobs.put_sync(example_pdf)
    result_id, metadata_json = new_id(), json.dumps(example_metadata())
    first = pool.sign_and_stage(result_id, original, metadata_json)
    assert isinstance(first, StagedSignature)
    assert not first.earlier
    stage = staging.find(result_id)
    assert stage == Stage(first.facts)
    assert len(blobs.get_sync(first.facts.signed_sha256)) == first.facts.signed_size
    # the service died before recording it: the next attempt records the same document
    again = pool.sign_and_stage(result_id, original, metadata_json)
    assert again == StagedSignature(first.facts, earlier=True)
    assert blobs.count() == 2  # the original and one signed document
    # once recorded, the next call drops the stage
    pool.sign_and_stage(new_id(), original, metadata_json, recorded=(result_id,))
    assert staging.find(result_id) is None


def test_no_stage_is_written_when_the_signed_document_cannot_be_stored(
    in_a_signing_process: tuple[FolderBlobStore, Staging], example_pdf: bytes
) -> None:
    """A stage is trusted without a look in the blob store: it must never be written
    before its document is stored."""
    blobs, staging = in_a_signing_process
    original = blobs.put_sync(example_pdf)
    result_id = new_id()
    # a file may grow to 50 KB in this process: the signed document (about 126 KB) cannot
    # be written, a stage (under 1 KB) can; the write fails with EFBIG, not a signal
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (50_000, hard))
    try:
        with pytest.raises(OSError, match="too large"):
            pool.sign_and_stage(result_id, original, json.dumps(example_metadata()))
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, previous)
    assert staging.find(result_id) is None
    assert staging.leftovers() == []


def test_a_whole_document_staged_by_an_earlier_version_is_stored_before_it_is_recorded(
    in_a_signing_process: tuple[FolderBlobStore, Staging],
    two_signatures: tuple[SignedResult, SignedResult],
) -> None:
    blobs, staging = in_a_signing_process
    signed = two_signatures[0]
    result_id = new_id()
    (staging.root / f"{result_id}.cbor").write_bytes(staged_whole(signed))
    staged = pool.sign_and_stage(result_id, "0" * 64, json.dumps(example_metadata()))
    assert staged == StagedSignature(facts_of(signed), earlier=True)
    assert blobs.get_sync(signed.sha256) == signed.pdf


def test_staging_refuses_names_that_are_not_result_ids(tmp_path: Path) -> None:
    staging = Staging(tmp_path)
    with pytest.raises(ValueError, match="not a result id"):
        staging.find("../blobs/x")


def test_a_staged_signature_carries_what_the_registry_records(
    two_signatures: tuple[SignedResult, SignedResult],
) -> None:
    signed = two_signatures[0]
    staged = StagedSignature(facts_of(signed), earlier=True)
    facts = staged.facts
    assert (facts.signed_sha256, facts.signed_size, facts.seal_kid) == (
        signed.sha256,
        len(signed.pdf),
        signed.seal_kid,
    )
    assert facts.pades_level == signed.level.value
    assert staged.earlier
    with pytest.raises(ValueError, match="aware time"):
        dataclasses.replace(facts, signed_at=signed.signed_at.replace(tzinfo=None))
