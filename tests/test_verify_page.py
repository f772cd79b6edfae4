"""What a QR scan opens, end to end with a real ``ketqua serve``.

Sign a result through the signer API, render its page with ``pdftoppm``,
read the QR with ``zbarimg``, open the decoded URL on the verifier: valid.
Then revoke it, supersede it, forge it: each verdict as a checker sees it,
in JSON and on the page.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import pytest

from signer.document import SignedResult, SignOptions
from signer.metadata import parse_metadata
from signer.runtime import KeySource, RuntimeConfig, SigningRuntime
from tests.browser import Chromium
from tests.pdfs import result_pdf
from tests.service import (
    PUBLIC_URL,
    Client,
    Service,
    correct,
    issue,
    ketqua_command,
    unique_metadata,
)
from tests.validators import read_qr

pytestmark = pytest.mark.slow  # the real verifier and Chromium

JSON = {"Accept": "application/json"}


def scanned_path(pdf: bytes, workdir: Path) -> str:
    """The QR of the last page, read as a phone would (rendered, then decoded): its path."""
    path = workdir / "signed.pdf"
    path.write_bytes(pdf)
    url = read_qr(path, workdir)
    assert url.upper().startswith(PUBLIC_URL.upper() + "/V/"), url
    return urlsplit(url).path


async def verify(client: Client, path: str, **headers: str) -> tuple[int, Any, dict[str, str]]:
    async with client.session.get(client.service.verifier_url + path, headers=headers) as r:
        body = await (r.json() if r.content_type == "application/json" else r.text())
        return r.status, body, dict(r.headers)


async def test_a_scanned_qr_opens_a_valid_verdict_with_the_facts(
    client: Client, tmp_path: Path
) -> None:
    result = await issue(client, "scan")
    pdf = await client.document(result["id"])
    path = scanned_path(pdf, tmp_path)

    status, report, headers = await verify(client, path, **JSON)
    assert status == 200
    assert report["verdict"] == "valid", report
    assert report["seal"]["dossier_code"] == result["dossier_code"]
    assert report["seal"]["verification_code"] == result["signature"]["verification_code"]
    facts = report["result"]
    assert facts["result_code"] == result["result_code"]
    assert facts["applicant"] == "Nguyễn V*** A***"  # masked: Decree 13/2023
    assert facts["agency"] == "Ủy ban nhân dân huyện Vân Đồn"
    assert facts["document_sha256"] == hashlib.sha256(pdf).hexdigest()
    assert facts["signed_at"].endswith("+07:00")
    assert headers["Cache-Control"] == "no-store"

    status, page, headers = await verify(client, path)
    assert status == 200
    assert "Văn bản hợp lệ" in page
    assert result["result_code"] in page
    assert "Nguyễn V*** A***" in page
    assert "Nguyễn Văn An" not in page
    assert "<script" not in page
    assert "default-src 'none'" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    # the signer's certificate, described from the verifier's public material, in words
    assert "Người ký: Ủy ban nhân dân huyện Vân Đồn" in page
    assert "Tổ chức cấp chứng thư: " in page
    assert "CN=" not in page
    # people's formats: dd/mm/yyyy hh:mm:ss in Vietnam time, no ISO dates, no jargon
    assert re.search(r"<dd>\d\d/\d\d/\d{4} \d\d:\d\d:\d\d \(UTC\+07:00\)</dd>", page)
    assert not re.search(r"\d{4}-\d\d-\d\d", page)
    for jargon in ("PAdES", "TOTAL_PASSED", "CBOR", "payload", "genuine"):
        assert jargon not in page

    _, english, _ = await verify(client, path + "?lang=en")
    assert "Genuine and valid" in english
    _, by_header, _ = await verify(client, path, **{"Accept-Language": "en-US,en;q=0.9"})
    assert "Genuine and valid" in by_header
    # /v/ and /V/ are the same page
    _, lower, _ = await verify(client, "/v/" + path.split("/")[-1], **JSON)
    assert lower["verdict"] == "valid"


async def test_a_revoked_result_says_so_with_the_reason_from_the_list_only(
    client: Client,
) -> None:
    result = await issue(client, "revoke")
    path = urlsplit(result["verification_url"]).path
    # the clerk's words may name people: they stay internal
    words = "cấp nhầm cho ông Trần Văn Bình, CCCD 022090001234"
    await client.revoke(result["id"], words, reason_code="issued_in_error")
    _, report, _ = await verify(client, path, **JSON)
    assert report["verdict"] == "revoked"
    assert report["result"]["revocation_code"] == "issued_in_error"
    assert "revoked_reason" not in report["result"]
    assert report["result"]["revoked_at"].endswith("+07:00")
    _, page, _ = await verify(client, path)
    assert "Văn bản đã bị thu hồi" in page
    assert "<dt>Lý do thu hồi</dt><dd>Ban hành nhầm</dd>" in page
    _, english, _ = await verify(client, path + "?lang=en")
    assert "<dt>Reason for revocation</dt><dd>Issued in error</dd>" in english
    for shown in (json.dumps(report, ensure_ascii=False), page, english):
        assert "Trần" not in shown
        assert "022090001234" not in shown


async def test_a_superseded_result_links_to_the_current_one(client: Client) -> None:
    old = await issue(client, "old")
    new = await correct(client, old, "corrected")
    _, report, _ = await verify(client, urlsplit(old["verification_url"]).path, **JSON)
    assert report["verdict"] == "superseded"
    assert report["result"]["current"] == new["verification_url"]
    _, page, _ = await verify(client, urlsplit(old["verification_url"]).path)
    assert "Văn bản đã được thay thế" in page
    assert new["verification_url"] in page
    _, current, _ = await verify(client, urlsplit(new["verification_url"]).path, **JSON)
    assert current["verdict"] == "valid"


async def test_a_forged_seal_is_not_genuine_and_shows_none_of_its_claims(
    client: Client,
) -> None:
    result = await issue(client, "forged")
    token = urlsplit(result["verification_url"]).path.split("/")[-1]
    middle = len(token) // 2
    forged = token[:middle] + ("A" if token[middle] != "A" else "B") + token[middle + 1 :]
    for path in (f"/V/{forged}", "/V/NOT-A-SEAL", f"/V/{token[:-8]}"):
        status, report, _ = await verify(client, path, **JSON)
        assert status == 200
        assert report["verdict"] == "invalid", (path, report)
        assert set(report) == {"verdict", "reason"}
    _, page, _ = await verify(client, f"/V/{forged}")
    assert "KHÔNG hợp lệ" in page
    assert result["dossier_code"] not in page


@pytest.fixture
def signed_elsewhere(service: Service) -> SignedResult:
    """The agency's own keys, a result signed outside the service: genuine, not registered."""
    config = RuntimeConfig(KeySource(service.home / "keys"), SignOptions(public_url=PUBLIC_URL))
    with SigningRuntime(config) as runtime:
        return runtime.sign(result_pdf(), parse_metadata(json.dumps(unique_metadata())))


