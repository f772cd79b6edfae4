"""An embedded TrueType font with Vietnamese glyphs, prepared once per process.

pyHanko's OpenType engine re-subsets the whole font for every document
(~250-300 ms). Here the font is subset once, to every Latin character
Vietnamese needs (all precomposed letters of Latin Extended Additional), and
its PDF objects (compressed FontFile2, widths, ToUnicode) are built once;
each document gets fresh copies of those bytes. Text is NFC-normalised and
written as 2-byte glyph ids (Type0 / Identity-H), so any Vietnamese name
renders and extracts with its diacritics.
"""

from __future__ import annotations

import io
import logging
import unicodedata
import zlib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from fontTools import subset
from fontTools.ttLib import TTFont
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.writer import BasePdfFileWriter

# Liberation Serif: metric-compatible with Times New Roman, the face Decree 30/2020 sets
# documents in, with every Vietnamese letter (SIL OFL 1.1, fonts/LICENSE-Liberation.txt)
FONT_DIR = Path(__file__).parent / "fonts"
REGULAR = FONT_DIR / "LiberationSerif-Regular.ttf"
BOLD = FONT_DIR / "LiberationSerif-Bold.ttf"
ITALIC = FONT_DIR / "LiberationSerif-Italic.ttf"
BOLD_ITALIC = FONT_DIR / "LiberationSerif-BoldItalic.ttf"

# Basic Latin, Latin-1, the Vietnamese letters of Latin Extended-A/B (Ă ă Đ đ Ĩ ĩ
# Ũ ũ Ơ ơ Ư ư), combining marks, Latin Extended Additional (ạ ả ấ ầ ẩ ẫ ậ ... ỹ),
# general punctuation: 364 characters. The rest of Extended-A/B (Ł, ş, ǅ, ...) would
# double each font's bytes in every signed document (15 -> 27 KB, of a one-page
# result's ~130 KB) for letters no Vietnamese agency, official or code is written in;
# a character outside the set prints as "?".
_RANGES = (
    (0x20, 0x7E),
    (0xA0, 0xFF),
    (0x300, 0x323),
    (0x1EA0, 0x1EF9),
    (0x2010, 0x2027),
    (0x2030, 0x203A),
)
_VIETNAMESE_EXTENDED = "ĂăĐđĨĩŨũƠơƯư"


@dataclass(frozen=True)
class PreparedFont:
    """A font subset and its PDF objects' bytes, ready to add to any document."""

    base_name: str
    gid: dict[str, int] = field(repr=False)
    widths: dict[int, int] = field(repr=False)
    ascent: int
    descent: int
    cap_height: int
    bbox: tuple[int, int, int, int]
    font_file: bytes = field(repr=False)  # zlib-compressed TrueType subset
    font_file_length: int
    to_unicode: bytes = field(repr=False)  # zlib-compressed CMap
    widths_array: bytes = field(repr=False)  # the /W array, serialised once

    def normalise(self, text: str) -> str:
        """NFC form; characters the font lacks become '?' rather than vanish silently."""
        text = unicodedata.normalize("NFC", text)
        return "".join(ch if ch in self.gid else "?" for ch in text)

    def encode(self, text: str) -> bytes:
        """A PDF hex string of glyph ids for ``Tj``."""
        return b"<" + "".join(f"{self.gid[ch]:04X}" for ch in self.normalise(text)).encode() + b">"

    def width(self, text: str, size: float) -> float:
        """Advance width in points at ``size``."""
        units = sum(self.widths[self.gid[ch]] for ch in self.normalise(text))
        return units * size / 1000.0

    def add_to(self, writer: BasePdfFileWriter) -> generic.IndirectObject:
        """Add the Type0 font to ``writer``; returns the reference for the resources."""
        file_stream = generic.StreamObject(
            {
                pdf_name("/Filter"): pdf_name("/FlateDecode"),
                pdf_name("/Length1"): generic.NumberObject(self.font_file_length),
            },
            encoded_data=self.font_file,
        )
        descriptor = generic.DictionaryObject(
            {
                pdf_name("/Type"): pdf_name("/FontDescriptor"),
                pdf_name("/FontName"): pdf_name(f"/{self.base_name}"),
                pdf_name("/Flags"): generic.NumberObject(32),
                pdf_name("/FontBBox"): generic.ArrayObject(
                    generic.NumberObject(v) for v in self.bbox
                ),
                pdf_name("/ItalicAngle"): generic.NumberObject(0),
                pdf_name("/Ascent"): generic.NumberObject(self.ascent),
                pdf_name("/Descent"): generic.NumberObject(self.descent),
                pdf_name("/CapHeight"): generic.NumberObject(self.cap_height),
                pdf_name("/StemV"): generic.NumberObject(80),
                pdf_name("/FontFile2"): writer.add_object(file_stream),
            }
        )
        cid_font = generic.DictionaryObject(
            {
                pdf_name("/Type"): pdf_name("/Font"),
                pdf_name("/Subtype"): pdf_name("/CIDFontType2"),
                pdf_name("/BaseFont"): pdf_name(f"/{self.base_name}"),
                pdf_name("/CIDSystemInfo"): generic.DictionaryObject(
                    {
                        pdf_name("/Registry"): generic.TextStringObject("Adobe"),
                        pdf_name("/Ordering"): generic.TextStringObject("Identity"),
                        pdf_name("/Supplement"): generic.NumberObject(0),
                    }
                ),
                pdf_name("/FontDescriptor"): writer.add_object(descriptor),
                pdf_name("/CIDToGIDMap"): pdf_name("/Identity"),
                pdf_name("/W"): _Serialised(self.widths_array),
            }
        )
        to_unicode = generic.StreamObject(
            {pdf_name("/Filter"): pdf_name("/FlateDecode")}, encoded_data=self.to_unicode
        )
        type0 = generic.DictionaryObject(
            {
                pdf_name("/Type"): pdf_name("/Font"),
                pdf_name("/Subtype"): pdf_name("/Type0"),
                pdf_name("/BaseFont"): pdf_name(f"/{self.base_name}"),
                pdf_name("/Encoding"): pdf_name("/Identity-H"),
                pdf_name("/DescendantFonts"): generic.ArrayObject([writer.add_object(cid_font)]),
                pdf_name("/ToUnicode"): writer.add_object(to_unicode),
            }
        )
        return writer.add_object(type0)


