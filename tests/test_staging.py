"""Staging: the first signed document of a result is the one recorded, whatever happens next."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import cbor2
import pytest

from registry.blobs import FolderBlobStore
from registry.ids import new_id
from signer.document import SignedResult
from signer.metadata import ResultMetadata
from signer.pipeline import pool
from signer.pipeline.staging import Stage, StagedSignature, Staging
from signer.runtime import SigningRuntime
from tests.pdfs import example_metadata


@pytest.fixture
def two_signatures(
    runtime: SigningRuntime, example_pdf: bytes, metadata: ResultMetadata
) -> tuple[SignedResult, SignedResult]:
    return runtime.sign(example_pdf, metadata), runtime.sign(example_pdf, metadata)


def staged_whole(signed: SignedResult) -> bytes:
    """A stage as versions before the mark wrote it (fsynced, with no digest of its own)."""
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
    first, second = (Stage.of(signed) for signed in two_signatures)
    assert first.facts.signed_sha256 != second.facts.signed_sha256  # not repeatable: why
    staging = Staging(tmp_path / "staging")
    result_id = new_id()
    assert staging.find(result_id) is None
    assert staging.keep(result_id, first) is first
    assert staging.keep(result_id, second) == first  # a racing or repeated attempt
    # a new Staging over the same folder (a restart) finds the same document
    assert Staging(tmp_path / "staging").find(result_id) == first
    assert staging.leftovers() == [result_id]
    assert not [p for p in (tmp_path / "staging").iterdir() if p.name.startswith(".")]
    staging.drop(result_id)
    assert staging.find(result_id) is None
    assert staging.leftovers() == []


def damaged(good: bytes, other: bytes, changed_legacy: bytes) -> list[bytes]:
    """What a power cut can leave of a stage that was never fsynced."""
    middle = len(good) // 2
    return [
        b"",  # the name made durable, the data not
        good[: len(good) // 3],  # part of the data
        good + b"\xff\xff",  # bytes after the end
        good[:middle] + bytes([good[middle] ^ 1]) + good[middle + 1 :],  # one bit
        b"\0" * len(good),  # a block of zeros
        other,  # another result's stage: stale blocks of a freed file
        changed_legacy,  # a stage of an earlier version whose document is not its hash
    ]


def test_a_damaged_stage_is_not_trusted_and_gives_way(
    tmp_path: Path, two_signatures: tuple[SignedResult, SignedResult]
) -> None:
    """The result is signed anew, and the new stage replaces the damaged one."""
    first, second = (Stage.of(signed) for signed in two_signatures)
    staging = Staging(tmp_path)
    result_id, other_id = new_id(), new_id()
    staging.keep(result_id, first)
    staging.keep(other_id, second)
    good = (tmp_path / f"{result_id}.cbor").read_bytes()
    other = (tmp_path / f"{other_id}.cbor").read_bytes()
    signed = two_signatures[0]
    changed = staged_whole(dataclasses.replace(signed, pdf=signed.pdf + b" "))
    for n, damage in enumerate(damaged(good, other, changed)):
        (tmp_path / f"{result_id}.cbor").write_bytes(damage)
        assert staging.find(result_id) is None, n
        assert staging.keep(result_id, second) is second, n
        assert staging.find(result_id) == second, n


def test_a_whole_document_staged_by_an_earlier_version_is_still_recorded(
    tmp_path: Path, two_signatures: tuple[SignedResult, SignedResult]
) -> None:
    signed = two_signatures[0]
    result_id = new_id()
    (tmp_path / f"{result_id}.cbor").write_bytes(staged_whole(signed))
    assert Staging(tmp_path).find(result_id) == Stage.of(signed)


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


def test_a_result_is_signed_once_and_its_stage_dropped_once_recorded(
    in_a_signing_process: tuple[FolderBlobStore, Staging], example_pdf: bytes
) -> None:
    blobs, staging = in_a_signing_process
    original = blobs.put_sync(example_pdf)
    result_id, metadata_json = new_id(), json.dumps(example_metadata())
    first = pool.sign_and_stage(result_id, original, metadata_json)
    assert isinstance(first, StagedSignature)
    assert not first.earlier
    stage = staging.find(result_id)
    assert stage is not None
    assert stage.facts == first.facts
    assert blobs.get_sync(first.facts.signed_sha256) == stage.pdf
    # the service died before recording it: the next attempt records the same document
    again = pool.sign_and_stage(result_id, original, metadata_json)
    assert again == StagedSignature(first.facts, earlier=True)
    assert blobs.count() == 2  # the original and one signed document
    # once recorded, the next call drops the stage
    pool.sign_and_stage(new_id(), original, metadata_json, recorded=(result_id,))
    assert staging.find(result_id) is None


def test_a_document_staged_and_not_yet_stored_is_stored_and_recorded(
    in_a_signing_process: tuple[FolderBlobStore, Staging],
    two_signatures: tuple[SignedResult, SignedResult],
) -> None:
    """Killed between the stage and the store (or staged whole by an earlier version): the
    next attempt stores the staged document and records it, without signing again."""
    blobs, staging = in_a_signing_process
    for signed, write in (
        (two_signatures[0], lambda rid, s: staging.keep(rid, Stage.of(s))),
        (
            two_signatures[1],
            lambda rid, s: (staging.root / f"{rid}.cbor").write_bytes(staged_whole(s)),
        ),
    ):
        result_id = new_id()
        write(result_id, signed)
        staged = pool.sign_and_stage(result_id, "0" * 64, json.dumps(example_metadata()))
        assert staged == StagedSignature(Stage.of(signed).facts, earlier=True)
        assert blobs.get_sync(signed.sha256) == signed.pdf
    assert blobs.count() == 2  # no original was read: nothing was signed


def test_staging_refuses_names_that_are_not_result_ids(tmp_path: Path) -> None:
    staging = Staging(tmp_path)
    with pytest.raises(ValueError, match="not a result id"):
        staging.find("../blobs/x")


def test_a_staged_signature_carries_what_the_registry_records(
    two_signatures: tuple[SignedResult, SignedResult],
) -> None:
    signed = two_signatures[0]
    staged = StagedSignature(Stage.of(signed).facts, earlier=True)
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
