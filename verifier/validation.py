"""Validating an uploaded PDF, in a worker process: every signature, then the QR seal.

Per signature, in the ETSI EN 319 102-1 vocabulary (as EU DSS and SiVa
report it): pyHanko's AdES basic signature validation (§ 5.3) gives the
indication (``TOTAL_PASSED``, ``TOTAL_FAILED``, ``INDETERMINATE``) and the
sub-indication (``HASH_FAILURE``, ``SIG_CRYPTO_FAILURE``,
``NO_CERTIFICATE_CHAIN_FOUND``, ``REVOKED_NO_POE``, ``TRY_LATER``, ...);
pyHanko's PDF validation adds what only a PDF has: whether the signature
covers the whole file and what changed after it. A signed revision that
was changed later in a way signing does not allow (a page's content, say)
is ``INDETERMINATE`` / ``SIG_CONSTRAINTS_FAILURE``: the signature itself is
intact, the document is not what was signed.

The seal: the last page is rendered (PDFium) and its QR read (zxing-cpp);
the seal is verified against the trust list and checked to bind this
file's signed original. The registry's word is added by the caller.
What comes back crosses to the service process: immutable records
(``UploadCheck``, ``SignatureCheck``, ``SealRead``/``SealRefused``) that
say how they are shown as JSON.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from io import BytesIO
from types import MappingProxyType
from typing import Any

from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives.serialization import Encoding
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.ades.report import AdESStatus
from pyhanko.sign.diff_analysis import DEFAULT_DIFF_POLICY, ModificationLevel
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.ades import ades_basic_validation
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko.sign.validation.policy_decl import (
    CertificateFetchingRule,
    RevinfoOnlineFetchingRule,
    RevocationInfoGatheringSpec,
    SignatureValidationSpec,
)
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.context import CertValidationPolicySpec
from pyhanko_certvalidator.policy_decl import (
    CertRevTrustPolicy,
    RevocationCheckingPolicy,
    RevocationCheckingRule,
)
from pyhanko_certvalidator.registry import SimpleTrustManager

from keys.anchors import anchors_of
from keys.trust import TrustList
from plumbing.vietnam import VIETNAM_TIME
from verifier.report import GenuineSeal, check_seal

PASSED = "TOTAL_PASSED"
INDICATIONS = {
    AdESStatus.PASSED: PASSED,
    AdESStatus.FAILED: "TOTAL_FAILED",
    AdESStatus.INDETERMINATE: "INDETERMINATE",
}
# changes after a signature that signing itself allows (more signatures, LTA material)
ALLOWED_AFTER = (
    ModificationLevel.NONE,
    ModificationLevel.LTA_UPDATES,
    ModificationLevel.FORM_FILLING,
)


@dataclass(frozen=True, slots=True)
class Refused:
    """The upload is not a PDF this service can read: the 422's reason."""

    reason: str


@dataclass(frozen=True, slots=True)
class Validated:
    """What the full validation of an intact signature adds."""

    signing_time: str | None  # ISO 8601 in Vietnam time
    timestamp_time: str | None
    level: str  # B-B, B-T, B-LT, B-LTA
    covers_whole_document: bool
    modifications_after: str  # pyHanko's ModificationLevel, lower case, or "unknown"


@dataclass(frozen=True, slots=True)
class SignatureCheck:
    """One signature in the ETSI EN 319 102-1 vocabulary."""

    field: str
    signer: str | None
    signer_fingerprint: str | None
    indication: str  # TOTAL_PASSED, TOTAL_FAILED, INDETERMINATE
    sub_indication: str | None
    detail: str | None
    validated: Validated | None = None  # None: the signature could not be parsed
    agency_code: str | None = None  # made with this agency's certificate in the trust list

    def __post_init__(self) -> None:
        if self.indication not in INDICATIONS.values():
            raise ValueError(f"not an ETSI indication: {self.indication}")

    @property
    def passed(self) -> bool:
        return self.indication == PASSED

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "field": self.field,
            "signer": self.signer,
            "signer_fingerprint": self.signer_fingerprint,
            "indication": self.indication,
            "sub_indication": self.sub_indication,
            "detail": self.detail,
        }
        if self.validated is not None:
            body.update(asdict(self.validated))
        body["agency_code"] = self.agency_code
        return body

    def describe(self) -> str:
        sub = f" / {self.sub_indication}" if self.sub_indication else ""
        return f"signature {self.field!r}: {self.indication}{sub}"


