"""Access codes: what an applicant holds to fetch their own result, stored only as a slow hash.

scrypt (N=2**14, r=8, p=1: 16 MiB and tens of milliseconds a try) with a
random salt per code; the check recomputes and compares in constant time.
The hash runs in C with the GIL released: call it from a thread or a
worker process, never on an event loop.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

N, R, P = 2**14, 8, 1
_SCHEME = "scrypt"


def _scrypt(code: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        code.encode(), salt=salt, n=n, r=r, p=p, maxmem=64 * 1024 * 1024, dklen=32
    )


def hash_code(code: str) -> str:
    salt = secrets.token_bytes(16)
    digest = _scrypt(code, salt, N, R, P)
    b64 = base64.b64encode
    return f"{_SCHEME}${N}${R}${P}${b64(salt).decode()}${b64(digest).decode()}"


def check_code(code: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != _SCHEME:
            return False
        expected = base64.b64decode(digest)
        actual = _scrypt(code, base64.b64decode(salt), int(n), int(r), int(p))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)
