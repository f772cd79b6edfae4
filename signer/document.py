"""Sign one result: vet the PDF, build the QR seal, stamp and PAdES-sign, in one call.

What binds the seal to the document: the seal's ``doc_digest`` is the first
16 bytes of SHA-256 over the input PDF exactly as received, and
``doc_length`` its length. The agency's signature is an incremental update,
so those bytes are the prefix of the signed file: a verifier holding the PDF
hashes ``pdf[:doc_length]`` and compares.
"""

from __future__ import annotations

import functools
import hashlib
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime

from cryptography.hazmat.primitives.asymmetric import ec

from keys.agency import AgencyKeys
from plumbing.errors import InputError
from plumbing.terms import COPY_FORMS
from plumbing.vietnam import VIETNAM_TIME
from seal import SealClaims, encode_seal, seal_to_url, verification_code
from seal.claims import DOC_DIGEST_LENGTH
from signer.errors import MetadataError, RevocationUnavailable
from signer.metadata import ResultMetadata
from signer.pades import (
    Network,
    PadesLevel,
    apply_signature,
    certificate_fingerprint,
    choose_level,
)
from signer.pdfinput import DEFAULT_MAX_BYTES, VettedPdf, open_vetted, vet_pdf
from signer.placement import Placement
from signer.stamp.appearance import ResultStampStyle, StampContent
from signer.stamp.qr import make_qr

log = logging.getLogger(__name__)

DEFAULT_PUBLIC_URL = "http://127.0.0.1:8080"


@dataclass(frozen=True, slots=True)
class SignOptions:
    """How to sign; the same for every document of a run."""

    level: PadesLevel | None = None  # None: choose_level(), falling back from B-LT to B-T
    public_url: str = DEFAULT_PUBLIC_URL
    placement: Placement = field(default_factory=Placement)
    max_bytes: int = DEFAULT_MAX_BYTES

    def __post_init__(self) -> None:
        # checked once, up front: the longest seal valid metadata can produce must fit
        # a printable QR under this URL, or every document of a batch would fail
        try:
            url = seal_to_url(_longest_seal(), self.public_url)
        except ValueError as exc:
            raise InputError(f"{exc}", field="public_url") from None
        try:
            make_qr(url)
        except ValueError:
            raise InputError(
                f"{self.public_url!r} is too long: with the longest seal the QR would be "
                "denser than version 16, too fine to scan from paper; use a shorter base URL",
                field="public_url",
            ) from None


@functools.cache
def _longest_seal() -> bytes:
    """A seal as long as valid metadata allows (longest codes, largest numbers)."""
    claims = SealClaims(
        agency_code="000.00.00.G22",
        dossier_code="000.00.00.G22-991231-9999",
        result_no=999,
        procedure_code="999.999999",
        signed_at=datetime(2099, 12, 31, 23, 59, 59, tzinfo=UTC),
        doc_digest=b"\xff" * DOC_DIGEST_LENGTH,
        doc_length=2**32 - 1,
    )
    return encode_seal(claims, ec.generate_private_key(ec.SECP256R1()), b"\0" * 8)


@dataclass(frozen=True, slots=True)
class SignedResult:
    """The signed PDF and what the registry records about it."""

    pdf: bytes
    level: PadesLevel
    seal: bytes
    seal_url: str
    verification_code: str
    signed_at: datetime
    sha256: str
    signer_fingerprint: str
    seal_kid: str


def _copy_line(metadata: ResultMetadata) -> str | None:
    """The first line of a copy's text-only form: the copy form, or an attachment's number."""
    if metadata.copy_of is None:
        return None
    if metadata.copy_of.form == "attachment":
        return metadata.document_number
    return COPY_FORMS[metadata.copy_of.form].vi


def seal_claims(data: bytes, metadata: ResultMetadata, signed_at: datetime) -> SealClaims:
    return SealClaims(
        agency_code=metadata.agency.code,
        dossier_code=metadata.dossier_code,
        result_no=metadata.result_no,
        procedure_code=metadata.procedure.code,
        signed_at=signed_at,
        doc_digest=SealClaims.content_digest(data),
        doc_length=len(data),
    )


async def sign_result(
    data: bytes,
    metadata: ResultMetadata,
    keys: AgencyKeys,
    style: ResultStampStyle,
    options: SignOptions,
    *,
    network: Network | None = None,
    now: datetime | None = None,
    vetted: bool = False,
) -> SignedResult:
    """Vet, seal, stamp and sign; raises DocumentError / SigningError with the reason.

    ``vetted``: the bytes passed ``vet_pdf`` already (the service's intake), skip it.
    """
    if metadata.agency.code != keys.agency_code:
        # the seal would say agency B issued this, under agency A's key
        raise MetadataError(
            f"is {metadata.agency.code}, but these keys sign for {keys.agency_code}",
            field="agency.code",
        )

    def open_input() -> VettedPdf:
        return open_vetted(data) if vetted else vet_pdf(data, max_bytes=options.max_bytes)

    document = open_input()
    signed_at = (now or datetime.now(VIETNAM_TIME)).astimezone(VIETNAM_TIME).replace(microsecond=0)
    seal = encode_seal(
        seal_claims(document.data, metadata, signed_at), keys.seal.key, keys.seal.kid
    )
    url = seal_to_url(seal, options.public_url)
    code = verification_code(seal)
    stamp = StampContent(
        agency_name=metadata.agency.name,
        signed_at=signed_at,
        dossier_code=metadata.dossier_code,
        result_code=metadata.result_code,
        verification_code=code,
        seal_url=url,
        document_number=metadata.document_number,
        copy_line=_copy_line(metadata),
    )
    tsa_url = network.tsa_url if network is not None else None
    level = options.level or choose_level(keys.signing_certificate, tsa_url)
    sign_reader = functools.partial(
        apply_signature,
        keys=keys,
        style=style,
        stamp=stamp,
        placement=options.placement,
        now=signed_at,
        network=network,
    )
    try:
        pdf = await sign_reader(document.reader, level=level)
    except RevocationUnavailable as exc:
        if options.level is not None:
            raise  # asked for explicitly: never a silent downgrade
        log.warning("signed at B-T instead of B-LT: %s", exc)
        level = PadesLevel.B_T
        # a fresh reader: the failed attempt may have touched the first one's objects
        again = open_input()
        pdf = await sign_reader(again.reader, level=level)
    return SignedResult(
        pdf=pdf,
        level=level,
        seal=seal,
        seal_url=url,
        verification_code=code,
        signed_at=signed_at,
        sha256=hashlib.sha256(pdf).hexdigest(),
        signer_fingerprint=certificate_fingerprint(keys.signing_certificate),
        seal_kid=keys.seal.kid.hex(),
    )
