"""The trust list: the public material an offline or online verifier needs.

Two kinds of anchor: the QR seal keys (by kid, with their status, so that a
retired key keeps verifying old seals and a compromised one is refused) and
the roots of the document-signing (PAdES) certificates.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from cryptography import x509
from cryptography.hazmat.primitives import serialization
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

    def __post_init__(self) -> None:
        if self.status not in _STATUSES:
            raise ValueError(f"seal key status must be one of {_STATUSES}")
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


@dataclass(frozen=True, slots=True)
class TrustList:
    """Seal keys by kid and the document-signing roots."""

    seal_keys: tuple[SealKey, ...]
    document_roots: tuple[x509.Certificate, ...]
    # kid -> key, computed once: every scanned seal looks its key up here
    _by_kid: dict[bytes, SealKey] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_kid", {key.kid: key for key in self.seal_keys})

    def seal_key(self, kid: bytes) -> SealKey | None:
        return self._by_kid.get(kid)

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
                }
                for key in self.seal_keys
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
                )
                for item in doc["seal_keys"]
            )
            roots = tuple(
                x509.load_pem_x509_certificate(item["certificate"].encode())
                for item in doc["document_roots"]
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise KeyMaterialError(f"trust list is not valid: {exc}") from exc
        return cls(seal_keys=seal_keys, document_roots=roots)

    @classmethod
    def load(cls, path: Path) -> TrustList:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise KeyMaterialError(f"cannot read trust list {path}: {exc.strerror}") from exc
        return cls.from_json(data)


def _pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode("ascii")
