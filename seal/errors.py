"""Why a QR seal was refused.

Every refusal is a :class:`SealError`; the subclasses say which check failed
so that a verifier can report it (the verdict is ``invalid`` for all of them).
"""

from __future__ import annotations

from plumbing.errors import KetquaError


class SealError(KetquaError):
    """A QR seal that cannot be accepted."""

    def __init__(
        self, message: str = "the QR seal is not valid", *, field: str | None = None
    ) -> None:
        super().__init__(message, field=field)


class MalformedSeal(SealError):
    """The seal is not a well-formed ketqua COSE_Sign1 seal (bytes, CBOR, structure or claims)."""

    def __init__(self, detail: str, *, field: str | None = None) -> None:
        super().__init__(f"malformed QR seal: {detail}", field=field)
        self.detail = detail


class UnknownKeyId(SealError):
    """No trusted seal key has the seal's key id."""

    def __init__(self, kid: bytes, *, field: str | None = None) -> None:
        super().__init__(f"QR seal key id {kid.hex()} is not in the trust list", field=field)
        self.kid = kid


class BadSignature(SealError):
    """The seal's signature does not verify under the key its key id names."""

    def __init__(
        self,
        message: str = (
            "QR seal signature does not verify: the seal was altered "
            "or not made with the key it names"
        ),
        *,
        field: str | None = None,
    ) -> None:
        super().__init__(message, field=field)


class WrongAlgorithm(SealError):
    """The seal is not signed with ES256 (COSE algorithm -7), the only one accepted."""

    def __init__(self, alg: object, *, field: str | None = None) -> None:
        super().__init__(f"QR seal algorithm {alg!r} is not ES256 (-7)", field=field)
        self.alg = alg
