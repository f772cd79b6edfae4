"""A supervisor's day at the console, in Debian's Chromium, against a real service and mail server.

``ketqua serve`` delivers to aiosmtpd, which refuses one recipient with a
550. In the browser (cookies, forms and the file chooser are Chromium's
own; no script runs in the pages): log in and change the initial password,
submit a result through the form, see it published and its refused e-mail
on the dashboard and in search, correct the address and send it again (the
message arrives at the new address), correct the result, revoke another
with a reason, print the desk slip (its QR, read back with zbarimg, leads
to the lookup page, and its access code opens the result there), log out.
Then a clerk is refused the revocation (403). Each page: axe-core finds no
serious or critical violation, no script, the public pages' CSP; a
screenshot in ``test-artifacts/console/``.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from plumbing.web.security import CSP
from tests.browser import Chromium
from tests.console import add_user
from tests.pdfs import result_pdf
from tests.service import PUBLIC_URL, Service, query
from tests.smtp import Mailbox, SmtpServer
from tests.test_browser_pages import AXE_RUN, axe_source  # noqa: F401 - the fixture

pytestmark = [pytest.mark.usefixtures("clean_environment"), pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts" / "console"
DESKTOP = (1280, 900)
REFUSED = "binh.tran@exmaple.vn"  # the typo the desk made
RIGHT = "binh.tran@example.vn"
OWN_PASSWORD = "bàn-một-cửa-vân-đồn"


def fields_for(dossier_code: str, email: str) -> dict[str, str]:
    day = dossier_code.rsplit("-", 2)[1]
    typed = f"{day[4:]}/{day[2:4]}/20{day[:2]}"
    return {
        "dossier_code": dossier_code,
        "procedure.code": "1.004227",
        "procedure.name": "Cấp giấy phép xây dựng",
        "applicant.name": "Trần Thị Bình",
        "applicant.email": email,
        "received_at": f"{typed} 08:00",
        "due_at": f"{typed} 17:00",
        "resolved_at": f"{typed} 16:30",
        "document_number": "07/GPXD-UBND",
        "document_date": typed,
    }


class Desk:
    """The browser, plus what the test checks on every page it shows."""

    def __init__(self, browser: Chromium, base: str, axe: str) -> None:
        self.browser = browser
        self.base = base
        self.axe = axe
        self.failures: list[str] = []

    async def open(self, path: str) -> None:
        await self.browser.open(self.base + path)

    async def fill(
        self,
        values: dict[str, str],
        *,
        form: str = "main form",
        ticks: dict[str, bool] | None = None,
        radios: dict[str, str] | None = None,
        file: Path | None = None,
    ) -> None:
        """Type into the form, tick its boxes, choose its file, and press its button."""
        lines = [f"const f = document.querySelector({json.dumps(form)});"]
        for name, value in values.items():
            lines.append(f"f.querySelector('[name=\"{name}\"]').value = {json.dumps(value)};")
        for name, on in (ticks or {}).items():
            lines.append(f"f.querySelector('[name=\"{name}\"]').checked = {json.dumps(on)};")
        for name, value in (radios or {}).items():
            lines.append(f'f.querySelector(\'[name="{name}"][value="{value}"]\').checked = true;')
        await self.browser.evaluate("(() => {" + "".join(lines) + "})()")
        if file is not None:
            document = await self.browser.send("DOM.getDocument")
            node = await self.browser.send(
                "DOM.querySelector",
                nodeId=document["root"]["nodeId"],
                selector=f"{form} input[type=file]",
            )
            await self.browser.send(
                "DOM.setFileInputFiles", files=[str(file)], nodeId=node["nodeId"]
            )
        await self.browser.navigated_by(
            f"document.querySelector({json.dumps(form)}).querySelector('button[type=submit]')"
            ".click()"
        )

    async def path(self) -> str:
        return str(await self.browser.evaluate("location.pathname"))

    async def text(self, selector: str = "main") -> str:
        found = await self.browser.evaluate(
            f"(e => e ? e.innerText : '')(document.querySelector({json.dumps(selector)}))"
        )
        return " ".join(str(found).split())

    async def check(self, name: str) -> Path:
        """The page meets the bars; its screenshot."""
        if await self.browser.evaluate("document.scripts.length"):
            self.failures.append(f"{name}: a script on the page")
        # every page's main has a max-width from console.css (a browser's own: none)
        width = await self.browser.evaluate(
            "getComputedStyle(document.querySelector('main')).maxWidth"
        )
        if width == "none":
            self.failures.append(f"{name}: the stylesheet did not apply")
        await self.browser.evaluate(self.axe)
        axe = await self.browser.settle(AXE_RUN)
        assert axe["rules"] > 20, axe
        self.failures += [
            f"{name}: axe {json.dumps(v, ensure_ascii=False)}" for v in axe["serious"]
        ]
        return await self.browser.screenshot(ARTIFACTS / f"{name}.png")


async def until(check: Any, within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not await check():
        assert time.monotonic() < deadline, f"{what}: not within {within} s"
        await asyncio.sleep(0.2)


async def state_of(service: Service, result_id: str) -> str:
    rows = await query(
        service.database_url, "SELECT state FROM results WHERE id = :i", i=result_id
    )
    return str(rows[0][0])


def read_qr(png: Path) -> list[str]:
    done = subprocess.run(
        ["zbarimg", "-q", "--raw", "--nodbus", str(png)],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.split()


async def test_a_supervisors_day_at_the_console(tmp_path: Path, axe_source: str) -> None:  # noqa: F811
    mailbox = Mailbox(refuse={REFUSED: f"550 5.1.1 <{REFUSED}>: Recipient address rejected"})
    async with SmtpServer(mailbox) as smtp:
        env = {
            "KETQUA_WORKERS": "1",
            "KETQUA_PUBLIC_URL": PUBLIC_URL,
            "KETQUA_SMTP_URL": f"smtp://127.0.0.1:{smtp.port}?tls=none",
            "KETQUA_MAIL_FROM": "ketqua@vandon.example.vn",
            "KETQUA_CONTACT_AGENCY": "Ủy ban nhân dân huyện Vân Đồn",
        }
        service = await asyncio.to_thread(Service(tmp_path / "home", env=env).start)
        try:
            await _the_day(service, mailbox, tmp_path, axe_source)
        finally:
            await asyncio.to_thread(service.stop)


async def _the_day(service: Service, mailbox: Mailbox, folder: Path, axe: str) -> None:
    supervisor = await asyncio.to_thread(add_user, service.home, "lan.nguyen", "supervisor")
    clerk = await asyncio.to_thread(add_user, service.home, "hoa.pham", "clerk")
    first = folder / "ket-qua.pdf"
    first.write_bytes(result_pdf(trailing_text="console-first"))
    fixed = folder / "ket-qua-dinh-chinh.pdf"
    fixed.write_bytes(result_pdf(trailing_text="console-corrected"))
    other = folder / "ket-qua-khac.pdf"
    other.write_bytes(result_pdf(trailing_text="console-other"))
    async with (
        aiohttp.ClientSession() as session,
        session.get(service.signer_url + "/login") as response,
    ):
        assert response.headers["Content-Security-Policy"] == CSP

    async with Chromium(*DESKTOP) as browser:
        await browser.resize(*DESKTOP, mobile=False)
        await browser.send("Emulation.setLocaleOverride", locale="vi-VN")
        desk = Desk(browser, service.signer_url, axe)

        # log in; the initial password must be changed first
        await desk.open("/?lang=vi")  # remembered in a cookie, as on the public pages
        assert await desk.path() == "/login"
        await desk.check("dang-nhap")
        await desk.fill({"username": "lan.nguyen", "password": supervisor})
        assert await desk.path() == "/password", await desk.text()
        await desk.check("doi-mat-khau")
        await desk.fill({"current": supervisor, "new": OWN_PASSWORD, "again": OWN_PASSWORD})
        assert await desk.path() == "/"

        # submit a result through the form, with a typo in the address
        await desk.open("/submit")
        await desk.check("trinh-ky")
        dossier = "000.00.14.H49-221104-0031"
        await desk.fill(fields_for(dossier, REFUSED), file=first)
        assert (await desk.path()).startswith("/results/"), await desk.text()
        result_id = (await desk.path()).split("/")[2]
        assert "Đã tiếp nhận" in await desk.text()

        # published, and its e-mail refused: on the dashboard and in search
        async def refused() -> bool:
            rows = await query(
                service.database_url,
                "SELECT count(*) FROM deliveries WHERE result_id = :i AND state = 'failed'",
                i=result_id,
            )
            return bool(rows[0][0])

        await until(refused, 60, "the 550")
        assert await state_of(service, result_id) == "published"
        await desk.open("/")
        board = await desk.text("#refused-h + p + table")
        assert f"{dossier}-KQ1" in board
        assert "Trần Thị Bình" in board
        certificates = await desk.text("#certs-h + table")
        assert "Chứng thư ký văn bản" in certificates
        assert "Còn 1.0" in certificates  # the development keys: about three years left
        await desk.check("tong-quan")
        await desk.open("/results?delivery=failed")
        assert f"{dossier}-KQ1" in await desk.text("table.list")
        await desk.check("ket-qua-tim-kiem")
        await desk.open(f"/results/{result_id}")
        page = await desk.text()
        assert "Đã công khai" in page
        assert "550 5.1.1" in page
        assert REFUSED in page
        assert await browser.evaluate("document.querySelector('img.preview').naturalWidth") > 500
        await desk.check("ket-qua-chi-tiet")

        # correct the address, send again: it arrives there
        await desk.open(f"/results/{result_id}/resend")
        await desk.check("gui-lai")
        await desk.fill({"email": RIGHT})
        assert "Đã xếp thư gửi lại" in await desk.text()

        async def arrived() -> bool:
            return any(RIGHT in m.rcpt_tos for m in mailbox.messages)

        await until(arrived, 60, "the message at the corrected address")
        message = next(m for m in mailbox.messages if RIGHT in m.rcpt_tos).parsed()
        assert any(part.get_filename() for part in message.iter_attachments())
        await until(
            lambda: _is(service, result_id, "delivered"), 30, "delivered once the resend arrived"
        )

        # correct the result: prefilled, the next result number, the old one superseded
        await desk.open(f"/results/{result_id}/correct")
        intro = await desk.text(".notice")
        assert f"{dossier}-KQ2" in intro
        await desk.check("dinh-chinh")
        await desk.fill({"document_number": "08/GPXD-UBND"}, file=fixed)
        new_id = (await desk.path()).split("/")[2]
        assert new_id != result_id
        await until(lambda: _is(service, new_id, "published", "delivered"), 60, "the correction")
        assert await state_of(service, result_id) == "superseded"

        # revoke another result with a reason; the form says what the public will see
        await desk.open("/submit")
        second = "000.00.14.H49-221104-0032"
        await desk.fill(fields_for(second, RIGHT), file=other)
        revoked_id = (await desk.path()).split("/")[2]
        await until(lambda: _is(service, revoked_id, "published", "delivered"), 60, "signed")
        await desk.open(f"/results/{revoked_id}/revoke")
        assert "Trang tra cứu" in await desk.text("#public-note")
        await desk.check("thu-hoi")
        await desk.fill(
            {"reason": "Quyết định thu hồi số 12/QĐ-UBND"},
            radios={"reason_code": "issued_in_error"},
        )
        assert "Đã thu hồi" in await desk.text()
        assert await state_of(service, revoked_id) == "revoked"

        # the desk slip: its QR leads to the lookup page, its access code opens the result
        await desk.open(f"/results/{new_id}/slip")
        slip = await desk.check("phieu-tra-cuu")
        code = await browser.evaluate("document.querySelectorAll('dl.codes dd')[1].innerText")
        assert f"{PUBLIC_URL}/tra-cuu/{dossier}" in read_qr(slip)
        async with (
            aiohttp.ClientSession() as portal,
            portal.get(
                f"{service.verifier_url}/api/v1/lookup/{dossier}",
                headers={"X-Access-Code": code.strip()},
            ) as response,
        ):
            assert response.status == 200, await response.text()
            found = await response.json()
        assert found["result_code"] == f"{dossier}-KQ2"

        # log out: the console is closed behind
        await desk.open("/")
        await browser.navigated_by("document.querySelector('form.logout button').click()")
        assert await desk.path() == "/login"
        assert "Đã đăng xuất" in await desk.text()
        await desk.open("/results")
        assert await desk.path() == "/login"

        # a clerk may not revoke: refused on the server, said on a page
        await desk.fill({"username": "hoa.pham", "password": clerk})
        await desk.fill({"current": clerk, "new": OWN_PASSWORD, "again": OWN_PASSWORD})
        await desk.open(f"/results/{new_id}")
        assert "Thu hồi" not in await desk.text("nav.actions")
        await desk.open(f"/results/{new_id}/revoke")
        assert "Không có quyền" in await desk.text()
        await desk.check("khong-co-quyen")
        await desk.open("/?lang=en")
        await desk.check("dashboard-en")
    assert not desk.failures, "\n".join(desk.failures)


async def _is(service: Service, result_id: str, *states: str) -> bool:
    return await state_of(service, result_id) in states
