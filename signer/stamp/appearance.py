"""How the agency's signature and the verification block look (Decree 30/2020, Appendix I).

Three appearances, one stamp style (pyHanko draws the signature widget
with it; the verification block, when it is an annotation of its own, is
drawn by ``block_appearance`` with the same code):

- ``SEAL``: the agency's red seal image at its actual size, opaque (the
  place is ``signer.placement``'s: over the left third of the official's
  signature, or the template's field).
- ``BLOCK``: the verification block, in black, legible when printed: the QR
  seal on the left; on the right the issuing agency (bold, wrapped, never
  shrunk below ``MIN_TEXT_SIZE``), then the dossier code, the result code,
  the document's number and symbol, the verification code (bold) and the
  signing time as people read it, ``dd/mm/yyyy hh:mm:ss +07:00``.
- ``COPY``: the text-only form of an electronic copy or attachment, 10 pt,
  regular, black: the copy form ("SAO Y") or the number and symbol, the
  copying agency, and the signing time in ISO 8601 with the Vietnam offset,
  as the decree spells it.

Type is Liberation Serif (Times New Roman's metrics, every Vietnamese
letter). Names come from the glossary (``plumbing.terms``).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pyhanko.pdf_utils import content, generic, layout
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.writer import BasePdfFileWriter
from pyhanko.stamp import BaseStamp, BaseStampStyle

from plumbing import formats
from plumbing.terms import term
from signer.placement import StampKind
from signer.stamp.font import BOLD, REGULAR, PreparedFont, prepare_font
from signer.stamp.image import PreparedImage
from signer.stamp.qr import make_qr

CONTENT_KEY = "ketqua"
KIND_KEY = "ketqua_kind"
INSETS_KEY = "ketqua_insets"  # SEALED_BLOCK: where the seal and the block sit in the widget
ROTATION_KEY = "ketqua_rotation"  # the page's /Rotate: the stamp turns against it
# appearance /Matrix that turns the stamp by the page's rotation, counter-clockwise
_TURN = {90: (0, 1, -1, 0), 180: (-1, 0, 0, -1), 270: (0, -1, 1, 0)}
PAD = 4.0
TEXT_SIZE = 8.5
MIN_TEXT_SIZE = 7.0  # printed, smaller is hard to read (the floor)
COPY_TEXT_SIZE = 10.0  # Decree 30/2020: the copy's signature in 10 pt
LEADING = 1.25
BLACK = b"0 0 0 rg"
FRAME = b"0 0 0 RG 0.6 w"
SCAN_HINT = "Quét mã QR để kiểm tra văn bản"


@dataclass(frozen=True, slots=True)
class StampContent:
    """What one document's stamp shows; nothing personal (the QR is public)."""

    agency_name: str
    signed_at: datetime
    dossier_code: str
    result_code: str
    verification_code: str
    seal_url: str
    document_number: str | None = None
    copy_line: str | None = None  # an electronic copy: "SAO Y", or an attachment's number

    def __post_init__(self) -> None:
        if self.signed_at.tzinfo is None:
            raise ValueError("signed_at must be timezone-aware")

    def block_lines(self) -> list[tuple[str, bool]]:
        """(text, bold) lines of the verification block below the agency's name."""
        lines = [
            (f"{term('dossier_code')}: {self.dossier_code}", False),
            (f"{term('result_code')}: {self.result_code}", False),
        ]
        if self.document_number:
            lines.append((f"{term('document_number')}: {self.document_number}", False))
        lines += [
            (f"{term('verification_code')}: {self.verification_code}", True),
            (f"{term('signed_at')}: {formats.moment(self.signed_at)} +07:00", False),
            (SCAN_HINT, False),
        ]
        return lines

    def copy_lines(self) -> list[str]:
        """The copy form's lines before the agency's name is wrapped: form, agency, time."""
        return [self.copy_line or "", self.agency_name, formats.iso(self.signed_at)]


