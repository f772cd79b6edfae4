"""The QR seal drawn as vector modules in a PDF content stream.

Error correction Q (25% of the code may be lost: a stamp overprinted by the
red seal or a crumpled page still scans), a 4-module quiet zone, and
alphanumeric mode (the seal URL is upper case). Dark modules are merged into
horizontal runs, one ``re`` each, so the stream stays small and edges are
exact at any print resolution.
"""

from __future__ import annotations

from dataclasses import dataclass

import qrcode
from qrcode.constants import ERROR_CORRECT_Q

QUIET_ZONE = 4
MAX_VERSION = 16


@dataclass(frozen=True, slots=True)
class QrMatrix:
    """Dark modules of one QR code, without the quiet zone."""

    version: int
    size: int
    rows: tuple[tuple[bool, ...], ...]

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
            c = 0
            while c < self.size:
                if row[c]:
                    start = c
                    while c < self.size and row[c]:
                        c += 1
                    ops.append(b"%d %d %d 1 re" % (start + QUIET_ZONE, top, c - start))
                else:
                    c += 1
        ops.append(b"f Q")
        return b"\n".join(ops)


def make_qr(text: str) -> QrMatrix:
    """Encode ``text`` at level Q; refuses anything above version 16 (too dense to print small)."""
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_Q, border=0)
    code.add_data(text, optimize=0)
    code.make(fit=True)
    if code.version > MAX_VERSION:
        raise ValueError(f"QR text needs version {code.version}, above {MAX_VERSION}")
    matrix = code.get_matrix()
    rows = tuple(tuple(bool(v) for v in row) for row in matrix)
    return QrMatrix(version=code.version, size=len(rows), rows=rows)
