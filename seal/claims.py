"""The claims a QR seal carries: the result's key visible fields and a content digest.

Anyone can decode a QR, so the claims hold no personal data: codes, a number,
a time, a digest and a length. In CBOR they are a map with small integer keys
(1..7) to keep the QR small.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from seal.errors import MalformedSeal

__all__ = ["CLAIM_KEYS", "DOC_DIGEST_LENGTH", "MAX_CODE_LENGTH", "SealClaims"]

#: Length of ``doc_digest``: the first 16 bytes of a SHA-256 digest.
DOC_DIGEST_LENGTH = 16

#: Longest agency, dossier or procedure code accepted. Real ones are shorter
#: (``000.00.14.H49-220301-0012`` is 25); with all three at 32 characters and
#: every number at its maximum, the seal URL still fits QR version 16 at level Q.
MAX_CODE_LENGTH = 32

#: The CBOR map key of each claim.
CLAIM_KEYS: Mapping[str, int] = {
    "agency_code": 1,
    "dossier_code": 2,
    "result_no": 3,
    "procedure_code": 4,
    "signed_at": 5,
    "doc_digest": 6,
    "doc_length": 7,
}

_T = TypeVar("_T")
_MAX_UINT = 2**64 - 1
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MAX_EPOCH_SECONDS = (datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC) - _EPOCH) // timedelta(
    seconds=1
)


def _check_code(name: str, value: object) -> None:
    if not isinstance(value, str):
        raise ValueError(f"{name} must be a string, not {type(value).__name__}")
    if not value:
        raise ValueError(f"{name} must not be empty")
    if len(value) > MAX_CODE_LENGTH:
        raise ValueError(f"{name} is {len(value)} characters, at most {MAX_CODE_LENGTH}")
    # Codes are ASCII (Circular 01/2018/TT-VPCP); this also keeps names and
    # other personal text, which need Vietnamese letters or spaces, out.
    if not all("!" <= ch <= "~" for ch in value):
        raise ValueError(f"{name} must be printable ASCII without spaces: {value!r}")


def _check_count(name: str, value: object) -> None:
    if type(value) is not int:
        raise ValueError(f"{name} must be an integer, not {type(value).__name__}")
    if not 1 <= value <= _MAX_UINT:
        raise ValueError(f"{name} must be between 1 and 2**64 - 1, not {value}")


@dataclass(frozen=True, slots=True)
class SealClaims:
    """What a seal asserts about one signed result document.

    ``signed_at`` must be timezone-aware; it is normalised to UTC and whole
    seconds (the seal carries integer epoch seconds). ``doc_digest`` is the
    first 16 bytes of the SHA-256 of the document content the signer binds,
    ``doc_length`` that content's length in bytes.
    """

    agency_code: str
    dossier_code: str
    result_no: int
    procedure_code: str
    signed_at: datetime
    doc_digest: bytes
    doc_length: int

    def __post_init__(self) -> None:
        _check_code("agency_code", self.agency_code)
        _check_code("dossier_code", self.dossier_code)
        _check_count("result_no", self.result_no)
        _check_code("procedure_code", self.procedure_code)
        if not isinstance(self.signed_at, datetime):
            raise ValueError(f"signed_at must be a datetime, not {type(self.signed_at).__name__}")
        if self.signed_at.tzinfo is None or self.signed_at.utcoffset() is None:
            raise ValueError("signed_at must be timezone-aware")
        signed_at = self.signed_at.astimezone(UTC).replace(microsecond=0)
        if signed_at < _EPOCH:
            raise ValueError(f"signed_at must not be before 1970: {self.signed_at.isoformat()}")
        object.__setattr__(self, "signed_at", signed_at)
        if type(self.doc_digest) is not bytes:
            raise ValueError(f"doc_digest must be bytes, not {type(self.doc_digest).__name__}")
        if len(self.doc_digest) != DOC_DIGEST_LENGTH:
            raise ValueError(
                f"doc_digest must be {DOC_DIGEST_LENGTH} bytes, not {len(self.doc_digest)}"
            )
        _check_count("doc_length", self.doc_length)

    @staticmethod
    def content_digest(content: bytes) -> bytes:
        """What ``doc_digest`` holds for ``content``: SHA-256, first 16 bytes."""
        return hashlib.sha256(content).digest()[:DOC_DIGEST_LENGTH]

    def binds(self, pdf: bytes) -> bool:
        """Whether this seal was made for ``pdf``.

        The signer binds the document as submitted, before its own signature,
        which is an incremental update: those bytes are the first
        ``doc_length`` bytes of the signed file. (That the signature then
        covers the rest of the file is the PAdES validator's part.)
        """
        if len(pdf) < self.doc_length:
            return False
        return hmac.compare_digest(self.content_digest(pdf[: self.doc_length]), self.doc_digest)

    @property
    def signed_at_epoch(self) -> int:
        """``signed_at`` as integer seconds since 1970-01-01T00:00:00Z."""
        return (self.signed_at - _EPOCH) // timedelta(seconds=1)

    def to_cbor_map(self) -> dict[int, object]:
        """The claims as the CBOR map the seal's payload encodes (keys 1..7)."""
        return {
            1: self.agency_code,
            2: self.dossier_code,
            3: self.result_no,
            4: self.procedure_code,
            5: self.signed_at_epoch,
            6: self.doc_digest,
            7: self.doc_length,
        }

    @classmethod
    def from_cbor_map(cls, m: object) -> SealClaims:
        """Read claims from a decoded CBOR map; anything off raises :class:`MalformedSeal`.

        The map must have exactly the keys 1..7, each with the right CBOR type
        (text, unsigned integer or byte string); the values must then satisfy
        the invariants of :class:`SealClaims`.
        """
        if not isinstance(m, Mapping):
            raise MalformedSeal(f"claims must be a CBOR map, not {type(m).__name__}")
        for key in m:
            # bool is an int subclass and True == 1: insist on real integers.
            if type(key) is not int or key not in _NAMES:
                raise MalformedSeal(f"unknown claim key {key!r}")
        for name, key in CLAIM_KEYS.items():
            if key not in m:
                raise MalformedSeal(f"claim {name} (key {key}) is missing")
        seconds = _get(m, "signed_at", int)
        if not 0 <= seconds <= _MAX_EPOCH_SECONDS:
            raise MalformedSeal(f"claim signed_at (key 5) is out of range: {seconds}")
        try:
            return cls(
                agency_code=_get(m, "agency_code", str),
                dossier_code=_get(m, "dossier_code", str),
                result_no=_get(m, "result_no", int),
                procedure_code=_get(m, "procedure_code", str),
                signed_at=_EPOCH + timedelta(seconds=seconds),
                doc_digest=_get(m, "doc_digest", bytes),
                doc_length=_get(m, "doc_length", int),
            )
        except ValueError as exc:
            raise MalformedSeal(f"invalid claim: {exc}") from None


_NAMES: Mapping[int, str] = {key: name for name, key in CLAIM_KEYS.items()}
_TYPE_NAMES: Mapping[type, str] = {
    str: "a text string",
    int: "an integer",
    bytes: "a byte string",
}


def _get(m: Mapping[object, object], name: str, expected: type[_T]) -> _T:
    key = CLAIM_KEYS[name]
    if key not in m:
        raise MalformedSeal(f"claim {name} (key {key}) is missing")
    value = m[key]
    # Exact types: bool is an int subclass, and cbor2 has no other subclasses to offer.
    if type(value) is not expected:
        raise MalformedSeal(
            f"claim {name} (key {key}) must be {_TYPE_NAMES[expected]}, not {type(value).__name__}"
        )
    assert isinstance(value, expected)
    return value
