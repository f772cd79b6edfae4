"""A signing key held in this process's memory, loaded from a PKCS#12 file.

pyHanko's stock ``SimpleSigner`` keeps the key as DER bytes and parses it
again for every raw signature (~36 ms for RSA-2048 measured here, twice per document).
``PreparedSigner`` parses once and keeps the ``cryptography`` key object.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from pyhanko.sign.general import get_pyca_cryptography_hash  # type: ignore[attr-defined]
from pyhanko.sign.signers import Signer
from pyhanko_certvalidator.registry import SimpleCertificateStore

from keys.cms_template import TemplateCmsMixin
from keys.errors import KeyMaterialError, PassphraseError

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


@dataclass(frozen=True, slots=True)
class KeyPair:
    """A private key, its certificate and the chain up to (and including) the root."""

    key: PrivateKey
    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...]


def load_pkcs12(path: Path, passphrase: bytes) -> KeyPair:
    """Open a PKCS#12 file; errors say which file and why, never the passphrase."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise KeyMaterialError(f"cannot read key file {path}: {exc.strerror}") from exc
    try:
        key, cert, extra = pkcs12.load_key_and_certificates(data, passphrase)
    except ValueError as exc:
        raise PassphraseError(f"cannot open {path}: wrong passphrase or not PKCS#12") from exc
    if key is None or cert is None:
        raise KeyMaterialError(f"{path} holds no private key with its certificate")
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise KeyMaterialError(f"{path}: only RSA and ECDSA keys are supported")
    if key.public_key() != cert.public_key():
        # signing would "work" and every signature would fail validation
        raise KeyMaterialError(f"{path}: the private key does not match its certificate")
    return KeyPair(key, cert, tuple(extra))


def to_asn1(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


class PreparedSigner(TemplateCmsMixin, Signer):
    """A pyHanko signer over a key parsed once per process."""

    def __init__(self, pair: KeyPair) -> None:
        key = pair.key
        if isinstance(key, rsa.RSAPrivateKey) and key.key_size < 2048:
            raise KeyMaterialError("RSA signing keys must have at least 2048 bits")
        if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.key_size < 256:
            raise KeyMaterialError("ECDSA signing keys must have at least 256 bits")
        super().__init__(
            signing_cert=to_asn1(pair.certificate),
            cert_registry=SimpleCertificateStore.from_certs([to_asn1(c) for c in pair.chain]),
            embed_roots=True,
        )
        self._key = key

    async def async_sign_raw(
        self, data: bytes, digest_algorithm: str, dry_run: bool = False
    ) -> bytes:
        algorithm = get_pyca_cryptography_hash(digest_algorithm)
        if isinstance(self._key, rsa.RSAPrivateKey):
            return self._key.sign(data, padding.PKCS1v15(), algorithm)
        return self._key.sign(data, ec.ECDSA(algorithm))
