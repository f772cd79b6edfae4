"""The layout of a key folder made by ``ketqua keys init``, and its passphrase.

The folder holds private keys (encrypted, 0600) at its top and, under
``public/``, everything a verifier may have: certificates and the trust list.
Copy only ``public/`` to a verifier host.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

from keys.errors import KeyMaterialError, PassphraseError
from plumbing.files import write_atomic
from plumbing.secret import Secret


@dataclass(frozen=True, slots=True)
class KeyDir:
    """Names of the files inside one key folder."""

    root: Path

    @property
    def passphrase_file(self) -> Path:
        return self.root / "passphrase"

    @property
    def signing_p12(self) -> Path:
        return self.root / "signing.p12"

    @property
    def seal_p12(self) -> Path:
        return self.root / "seal.p12"

    @property
    def root_ca_key(self) -> Path:
        return self.root / "root-ca.key.pem"

    @property
    def issuing_ca_key(self) -> Path:
        return self.root / "issuing-ca.key.pem"

    @property
    def public(self) -> Path:
        return self.root / "public"

    @property
    def root_ca_cert(self) -> Path:
        return self.public / "root-ca.pem"

    @property
    def issuing_ca_cert(self) -> Path:
        return self.public / "issuing-ca.pem"

    @property
    def signing_cert(self) -> Path:
        return self.public / "signing.pem"

    @property
    def seal_cert(self) -> Path:
        return self.public / "seal.pem"

    @property
    def trust_list(self) -> Path:
        return self.public / "trust-list.json"

    @property
    def access_key(self) -> Path:
        """The secret that derives applicants' access codes (``registry.access``); private."""
        return self.root / "access-code.key"

    def read_access_key(self) -> bytes | None:
        """The access-code secret if it is here (a verifier reads it, never makes one: a key
        of its own would open nothing the signer's codes open)."""
        if not self.access_key.exists():
            return None
        return self.load_access_key()

    def load_access_key(self) -> bytes:
        """The access-code secret, made (32 random bytes, 0600) the first time it is asked for."""
        if not self.access_key.exists():
            self.root.mkdir(parents=True, exist_ok=True)
            write_private(self.access_key, secrets.token_bytes(32))
        data = self.access_key.read_bytes()
        if len(data) < 32:
            raise KeyMaterialError(f"{self.access_key} is shorter than 32 bytes")
        return data


def read_passphrase(
    keydir: KeyDir | None, passphrase_file: Path | None = None, passphrase: Secret | None = None
) -> bytes:
    """Find the passphrase: an explicit file, then the one given, then the folder's own file.

    The value is never logged or printed; a missing one is a ``PassphraseError``
    for the field ``passphrase`` (the shell says which flag or setting gives it).
    """
    if passphrase_file is not None:
        return _read_secret_file(passphrase_file)
    if passphrase is not None:
        return passphrase.value
    if keydir is not None and keydir.passphrase_file.exists():
        return _read_secret_file(keydir.passphrase_file)
    where = f" (and no file {keydir.passphrase_file})" if keydir is not None else ""
    raise PassphraseError(f"no key passphrase given{where}", field="passphrase")


def passphrase_source(
    keydir: KeyDir | None, passphrase_file: Path | None = None, passphrase: Secret | None = None
) -> str:
    """Where ``read_passphrase`` takes it from, for an error message (never the value)."""
    if passphrase_file is not None:
        return str(passphrase_file)
    if passphrase is not None:
        return passphrase.source
    return str(keydir.passphrase_file) if keydir is not None else "nowhere"


def new_passphrase_file(path: Path) -> bytes:
    """Generate a random passphrase into a new 0600 file and return it."""
    value = secrets.token_urlsafe(32).encode("ascii")
    write_private(path, value + b"\n")
    return value


def write_private(path: Path, data: bytes) -> None:
    """Write a secret file atomically, readable by its owner only (0600 from the start)."""
    write_atomic(path, data, mode=0o600)


def write_public(path: Path, data: bytes) -> None:
    """Write a public file atomically (0644)."""
    write_atomic(path, data, mode=0o644)


def _read_secret_file(path: Path) -> bytes:
    try:
        value = path.read_bytes().strip()
    except OSError as exc:
        raise PassphraseError(f"cannot read passphrase file {path}: {exc.strerror}") from exc
    if not value:
        raise PassphraseError(f"passphrase file {path} is empty")
    return value
