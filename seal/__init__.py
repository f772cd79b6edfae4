"""The QR seal: a small signed statement about a result document, printed as a QR.

A result PDF cannot carry the hash of its own final signed bytes, so its QR
carries a seal in the EU Digital COVID Certificate manner: CBOR claims
(:class:`SealClaims`: agency, dossier, result number, procedure, signing
time and a digest binding the document content; never personal data) in a
COSE_Sign1 signed with ECDSA P-256 (ES256), key id = the first 8 bytes of
SHA-256 of the seal certificate, shown as an upper-case URL
``HTTPS://HOST/V/<BASE32 SEAL>`` so the QR is alphanumeric and a phone camera
opens it directly.

A package of its own, below ``keys``, ``signer`` and ``verifier``, which all
use it without importing each other: it holds no key material, verifying
needs public keys only, and the one signing function, :func:`encode_seal`,
takes the key from its caller (the signer).
"""

from seal.claims import SealClaims
from seal.codec import (
    ALG_ES256,
    KID_LENGTH,
    KeyLookup,
    UnverifiedSeal,
    decode_seal,
    encode_seal,
    kid_for_certificate,
    verification_code,
    verify_seal,
)
from seal.errors import (
    BadSignature,
    MalformedSeal,
    SealError,
    UnknownKeyId,
    WrongAlgorithm,
)
from seal.url import QR_ALPHANUMERIC, QR_MASK, qr_modules, qr_version, seal_from_text, seal_to_url

__all__ = [
    "ALG_ES256",
    "KID_LENGTH",
    "QR_ALPHANUMERIC",
    "QR_MASK",
    "BadSignature",
    "KeyLookup",
    "MalformedSeal",
    "SealClaims",
    "SealError",
    "UnknownKeyId",
    "UnverifiedSeal",
    "WrongAlgorithm",
    "decode_seal",
    "encode_seal",
    "kid_for_certificate",
    "qr_modules",
    "qr_version",
    "seal_from_text",
    "seal_to_url",
    "verification_code",
    "verify_seal",
]
