"""What a stranger uploads to make the verifier work for them, and a listener that counts.

``Listener``: an HTTP server on loopback that counts every request it gets
and answers each with a redirect to itself, so that a validator following
redirects would keep coming back; a test asserts the count stays 0.
``hostile_signature``: a PDF signed by a certificate that names the
listener as its issuer's location (caIssuers), its OCSP responder and its
CRL: under a trusted CA (path building succeeds, revocation would be
fetched) or under a stranger's (the issuer would be fetched to build a path).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import BytesIO

from asn1crypto import cms
from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import AuthorityInformationAccessOID
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import signers
from pyhanko_certvalidator.registry import SimpleCertificateStore

from keys.keydir import KeyDir, read_passphrase
from tests.certificates import certify, name


class Listener:
    """Counts requests; answers each with a redirect to a new path of its own."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        lock = threading.Lock()
        paths = self.paths

        class Handler(BaseHTTPRequestHandler):
            def _count(self) -> None:
                with lock:
                    paths.append(self.path)
                self.send_response(302)
                self.send_header("Location", f"{self.path}/again")
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = do_POST = do_HEAD = _count

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def count(self) -> int:
        return len(self.paths)

    def url(self, path: str) -> str:
        return self.base + path


@contextmanager
def listening() -> Iterator[Listener]:
    listener = Listener()
    listener._thread.start()
    try:
        yield listener
    finally:
        listener._server.shutdown()
        listener._server.server_close()


def _certificate(
    subject: str,
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey,
    issuer: x509.Certificate | None,
    issuer_key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey,
    *,
    ca: bool,
    listener: Listener | None = None,
) -> x509.Certificate:
    extensions: list[x509.ExtensionType] = []
    if issuer is not None:
        extensions.append(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key())
        )
    if listener is not None:
        uri = x509.UniformResourceIdentifier
        extensions += [
            x509.AuthorityInformationAccess(
                [
                    x509.AccessDescription(
                        AuthorityInformationAccessOID.CA_ISSUERS, uri(listener.url("/issuer.crt"))
                    ),
                    x509.AccessDescription(
                        AuthorityInformationAccessOID.OCSP, uri(listener.url("/ocsp"))
                    ),
                ]
            ),
            x509.CRLDistributionPoints(
                [x509.DistributionPoint([uri(listener.url("/crl"))], None, None, None)]
            ),
        ]
    return certify(
        name(subject),
        key,
        issuer.subject if issuer is not None else name(subject),
        issuer_key,
        ca=ca,
        extensions=extensions,
    )


