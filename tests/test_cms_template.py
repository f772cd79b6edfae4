"""The CMS template fast path: later signatures equal what pyHanko itself would build."""

from __future__ import annotations

import asyncio
import hashlib
import json
from io import BytesIO

from asn1crypto import cms
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.signers import Signer

from keys.cms_template import TemplateCmsMixin
from keys.keydir import KeyDir
from signer.document import SignOptions
from signer.metadata import parse_metadata
from signer.runtime import KeySource, RuntimeConfig, SigningRuntime
from tests.pdfs import example_metadata, result_pdf


def _signed_data(pdf: bytes) -> cms.SignedData:
    reader = PdfFileReader(BytesIO(pdf), strict=False)
    return reader.embedded_signatures[-1].signed_data


def test_templated_signature_has_the_structure_pyhanko_built_first(keydir: KeyDir) -> None:
    metadata = parse_metadata(json.dumps(example_metadata()))
    with SigningRuntime(RuntimeConfig(KeySource(keydir.root), SignOptions())) as runtime:
        first = runtime.sign(result_pdf(), metadata)  # built by pyHanko, kept as the template
        second = runtime.sign(result_pdf(pages=2), metadata)  # patched from the template
        signer = runtime.keys.document_signer
        assert isinstance(signer, TemplateCmsMixin)
        assert signer.has_cms_template

    a, b = _signed_data(first.pdf), _signed_data(second.pdf)
    info_a, info_b = a["signer_infos"][0], b["signer_infos"][0]
    # same certificates, algorithms and attribute types...
    assert a["certificates"].dump() == b["certificates"].dump()
    assert info_a["signature_algorithm"].dump() == info_b["signature_algorithm"].dump()
    assert [x["type"].native for x in info_a["signed_attrs"]] == [
        x["type"].native for x in info_b["signed_attrs"]
    ]
    # ...but each signs its own document: digest and signature differ
    digest = {x["type"].native: x["values"][0].native for x in info_b["signed_attrs"]}
    assert (
        digest["message_digest"]
        != {x["type"].native: x["values"][0].native for x in info_a["signed_attrs"]}[
            "message_digest"
        ]
    )
    assert info_a["signature"].native != info_b["signature"].native
    # (that the patched signature validates is checked by pdfsig, mutool and pyHanko in
    # test_sign.py, whose documents are signed after the first one)


def test_templated_cms_is_byte_for_byte_what_pyhanko_builds(keydir: KeyDir) -> None:
    # RSA PKCS#1 v1.5 is deterministic and PAdES signed attributes carry no time,
    # so for the same digest the template must give exactly pyHanko's own bytes
    metadata = parse_metadata(json.dumps(example_metadata()))
    with SigningRuntime(RuntimeConfig(KeySource(keydir.root), SignOptions())) as runtime:
        runtime.sign(result_pdf(), metadata)
        signer = runtime.keys.document_signer
    assert isinstance(signer, TemplateCmsMixin)
    assert signer.has_cms_template
    for content in (b"one document", b"another document"):
        digest = hashlib.sha256(content).digest()
        templated = asyncio.run(signer.async_sign(digest, "sha256", use_pades=True))
        stock = asyncio.run(Signer.async_sign(signer, digest, "sha256", use_pades=True))
        assert templated.dump() == stock.dump()
