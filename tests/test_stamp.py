"""The stamp's parts: the QR matrix and its fixed mask, the prepared font."""

from __future__ import annotations

import base64
import os

import segno
from segno import encoder

from signer.stamp.font import BOLD, REGULAR, prepare_font
from signer.stamp.qr import MASK, MAX_VERSION, QUIET_ZONE, make_qr

BASE = "HTTPS://KETQUA.VANDON.QUANGNINH.GOV.VN/V/"


def _penalty(text: str, mask: int | None) -> int:
    code = segno.make_qr(text, error="q", boost_error=False, mask=mask)
    size = len(code.matrix)
    score: int = encoder.evaluate_mask(code.matrix, size, size)
    return score


def test_fixed_mask_scores_close_to_the_best_mask_on_seal_data() -> None:
    # The mask search exists to break up regular data; a seal is pseudo-random
    # (a signature, a digest), so the fixed mask must stay near the best one.
    worst = 0.0
    for _ in range(20):
        text = BASE + base64.b32encode(os.urandom(171)).decode().rstrip("=")
        best = min(_penalty(text, m) for m in range(8))
        worst = max(worst, _penalty(text, MASK) / best)
    assert worst < 1.35


def test_qr_matrix_round_trips_the_text_and_stays_small() -> None:
    text = BASE + "A" * 272
    matrix = make_qr(text)
    assert matrix.version <= MAX_VERSION
    assert matrix.size == 17 + 4 * matrix.version
    assert matrix.modules_with_quiet_zone == matrix.size + 2 * QUIET_ZONE
    reference = segno.make_qr(text, error="q", boost_error=False, mask=MASK)
    assert [bytes(row) for row in reference.matrix] == list(matrix.rows)


def test_content_stream_draws_every_dark_module_once() -> None:
    matrix = make_qr(BASE + "B" * 100)
    stream = matrix.content_stream(0, 0, 100)
    runs = [line.split() for line in stream.splitlines() if line.endswith(b" re")]
    drawn = sum(int(parts[2]) for parts in runs)  # the white background ends in "rg"
    assert drawn == sum(sum(row) for row in matrix.rows)


def test_font_subset_has_every_vietnamese_letter_with_real_widths() -> None:
    letters = "ăâđêôơưàảãáạằẳẵắặầẩẫấậèẻẽéẹềểễếệìỉĩíịòỏõóọồổỗốộờởỡớợùủũúụừửữứựỳỷỹýỵ"
    for font in (prepare_font(REGULAR), prepare_font(BOLD)):
        for ch in letters + letters.upper():
            assert ch in font.gid, ch
            assert font.widths[font.gid[ch]] > 200  # a real advance, not a zero-width mark
        # decomposed input is normalised to the precomposed glyph
        assert font.encode("Đồn") == font.encode("Đồn")
        assert font.normalise("a\u0301") == "á"
    assert prepare_font(REGULAR) is prepare_font(REGULAR)  # subset once per process
