"""The signing configuration, built from the settings in one place.

``ketqua sign`` (flags over the same settings) and ``ketqua serve`` both call
``runtime_config``: the key source (folder, passphrase, token), the PAdES
level, the timestamp server, the public URL in the QR, the seal image (its
size, the template's field, the operator's place for it) and the size limit
are decided here and nowhere else. Errors name the field at
fault; the command says which flag or setting that is.
"""

from __future__ import annotations

from dataclasses import replace

from ketqua.settings import Settings
from keys.token import TokenSpec
from plumbing.errors import InputError
from signer.document import SignOptions
from signer.pades import PadesLevel
from signer.placement import Placement
from signer.runtime import KeySource, RuntimeConfig
from signer.stamp.image import prepare_image


def runtime_config(settings: Settings, placement: Placement | None = None) -> RuntimeConfig:
    """What every signing process needs (picklable), checked before any key is opened."""
    level = PadesLevel(settings.pades_level) if settings.pades_level else None
    if level is not None and level.needs_timestamp and settings.tsa_url is None:
        # said once, before keys open or files are read, not once per file of a batch
        raise InputError(f"PAdES {level} needs a timestamp server", field="tsa_url")
    if settings.seal_image is not None:
        prepare_image(settings.seal_image)  # a bad image stops the start, not a signature
    seal_x = seal_y = None
    if settings.seal_position is not None:
        seal_x, seal_y = (float(v) for v in settings.seal_position.split(","))
    placement = replace(
        placement or Placement(), seal_field=settings.seal_field, seal_x=seal_x, seal_y=seal_y
    )
    return RuntimeConfig(
        keys=KeySource(
            settings.keys_dir,
            settings.key_passphrase_file,
            _token(settings),
            passphrase=settings.passphrase,
        ),
        options=SignOptions(
            level=level,
            public_url=settings.public_url,
            placement=placement,
            max_bytes=settings.max_document_bytes,
        ),
        tsa_url=settings.tsa_url,
        network_timeout=settings.network_timeout,
        seal_image=settings.seal_image,
        seal_size_mm=settings.seal_size_mm,
    )


def _token(settings: Settings) -> TokenSpec | None:
    """The document key on a PKCS#11 token: module, token and key label all given, or none."""
    module, token, key = settings.pkcs11_module, settings.pkcs11_token, settings.pkcs11_key
    if module is None and token is None and key is None:
        return None
    if module is None or token is None or key is None:
        missing = (
            "pkcs11_module"
            if module is None
            else "pkcs11_token"
            if token is None
            else "pkcs11_key"
        )
        raise InputError(
            "a key on a token needs the module, the token label and the key label", field=missing
        )
    return TokenSpec(
        module=module,
        token_label=token,
        key_label=key,
        pin_file=settings.pkcs11_pin_file,
        pin=settings.pin,
    )
