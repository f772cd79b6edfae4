"""Registry failures, on the one error base."""

from __future__ import annotations

from plumbing.errors import InputError, KetquaError


class RegistryError(KetquaError):
    """The database or the blob store failed (not the caller's fault)."""


class NotFound(InputError):
    """No such result (or API key)."""


class Conflict(InputError):
    """The request contradicts what the registry already holds (HTTP 409)."""


class BlobMissing(RegistryError):
    """A document the registry names is not in the blob store, or not what its name says."""


class Unavailable(RegistryError):
    """The database cannot be reached now (restarting, network): try again shortly."""
