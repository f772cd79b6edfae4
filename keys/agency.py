"""An agency's signing material, loaded once per process: the PAdES signer and the seal key."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from pyhanko.sign.signers import Signer

from keys.errors import KeyMaterialError, PassphraseError
from keys.keydir import KeyDir, passphrase_source, read_passphrase
from keys.local import PreparedSigner, load_pkcs12
from keys.token import TokenSigner, TokenSpec, open_token
from keys.trust import TrustList
from plumbing.secret import Secret
from seal import kid_for_certificate


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
    agency_code: str  # what the trust list says the seal key signs for
    trust_roots: tuple[x509.Certificate, ...]  # roots of the signing certificate's chain
    token: TokenSigner | None = None
    # the signing certificate is in the trust list: offline verifiers accept its documents
    listed: bool = False

    @property
    def signer_name(self) -> str:
        names = self.signing_certificate.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
        value = names[0].value if names else self.signing_certificate.subject.rfc4514_string()
        return value if isinstance(value, str) else value.decode("utf-8")

    def close(self) -> None:
        if self.token is not None:
            self.token.close()


def load_agency_keys(
    root: Path,
    *,
    passphrase_file: Path | None = None,
    passphrase: Secret | None = None,
    token: TokenSpec | None = None,
) -> AgencyKeys:
    """Load from a key folder (``ketqua keys init`` layout); the document key may be on a token."""
    keydir = KeyDir(root)
    if not root.exists():
        raise KeyMaterialError(f"key folder {root} does not exist (run: ketqua keys init)")
    if not root.is_dir():
        raise KeyMaterialError(f"{root} is not a key folder (give the folder, not a file)")
    if not keydir.seal_p12.exists():
        raise KeyMaterialError(f"no keys in {root}: {keydir.seal_p12.name} is missing")
    secret = read_passphrase(keydir, passphrase_file, passphrase)
    try:
        seal_pair = load_pkcs12(keydir.seal_p12, secret)
    except PassphraseError as exc:
        # a stale passphrase in the environment beside a good passphrase file is an easy mistake
        source = passphrase_source(keydir, passphrase_file, passphrase)
        raise PassphraseError(f"{exc} (the passphrase came from {source})") from exc
    if not isinstance(seal_pair.key, ec.EllipticCurvePrivateKey):
        raise KeyMaterialError(f"{keydir.seal_p12}: the QR seal key must be ECDSA P-256")
    seal = SealSigningKey(seal_pair.key, seal_pair.certificate)
    trust = _trust_list(keydir)
    listed = trust.seal_key(seal.kid)
    if listed is None or listed.status != "active":
        state = "not listed" if listed is None else listed.status
        raise KeyMaterialError(
            f"the QR seal key in {keydir.seal_p12.name} is {state} in {keydir.trust_list}: "
            "verifiers would not accept its seals"
        )
    public_chain = _public_chain(keydir)
    if token is None:
        pair = load_pkcs12(keydir.signing_p12, secret)
        roots = _roots((*pair.chain, *public_chain, *trust.document_roots))
        return AgencyKeys(
            PreparedSigner(pair),
            pair.certificate,
            seal,
            listed.agency_code,
            roots,
            listed=_is_listed(trust, pair.certificate),
        )
    opened = open_token(token, public_chain)
    roots = _roots((*public_chain, *trust.document_roots))
    return AgencyKeys(
        opened.signer,
        opened.certificate,
        seal,
        listed.agency_code,
        roots,
        opened,
        listed=_is_listed(trust, opened.certificate),
    )


def _is_listed(trust: TrustList, certificate: x509.Certificate) -> bool:
    return trust.signing_certificate(certificate.fingerprint(hashes.SHA256()).hex()) is not None


def _roots(certs: Iterable[x509.Certificate]) -> tuple[x509.Certificate, ...]:
    """The self-signed ones (signing chain, ``public/``, trust list), each once."""
    found: dict[bytes, x509.Certificate] = {}
    for cert in certs:
        if cert.subject == cert.issuer:
            found.setdefault(cert.fingerprint(hashes.SHA256()), cert)
    return tuple(found.values())


def _trust_list(keydir: KeyDir) -> TrustList:
    if not keydir.trust_list.exists():
        raise KeyMaterialError(
            f"{keydir.trust_list} is missing: it says which agency the seal key signs for"
        )
    return TrustList.load(keydir.trust_list)


def _public_chain(keydir: KeyDir) -> tuple[x509.Certificate, ...]:
    out = []
    for path in (keydir.issuing_ca_cert, keydir.root_ca_cert):
        if path.exists():
            out.append(x509.load_pem_x509_certificate(path.read_bytes()))
    return tuple(out)
