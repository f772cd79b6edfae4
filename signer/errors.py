"""Errors of the signing path, each naming the input or field at fault."""

from __future__ import annotations

from plumbing.errors import InputError, KetquaError


class MetadataError(InputError):
    """The result's metadata is missing a field or has an invalid value (``field`` names it)."""


class DocumentError(InputError):
    """The PDF cannot be signed: not a PDF, corrupt, encrypted, too large, broken signature."""


class PlacementError(InputError):
    """The stamp's page or position does not fit the document (the field ``placement``)."""

    def __init__(self, message: str, *, field: str | None = "placement") -> None:
        super().__init__(message, field=field)


class SigningError(KetquaError):
    """Signing failed for a reason outside the input (timestamp server down, token error)."""


class RevocationUnavailable(SigningError):
    """B-LT/B-LTA: no OCSP response or CRL could be fetched for the signing certificate.

    Not raised for a revoked certificate: that is a plain ``SigningError``, and
    nothing is ever signed with it.
    """
