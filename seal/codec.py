"""COSE_Sign1 (RFC 9052) with ES256, by hand over cbor2 and cryptography.

The seal needs one message type (Sign1) and one algorithm (ES256), so it is
written out here rather than taken from a general COSE library; pycose checks
it independently in the tests. The encoding is fixed and canonical::

    18([ h'A10126',          / protected: {1: -7}, alg ES256 /
         {4: h'<kid, 8 bytes>'},
         h'<claims map>',    / payload: SealClaims.to_cbor_map() /
         h'<r || s, 64 bytes>' ])

The signature is over the Sig_structure ``["Signature1", protected, h'', payload]``.
Decoding is strict: anything but this exact shape, in canonical CBOR, is a
:class:`MalformedSeal`.
"""

from __future__ import annotations

import base64
import hashlib
import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import cbor2
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from seal.claims import SealClaims
from seal.errors import BadSignature, MalformedSeal, UnknownKeyId, WrongAlgorithm

__all__ = [
    "ALG_ES256",
    "COSE_SIGN1_TAG",
    "KID_LENGTH",
    "MAX_SEAL_LENGTH",
    "KeyLookup",
    "UnverifiedSeal",
    "decode_seal",
    "encode_seal",
    "kid_for_certificate",
    "verification_code",
    "verify_seal",
]

#: CBOR tag of a COSE_Sign1 message.
COSE_SIGN1_TAG = 18
#: COSE algorithm identifier of ECDSA P-256 with SHA-256.
ALG_ES256 = -7
#: Length of a key id: the first bytes of the SHA-256 of the seal certificate's DER.
KID_LENGTH = 8
#: Longest seal accepted; a real one is under 300 bytes.
MAX_SEAL_LENGTH = 1024

_HEADER_ALG = 1
_HEADER_KID = 4
_P256_COORDINATE = 32
_ES256_SIGNATURE_LENGTH = 2 * _P256_COORDINATE

#: Where the verifier finds the public key for a key id: a mapping or a function.
KeyLookup = (
    Callable[[bytes], ec.EllipticCurvePublicKey | None] | Mapping[bytes, ec.EllipticCurvePublicKey]
)


@dataclass(frozen=True, slots=True)
class UnverifiedSeal:
    """A seal taken apart but not verified: nothing in it may be trusted yet."""

    kid: bytes
    alg: int
    protected: bytes
    payload: bytes
    signature: bytes
    claims: SealClaims

    @property
    def to_be_signed(self) -> bytes:
        """The Sig_structure the signature covers."""
        return _sig_structure(self.protected, self.payload)


def kid_for_certificate(cert: x509.Certificate) -> bytes:
    """The seal key id of a certificate: the first 8 bytes of SHA-256 of its DER."""
    der = cert.public_bytes(serialization.Encoding.DER)
    return hashlib.sha256(der).digest()[:KID_LENGTH]


def encode_seal(claims: SealClaims, key: ec.EllipticCurvePrivateKey, kid: bytes) -> bytes:
    """Sign ``claims`` with the P-256 ``key`` into a tagged COSE_Sign1 seal naming ``kid``."""
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise ValueError("the seal key must be an ECDSA P-256 private key (ES256)")
    if type(kid) is not bytes or len(kid) != KID_LENGTH:
        raise ValueError(f"the seal key id must be {KID_LENGTH} bytes")
    protected = _encode({_HEADER_ALG: ALG_ES256})
    payload = _encode(claims.to_cbor_map())
    der = key.sign(_sig_structure(protected, payload), ec.ECDSA(hashes.SHA256()))
    r, s = decode_dss_signature(der)
    signature = r.to_bytes(_P256_COORDINATE, "big") + s.to_bytes(_P256_COORDINATE, "big")
    return _encode_sign1(protected, kid, payload, signature)


def decode_seal(data: bytes) -> UnverifiedSeal:
    """Take a seal apart without verifying it; anything off raises :class:`MalformedSeal`."""
    data = bytes(data)
    if not data:
        raise MalformedSeal("the seal is empty")
    if len(data) > MAX_SEAL_LENGTH:
        raise MalformedSeal(f"the seal is {len(data)} bytes, more than {MAX_SEAL_LENGTH}")

    stream = io.BytesIO(data)
    try:
        top = cbor2.CBORDecoder(
            stream, max_depth=4, allow_indefinite=False, allow_duplicate_keys=False
        ).decode()
    except (cbor2.CBORDecodeError, ValueError, OverflowError) as exc:
        raise MalformedSeal(f"not CBOR: {_one_line(exc)}") from None
    if stream.tell() != len(data):
        raise MalformedSeal(f"{len(data) - stream.tell()} trailing bytes after the COSE_Sign1")
    if not isinstance(top, cbor2.CBORTag):
        raise MalformedSeal(f"not tagged as COSE_Sign1 (CBOR tag {COSE_SIGN1_TAG})")
    if top.tag != COSE_SIGN1_TAG:
        raise MalformedSeal(f"CBOR tag {top.tag}, expected {COSE_SIGN1_TAG} (COSE_Sign1)")
    message = top.value
    if not isinstance(message, list | tuple):
        raise MalformedSeal(f"COSE_Sign1 must be an array, not {_cbor_type(message)}")
    if len(message) != 4:
        raise MalformedSeal(f"COSE_Sign1 array has {len(message)} elements, expected 4")
    protected, unprotected, payload, signature = message
    if type(protected) is not bytes:
        raise MalformedSeal(f"protected header must be a byte string, not {_cbor_type(protected)}")
    if not isinstance(unprotected, Mapping):
        raise MalformedSeal(f"unprotected header must be a map, not {_cbor_type(unprotected)}")
    if type(payload) is not bytes:
        raise MalformedSeal(
            f"payload must be a byte string, not {_cbor_type(payload)}"
            + (" (detached payloads are not supported)" if payload is None else "")
        )
    if type(signature) is not bytes:
        raise MalformedSeal(f"signature must be a byte string, not {_cbor_type(signature)}")

    alg = _decode_protected(protected)
    kid = _decode_unprotected(unprotected)
    if alg == ALG_ES256 and len(signature) != _ES256_SIGNATURE_LENGTH:
        raise MalformedSeal(
            f"ES256 signature is {len(signature)} bytes, expected {_ES256_SIGNATURE_LENGTH}"
        )
    claims = _decode_payload(payload)
    if _encode_sign1(protected, kid, payload, signature) != data:
        raise MalformedSeal("COSE_Sign1 is not in canonical CBOR (non-minimal lengths)")
    return UnverifiedSeal(
        kid=kid,
        alg=alg,
        protected=protected,
        payload=payload,
        signature=signature,
        claims=claims,
    )


