"""A signing key on a PKCS#11 token (HSM, USB token, SoftHSM2), selected by label.

The token's slot number changes between machines and reboots, so the token
is found by its label. EC keys are signed with the raw ECDSA mechanism
(pyHanko hashes first): most tokens do not offer CKM_ECDSA_SHA256.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from pyhanko.config.pkcs11 import TokenCriteria
from pyhanko.sign import pkcs11 as pyhanko_pkcs11
from pyhanko.sign.signers import Signer

from keys.errors import TokenError
from keys.local import to_asn1

PIN_ENV = "KETQUA_PKCS11_PIN"


@dataclass(frozen=True, slots=True)
class TokenSpec:
    """Where the document-signing key lives on a token."""

    module: Path
    token_label: str
    key_label: str
    cert_label: str | None = None
    pin_file: Path | None = field(default=None, repr=False)

    def pin(self) -> str:
        if self.pin_file is not None:
            try:
                return self.pin_file.read_text().strip()
            except OSError as exc:
                raise TokenError(f"cannot read PIN file {self.pin_file}: {exc.strerror}") from None
        pin = os.environ.get(PIN_ENV)
        if not pin:
            raise TokenError(f"no token PIN: set {PIN_ENV} or give a PIN file")
        return pin


@dataclass(slots=True)
class TokenSigner:
    """An open session and the pyHanko signer bound to it; close when done."""

    signer: Signer
    session: object

    def close(self) -> None:
        self.session.close()  # type: ignore[attr-defined]


def open_token(spec: TokenSpec, chain: tuple[object, ...] = ()) -> TokenSigner:
    """Log in to the token and prepare a signer (RSA or EC, detected from the certificate)."""
    if not spec.module.exists():
        raise TokenError(f"PKCS#11 module {spec.module} not found")
    try:
        session = pyhanko_pkcs11.open_pkcs11_session(
            str(spec.module),
            token_criteria=TokenCriteria(label=spec.token_label),
            user_pin=spec.pin(),
        )
    except TokenError:
        raise
    except Exception as exc:  # python-pkcs11 raises many unrelated types
        raise TokenError(
            f"cannot open token {spec.token_label!r}: {type(exc).__name__} {exc}".strip()
        ) from None
    cert_label = spec.cert_label or spec.key_label
    try:
        probe = pyhanko_pkcs11.PKCS11Signer(session, cert_label=cert_label, key_label=spec.key_label)
        cert = probe.signing_cert
        is_ec = cert.public_key.algorithm == "ec"
        signer = pyhanko_pkcs11.PKCS11Signer(
            session,
            cert_label=cert_label,
            key_label=spec.key_label,
            ca_chain=[to_asn1(c) for c in chain],  # type: ignore[arg-type]
            use_raw_mechanism=is_ec,
        )
    except Exception as exc:
        session.close()
        raise TokenError(
            f"token {spec.token_label!r} has no usable key/certificate labelled "
            f"{spec.key_label!r}: {type(exc).__name__} {exc}".strip()
        ) from None
    return TokenSigner(signer=signer, session=session)
