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
import math
from dataclasses import dataclass
from datetime import datetime
from io import BytesIO
from typing import Any

import aiohttp
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from pyhanko.pdf_utils import generic
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
from signer.errors import PlacementError, RevocationUnavailable, SigningError
from signer.stamp.appearance import CONTENT_KEY, ROTATION_KEY, ResultStampStyle, StampContent

FIELD_NAME = "KetQuaAgencySignature"


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
class Placement:
    """Where the stamp goes: ``page`` (0-based, -1 = last), lower-left corner and size in points.

    ``x``/``y`` of None put the stamp in the bottom-right corner with a ``margin``.
    """

    page: int = -1
    x: float | None = None
    y: float | None = None
    width: float = 300.0
    height: float = 136.0
    margin: float = 36.0

    def __post_init__(self) -> None:
        numbers = [self.width, self.height, self.margin]
        numbers += [v for v in (self.x, self.y) if v is not None]
        if not all(math.isfinite(v) for v in numbers):
            raise PlacementError("the stamp's position and size must be finite numbers")
        if self.width < 150 or self.height < 60:
            raise PlacementError("the stamp must be at least 150 x 60 points")


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
    page_index = _page_index(reader, placement.page)
    box, rotation = _field_box(reader, page_index, placement)
    field_name = _free_field_name(reader)

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

    meta = signers.PdfSignatureMetadata(
        field_name=field_name,
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
        new_field_spec=fields.SigFieldSpec(sig_field_name=field_name, on_page=page_index, box=box),
    )
    try:
        return await _sign(pdf_signer, writer, stamp, rotation, now, _RESERVED[level])
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
    stamp: StampContent,
    rotation: int,
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
        appearance_text_params={CONTENT_KEY: stamp, ROTATION_KEY: rotation},
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


def _page_index(reader: PdfFileReader, page: int) -> int:
    count = int(reader.root["/Pages"]["/Count"])
    index = page if page >= 0 else count + page
    if not 0 <= index < count:
        shown = page + 1 if page >= 0 else page  # pages are 1-based for people
        raise PlacementError(f"stamp page {shown} is outside the document's {count} pages")
    return index


def _field_box(
    reader: PdfFileReader, page_index: int, placement: Placement
) -> tuple[tuple[int, int, int, int], int]:
    """The widget's rectangle in page space, and the page's display rotation.

    ``placement`` speaks of the page as a viewer shows it (after ``/Rotate``);
    the rectangle is mapped back into the page's own coordinates, and the
    stamp is later drawn turned by the same angle so that it reads upright.
    """
    page = reader.find_page_for_modification(page_index)[0].get_object()
    rotation = _rotation(page)
    # what a viewer shows and a printer prints is the crop box (default: the media box)
    media = _inherited_box(page, "/MediaBox") or (0.0, 0.0, 595.0, 842.0)
    crop = _inherited_box(page, "/CropBox") or media
    x0, y0 = max(media[0], crop[0]), max(media[1], crop[1])
    x1, y1 = min(media[2], crop[2]), min(media[3], crop[3])
    shown_w, shown_h = (y1 - y0, x1 - x0) if rotation in (90, 270) else (x1 - x0, y1 - y0)

    def to_page(du: float, dv: float) -> tuple[float, float]:
        # a point of the page as shown -> the page's own coordinates
        if rotation == 90:
            return x1 - dv, y0 + du
        if rotation == 180:
            return x1 - du, y1 - dv
        if rotation == 270:
            return x0 + dv, y1 - du
        return x0 + du, y0 + dv

    def box_at(u: float, v: float) -> tuple[int, int, int, int]:
        corners = [
            to_page(u + du, v + dv) for du in (0, placement.width) for dv in (0, placement.height)
        ]
        xs, ys = [c[0] for c in corners], [c[1] for c in corners]
        return (round(min(xs)), round(min(ys)), round(max(xs)), round(max(ys)))

    def fits(u: float, v: float) -> bool:
        return (
            u >= 0
            and v >= 0
            and u + placement.width <= shown_w
            and (v + placement.height <= shown_h)
        )

    taken = _signature_widgets(page)
    u = placement.x if placement.x is not None else shown_w - placement.margin - placement.width
    v = placement.y if placement.y is not None else placement.margin
    if not fits(u, v):
        raise PlacementError(
            f"the stamp at ({round(u)}, {round(v)}) sized {round(placement.width)} x "
            f"{round(placement.height)} does not fit on page {page_index + 1}, whose visible "
            f"area is {round(shown_w)} x {round(shown_h)}"
        )
    box = box_at(u, v)
    while (clash := next((name for name, rect in taken if _overlap(box, rect)), None)) is not None:
        if placement.y is not None:
            raise PlacementError(f"the stamp would cover the signature {clash!r} on the page")
        # the default place is taken (a document signed before): the next free one above
        v += placement.height + STAMP_GAP
        if not fits(u, v):
            raise PlacementError(
                f"no free place for the stamp on page {page_index + 1}: signatures already fill it"
            )
        box = box_at(u, v)
    return box, rotation


STAMP_GAP = 8.0


def _overlap(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _signature_widgets(
    page: generic.DictionaryObject,
) -> list[tuple[str, tuple[float, ...]]]:
    """The visible signature fields already on ``page``: (field name, rectangle)."""
    found: list[tuple[str, tuple[float, ...]]] = []
    for ref in page.get("/Annots", generic.ArrayObject()):
        annot = ref.get_object()
        if annot.get("/Subtype") != "/Widget":
            continue
        node, field_type, name = annot, None, None
        while node is not None and (field_type is None or name is None):
            field_type = field_type or node.get("/FT")
            name = name or node.get("/T")
            node = node["/Parent"].get_object() if "/Parent" in node else None
        if field_type != "/Sig" or "/Rect" not in annot:
            continue
        rect = _rectangle([float(v.get_object()) for v in annot["/Rect"].get_object()])
        if rect[2] > rect[0] and rect[3] > rect[1]:  # an invisible field takes no room
            found.append((str(name), rect))
    return found


def _inherited(page: generic.DictionaryObject, key: str) -> Any:
    """A page attribute that may sit on the page or on any of its parents."""
    node = page
    while key not in node and "/Parent" in node:
        node = node["/Parent"].get_object()
    return node[key].get_object() if key in node else None


def _rotation(page: generic.DictionaryObject) -> int:
    try:
        value = int(_inherited(page, "/Rotate") or 0)
    except (TypeError, ValueError):
        return 0
    return value % 360 if value % 90 == 0 else 0


def _inherited_box(page: generic.DictionaryObject, key: str) -> tuple[float, ...] | None:
    array = _inherited(page, key)
    if array is None:
        return None
    values = [float(v.get_object()) for v in array]
    if len(values) != 4:
        raise PlacementError(f"the page's {key} is not a rectangle")
    return _rectangle(values)


def _rectangle(values: list[float]) -> tuple[float, float, float, float]:
    """(left, bottom, right, top) of a PDF rectangle given by any two opposite corners."""
    left, right = sorted((values[0], values[2]))
    bottom, top = sorted((values[1], values[3]))
    return (left, bottom, right, top)


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
