"""The stamp's layout: QR seal on the left, the agency's text on the right.

Drawn as a pyHanko stamp style, so pyHanko places it as the appearance of
the signature widget. The text lines (Vietnamese, as Decree 30/2020 asks):
the agency, the signer, the signing time in ISO 8601 Vietnam time, the result
code, a short verification code a person can type, and a scan hint. The
agency's red seal image, when configured, is drawn faintly behind the text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pyhanko.pdf_utils import content, generic, layout
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.writer import BasePdfFileWriter
from pyhanko.stamp import BaseStamp, BaseStampStyle

from signer.stamp.font import BOLD, REGULAR, PreparedFont, prepare_font
from signer.stamp.image import PreparedImage
from signer.stamp.qr import make_qr

CONTENT_KEY = "ketqua"
ROTATION_KEY = "ketqua_rotation"  # the page's /Rotate: the stamp turns against it
# appearance /Matrix that turns the stamp by the page's rotation, counter-clockwise
_TURN = {90: (0, 1, -1, 0), 180: (-1, 0, 0, -1), 270: (0, -1, 1, 0)}
PAD = 4.0
TEXT_SIZE = 7.5
MIN_TEXT_SIZE = 4.0
LEADING = 1.3
TEXT_COLOUR = b"0.05 0.05 0.05 rg"
AGENCY_COLOUR = b"0.65 0.05 0.05 rg"


@dataclass(frozen=True, slots=True)
class StampContent:
    """What one document's stamp shows; nothing personal (the QR is public)."""

    agency_name: str
    signer: str
    signed_at: datetime
    result_code: str
    verification_code: str
    seal_url: str

    def __post_init__(self) -> None:
        if self.signed_at.tzinfo is None:
            raise ValueError("signed_at must be timezone-aware")

    def lines(self) -> list[tuple[str, bool]]:
        """(text, bold) lines below the agency name."""
        return [
            (f"Người ký: {self.signer}", False),
            (f"Thời gian ký: {self.signed_at.isoformat(timespec='seconds')}", False),
            (f"Số kết quả: {self.result_code}", False),
            (f"Mã xác thực: {self.verification_code}", True),
            ("Quét mã QR để kiểm tra văn bản", False),
        ]


@dataclass(frozen=True)
class ResultStampStyle(BaseStampStyle):
    """ketqua's stamp; fonts are prepared once per process and shared by every document."""

    border_width: int = 1
    border_color: tuple[float, float, float] | None = (0.65, 0.05, 0.05)
    background_opacity: float = 0.35
    background_layout: layout.SimpleBoxLayoutRule = field(
        default_factory=lambda: layout.SimpleBoxLayoutRule(
            x_align=layout.AxisAlignment.ALIGN_MAX,
            y_align=layout.AxisAlignment.ALIGN_MID,
            margins=layout.Margins.uniform(PAD),
        )
    )
    regular: PreparedFont = field(default_factory=lambda: prepare_font(REGULAR))
    bold: PreparedFont = field(default_factory=lambda: prepare_font(BOLD))
    seal_image: PreparedImage | None = None
    seal_opacity: float = 0.45

    def create_stamp(
        self,
        writer: BasePdfFileWriter,
        box: layout.BoxConstraints,
        text_params: dict[str, Any],
    ) -> ResultStamp:
        stamp_content = text_params[CONTENT_KEY]
        if not isinstance(stamp_content, StampContent):
            raise TypeError("text_params must carry a StampContent")
        rotation = int(text_params.get(ROTATION_KEY, 0))
        if rotation in (90, 270):  # the widget is the stamp turned on its side
            box = layout.BoxConstraints(width=box.height, height=box.width)
        return ResultStamp(writer, self, box, stamp_content, rotation)


