"""One verdict per seal, failing closed: the seal's key decides before the registry does."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta

import pytest

from keys.trust import SealKeyStatus, TrustList
from registry.states import ResultState
from signer.document import SignedResult
from signer.metadata import parse_metadata
from signer.runtime import SigningRuntime
from tests.pdfs import example_metadata
from verifier.report import GenuineSeal, Registered, SealReport, Verdict, check_seal, decide


def with_status(trust: TrustList, status: SealKeyStatus, agency: str | None = None) -> TrustList:
    keys = tuple(
        dataclasses.replace(k, status=status, agency_code=agency or k.agency_code)
        for k in trust.seal_keys
    )
    return dataclasses.replace(trust, seal_keys=keys)


def registered(signed: SignedResult, state: str, **changes: object) -> Registered:
    values: dict[str, object] = {
        "id": "01M8V082PG93QHFE509GQFXMYZ",
        "state": ResultState(state),
        "verification_code": signed.verification_code,
        "agency_name": "Ủy ban nhân dân huyện Vân Đồn",
        "procedure_name": "Cấp giấy phép xây dựng",
        "result_code": "000.00.14.H49-220301-0012-KQ1",
        "applicant_masked": "Nguyễn V** A*",
        "signed_at": signed.signed_at,
        "pades_level": "B-B",
        "document_sha256": signed.sha256,
        "signer_fingerprint": signed.signer_fingerprint,
        "revocation_code": None,
        "revoked_at": None,
        "current_url": None,
    }
    return Registered(**{**values, **changes})  # type: ignore[arg-type]


def genuine(signed: SignedResult, trust: TrustList) -> GenuineSeal:
    checked = check_seal(signed.seal_url, trust)
    assert isinstance(checked, GenuineSeal), checked
    return checked


def test_an_active_or_retired_key_verifies_and_the_registry_decides(
    signed: SignedResult, trust_list: TrustList
) -> None:
    for status in ("active", "retired"):
        seal = genuine(signed, with_status(trust_list, status))
        assert seal.key_status == status
        assert seal.code == signed.verification_code
    seal = genuine(signed, trust_list)
    assert decide(seal, registered(signed, "published")).verdict is Verdict.VALID
    assert decide(seal, registered(signed, "delivered")).verdict is Verdict.VALID
    assert decide(seal, registered(signed, "revoked")).verdict is Verdict.REVOKED
    assert decide(seal, registered(signed, "superseded")).verdict is Verdict.SUPERSEDED
    assert decide(seal, None).verdict is Verdict.UNKNOWN
    assert decide(seal, registered(signed, "signing")).verdict is Verdict.UNKNOWN
    other = registered(signed, "published", verification_code="AAAAA-BBBBB")
    assert decide(seal, other).verdict is Verdict.UNKNOWN


def test_a_compromised_key_or_another_agencys_key_is_refused(
    signed: SignedResult, trust_list: TrustList
) -> None:
    refused = check_seal(signed.seal_url, with_status(trust_list, "compromised"))
    assert isinstance(refused, SealReport)
    assert refused.verdict is Verdict.INVALID
    assert "compromised" in refused.reason
    foreign = check_seal(signed.seal_url, with_status(trust_list, "active", "000.00.00.X99"))
    assert isinstance(foreign, SealReport)
    assert foreign.verdict is Verdict.INVALID
    assert foreign.to_json() == {"verdict": "invalid", "reason": foreign.reason}


def test_a_key_missing_from_the_trust_list_makes_nothing_genuine(
    signed: SignedResult, trust_list: TrustList
) -> None:
    empty = dataclasses.replace(trust_list, seal_keys=())
    report = check_seal(signed.seal_url, empty)
    assert isinstance(report, SealReport)
    assert report.verdict is Verdict.INVALID


def test_a_report_cannot_claim_what_it_has_not_checked(signed: SignedResult) -> None:
    with pytest.raises(ValueError, match="exactly when it is genuine"):
        SealReport(Verdict.VALID, "no seal")
    with pytest.raises(ValueError, match="needs the registry"):
        SealReport(Verdict.VALID, "no result", seal=GenuineSeal.__new__(GenuineSeal))


def test_a_retired_key_verifies_only_the_seals_it_made_before_it_was_retired(
    signed: SignedResult, trust_list: TrustList
) -> None:
    def retired(at: datetime) -> TrustList:
        keys = tuple(
            dataclasses.replace(k, status="retired", retired_at=at) for k in trust_list.seal_keys
        )
        return dataclasses.replace(trust_list, seal_keys=keys)

    before = genuine(signed, retired(signed.signed_at + timedelta(seconds=1)))
    assert before.key_status == "retired"
    after = check_seal(signed.seal_url, retired(signed.signed_at))
    assert isinstance(after, SealReport)
    assert after.verdict is Verdict.INVALID
    assert "after its key was retired" in after.reason


def test_a_seal_made_outside_its_certificates_validity_is_refused(
    runtime: SigningRuntime, example_pdf: bytes, trust_list: TrustList
) -> None:
    # the development seal certificate starts an hour before keys init: two days earlier
    # is before it, as a seal back-dated with a stolen, since-replaced key would be
    metadata = parse_metadata(json.dumps(example_metadata()))
    early = runtime.sign(example_pdf, metadata, now=datetime.now(UTC) - timedelta(days=2))
    report = check_seal(early.seal_url, trust_list)
    assert isinstance(report, SealReport)
    assert report.verdict is Verdict.INVALID
    assert "outside its key's certificate" in report.reason