async def test_a_genuine_seal_this_registry_never_issued_is_unknown(
    client: Client, signed_elsewhere: SignedResult
) -> None:
    signed = signed_elsewhere
    _, report, _ = await verify(client, urlsplit(signed.seal_url).path, **JSON)
    assert report["verdict"] == "unknown", report
    assert report["result"] is None
    assert report["seal"]["verification_code"] == signed.verification_code


def verifier_alone(home: Path, **settings: str) -> Service:
    subprocess.run(
        ketqua_command("keys", "init", "--dir", str(home / "keys")),
        check=True,
        capture_output=True,
    )
    env = {f"KETQUA_{name.upper()}": value for name, value in settings.items()}
    return Service(home, role="verifier", env=env).start()


@pytest.fixture
def strict_verifier(tmp_path: Path) -> Iterator[Service]:
    """A verifier alone that allows 1 scan a second per address, bursts of 3."""
    verifier = verifier_alone(tmp_path / "home", verify_rate="1", verify_burst="3")
    yield verifier
    verifier.stop()


@pytest.fixture
def proxied_verifier(tmp_path: Path) -> Iterator[Service]:
    """The same behind a reverse proxy on 127.0.0.1 that says who the client is (the
    setting names the proxies' network, as a container deployment would)."""
    verifier = verifier_alone(
        tmp_path / "home", verify_rate="1", verify_burst="2", trusted_proxies='["127.0.0.0/8"]'
    )
    yield verifier
    verifier.stop()


async def test_behind_a_trusted_proxy_each_client_has_its_own_limit(
    proxied_verifier: Service,
) -> None:
    url = f"{proxied_verifier.verifier_url}/V/AAAA"
    async with aiohttp.ClientSession() as session:

        async def scan(client: str) -> int:
            # a client's own claim first, the proxy's word last: only the last counts
            forwarded = f"203.0.113.99, {client}"
            async with session.get(url, headers={"X-Forwarded-For": forwarded}) as response:
                return response.status

        first = [await scan("198.51.100.1") for _ in range(3)]
        second = [await scan("198.51.100.2") for _ in range(2)]
    assert first[:2] == [200, 200]
    assert first[2] == 429  # this client's burst is spent
    assert second == [200, 200]  # another client behind the same proxy is not


