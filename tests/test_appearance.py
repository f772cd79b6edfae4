"""The signed result as Decree 30/2020, Appendix I wants it, read back from the PDF.

The agency's seal in red at its actual size, opaque, over the left third of
the official's signature (or in the template's field, or beside the block);
a verification block in black serif type of 7 pt or more with the codes a
reader checks; an electronic copy's text-only form at the top right of its
first page. Every output is checked by pyHanko, pdfsig and mutool, its QR
read back with zbarimg from a 100 dpi render; the renders are kept.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path
from typing import Any

import pikepdf
import pytest
from cryptography import x509
from PIL import Image, ImageDraw
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields

from keys.keydir import KeyDir
from signer.document import SignOptions
from signer.metadata import ResultMetadata, parse_metadata
from signer.placement import MM, Placement
from signer.runtime import KeySource, RuntimeConfig, SigningRuntime
from tests.officials import SIGNATURE_BOX, hierarchy, official_signed
from tests.pdfs import example_metadata
from tests.service import PUBLIC_URL
from tests.validators import (
    mutool_verify,
    pdfsig,
    pdftotext,
    pyhanko_statuses,
    read_qr,
    render_page,
    scan_codes,
)

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
SEAL_MM = 36.0


def red_seal_png(path: Path, *, opaque_paper: bool = False) -> Path:
    """A round red seal: transparent around the ink, or a flat scan on yellowish paper."""
    size = 420
    paper = (220, 210, 200, 255) if opaque_paper else (0, 0, 0, 0)
    img = Image.new("RGBA", (size, size), paper)
    draw = ImageDraw.Draw(img)
    red = (200, 16, 16, 255)
    draw.ellipse((6, 6, size - 6, size - 6), outline=red, width=16)
    draw.ellipse((110, 110, size - 110, size - 110), fill=red)
    img.save(path)
    return path


@pytest.fixture(scope="module")
def sealing(keydir: KeyDir, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SigningRuntime]:
    seal = red_seal_png(tmp_path_factory.mktemp("seal") / "seal.png")
    config = RuntimeConfig(
        KeySource(keydir.root), SignOptions(public_url=PUBLIC_URL), seal_image=seal
    )
    with SigningRuntime(config) as runtime:
        yield runtime


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _sound(path: Path, nssdb: Path, roots: list[x509.Certificate], *, signatures: int = 1) -> None:
    """Every independent validator takes the agency's (last) signature."""
    statuses = pyhanko_statuses(path.read_bytes(), roots)
    assert len(statuses) == signatures
    assert statuses[-1].bottom_line
    found = pdfsig(path, nssdb)
    assert found[-1].valid
    assert found[-1].trusted
    assert found[-1].total_document
    assert "The document is unchanged since signing." in mutool_verify(path)


def _annotations(path: Path, page: int = -1) -> list[Any]:
    with pikepdf.open(path) as pdf:
        return [
            {
                "subtype": str(a.get("/Subtype")),
                "name": str(a.get("/T", a.get("/Name", ""))),
                "rect": [float(v) for v in a.Rect],
                "stream": _appearance_ops(a),
                "fonts": _fonts(a),
                "images": _images(a),
            }
            for a in pdf.pages[page].get("/Annots", [])
        ]


def _appearance_ops(annot: Any) -> list[tuple[list[Any], str]]:
    normal = annot.AP.N
    return [
        (list(item.operands), str(item.operator))
        for item in pikepdf.parse_content_stream(normal)
        if isinstance(item, pikepdf.ContentStreamInstruction)
    ]


def _resources(annot: Any, kind: str) -> dict[str, Any]:
    resources = annot.AP.N.get("/Resources", {})
    return {str(k): v for k, v in dict(resources.get(kind, {})).items()}


