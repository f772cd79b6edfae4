"""``ketqua keys init``: a development PKI that ``ketqua sign`` and ``serve`` use as is.

root CA (P-256) -> issuing CA (P-256) -> the agency's document-signing
certificate (RSA-2048, digitalSignature + nonRepudiation, no extended key
usage: poppler/NSS rejects a documentSigning-only EKU) and the QR seal
certificate (P-256). Private keys are written encrypted and 0600; the
``public/`` folder holds what a verifier may have.

A development PKI is for trying ketqua out and for tests; a real agency
imports its certificate from a licensed CA (PKCS#12 or a PKCS#11 token).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from keys.errors import KeyMaterialError
from keys.keydir import KeyDir, new_passphrase_file, read_passphrase, write_private, write_public
from keys.trust import SealKey, SigningCertificate, TrustList
from plumbing.secret import Secret
from plumbing.vietnam import agency_code_fault, normalised_code

DEFAULT_AGENCY_NAME = "Ủy ban nhân dân huyện Vân Đồn"
DEFAULT_AGENCY_CODE = "000.00.14.H49"

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


@dataclass(frozen=True, slots=True)
class Issued:
    """A certificate with its private key."""

    cert: x509.Certificate
    key: PrivateKey


@dataclass(frozen=True, slots=True)
class DevPki:
    """The four certificates of a development PKI."""

    root: Issued
    issuing: Issued
    signing: Issued
    seal: Issued
    agency_code: str

    def trust_list(self) -> TrustList:
        return TrustList(
            seal_keys=(SealKey(self.seal.cert, self.agency_code),),
            document_roots=(self.root.cert,),
            signing_certificates=(SigningCertificate(self.signing.cert, self.agency_code),),
        )


def _name(common_name: str, organization: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _issue(
    subject: x509.Name,
    key: PrivateKey,
    issuer: Issued | None,
    *,
    ca: bool,
    path_length: int | None,
    not_before: datetime,
    days: int,
    key_usage: dict[str, bool],
    ocsp_url: str | None = None,
    crl_url: str | None = None,
) -> Issued:
    signer_key = issuer.key if issuer else key
    issuer_name = issuer.cert.subject if issuer else subject
    public = key.public_key()
    usage = dict.fromkeys(
        (
            "digital_signature",
            "content_commitment",
            "key_encipherment",
            "data_encipherment",
            "key_agreement",
            "key_cert_sign",
            "crl_sign",
            "encipher_only",
            "decipher_only",
        ),
        False,
    )
    usage.update(key_usage)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_before + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=path_length), critical=True)
        .add_extension(x509.KeyUsage(**usage), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
    )
    if issuer is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()),
            critical=False,
        )
    if ocsp_url:
        builder = builder.add_extension(
            x509.AuthorityInformationAccess(
                [x509.AccessDescription(x509.OID_OCSP, x509.UniformResourceIdentifier(ocsp_url))]
            ),
            critical=False,
        )
    if crl_url:
        builder = builder.add_extension(
            x509.CRLDistributionPoints(
                [
                    x509.DistributionPoint(
                        full_name=[x509.UniformResourceIdentifier(crl_url)],
                        relative_name=None,
                        reasons=None,
                        crl_issuer=None,
                    )
                ]
            ),
            critical=False,
        )
    cert = builder.sign(signer_key, hashes.SHA256())
    return Issued(cert, key)


def issue_document_signing(
    issuer: Issued,
    key: PrivateKey,
    *,
    common_name: str,
    organization: str,
    now: datetime | None = None,
    days: int = 3 * 365,
    ocsp_url: str | None = None,
    crl_url: str | None = None,
) -> Issued:
    """A document-signing certificate for ``key`` from ``issuer``, as ``keys init`` makes it.

    Key usage digitalSignature + nonRepudiation and no extended key usage
    (poppler/NSS rejects a documentSigning-only EKU).
    """
    start = (now or datetime.now(UTC)).replace(microsecond=0) - timedelta(hours=1)
    return _issue(
        _name(common_name, organization),
        key,
        issuer,
        ca=False,
        path_length=None,
        not_before=start,
        days=days,
        key_usage={"digital_signature": True, "content_commitment": True},
        ocsp_url=ocsp_url,
        crl_url=crl_url,
    )


def generate(
    *,
    agency_name: str = DEFAULT_AGENCY_NAME,
    agency_code: str = DEFAULT_AGENCY_CODE,
    now: datetime | None = None,
    ocsp_url: str | None = None,
    crl_url: str | None = None,
) -> DevPki:
    """Create the four certificates in memory (``now`` makes tests repeatable)."""
    start = (now or datetime.now(UTC)).replace(microsecond=0) - timedelta(hours=1)
    org = f"{agency_name} (development)"
    ca_usage = {"digital_signature": True, "key_cert_sign": True, "crl_sign": True}
    root = _issue(
        _name("ketqua Development Root CA", org),
        ec.generate_private_key(ec.SECP256R1()),
        None,
        ca=True,
        path_length=None,
        not_before=start,
        days=20 * 365,
        key_usage=ca_usage,
    )
    issuing = _issue(
        _name("ketqua Development Issuing CA", org),
        ec.generate_private_key(ec.SECP256R1()),
        root,
        ca=True,
        path_length=0,
        not_before=start,
        days=10 * 365,
        key_usage=ca_usage,
    )
    signing = issue_document_signing(
        issuing,
        rsa.generate_private_key(public_exponent=65537, key_size=2048),
        common_name=agency_name,
        organization=agency_name,
        now=now,
        ocsp_url=ocsp_url,
        crl_url=crl_url,
    )
    seal = _issue(
        _name(f"{agency_name} QR seal", agency_name),
        ec.generate_private_key(ec.SECP256R1()),
        issuing,
        ca=False,
        path_length=None,
        not_before=start,
        days=3 * 365,
        key_usage={"digital_signature": True},
    )
    return DevPki(root, issuing, signing, seal, agency_code)


def write(pki: DevPki, keydir: KeyDir, passphrase: bytes) -> None:
    """Write the PKI into ``keydir``: encrypted private keys 0600, public material 0644."""
    keydir.root.mkdir(parents=True, exist_ok=True)
    keydir.root.chmod(0o700)
    keydir.public.mkdir(exist_ok=True)
    encryption = serialization.BestAvailableEncryption(passphrase)
    chain = [pki.issuing.cert, pki.root.cert]
    for issued, path, name in (
        (pki.signing, keydir.signing_p12, b"signing"),
        (pki.seal, keydir.seal_p12, b"seal"),
    ):
        write_private(
            path,
            pkcs12.serialize_key_and_certificates(
                name, issued.key, issued.cert, chain, encryption
            ),
        )
    for issued, path in ((pki.root, keydir.root_ca_key), (pki.issuing, keydir.issuing_ca_key)):
        write_private(
            path,
            issued.key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
            ),
        )
    for cert, path in (
        (pki.root.cert, keydir.root_ca_cert),
        (pki.issuing.cert, keydir.issuing_ca_cert),
        (pki.signing.cert, keydir.signing_cert),
        (pki.seal.cert, keydir.seal_cert),
    ):
        write_public(path, cert.public_bytes(serialization.Encoding.PEM))
    write_public(keydir.trust_list, pki.trust_list().to_json())


def init_keydir(
    root: Path,
    *,
    agency_name: str = DEFAULT_AGENCY_NAME,
    agency_code: str = DEFAULT_AGENCY_CODE,
    passphrase_file: Path | None = None,
    passphrase: Secret | None = None,
    ocsp_url: str | None = None,
    crl_url: str | None = None,
    force: bool = False,
    now: datetime | None = None,
) -> KeyDir:
    """``ketqua keys init``: refuses to overwrite existing keys unless ``force``.

    With no passphrase given (a file or a value) a random one is written to
    ``passphrase`` (0600) beside the keys.
    """
    agency_code = normalised_code(agency_code)
    if (fault := agency_code_fault(agency_code)) is not None:
        # it goes into the public trust list: a code, never free text
        raise KeyMaterialError(f"agency code {agency_code!r} {fault}")
    if not agency_name.strip():
        raise KeyMaterialError("the agency name is empty")
    keydir = KeyDir(root)
    existing = [
        path
        for path in (
            keydir.signing_p12,
            keydir.seal_p12,
            keydir.root_ca_key,
            keydir.issuing_ca_key,
        )
        if path.exists()
    ]
    if existing and not force:
        raise KeyMaterialError(
            f"{existing[0]} exists: keys are replaced only when asked to", field="force"
        )
    given = None
    if passphrase_file is not None or passphrase is not None:
        # a bad file fails before any folder is made
        given = read_passphrase(None, passphrase_file, passphrase)
    root.mkdir(parents=True, exist_ok=True)
    if given is not None:
        secret = given
        # the keys are encrypted with the given passphrase: a generated one left from
        # an earlier init would be read first by `sign` and fail as "wrong passphrase"
        keydir.passphrase_file.unlink(missing_ok=True)
    elif keydir.passphrase_file.exists():
        secret = read_passphrase(keydir)
    else:
        secret = new_passphrase_file(keydir.passphrase_file)
    pki = generate(
        agency_name=agency_name,
        agency_code=agency_code,
        now=now,
        ocsp_url=ocsp_url,
        crl_url=crl_url,
    )
    write(pki, keydir, secret)
    return keydir
