"""The bundled example is a decision as Decree 30/2020 lays it out, and the one the code makes."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.decision import decision_pdf

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _text(pdf: Path, *pages: int) -> str:
    first_last = ["-f", str(pages[0]), "-l", str(pages[-1])] if pages else []
    return subprocess.run(
        ["pdftotext", "-layout", *first_last, str(pdf), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


@pytest.mark.parametrize("name", ["ket-qua-mau.pdf", "ket-qua-mau-3-trang.pdf"])
def test_the_example_has_every_element_of_a_decision(name: str) -> None:
    pdf = EXAMPLES / name
    first, last = _text(pdf, 1), _text(pdf, 3 if "3-trang" in name else 1)
    for element in (
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",  # box 1, the national motto
        "Độc lập - Tự do - Hạnh phúc",
        "UBND TỈNH QUẢNG NINH",  # box 2, the parent agency, then the issuing one in full
        "ỦY BAN NHÂN DÂN",
        "HUYỆN VÂN ĐỒN",
        "Số: 125/QĐ-UBND",  # box 3
        "Vân Đồn, ngày 14 tháng 03 năm 2022",  # box 4
        "QUYẾT ĐỊNH",  # box 5a
        "Về việc cấp giấy phép xây dựng nhà ở riêng lẻ",
        "Căn cứ Luật Xây dựng",  # box 6
    ):
        assert element in first, element
    for element in ("Nơi nhận:", "- Lưu: VT, KTHT.", "TM. ỦY BAN NHÂN DÂN", "PHÓ CHỦ TỊCH"):
        assert element in last, element  # boxes 9 and 7
    assert "Trần Thị Bình" in last


def test_the_three_page_example_numbers_its_pages_from_the_second() -> None:
    pdf = EXAMPLES / "ket-qua-mau-3-trang.pdf"
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True)
    assert "Pages:           3" in info.stdout
    assert _text(pdf, 1).lstrip().startswith("UBND TỈNH QUẢNG NINH")  # page 1: no number
    for page in (2, 3):
        assert _text(pdf, page).lstrip().startswith(str(page))


@pytest.mark.parametrize(
    ("name", "pages"), [("ket-qua-mau.pdf", 1), ("ket-qua-mau-3-trang.pdf", 3)]
)
def test_make_examples_writes_what_is_bundled(name: str, pages: int, tmp_path: Path) -> None:
    fresh = tmp_path / name
    fresh.write_bytes(decision_pdf(pages))
    assert _text(fresh) == _text(EXAMPLES / name)
