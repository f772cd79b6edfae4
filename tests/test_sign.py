"""Signing a result: every output is checked by pyHanko, pdfsig, mutool, pdftotext and zbarimg."""

from __future__ import annotations

import hashlib
import json
import subprocess
from datetime import datetime
from io import BytesIO
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import signers
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.validation.status import SignatureCoverageLevel

from keys.devpki import generate
from keys.keydir import KeyDir
from keys.local import KeyPair, PreparedSigner
from keys.trust import TrustList
from plumbing.vietnam import VIETNAM_TIME
from seal import seal_from_text, verify_seal
from signer.document import SignedResult
from signer.metadata import ResultMetadata
from signer.runtime import SigningRuntime
from tests.pdfs import result_pdf, scanned_pdf
from tests.service import PUBLIC_URL
from tests.validators import (
    QR_ONLY,
    mutool_verify,
    pdfsig,
    pdftotext,
    pyhanko_statuses,
    read_qr,
    render_page,
    scan_codes,
)


@pytest.fixture
def signed_file(tmp_path: Path, signed: SignedResult) -> Path:
    path = tmp_path / "signed.pdf"
    path.write_bytes(signed.pdf)
    return path


def _seal_keys(trust_list: TrustList) -> dict[bytes, ec.EllipticCurvePublicKey]:
    return {key.kid: key.public_key for key in trust_list.seal_keys}


def test_pyhanko_accepts_the_signature_as_trusted_and_whole(
    signed: SignedResult, roots: list[x509.Certificate]
) -> None:
    (status,) = pyhanko_statuses(signed.pdf, roots)
    assert status.bottom_line, status.pretty_print_details()
    assert status.intact
    assert status.valid
    assert status.trusted
    assert status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    assert status.signer_reported_dt == signed.signed_at


def test_pdfsig_says_valid_trusted_and_total(signed_file: Path, nssdb: Path) -> None:
    (sig,) = pdfsig(signed_file, nssdb)
    assert sig.valid, sig.raw
    assert sig.trusted, sig.raw
    assert sig.total_document, sig.raw
    assert sig.common_name == "Ủy ban nhân dân huyện Vân Đồn"
    assert "ETSI.CAdES.detached" in sig.raw  # PAdES, not adbe.pkcs7.detached


def test_mutool_says_unchanged(signed_file: Path) -> None:
    report = mutool_verify(signed_file)
    assert "The document is unchanged since signing." in report, report


def test_qr_on_the_rendered_page_is_the_seal_url_and_verifies(
    signed_file: Path, signed: SignedResult, tmp_path: Path, trust_list: TrustList
) -> None:
    text = read_qr(signed_file, tmp_path, dpi=100)
    assert text == signed.seal_url
    assert text.startswith(PUBLIC_URL.upper() + "/V/")
    claims = verify_seal(seal_from_text(text), _seal_keys(trust_list))
    assert claims.dossier_code == "000.00.14.H49-220301-0012"
    assert claims.result_no == 1
    assert claims.agency_code == "000.00.14.H49"
    assert claims.procedure_code == "1.004227"
    assert claims.signed_at == signed.signed_at


def test_a_seal_binds_its_own_document_and_no_other(
    runtime: SigningRuntime, metadata: ResultMetadata, signed: SignedResult, trust_list: TrustList
) -> None:
    other = runtime.sign(result_pdf(trailing_text="(bản khác)"), metadata)
    claims = verify_seal(signed.seal, _seal_keys(trust_list))
    assert claims.binds(signed.pdf)
    assert not claims.binds(other.pdf)  # a genuine seal copied onto another document
    other_claims = verify_seal(other.seal, _seal_keys(trust_list))
    assert other_claims.binds(other.pdf)
    assert not other_claims.binds(signed.pdf)


def test_seal_digest_binds_the_original_bytes_which_prefix_the_signed_file(
    signed: SignedResult, example_pdf: bytes, trust_list: TrustList
) -> None:
    claims = verify_seal(signed.seal, _seal_keys(trust_list))
    assert claims.doc_length == len(example_pdf)
    assert signed.pdf[: claims.doc_length] == example_pdf
    assert hashlib.sha256(signed.pdf[: claims.doc_length]).digest()[:16] == claims.doc_digest


