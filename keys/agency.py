"""An agency's signing material, loaded once per process: the PAdES signer and the seal key."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pyhanko.sign.signers import Signer

from keys.errors import KeyMaterialError
from keys.keydir import KeyDir, read_passphrase
from keys.local import PreparedSigner, load_pkcs12
from keys.token import TokenSigner, TokenSpec, open_token
from verifier.seal import kid_for_certificate


@dataclass(frozen=True, slots=True)
class SealSigningKey:
    """The ECDSA P-256 key that signs QR seals, with its certificate."""

    key: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate

    def __post_init__(self) -> None:
        if self.key.curve.name != "secp256r1":
            raise KeyMaterialError("the QR seal key must be ECDSA P-256")

    @property
    def kid(self) -> bytes:
        return kid_for_certificate(self.certificate)


@dataclass(frozen=True, slots=True)
class AgencyKeys:
    """What signing one result needs: the document signer, its certificate, the seal key."""

    document_signer: Signer
    signing_certificate: x509.Certificate
    seal: SealSigningKey
    trust_roots: tuple[x509.Certificate, ...]
    token: TokenSigner | None = None

    @property
    def signer_name(self) -> str:
        names = self.signing_certificate.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
        value = names[0].value if names else self.signing_certificate.subject.rfc4514_string()
        return value if isinstance(value, str) else value.decode("utf-8")

    def close(self) -> None:
        if self.token is not None:
            self.token.close()


def load_agency_keys(
    root: Path, *, passphrase_file: Path | None = None, token: TokenSpec | None = None
) -> AgencyKeys:
    """Load from a key folder (``ketqua keys init`` layout); the document key may be on a token."""
    keydir = KeyDir(root)
    if not root.exists():
        raise KeyMaterialError(f"key folder {root} does not exist (run: ketqua keys init)")
    if not root.is_dir():
        raise KeyMaterialError(f"{root} is not a key folder (give the folder, not a file)")
    if not keydir.seal_p12.exists():
        raise KeyMaterialError(f"no keys in {root}: {keydir.seal_p12.name} is missing")
    passphrase = read_passphrase(keydir, passphrase_file)
    seal_pair = load_pkcs12(keydir.seal_p12, passphrase)
    if not isinstance(seal_pair.key, ec.EllipticCurvePrivateKey):
        raise KeyMaterialError(f"{keydir.seal_p12}: the QR seal key must be ECDSA P-256")
    seal = SealSigningKey(seal_pair.key, seal_pair.certificate)
    roots = tuple(c for c in seal_pair.chain if c.subject == c.issuer)
    if token is None:
        pair = load_pkcs12(keydir.signing_p12, passphrase)
        roots = roots or tuple(c for c in pair.chain if c.subject == c.issuer)
        return AgencyKeys(PreparedSigner(pair), pair.certificate, seal, roots)
    chain = _public_chain(keydir)
    opened = open_token(token, chain)
    return AgencyKeys(opened.signer, opened.certificate, seal, roots, opened)


def _public_chain(keydir: KeyDir) -> tuple[x509.Certificate, ...]:
    out = []
    for path in (keydir.issuing_ca_cert, keydir.root_ca_cert):
        if path.exists():
            out.append(x509.load_pem_x509_certificate(path.read_bytes()))
    return tuple(out)


def certificate_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)
