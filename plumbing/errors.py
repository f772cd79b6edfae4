"""The one error base every ketqua failure derives from.

Errors carry structured fields (which input, which field) so that each edge
(CLI, HTTP) renders them its own way: the CLI as one line and exit 2, HTTP
as an RFC 9457 problem document naming the field.
"""

from __future__ import annotations


class KetquaError(Exception):
    """A failure the user can act on; ``str(err)`` is one line saying what is wrong."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def __str__(self) -> str:
        if self.field:
            return f"{self.field}: {self.message}"
        return self.message


class InputError(KetquaError):
    """The caller's input (file, metadata, option) is unusable; CLI exit code 2."""


class NotFound(InputError):
    """What the request names does not exist (HTTP 404)."""


class Conflict(InputError):
    """The request contradicts what is already recorded (HTTP 409)."""


class Unavailable(KetquaError):
    """Something this service depends on (its database) cannot be reached now; try again shortly.

    Not the caller's fault and not for good: HTTP 503 with ``Retry-After``.
    """
