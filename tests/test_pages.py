"""The public pages as people meet them, through a real ``ketqua serve``: HTTP and HTML.

A browser (``Accept: text/html``) gets pages in its language and never a
JSON error; API clients keep problem+json. What the pages look like, and
how they behave in a real browser, is ``tests/test_browser_pages.py``.
"""

from __future__ import annotations

import asyncio
import html
import re
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import pytest

from tests.service import PUBLIC_URL, Client, Service, correct
from tests.test_lookup import NAME, SECRET, issue
from tests.test_upload_verify import page_changed

pytestmark = pytest.mark.slow  # the real portal

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
VI = BROWSER | {"Accept-Language": "vi-VN,vi;q=0.9"}
EN = BROWSER | {"Accept-Language": "en-GB,en;q=0.9"}


def text_of(page: str) -> str:
    """What a person reads: tags dropped, entities decoded, spaces collapsed."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


async def fetch(
    session: aiohttp.ClientSession,
    service: Service,
    path: str,
    headers: dict[str, str],
    method: str = "GET",
    **kwargs: Any,
) -> tuple[int, str, str]:
    url = service.verifier_url + path
    async with session.request(method, url, headers=headers, **kwargs) as response:
        return response.status, response.content_type, await response.text()


async def test_the_front_door_leads_to_the_three_things_people_come_for(service: Service) -> None:
    async with aiohttp.ClientSession() as session:
        status, kind, page = await fetch(session, service, "/", VI)
    assert (status, kind) == (200, "text/html")
    assert '<html lang="vi">' in page
    for link in ('href="/tra-cuu"', 'href="/kiem-tra"', 'href="/ket-qua"', 'href="/thong-ke"'):
        assert link in page
    # the lookup form is on the front door itself
    assert 'action="/tra-cuu"' in page
    assert 'name="ma_ho_so"' in page
    words = text_of(page)
    assert "Tra cứu" in words
    assert "Mã tra cứu" in words
    assert "mã tra cứu" in words.lower()
    assert "giấy tiếp nhận" in words


async def test_every_page_has_the_same_header_footer_and_language_switch(
    service: Service,
) -> None:
    async with aiohttp.ClientSession() as session:
        for path in ("/", "/tra-cuu", "/kiem-tra", "/ket-qua", "/thong-ke"):
            status, _, page = await fetch(session, service, path, VI)
            assert status == 200, (path, page[:300])
            assert '<header class="site">' in page, path
            assert '<footer class="site">' in page, path
            switch = re.search(r'<a class="lang" href="([^"]+)"', page)
            assert switch is not None, path
            assert "lang=en" in switch.group(1), path
            assert f'href="{path}"' in page or path == "/", path  # the nav reaches each page


async def test_the_language_chosen_stays_chosen(service: Service) -> None:
    jar = aiohttp.CookieJar(unsafe=True)  # the service listens on an IP address
    async with aiohttp.ClientSession(cookie_jar=jar) as session:
        _, _, first = await fetch(session, service, "/?lang=en", VI)
        assert '<html lang="en">' in first
        # the next page, asked for by a Vietnamese browser, stays English
        _, _, second = await fetch(session, service, "/tra-cuu", VI)
        assert '<html lang="en">' in second
        assert "Look up" in text_of(second)
        _, _, back = await fetch(session, service, "/ket-qua?lang=vi", EN)
        assert '<html lang="vi">' in back
        _, _, after = await fetch(session, service, "/thong-ke", EN)
        assert '<html lang="vi">' in after
    async with aiohttp.ClientSession() as session:  # no cookie: the browser's language
        _, _, fresh = await fetch(session, service, "/", EN)
        assert '<html lang="en">' in fresh
        _, _, default = await fetch(session, service, "/", BROWSER)
        assert '<html lang="vi">' in default  # Vietnamese unless the browser asks for English


async def test_the_lookup_form_reads_the_code_as_people_type_it(client: Client) -> None:
    result = await issue(client, "typed")
    dossier = result["dossier_code"]
    typed = "  " + dossier.lower().replace("-", " – ") + " "
    async with aiohttp.ClientSession() as session:
        status, _, page = await fetch(
            session, client.service, "/tra-cuu", VI, "POST", data={"ma_ho_so": typed, "ma": ""}
        )
        assert status == 200, page[:500]
        assert dossier in page
        assert "Đã có kết quả" in text_of(page)
        assert NAME not in page  # without the code: nothing personal

        status, _, page = await fetch(
            session, client.service, "/tra-cuu", VI, "POST", data={"ma_ho_so": typed, "ma": SECRET}
        )
        assert status == 200
        assert result["result_code"] in page
        assert "Lê T*** H*** N***" in page
        assert f'action="/tra-cuu/{dossier}/van-ban"' in page  # the download, with the code

        status, _, page = await fetch(
            session, client.service, "/tra-cuu", VI, "POST", data={"ma_ho_so": "số 12 phố Huế"}
        )
        assert status == 400
        assert "Mã hồ sơ chưa đúng dạng" in text_of(page)
        assert 'value="số 12 phố Huế"' in page  # what was typed is kept to correct it


async def test_a_browser_gets_error_pages_in_its_language_and_an_api_client_json(
    service: Service,
) -> None:
    async with aiohttp.ClientSession() as session:
        status, kind, page = await fetch(session, service, "/khong-co-trang-nay", VI)
        assert (status, kind) == (404, "text/html")
        assert "Không tìm thấy" in text_of(page)
        assert 'href="/"' in page
        status, kind, page = await fetch(session, service, "/khong-co-trang-nay", EN)
        assert (status, kind) == (404, "text/html")
        assert "Not found" in text_of(page)

        status, kind, page = await fetch(session, service, "/api/v1/verify", VI)  # GET: 405
        assert (status, kind) == (405, "text/html")
        assert "Kiểm tra" in text_of(page) or "trang chủ" in text_of(page)

        status, kind, page = await fetch(
            session, service, "/tra-cuu/khong-phai-ma", VI
        )  # not a dossier code
        assert (status, kind) == (400, "text/html"), page[:300]

        status, kind, page = await fetch(
            session, service, "/tra-cuu", VI, "POST", data={"ma_ho_so": "x" * 5000}
        )
        assert (status, kind) == (413, "text/html")
        assert "quá lớn" in text_of(page)

        status, kind, _ = await fetch(
            session, service, "/khong-co-trang-nay", {"Accept": "application/json"}
        )
        assert (status, kind) == (404, "application/problem+json")
        status, kind, _body = await fetch(session, service, "/api/v1/verify", {})
        assert (status, kind) == (405, "application/problem+json")


async def test_a_lockout_page_says_how_many_minutes(client: Client) -> None:
    result = await issue(client, "lockout-page")
    dossier = result["dossier_code"]
    guesser = aiohttp.ClientSession(connector=aiohttp.TCPConnector(local_addr=("127.0.0.7", 0)))
    async with guesser:
        for n in range(10):
            status, _, _ = await fetch(
                guesser,
                client.service,
                "/tra-cuu",
                VI,
                "POST",
                data={"ma_ho_so": dossier, "ma": f"sai-{n}"},
            )
            assert status == 200  # the page again, saying the code is wrong
        status, kind, page = await fetch(
            guesser, client.service, "/tra-cuu", VI, "POST", data={"ma_ho_so": dossier, "ma": "x"}
        )
    assert (status, kind) == (429, "text/html")
    minutes = re.search(r"sau (\d+) phút", text_of(page))
    assert minutes is not None, text_of(page)
    assert int(minutes.group(1)) >= 1


async def upload(
    session: aiohttp.ClientSession, service: Service, data: bytes, headers: dict[str, str]
) -> tuple[int, str, str]:
    form = aiohttp.FormData()
    form.add_field("document", data, filename="ket-qua.pdf", content_type="application/pdf")
    return await fetch(session, service, "/kiem-tra", headers, "POST", data=form)


def findings_of(page: str) -> dict[str, str]:
    """Each thing checked on the report: its name and its tone (ok, bad, skip)."""
    return {
        html.unescape(name): tone
        for tone, name in re.findall(
            r'<li class="finding (\w+)">.*?<strong>(.*?)</strong>', page, flags=re.S
        )
    }


async def test_a_pdf_checked_in_the_browser_reads_as_a_report(client: Client) -> None:
    result = await issue(client, "upload-page")
    pdf = await client.document(result["id"])
    async with aiohttp.ClientSession() as session:
        status, _, form = await fetch(session, client.service, "/kiem-tra", VI)
        assert status == 200
        assert 'enctype="multipart/form-data"' in form
        assert 'type="file"' in form
        assert "<script" not in form

        status, kind, page = await upload(session, client.service, pdf, VI)
        assert (status, kind) == (200, "text/html")
        assert 'class="verdict valid"' in page
        assert findings_of(page) == {
            "Chữ ký số của cơ quan ban hành": "ok",
            "Thay đổi sau khi ký": "ok",
            "Con dấu QR": "ok",
            "Hồ sơ kết quả trên cổng": "ok",
        }
        assert result["result_code"] in text_of(page)
        assert NAME not in page

        status, _, page = await upload(session, client.service, page_changed(pdf), EN)
        assert status == 200
        assert 'class="verdict invalid"' in page
        found = findings_of(page)
        assert found["Changes after signing"] == "bad"
        assert found["The site's record of the result"] == "bad"
        assert "changed after the agency signed" in text_of(page)

        status, kind, page = await upload(session, client.service, b"%PDF-1.7 not really", VI)
        assert (status, kind) == (422, "text/html")
        assert "Không kiểm tra được" in text_of(page)


async def test_a_revoked_result_uploaded_reads_as_revoked(client: Client) -> None:
    result = await issue(client, "upload-revoked")
    pdf = await client.document(result["id"])
    await client.revoke(result["id"], "nhầm người nhận")
    async with aiohttp.ClientSession() as session:
        status, _, page = await upload(session, client.service, pdf, VI)
    assert status == 200
    assert 'class="verdict revoked"' in page
    assert findings_of(page)["Hồ sơ kết quả trên cổng"] == "bad"
    assert "Đã thu hồi" in text_of(page) or "thu hồi" in text_of(page)


async def open_with_code(
    session: aiohttp.ClientSession, service: Service, dossier: str, code: str
) -> tuple[int, str]:
    status, _, page = await fetch(
        session, service, f"/tra-cuu/{dossier}", VI, "POST", data={"ma": code}
    )
    return status, page


async def test_a_dossier_with_no_result_says_what_to_do(service: Service) -> None:
    async with aiohttp.ClientSession() as session:
        status, kind, page = await fetch(
            session, service, "/tra-cuu/000.00.14.H49-220101-9999", VI
        )
    assert (status, kind) == (200, "text/html")
    words = text_of(page)
    assert "Chưa có kết quả" in words
    assert "Kiểm tra lại mã hồ sơ trên giấy tiếp nhận" in words
    assert "Cần hỏi thêm, liên hệ" in words
    assert 'href="/tra-cuu"' in page  # and a way back to the form


async def test_the_old_code_after_a_correction_leads_to_the_current_result(
    client: Client,
) -> None:
    first = await issue(client, "before-correction")
    second = await correct(client, first, "the-correction")
    current_pdf = await client.document(second["id"])
    dossier = first["dossier_code"]
    async with aiohttp.ClientSession() as session:
        status, page = await open_with_code(session, client.service, dossier, SECRET)
        assert status == 200
        words = text_of(page)
        assert 'class="verdict superseded"' in page
        assert f"Kết quả {first['result_code']} đã được thay thế" in words
        assert second["result_code"] in words
        action = f'action="/tra-cuu/{dossier}/van-ban"'
        assert action in page  # the download leads somewhere: the current result
        async with session.post(
            f"{client.service.verifier_url}/tra-cuu/{dossier}/van-ban",
            data={"ma": SECRET},
            headers=VI,
        ) as response:
            assert response.status == 200
            assert response.content_type == "application/pdf"
            assert await response.read() == current_pdf


async def test_a_revoked_result_says_why_and_when_and_offers_no_download(client: Client) -> None:
    result = await issue(client, "to-revoke")
    await client.revoke(result["id"], "nhầm người nhận", reason_code="issued_in_error")
    dossier = result["dossier_code"]
    async with aiohttp.ClientSession() as session:
        status, page = await open_with_code(session, client.service, dossier, SECRET)
        _, _, public = await fetch(session, client.service, f"/tra-cuu/{dossier}", VI)
    assert status == 200
    words = text_of(page)
    assert 'class="verdict revoked"' in page
    assert "Ban hành nhầm" in words  # the reason's category, never the clerk's words
    assert "nhầm người nhận" not in page
    assert re.search(r"Ngày thu hồi \d{2}/\d{2}/\d{4}", words), words
    assert "/van-ban" not in page  # nothing to download
    assert "Cần hỏi thêm, liên hệ" in words
    assert "Kết quả đã bị thu hồi" in text_of(public)


async def test_no_link_on_any_page_leads_to_an_error(client: Client) -> None:
    """From the front door and a result's pages, every link on every page reached answers."""
    valid = await issue(client, "crawl-valid")
    revoked = await issue(client, "crawl-revoked")
    await client.revoke(revoked["id"], "nhầm", reason_code="issued_in_error")
    base = client.service.verifier_url
    seal = urlsplit(valid["verification_url"]).path
    start = [
        "/",
        f"/tra-cuu/{valid['dossier_code']}",
        seal,
        urlsplit(revoked["verification_url"]).path,
    ]
    start += ["/ket-qua?limit=1", "/thong-ke?period=2022", "/khong-co-trang-nay"]
    seen: set[str] = set()
    queue = list(start)
    broken: list[str] = []
    async with aiohttp.ClientSession() as session:
        while queue and len(seen) < 120:
            path = queue.pop(0)
            if path in seen:
                continue
            seen.add(path)
            async with session.get(base + path, headers=VI) as response:
                page = await response.text()
                if response.status >= 400 and path not in start:
                    broken.append(f"{path}: {response.status}")
            for href in re.findall(r'href="([^"]+)"', page):
                href = html.unescape(href)
                # our own absolute links (the QR's, in capitals: QR alphanumeric mode)
                if href.upper().startswith(PUBLIC_URL.upper()):
                    href = href[len(PUBLIC_URL) :]
                if href.startswith(("mailto:", "tel:", "#", "http")):
                    continue
                queue.append(href)
    assert len(seen) > 20, seen  # the crawl went somewhere
    assert not broken, broken