class _Serialised(generic.PdfObject):
    """A direct object (no references inside) serialised once per process, written as is."""

    def __init__(self, raw: bytes) -> None:
        self.raw = raw

    def write_to_stream(self, stream: Any, handler: Any = None, container_ref: Any = None) -> None:
        stream.write(self.raw)


def _widths_array(widths: dict[int, int]) -> bytes:
    """``[first [w1 w2 ...] ...]`` over runs of consecutive glyph ids."""
    parts: list[str] = []
    run: list[int] = []
    start = prev = -2
    for gid in sorted(widths):
        if gid != prev + 1 and run:
            parts.append(f"{start} [{' '.join(map(str, run))}]")
            run = []
        if not run:
            start = gid
        run.append(widths[gid])
        prev = gid
    if run:
        parts.append(f"{start} [{' '.join(map(str, run))}]")
    return ("[" + " ".join(parts) + "]").encode("ascii")


def _to_unicode_cmap(gid: dict[str, int]) -> bytes:
    pairs = sorted((g, ch) for ch, g in gid.items())
    lines = [
        "/CIDInit /ProcSet findresource begin",
        "12 dict begin",
        "begincmap",
        "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def",
        "/CMapName /Adobe-Identity-UCS def",
        "/CMapType 2 def",
        "1 begincodespacerange",
        "<0000> <FFFF>",
        "endcodespacerange",
    ]
    for start in range(0, len(pairs), 100):
        chunk = pairs[start : start + 100]
        lines.append(f"{len(chunk)} beginbfchar")
        lines.extend(f"<{g:04X}> <{ord(ch):04X}>" for g, ch in chunk)
        lines.append("endbfchar")
    lines += ["endcmap", "CMapName currentdict /CMap defineresource pop", "end", "end"]
    return "\n".join(lines).encode("ascii")


STAMP_CHARACTERS = frozenset(
    [cp for lo, hi in _RANGES for cp in range(lo, hi + 1)]
    + [ord(ch) for ch in _VIETNAMESE_EXTENDED]
)


@cache
def prepare_font(
    path: Path = REGULAR, characters: frozenset[int] = STAMP_CHARACTERS
) -> PreparedFont:
    """Subset ``path`` to ``characters`` (code points; the stamp's by default); cached."""
    # fontTools logs each table it cannot subset (e.g. FFTM) as a warning: noise here.
    logging.getLogger("fontTools.subset").setLevel(logging.ERROR)
    source = TTFont(str(path))
    options = subset.Options()
    options.name_IDs = ["*"]
    options.notdef_outline = True
    options.layout_features = []
    options.hinting = False
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=sorted(characters))
    subsetter.subset(source)
    buffer = io.BytesIO()
    source.save(buffer)
    raw = buffer.getvalue()
    font = TTFont(io.BytesIO(raw))
    scale = 1000.0 / font["head"].unitsPerEm
    order = font.getGlyphOrder()
    index = {name: i for i, name in enumerate(order)}
    gid = {chr(cp): index[name] for cp, name in font.getBestCmap().items()}
    widths = {g: round(font["hmtx"][order[g]][0] * scale) for g in set(gid.values())}
    head = font["head"]
    os2 = font["OS/2"]
    postscript = font["name"].getDebugName(6) or path.stem
    return PreparedFont(
        base_name=f"KQAAAA+{postscript}",
        gid=gid,
        widths=widths,
        ascent=round(font["hhea"].ascent * scale),
        descent=round(font["hhea"].descent * scale),
        cap_height=round(getattr(os2, "sCapHeight", 700) * scale),
        bbox=(
            round(head.xMin * scale),
            round(head.yMin * scale),
            round(head.xMax * scale),
            round(head.yMax * scale),
        ),
        font_file=zlib.compress(raw, 6),
        font_file_length=len(raw),
        to_unicode=zlib.compress(_to_unicode_cmap(gid), 6),
        widths_array=_widths_array(widths),
    )
