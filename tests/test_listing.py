"""The portal's listing, feed and privacy, through a real ``ketqua serve``."""

from __future__ import annotations

import asyncio
import xml.etree.ElementTree as ET
from datetime import datetime
from typing import Any

import pytest

from tests.service import Client, issue, resolved_on

pytestmark = pytest.mark.slow  # the real portal

ATOM = "{http://www.w3.org/2005/Atom}"


async def get(client: Client, path: str, **headers: str) -> tuple[int, bytes, Any]:
    async with client.session.get(client.service.verifier_url + path, headers=headers) as r:
        return r.status, await r.read(), r.headers


async def all_listed(client: Client, query: str = "") -> list[dict[str, Any]]:
    import json

    items: list[dict[str, Any]] = []
    path: str | None = f"/api/v1/published?limit=200{query}"
    while path is not None:
        status, body, _ = await get(client, path)
        assert status == 200, body
        page = json.loads(body)
        items.extend(page["items"])
        path = page["next"]
    return items


async def test_published_results_are_listed_newest_first_and_the_rest_are_not(
    client: Client,
) -> None:
    import json

    first = await issue(
        client, "list-1", applicant={"name": "Phạm Minh Châu", "email": "chau@example.vn"}
    )
    second = await issue(
        client, "list-2", procedure={"code": "2.000001", "name": "Đăng ký kết hôn"}
    )
    hidden = await issue(client, "list-hidden", publish=False)
    revoked = await issue(client, "list-revoked")
    await client.revoke(revoked["id"], "nhầm")

    listed = await all_listed(client)
    codes = [i["result_code"] for i in listed]
    assert first["result_code"] in codes
    assert second["result_code"] in codes
    assert hidden["result_code"] not in codes  # "publish": false
    assert revoked["result_code"] not in codes  # revoked leaves the listing
    assert codes.index(second["result_code"]) < codes.index(first["result_code"])  # newest first
    mine = next(i for i in listed if i["result_code"] == first["result_code"])
    assert mine["applicant"] == "Phạm M*** C***"
    assert mine["timeliness"] == "ahead"
    assert mine["verification_url"] == first["verification_url"]

    # paging: one by one through the cursor gives the same order
    _, body, _ = await get(client, "/api/v1/published?limit=1")
    page = json.loads(body)
    assert len(page["items"]) == 1
    assert page["next"] is not None
    assert "before=" in page["next"]
    # filters
    by_procedure = await all_listed(client, "&procedure=2.000001")
    assert second["result_code"] in [i["result_code"] for i in by_procedure]
    assert all(i["procedure"]["code"] == "2.000001" for i in by_procedure)
    assert await all_listed(client, "&from=2030-01-01&to=2030-12-31") == []
    status, body, _ = await get(client, "/api/v1/published?from=2022-13-01")
    assert status == 400


async def test_the_feed_and_etags_let_the_portal_poll_cheaply(client: Client) -> None:
    result = await issue(client, "feed")
    for path in ("/api/v1/published", "/api/v1/published.atom", "/ket-qua"):
        status, _, headers = await get(client, path)
        assert status == 200
        assert headers["Cache-Control"].startswith("public")
        again, empty, _ = await get(client, path, **{"If-None-Match": headers["ETag"]})
        assert (again, empty) == (304, b"")
    _, atom, headers = await get(client, "/api/v1/published.atom")
    assert headers["Content-Type"].startswith("application/atom+xml")
    feed = ET.fromstring(atom)  # noqa: S314 - our own service's answer
    titles = [e.findtext(f"{ATOM}title") or "" for e in feed.iter(f"{ATOM}entry")]
    assert any(result["result_code"] in t for t in titles)


async def test_no_public_answer_carries_a_full_name_or_an_email(client: Client) -> None:
    name, email = "Đỗ Thị Thanh Xuân", "xuan.do@example.vn"
    result = await issue(
        client, "privacy", applicant={"name": name, "email": email}, deliver={"email": True}
    )
    dossier = result["dossier_code"]
    seal = result["verification_url"].rsplit("/", 1)[1]
    paths = [
        "/api/v1/published",
        "/api/v1/published.atom",
        "/ket-qua",
        f"/api/v1/lookup/{dossier}",
        f"/V/{seal}",
        f"/V/{seal}?lang=en",
        "/api/v1/statistics?period=2022",
        "/thong-ke?period=2022",
    ]
    for path in paths:
        status, body, _ = await get(client, path)
        assert status == 200, (path, body[:200])
        text = body.decode()
        assert name not in text, path
        assert email not in text, path
        assert "xuan.do" not in text, path
    _, body, _ = await get(client, f"/V/{seal}", Accept="application/json")
    assert name not in body.decode()


