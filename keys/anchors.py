"""Extra trust anchors an operator configures: the national CA hierarchies officials sign under.

A result is often signed twice: first by the responsible official, with a
certificate from the Vietnam National Root CA's hierarchy (rootca.gov.vn)
or the Government's specialised CA (Ban Cơ yếu Chính phủ, ca.gov.vn), then
by the agency. The trust list holds the agencies' own roots; these anchors
let the official's signature validate beside the agency's. Public
certificates only: the verifier may hold them.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from plumbing.errors import InputError


def load_anchors(paths: Iterable[Path]) -> bytes:
    """The CA certificates in ``paths`` (PEM, one or more a file), as one PEM bundle."""
    bundle: list[bytes] = []
    for path in paths:
        try:
            found = x509.load_pem_x509_certificates(path.read_bytes())
        except OSError as exc:
            raise InputError(
                f"cannot read the trust anchor {path}: {exc.strerror}", field="trust_anchors"
            ) from exc
        except ValueError as exc:
            raise InputError(
                f"{path} holds no PEM certificate: {exc}", field="trust_anchors"
            ) from exc
        for cert in found:
            if not _is_ca(cert):
                raise InputError(
                    f"{path}: {cert.subject.rfc4514_string()} is not a CA certificate",
                    field="trust_anchors",
                )
            bundle.append(cert.public_bytes(Encoding.PEM))
    return b"".join(bundle)


def anchors_of(bundle: bytes) -> list[x509.Certificate]:
    return x509.load_pem_x509_certificates(bundle) if bundle else []


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False
