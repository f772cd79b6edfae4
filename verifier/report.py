"""One verdict for a scanned seal: the seal first, then what the registry says of its result.

Fails closed: a seal whose signature, key or algorithm does not check out is
``invalid``, and nothing it claims is reported. Only a genuine seal is
looked up; its result decides between ``valid``, ``revoked``,
``superseded`` and ``unknown`` (genuine, but not a result this registry
issued, or not issued yet). The report holds public facts only: the
applicant's name masked, no e-mail, no access code.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from keys.trust import TrustList
from plumbing.vietnam import VIETNAM_TIME
from registry.states import ResultState
from seal import SealClaims, SealError, decode_seal, seal_from_text, verify_seal
from seal.codec import verification_code


class Verdict(StrEnum):
    VALID = "valid"
    REVOKED = "revoked"
    SUPERSEDED = "superseded"
    UNKNOWN = "unknown"  # the seal is genuine; this registry did not issue (or has not yet)
    INVALID = "invalid"  # the seal is not genuine: nothing it says is to be believed


@dataclass(frozen=True, slots=True)
class Registered:
    """What the registry holds of a result, the public part (read by ``verifier.lookup``)."""

    id: str
    state: ResultState
    verification_code: str | None
    agency_name: str
    procedure_name: str
    result_code: str
    applicant_masked: str
    signed_at: datetime | None
    pades_level: str | None
    document_sha256: str | None
    signer_fingerprint: str | None
    revocation_code: str | None  # the public reason; the clerk's words are never read here
    revoked_at: datetime | None
    current_url: str | None  # superseded: the verification URL of the result that replaced it
    document_number: str | None = None
    document_date: date | None = None
    copy_form: str | None = None  # an electronic copy: sao_y, sao_luc, trich_sao, attachment
    copy_original: str | None = None  # ... and what it copies


@dataclass(frozen=True, slots=True)
class GenuineSeal:
    """A seal whose signature verified under a trusted, not compromised key of its agency."""

    claims: SealClaims
    code: str  # the verification code (XXXXX-XXXXX)
    kid: str
    key_status: str  # active or retired: a retired key's old seals still verify


@dataclass(frozen=True, slots=True)
class SealReport:
    verdict: Verdict
    reason: str  # one sentence, English (the pages translate the verdict, not the reason)
    seal: GenuineSeal | None = None  # None: not genuine, nothing of it is reported
    result: Registered | None = None

    def __post_init__(self) -> None:
        if (self.verdict is Verdict.INVALID) != (self.seal is None):
            raise ValueError("the seal is reported exactly when it is genuine")
        if self.verdict in (Verdict.VALID, Verdict.REVOKED, Verdict.SUPERSEDED) and (
            self.result is None
        ):
            raise ValueError(f"a {self.verdict} verdict needs the registry's result")

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"verdict": self.verdict.value, "reason": self.reason}
        if self.seal is None:
            return body
        claims = self.seal.claims
        body["seal"] = {
            "verification_code": self.seal.code,
            "kid": self.seal.kid,
            "key_status": self.seal.key_status,
            "agency_code": claims.agency_code,
            "dossier_code": claims.dossier_code,
            "result_no": claims.result_no,
            "procedure_code": claims.procedure_code,
            "signed_at": claims.signed_at.astimezone(VIETNAM_TIME).isoformat(),
            "document_digest": claims.doc_digest.hex(),
            "document_length": claims.doc_length,
        }
        r = self.result
        body["result"] = (
            None
            if r is None
            else {
                "id": r.id,
                "state": r.state.value,
                "agency": r.agency_name,
                "procedure": r.procedure_name,
                "result_code": r.result_code,
                "applicant": r.applicant_masked,
                "signed_at": _vn(r.signed_at),
                "pades_level": r.pades_level,
                "document_sha256": r.document_sha256,
                "signer_fingerprint": r.signer_fingerprint,
                "document_number": r.document_number,
                "document_date": r.document_date.isoformat() if r.document_date else None,
                "copy": (
                    {"form": r.copy_form, "original": r.copy_original} if r.copy_form else None
                ),
                "revocation_code": r.revocation_code,
                "revoked_at": _vn(r.revoked_at),
                "current": r.current_url,
            }
        )
        return body


def _vn(value: datetime | None) -> str | None:
    return value.astimezone(VIETNAM_TIME).isoformat() if value is not None else None


def check_seal(text: str, trust: TrustList) -> GenuineSeal | SealReport:
    """The seal's own check: the genuine seal, or an ``invalid`` report saying why not."""
    try:
        seal = seal_from_text(text)
        kid = decode_seal(seal).kid
        key = trust.seal_key(kid)
        claims = verify_seal(seal, lambda k: key.public_key if key and k == kid else None)
    except SealError as exc:
        return SealReport(Verdict.INVALID, exc.message)
    assert key is not None
    if key.status == "compromised":
        return SealReport(
            Verdict.INVALID,
            f"the key that made this seal ({kid.hex()}) is compromised: its seals are refused",
        )
    if key.agency_code != claims.agency_code:
        return SealReport(
            Verdict.INVALID,
            f"the seal speaks for agency {claims.agency_code}, but its key is {key.agency_code}'s",
        )
    refused = key.refuses(claims.signed_at)
    if refused is not None:
        return SealReport(Verdict.INVALID, refused)
    return GenuineSeal(claims, verification_code(seal), kid.hex(), key.status)


def decide(seal: GenuineSeal, result: Registered | None) -> SealReport:
    """The verdict for a genuine seal, given what the registry holds under its result code."""
    if result is None:
        return SealReport(
            Verdict.UNKNOWN, "the seal is genuine; this registry has no such result", seal
        )
    if result.verification_code != seal.code:
        reason = "the seal is genuine, but not the one this registry recorded for the result"
        return SealReport(Verdict.UNKNOWN, reason, seal)
    if result.state is ResultState.REVOKED:
        return SealReport(Verdict.REVOKED, "the result was revoked", seal, result)
    if result.state is ResultState.SUPERSEDED:
        return SealReport(Verdict.SUPERSEDED, "a corrected result replaced it", seal, result)
    if result.state.issued:
        return SealReport(Verdict.VALID, "genuine, and the result stands", seal, result)
    return SealReport(
        Verdict.UNKNOWN, f"the result is not issued yet ({result.state.value})", seal
    )
