"""Identifiers that sort by creation time (ULID layout): keyset paging is ``ORDER BY id``."""

from __future__ import annotations

import secrets
import time

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
ID_LENGTH = 26


def new_id() -> str:
    """48 bits of milliseconds, 80 random bits, 26 characters of Crockford base32."""
    value = (time.time_ns() // 1_000_000) << 80 | secrets.randbits(80)
    chars = []
    for _ in range(ID_LENGTH):
        value, digit = divmod(value, 32)
        chars.append(_CROCKFORD[digit])
    return "".join(reversed(chars))


def looks_like_id(text: str) -> bool:
    return len(text) == ID_LENGTH and all(c in _CROCKFORD for c in text)
