"""The trust list: the public material an offline or online verifier needs.

Three kinds of anchor: the QR seal keys (by kid, with their status, so that
a retired key keeps verifying the seals it made before it was retired and a
compromised one is refused), the agencies' own document-signing
certificates (a document is an agency's result only when one of these
signed it, not merely any holder of a certificate from the same CA), and the
roots of the document-signing (PAdES) certificates.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from keys.errors import KeyMaterialError
from seal import kid_for_certificate

SealKeyStatus = Literal["active", "retired", "compromised"]
_STATUSES: tuple[SealKeyStatus, ...] = ("active", "retired", "compromised")
FORMAT_VERSION = 1


@dataclass(frozen=True, slots=True)
class SealKey:
    """One QR seal certificate and what the issuer says about it."""

    certificate: x509.Certificate
    agency_code: str
    status: SealKeyStatus = "active"
    retired_at: datetime | None = None  # retired: seals made from then on are refused

    def __post_init__(self) -> None:
        if self.status not in _STATUSES:
            raise ValueError(f"seal key status must be one of {_STATUSES}")
        if self.retired_at is not None and (
            self.status != "retired" or self.retired_at.tzinfo is None
        ):
            raise ValueError("retired_at belongs to a retired key, with its time zone")
        key = self.certificate.public_key()
        if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
            raise ValueError("a seal key must be ECDSA P-256")

    @property
    def kid(self) -> bytes:
        return kid_for_certificate(self.certificate)

    @property
    def public_key(self) -> ec.EllipticCurvePublicKey:
        key = self.certificate.public_key()
        assert isinstance(key, ec.EllipticCurvePublicKey)
        return key

    def refuses(self, signed_at: datetime) -> str | None:
        """Why a seal made at ``signed_at`` with this key is not accepted; None: it is."""
        cert = self.certificate
        if not cert.not_valid_before_utc <= signed_at <= cert.not_valid_after_utc:
            return (
                f"the seal was made at {signed_at.isoformat()}, outside its key's certificate "
                f"({cert.not_valid_before_utc.date()} to {cert.not_valid_after_utc.date()})"
            )
        if self.retired_at is not None and signed_at >= self.retired_at:
            return f"the seal was made after its key was retired ({self.retired_at.date()})"
        return None


@dataclass(frozen=True, slots=True)
class SigningCertificate:
    """An agency's own document-signing certificate."""

    certificate: x509.Certificate
    agency_code: str

    @property
    def fingerprint(self) -> str:
        return self.certificate.fingerprint(hashes.SHA256()).hex()


