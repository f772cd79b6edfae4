"""A signing key on a PKCS#11 token (HSM, USB token, SoftHSM2), selected by label.

The token's slot number changes between machines and reboots, so the token
is found by its label. EC keys are signed with the raw ECDSA mechanism
(pyHanko hashes first): most tokens do not offer CKM_ECDSA_SHA256.

PKCS#11 logs in per process and token, not per session: a second C_Login
fails with CKR_USER_ALREADY_LOGGED_IN, and C_Logout logs out every session
of the process. So the signers of one process that use the same token share
one login (the last one to close logs out), each with a session of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import secrets
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509
from pkcs11.exceptions import PinExpired, PinIncorrect, PinLenRange, PinLocked, PKCS11Error
from pyhanko.config.pkcs11 import TokenCriteria
from pyhanko.sign import pkcs11 as pyhanko_pkcs11
from pyhanko.sign.signers import Signer

from keys.cms_template import TemplateCmsMixin
from keys.errors import TokenError, TokenFailure
from keys.local import to_asn1
from plumbing.secret import Secret


@dataclass(frozen=True, slots=True)
class TokenSpec:
    """Where the document-signing key lives on a token."""

    module: Path
    token_label: str
    key_label: str
    cert_label: str | None = None
    pin_file: Path | None = field(default=None, repr=False)
    pin: Secret | None = field(default=None, repr=False)

    def read_pin(self) -> str:
        """The PIN: from ``pin_file``, else the one given; ``TokenError`` for the field ``pin``."""
        if self.pin_file is not None:
            try:
                from_file = self.pin_file.read_text().strip()
            except OSError as exc:
                raise TokenError(f"cannot read PIN file {self.pin_file}: {exc.strerror}") from exc
            if not from_file:
                raise TokenError(f"PIN file {self.pin_file} is empty")
            return from_file
        if self.pin is None:
            raise TokenError("no token PIN given", field="pin")
        return self.pin.text


@dataclass(slots=True)
class _Login:
    """The one logged-in session of a token in this process; closing it logs out."""

    session: Any
    pin_digest: bytes
    users: int = 0
    session_taken: bool = False


_PIN_KEY = secrets.token_bytes(32)
_logins: dict[tuple[str, str], _Login] = {}
_logins_lock = threading.Lock()


def _pin_digest(pin: str) -> bytes:
    return hmac.new(_PIN_KEY, pin.encode("utf-8"), hashlib.sha256).digest()


@dataclass(slots=True)
class TokenSigner:
    """An open session, the pyHanko signer bound to it and its certificate; close when done."""

    signer: Signer
    certificate: x509.Certificate
    session: Any
    _login_key: tuple[str, str] = field(repr=False)
    _login: _Login = field(repr=False)
    _closed: bool = field(default=False, repr=False)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        _release(self._login_key, self._login, self.session)


def open_token(spec: TokenSpec, chain: Sequence[x509.Certificate] = ()) -> TokenSigner:
    """Log in to the token and prepare a signer (RSA or EC, detected from the certificate)."""
    if not spec.module.exists():
        raise TokenError(f"PKCS#11 module {spec.module} not found")
    # python-pkcs11 keeps one initialised library per path string: a symlink and
    # its target would initialise the same module twice (CKR_..._ALREADY_INITIALIZED)
    module = str(spec.module.resolve())
    key = (module, spec.token_label)
    pin = spec.read_pin()
    with _logins_lock:
        login, session = _acquire(key, spec, pin)
    try:
        signer, certificate = _signer(spec, session, chain)
    except BaseException:
        _release(key, login, session)
        raise
    return TokenSigner(signer, certificate, session, _login_key=key, _login=login)


def _acquire(key: tuple[str, str], spec: TokenSpec, pin: str) -> tuple[_Login, Any]:
    login = _logins.get(key)
    if login is None:
        login = _Login(_open_session(key[0], spec.token_label, pin), _pin_digest(pin))
        _logins[key] = login
    elif not hmac.compare_digest(login.pin_digest, _pin_digest(pin)):
        # the token accepted the other PIN; it would not check this one (already logged in)
        raise TokenError(f"wrong PIN for token {spec.token_label!r}")
    if login.session_taken:
        session = _open_session(key[0], spec.token_label, None)  # covered by the login
    else:
        session = login.session
        login.session_taken = True
    login.users += 1
    return login, session


def _release(key: tuple[str, str], login: _Login, session: Any) -> None:
    with _logins_lock:
        login.users -= 1
        if session is login.session:
            login.session_taken = False
        else:
            with contextlib.suppress(PKCS11Error):
                session.close()
        if login.users == 0:
            if _logins.get(key) is login:
                del _logins[key]
            with contextlib.suppress(PKCS11Error):
                login.session.close()  # C_Logout, then C_CloseSession


def _open_session(module: str, token_label: str, pin: str | None) -> Any:
    try:
        return pyhanko_pkcs11.open_pkcs11_session(
            module, token_criteria=TokenCriteria(label=token_label), user_pin=pin
        )
    except (PinIncorrect, PinLenRange) as exc:
        raise TokenError(f"wrong PIN for token {token_label!r}") from exc
    except PinLocked as exc:
        raise TokenError(f"the PIN of token {token_label!r} is locked") from exc
    except PinExpired as exc:
        raise TokenError(f"the PIN of token {token_label!r} has expired") from exc
    except Exception as exc:  # python-pkcs11 raises many unrelated types
        if str(exc).startswith("No token matching"):  # pyHanko's "no such label"
            raise TokenError(f"no token labelled {token_label!r} in {module}") from exc
        raise TokenError(
            f"cannot open token {token_label!r}: {type(exc).__name__} {exc}".strip()
        ) from exc


# Concurrent token calls from two threads of one process crashed the interpreter
# (SIGSEGV in python-pkcs11 reading a key attribute while another session
# signed): one token operation at a time per process.
_token_calls = threading.Lock()


class _TokenSigner(TemplateCmsMixin, pyhanko_pkcs11.PKCS11Signer):
    """pyHanko's PKCS#11 signer; B-B signatures after the first reuse its SignedData."""

    async def async_sign_raw(
        self, data: bytes, digest_algorithm: str, dry_run: bool = False
    ) -> bytes:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, _token_calls.acquire)  # never block the loop
        try:
            signature: bytes = await super().async_sign_raw(data, digest_algorithm, dry_run)
            return signature
        except PKCS11Error as exc:
            name = type(exc).__name__
            raise TokenFailure(f"the token failed while signing: {name} {exc}".strip()) from exc
        finally:
            _token_calls.release()


def _signer(
    spec: TokenSpec, session: Any, chain: Sequence[x509.Certificate]
) -> tuple[Signer, x509.Certificate]:
    cert_label = spec.cert_label or spec.key_label
    try:
        signer = _TokenSigner(
            session,
            cert_label=cert_label,
            key_label=spec.key_label,
            ca_chain=[to_asn1(c) for c in chain],
        )
        # reading the certificate looks up the certificate and the key now, once
        signing_cert = signer.signing_cert
    except Exception as exc:
        raise TokenError(
            f"token {spec.token_label!r} has no usable key/certificate labelled "
            f"{spec.key_label!r}: {type(exc).__name__} {exc}".strip()
        ) from exc
    try:
        certificate = x509.load_der_x509_certificate(signing_cert.dump())
    except ValueError as exc:
        raise TokenError(
            f"the certificate {cert_label!r} on token {spec.token_label!r}: {exc}"
        ) from exc
    signer.use_raw_mechanism = signing_cert.public_key.algorithm == "ec"
    return signer, certificate
