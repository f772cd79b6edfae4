"""Every public page and state in Debian's Chromium, as a phone and a desktop see them.

For each: axe-core (the npm package, injected over the DevTools protocol)
finds no serious or critical violation; at 360 px nothing scrolls sideways;
every tap target that is not a link inside a sentence is at least 44 x 44
px; the page has no script and still works (the forms are plain HTML
forms, posted here by the browser itself); the stylesheet applies under
the unchanged Content-Security-Policy. Screenshots of each page at
390 x 844 and 1280 x 900 go to ``test-artifacts/pages/``.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import pytest

from plumbing.web.security import CSP
from tests.browser import Chromium
from tests.pdfs import result_pdf
from tests.service import PUBLIC_URL, Client, correct, home_env, ketqua_command, unique_metadata
from tests.test_lookup import SECRET, issue
from tests.test_upload_verify import page_changed

pytestmark = pytest.mark.slow  # the real portal and Chromium

ROOT = Path(__file__).resolve().parent.parent
AXE = ROOT / "build" / "axe" / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = ROOT / "test-artifacts" / "pages"
PHONE, NARROW, DESKTOP = (390, 844), (360, 780), (1280, 900)

TAP_TARGETS_TOO_SMALL = """(() => {
  const small = [];
  for (const el of document.querySelectorAll(
      'a[href], button, input:not([type=hidden]), select, summary')) {
    if (getComputedStyle(el).display === 'inline') continue;  // a link inside a sentence
    const r = el.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;  // not shown
    if (r.width < 44 || r.height < 44)
      small.push(`${el.outerHTML.slice(0, 90)} ${Math.round(r.width)}x${Math.round(r.height)}`);
  }
  return small;
})()"""

BANNER_LOOK = """(s => `${s.backgroundColor} ${s.borderLeftStyle} ${s.borderTopStyle}`)(
  getComputedStyle(document.getElementById('verdict')))"""

AXE_RUN = """axe.run(document).then(r => ({
  rules: r.passes.length + r.violations.length,
  serious: r.violations
    .filter(v => v.impact === 'serious' || v.impact === 'critical')
    .map(v => ({id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.slice(0, 3).map(n => n.html.slice(0, 120))}))}))"""


@dataclass(frozen=True)
class Visit:
    """How to reach one page in one state: open ``url``, then an optional step in the page."""

    name: str
    url: str
    step: Callable[[Chromium], Awaitable[None]] | None = None
    heading: str | None = None  # the page's first heading, as a reader sees it
    lang: str = "vi"


def fill_and_post(values: dict[str, str], form: str = "main form") -> Callable[[Chromium], Any]:
    async def step(browser: Chromium) -> None:
        assignments = "".join(
            f"f.querySelector('[name={name}]').value = {json.dumps(value)};"
            for name, value in values.items()
        )
        await browser.navigated_by(
            f"(() => {{ const f = document.querySelector({json.dumps(form)}); {assignments}"
            " f.submit(); })()"
        )

    return step


def upload(path: Path) -> Callable[[Chromium], Any]:
    async def step(browser: Chromium) -> None:
        document = await browser.send("DOM.getDocument")
        node = await browser.send(
            "DOM.querySelector", nodeId=document["root"]["nodeId"], selector="input[type=file]"
        )
        await browser.send("DOM.setFileInputFiles", files=[str(path)], nodeId=node["nodeId"])
        await browser.navigated_by("document.querySelector('main form').submit()")

    return step


@pytest.fixture(scope="module")
def axe_source() -> str:
    assert AXE.exists(), f"{AXE} is missing: make test installs it (make axe)"
    return AXE.read_text()


async def visits(client: Client, folder: Path) -> list[Visit]:
    base = client.service.verifier_url
    valid = await issue(client, "browser-valid")
    revoked = await issue(client, "browser-revoked")
    await client.revoke(revoked["id"], "nhầm", reason_code="issued_in_error")
    old = await issue(client, "browser-old")
    await correct(client, old, "browser-new")
    valid_pdf = folder / "ket-qua.pdf"
    valid_pdf.write_bytes(await client.document(valid["id"]))
    forged_pdf = folder / "ket-qua-da-sua.pdf"
    forged_pdf.write_bytes(page_changed(valid_pdf.read_bytes()))

    def seal_path(result: dict[str, Any]) -> str:
        return urlsplit(str(result["verification_url"])).path

    forged_seal = seal_path(valid)[:-10] + "AAAAAAAAAA"
    # genuine, but in no registry: signed by the command line with the service's own keys
    meta = folder / "ngoai.json"
    meta.write_text(json.dumps(unique_metadata(), ensure_ascii=False))
    outside_pdf = folder / "ngoai.pdf"
    outside_pdf.write_bytes(result_pdf(trailing_text="browser-outside"))
    signed_outside = await asyncio.to_thread(
        subprocess.run,
        ketqua_command(
            "sign",
            str(outside_pdf),
            "-o",
            str(folder / "ngoai.signed.pdf"),
            "--metadata",
            str(meta),
            "--keys",
            str(client.service.home / "keys"),
            "--json",
        ),
        capture_output=True,
        text=True,
        env=home_env(client.service.home, {"KETQUA_PUBLIC_URL": PUBLIC_URL}),
        check=True,
    )
    unknown_seal = urlsplit(json.loads(signed_outside.stdout)["seal_url"]).path
    return [
        Visit("trang-chu", f"{base}/"),
        Visit("tra-cuu", f"{base}/tra-cuu"),
        Visit(
            "tra-cuu-sai-ma-ho-so",
            f"{base}/tra-cuu",
            fill_and_post({"ma_ho_so": "12 phố Huế"}),
        ),
        Visit("tra-cuu-chua-co-ket-qua", f"{base}/tra-cuu/000.00.14.H49-220101-9999"),
        Visit(
            "tra-cuu-da-co-ket-qua",
            f"{base}/tra-cuu",
            fill_and_post({"ma_ho_so": valid["dossier_code"].lower()}),
            "Đã có kết quả",
        ),
        Visit(
            "tra-cuu-voi-ma",
            f"{base}/tra-cuu/{valid['dossier_code']}",
            fill_and_post({"ma": SECRET}, "main section.card form"),
            "Đã có kết quả",
        ),
        Visit(
            "tra-cuu-sai-ma",
            f"{base}/tra-cuu/{valid['dossier_code']}",
            fill_and_post({"ma": "sai-ma"}, "main section.card form"),
        ),
        Visit(
            "tra-cuu-da-thay-the",
            f"{base}/tra-cuu/{old['dossier_code']}",
            fill_and_post({"ma": SECRET}, "main section.card form"),
            "Văn bản đã được thay thế",
        ),
        Visit(
            "tra-cuu-da-thu-hoi",
            f"{base}/tra-cuu/{revoked['dossier_code']}",
            fill_and_post({"ma": SECRET}, "main section.card form"),
            "Kết quả đã bị thu hồi",
        ),
        Visit("kiem-tra", f"{base}/kiem-tra"),
        Visit("kiem-tra-hop-le", f"{base}/kiem-tra", upload(valid_pdf), "Văn bản hợp lệ"),
        Visit("kiem-tra-da-sua", f"{base}/kiem-tra", upload(forged_pdf), "Văn bản KHÔNG hợp lệ"),
        Visit("qr-hop-le", base + seal_path(valid), None, "Văn bản hợp lệ"),
        Visit("qr-da-thu-hoi", base + seal_path(revoked), None, "Văn bản đã bị thu hồi"),
        Visit("qr-da-thay-the", base + seal_path(old), None, "Văn bản đã được thay thế"),
        Visit("qr-gia-mao", base + forged_seal, None, "Văn bản KHÔNG hợp lệ"),
        Visit("qr-khong-tim-thay", base + unknown_seal, None, "Không tìm thấy trong hệ thống"),
        Visit("trang-chu-en", f"{base}/", None, "Results of administrative procedures", "en"),
        Visit("qr-hop-le-en", base + seal_path(valid), None, "Genuine and valid", "en"),
        Visit("ket-qua", f"{base}/ket-qua"),
        Visit("ket-qua-loc", f"{base}/ket-qua?procedure=1.004227&from=01/01/2022"),
        Visit("thong-ke", f"{base}/thong-ke"),
        Visit("thong-ke-nam", f"{base}/thong-ke?period=2022"),
        Visit("loi-404", f"{base}/khong-co-trang-nay"),
    ]


async def test_every_page_meets_the_quality_bars_on_a_phone_and_a_desktop(
    client: Client, axe_source: str, tmp_path: Path
) -> None:
    pages = await visits(client, tmp_path)
    async with aiohttp.ClientSession() as session:
        for visit in pages:  # the policy every page is served with, unchanged
            async with session.get(visit.url) as response:
                assert response.headers["Content-Security-Policy"] == CSP, visit.name

    failures: list[str] = []
    looks: dict[str, str] = {}  # each verdict's banner: colour and border
    async with Chromium(*PHONE) as browser:
        await browser.send("Emulation.setLocaleOverride", locale="vi-VN")
        for visit in pages:
            for size in (PHONE, DESKTOP):
                await browser.resize(*size, mobile=size != DESKTOP)
                joiner = "&" if "?" in visit.url else "?"
                await browser.open(f"{visit.url}{joiner}lang={visit.lang}")
                if visit.step is not None:
                    await visit.step(browser)
                where = f"{visit.name} at {size[0]}x{size[1]}"
                heading = await browser.evaluate("document.querySelector('h1').textContent")
                if visit.heading is not None and heading.strip() != visit.heading:
                    failures.append(f"{where}: the heading is {heading!r}")
                if await browser.evaluate("document.scripts.length"):
                    failures.append(f"{where}: a script on the page")
                banner = await browser.evaluate(
                    "getComputedStyle(document.querySelector('header.site')).backgroundColor"
                )
                if banner != "rgb(122, 31, 31)":
                    failures.append(f"{where}: the stylesheet did not apply ({banner})")
                if visit.name.startswith("qr-"):
                    looks[visit.name] = await browser.evaluate(BANNER_LOOK)
                small = await browser.evaluate(TAP_TARGETS_TOO_SMALL)
                failures += [f"{where}: tap target {s}" for s in small]
                await browser.evaluate(axe_source)
                axe = await browser.settle(AXE_RUN)
                assert axe["rules"] > 20, axe  # axe ran its rules on the page
                failures += [
                    f"{where}: axe {json.dumps(v, ensure_ascii=False)}" for v in axe["serious"]
                ]
                await browser.screenshot(ARTIFACTS / f"{visit.name}-{size[0]}x{size[1]}.png")
            await browser.resize(*NARROW, mobile=True)
            widest = await browser.evaluate("document.documentElement.scrollWidth")
            if widest > NARROW[0]:
                failures.append(f"{visit.name}: {widest} px wide at 360 px, it scrolls sideways")
    assert not failures, "\n".join(failures)
    # valid, revoked, superseded, unknown and invalid: each its own look, not merely its words
    assert len(set(looks.values())) == 5, looks