def verify_seal(data: bytes, keys: KeyLookup) -> SealClaims:
    """Verify a seal and return its claims.

    ``keys`` maps a key id to the trusted P-256 public key (a mapping, or a
    function returning ``None`` for an unknown id). Raises
    :class:`MalformedSeal`, :class:`WrongAlgorithm`, :class:`UnknownKeyId` or
    :class:`BadSignature`; claims are returned only once the signature verifies.
    """
    seal = decode_seal(data)
    if seal.alg != ALG_ES256:
        raise WrongAlgorithm(seal.alg)
    key = keys.get(seal.kid) if isinstance(keys, Mapping) else keys(seal.kid)
    if key is None:
        raise UnknownKeyId(seal.kid)
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        raise BadSignature(
            f"the trusted key for QR seal key id {seal.kid.hex()} is not a P-256 key, "
            "so no ES256 signature can verify under it"
        )
    r = int.from_bytes(seal.signature[:_P256_COORDINATE], "big")
    s = int.from_bytes(seal.signature[_P256_COORDINATE:], "big")
    try:
        key.verify(encode_dss_signature(r, s), seal.to_be_signed, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise BadSignature() from None
    return seal.claims


def verification_code(seal: bytes) -> str:
    """A short code a person can type to look a seal up: ``XXXXX-XXXXX`` (base32 of SHA-256)."""
    code = base64.b32encode(hashlib.sha256(seal).digest()).decode("ascii")[:10]
    return f"{code[:5]}-{code[5:]}"


def _encode(obj: object) -> bytes:
    return cbor2.dumps(obj, canonical=True)


def _encode_sign1(protected: bytes, kid: bytes, payload: bytes, signature: bytes) -> bytes:
    return _encode(
        cbor2.CBORTag(COSE_SIGN1_TAG, [protected, {_HEADER_KID: kid}, payload, signature])
    )


def _sig_structure(protected: bytes, payload: bytes) -> bytes:
    return _encode(["Signature1", protected, b"", payload])


def _decode_protected(protected: bytes) -> int:
    if not protected:
        raise MalformedSeal("protected header is empty: alg (1) is missing")
    try:
        header = cbor2.loads(
            protected, max_depth=2, allow_indefinite=False, allow_duplicate_keys=False
        )
    except (cbor2.CBORDecodeError, ValueError, OverflowError) as exc:
        raise MalformedSeal(f"protected header is not CBOR: {_one_line(exc)}") from None
    if not isinstance(header, Mapping):
        raise MalformedSeal(f"protected header must be a map, not {_cbor_type(header)}")
    _only_key(header, _HEADER_ALG, "protected header", "alg")
    alg = header[_HEADER_ALG]
    if type(alg) is not int:
        raise MalformedSeal(f"alg (1) must be an integer, not {_cbor_type(alg)}")
    if _encode({_HEADER_ALG: alg}) != protected:
        raise MalformedSeal("protected header is not in canonical CBOR")
    return alg


def _decode_unprotected(unprotected: Mapping[object, object]) -> bytes:
    _only_key(unprotected, _HEADER_KID, "unprotected header", "kid")
    kid = unprotected[_HEADER_KID]
    if type(kid) is not bytes:
        raise MalformedSeal(f"kid (4) must be a byte string, not {_cbor_type(kid)}")
    if len(kid) != KID_LENGTH:
        raise MalformedSeal(f"kid (4) is {len(kid)} bytes, expected {KID_LENGTH}")
    return kid


def _decode_payload(payload: bytes) -> SealClaims:
    try:
        claims_map = cbor2.loads(
            payload, max_depth=2, allow_indefinite=False, allow_duplicate_keys=False
        )
    except (cbor2.CBORDecodeError, ValueError, OverflowError) as exc:
        raise MalformedSeal(f"payload is not CBOR: {_one_line(exc)}") from None
    claims = SealClaims.from_cbor_map(claims_map)
    if _encode(claims.to_cbor_map()) != payload:
        raise MalformedSeal("payload is not the canonical CBOR encoding of its claims")
    return claims


def _only_key(header: Mapping[object, object], key: int, where: str, name: str) -> None:
    # type() rather than ==: True == 1 would otherwise pass for the alg label.
    others = [k for k in header if type(k) is not int or k != key]
    if others:
        raise MalformedSeal(f"{where} has unsupported parameter(s): {others!r}")
    if key not in header:
        raise MalformedSeal(f"{where} lacks {name} ({key})")


def _cbor_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, bytes):
        return "a byte string"
    if isinstance(value, str):
        return "a text string"
    if isinstance(value, list | tuple):
        return "an array"
    if isinstance(value, Mapping):
        return "a map"
    if isinstance(value, cbor2.CBORTag):
        return f"tag {value.tag}"
    return type(value).__name__


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
