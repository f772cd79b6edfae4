"""A CMS SignedData template: after the first signature, each one costs one raw signature.

For a PAdES B-B signature the signed attributes are content type, message
digest and signing-certificate-v2 (PAdES puts the signing time in the
signature dictionary, not the CMS), so from one document to the next only
the message digest and the signature value change. pyHanko assembles the
whole SignedData in pure-Python asn1crypto each time (~8-10 ms for a
3-certificate chain); here the first signature is made by pyHanko, kept as
DER, and later ones patch the digest and the signature value in place.

Only where both have fixed lengths: SHA-256 and RSA PKCS#1 v1.5 (the
signature is exactly the modulus length). Anything else (ECDSA, whose DER
signature length varies; timestamps; revocation attributes; dry runs)
takes pyHanko's path unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from asn1crypto import cms

_SET_TAG = 0x31


@dataclass(frozen=True, slots=True)
class _Template:
    der: bytes
    attrs_start: int  # offset of the [0] signed attributes in ``der``
    attrs_end: int
    digest_offset: int  # inside the signed attributes
    signature_offset: int  # inside ``der``
    digest_length: int
    signature_length: int

    def fill(self, digest: bytes, attrs_with_digest: bytes, signature: bytes) -> bytes:
        assert len(digest) == self.digest_length
        assert len(signature) == self.signature_length
        der = self.der
        return b"".join(
            (
                der[: self.attrs_start],
                attrs_with_digest,
                der[self.attrs_end : self.signature_offset],
                signature,
                der[self.signature_offset + self.signature_length :],
            )
        )

    def attrs(self, digest: bytes) -> bytes:
        raw = self.der[self.attrs_start : self.attrs_end]
        return raw[: self.digest_offset] + digest + raw[self.digest_offset + self.digest_length :]


def _template_from(content_info: cms.ContentInfo, digest: bytes) -> _Template | None:
    der = content_info.dump()
    signer_info = content_info["content"]["signer_infos"][0]
    if signer_info["unsigned_attrs"].native is not None:
        return None
    if signer_info["signature_algorithm"]["algorithm"].native != "sha256_rsa":
        return None
    attrs = signer_info["signed_attrs"].dump()
    signature = signer_info["signature"].native
    if der.count(attrs) != 1 or attrs.count(digest) != 1 or der.count(signature) != 1:
        return None
    start = der.index(attrs)
    return _Template(
        der=der,
        attrs_start=start,
        attrs_end=start + len(attrs),
        digest_offset=attrs.index(digest),
        signature_offset=der.index(signature),
        digest_length=len(digest),
        signature_length=len(signature),
    )


class TemplateCmsMixin:
    """Mix into a pyHanko ``Signer`` to reuse the SignedData of its first B-B signature."""

    _cms_template: _Template | None = None
    _cms_template_tried = False

    @property
    def has_cms_template(self) -> bool:
        """True once a B-B signature has given a template that later ones patch."""
        return self._cms_template is not None

    async def async_sign(
        self,
        data_digest: bytes,
        digest_algorithm: str,
        dry_run: bool = False,
        use_pades: bool = False,
        timestamper: Any = None,
        signed_attr_settings: Any = None,
        is_pdf_sig: bool = True,
        encap_content_info: Any = None,
    ) -> cms.ContentInfo:
        eligible = (
            use_pades
            and is_pdf_sig
            and not dry_run
            and timestamper is None
            and encap_content_info is None
            and digest_algorithm == "sha256"
            and (
                signed_attr_settings is None
                or (
                    getattr(signed_attr_settings, "adobe_revinfo_attr", None) is None
                    and signed_attr_settings.cades_signed_attrs is None
                )
            )
        )
        template = self._cms_template if eligible else None
        if template is not None:
            attrs = template.attrs(data_digest)
            to_sign = bytes([_SET_TAG]) + attrs[1:]  # signed as SET OF, stored as [0]
            raw = await self.async_sign_raw(to_sign, digest_algorithm)  # type: ignore[attr-defined]
            if len(raw) == template.signature_length:
                return cms.ContentInfo.load(template.fill(data_digest, attrs, raw))
        result: cms.ContentInfo = await super().async_sign(  # type: ignore[misc]
            data_digest,
            digest_algorithm,
            dry_run=dry_run,
            use_pades=use_pades,
            timestamper=timestamper,
            signed_attr_settings=signed_attr_settings,
            is_pdf_sig=is_pdf_sig,
            encap_content_info=encap_content_info,
        )
        if eligible and not self._cms_template_tried:
            self._cms_template_tried = True
            self._cms_template = _template_from(result, data_digest)
        return result
