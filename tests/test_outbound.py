"""Verification makes no request on a stranger's behalf: the upload check and ``ketqua verify``.

A certificate names URLs (its issuer, its OCSP responder, its CRL); a
validator that follows them lets whoever made the document point the
service at any address, including the signer's port behind it. Each test
counts the requests a listener on loopback gets while a real verifier checks
such a document: the answer must come from the trust list and what the file
carries, with 0 requests, whether the chain reaches a trusted root or not.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from keys.devpki import generate, write
from keys.keydir import KeyDir, read_passphrase
from signer.document import SignedResult, SignOptions
from signer.metadata import parse_metadata
from signer.runtime import KeySource, RuntimeConfig, SigningRuntime
from tests.hostile import Listener, hostile_signature, listening
from tests.pdfs import example_metadata
from tests.service import PUBLIC_URL, Service, ketqua_command

pytestmark = pytest.mark.slow  # the real verifier, and ketqua verify as a process


@pytest.fixture
def listener() -> Iterator[Listener]:
    with listening() as counting:
        yield counting


async def upload(verifier_url: str, pdf: bytes) -> dict[str, object]:
    form = aiohttp.FormData()
    form.add_field("document", pdf, filename="upload.pdf", content_type="application/pdf")
    async with (
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session,
        session.post(f"{verifier_url}/api/v1/verify", data=form) as response,
    ):
        assert response.status == 200, await response.text()
        body: dict[str, object] = await response.json()
        return body


def verify_offline(pdf: Path, trust_list: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ketqua_command("verify", str(pdf), "--trust-list", str(trust_list), "--json"),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("chain", ["to the trusted root", "to a stranger's CA"])
async def test_an_upload_naming_urls_makes_no_request(
    service: Service, listener: Listener, example_pdf: bytes, chain: str
) -> None:
    trusted = KeyDir(service.home / "keys") if chain == "to the trusted root" else None
    pdf = await hostile_signature(example_pdf, listener, trusted)
    report = await upload(service.verifier_url, pdf)
    assert listener.paths == []
    assert report["verdict"] != "valid", report


@pytest.mark.parametrize("chain", ["to the trusted root", "to a stranger's CA"])
async def test_ketqua_verify_makes_no_request(
    service: Service, listener: Listener, example_pdf: bytes, chain: str, tmp_path: Path
) -> None:
    keydir = KeyDir(service.home / "keys")
    pdf = tmp_path / "la.pdf"
    trusted = keydir if chain == "to the trusted root" else None
    pdf.write_bytes(await hostile_signature(example_pdf, listener, trusted))
    done = verify_offline(pdf, keydir.trust_list)
    assert listener.paths == []
    assert done.returncode == 1, done.stderr
    assert json.loads(done.stdout)["verdict"] == "invalid"


async def test_a_genuine_result_whose_certificate_names_ocsp_and_crl_makes_no_request(
    listener: Listener, example_pdf: bytes, tmp_path: Path
) -> None:
    """An agency certificate from a CA that runs OCSP and CRLs: checked from what is at hand."""
    keydir = KeyDir(tmp_path / "home" / "keys")
    pki = generate(ocsp_url=listener.url("/ocsp"), crl_url=listener.url("/crl"))
    keydir.root.mkdir(parents=True)
    (keydir.root / "passphrase").write_text("mat khau thu\n")
    write(pki, keydir, read_passphrase(keydir))
    config = RuntimeConfig(KeySource(keydir.root), SignOptions(public_url=PUBLIC_URL))

    def sign() -> SignedResult:  # B-B: signing itself asks no one; its own loop, a thread
        with SigningRuntime(config) as runtime:
            return runtime.sign(example_pdf, parse_metadata(json.dumps(example_metadata())))

    signed = await asyncio.to_thread(sign)
    pdf = tmp_path / "ket-qua.pdf"
    pdf.write_bytes(signed.pdf)
    done = verify_offline(pdf, keydir.trust_list)
    assert listener.paths == []
    assert done.returncode == 0, done.stdout + done.stderr
    verifier = Service(tmp_path / "home", role="verifier").start()
    try:
        report = await upload(verifier.verifier_url, signed.pdf)
    finally:
        verifier.stop()
    assert listener.paths == []
    assert report["signatures"][0]["indication"] == "TOTAL_PASSED", report  # type: ignore[index]