@dataclass(frozen=True, slots=True)
class TrustList:
    """Seal keys by kid, the agencies' signing certificates and the document-signing roots."""

    seal_keys: tuple[SealKey, ...]
    document_roots: tuple[x509.Certificate, ...]
    signing_certificates: tuple[SigningCertificate, ...] = ()
    # kid -> key, computed once: every scanned seal looks its key up here
    _by_kid: dict[bytes, SealKey] = field(init=False, repr=False, compare=False, hash=False)
    _by_fingerprint: dict[str, SigningCertificate] = field(
        init=False, repr=False, compare=False, hash=False
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_kid", {key.kid: key for key in self.seal_keys})
        by_fingerprint = {c.fingerprint: c for c in self.signing_certificates}
        object.__setattr__(self, "_by_fingerprint", by_fingerprint)

    def seal_key(self, kid: bytes) -> SealKey | None:
        return self._by_kid.get(kid)

    def signing_certificate(self, fingerprint: str) -> SigningCertificate | None:
        """The agency certificate with this SHA-256 fingerprint (hex), if the list has it."""
        return self._by_fingerprint.get(fingerprint.lower())

    def with_signing_certificate(self, added: SigningCertificate) -> TrustList:
        kept = [c for c in self.signing_certificates if c.fingerprint != added.fingerprint]
        return TrustList(self.seal_keys, self.document_roots, (*kept, added))

    def to_json(self, *, issued_at: datetime | None = None) -> bytes:
        doc: dict[str, Any] = {
            "version": FORMAT_VERSION,
            "issued_at": (issued_at or datetime.now(UTC)).isoformat(timespec="seconds"),
            "seal_keys": [
                {
                    "kid": key.kid.hex(),
                    "agency_code": key.agency_code,
                    "status": key.status,
                    "algorithm": "ES256",
                    "valid_from": key.certificate.not_valid_before_utc.isoformat(),
                    "valid_to": key.certificate.not_valid_after_utc.isoformat(),
                    "public_key": key.public_key.public_bytes(
                        serialization.Encoding.PEM,
                        serialization.PublicFormat.SubjectPublicKeyInfo,
                    ).decode("ascii"),
                    "certificate": _pem(key.certificate),
                    **(
                        {"retired_at": key.retired_at.isoformat()}
                        if key.retired_at is not None
                        else {}
                    ),
                }
                for key in self.seal_keys
            ],
            "signing_certificates": [
                {
                    "agency_code": item.agency_code,
                    "subject": item.certificate.subject.rfc4514_string(),
                    "fingerprint_sha256": item.fingerprint,
                    "valid_from": item.certificate.not_valid_before_utc.isoformat(),
                    "valid_to": item.certificate.not_valid_after_utc.isoformat(),
                    "certificate": _pem(item.certificate),
                }
                for item in self.signing_certificates
            ],
            "document_roots": [
                {"subject": root.subject.rfc4514_string(), "certificate": _pem(root)}
                for root in self.document_roots
            ],
        }
        return json.dumps(doc, ensure_ascii=False, indent=2).encode("utf-8") + b"\n"

    @classmethod
    def from_json(cls, data: bytes) -> TrustList:
        try:
            doc = json.loads(data)
            if doc.get("version") != FORMAT_VERSION:
                raise ValueError(f"unsupported trust list version {doc.get('version')!r}")
            seal_keys = tuple(
                SealKey(
                    certificate=x509.load_pem_x509_certificate(item["certificate"].encode()),
                    agency_code=item["agency_code"],
                    status=item.get("status", "active"),
                    retired_at=(
                        datetime.fromisoformat(item["retired_at"])
                        if item.get("retired_at")
                        else None
                    ),
                )
                for item in doc["seal_keys"]
            )
            roots = tuple(
                x509.load_pem_x509_certificate(item["certificate"].encode())
                for item in doc["document_roots"]
            )
            # a list from before agencies' certificates were listed has none: a verifier
            # then calls no document an agency's (fails closed) and says why
            signing = tuple(
                SigningCertificate(
                    x509.load_pem_x509_certificate(item["certificate"].encode()),
                    item["agency_code"],
                )
                for item in doc.get("signing_certificates", [])
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise KeyMaterialError(f"trust list is not valid: {exc}") from exc
        return cls(seal_keys=seal_keys, document_roots=roots, signing_certificates=signing)

    @classmethod
    def load(cls, path: Path) -> TrustList:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise KeyMaterialError(f"cannot read trust list {path}: {exc.strerror}") from exc
        return cls.from_json(data)


def list_signing_certificate(
    path: Path, certificate: x509.Certificate, agency_code: str | None = None
) -> SigningCertificate:
    """Add an agency's signing certificate to the trust list at ``path`` (atomically).

    ``agency_code`` defaults to the agency of the list's active seal key, when
    there is exactly one.
    """
    from keys.keydir import write_public

    trust = TrustList.load(path)
    if agency_code is None:
        agencies = {k.agency_code for k in trust.seal_keys if k.status == "active"}
        if len(agencies) != 1:
            raise KeyMaterialError(
                "the trust list's active seal keys do not name one agency: say which",
                field="agency_code",
            )
        agency_code = agencies.pop()
    added = SigningCertificate(certificate, agency_code)
    write_public(path, trust.with_signing_certificate(added).to_json())
    return added


def _pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode("ascii")