def test_stamp_text_extracts_with_vietnamese_diacritics(
    signed_file: Path, signed: SignedResult
) -> None:
    text = pdftotext(signed_file)
    assert "Ủy ban nhân dân huyện Vân Đồn" in text
    assert "Mã hồ sơ: 000.00.14.H49-220301-0012" in text
    assert "Mã kết quả: 000.00.14.H49-220301-0012-KQ1" in text
    assert f"Mã xác thực: {signed.verification_code}" in text
    assert f"Thời gian ký: {signed.signed_at:%d/%m/%Y %H:%M:%S} +07:00" in text


def test_signing_time_is_shown_in_vietnam_time(
    runtime: SigningRuntime, example_pdf: bytes, metadata: ResultMetadata, tmp_path: Path
) -> None:
    fixed = datetime.fromisoformat("2026-03-14T03:00:00+00:00")
    result = runtime.sign(example_pdf, metadata, now=fixed)
    path = tmp_path / "fixed.pdf"
    path.write_bytes(result.pdf)
    assert "Thời gian ký: 14/03/2026 10:00:00 +07:00" in pdftotext(path)
    assert result.signed_at.utcoffset() == VIETNAM_TIME.utcoffset(None)


def test_flipped_byte_after_signing_is_caught_by_every_validator(
    signed: SignedResult, roots: list[x509.Certificate], tmp_path: Path, nssdb: Path
) -> None:
    tampered = bytearray(signed.pdf)
    tampered[len(tampered) // 3] ^= 0x01
    path = tmp_path / "flipped.pdf"
    path.write_bytes(bytes(tampered))
    (status,) = pyhanko_statuses(bytes(tampered), roots)
    assert not status.intact
    assert not status.bottom_line
    (sig,) = pdfsig(path, nssdb)
    assert not sig.valid
    assert "unchanged since signing" not in mutool_verify(path)


def test_page_content_added_after_signing_is_caught(
    signed: SignedResult, roots: list[x509.Certificate], tmp_path: Path, nssdb: Path
) -> None:
    writer = IncrementalPdfFileWriter(BytesIO(signed.pdf))
    writer.add_stream_to_page(
        0, writer.add_object(generic.StreamObject(stream_data=b"1 0 0 rg 72 400 300 60 re f"))
    )
    out = BytesIO()
    writer.write(out)
    path = tmp_path / "edited.pdf"
    path.write_bytes(out.getvalue())

    (status,) = pyhanko_statuses(out.getvalue(), roots)
    assert status.intact  # the signed bytes are untouched...
    assert status.modification_level == ModificationLevel.OTHER  # ...but the page changed
    assert not status.bottom_line
    (sig,) = pdfsig(path, nssdb)
    assert not sig.total_document
    assert "edits since signing" in mutool_verify(path)


def _official_signed(pdf: bytes) -> bytes:
    """The responsible official's own signature, from another CA, before the agency's."""
    official = generate(agency_name="Trần Thị Bình")
    pair = KeyPair(official.signing.key, official.signing.cert, (official.issuing.cert,))
    out = signers.sign_pdf(
        IncrementalPdfFileWriter(BytesIO(pdf)),
        signers.PdfSignatureMetadata(field_name="Official", subfilter=None),
        signer=PreparedSigner(pair),
    )
    return bytes(out.getbuffer())


def test_existing_signature_stays_valid_after_the_agency_signs(
    runtime: SigningRuntime,
    metadata: ResultMetadata,
    tmp_path: Path,
    nssdb: Path,
    roots: list[x509.Certificate],
) -> None:
    first = _official_signed(result_pdf())
    result = runtime.sign(first, metadata)
    path = tmp_path / "two.pdf"
    path.write_bytes(result.pdf)

    official, agency = pdfsig(path, nssdb)
    assert official.field == "Official"
    assert official.valid
    assert not official.total_document
    assert agency.valid
    assert agency.trusted
    assert agency.total_document
    assert mutool_verify(path).count("The document is unchanged since signing.") == 1

    official_status, agency_status = pyhanko_statuses(result.pdf, roots)
    assert official_status.intact
    assert official_status.valid
    # the agency's update adds a signature with its stamp, nothing else
    assert official_status.modification_level <= ModificationLevel.FORM_FILLING
    assert agency_status.bottom_line


def test_broken_existing_signature_is_refused(
    runtime: SigningRuntime, metadata: ResultMetadata
) -> None:
    from signer.errors import DocumentError

    first = bytearray(_official_signed(result_pdf()))
    first[len(first) // 4] ^= 0x01
    with pytest.raises(DocumentError, match="existing signature 'Official' is broken"):
        runtime.sign(bytes(first), metadata)


def test_content_added_after_the_officials_signature_is_refused(
    runtime: SigningRuntime, metadata: ResultMetadata
) -> None:
    # the official's bytes are intact, but page content was appended afterwards:
    # the agency must not countersign that
    from signer.errors import DocumentError

    writer = IncrementalPdfFileWriter(BytesIO(_official_signed(result_pdf())))
    writer.add_stream_to_page(
        0, writer.add_object(generic.StreamObject(stream_data=b"0 0 1 rg 72 400 200 40 re f"))
    )
    out = BytesIO()
    writer.write(out)
    with pytest.raises(DocumentError, match="changed after it was signed"):
        runtime.sign(out.getvalue(), metadata)


def test_a_second_signature_after_the_officials_is_accepted(
    runtime: SigningRuntime, metadata: ResultMetadata, roots: list[x509.Certificate]
) -> None:
    # signing is the one kind of update allowed after an existing signature
    twice = runtime.sign(runtime.sign(_official_signed(result_pdf()), metadata).pdf, metadata)
    statuses = pyhanko_statuses(twice.pdf, roots)
    assert len(statuses) == 3
    assert statuses[-1].bottom_line


def test_stamp_goes_on_the_last_page(
    runtime: SigningRuntime, metadata: ResultMetadata, tmp_path: Path
) -> None:
    result = runtime.sign(result_pdf(pages=3), metadata)
    path = tmp_path / "three.pdf"
    path.write_bytes(result.pdf)
    assert read_qr(path, tmp_path, page=3) == result.seal_url
    assert "Mã xác thực" not in pdftotext(path).split("\f")[0]


def test_metadata_of_another_agency_is_refused(
    runtime: SigningRuntime, example_pdf: bytes
) -> None:
    from signer.errors import MetadataError
    from signer.metadata import parse_metadata
    from tests.pdfs import example_metadata

    other = example_metadata()
    other["agency"] = {"code": "000.00.15.H49", "name": "Ủy ban nhân dân huyện Cô Tô"}
    other["dossier_code"] = "000.00.15.H49-220301-0012"  # its own dossier, consistent
    with pytest.raises(MetadataError) as raised:
        runtime.sign(example_pdf, parse_metadata(json.dumps(other)))
    assert raised.value.field == "agency.code"
    assert "these keys sign for 000.00.14.H49" in str(raised.value)


def test_a_seal_key_missing_from_the_trust_list_is_refused(keydir: KeyDir, tmp_path: Path) -> None:
    import shutil

    from keys.agency import load_agency_keys
    from keys.errors import KeyMaterialError

    copy = tmp_path / "keys"
    shutil.copytree(keydir.root, copy)
    (copy / "public" / "trust-list.json").write_bytes(
        TrustList(seal_keys=(), document_roots=()).to_json()
    )
    with pytest.raises(KeyMaterialError, match=r"seal key .* is not listed"):
        load_agency_keys(copy)


@pytest.mark.parametrize(
    "qpdf_option", ["--object-streams=generate", "--linearize", "--qdf", "--compress-streams=n"]
)
def test_inputs_written_by_another_pdf_library_sign_and_validate(
    qpdf_option: str,
    runtime: SigningRuntime,
    metadata: ResultMetadata,
    example_pdf: bytes,
    tmp_path: Path,
    nssdb: Path,
) -> None:
    # object streams, linearisation, uncompressed streams: structures our own
    # test PDFs do not have, as qpdf writes them
    source, rewritten = tmp_path / "in.pdf", tmp_path / "rewritten.pdf"
    source.write_bytes(example_pdf)
    subprocess.run(["qpdf", qpdf_option, str(source), str(rewritten)], check=True)
    result = runtime.sign(rewritten.read_bytes(), metadata)
    signed = tmp_path / "signed.pdf"
    signed.write_bytes(result.pdf)
    (sig,) = pdfsig(signed, nssdb)
    assert sig.valid
    assert sig.trusted
    assert sig.total_document
    assert "The document is unchanged since signing." in mutool_verify(signed)
    assert read_qr(signed, tmp_path) == result.seal_url


@pytest.mark.parametrize("rotation", [90, 180, 270])
def test_stamp_reads_upright_on_a_rotated_page(
    rotation: int,
    runtime: SigningRuntime,
    metadata: ResultMetadata,
    example_pdf: bytes,
    tmp_path: Path,
    nssdb: Path,
) -> None:
    source, rotated = tmp_path / "in.pdf", tmp_path / "rotated.pdf"
    source.write_bytes(example_pdf)
    subprocess.run(["qpdf", f"--rotate=+{rotation}", str(source), str(rotated)], check=True)
    result = runtime.sign(rotated.read_bytes(), metadata)
    signed = tmp_path / "signed.pdf"
    signed.write_bytes(result.pdf)
    (sig,) = pdfsig(signed, nssdb)
    assert sig.valid
    assert sig.total_document
    # rendered as a viewer shows the page, the QR (and the stamp around it) is upright
    png = render_page(signed, tmp_path)
    xml = subprocess.run(
        ["zbarimg", "--xml", "-q", "--nodbus", *QR_ONLY, str(png)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "orientation='UP'" in xml
    assert result.seal_url in xml
    # ...and sits in the bottom-right corner of the page as shown
    from PIL import Image

    page = Image.open(png)
    corner = page.crop((int(page.width * 0.35), int(page.height * 0.55), page.width, page.height))
    corner.save(tmp_path / "corner.png")
    assert scan_codes(tmp_path / "corner.png") == [result.seal_url]


def _with_text_field(pdf: bytes) -> bytes:
    """The result with a fillable text field "Note" on page 1."""
    writer = IncrementalPdfFileWriter(BytesIO(pdf))
    page_ref = writer.root["/Pages"]["/Kids"][0]
    field = writer.add_object(
        generic.DictionaryObject(
            {
                generic.pdf_name("/FT"): generic.pdf_name("/Tx"),
                generic.pdf_name("/T"): generic.pdf_string("Note"),
                generic.pdf_name("/V"): generic.pdf_string("3 tầng"),
                generic.pdf_name("/Type"): generic.pdf_name("/Annot"),
                generic.pdf_name("/Subtype"): generic.pdf_name("/Widget"),
                generic.pdf_name("/Rect"): generic.ArrayObject(
                    generic.NumberObject(v) for v in (72, 500, 272, 520)
                ),
                generic.pdf_name("/P"): page_ref,
            }
        )
    )
    page = page_ref.get_object()
    page[generic.pdf_name("/Annots")] = generic.ArrayObject([field])
    writer.update_container(page)
    writer.root[generic.pdf_name("/AcroForm")] = generic.DictionaryObject(
        {generic.pdf_name("/Fields"): generic.ArrayObject([field])}
    )
    writer.update_root()
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


def test_a_form_field_changed_after_the_officials_signature_is_refused(
    runtime: SigningRuntime, metadata: ResultMetadata
) -> None:
    from signer.errors import DocumentError

    writer = IncrementalPdfFileWriter(BytesIO(_official_signed(_with_text_field(result_pdf()))))
    field = writer.root["/AcroForm"]["/Fields"][0].get_object()
    field[generic.pdf_name("/V")] = generic.pdf_string("30 tầng")
    writer.update_container(field)
    out = BytesIO()
    writer.write(out)
    with pytest.raises(DocumentError, match="form field 'Note' changed"):
        runtime.sign(out.getvalue(), metadata)


def test_a_document_certified_as_final_is_refused(
    runtime: SigningRuntime, metadata: ResultMetadata
) -> None:
    from pyhanko.sign import fields

    from signer.errors import DocumentError

    official = generate(agency_name="Trần Thị Bình")
    pair = KeyPair(official.signing.key, official.signing.cert, (official.issuing.cert,))
    certified = signers.sign_pdf(
        IncrementalPdfFileWriter(BytesIO(result_pdf())),
        signers.PdfSignatureMetadata(
            field_name="Official", certify=True, docmdp_permissions=fields.MDPPerm.NO_CHANGES
        ),
        signer=PreparedSigner(pair),
    )
    with pytest.raises(DocumentError, match="no changes allowed"):
        runtime.sign(bytes(certified.getbuffer()), metadata)


def _mupdf_page(path: Path) -> None:
    """A page written by MuPDF's own PDF writer (`mutool create`)."""
    page = path.with_suffix(".txt")
    page.write_text(
        "%%MediaBox 0 0 595 842\n%%Font F1 Helvetica\nBT /F1 14 Tf 72 770 Td (Ket qua) Tj ET\n"
    )
    subprocess.run(["mutool", "create", "-o", str(path), str(page)], check=True)


def _poppler_pages(path: Path, example_pdf: bytes) -> None:
    """Two results joined by poppler's `pdfunite` (cairo-free, poppler's writer)."""
    one = path.with_name("one.pdf")
    one.write_bytes(example_pdf)
    subprocess.run(["pdfunite", str(one), str(one), str(path)], check=True)


@pytest.mark.parametrize("make", [scanned_pdf, _mupdf_page, "poppler"])
def test_pdfs_from_other_writers_sign_and_validate(
    make: object,
    runtime: SigningRuntime,
    metadata: ResultMetadata,
    example_pdf: bytes,
    tmp_path: Path,
    nssdb: Path,
    roots: list[x509.Certificate],
) -> None:
    source = tmp_path / "source.pdf"
    if make == "poppler":
        _poppler_pages(source, example_pdf)
    else:
        assert callable(make)
        make(source)
    result = runtime.sign(source.read_bytes(), metadata)
    signed = tmp_path / "signed.pdf"
    signed.write_bytes(result.pdf)
    (status,) = pyhanko_statuses(result.pdf, roots)
    assert status.bottom_line
    (sig,) = pdfsig(signed, nssdb)
    assert sig.valid
    assert sig.trusted
    assert sig.total_document
    assert "The document is unchanged since signing." in mutool_verify(signed)
    assert read_qr(signed, tmp_path) == result.seal_url


def _signature_rects(pdf: bytes) -> list[tuple[float, ...]]:
    reader = PdfFileReader(BytesIO(pdf), strict=False)
    return [tuple(float(v) for v in sig.sig_field["/Rect"]) for sig in reader.embedded_signatures]


def test_signing_a_signed_result_again_puts_the_new_stamp_beside_the_old(
    runtime: SigningRuntime, metadata: ResultMetadata, signed: SignedResult, tmp_path: Path
) -> None:
    again = runtime.sign(signed.pdf, metadata)
    first, second = _signature_rects(again.pdf)
    assert first[3] <= second[1] or second[3] <= first[1]  # one above the other, no overlap
    path = tmp_path / "twice.pdf"
    path.write_bytes(again.pdf)
    codes = scan_codes(render_page(path, tmp_path))
    assert sorted(codes) == sorted([signed.seal_url, again.seal_url])


def test_an_explicit_position_over_an_existing_signature_is_refused(
    keydir: KeyDir, metadata: ResultMetadata, signed: SignedResult
) -> None:
    from signer.document import SignOptions
    from signer.errors import PlacementError
    from signer.placement import Placement
    from signer.runtime import KeySource, RuntimeConfig

    options = SignOptions(public_url=PUBLIC_URL, placement=Placement(x=200, y=60))
    with (
        SigningRuntime(RuntimeConfig(KeySource(keydir.root), options)) as runtime,
        pytest.raises(PlacementError, match="would cover the signature 'KetQuaAgencySignature'"),
    ):
        runtime.sign(signed.pdf, metadata)