@dataclass(frozen=True)
class ResultStampStyle(BaseStampStyle):
    """ketqua's appearances; fonts are prepared once per process and shared by every document."""

    border_width: int = 0  # the block draws its own thin frame; the seal and copy have none
    background: Any = None
    regular: PreparedFont = field(default_factory=lambda: prepare_font(REGULAR))
    bold: PreparedFont = field(default_factory=lambda: prepare_font(BOLD))
    seal_image: PreparedImage | None = None
    seal_size_mm: float = 36.0  # the seal's actual diameter

    @property
    def seal_side(self) -> float | None:
        """The seal's side in points, or None when no seal image is configured."""
        return self.seal_size_mm * 72 / 25.4 if self.seal_image is not None else None

    def copy_size(self, stamp: StampContent) -> tuple[float, float]:
        """The copy form's width and height in points: its lines at 10 pt, the name wrapped."""
        lines = _copy_lines(stamp, self.regular, MAX_COPY_WIDTH)
        width = max(self.regular.width(text, COPY_TEXT_SIZE) for text in lines)
        return width + 2 * PAD, len(lines) * COPY_TEXT_SIZE * LEADING + 2 * PAD

    def create_stamp(
        self,
        writer: BasePdfFileWriter,
        box: layout.BoxConstraints,
        text_params: dict[str, Any],
    ) -> ResultStamp:
        stamp_content = text_params[CONTENT_KEY]
        if not isinstance(stamp_content, StampContent):
            raise TypeError("text_params must carry a StampContent")
        kind = StampKind(text_params.get(KIND_KEY, StampKind.BLOCK))
        rotation = int(text_params.get(ROTATION_KEY, 0))
        if rotation in (90, 270):  # the widget is the stamp turned on its side
            box = layout.BoxConstraints(width=box.height, height=box.width)
        insets = text_params.get(INSETS_KEY)
        return ResultStamp(writer, self, box, stamp_content, kind, rotation, insets)


MAX_COPY_WIDTH = 260.0


class ResultStamp(BaseStamp):
    def __init__(
        self,
        writer: BasePdfFileWriter,
        style: ResultStampStyle,
        box: layout.BoxConstraints,
        stamp_content: StampContent,
        kind: StampKind = StampKind.BLOCK,
        rotation: int = 0,
        insets: dict[str, tuple[float, float, float, float]] | None = None,
    ) -> None:
        super().__init__(writer=writer, style=style, box=box)
        self.stamp_content = stamp_content
        self.kind = kind
        self.rotation = rotation
        self.insets = insets

    def as_form_xobject(self) -> generic.StreamObject:
        drawn: generic.StreamObject = super().as_form_xobject()
        # pyHanko writes the drawing as it is: ~17 KB for the block and its QR's modules,
        # 10% of a signed one-page result. Flate at level 1 makes it ~4.8 KB in 0.08 ms
        # (level 6, pyHanko's compress(): 3.8 KB in 0.4 ms, on a 6 ms signature)
        xobject = generic.StreamObject(
            {**drawn, pdf_name("/Filter"): pdf_name("/FlateDecode")},
            encoded_data=zlib.compress(drawn.data, 1),
        )
        if self.rotation in _TURN:
            # the viewer turns the page clockwise by /Rotate; turning the stamp the
            # other way in its own space makes it read upright on screen and paper
            xobject[pdf_name("/Matrix")] = generic.ArrayObject(
                [generic.NumberObject(v) for v in (*_TURN[self.rotation], 0, 0)]
            )
        return xobject

    def _render_inner_content(self) -> list[bytes]:
        whole = (0.0, 0.0, float(self.box.width), float(self.box.height))
        if self.kind is StampKind.SEAL:
            return self._seal(*whole)
        if self.kind is StampKind.COPY:
            return self._copy()
        if self.kind is StampKind.SEALED_BLOCK:
            assert self.insets is not None, "a sealed block without its insets"
            return [*self._block(*self.insets["block"]), *self._seal(*self.insets["seal"])]
        return self._block(*whole)

    def _fonts(self) -> dict[bool, PreparedFont]:
        style: ResultStampStyle = self.style
        writer = self.writer
        assert writer is not None  # pyHanko sets it before rendering
        fonts = {False: style.regular, True: style.bold}
        for bold, font in fonts.items():
            self.set_resource(
                category=content.ResourceType.FONT,
                name=pdf_name(_FONT_NAMES[bold].decode()),
                value=font.add_to(writer),
            )
        return fonts

    def _block(self, x: float, y: float, width: float, height: float) -> list[bytes]:
        ops = [
            b"q %s %.2f %.2f %.2f %.2f re S Q"
            % (FRAME, x + 0.3, y + 0.3, width - 0.6, height - 0.6)
        ]
        side = height - 2 * PAD
        ops.append(make_qr(self.stamp_content.seal_url).content_stream(x + PAD, y + PAD, side))
        fonts = self._fonts()
        left = x + PAD + side + PAD
        size, lines = _fit(self.stamp_content, fonts, x + width - left - PAD, height - 2 * PAD)
        leading = size * LEADING
        line_y = y + height - PAD - (height - 2 * PAD - leading * len(lines)) / 2 - size
        for text, bold in lines:
            ops.append(_text(fonts[bold], bold, size, left, line_y, text))
            line_y -= leading
        return ops

    def _copy(self) -> list[bytes]:
        fonts = self._fonts()
        lines = _copy_lines(self.stamp_content, fonts[False], MAX_COPY_WIDTH)
        leading = COPY_TEXT_SIZE * LEADING
        y = float(self.box.height) - PAD - COPY_TEXT_SIZE
        ops = []
        for text in lines:
            ops.append(_text(fonts[False], False, COPY_TEXT_SIZE, PAD, y, text))
            y -= leading
        return ops

    def _seal(self, x0: float, y0: float, width: float, height: float) -> list[bytes]:
        """The red seal, opaque, at its actual size in the middle of its place."""
        style: ResultStampStyle = self.style
        image = style.seal_image
        writer = self.writer
        assert writer is not None
        assert image is not None, "a seal appearance without a seal image"
        self.set_resource(
            category=content.ResourceType.XOBJECT,
            name=pdf_name("/KQSeal"),
            value=image.add_to(writer),
        )
        side = min(style.seal_side or width, width, height)  # a smaller field: fit it
        w = side if image.width >= image.height else side * image.width / image.height
        h = side if image.height >= image.width else side * image.height / image.width
        x, y = x0 + (width - w) / 2, y0 + (height - h) / 2
        return [b"q %.2f 0 0 %.2f %.2f %.2f cm /KQSeal Do Q" % (w, h, x, y)]


