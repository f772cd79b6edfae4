"""Access codes: what an applicant holds to fetch their own result; never stored in clear.

A code the service generates is an HMAC of the result's id under the
access-code key (``derive_code``): the registry stores only the mark
``DERIVED``, and a check derives the code again and compares in constant
time (microseconds; a stolen registry holds nothing to guess against). A
code the applicant chose (``lookup_secret``) is stored as a slow hash:
scrypt (N=2**14, r=8, p=1: 16 MiB and tens of milliseconds a try) with a
random salt; the hash runs in C with the GIL released: call it from a
thread or a worker process, never on an event loop. Generated codes stored
as scrypt hashes before (``scrypt+code``) are still checked as such.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import secrets

N, R, P = 2**14, 8, 1
_SCHEME = "scrypt"
_GENERATED = "scrypt+code"  # a generated code: compared after normalising what is typed
# Crockford's base32: no I, L, O, U; what a person may type for them is read as meant
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_READ_AS = str.maketrans({"O": "0", "I": "1", "L": "1"})
CODE_LENGTH = 10  # 50 bits
DERIVED = "derived"  # the stored mark of a generated code: checked by deriving it again


def derive_code(secret: bytes, result_id: str) -> str:
    """The access code the service generates for a result: the same every time it is asked."""
    value = int.from_bytes(hmac.new(secret, result_id.encode(), hashlib.sha256).digest()[:8])
    chars = [ALPHABET[(value >> (5 * i)) & 31] for i in range(CODE_LENGTH)]
    return f"{''.join(chars[:5])}-{''.join(chars[5:])}"


def normalise(code: str) -> str:
    """A generated code as typed ("k7pq9-zx42m", "K7PQ9 ZX42M") to its canonical form."""
    return "".join(code.upper().split()).replace("-", "").translate(_READ_AS)


def is_generated(stored: str) -> bool:
    return stored == DERIVED or stored.startswith(_GENERATED + "$")


def check_derived(code: str, secret: bytes, result_id: str) -> bool:
    """Whether ``code`` (as typed) is the one ``derive_code`` gives ``result_id``."""
    expected = normalise(derive_code(secret, result_id))
    return hmac.compare_digest(normalise(code).encode(), expected.encode())


def _scrypt(code: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        code.encode(), salt=salt, n=n, r=r, p=p, maxmem=64 * 1024 * 1024, dklen=32
    )


def hash_code(code: str, *, generated: bool = False) -> str:
    """The stored form of an access code; ``generated``: one of ``derive_code``'s."""
    salt = secrets.token_bytes(16)
    digest = _scrypt(normalise(code) if generated else code, salt, N, R, P)
    b64 = base64.b64encode
    scheme = _GENERATED if generated else _SCHEME
    return f"{scheme}${N}${R}${P}${b64(salt).decode()}${b64(digest).decode()}"


@functools.cache
def _nothing() -> str:
    return hash_code(secrets.token_urlsafe(16))


def check_nothing(code: str) -> bool:
    """The work of ``check_code`` where there is no code to check: False, in the same time,
    so that a dossier without an access code cannot be told by how fast a guess fails."""
    check_code(code, _nothing())
    return False


def check_code(
    code: str, stored: str, *, secret: bytes | None = None, result_id: str | None = None
) -> bool:
    """Whether ``code`` opens what ``stored`` stands for; a ``DERIVED`` mark is checked with
    the access-code key (``secret``) and the result's id, and never opens without them."""
    if stored == DERIVED:
        return (
            secret is not None
            and result_id is not None
            and (check_derived(code, secret, result_id))
        )
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme == _GENERATED:
            code = normalise(code)
        elif scheme != _SCHEME:
            return False
        expected = base64.b64decode(digest)
        actual = _scrypt(code, base64.b64decode(salt), int(n), int(r), int(p))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)
