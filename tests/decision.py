"""The bundled example: a decision laid out as Decree 30/2020, Appendix I sets it.

National motto (box 1), agency header (box 2), number and symbol (box 3),
place and date (box 4), document type and summary (box 5a), body (box 6,
justified, first-line indent), the signer's authority, title and name
(box 7) with room for the official's signature, recipients (box 9); A4,
margins of 20/20/30/15 mm, Times New Roman's metrics (Liberation Serif),
page numbers from page 2. One page, or three (``pages=3``).

``python -m tests.decision`` writes ``examples/ket-qua-mau.pdf`` and
``examples/ket-qua-mau-3-trang.pdf`` (``make examples``).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.writer import PdfFileWriter

from signer.stamp.font import BOLD, BOLD_ITALIC, ITALIC, REGULAR, PreparedFont, prepare_font
from tests.officials import SIGNATURE_BOX

A4 = (595.0, 842.0)
MM = 72 / 25.4
LEFT, RIGHT, TOP, BOTTOM = 30 * MM, A4[0] - 15 * MM, A4[1] - 20 * MM, 20 * MM
INDENT = 1.27 / 2.54 * 72
BODY_SIZE = 13.0
LEADING = 1.2
NUMBER = "125/QĐ-UBND"
SIGNER = ("TM. ỦY BAN NHÂN DÂN", "KT. CHỦ TỊCH", "PHÓ CHỦ TỊCH")
OFFICIAL = "Trần Thị Bình"

BASES = [
    "Căn cứ Luật Tổ chức chính quyền địa phương ngày 19 tháng 6 năm 2015;",
    "Căn cứ Luật Xây dựng ngày 18 tháng 6 năm 2014;",
    "Xét đơn đề nghị cấp giấy phép xây dựng của ông Nguyễn Văn An (hồ sơ số "
    "000.00.14.H49-220301-0012) và đề nghị của Trưởng phòng Kinh tế và Hạ tầng.",
]
ARTICLES = [
    "Điều 1. Cấp giấy phép xây dựng nhà ở riêng lẻ cho ông Nguyễn Văn An tại thôn Đông "
    "Trung, xã Đông Xá, huyện Vân Đồn, tỉnh Quảng Ninh: nhà 3 tầng, diện tích xây dựng tầng "
    "1 là 80 m², tổng diện tích sàn 240 m², chiều cao công trình 11,4 m.",
    "Điều 2. Chủ đầu tư có trách nhiệm thực hiện đúng nội dung giấy phép, thông báo ngày "
    "khởi công cho Ủy ban nhân dân xã Đông Xá trước khi khởi công xây dựng.",
    "Điều 3. Quyết định này có hiệu lực kể từ ngày ký. Chánh Văn phòng Hội đồng nhân dân và "
    "Ủy ban nhân dân huyện, Trưởng phòng Kinh tế và Hạ tầng, Chủ tịch Ủy ban nhân dân xã "
    "Đông Xá và ông Nguyễn Văn An chịu trách nhiệm thi hành Quyết định này./.",
]
# the longer variant: the permit's conditions, as an annex in the same file would add
CONDITIONS = [
    "Khoản {n}. Công trình phải bảo đảm khoảng lùi tối thiểu 3 m so với chỉ giới đường đỏ "
    "của tuyến đường liên thôn; mật độ xây dựng không vượt quá 80% diện tích lô đất; cốt "
    "nền tầng 1 cao hơn mặt đường hiện trạng 0,45 m; không xây dựng lấn chiếm hành lang "
    "an toàn giao thông, hành lang bảo vệ công trình thủy lợi và lưới điện."
]


@dataclass
class _Fonts:
    regular: PreparedFont
    bold: PreparedFont
    italic: PreparedFont
    bold_italic: PreparedFont

    def of(self, name: bytes) -> PreparedFont:
        return {
            b"/R": self.regular,
            b"/B": self.bold,
            b"/I": self.italic,
            b"/BI": self.bold_italic,
        }[name]


class _Page:
    def __init__(self, fonts: _Fonts) -> None:
        self.fonts = fonts
        self.ops: list[bytes] = []

    def text(self, x: float, y: float, text: str, font: bytes, size: float) -> None:
        encoded = self.fonts.of(font).encode(text)
        self.ops.append(
            b"BT 0 0 0 rg %s %.2f Tf %.2f %.2f Td %s Tj ET" % (font, size, x, y, encoded)
        )

    def centred(self, centre: float, y: float, text: str, font: bytes, size: float) -> float:
        width = self.fonts.of(font).width(text, size)
        self.text(centre - width / 2, y, text, font, size)
        return width

    def rule(self, centre: float, y: float, width: float) -> None:
        self.ops.append(
            b"0 0 0 RG 0.6 w %.2f %.2f m %.2f %.2f l S"
            % (centre - width / 2, y, centre + width / 2, y)
        )

    def justified(
        self, y: float, words: list[str], font: bytes, size: float, left: float, last: bool
    ) -> None:
        """One line of a paragraph, flush left and right (the last line flush left)."""
        face = self.fonts.of(font)
        widths = [face.width(w, size) for w in words]
        space = face.width(" ", size)
        if not last and len(words) > 1:
            space = (RIGHT - left - sum(widths)) / (len(words) - 1)
        x = left
        for word, width in zip(words, widths, strict=True):
            self.text(x, y, word, font, size)
            x += width + space


def _lines(
    text: str, face: PreparedFont, size: float, first: float, rest: float
) -> list[list[str]]:
    lines: list[list[str]] = [[]]
    for word in text.split():
        avail = first if len(lines) == 1 else rest
        trial = " ".join([*lines[-1], word])
        if lines[-1] and face.width(trial, size) > avail:
            lines.append([word])
        else:
            lines[-1].append(word)
    return lines


def decision_pdf(pages: int = 1, trailing_text: str = "") -> bytes:
    """The sample decision, one page or three; ``trailing_text`` makes its bytes unique."""
    if pages not in (1, 3):
        raise ValueError("the sample has one page or three")
    fonts = _Fonts(*(prepare_font(p) for p in (REGULAR, BOLD, ITALIC, BOLD_ITALIC)))
    sheets = [_Page(fonts)]
    page = sheets[0]
    left_centre, right_centre = LEFT + 95, RIGHT - 125
    # boxes 1 and 2, side by side; 3 and 4 under them
    y = TOP - 12
    page.centred(left_centre, y, "UBND TỈNH QUẢNG NINH", b"/R", 12)
    width = page.centred(right_centre, y, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", b"/B", 12)
    y -= 15
    page.centred(left_centre, y, "ỦY BAN NHÂN DÂN", b"/B", 12)
    motto = page.centred(right_centre, y, "Độc lập - Tự do - Hạnh phúc", b"/B", 13)
    page.rule(right_centre, y - 4, motto)
    y -= 15
    page.centred(left_centre, y, "HUYỆN VÂN ĐỒN", b"/B", 12)
    page.rule(left_centre, y - 4, 50)
    y -= 26
    page.centred(left_centre, y, f"Số: {NUMBER}", b"/R", 13)
    page.centred(right_centre, y, "Vân Đồn, ngày 14 tháng 03 năm 2022", b"/I", 13)
    del width
    # box 5a
    y -= 36
    page.centred(A4[0] / 2 + 20, y, "QUYẾT ĐỊNH", b"/B", 14)
    y -= 17
    page.centred(A4[0] / 2 + 20, y, "Về việc cấp giấy phép xây dựng nhà ở riêng lẻ", b"/B", 14)
    page.rule(A4[0] / 2 + 20, y - 6, 120)
    y -= 30
    page.centred(A4[0] / 2 + 20, y, "ỦY BAN NHÂN DÂN HUYỆN VÂN ĐỒN", b"/B", 14)
    y -= 24

    paragraphs: list[tuple[str, bytes]] = [(text, b"/I") for text in BASES]
    paragraphs.append(("QUYẾT ĐỊNH:", b"/B"))
    if pages == 3:
        articles = [ARTICLES[0]]
        articles += [CONDITIONS[0].format(n=n) for n in range(1, 19)]
        articles += ARTICLES[1:]
    else:
        articles = ARTICLES
    paragraphs += [(text, b"/R") for text in articles]
    leading = BODY_SIZE * LEADING
    for text, font in paragraphs:
        face = fonts.of(font)
        if text == "QUYẾT ĐỊNH:":
            y -= 4
            page.centred(A4[0] / 2 + 20, y, text, font, BODY_SIZE + 1)
            y -= leading + 4
            continue
        lines = _lines(text, face, BODY_SIZE, RIGHT - LEFT - INDENT, RIGHT - LEFT)
        for n, words in enumerate(lines):
            if y < BOTTOM + leading:
                sheets.append(_Page(fonts))
                page = sheets[-1]
                page.centred(A4[0] / 2, A4[1] - 10 * MM, str(len(sheets)), b"/R", 13)
                y = TOP - 24
            left = LEFT + (INDENT if n == 0 else 0)
            page.justified(y, words, font, BODY_SIZE, left, last=n == len(lines) - 1)
            y -= leading
        y -= 4
    if len(sheets) != pages or y < SIGNATURE_BOX[3] + 60:
        raise AssertionError(f"the sample ran to {len(sheets)} pages, ending at {y:.0f} pt")
    # boxes 7 and 9 on the last page: the signer on the right, the recipients on the left
    signer_centre = (SIGNATURE_BOX[0] + SIGNATURE_BOX[2]) / 2
    top = SIGNATURE_BOX[3] + 48
    for n, line in enumerate(SIGNER):
        page.centred(signer_centre, top - n * 16, line, b"/B", 13)
    page.centred(signer_centre, SIGNATURE_BOX[1] - 18, OFFICIAL, b"/B", 13)
    page.text(LEFT, top, "Nơi nhận:", b"/BI", 12)
    for n, line in enumerate(
        ["- Như Điều 3;", "- Chủ tịch, các PCT UBND huyện;", "- Lưu: VT, KTHT."], start=1
    ):
        page.text(LEFT, top - n * 14, line, b"/R", 11)
    if trailing_text:
        page.text(LEFT, 14, trailing_text, b"/R", 6)
    return _write(sheets, fonts)


def _write(sheets: list[_Page], fonts: _Fonts) -> bytes:
    writer = PdfFileWriter()
    refs = {name: fonts.of(name).add_to(writer) for name in (b"/R", b"/B", b"/I", b"/BI")}
    resources = generic.DictionaryObject(
        {
            pdf_name("/Font"): generic.DictionaryObject(
                {pdf_name(name.decode()): ref for name, ref in refs.items()}
            )
        }
    )
    for sheet in sheets:
        stream = generic.StreamObject(stream_data=b"\n".join(sheet.ops))
        stream.compress()
        writer.insert_page(
            generic.DictionaryObject(
                {
                    pdf_name("/Type"): pdf_name("/Page"),
                    pdf_name("/MediaBox"): generic.ArrayObject(
                        generic.NumberObject(v) for v in (0, 0, 595, 842)
                    ),
                    pdf_name("/Resources"): resources,
                    pdf_name("/Contents"): writer.add_object(stream),
                }
            )
        )
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


if __name__ == "__main__":
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("examples")
    (folder / "ket-qua-mau.pdf").write_bytes(decision_pdf(1))
    (folder / "ket-qua-mau-3-trang.pdf").write_bytes(decision_pdf(3))