@dataclass(frozen=True, slots=True)
class Unfit:
    """Why a checked PDF is not a result as an agency issued it: a kind and its facts.

    ``english()`` is the sentence JSON reports carry; the CLI and pages say it
    in the reader's language from the same kind (``verifier.texts.UNFIT``).
    """

    kind: str
    facts: Mapping[str, str]

    def __post_init__(self) -> None:
        if self.kind not in _UNFIT_ENGLISH:
            raise ValueError(f"not a kind of unfit document: {self.kind}")

    @classmethod
    def of(cls, kind: str, **facts: str) -> Unfit:
        return cls(kind, MappingProxyType(facts))

    def english(self) -> str:
        f = self.facts
        if self.kind == "signature_failed":
            sub = f" / {f['sub']}" if f["sub"] else ""
            return f"signature {f['field']!r}: {f['indication']}{sub}"
        return _UNFIT_ENGLISH[self.kind].format(**f)


_UNFIT_ENGLISH = {
    "no_signature": "the PDF carries no signature",
    "signature_failed": "",
    "signed_after_the_agency": "signature '{field}', made after the agency's, is not an agency's",
    "not_an_agency_certificate": (
        "no signature is made with an agency certificate in the trust list "
        "(a certificate from the same CA is not enough)"
    ),
    "changed_after": "the document was changed after the agency signed it ({after})",
    "seal_not_genuine": "the QR seal is not genuine: {reason}",
    "seal_of_another_document": "the QR seal was made for another document",
    "seal_of_another_agency": "the QR seal is {seal}'s, the signature {signer}'s",
}


@dataclass(frozen=True, slots=True)
class SealRefused:
    """A QR seal on the page that is not genuine, and why."""

    reason: str

    def to_json(self) -> dict[str, Any]:
        return {"genuine": False, "reason": self.reason}


@dataclass(frozen=True, slots=True)
class SealRead:
    """A genuine QR seal on the page, and whether it was made for this file."""

    text: str
    verification_code: str
    kid: str
    agency_code: str
    dossier_code: str
    result_no: int
    binds_this_file: bool

    def to_json(self) -> dict[str, Any]:
        return {"genuine": True, **asdict(self)}


# what may follow the agency's signature in a file it issued: nothing, or the long-term
# material of its own B-LT / B-LTA (a DSS, a document timestamp). A new field or widget
# with an appearance, an annotation or form filling can change what the page shows.
AFTER_THE_AGENCY = ("none", "lta_updates")


@dataclass(frozen=True, slots=True)
class UploadCheck:
    """Every signature of the file, in signing order, and its QR seal (None: no QR)."""

    pages: int
    signatures: tuple[SignatureCheck, ...]
    seal: SealRead | SealRefused | None

    def not_the_agencys(self) -> Unfit | None:
        """Why this is not a result as an agency issued it (None: it is).

        As strict as intake: every signature intact; the last one made with an
        agency's own certificate listed in the trust list (not merely one from a
        trusted CA), with nothing after it that could change what is shown; the
        QR seal, where there is one, genuine, made for this file, by that agency.
        """
        if not self.signatures:
            return Unfit.of("no_signature")
        failing = next((s for s in self.signatures if not s.passed), None)
        if failing is not None:
            return Unfit.of(
                "signature_failed",
                field=failing.field,
                indication=failing.indication,
                sub=failing.sub_indication or "",
            )
        last = self.signatures[-1]
        if last.agency_code is None:
            if any(s.agency_code for s in self.signatures):
                return Unfit.of("signed_after_the_agency", field=last.field)
            return Unfit.of("not_an_agency_certificate")
        after = last.validated.modifications_after if last.validated else "unknown"
        if after not in AFTER_THE_AGENCY:
            return Unfit.of("changed_after", after=after)
        if isinstance(self.seal, SealRefused):
            return Unfit.of("seal_not_genuine", reason=self.seal.reason)
        if isinstance(self.seal, SealRead):
            if not self.seal.binds_this_file:
                return Unfit.of("seal_of_another_document")
            if self.seal.agency_code != last.agency_code:
                return Unfit.of(
                    "seal_of_another_agency", seal=self.seal.agency_code, signer=last.agency_code
                )
        return None

    def to_json(self) -> dict[str, Any]:
        return {
            "pages": self.pages,
            "signatures": [s.to_json() for s in self.signatures],
            "seal": self.seal.to_json() if self.seal is not None else None,
        }


def ready() -> None:
    """Run in each worker at start: the process is up and its imports are done."""


def validate_upload(
    data: bytes, trust_json: bytes, max_pages: int, anchors: bytes = b""
) -> UploadCheck | Refused:
    """Every signature and the QR seal of ``data``; what cannot be read is ``Refused``.

    ``anchors``: extra roots (PEM) for officials' signatures (``keys.anchors``).
    Never raises for what the file holds: it comes from anyone.
    """
    try:
        return _validate(data, trust_json, max_pages, anchors)
    except Exception as exc:  # the last line of defence of a worker
        return Refused(f"the PDF cannot be checked: {_one_line(exc)}")


