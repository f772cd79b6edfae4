"""Staging: the first signed document of a result is the one recorded, whatever happens next."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from registry.ids import new_id
from signer.document import SignedResult
from signer.metadata import ResultMetadata
from signer.pipeline.staging import StagedSignature, Staging
from signer.runtime import SigningRuntime


@pytest.fixture
def two_signatures(
    runtime: SigningRuntime, example_pdf: bytes, metadata: ResultMetadata
) -> tuple[SignedResult, SignedResult]:
    return runtime.sign(example_pdf, metadata), runtime.sign(example_pdf, metadata)


def test_the_first_stage_wins(
    tmp_path: Path, two_signatures: tuple[SignedResult, SignedResult]
) -> None:
    first, second = two_signatures
    assert first.sha256 != second.sha256  # signing is not repeatable: why staging exists
    staging = Staging(tmp_path / "staging")
    result_id = new_id()
    assert staging.find(result_id) is None
    assert staging.keep(result_id, first) is first
    kept = staging.keep(result_id, second)  # a racing or repeated attempt
    assert kept.sha256 == first.sha256
    assert kept.pdf == first.pdf
    # a new Staging over the same folder (a restart) finds the same document
    found = Staging(tmp_path / "staging").find(result_id)
    assert found is not None
    assert found.pdf == first.pdf
    assert found.signed_at == first.signed_at
    assert staging.leftovers() == [result_id]
    assert not [p for p in (tmp_path / "staging").iterdir() if p.name.startswith(".")]
    staging.drop(result_id)
    assert staging.find(result_id) is None
    assert staging.leftovers() == []


def test_staging_refuses_names_that_are_not_result_ids(tmp_path: Path) -> None:
    staging = Staging(tmp_path)
    with pytest.raises(ValueError, match="not a result id"):
        staging.find("../blobs/x")


def test_a_staged_signature_carries_what_the_registry_records(
    two_signatures: tuple[SignedResult, SignedResult],
) -> None:
    signed = two_signatures[0]
    staged = StagedSignature.of(signed, earlier=True)
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
