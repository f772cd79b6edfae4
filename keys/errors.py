"""Errors raised while creating or loading key material."""

from __future__ import annotations

from plumbing.errors import InputError, KetquaError


class KeyMaterialError(InputError):
    """A key, certificate or token cannot be used (missing, unreadable, wrong passphrase)."""


class PassphraseError(KeyMaterialError):
    """The passphrase is missing or does not open the key."""


class TokenError(KeyMaterialError):
    """The PKCS#11 module, token, PIN or object label is wrong."""


class TokenFailure(KetquaError):
    """The token failed while signing (removed, logged out, device error): not an input error."""