def validate_file(
    path: str, trust_json: bytes, max_pages: int, anchors: bytes = b""
) -> UploadCheck | Refused:
    """``validate_upload`` of a file the service streamed to disk (it holds no copy itself)."""
    with open(path, "rb") as upload:
        return validate_upload(upload.read(), trust_json, max_pages, anchors)


# Bounds on what one file may cost, whatever it declares about itself
MAX_SIGNATURES = 20
MAX_PAGE_NODES = 10  # page-tree nodes visited per page allowed, inner nodes included
MAX_SIDE = 14_400.0  # points: 200 inches, the largest page PDF allows (ISO 32000-1 C.2)
MAX_PIXELS = 4_000_000  # of the rendered last page (an A4 page at 100 dpi is ~1 million)


def count_pages(reader: PdfFileReader, max_pages: int) -> int:
    """The pages the page tree really holds (``/Count`` can say anything), up to one more
    than ``max_pages``; a tree that loops or is far larger than its pages is refused."""
    seen: set[int] = set()
    stack = [reader.root["/Pages"]]
    pages = 0
    while stack and pages <= max_pages:
        if len(seen) > MAX_PAGE_NODES * (max_pages + 1):
            raise ValueError("the page tree is far larger than its pages")
        node = stack.pop()
        key = id(node.get_object()) if hasattr(node, "get_object") else id(node)
        if key in seen:
            raise ValueError("the page tree loops")
        seen.add(key)
        node = node.get_object() if hasattr(node, "get_object") else node
        if node.get("/Type") == "/Page" or "/Kids" not in node:
            pages += 1
        else:
            stack.extend(reversed(list(node["/Kids"])))
    return pages


def _byte_ranges_bounded(signatures: list[EmbeddedPdfSignature], size: int) -> str | None:
    """Why a signature's /ByteRange is not the two ranges PAdES allows, within the file."""
    for sig in signatures:
        ranges = sig.sig_object.get("/ByteRange")
        values = list(ranges) if ranges is not None else []
        if len(values) != 4 or not all(isinstance(v, int) and 0 <= v <= size for v in values):
            return f"signature {sig.field_name!r}: /ByteRange must be four offsets in the file"
    return None


def _validate(
    data: bytes, trust_json: bytes, max_pages: int, anchors: bytes
) -> UploadCheck | Refused:
    logging.getLogger("pyhanko").setLevel(logging.ERROR)  # its warnings name people
    if not data.lstrip()[:5].startswith(b"%PDF-"):
        return Refused("not a PDF (no %PDF- header)")
    try:
        reader = PdfFileReader(BytesIO(data), strict=False)
        if reader.encrypted:
            return Refused("the PDF is encrypted")
        pages = count_pages(reader, max_pages)
        signatures = list(reader.embedded_regular_signatures)
        timestamps = list(reader.embedded_timestamp_signatures)
    except Exception as exc:  # pyHanko raises many types for a damaged file
        return Refused(f"the PDF cannot be read: {_one_line(exc)}")
    if pages > max_pages:
        return Refused(f"the PDF has more than {max_pages} pages")
    if len(signatures) + len(timestamps) > MAX_SIGNATURES:
        return Refused(f"the PDF has more than {MAX_SIGNATURES} signatures")
    unbounded = _byte_ranges_bounded([*signatures, *timestamps], len(data))
    if unbounded is not None:
        return Refused(unbounded)
    trust = TrustList.from_json(trust_json)
    roots = [
        asn1_x509.Certificate.load(r.public_bytes(Encoding.DER))
        for r in (*trust.document_roots, *anchors_of(anchors))
    ]
    has_dss = "/DSS" in reader.root
    return UploadCheck(
        pages=pages,
        signatures=tuple(
            _signature(sig, trust, roots, has_dss, bool(timestamps)) for sig in signatures
        ),
        seal=_seal(data, trust),
    )


