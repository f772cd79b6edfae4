"""Registry failures, on the one error base.

A missing result is ``plumbing.errors.NotFound``, a contradiction
``Conflict``, a database that cannot be reached ``Unavailable``: the HTTP
plumbing maps those, so they live below both.
"""

from __future__ import annotations

from plumbing.errors import KetquaError


class RegistryError(KetquaError):
    """The database or the blob store failed (not the caller's fault)."""


class BlobMissing(RegistryError):
    """A document the registry names is not in the blob store, or not what its name says."""
