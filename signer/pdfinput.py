"""Vetting an input PDF before anything is signed: each refusal says why.

Refused: over the size limit, not a PDF, truncated or corrupt, encrypted,
no pages, or an existing signature that no longer matches its bytes (the
agency must not countersign a tampered document). Existing valid signatures
(e.g. the official's own) are kept: the agency's signature is an incremental
update after them.
"""

from __future__ import annotations

from dataclasses import dataclass
from io import BytesIO

from pyhanko.pdf_utils.misc import PdfReadError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation.pdf_embedded import async_validate_pdf_signature

from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleTrustManager

from signer.errors import DocumentError

DEFAULT_MAX_BYTES = 50 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class VettedPdf:
    """Input bytes that passed the checks, with what the checks learned."""

    data: bytes
    page_count: int
    existing_signatures: int


async def vet_pdf(data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> VettedPdf:
    if len(data) > max_bytes:
        raise DocumentError(f"document is {len(data)} bytes, over the limit of {max_bytes}")
    if not data.lstrip()[:5] == b"%PDF-":
        raise DocumentError("not a PDF (no %PDF- header)")
    if b"%%EOF" not in data[-2048:]:
        raise DocumentError("PDF is truncated (no %%EOF at the end)")
    try:
        reader = PdfFileReader(BytesIO(data), strict=False)
        if reader.encrypted:
            raise DocumentError("PDF is encrypted; send the unencrypted result")
        page_count = int(reader.root["/Pages"]["/Count"])
        signatures = list(reader.embedded_regular_signatures)
    except DocumentError:
        raise
    except (PdfReadError, KeyError, ValueError, TypeError, IndexError) as exc:
        raise DocumentError(f"PDF is corrupt: {exc}") from None
    if page_count < 1:
        raise DocumentError("PDF has no pages")
    for sig in signatures:
        try:
            # integrity only: whose key made the official's signature is not ours to judge
            status = await async_validate_pdf_signature(
                sig, signer_validation_context=_integrity_only(), skip_diff=True
            )
        except Exception as exc:  # pyHanko raises several types for unreadable CMS
            raise DocumentError(
                f"existing signature {sig.field_name!r} cannot be read: {exc}"
            ) from None
        if not (status.intact and status.valid):
            raise DocumentError(
                f"existing signature {sig.field_name!r} is broken: the document was "
                "changed after it was signed"
            )
    return VettedPdf(data, page_count, len(signatures))


def _integrity_only() -> ValidationContext:
    return ValidationContext(
        trust_manager=SimpleTrustManager.build(trust_roots=[]),
        allow_fetching=False,
        revocation_mode="soft-fail",
    )