def _signature(
    sig: EmbeddedPdfSignature,
    trust: TrustList,
    roots: list[asn1_x509.Certificate],
    has_dss: bool,
    doc_timestamped: bool,
) -> SignatureCheck:
    signer: str | None = None
    fingerprint: str | None = None
    agency: str | None = None
    try:
        cert = sig.signer_cert
        signer, fingerprint = cert.subject.human_friendly, cert.sha256.hex()
        listed = trust.signing_certificate(fingerprint)
        agency = listed.agency_code if listed is not None else None
    except Exception:  # noqa: S110 - an unreadable certificate fails the validation below
        pass
    try:
        basic = asyncio.run(
            ades_basic_validation(sig.signed_data, _spec(roots), raw_digest=sig.compute_digest())
        )
        context = ValidationContext(
            trust_roots=roots, allow_fetching=False, revocation_mode="soft-fail"
        )
        status = validate_pdf_signature(sig, context, diff_policy=DEFAULT_DIFF_POLICY)
    except Exception as exc:  # a hostile CMS raises anything (an unknown digest OID:
        # AttributeError from deep in the validator); it is a failed signature
        return SignatureCheck(
            sig.field_name,
            signer,
            fingerprint,
            "TOTAL_FAILED",
            "FORMAT_FAILURE",
            _one_line(exc),
            agency_code=agency,
        )
    subindic = basic.ades_subindic
    indication = INDICATIONS[subindic.status]
    sub = None if subindic.status is AdESStatus.PASSED else _name(subindic)
    modified = status.modification_level
    if indication == PASSED and modified is not None and modified not in ALLOWED_AFTER:
        indication, sub = "INDETERMINATE", "SIG_CONSTRAINTS_FAILURE"
    signed_at = status.signer_reported_dt or sig.self_reported_timestamp
    stamp = status.timestamp_validity
    return SignatureCheck(
        sig.field_name,
        signer,
        fingerprint,
        indication,
        sub,
        basic.failure_msg,
        Validated(
            signing_time=signed_at.astimezone(VIETNAM_TIME).isoformat() if signed_at else None,
            timestamp_time=(
                stamp.timestamp.astimezone(VIETNAM_TIME).isoformat() if stamp is not None else None
            ),
            level=_level(stamp is not None, has_dss, doc_timestamped),
            covers_whole_document=status.coverage == SignatureCoverageLevel.ENTIRE_FILE,
            modifications_after=modified.name.lower() if modified is not None else "unknown",
        ),
        agency_code=agency,
    )


# Nothing is fetched, ever: a certificate's caIssuers, OCSP and CRL URLs are chosen by
# whoever made the document, and following them would let a stranger point this service
# at any address (the signer's port behind it included). Revocation is judged from what
# the file carries; a certificate that declares revocation services and carries no
# answer from them is tolerated (soft), as a validator without network would.
NO_FETCHING = RevocationInfoGatheringSpec(
    online_fetching_rule=RevinfoOnlineFetchingRule.LOCAL_ONLY,
    certificate_fetching_rule=CertificateFetchingRule.NEVER_FETCH,
)


def _spec(roots: list[asn1_x509.Certificate]) -> SignatureValidationSpec:
    rule = RevocationCheckingRule.CHECK_IF_DECLARED_SOFT
    return SignatureValidationSpec(
        cert_validation_policy=CertValidationPolicySpec(
            trust_manager=SimpleTrustManager.build(trust_roots=roots),
            revinfo_policy=CertRevTrustPolicy(RevocationCheckingPolicy(rule, rule)),
        ),
        revinfo_gathering_policy=NO_FETCHING,
    )


def _level(timestamped: bool, has_dss: bool, doc_timestamped: bool) -> str:
    if timestamped and has_dss and doc_timestamped:
        return "B-LTA"
    if timestamped and has_dss:
        return "B-LT"
    return "B-T" if timestamped else "B-B"


def _seal(data: bytes, trust: TrustList) -> SealRead | SealRefused | None:
    """The QR seal on the last page, verified, and whether it binds this file; None: no QR."""
    text = _read_qr(data)
    if text is None:
        return None
    checked = check_seal(text, trust)
    if not isinstance(checked, GenuineSeal):
        return SealRefused(checked.reason)
    return SealRead(
        text=text,
        verification_code=checked.code,
        kid=checked.kid,
        agency_code=checked.claims.agency_code,
        dossier_code=checked.claims.dossier_code,
        result_no=checked.claims.result_no,
        binds_this_file=checked.claims.binds(data),
    )


def _read_qr(data: bytes) -> str | None:
    import pypdfium2
    import zxingcpp

    try:
        document = pypdfium2.PdfDocument(data)
        document.init_forms()  # the stamp is a widget's appearance
        page = document[len(document) - 1]
        width, height = page.get_size()
        if not (0 < width <= MAX_SIDE and 0 < height <= MAX_SIDE):
            return None  # not a page anyone prints: no QR read from it
        # 100 dpi, or fewer on a page so large that 100 dpi would pass the pixel cap
        scale = min(100 / 72, (MAX_PIXELS / (width * height)) ** 0.5)
        image = page.render(scale=scale, may_draw_forms=True).to_pil()
    except Exception:
        return None
    for code in zxingcpp.read_barcodes(image, formats=zxingcpp.barcode_formats_from_str("QRCode")):
        if "/V/" in code.text.upper():
            return str(code.text)
    return None


def _name(subindication: object) -> str:
    # AdESFailure / AdESIndeterminate are enums; their common base is not
    return str(getattr(subindication, "name", subindication))


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())[:300]
    return text or type(exc).__name__