_FONT_NAMES = {False: b"/KQR", True: b"/KQB"}


def _text(font: PreparedFont, bold: bool, size: float, x: float, y: float, text: str) -> bytes:
    return b"BT %s %s %.2f Tf %.2f %.2f Td %s Tj ET" % (
        BLACK,
        _FONT_NAMES[bold],
        size,
        x,
        y,
        font.encode(text),
    )


def _fit(
    stamp: StampContent, fonts: dict[bool, PreparedFont], avail_w: float, avail_h: float
) -> tuple[float, list[tuple[str, bool]]]:
    """The largest size from TEXT_SIZE down to MIN_TEXT_SIZE at which the lines fit.

    Every line wraps at spaces (a long agency name takes the lines it needs);
    at the smallest size whatever still does not fit is wrapped, never shrunk.
    """
    size = TEXT_SIZE
    while True:
        lines = [(text, True) for text in _wrap(stamp.agency_name, fonts[True], size, avail_w)]
        for text, bold in stamp.block_lines():
            lines += [(part, bold) for part in _wrap(text, fonts[bold], size, avail_w)]
        if len(lines) * size * LEADING <= avail_h or size <= MIN_TEXT_SIZE:
            return size, lines
        size -= 0.25


def _copy_lines(stamp: StampContent, font: PreparedFont, avail: float) -> list[str]:
    form, agency, when = stamp.copy_lines()
    return [form, *_wrap(agency, font, COPY_TEXT_SIZE, avail), when]


def _wrap(text: str, font: PreparedFont, size: float, avail: float) -> list[str]:
    """Greedy word wrap at ``size``; a word wider than ``avail`` is cut where it must be."""
    lines: list[str] = []
    for word in text.split():
        candidate = f"{lines[-1]} {word}" if lines else word
        if lines and font.width(candidate, size) <= avail:
            lines[-1] = candidate
            continue
        while font.width(word, size) > avail and len(word) > 1:
            cut = len(word)
            while cut > 1 and font.width(word[:cut], size) > avail:
                cut -= 1
            lines.append(word[:cut])
            word = word[cut:]
        lines.append(word)
    return lines or [""]


def block_appearance(
    writer: BasePdfFileWriter,
    style: ResultStampStyle,
    stamp: StampContent,
    width: float,
    height: float,
    rotation: int,
) -> generic.IndirectObject:
    """The verification block as a form XObject of its own (for an annotation)."""
    box = layout.BoxConstraints(width=width, height=height)
    if rotation in (90, 270):
        box = layout.BoxConstraints(width=height, height=width)
    drawn = ResultStamp(writer, style, box, stamp, StampKind.BLOCK, rotation)
    return writer.add_object(drawn.as_form_xobject())
