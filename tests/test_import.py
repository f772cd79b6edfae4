"""``ketqua import``: a result signed with ``ketqua sign`` becomes one the verifier knows.

Against the session's real ``ketqua serve``: the file is signed by the
command line with the service's own keys, its QR answers "unknown" on the
verifier, then valid once imported; a file changed after signing, or one
whose metadata names another result, is refused with one line, exit 2.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.pdfs import result_pdf
from tests.service import PUBLIC_URL, Client, Service, home_env, ketqua_command, unique_metadata
from tests.test_upload_verify import page_changed

pytestmark = pytest.mark.slow  # the real service


def ketqua_run(service: Service, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ketqua_command(*args),
        capture_output=True,
        text=True,
        env=home_env(service.home, {"KETQUA_PUBLIC_URL": PUBLIC_URL}),
        check=False,
    )


async def verdict(client: Client, url: str) -> str:
    path = urlsplit(url).path
    async with client.session.get(
        client.service.verifier_url + path, headers={"Accept": "application/json"}
    ) as response:
        body: dict[str, Any] = await response.json()
        return str(body["verdict"])


async def test_a_result_signed_outside_is_imported_and_its_qr_then_answers(
    client: Client, tmp_path: Path
) -> None:
    service = client.service
    metadata = unique_metadata()
    meta = tmp_path / "ket-qua.json"
    meta.write_text(json.dumps(metadata, ensure_ascii=False))
    original = tmp_path / "ket-qua.pdf"
    original.write_bytes(result_pdf(trailing_text="imported"))
    signed = tmp_path / "ket-qua.signed.pdf"
    keys = str(service.home / "keys")
    run = await asyncio.to_thread(
        ketqua_run,
        service,
        "sign",
        str(original),
        "-o",
        str(signed),
        "--metadata",
        str(meta),
        "--keys",
        keys,
        "--json",
    )
    assert run.returncode == 0, run.stderr
    made = json.loads(run.stdout)
    assert made["registered"] is False
    assert await verdict(client, made["seal_url"]) == "unknown"  # in no registry yet

    home = ["--home", str(service.home)]
    run = await asyncio.to_thread(
        ketqua_run, service, "import", str(signed), "--metadata", str(meta), *home
    )
    assert run.returncode == 0, run.stderr
    code = f"{metadata['dossier_code']}-KQ1"
    assert run.stdout.startswith(f"imported {code} (published)")
    assert await verdict(client, made["seal_url"]) == "valid"
    listed = await client.listing()
    [found] = [r for r in listed if r["result_code"] == code]
    assert await client.document(found["id"]) == signed.read_bytes()  # byte for byte

    again = await asyncio.to_thread(
        ketqua_run, service, "import", str(signed), "--metadata", str(meta), *home
    )
    assert again.returncode == 0, again.stderr  # the same file again: the same answer

    changed = tmp_path / "changed.pdf"
    changed.write_bytes(page_changed(signed.read_bytes()))
    other = tmp_path / "other.json"
    other.write_text(json.dumps({**metadata, "result_no": 2}, ensure_ascii=False))
    for pdf, meta_file, said in (
        (changed, meta, "not a result this agency issued"),
        (signed, other, "the QR seal is for"),
        (original, meta, "not a result this agency issued"),  # never signed
    ):
        refused = await asyncio.to_thread(
            ketqua_run, service, "import", str(pdf), "--metadata", str(meta_file), *home
        )
        assert refused.returncode == 2, (pdf.name, refused.stdout, refused.stderr)
        assert refused.stderr.count("\n") == 1, refused.stderr
        assert said in refused.stderr, refused.stderr