async def test_pages_escape_every_field(client: Client) -> None:
    await issue(
        client,
        "escape",
        applicant={"name": "<script>alert(1)</script> Văn", "email": "x@example.vn"},
    )
    for _ in range(30):  # the page is made again at most once a second
        _, body, _ = await get(client, "/ket-qua")
        page = body.decode()
        if "&lt;script&gt;" in page:
            break
        await asyncio.sleep(0.2)
    assert "&lt;script&gt;" in page
    assert "<script>" not in page


async def test_every_page_speaks_as_people_read_in_vietnam(client: Client) -> None:
    """dd/mm/yyyy, the glossary's names, an organisation in full, nothing in English."""
    import re

    company = "Công ty TNHH Xây dựng Vân Đồn"
    result = await issue(client, "formats", applicant={"name": company, "kind": "organization"})
    dossier = result["dossier_code"]
    day = resolved_on(dossier)  # YYYY-MM-DD, as JSON keeps it
    shown = f"{day[8:10]}/{day[5:7]}/{day[0:4]}"
    for _ in range(30):  # the listing is made again at most once a second
        _, body, _ = await get(client, "/ket-qua")
        listing = body.decode()
        if result["result_code"] in listing:
            break
        await asyncio.sleep(0.2)
    assert company in listing  # not personal data: in full
    assert f'<td data-label="Ngày giải quyết">{shown}</td>' in listing
    assert '<th scope="col">Mã kết quả</th>' in listing
    _, body, _ = await get(client, f"/tra-cuu/{dossier.lower()}")  # a code typed in lower case
    lookup = body.decode()
    assert f"<dd>{shown}</dd>" in lookup
    assert "<dt>Thủ tục hành chính</dt>" in lookup
    for page in (listing, lookup):
        assert not re.search(r"\b\d{4}-\d\d-\d\d\b", page), "an ISO date on a page"
        for english in ("Resolved", "Applicant", "Result", "Agency"):
            assert f">{english}<" not in page


TOMBSTONES = "{http://purl.org/atompub/tombstones/1.0}"


async def feed_now(client: Client, after: str | None = None) -> ET.Element:
    """The feed, once the one-second answer cache has let ``after`` (a result id) show."""
    for _ in range(40):
        _, atom, _ = await get(client, "/api/v1/published.atom")
        feed = ET.fromstring(atom)  # noqa: S314 - our own service's answer
        if after is None or after in atom.decode():
            return feed
        await asyncio.sleep(0.1)
    return feed


def entries(feed: ET.Element) -> dict[str, str]:
    """Each entry's id and title."""
    return {
        e.findtext(f"{ATOM}id") or "": e.findtext(f"{ATOM}title") or ""
        for e in feed.iter(f"{ATOM}entry")
    }


def deleted(feed: ET.Element) -> dict[str, str]:
    """Each deleted entry's ref and comment (RFC 6721)."""
    return {
        e.get("ref") or "": e.findtext(f"{TOMBSTONES}comment") or ""
        for e in feed.iter(f"{TOMBSTONES}deleted-entry")
    }


async def test_subscribers_follow_with_absolute_ids_and_learn_of_revocations_and_corrections(
    client: Client,
) -> None:
    from tests.service import PUBLIC_URL, correct

    kept = await issue(client, "feed-kept")
    revoked = await issue(client, "feed-revoked")
    old = await issue(client, "feed-old")
    tag = "tag:ketqua.vandon.quangninh.gov.vn,2020:ketqua:result:"
    before = await feed_now(client, old["id"])
    assert (before.findtext(f"{ATOM}id") or "").startswith("tag:ketqua.vandon.quangninh.gov.vn,")
    self_link = before.find(f"{ATOM}link[@rel='self']")
    assert self_link is not None
    assert self_link.get("href") == f"{PUBLIC_URL}/api/v1/published.atom"
    listed = entries(before)
    for result in (kept, revoked, old):
        assert tag + result["id"] in listed
    assert all(ref.startswith("tag:") for ref in listed)  # every id absolute (RFC 4287 4.2.6)

    await client.revoke(revoked["id"], "cấp nhầm", reason_code="issued_in_error")
    new = await correct(client, old, "feed-new")
    after = await feed_now(client, new["id"])
    listed, gone = entries(after), deleted(after)
    assert tag + kept["id"] in listed
    assert tag + new["id"] in listed
    assert tag + revoked["id"] not in listed
    assert tag + old["id"] not in listed
    assert gone[tag + revoked["id"]] == f"{revoked['result_code']} đã bị thu hồi: Ban hành nhầm."
    assert new["result_code"] in gone[tag + old["id"]]
    assert "cấp nhầm" not in ET.tostring(after, encoding="unicode")  # the clerk's words stay in

    def updated(feed: ET.Element) -> datetime:
        return datetime.fromisoformat(feed.findtext(f"{ATOM}updated") or "")

    assert updated(after) >= updated(before)  # a subscriber sees the feed changed