def _seal_rect(widget: dict[str, Any]) -> tuple[float, float, float, float]:
    """Where the seal image is drawn, in page space (the ``cm`` before ``/KQSeal Do``)."""
    ops = widget["stream"]
    at = next(
        i for i, (operands, op) in enumerate(ops) if op == "Do" and str(operands[0]) == "/KQSeal"
    )
    w, _, _, h, x, y = (float(v) for v in ops[at - 1][0])
    x0, y0 = widget["rect"][0], widget["rect"][1]
    return (x0 + x, y0 + y, x0 + x + w, y0 + y + h)


def _frame_rect(widget: dict[str, Any]) -> tuple[float, float, float, float]:
    """The verification block's frame, in page space."""
    x, y, w, h = next(
        (float(v) for v in operands) for operands, op in widget["stream"] if op == "re"
    )
    x0, y0 = widget["rect"][0], widget["rect"][1]
    return (x0 + x, y0 + y, x0 + x + w, y0 + y + h)


def _fonts(annot: Any) -> list[str]:
    return [str(font.BaseFont) for font in _resources(annot, "/Font").values()]


def _images(annot: Any) -> list[tuple[int, int]]:
    return [
        (int(x.Width), int(x.Height))
        for x in _resources(annot, "/XObject").values()
        if x.get("/Subtype") == "/Image"
    ]


def _text_sizes(ops: list[tuple[list[Any], str]]) -> set[float]:
    return {float(operands[1]) for operands, op in ops if op == "Tf"}


def _fill_colours(ops: list[tuple[list[Any], str]]) -> set[tuple[float, ...]]:
    return {tuple(float(v) for v in operands) for operands, op in ops if op == "rg"}


def _keep(path: Path, name: str, dpi: int, page: int = -1) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    png = render_page(path, path.parent, page=page, dpi=dpi)
    kept = ARTIFACTS / f"{name}-{dpi}dpi.png"
    kept.write_bytes(png.read_bytes())
    return kept


def test_the_block_shows_the_codes_in_black_serif_of_7_pt_or_more(
    runtime: SigningRuntime,
    example_pdf: bytes,
    metadata: ResultMetadata,
    tmp_path: Path,
    nssdb: Path,
    roots: list[x509.Certificate],
) -> None:
    signed = runtime.sign(example_pdf, metadata)
    path = _write(tmp_path, "block.pdf", signed.pdf)
    _sound(path, nssdb, roots)
    (widget,) = _annotations(path)  # no seal image: the block is the signature's appearance
    assert widget["name"] == "KetQuaAgencySignature"
    sizes = _text_sizes(widget["stream"])
    assert sizes
    assert min(sizes) >= 7.0
    assert _fill_colours(widget["stream"]) <= {(0.0, 0.0, 0.0), (1.0, 1.0, 1.0)}  # black (QR)
    assert widget["fonts"]
    assert all("LiberationSerif" in font for font in widget["fonts"])
    text = " ".join(pdftotext(path).split())
    for line in (
        "Ủy ban nhân dân huyện Vân Đồn",
        "Mã hồ sơ: 000.00.14.H49-220301-0012",
        "Mã kết quả: 000.00.14.H49-220301-0012-KQ1",
        "Số, ký hiệu văn bản: 125/QĐ-UBND",
        f"Mã xác thực: {signed.verification_code}",
        f"Thời gian ký: {signed.signed_at:%d/%m/%Y %H:%M:%S} +07:00",
    ):
        assert line in text, line
    assert read_qr(path, tmp_path) == signed.seal_url
    for dpi in (100, 300):
        kept = _keep(path, "stamp-block", dpi)
        assert scan_codes(kept) == [signed.seal_url]


