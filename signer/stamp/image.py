"""The agency's red seal image (optional PNG), encoded once per process.

pyHanko's ``PdfImage`` re-encodes the pixels for every document; here the
RGB samples and the alpha channel (as a soft mask, so the round seal keeps
its transparent corners) are compressed once, and each document gets fresh
stream objects around the same bytes.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from PIL import Image, UnidentifiedImageError
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.writer import BasePdfFileWriter

from plumbing.errors import InputError

MAX_SIDE = 600  # pixels: enough for 45 mm at 300 dpi; larger images are scaled down once
PAPER = 225  # lightness (0-255) from which a pixel of an opaque seal scan counts as paper


@dataclass(frozen=True)
class PreparedImage:
    width: int
    height: int
    rgb: bytes = field(repr=False)  # zlib-compressed 8-bit RGB samples
    alpha: bytes | None = field(repr=False)  # zlib-compressed 8-bit alpha, if any

    def add_to(self, writer: BasePdfFileWriter) -> generic.IndirectObject:
        def image(colour_space: str, data: bytes) -> generic.StreamObject:
            return generic.StreamObject(
                {
                    pdf_name("/Type"): pdf_name("/XObject"),
                    pdf_name("/Subtype"): pdf_name("/Image"),
                    pdf_name("/Width"): generic.NumberObject(self.width),
                    pdf_name("/Height"): generic.NumberObject(self.height),
                    pdf_name("/ColorSpace"): pdf_name(colour_space),
                    pdf_name("/BitsPerComponent"): generic.NumberObject(8),
                    pdf_name("/Filter"): pdf_name("/FlateDecode"),
                },
                encoded_data=data,
            )

        main = image("/DeviceRGB", self.rgb)
        if self.alpha is not None:
            main[pdf_name("/SMask")] = writer.add_object(image("/DeviceGray", self.alpha))
        return writer.add_object(main)


@cache
def prepare_image(path: Path) -> PreparedImage:
    """Read and compress ``path`` once; errors name the file."""
    try:
        with Image.open(path) as source:
            img = source.convert("RGBA")
    except (OSError, UnidentifiedImageError) as exc:
        raise InputError(f"cannot read the seal image {path}: {exc}", field="seal_image") from exc
    if max(img.size) > MAX_SIDE:
        img.thumbnail((MAX_SIDE, MAX_SIDE))
    alpha_channel = img.getchannel("A")
    lo, _ = alpha_channel.getextrema()
    if lo == 255:
        # no transparency (a JPEG scan, a flat PNG): the paper around the seal would
        # cover the text as a tinted block; make the light paper transparent instead
        lightness = img.convert("L")
        alpha_channel = lightness.point(lambda v: 0 if v >= PAPER else 255 - v * 255 // PAPER)
        img.putalpha(alpha_channel)
        lo = 0
    alpha = None if lo == 255 else zlib.compress(alpha_channel.tobytes(), 6)
    return PreparedImage(
        width=img.width,
        height=img.height,
        rgb=zlib.compress(img.convert("RGB").tobytes(), 6),
        alpha=alpha,
    )