async def test_the_listing_page_finds_a_dossier_and_pages_on(client: Client) -> None:
    first = await issue(client, "listing-page-1")
    second = await issue(client, "listing-page-2")
    async with aiohttp.ClientSession() as session:
        for _ in range(30):  # the listing is made again at most once a second
            _, _, page = await fetch(session, client.service, "/ket-qua?limit=1", VI)
            if second["result_code"] in page:
                break
            await asyncio.sleep(0.2)
        assert second["result_code"] in page
        assert first["result_code"] not in page  # one a page
        assert "Trước hạn" in text_of(page) or "Đúng hạn" in text_of(page)  # the category
        more = re.search(r'<a class="button" href="([^"]+)">Trang sau</a>', page)
        assert more is not None
        _, _, following = await fetch(session, client.service, html.unescape(more.group(1)), VI)
        assert second["result_code"] not in following
        assert "Về trang đầu" in text_of(following)
        typed = first["dossier_code"].lower().replace("-", " ")
        status, _, found = await fetch(
            session, client.service, f"/ket-qua?dossier={typed}&from=&to=&procedure=", VI
        )
        assert status == 200
        assert first["result_code"] in found
        assert second["result_code"] not in found
        status, kind, _ = await fetch(session, client.service, "/ket-qua?from=31/02/2022", VI)
        assert (status, kind) == (400, "text/html")  # a day that does not exist, said to people