def test_a_long_agency_name_wraps_and_stays_at_7_pt_or_more(
    runtime: SigningRuntime, example_pdf: bytes, tmp_path: Path
) -> None:
    words = "Bộ phận tiếp nhận và trả kết quả Ủy ban nhân dân huyện Vân Đồn tỉnh Quảng Ninh"
    name = ""
    while len(name) < 190:
        name = f"{name} {words}".strip()
    data = example_metadata()
    data["agency"] = {"code": "000.00.14.H49", "name": name[:200]}
    signed = runtime.sign(example_pdf, parse_metadata(json.dumps(data)))
    path = _write(tmp_path, "long.pdf", signed.pdf)
    (widget,) = _annotations(path)
    assert min(_text_sizes(widget["stream"])) >= 7.0
    x0, y0, x1, y1 = widget["rect"]
    bbox = subprocess.run(
        ["pdftotext", "-bbox", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    inside = []
    for wx0, wy0, wx1, wy1, word in re.findall(
        r'xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]+)<', bbox
    ):
        top, bottom = 842 - float(wy0), 842 - float(wy1)  # pdftotext counts from the top
        if float(wx0) >= x0 - 1 and y0 - 30 <= (top + bottom) / 2 <= y1 + 30:  # the block's
            inside.append(word)
            assert float(wx1) <= x1 + 0.5, word  # nothing past the frame
            assert top <= y1 + 0.5, word
            assert bottom >= y0 - 0.5, word
    assert " ".join(inside).startswith(name[:200].rsplit(" ", 1)[0])  # every word, in order
    assert read_qr(path, tmp_path) == signed.seal_url


def test_the_seal_is_red_opaque_and_at_its_actual_size(
    sealing: SigningRuntime,
    example_pdf: bytes,
    metadata: ResultMetadata,
    tmp_path: Path,
    nssdb: Path,
    roots: list[x509.Certificate],
) -> None:
    signed = sealing.sign(example_pdf, metadata)
    path = _write(tmp_path, "sealed.pdf", signed.pdf)
    _sound(path, nssdb, roots)
    # one widget spans the seal and the block: the signature adds nothing but itself
    (widget,) = _annotations(path)
    assert widget["subtype"] == "/Widget"
    x0, y0, x1, y1 = _seal_rect(widget)
    side = SEAL_MM * MM
    assert abs((x1 - x0) - side) <= 0.5
    assert abs((y1 - y0) - side) <= 0.5
    assert widget["images"]  # the seal image, drawn...
    assert not any(op == "gs" for _, op in widget["stream"])  # ...opaque: no transparency
    # it sits left of the verification block, level with it, not over it
    block = _frame_rect(widget)
    assert x1 <= block[0]
    assert block[1] <= (y0 + y1) / 2 <= block[3]
    # rendered: red ink at the seal's centre
    kept = _keep(path, "stamp-with-seal", 300)
    page = Image.open(kept).convert("RGB")
    centre = ((x0 + x1) / 2 / 72 * 300, (842 - (y0 + y1) / 2) / 72 * 300)
    pixel = page.getpixel((round(centre[0]), round(centre[1])))
    assert isinstance(pixel, tuple)
    assert pixel[0] > 180
    assert max(pixel[1], pixel[2]) < 60
    _keep(path, "stamp-with-seal", 100)
    assert read_qr(path, tmp_path) == signed.seal_url


def test_the_seal_size_is_the_operators(
    keydir: KeyDir, example_pdf: bytes, metadata: ResultMetadata, tmp_path: Path
) -> None:
    seal = red_seal_png(tmp_path / "seal.png")
    config = RuntimeConfig(
        KeySource(keydir.root),
        SignOptions(public_url=PUBLIC_URL),
        seal_image=seal,
        seal_size_mm=42.0,
    )
    with SigningRuntime(config) as runtime:
        path = _write(tmp_path, "big.pdf", runtime.sign(example_pdf, metadata).pdf)
    (widget,) = _annotations(path)
    x0, _, x1, _ = _seal_rect(widget)
    assert abs((x1 - x0) - 42.0 * MM) <= 0.5


def test_the_seal_covers_the_left_third_of_the_officials_signature(
    sealing: SigningRuntime,
    example_pdf: bytes,
    metadata: ResultMetadata,
    tmp_path: Path,
    nssdb: Path,
    roots: list[x509.Certificate],
) -> None:
    national = hierarchy()
    first = official_signed(example_pdf, national)
    signed = sealing.sign(first, metadata)
    path = _write(tmp_path, "official-and-seal.pdf", signed.pdf)
    statuses = pyhanko_statuses(signed.pdf, [*roots, national.root])
    assert [s.bottom_line for s in statuses] == [True, True]
    official, agency = pdfsig(path, nssdb)
    assert official.valid  # intact (its root is not in this NSS database)
    assert agency.valid
    assert agency.trusted
    widgets = {a["name"]: a for a in _annotations(path)}
    assert set(widgets) == {"ChuKyLanhDao", "KetQuaAgencySignature"}  # nothing else added
    ox0, oy0, ox1, oy1 = widgets["ChuKyLanhDao"]["rect"]
    assert (ox0, oy0, ox1, oy1) == tuple(float(v) for v in SIGNATURE_BOX)
    sx0, sy0, sx1, sy1 = _seal_rect(widgets["KetQuaAgencySignature"])
    third = ox0 + (ox1 - ox0) / 3
    assert abs(sx1 - third) <= 1  # covering the left third of the signature...
    assert sx0 < ox0  # ...from its left
    assert abs((sy0 + sy1) / 2 - (oy0 + oy1) / 2) <= 1  # level with it
    bx0, _, bx1, by1 = _frame_rect(widgets["KetQuaAgencySignature"])
    assert by1 <= sy0 or bx1 <= sx0 or bx0 >= sx1  # the block does not cover the seal
    _keep(path, "official-and-seal", 300)
    _keep(path, "official-and-seal", 100)
    assert read_qr(path, tmp_path) == signed.seal_url


def _with_template_field(pdf: bytes, box: tuple[int, int, int, int]) -> bytes:
    writer = IncrementalPdfFileWriter(BytesIO(pdf))
    fields.append_signature_field(writer, fields.SigFieldSpec("agency_seal", on_page=0, box=box))
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


def test_the_templates_empty_field_is_where_the_agency_signs(
    sealing: SigningRuntime,
    example_pdf: bytes,
    metadata: ResultMetadata,
    tmp_path: Path,
    nssdb: Path,
    roots: list[x509.Certificate],
) -> None:
    box = (250, 230, 360, 340)
    signed = sealing.sign(_with_template_field(example_pdf, box), metadata)
    path = _write(tmp_path, "template.pdf", signed.pdf)
    _sound(path, nssdb, roots)
    kinds = sorted(str(a["subtype"]) for a in _annotations(path))
    assert kinds == ["/Stamp", "/Widget"]  # the field holds the seal; the block stands apart
    (seal,) = [a for a in _annotations(path) if a["subtype"] == "/Widget"]
    assert seal["name"] == "agency_seal"
    assert tuple(seal["rect"]) == tuple(float(v) for v in box)
    assert seal["images"]
    assert read_qr(path, tmp_path) == signed.seal_url


def test_an_opaque_seal_scan_loses_its_paper(
    keydir: KeyDir, example_pdf: bytes, metadata: ResultMetadata, tmp_path: Path
) -> None:
    scan = red_seal_png(tmp_path / "seal.png", opaque_paper=True).with_suffix(".jpg")
    Image.open(tmp_path / "seal.png").convert("RGB").save(scan, quality=92)
    config = RuntimeConfig(
        KeySource(keydir.root), SignOptions(public_url=PUBLIC_URL), seal_image=scan
    )
    with SigningRuntime(config) as runtime:
        path = _write(tmp_path, "scan.pdf", runtime.sign(example_pdf, metadata).pdf)
    (widget,) = _annotations(path)
    x0, _, _, y1 = _seal_rect(widget)
    page = Image.open(render_page(path, tmp_path, dpi=100)).convert("RGB")
    # just inside the seal's top-left corner, outside its ring: white page, no tinted block
    pixel = page.getpixel((round((x0 + 3) / 72 * 100), round((842 - y1 + 3) / 72 * 100)))
    assert isinstance(pixel, tuple)
    assert min(pixel[:3]) >= 250


def _copy_metadata(form: str) -> ResultMetadata:
    data = example_metadata()
    data["copy"] = {
        "form": form,
        "original": "Giấy chứng nhận quyền sử dụng đất số BX 123456 ngày 05/01/2012",
    }
    return parse_metadata(json.dumps(data, ensure_ascii=False))


@pytest.mark.parametrize(
    ("form", "first_line"), [("sao_y", "SAO Y"), ("attachment", "125/QĐ-UBND")]
)
def test_an_electronic_copy_is_signed_in_the_text_only_form_top_right(
    form: str,
    first_line: str,
    sealing: SigningRuntime,
    tmp_path: Path,
    nssdb: Path,
    roots: list[x509.Certificate],
) -> None:
    from tests.decision import decision_pdf

    original = decision_pdf(3, trailing_text=f"copy {form}")
    signed = sealing.sign(original, _copy_metadata(form))
    path = _write(tmp_path, f"copy-{form}.pdf", signed.pdf)
    _sound(path, nssdb, roots)
    (widget,) = [a for a in _annotations(path, page=0) if a["subtype"] == "/Widget"]
    x0, y0, x1, y1 = widget["rect"]
    assert x1 <= 595 - 15 * MM + 0.5  # within the right margin...
    assert y1 >= 842 - 20 * MM  # ...at the top of the first page
    assert not widget["images"]  # no image: text only (even with a seal configured)
    assert _text_sizes(widget["stream"]) == {10.0}
    assert _fill_colours(widget["stream"]) == {(0.0, 0.0, 0.0)}
    crop = subprocess.run(
        [
            "pdftotext",
            "-f",
            "1",
            "-l",
            "1",
            "-x",
            str(round(x0)),
            "-y",
            str(round(842 - y1)),
            "-W",
            str(round(x1 - x0) + 1),
            "-H",
            str(round(y1 - y0) + 1),
            "-r",
            "72",
            str(path),
            "-",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\n")
    lines = [line.strip() for line in crop if line.strip()]
    assert lines[0] == first_line
    assert "Ủy ban nhân dân huyện Vân Đồn" in lines
    assert lines[-1] == signed.signed_at.isoformat(timespec="seconds")
    assert lines[-1].endswith("+07:00")
    # the QR seal: in the verification block on the last page
    assert read_qr(path, tmp_path) == signed.seal_url
    _keep(path, f"copy-{form}", 300, page=1)
    _keep(path, f"copy-{form}", 100, page=1)


def test_a_seal_position_the_operator_names(
    keydir: KeyDir, example_pdf: bytes, metadata: ResultMetadata, tmp_path: Path
) -> None:
    seal = red_seal_png(tmp_path / "seal.png")
    options = SignOptions(public_url=PUBLIC_URL, placement=Placement(seal_x=90, seal_y=120))
    config = RuntimeConfig(KeySource(keydir.root), options, seal_image=seal)
    with SigningRuntime(config) as runtime:
        path = _write(tmp_path, "placed.pdf", runtime.sign(example_pdf, metadata).pdf)
    (widget,) = _annotations(path)
    assert _seal_rect(widget)[:2] == pytest.approx((90.0, 120.0), abs=0.5)


def test_ketqua_sign_copy_makes_the_copy_form_and_wants_the_original(
    keydir: KeyDir,
    metadata_file: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from ketqua.cli import main
    from tests.decision import decision_pdf

    source = _write(tmp_path, "ban-goc.pdf", decision_pdf(1, trailing_text="cli copy"))
    out = tmp_path / "ban-sao.pdf"
    base = ["sign", str(source), "-o", str(out), "--metadata", str(metadata_file)]
    base += ["--keys", str(keydir.root), "--copy", "sao_y"]
    assert main(base) == 2
    assert capsys.readouterr().err.strip().endswith("needs both --copy FORM and --original TEXT")
    assert not out.exists()
    assert main([*base, "--original", "Quyết định số 125/QĐ-UBND"]) == 0
    (widget,) = [a for a in _annotations(out, page=0) if a["subtype"] == "/Widget"]
    assert widget["rect"][3] >= 842 - 20 * MM
    first_page = subprocess.run(
        ["pdftotext", "-f", "1", "-l", "1", "-layout", str(out), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert first_page.lstrip().startswith("SAO Y")