class ResultStamp(BaseStamp):
    def __init__(
        self,
        writer: BasePdfFileWriter,
        style: ResultStampStyle,
        box: layout.BoxConstraints,
        stamp_content: StampContent,
        rotation: int = 0,
    ) -> None:
        super().__init__(writer=writer, style=style, box=box)
        self.stamp_content = stamp_content
        self.rotation = rotation

    def as_form_xobject(self) -> generic.StreamObject:
        xobject: generic.StreamObject = super().as_form_xobject()
        if self.rotation in _TURN:
            # the viewer turns the page clockwise by /Rotate; turning the stamp the
            # other way in its own space makes it read upright on screen and paper
            xobject[pdf_name("/Matrix")] = generic.ArrayObject(
                [generic.NumberObject(v) for v in (*_TURN[self.rotation], 0, 0)]
            )
        return xobject

    def _render_inner_content(self) -> list[bytes]:
        style: ResultStampStyle = self.style
        width, height = float(self.box.width), float(self.box.height)
        ops: list[bytes] = []

        side = height - 2 * PAD
        qr = make_qr(self.stamp_content.seal_url)
        ops.append(qr.content_stream(PAD, PAD, side))

        writer = self.writer
        assert writer is not None  # pyHanko sets it before rendering
        fonts = {False: style.regular, True: style.bold}
        names = {False: b"/KQR", True: b"/KQB"}
        for bold, font in fonts.items():
            self.set_resource(
                category=content.ResourceType.FONT,
                name=pdf_name(names[bold].decode()),
                value=font.add_to(writer),
            )

        left = PAD + side + PAD
        avail = width - left - PAD
        if style.seal_image is not None:
            ops.append(self._seal_image(style, style.seal_image, width - PAD, height))
        size, lines = self._fit(fonts, avail, height - 2 * PAD)
        leading = size * LEADING
        block = leading * len(lines)
        y = height - PAD - (height - 2 * PAD - block) / 2 - size
        for text, bold, colour in lines:
            ops.append(
                b"BT %s %s %.2f Tf %.2f %.2f Td %s Tj ET"
                % (colour, names[bold], size, left, y, fonts[bold].encode(text))
            )
            y -= leading
        return ops

    def _fit(
        self, fonts: dict[bool, PreparedFont], avail_w: float, avail_h: float
    ) -> tuple[float, list[tuple[str, bool, bytes]]]:
        """The largest size (<= TEXT_SIZE) at which every line fits, the agency name wrapped.

        A long agency name takes as many lines as it needs; the size shrinks
        until all of them, and the fixed lines, fit the stamp.
        """
        fixed = [(text, bold, TEXT_COLOUR) for text, bold in self.stamp_content.lines()]
        size = TEXT_SIZE
        while True:
            name = _wrap(self.stamp_content.agency_name, fonts[True], size, avail_w)
            lines = [(text, True, AGENCY_COLOUR) for text in name] + fixed
            widest = max(fonts[bold].width(text, size) for text, bold, _ in lines)
            if (widest <= avail_w and len(lines) * size * LEADING <= avail_h) or (
                size <= MIN_TEXT_SIZE
            ):
                return size, lines
            size -= 0.25

    def _seal_image(
        self, style: ResultStampStyle, image: PreparedImage, right: float, height: float
    ) -> bytes:
        """The red seal, right-aligned and behind the text, as Decree 30/2020 places it."""
        writer = self.writer
        assert writer is not None
        self.set_resource(
            category=content.ResourceType.XOBJECT,
            name=pdf_name("/KQSeal"),
            value=image.add_to(writer),
        )
        opacity = generic.FloatObject(style.seal_opacity)
        self.set_resource(
            category=content.ResourceType.EXT_G_STATE,
            name=pdf_name("/KQSealGS"),
            value=generic.DictionaryObject({pdf_name("/CA"): opacity, pdf_name("/ca"): opacity}),
        )
        h = height - 2 * PAD
        w = h * image.width / image.height
        return b"q /KQSealGS gs %.2f 0 0 %.2f %.2f %.2f cm /KQSeal Do Q" % (w, h, right - w, PAD)


def _wrap(text: str, font: PreparedFont, size: float, avail: float) -> list[str]:
    """Greedy word wrap at ``size``; a word wider than ``avail`` gets a line to itself."""
    lines: list[str] = []
    for word in text.split():
        candidate = f"{lines[-1]} {word}" if lines else word
        if lines and font.width(candidate, size) <= avail:
            lines[-1] = candidate
        else:
            lines.append(word)
    return lines or [""]
