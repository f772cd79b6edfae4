"""PDFs for tests and the bundled example.

``result_pdf``: an A4 page of Vietnamese text (the example result);
``minimal_pdf``: one page written by hand, byte by byte, for malformed
variants; ``small_page_pdf``: a sound page too small for the stamp;
``scanned_pdf``: a page that is one image, as a scanner makes it.
"""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

from PIL import Image, ImageDraw
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.writer import PdfFileWriter

from signer.stamp.font import BOLD, REGULAR, prepare_font

A4 = (595, 842)

EXAMPLE_LINES = [
    ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", True, 12),
    ("Độc lập - Tự do - Hạnh phúc", True, 11),
    ("", False, 10),
    ("GIẤY PHÉP XÂY DỰNG", True, 16),
    ("Số: 12/GPXD", False, 11),
    ("", False, 10),
    ("Cấp cho: Ông Nguyễn Văn An", False, 11),
    ("Địa chỉ công trình: thôn Đông Trung, xã Đông Xá, huyện Vân Đồn, tỉnh Quảng Ninh", False, 10),
    ("Nội dung: xây dựng nhà ở riêng lẻ, 3 tầng, diện tích sàn 240 m²", False, 10),
    ("Mã hồ sơ: 000.00.14.H49-220301-0012", False, 10),
    ("", False, 10),
    ("Giấy phép có hiệu lực kể từ ngày ký.", False, 10),
]


# the document's own fonts, as the office suite that made it would embed them: every
# Latin letter (Latin-1, Extended-A/B and Additional), not only the stamp's Vietnamese
DOCUMENT_CHARACTERS = frozenset(
    cp
    for lo, hi in ((0x20, 0x7E), (0xA0, 0x24F), (0x300, 0x323), (0x1EA0, 0x1EF9), (0x2010, 0x203A))
    for cp in range(lo, hi + 1)
)


def result_pdf(
    lines: list[tuple[str, bool, int]] | None = None, *, pages: int = 1, trailing_text: str = ""
) -> bytes:
    """A small, valid result document; ``pages`` > 1 repeats the body."""
    regular, bold = (
        prepare_font(REGULAR, DOCUMENT_CHARACTERS),
        prepare_font(BOLD, DOCUMENT_CHARACTERS),
    )
    writer = PdfFileWriter()
    fonts = {False: regular.add_to(writer), True: bold.add_to(writer)}
    for number in range(pages):
        ops = []
        y = A4[1] - 72.0
        for text, is_bold, size in lines or EXAMPLE_LINES:
            if text:
                font = bold if is_bold else regular
                name = b"/B" if is_bold else b"/R"
                x = (A4[0] - font.width(text, size)) / 2 if is_bold else 72
                ops.append(
                    b"BT %s %d Tf %.1f %.1f Td %s Tj ET" % (name, size, x, y, font.encode(text))
                )
            y -= size * 1.6
        footer = f"Trang {number + 1}/{pages} {trailing_text}".strip()
        ops.append(b"BT /R 8 Tf 72 40 Td %s Tj ET" % regular.encode(footer))
        stream = generic.StreamObject(stream_data=b"\n".join(ops))
        resources = generic.DictionaryObject(
            {
                pdf_name("/Font"): generic.DictionaryObject(
                    {pdf_name("/R"): fonts[False], pdf_name("/B"): fonts[True]}
                )
            }
        )
        page = generic.DictionaryObject(
            {
                pdf_name("/Type"): pdf_name("/Page"),
                pdf_name("/MediaBox"): generic.ArrayObject(
                    [generic.NumberObject(0), generic.NumberObject(0)]
                    + [generic.NumberObject(v) for v in A4]
                ),
                pdf_name("/Resources"): resources,
                pdf_name("/Contents"): writer.add_object(stream),
            }
        )
        writer.insert_page(page)
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


def example_metadata() -> dict[str, object]:
    return {
        "dossier_code": "000.00.14.H49-220301-0012",
        "result_no": 1,
        "procedure": {"code": "1.004227", "name": "Cấp giấy phép xây dựng"},
        "agency": {"code": "000.00.14.H49", "name": "Ủy ban nhân dân huyện Vân Đồn"},
        "applicant": {"name": "Nguyễn Văn An", "email": "an.nguyen@example.vn"},
        "received_at": "2022-03-01T08:00:00+07:00",
        "due_at": "2022-03-15T17:00:00+07:00",
        "resolved_at": "2022-03-14T10:00:00+07:00",
        "document_number": "125/QĐ-UBND",
        "document_date": "2022-03-14",
        "deliver": {"email": True},
        "publish": True,
    }


def scanned_pdf(path: Path) -> None:
    """A scanned paper result: one A4 page that is a single image (Pillow's PDF writer)."""
    scan = Image.new("RGB", (1240, 1754), "white")  # A4 at 150 dpi
    draw = ImageDraw.Draw(scan)
    draw.rectangle((120, 150, 1120, 260), outline="black", width=4)
    draw.text((140, 180), "GIAY PHEP XAY DUNG (scan)", fill="black")
    scan.save(path, "PDF", resolution=150.0)


def minimal_pdf(page_extra: bytes = b"") -> bytes:
    """A one-page PDF written by hand (``page_extra`` goes into the page dictionary)."""
    content = b"0 0 1 rg 72 700 200 50 re f"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R%s >>" % page_extra,
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content),
    ]
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def small_page_pdf(width: int = 200, height: int = 100) -> bytes:
    """A valid one-page PDF whose page is smaller than the 300 x 136 pt stamp."""
    writer = PdfFileWriter()
    stream = generic.StreamObject(stream_data=b"0 0 m 100 50 l S")
    page = generic.DictionaryObject(
        {
            pdf_name("/Type"): pdf_name("/Page"),
            pdf_name("/MediaBox"): generic.ArrayObject(
                [generic.NumberObject(v) for v in (0, 0, width, height)]
            ),
            pdf_name("/Resources"): generic.DictionaryObject(),
            pdf_name("/Contents"): writer.add_object(stream),
        }
    )
    writer.insert_page(page)
    out = BytesIO()
    writer.write(out)
    return out.getvalue()
