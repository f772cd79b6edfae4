"""The PAdES signature itself, at the level asked for.

- B-B: CMS signature, SHA-256, signer certificate and chain embedded.
- B-T: plus an RFC 3161 signature timestamp (needs a TSA URL).
- B-LT: plus the chain's OCSP responses / CRLs in a DSS, an incremental
  update after the signature (needs the certificates' revocation services
  to answer).
- B-LTA: plus a document timestamp over the DSS.

The signing time shown on the stamp, written in the signature dictionary
(``/M``) and put in the QR seal is one value (``now``), so all three agree
to the second.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from io import BytesIO
from typing import Any

import aiohttp
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.general import SigningError as PyHankoSigningError
from pyhanko.sign.signers.pdf_signer import (  # type: ignore[attr-defined]
    PdfCMSSignedAttributes,
)
from pyhanko.sign.timestamps import HTTPTimeStamper
from pyhanko.sign.timestamps.common_utils import TimestampRequestError
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.errors import (
    InsufficientRevinfoError,
    PathBuildingError,
    RevokedError,
)
from pyhanko_certvalidator.fetchers.aiohttp_fetchers import AIOHttpFetcherBackend
from pyhanko_certvalidator.registry import SimpleTrustManager

from keys.agency import AgencyKeys
from keys.local import to_asn1
from plumbing.errors import InputError
from signer.errors import RevocationUnavailable, SigningError
from signer.placement import BLOCK_NAME, FIELD_NAME, Placement, Spot, plan
from signer.stamp.appearance import (
    CONTENT_KEY,
    INSETS_KEY,
    KIND_KEY,
    ROTATION_KEY,
    ResultStampStyle,
    StampContent,
    block_appearance,
)


class PadesLevel(enum.StrEnum):
    B_B = "B-B"
    B_T = "B-T"
    B_LT = "B-LT"
    B_LTA = "B-LTA"

    @property
    def needs_timestamp(self) -> bool:
        return self is not PadesLevel.B_B

    @property
    def needs_revocation_info(self) -> bool:
        return self in (PadesLevel.B_LT, PadesLevel.B_LTA)


# CMS space to reserve, by level: the RSA-2048 CMS with a 3-certificate chain
# is ~2.6 KB; a timestamp token adds ~4-6 KB. (B-LT's revocation data goes into
# the DSS, not the CMS; the extra room is for a TSA with a long chain.)
_RESERVED = {
    PadesLevel.B_B: 12_288,
    PadesLevel.B_T: 24_576,
    PadesLevel.B_LT: 49_152,
    PadesLevel.B_LTA: 49_152,
}


@dataclass(frozen=True, slots=True)
class Network:
    """Online services for B-T and above, with explicit timeouts."""

    session: aiohttp.ClientSession
    tsa_url: str | None = None
    timeout: float = 10.0


async def apply_signature(
    reader: PdfFileReader,
    *,
    keys: AgencyKeys,
    style: ResultStampStyle,
    stamp: StampContent,
    placement: Placement,
    level: PadesLevel,
    now: datetime,
    network: Network | None = None,
) -> bytes:
    """Sign the document ``reader`` holds, as an incremental update; returns the whole file."""
    writer = IncrementalPdfFileWriter.from_reader(reader)
    _number_after_every_object(writer, reader)
    where = plan(
        reader,
        placement,
        seal_side=style.seal_side,
        copy_size=style.copy_size(stamp) if stamp.copy_line else None,
        field_name=_free_field_name(reader),
    )
    if where.block is not None:
        _add_block(writer, where.block, style, stamp)

    timestamper = None
    validation_context = None
    if level.needs_timestamp:
        if network is None or not network.tsa_url:
            raise SigningError(f"PAdES {level} needs a timestamp server", field="tsa_url")
        timestamper = HTTPTimeStamper(
            network.tsa_url, session=network.session, timeout=network.timeout
        )
    if level.needs_revocation_info:
        assert network is not None
        validation_context = ValidationContext(
            trust_manager=SimpleTrustManager.build(
                trust_roots=[to_asn1(root) for root in keys.trust_roots]
            ),
            allow_fetching=True,
            fetcher_backend=AIOHttpFetcherBackend(
                network.session, per_request_timeout=network.timeout
            ),
            revocation_mode="hard-fail",
        )
        if not has_revocation_pointers(keys.signing_certificate):
            raise InputError(
                f"PAdES {level} needs OCSP or CRL URLs in the signing certificate; it has none"
            )

    signature = where.signature
    meta = signers.PdfSignatureMetadata(
        field_name=where.field_name,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        embed_validation_info=level.needs_revocation_info,
        use_pades_lta=level is PadesLevel.B_LTA,
        validation_context=validation_context,
        location=None,
        reason="Kết quả giải quyết thủ tục hành chính",
    )
    pdf_signer = signers.PdfSigner(
        meta,
        signer=keys.document_signer,
        timestamper=timestamper,
        stamp_style=style,
        new_field_spec=(
            fields.SigFieldSpec(
                sig_field_name=where.field_name,
                on_page=signature.page_index,
                box=signature.box,
            )
            if where.new_field
            else None
        ),
    )
    params = {
        CONTENT_KEY: stamp,
        KIND_KEY: where.kind,
        ROTATION_KEY: signature.rotation,
        INSETS_KEY: where.insets,
    }
    try:
        return await _sign(pdf_signer, writer, params, now, _RESERVED[level])
    except PyHankoSigningError as exc:
        if isinstance(exc.__cause__, RevokedError):
            raise SigningError(f"the signing certificate is revoked: {exc.__cause__}") from exc
        if isinstance(exc.__cause__, InsufficientRevinfoError):
            raise RevocationUnavailable(
                f"PAdES {level}: no OCSP response or CRL could be fetched for the signing "
                f"certificate ({exc.__cause__})"
            ) from exc
        if isinstance(exc.__cause__, PathBuildingError):
            raise RevocationUnavailable(
                f"PAdES {level}: no path from the signing certificate to a known root; put "
                "the CA's root certificate in the .p12, in public/root-ca.pem or in the "
                f"trust list ({exc.__cause__})"
            ) from exc
        cause = f" ({exc.__cause__})" if exc.__cause__ else ""
        raise SigningError(f"PAdES {level} signing failed: {exc}{cause}") from exc
    except TimestampRequestError as exc:
        cause = f": {exc.__cause__}" if exc.__cause__ else ""
        raise SigningError(f"PAdES {level}: the timestamp server failed{cause}") from exc
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise SigningError(
            f"PAdES {level}: a timestamp or revocation server did not answer: "
            f"{type(exc).__name__} {exc}".rstrip()
        ) from exc


async def _sign(
    pdf_signer: signers.PdfSigner,
    writer: IncrementalPdfFileWriter,
    appearance: dict[str, Any],
    now: datetime,
    bytes_reserved: int,
) -> bytes:
    # PdfSigner.async_sign_pdf, with the session's clock set to ``now`` and a
    # fixed CMS reservation instead of a trial signature.
    session = pdf_signer.init_signing_session(writer)
    session.system_time = now
    validation_info = await session.perform_presign_validation(writer)
    tbs = session.prepare_tbs_document(
        validation_info=validation_info,
        bytes_reserved=bytes_reserved,
        appearance_text_params=appearance,
    )
    output = BytesIO()
    prepared, _ = tbs.digest_tbs_document(in_place=False, output=output)
    post = await tbs.perform_signature(
        document_digest=prepared.document_digest,
        pdf_cms_signed_attrs=PdfCMSSignedAttributes(
            signing_time=now,
            adobe_revinfo_attr=(
                None if validation_info is None else validation_info.adobe_revinfo_attr
            ),
            cades_signed_attrs=pdf_signer.signature_meta.cades_signed_attr_spec,
        ),
    )
    await post.post_signature_processing(output)
    return bytes(output.getbuffer())


def _number_after_every_object(writer: IncrementalPdfFileWriter, reader: PdfFileReader) -> None:
    """New objects must not reuse a number the file already has.

    pyHanko numbers new objects from the trailer's /Size, and some writers
    (poppler 22.12's pdfunite, for one) write a /Size below their highest
    object number: the update would then replace existing objects and the
    signature would vanish from the result.
    """
    highest = max(
        (
            ref.idnum
            for revision in range(reader.xrefs.total_revisions)
            for ref in reader.xrefs.explicit_refs_in_revision(revision)
        ),
        default=0,
    )
    # pyHanko 0.38 keeps its counter here (pinned; tests/test_sign.py covers it)
    writer._lastobj_id = max(writer._lastobj_id, highest)


def _add_block(
    writer: IncrementalPdfFileWriter, spot: Spot, style: ResultStampStyle, stamp: StampContent
) -> None:
    """The verification block as a locked, printed stamp annotation in the signed revision.

    It is written before the signature is made, so the signature covers it:
    moving or removing it afterwards is a change after signing.
    """
    appearance = block_appearance(writer, style, stamp, spot.width, spot.height, spot.rotation)
    annotation = generic.DictionaryObject(
        {
            pdf_name("/Type"): pdf_name("/Annot"),
            pdf_name("/Subtype"): pdf_name("/Stamp"),
            pdf_name("/Name"): pdf_name(BLOCK_NAME),
            pdf_name("/Rect"): generic.ArrayObject(generic.NumberObject(v) for v in spot.box),
            # printed, not interactive, neither movable nor editable in a viewer
            pdf_name("/F"): generic.NumberObject(4 | 64 | 128 | 512),
            pdf_name("/Contents"): generic.TextStringObject(
                f"{stamp.result_code} {stamp.verification_code}"
            ),
            pdf_name("/AP"): generic.DictionaryObject({pdf_name("/N"): appearance}),
        }
    )
    page_ref = writer.find_page_for_modification(spot.page_index)[0]
    writer.register_annotation(page_ref, writer.add_object(annotation))


def _free_field_name(reader: PdfFileReader) -> str:
    existing = {sig.field_name for sig in reader.embedded_signatures}
    name, n = FIELD_NAME, 1
    while name in existing:
        n += 1
        name = f"{FIELD_NAME}{n}"
    return name


def choose_level(cert: x509.Certificate, tsa_url: str | None) -> PadesLevel:
    """The level to aim for when none is asked: as long-lived as the setup allows.

    No timestamp server: B-B. A timestamp server: B-T, or B-LT when the
    signing certificate names OCSP/CRL services (so the result stays
    verifiable after the certificate expires).
    """
    if not tsa_url:
        return PadesLevel.B_B
    return PadesLevel.B_LT if has_revocation_pointers(cert) else PadesLevel.B_T


def has_revocation_pointers(cert: x509.Certificate) -> bool:
    """An OCSP responder in the AIA, or a CRL distribution point (caIssuers alone is not)."""
    try:
        aia = cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
        if any(d.access_method == x509.OID_OCSP for d in aia):
            return True
    except x509.ExtensionNotFound:
        pass
    try:
        cert.extensions.get_extension_for_class(x509.CRLDistributionPoints)
        return True
    except x509.ExtensionNotFound:
        return False


def certificate_fingerprint(cert: x509.Certificate) -> str:
    """SHA-256 of the certificate's DER, hex: what the registry records."""
    return cert.fingerprint(hashes.SHA256()).hex()
