"""The QR seal drawn as vector modules in a PDF content stream.

Error correction Q (25% of the code may be lost: a stamp overprinted by the
red seal or a crumpled page still scans), a 4-module quiet zone, and
alphanumeric mode (the seal URL is upper case). Dark modules are merged into
horizontal runs, one ``re`` each, so the stream stays small and edges are
exact at any print resolution.

The mask is fixed (pattern 6) instead of searched. The search tries all 8
masks and scores each with the ISO 18004 penalty rules, which costs more
than the rest of the QR encoding; it exists to break up regular data, and a
seal's data (an ECDSA signature, a digest) is pseudo-random, so every mask
scores about the same. Measured with ``bench/qr_mask.py`` (60 random seals,
segno's ISO 18004 penalty): mask 6 scores on average 4.8% (at worst 13.4%)
above the best mask, and encoding is 4.7x faster (3.5 vs 16.5 ms).
``tests/test_stamp.py`` keeps it within 35% of the best.
"""

from __future__ import annotations

from dataclasses import dataclass

import segno

QUIET_ZONE = 4
MAX_VERSION = 16
MASK = 6


@dataclass(frozen=True, slots=True)
class QrMatrix:
    """Dark modules of one QR code, without the quiet zone."""

    version: int
    size: int
    rows: tuple[bytes, ...]

    @property
    def modules_with_quiet_zone(self) -> int:
        return self.size + 2 * QUIET_ZONE

    def content_stream(self, x: float, y: float, side: float) -> bytes:
        """Draw into a ``side``-pt square, lower-left corner at (x, y), quiet zone inside."""
        unit = side / self.modules_with_quiet_zone
        ops = [b"q 1 1 1 rg %.3f %.3f %.3f %.3f re f 0 0 0 rg" % (x, y, side, side)]
        ops.append(b"1 0 0 1 %.3f %.3f cm %.5f 0 0 %.5f 0 0 cm" % (x, y, unit, unit))
        for r, row in enumerate(self.rows):
            top = self.modules_with_quiet_zone - QUIET_ZONE - r - 1
            c = row.find(1)
            while c != -1:
                end = row.find(0, c)
                if end == -1:
                    end = self.size
                ops.append(b"%d %d %d 1 re" % (c + QUIET_ZONE, top, end - c))
                c = row.find(1, end)
        ops.append(b"f Q")
        return b"\n".join(ops)


def make_qr(text: str, *, mask: int | None = MASK) -> QrMatrix:
    """Encode ``text`` at level Q; refuses anything above version 16 (too dense to print small).

    ``mask=None`` runs the standard mask search (slower; for comparison).
    """
    code = segno.make_qr(text, error="q", boost_error=False, mask=mask)
    if code.version > MAX_VERSION:  # type: ignore[operator]
        raise ValueError(f"QR text needs version {code.version}, above {MAX_VERSION}")
    rows = tuple(bytes(row) for row in code.matrix)
    return QrMatrix(version=int(code.version), size=len(rows), rows=rows)