async def test_too_many_scans_from_one_address_get_429(strict_verifier: Service) -> None:
    base = strict_verifier.verifier_url
    statuses = []
    async with aiohttp.ClientSession() as session:
        for _ in range(6):
            async with session.get(f"{base}/V/AAAA") as response:
                statuses.append(response.status)
                if response.status == 429:
                    refused = await response.json(content_type=None)
                    retry_after = response.headers["Retry-After"]
        async with session.get(f"{base}/healthz") as response:
            assert response.status == 200  # the limit covers the verification routes only
    assert statuses[:3] == [200, 200, 200]
    assert 429 in statuses[3:]
    assert refused["type"] == "urn:ketqua:problem:too-many-requests"
    assert int(retry_after) >= 1


ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


@pytest.mark.parametrize("forged", [False, True], ids=["valid", "forged"])
async def test_on_a_phone_the_verdict_is_in_the_first_screen_and_nothing_scrolls_sideways(
    client: Client, forged: bool
) -> None:
    result = await issue(client, f"phone-{forged}")
    token = urlsplit(result["verification_url"]).path.split("/")[-1]
    if forged:
        token = "AAAA" + token[4:]
    # Vietnamese, as most phones here ask (this Chromium asks for en-US: the switch decides)
    url = f"{client.service.verifier_url}/V/{token}?lang=vi"
    async with Chromium(390, 844) as phone:
        await phone.open(url)
        heading = await phone.evaluate("document.querySelector('#verdict h1').textContent")
        verdict_bottom = await phone.evaluate(
            "document.getElementById('verdict').getBoundingClientRect().bottom"
        )
        viewport = await phone.evaluate("[window.innerWidth, window.innerHeight]")
        widest = await phone.evaluate("document.documentElement.scrollWidth")
        styled = await phone.evaluate(
            "getComputedStyle(document.getElementById('verdict')).backgroundColor"
        )
        shot = await phone.screenshot(
            ARTIFACTS / f"verify-page-390x844-{'forged' if forged else 'valid'}.png"
        )
    assert heading == ("Văn bản KHÔNG hợp lệ" if forged else "Văn bản hợp lệ")
    assert viewport == [390, 844]
    assert verdict_bottom <= 844, "the verdict does not fit the first screen"
    assert widest <= 390, f"the page is {widest} px wide: it scrolls sideways"
    # our stylesheet loaded under the CSP: the banner is red or green, not unstyled
    assert styled == ("rgb(179, 38, 30)" if forged else "rgb(29, 122, 56)")
    assert shot.stat().st_size > 5000


async def test_ketqua_verify_takes_the_trust_list_from_a_verifier_url(client: Client) -> None:
    result = await issue(client, "cli-url")
    trust_url = client.service.verifier_url + "/api/v1/trust-list"
    done = await asyncio.create_subprocess_exec(
        *ketqua_command("verify", "--qr", result["verification_url"], "--trust-list", trust_url),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await done.communicate()
    assert done.returncode == 0, err.decode()
    assert result["dossier_code"] in out.decode()


async def test_an_electronic_copy_says_it_is_one_and_of_what(client: Client) -> None:
    original = "Giấy chứng nhận quyền sử dụng đất số BX 123456 ngày 05/01/2012"
    result = await issue(client, "copy", copy={"form": "sao_y", "original": original})
    path = urlsplit(result["verification_url"]).path
    _, report, _ = await verify(client, path, **JSON)
    assert report["verdict"] == "valid"
    assert report["result"]["copy"] == {"form": "sao_y", "original": original}
    assert report["result"]["document_number"] == "125/QĐ-UBND"
    _, page, _ = await verify(client, path)
    assert f"Văn bản này là bản sao điện tử (SAO Y): {original}" in page
    assert '<dt>Số, ký hiệu văn bản</dt><dd class="mono">125/QĐ-UBND</dd>' in page
    assert "<dt>Ngày ban hành</dt><dd>14/03/2022</dd>" in page
    _, english, _ = await verify(client, path + "?lang=en")
    assert f"This document is an electronic copy (TRUE COPY): {original}" in english