def _asn1(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


async def _sign(pdf: bytes, key: rsa.RSAPrivateKey, chain: list[x509.Certificate]) -> bytes:
    """A plain PAdES B-B signature (no stamp, no QR) by ``chain[0]``."""
    der = key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    signer = signers.SimpleSigner(
        signing_cert=_asn1(chain[0]),
        signing_key=asn1_keys.PrivateKeyInfo.load(der),
        cert_registry=SimpleCertificateStore.from_certs([_asn1(c) for c in chain[1:]]),
    )
    writer = IncrementalPdfFileWriter(BytesIO(pdf))
    meta = signers.PdfSignatureMetadata(field_name="Stranger", md_algorithm="sha256")
    out = await signers.PdfSigner(meta, signer=signer).async_sign_pdf(writer)
    data: bytes = out.getvalue()
    return data


async def hostile_signature(pdf: bytes, listener: Listener, trusted: KeyDir | None) -> bytes:
    """``pdf`` signed by a certificate whose issuer, OCSP and CRL locations are the listener.

    ``trusted``: issued by that key folder's issuing CA (the chain reaches a trusted
    root, so a validator goes on to revocation); None: by a stranger's CA that is
    not in the file (a validator would fetch it from caIssuers to build a path).
    """
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if trusted is not None:
        ca_cert = x509.load_pem_x509_certificate(trusted.issuing_ca_cert.read_bytes())
        loaded = serialization.load_pem_private_key(
            trusted.issuing_ca_key.read_bytes(), read_passphrase(trusted)
        )
        assert isinstance(loaded, ec.EllipticCurvePrivateKey)
        leaf = _certificate("Chữ ký lạ", key, ca_cert, loaded, ca=False, listener=listener)
        return await _sign(pdf, key, [leaf, ca_cert])
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = _certificate("CA lạ", ca_key, None, ca_key, ca=True)
    leaf = _certificate("Chữ ký lạ", key, ca_cert, ca_key, ca=False, listener=listener)
    return await _sign(pdf, key, [leaf])  # the issuer is left out: only its URL is given


def overlay_field(pdf: bytes) -> bytes:
    """An update after signing that adds an empty signature field whose widget's appearance
    paints a white box with new text over the page: to pyHanko, form filling."""
    writer = IncrementalPdfFileWriter(BytesIO(pdf))
    page_ref = writer.root["/Pages"]["/Kids"][0]
    page = page_ref.get_object()
    appearance = writer.add_object(
        generic.StreamObject(
            {
                pdf_name("/Type"): pdf_name("/XObject"),
                pdf_name("/Subtype"): pdf_name("/Form"),
                pdf_name("/BBox"): generic.ArrayObject(
                    [generic.NumberObject(v) for v in (0, 0, 400, 60)]
                ),
            },
            stream_data=b"1 1 1 rg 0 0 400 60 re f 0 0 0 rg BT /Helv 20 Tf 10 20 Td (X) Tj ET",
        )
    )
    field = writer.add_object(
        generic.DictionaryObject(
            {
                pdf_name("/Type"): pdf_name("/Annot"),
                pdf_name("/Subtype"): pdf_name("/Widget"),
                pdf_name("/FT"): pdf_name("/Sig"),
                pdf_name("/T"): generic.TextStringObject("Overlay"),
                pdf_name("/F"): generic.NumberObject(4),
                pdf_name("/Rect"): generic.ArrayObject(
                    [generic.NumberObject(v) for v in (60, 600, 460, 660)]
                ),
                pdf_name("/P"): page_ref,
                pdf_name("/AP"): generic.DictionaryObject({pdf_name("/N"): appearance}),
            }
        )
    )
    annots = page.get("/Annots")
    page[pdf_name("/Annots")] = generic.ArrayObject([*(annots or []), field])
    writer.update_container(page)
    form = writer.root["/AcroForm"]
    form["/Fields"].append(field)
    writer.update_container(form)
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


async def signed_by_the_agency_without_a_stamp(pdf: bytes, keydir: KeyDir) -> bytes:
    """``pdf`` signed with the agency's own signing key, as another tool would: no QR."""
    from cryptography.hazmat.primitives.serialization import pkcs12

    key, cert, chain = pkcs12.load_key_and_certificates(
        keydir.signing_p12.read_bytes(), read_passphrase(keydir)
    )
    assert isinstance(key, rsa.RSAPrivateKey)
    assert cert is not None
    return await _sign(pdf, key, [cert, *chain])


def with_cms(pdf: bytes, change: Callable[[cms.ContentInfo], None]) -> bytes:
    """``pdf`` with its (first) signature's CMS changed by ``change``, at the same length."""
    start = pdf.index(b"/Contents <") + len(b"/Contents <")
    end = pdf.index(b">", start)
    blob = bytes.fromhex(pdf[start:end].decode("ascii"))
    content = cms.ContentInfo.load(blob.rstrip(b"\x00"))
    change(content)
    changed: bytes = content.dump(force=True)
    assert len(changed) <= len(blob), "the changed CMS must fit the reserved space"
    padded = (changed + b"\x00" * (len(blob) - len(changed))).hex().encode("ascii")
    return pdf[:start] + padded + pdf[end:]


def unknown_digest(content: cms.ContentInfo) -> None:
    """The signer says its digest is an algorithm no one knows."""
    signer_info = content["content"]["signer_infos"][0]
    signer_info["digest_algorithm"] = {"algorithm": "1.2.3.4.5.6.7"}