async def test_the_qr_page_tells_the_officer_what_to_compare(client: Client) -> None:
    valid = await issue(client, "compare")
    revoked = await issue(client, "compare-revoked")
    await client.revoke(revoked["id"], "nhầm", reason_code="issued_in_error")
    async with aiohttp.ClientSession() as session:
        _, _, page = await fetch(
            session, client.service, urlsplit(valid["verification_url"]).path, VI
        )
        words = text_of(page)
        assert "Nội dung in trên giấy phải khớp với các thông tin dưới đây" in words
        compare = page.split('id="compare"')[1].split("</section>")[0]
        for label in (
            "Cơ quan ban hành",
            "Số, ký hiệu văn bản",
            "Mã hồ sơ",
            "Mã kết quả",
            "Chủ hồ sơ",
        ):
            assert label in compare
        assert "SHA-256" not in compare  # the technical facts are folded away, below
        assert '<details class="card technical">' in page
        assert "Tải văn bản" in words
        _, _, gone = await fetch(
            session, client.service, urlsplit(revoked["verification_url"]).path, VI
        )
        assert 'class="verdict revoked"' in gone
        assert "Tải văn bản:" not in text_of(gone)  # a revoked page offers no download
        assert "không tải về được" in text_of(gone)
        forged = urlsplit(valid["verification_url"]).path[:-12] + "A" * 12
        _, _, bad = await fetch(session, client.service, forged, VI)
        assert "đường dẫn bị cắt ngắn hoặc gõ sai" in text_of(bad)
        assert "Cần hỏi thêm, liên hệ" in text_of(bad)
