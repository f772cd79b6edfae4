"""An official's own signature, from a look-alike of the national CA hierarchies.

Nothing can be downloaded here, so the suite makes hierarchies with the
shape of the real ones: a root named like the Vietnam National Root CA
(rootca.gov.vn) or the Government's specialised CA (Ban Cơ yếu Chính phủ,
ca.gov.vn), an issuing CA under it, and the official's certificate. The
official signs first, visibly, with their handwritten signature in blue
(Decree 30/2020, box 7); then the agency seals over it.
"""

from __future__ import annotations

from dataclasses import dataclass
from io import BytesIO

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from PIL import Image, ImageDraw
from pyhanko.pdf_utils.images import PdfImage
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko.stamp import TextStampStyle

from keys.local import KeyPair, PreparedSigner
from tests.certificates import certify, name

# where the sample decision's signer block puts the official's signature (box 7)
SIGNATURE_BOX = (345, 236, 505, 296)


@dataclass(frozen=True)
class Hierarchy:
    root: x509.Certificate
    issuing: x509.Certificate
    official: KeyPair

    @property
    def root_pem(self) -> bytes:
        from cryptography.hazmat.primitives.serialization import Encoding

        return self.root.public_bytes(Encoding.PEM)


NATIONAL_ROOT = "Vietnam National Root CA"
GOVERNMENT_CA = "Cục Chứng thực số và Bảo mật thông tin - Ban Cơ yếu Chính phủ"


def hierarchy(root_name: str = NATIONAL_ROOT, official: str = "Trần Thị Bình") -> Hierarchy:
    """root -> issuing CA -> the official (a look-alike: its own keys, made now)."""
    root_key = ec.generate_private_key(ec.SECP256R1())
    root_dn = name(f"{root_name} (look-alike for tests)", "Bộ Khoa học và Công nghệ")
    root = certify(root_dn, root_key, root_dn, root_key, ca=True, days=3650)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_dn = name("Look-alike issuing CA for officials", "Ban Cơ yếu Chính phủ")
    issuing = certify(ca_dn, ca_key, root_dn, root_key, ca=True, days=3650)
    key = ec.generate_private_key(ec.SECP256R1())
    person = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Ủy ban nhân dân huyện Vân Đồn"),
            x509.NameAttribute(NameOID.TITLE, "Phó Chủ tịch"),
            x509.NameAttribute(NameOID.COMMON_NAME, official),
        ]
    )
    cert = certify(person, key, ca_dn, ca_key, ca=False, days=730)
    return Hierarchy(root, issuing, KeyPair(key, cert, (issuing, root)))


def handwritten_signature() -> Image.Image:
    """A blue handwritten signature on a transparent background, as the decree wants it."""
    image = Image.new("RGBA", (480, 180), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    blue = (20, 40, 190, 255)
    points = [(20, 120), (70, 40), (110, 140), (160, 50), (210, 130), (260, 60), (330, 120)]
    draw.line(points, fill=blue, width=7, joint="curve")
    draw.line([(300, 90), (460, 70)], fill=blue, width=5)
    return image


def official_signed(
    pdf: bytes, who: Hierarchy, box: tuple[int, int, int, int] = SIGNATURE_BOX
) -> bytes:
    """``pdf`` signed visibly by the official (field "ChuKyLanhDao") on its last page."""
    style = TextStampStyle(
        stamp_text="",
        border_width=0,
        background=PdfImage(handwritten_signature()),
        background_opacity=1.0,
    )
    writer = IncrementalPdfFileWriter(BytesIO(pdf))
    pages = int(writer.root["/Pages"]["/Count"])
    signer = signers.PdfSigner(
        signers.PdfSignatureMetadata(field_name="ChuKyLanhDao", subfilter=None),
        signer=PreparedSigner(who.official),
        stamp_style=style,
        new_field_spec=fields.SigFieldSpec("ChuKyLanhDao", on_page=pages - 1, box=box),
    )
    out = signer.sign_pdf(writer)
    return bytes(out.getbuffer())
