"""The seal as the URL a QR carries: ``HTTPS://HOST/V/<BASE32 SEAL>``.

The whole URL is upper case and base32 without padding, so every character
is in the QR alphanumeric set (``0-9 A-Z space $ % * + - . / :``) and the QR
uses alphanumeric mode (5.5 bits a character instead of 8). Scheme and host
are case-insensitive; the verifier serves both ``/v/`` and ``/V/``.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from urllib.parse import urlsplit

import zxingcpp

from seal.errors import MalformedSeal

__all__ = [
    "QR_ALPHANUMERIC",
    "QR_MASK",
    "qr_modules",
    "qr_version",
    "seal_from_text",
    "seal_to_url",
]

#: The characters of QR alphanumeric mode.
QR_ALPHANUMERIC = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:")

# Longest text seal_from_text looks at: a 1024-byte seal is 1639 base32
# characters, plus the base URL.
_MAX_TEXT_LENGTH = 4096
_BASE32 = re.compile(r"[A-Z2-7]+")
# Unpadded base32 lengths that are possible (mod 8) and the padding each needs.
_PADDING = {0: "", 2: "======", 4: "====", 5: "===", 7: "="}


def seal_to_url(seal: bytes, base_url: str) -> str:
    """``<BASE_URL>/V/<BASE32 SEAL>``, all upper case, base32 padding stripped.

    ``base_url`` is the verifier's public URL (``http`` or ``https``, a host,
    optionally a port and a path prefix; a trailing ``/`` is dropped). It has
    no query, fragment or user info, and upper-cased it must stay within the
    QR alphanumeric set. A path prefix is upper-cased too, so the server must
    match it case-insensitively. Raises :class:`ValueError` on a bad base URL.
    """
    if not seal:
        raise ValueError("the seal is empty")
    if any(ch.isspace() for ch in base_url):
        raise ValueError(f"base URL {base_url!r} must not contain spaces")
    base = base_url.rstrip("/")
    try:
        parts = urlsplit(base)
    except ValueError as exc:
        raise ValueError(f"base URL {base_url!r} is not a URL: {exc}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"base URL {base_url!r} must be http:// or https:// with a host")
    if parts.query or parts.fragment or "?" in base or "#" in base:
        raise ValueError(f"base URL {base_url!r} must have no query or fragment")
    if "@" in parts.netloc:
        raise ValueError(f"base URL {base_url!r} must have no user info")
    encoded = base64.b32encode(seal).decode("ascii").rstrip("=")
    url = f"{base}/V/{encoded}".upper()
    outside = sorted(set(url) - QR_ALPHANUMERIC)
    if outside:
        raise ValueError(
            f"base URL {base_url!r} has characters outside the QR alphanumeric set: "
            + " ".join(repr(ch) for ch in outside)
        )
    return url


def seal_from_text(text: str) -> bytes:
    """The seal bytes from a scanned QR text: a seal URL or a bare base32 seal.

    Accepts any case, ``/V/`` or ``/v/``, a trailing ``/``, and base32 with or
    without padding. Raises :class:`MalformedSeal` on anything else; the seal
    itself is not checked here (see :func:`seal.decode_seal`).
    """
    text = text.strip()
    if not text:
        raise MalformedSeal("the QR text is empty")
    if len(text) > _MAX_TEXT_LENGTH:
        raise MalformedSeal(f"the QR text is {len(text)} characters, more than {_MAX_TEXT_LENGTH}")
    token = _token_from_url(text) if "/" in text or ":" in text else text
    return _decode_base32(token)


#: The seal's QR mask pattern (ISO 18004 numbering).
QR_MASK = 6
# image pixels: 0 dark, 255 light -> modules: 1 dark, 0 light
_DARK = bytes([1] + [0] * 255)


def qr_modules(text: str, *, mask: int | None = QR_MASK) -> tuple[bytes, ...]:
    """The QR code of ``text`` at error correction Q, without its quiet zone: one row of
    modules (1 dark, 0 light) per ``bytes``. ValueError if no QR code holds it.

    Encoded by zxing-cpp, in C++. The mask is fixed (``QR_MASK``) rather than searched:
    the search scores all 8 masks by the ISO 18004 penalty rules to break up regular
    data, and a seal (a signature, a digest) is pseudo-random, so every mask scores
    about the same; the search is 85% of the encoding's time (``bench/qr.py``).
    ``mask=None`` searches.
    """
    options = {} if mask is None else {"data_mask": mask}
    code = zxingcpp.create_barcode(text, zxingcpp.BarcodeFormat.QRCode, ec_level="Q", **options)
    image = code.to_image(scale=1, add_quiet_zones=False)
    # the image is a buffer (the stubs do not say so): one byte a module
    pixels = bytes(memoryview(image)).translate(_DARK)  # type: ignore[arg-type]
    size = math.isqrt(len(pixels))
    return tuple(pixels[r * size : (r + 1) * size] for r in range(size))


def qr_version(text: str) -> int:
    """The QR version (1..40) of ``text``'s code at error correction Q."""
    return (len(qr_modules(text)) - 17) // 4


def _token_from_url(text: str) -> str:
    try:
        parts = urlsplit(text)
    except ValueError:
        raise MalformedSeal("the QR text is not a seal URL") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        raise MalformedSeal("the QR text is not an http(s) seal URL")
    if parts.query or parts.fragment:
        raise MalformedSeal("a seal URL has no query or fragment")
    segments = parts.path.rstrip("/").split("/")
    if len(segments) < 3 or segments[-2].upper() != "V":
        raise MalformedSeal("the URL is not a seal URL (.../V/<seal>)")
    return segments[-1]


def _decode_base32(token: str) -> bytes:
    token = token.upper().rstrip("=")
    if not token.isascii() or not _BASE32.fullmatch(token):
        raise MalformedSeal("the seal is not base32 (A-Z, 2-7)")
    padding = _PADDING.get(len(token) % 8)
    if padding is None:
        raise MalformedSeal(f"a base32 seal cannot be {len(token)} characters long")
    try:
        seal = base64.b32decode(token + padding)
    except binascii.Error as exc:
        raise MalformedSeal(f"the seal is not base32: {exc}") from None
    # Unused low bits of the last character must be zero: one text, one seal.
    if base64.b32encode(seal).decode("ascii").rstrip("=") != token:
        raise MalformedSeal("the seal is not canonical base32 (non-zero padding bits)")
    return seal
