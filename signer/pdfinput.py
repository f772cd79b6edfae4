"""Vetting an input PDF before anything is signed: each refusal says why.

Refused: over the size limit, not a PDF, truncated or corrupt, encrypted,
no pages, or an existing signature that no longer matches its bytes (the
agency must not countersign a tampered document). Existing valid signatures
(e.g. the official's own) are kept: the agency's signature is an incremental
update after them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path

import pikepdf
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import DEFAULT_DIFF_POLICY, DiffResult, ModificationLevel
from pyhanko.sign.fields import MDPPerm
from pyhanko.sign.validation.generic_cms import validate_sig_integrity
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature

from signer.errors import DocumentError

DEFAULT_MAX_BYTES = 50 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class VettedPdf:
    """Input bytes that passed the checks, with what the checks learned."""

    data: bytes = field(repr=False)
    page_count: int  # -1: not counted (opened by open_vetted)
    existing_signatures: int
    # every object already parsed: the signer extends this reader rather than parse again
    reader: PdfFileReader = field(repr=False, compare=False)


def read_pdf(path: Path, *, max_bytes: int = DEFAULT_MAX_BYTES) -> bytes:
    """Read a PDF file, never more than ``max_bytes`` + 1 bytes into memory.

    The size a file reports is not trusted (a pipe or a device says 0): the
    read itself is bounded.
    """
    try:
        with path.open("rb") as fh:
            data = fh.read(max_bytes + 1)
    except OSError as exc:
        raise DocumentError(f"cannot read {path}: {exc.strerror}") from exc
    if len(data) > max_bytes:
        raise DocumentError(f"document is over the limit of {_megabytes(max_bytes)}")
    return data


def vet_pdf(data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> VettedPdf:
    if len(data) > max_bytes:
        raise DocumentError(
            f"document is {_megabytes(len(data))}, over the limit of {_megabytes(max_bytes)}"
        )
    if not data.lstrip()[:5] == b"%PDF-":
        raise DocumentError("not a PDF (no %PDF- header)")
    if b"%%EOF" not in data[-2048:]:
        raise DocumentError("PDF is truncated (no %%EOF at the end)")
    try:
        reader = PdfFileReader(BytesIO(data), strict=False)
        if reader.encrypted:
            raise DocumentError("PDF is encrypted; send the unencrypted result")
        page_count = _count_pages(reader)
        signatures = list(reader.embedded_regular_signatures)
    except DocumentError:
        raise
    except Exception as exc:  # pyHanko raises many types on malformed input, zlib.error too
        raise DocumentError(f"PDF is corrupt: {_describe(exc)}") from exc
    if page_count < 1:
        raise DocumentError("PDF has no pages")
    signature_fields = {sig.field_name for sig in signatures}
    for sig in signatures:
        _check_existing_signature(sig, signature_fields)
    # after the signatures: a change under a signature is tampering, not mere damage
    try:
        _read_every_object(data, reader)
    except Exception as exc:
        raise DocumentError(f"PDF is corrupt: {_describe(exc)}") from exc
    return VettedPdf(data, page_count, len(signatures), reader)


def open_vetted(data: bytes) -> VettedPdf:
    """Open bytes that passed ``vet_pdf`` before (the service vets at intake): no checks again.

    Vetting is half the cost of a signature; the service pays it once, in the
    intake process, and its signing workers open the stored bytes as they are.
    """
    reader = PdfFileReader(BytesIO(data), strict=False)
    return VettedPdf(data, -1, -1, reader)


def _check_existing_signature(sig: EmbeddedPdfSignature, signature_fields: set[str]) -> None:
    """The bytes it signed are unchanged, and nothing but signing happened after it.

    Integrity only, no certificate path: whose key made the official's
    signature is not ours to judge (and building a path would log the
    official's name in pyHanko's warnings).
    """
    name = sig.field_name
    try:
        sig.compute_integrity_info(diff_policy=DEFAULT_DIFF_POLICY)
        intact, valid = validate_sig_integrity(
            sig.signer_info, sig.signer_cert, "data", sig.compute_digest()
        )
        integrity = sig.summarise_integrity_info()
    except Exception as exc:  # pyHanko raises several types for unreadable CMS
        raise DocumentError(
            f"existing signature {name!r} cannot be read: {_describe(exc)}"
        ) from exc
    if not (intact and valid):
        raise DocumentError(
            f"existing signature {name!r} is broken: the bytes it signed were changed"
        )
    diff = integrity["diff_result"]
    level = diff.modification_level if isinstance(diff, DiffResult) else ModificationLevel.OTHER
    # FORM_FILLING also covers a text field whose value was changed: only signature
    # fields may have changed since (another signature is the one edit allowed)
    changed = set(diff.changed_form_fields) if isinstance(diff, DiffResult) else set()
    other_fields = sorted(changed - signature_fields)
    if level > ModificationLevel.FORM_FILLING or other_fields or integrity["docmdp_ok"] is False:
        what = f"form field {other_fields[0]!r} changed" if other_fields else "an edit"
        raise DocumentError(
            f"existing signature {name!r} is broken: the document was changed after it was "
            f"signed ({what} in an incremental update that is not another signature)"
        )
    if sig.docmdp_level is MDPPerm.NO_CHANGES:
        # the author certified the document as final: adding a signature would break that
        raise DocumentError(
            f"existing signature {name!r} certifies the document with no changes allowed; "
            "it cannot be signed again"
        )


def _megabytes(size: int) -> str:
    return f"{size / 1024 / 1024:.2f} MB ({size} bytes)"


def _describe(exc: Exception) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


def _count_pages(reader: PdfFileReader) -> int:
    """Walk the whole page tree as pyHanko will when stamping; every ``/Count`` must be right."""
    return _count_kids(reader.root.raw_get("/Pages"), set())


def _count_kids(node_ref: object, seen: set[generic.Reference]) -> int:
    if not isinstance(node_ref, generic.IndirectObject) or node_ref.reference in seen:
        raise DocumentError("PDF is corrupt: the page tree is malformed")
    node = node_ref.reference.get_object()
    if not isinstance(node, generic.DictionaryObject):
        raise DocumentError("PDF is corrupt: a page tree node is not a dictionary")
    if node.get("/Type") == "/Page":
        return 1
    if node.get("/Type") != "/Pages":
        raise DocumentError(f"PDF is corrupt: {node.get('/Type')} in the page tree")
    seen = seen | {node_ref.reference}
    pages = sum(_count_kids(kid, seen) for kid in node["/Kids"])
    if pages != int(node["/Count"]):
        raise DocumentError(
            f"PDF is corrupt: a page tree node holds {pages} pages but says {node['/Count']}"
        )
    return pages


def _read_every_object(data: bytes, reader: PdfFileReader) -> None:
    """Every object the file declares parses and its non-image streams decode.

    pyHanko reads objects lazily and only those it needs; without this,
    damage elsewhere would surface in the middle of signing, or pass unseen
    into a signed document that other readers then choke on. First qpdf
    (through pikepdf), an independent parser in C++: the whole file in about
    1 ms where pyHanko's own parser takes 8, half the cost of a signature.
    When qpdf reads it all without a word, the file is sound. qpdf also
    warns about harmless oddities (a page without /Resources, a duplicated
    key, a wrong /Size); then pyHanko's parser decides, as before.
    """
    if _qpdf_reads_cleanly(data):
        return
    _pyhanko_reads_every_object(reader)


def _qpdf_reads_cleanly(data: bytes) -> bool:
    try:
        with pikepdf.open(BytesIO(data), attempt_recovery=False) as pdf:
            for obj in pdf.objects:
                if isinstance(obj, pikepdf.Stream) and obj.get("/Subtype") != "/Image":
                    obj.read_bytes()
            return not pdf.get_warnings()
    except Exception:  # pikepdf.PdfError and friends: let pyHanko say what is wrong
        return False


def _pyhanko_reads_every_object(reader: PdfFileReader) -> None:
    """Parse every object the file declares and decode its non-image streams.

    pyHanko reads objects lazily: without this, damage in an object the check
    did not touch surfaces later, in the middle of signing, as a crash.
    """
    refs: set[generic.Reference] = set()
    for revision in range(reader.xrefs.total_revisions):
        refs |= reader.xrefs.explicit_refs_in_revision(revision)
    for ref in sorted(refs, key=lambda r: (r.idnum, r.generation)):
        obj = ref.get_object()
        if isinstance(obj, generic.StreamObject) and obj.get("/Subtype") != "/Image":
            try:
                obj.data  # noqa: B018 - decoding is the check
            except NotImplementedError:
                continue  # a filter pyHanko does not decode (e.g. LZW): not damage
