"""The back office's console, over HTTP, against a real ``ketqua serve``: people, not keys.

A browser's part is played by ``tests.console.StaffBrowser`` (cookies,
forms and their CSRF tokens, redirects). The console's service trusts
127.0.0.1 as a reverse proxy, so that each test can be a client of its own
(``X-Forwarded-For``): the login throttle counts per client, and one test's
wrong passwords must not stop another's login.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from yarl import URL

from tests.console import StaffBrowser, add_user
from tests.pdfs import result_pdf
from tests.service import PUBLIC_URL, Service, home_env, ketqua_command, query

pytestmark = [pytest.mark.usefixtures("clean_environment"), pytest.mark.slow]

OWN_PASSWORD = "bàn-một-cửa-vân-đồn"
_clients = itertools.count(1)
_names = itertools.count(1)


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    home = tmp_path_factory.mktemp("console") / "home"
    env = {
        "KETQUA_WORKERS": "1",
        "KETQUA_PUBLIC_URL": PUBLIC_URL,
        "KETQUA_TRUSTED_PROXIES": json.dumps(["127.0.0.1"]),
        "KETQUA_CONTACT_AGENCY": "Ủy ban nhân dân huyện Vân Đồn",
    }
    service = Service(home, env=env).start()
    yield service
    service.stop()


def browser(service: Service, *, https: bool = False) -> StaffBrowser:
    """A person at a desk of their own (a client address no other test uses)."""
    person = StaffBrowser(service.signer_url)
    person.session.headers["X-Forwarded-For"] = (
        f"10.9.{next(_clients) // 250}.{next(_clients) % 250}"
    )
    if https:
        person.session.headers["X-Forwarded-Proto"] = "https"
    return person


def account(service: Service, role: str) -> str:
    name = f"{role}.{next(_names)}"
    return name


async def signed_in(service: Service, role: str) -> tuple[StaffBrowser, str]:
    name = account(service, role)
    initial = await asyncio.to_thread(add_user, service.home, name, role)
    person = browser(service)
    page = await person.first_login(name, initial, OWN_PASSWORD)
    assert page.path == "/", page.url
    return person, name


def form_fields(dossier_code: str, **changes: str) -> dict[str, str]:
    """The submit form filled in as a clerk types it (dd/mm/yyyy hh:mm, codes in any case)."""
    day = dossier_code.rsplit("-", 2)[1]
    typed_day = f"{day[4:]}/{day[2:4]}/20{day[:2]}"
    fields = {
        "dossier_code": dossier_code.lower(),
        "result_no": "1",
        "procedure.code": "1.004227",
        "procedure.name": "Cấp giấy phép xây dựng",
        "agency.name": "Ủy ban nhân dân huyện Vân Đồn",
        "applicant.kind": "person",
        "applicant.name": "Trần Thị Bình",
        "applicant.email": "binh.tran@example.vn",
        "received_at": f"{typed_day} 08:00",
        "due_at": f"{typed_day} 17:00",
        "resolved_at": f"{typed_day} 16:30",
        "document_number": "07/GPXD-UBND",
        "document_date": typed_day,
        "publish": "1",
    }
    fields.update(changes)
    return fields


_dossiers = itertools.count(1)


def new_dossier() -> str:
    return f"000.00.14.H49-221105-{next(_dossiers) + 100 * (time.time_ns() % 90):04d}"


def errors_of(text: str) -> dict[str, str]:
    """The errors shown under each field: field id -> sentence."""
    return dict(re.findall(r'<p class="error" id="([^"]+)-error">([^<]*)</p>', text))


async def wait_for_state(service: Service, result_id: str, *states: str) -> str:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        rows = await query(
            service.database_url, "SELECT state FROM results WHERE id = :id", id=result_id
        )
        if rows and rows[0][0] in states:
            return str(rows[0][0])
        await asyncio.sleep(0.2)
    raise AssertionError(f"{result_id} never reached {states}")


# --- sessions and logins -------------------------------------------------------------


async def test_a_stranger_is_sent_to_the_login_and_back_to_the_page_asked_for(
    console: Service,
) -> None:
    name = account(console, "clerk")
    initial = await asyncio.to_thread(add_user, console.home, name, "clerk")
    async with browser(console) as person:
        asked = await person.get("/results?state=published")
        assert asked.path == "/login"
        assert 'name="username"' in asked.text
        assert 'name="password"' in asked.text
        assert 'autocomplete="current-password"' in asked.text
        # the first login leads to the password form, whatever was asked for
        page = await person.submit(
            asked.url.removeprefix(console.signer_url),
            "/login",
            {"username": name, "password": initial, "next": "/results?state=published"},
        )
        assert page.path == "/password"
        assert "lần đăng nhập đầu tiên" in page.words
        # an initial password opens nothing else until it is changed
        assert (await person.get("/results")).path == "/password"
        weak = await person.submit(
            "/password", "/password", {"current": initial, "new": name, "again": name}
        )
        assert weak.status == 422
        assert "quá dễ đoán" in weak.words
        changed = await person.submit(
            "/password",
            "/password",
            {"current": initial, "new": OWN_PASSWORD, "again": OWN_PASSWORD},
        )
        assert changed.path == "/"
        assert "Đã đổi mật khẩu" in changed.words
    # the initial password no longer works; the own one does, and leads where asked
    async with browser(console) as person:
        assert "không đúng" in (await person.login(name, initial)).words
        page = await person.submit(
            "/login",
            "/login",
            {"username": name, "password": OWN_PASSWORD, "next": "/results?state=published"},
        )
        assert page.path == "/results"
        assert page.status == 200


async def test_the_session_cookie_is_httponly_strict_and_secure_under_https(
    console: Service,
) -> None:
    name = account(console, "clerk")
    initial = await asyncio.to_thread(add_user, console.home, name, "clerk")
    for https in (False, True):
        # under https, __Host- names: no sibling host (the public portal's) can set them
        prefix = "__Host-" if https else ""
        person = browser(console, https=https)
        # cookies handled by hand: a Secure cookie is not sent back over the test's http
        async with aiohttp.ClientSession(
            headers=dict(person.session.headers), cookie_jar=aiohttp.DummyCookieJar()
        ) as raw:
            await person.session.close()
            async with raw.get(console.signer_url + "/login") as response:
                form = await response.text()
                login_cookie = _set_cookie(response, prefix + "ketqua_login")
            token = re.search(r'name="csrf" value="([^"]+)"', form)
            assert token is not None
            async with raw.post(
                console.signer_url + "/login",
                data={"csrf": token.group(1), "username": name, "password": initial},
                headers={"Cookie": f"{prefix}ketqua_login={token.group(1)}"},
                allow_redirects=False,
            ) as response:
                assert response.status == 303
                session_cookie = _set_cookie(response, prefix + "ketqua_console")
        for cookie in (login_cookie, session_cookie):
            flags = {part.strip().lower() for part in cookie.split(";")[1:]}
            assert {"httponly", "samesite=strict", "path=/"} <= flags
            assert ("secure" in flags) is https
            assert not any(f.startswith(("max-age", "expires")) for f in flags)


def _set_cookie(response: aiohttp.ClientResponse, name: str) -> str:
    return next(v for v in response.headers.getall("Set-Cookie") if v.startswith(f"{name}="))


async def test_logout_ends_the_session_on_the_server(console: Service) -> None:
    person, _ = await signed_in(console, "clerk")
    async with person:
        jar = person.session.cookie_jar.filter_cookies(URL(console.signer_url))
        token = jar["ketqua_console"]
        dashboard = await person.get("/")
        out = await person.post("/logout", {"csrf": dashboard.csrf()})
        assert out.path == "/login"
        assert "Đã đăng xuất" in out.words
    # the old cookie, presented again (copied before the logout), opens nothing
    async with (
        aiohttp.ClientSession(cookies={"ketqua_console": token.value}) as thief,
        thief.get(console.signer_url + "/", allow_redirects=False) as response,
    ):
        assert response.status == 303
        assert response.headers["Location"].startswith("/login")


@pytest.mark.parametrize(
    ("idle_minutes", "hours", "busy"),
    [("0.04", "10", False), ("30", "0.001", True)],  # 2.4 s idle; 3.6 s after the login
    ids=["idle", "absolute"],
)
async def test_a_session_expires_and_the_page_says_so(
    tmp_path: Path, idle_minutes: str, hours: str, busy: bool
) -> None:
    service = Service(
        tmp_path / "home",
        env={
            "KETQUA_WORKERS": "1",
            "KETQUA_CONSOLE_IDLE_MINUTES": idle_minutes,
            "KETQUA_CONSOLE_SESSION_HOURS": hours,
        },
    ).start()
    try:
        person, _ = await signed_in(service, "clerk")
        async with person:
            assert (await person.get("/")).path == "/"
            page = None
            for _ in range(8):  # busy: a request every half second, which idle does not end
                if busy:
                    page = await person.get("/")
                    if page.path == "/login":
                        break
                await asyncio.sleep(0.5)
            if page is None or page.path != "/login":
                page = await person.get("/results")
            assert page.path == "/login"
            assert "Phiên làm việc đã hết hạn" in page.words
            rows = await query(service.database_url, "SELECT count(*) FROM staff_sessions")
            assert rows[0][0] == 0  # removed, not only refused
    finally:
        service.stop()


async def test_the_tenth_wrong_password_is_throttled_and_other_desks_still_log_in(
    console: Service,
) -> None:
    name = account(console, "clerk")
    initial = await asyncio.to_thread(add_user, console.home, name, "clerk")
    async with browser(console) as guesser:
        for attempt in range(9):
            page = await guesser.login(name, f"sai-{attempt}")
            assert page.status == 422, attempt
            assert "không đúng" in page.words, attempt
        tenth = await guesser.login(name, f"sai-{9}")
        assert tenth.status == 429
        assert int(tenth.headers["Retry-After"]) > 0
        assert "Thử quá nhiều lần" in tenth.words
        assert "phút" in tenth.words
        # refused before the password is checked: the right one does not get through either
        assert (await guesser.login(name, initial)).status == 429
    async with browser(console) as clerk:  # another desk, the same account
        assert (await clerk.login(name, initial)).path == "/password"


async def test_a_guesser_spread_over_many_addresses_is_stopped_not_the_clerk(
    console: Service,
) -> None:
    name = account(console, "clerk")
    initial = await asyncio.to_thread(add_user, console.home, name, "clerk")
    guessers = [browser(console) for _ in range(7)]
    try:
        for round_ in range(3):  # 21 wrong passwords for one account, 3 from each address
            for guesser in guessers:
                await guesser.login(name, f"sai-{round_}")
        # an address that guessed wrong is refused for this account now
        assert (await guessers[0].login(name, initial)).status == 429
    finally:
        for guesser in guessers:
            await guesser.session.close()
    async with browser(console) as clerk:  # a desk that typed nothing wrong
        assert (await clerk.login(name, initial)).path == "/password"


async def test_a_form_without_its_csrf_token_or_from_another_site_is_refused(
    console: Service,
) -> None:
    person, _ = await signed_in(console, "admin")
    async with person:
        before = await query(console.database_url, "SELECT count(*) FROM staff")
        missing = await person.post("/admin/users", {"name": "ke.gian", "role": "admin"})
        assert missing.status == 403
        assert "Không có quyền" in missing.words
        wrong = await person.post(
            "/admin/users", {"csrf": "x" * 43, "name": "ke.gian", "role": "admin"}
        )
        assert wrong.status == 403
        page = await person.get("/admin")
        elsewhere = await person.post(
            "/admin/users",
            {"csrf": page.csrf(), "name": "ke.gian", "role": "admin"},
            headers={"Origin": "https://attacker.example"},
        )
        assert elsewhere.status == 403
        assert await query(console.database_url, "SELECT count(*) FROM staff") == before
        # the login form's token is its own cookie's: a login posted from elsewhere has none
        async with (
            aiohttp.ClientSession() as other_site,
            other_site.post(
                console.signer_url + "/login", data={"username": "x", "password": "y"}
            ) as response,
        ):
            assert response.status == 403


async def test_roles_are_enforced_on_the_server(console: Service) -> None:
    clerk, _ = await signed_in(console, "clerk")
    supervisor, _ = await signed_in(console, "supervisor")
    async with clerk, supervisor:
        submitted = await clerk.upload(
            "/submit", "/submit", form_fields(new_dossier()), result_pdf()
        )
        assert submitted.status == 200, submitted.words
        result_id = submitted.path.split("/")[2]
        await wait_for_state(console, result_id, "published")
        status, pdf, headers = await clerk.raw(f"/results/{result_id}/document.pdf")
        assert status == 200
        assert pdf.startswith(b"%PDF")
        assert headers["Content-Type"] == "application/pdf"
        page = await clerk.get(f"/results/{result_id}")
        assert f"/results/{result_id}/revoke" not in page.text  # not offered...
        assert (await clerk.get(f"/results/{result_id}/revoke")).status == 403
        refused = await clerk.post(
            f"/results/{result_id}/revoke", {"csrf": page.csrf(), "reason_code": "other"}
        )
        assert refused.status == 403  # ...and refused when asked for anyway
        assert "Không có quyền" in refused.words
        assert (await clerk.get("/admin")).status == 403
        assert (await supervisor.get("/admin")).status == 403
        rows = await query(
            console.database_url, "SELECT state FROM results WHERE id = :id", id=result_id
        )
        assert rows[0][0] == "published"
        # a supervisor may
        revoked = await supervisor.submit(
            f"/results/{result_id}/revoke",
            f"/results/{result_id}/revoke",
            {"reason_code": "issued_in_error", "reason": "QĐ thu hồi số 12/QĐ-UBND"},
        )
        assert revoked.path == f"/results/{result_id}"
        assert "Đã thu hồi" in revoked.words


async def test_every_console_request_is_audited_under_the_persons_name(
    console: Service,
) -> None:
    person, name = await signed_in(console, "clerk")
    async with person:
        await person.get("/results")
        submitted = await person.upload(
            "/submit", "/submit", form_fields(new_dossier()), result_pdf()
        )
        result_id = submitted.path.split("/")[2]
        await person.get(f"/results/{result_id}")
    await asyncio.sleep(1)  # the audit trail writes in batches
    rows = await query(
        console.database_url,
        "SELECT a.method, a.route, a.status FROM audit_log a JOIN staff s ON s.id = a.staff_id"
        " WHERE s.name = :name ORDER BY a.id",
        name=name,
    )
    routes = [(method, route, status) for method, route, status in rows]
    assert ("POST", "/login", 303) in routes
    assert ("GET", "/results", 200) in routes
    assert ("POST", "/submit", 303) in routes
    assert ("GET", "/results/{id}", 200) in routes
    history = await query(
        console.database_url,
        "SELECT e.state FROM result_events e JOIN staff s ON s.id = e.actor"
        " WHERE e.result_id = :id AND s.name = :name",
        id=result_id,
        name=name,
    )
    assert ("queued",) in history


async def test_the_console_is_not_on_the_verifiers_port(console: Service) -> None:
    async with aiohttp.ClientSession() as session:
        for path in ("/login", "/results", "/submit", "/admin", "/static/console.css"):
            async with session.get(console.verifier_url + path) as response:
                assert response.status == 404, path
        async with session.get(console.verifier_url + "/") as response:
            assert "Đăng nhập" not in await response.text()  # the public front door


# --- the work ------------------------------------------------------------------------


async def test_the_submit_form_shows_each_error_beside_its_field(console: Service) -> None:
    person, _ = await signed_in(console, "clerk")
    async with person:
        fields = form_fields(
            new_dossier(),
            **{
                "applicant.email": "binh.tran@",
                "procedure.code": "1004227",
                "received_at": "31/02/2022 08:00",
                "agency.name": "UBND huyện Vân Đồn",
            },
        )
        fields["deliver.email"] = "1"
        page = await person.upload("/submit", "/submit", fields, None)
        assert page.status == 422
        errors = errors_of(page.text)
        assert set(errors) >= {"received_at", "document"}, errors
        assert 'aria-invalid="true"' in page.text
        # what was typed is kept
        assert 'value="binh.tran@"' in page.text
        # the dates fixed, the model's own checks speak, each beside its field
        fields["received_at"] = form_fields(new_dossier())["received_at"]
        page = await person.upload("/submit", "/submit", fields, result_pdf())
        errors = errors_of(page.text)
        assert {"procedure-code", "agency-name", "applicant-email"} <= set(errors), errors
        assert "1.004227" in errors["procedure-code"]
        assert "viết tắt" in errors["agency-name"]
        english = await person.upload("/submit?lang=en", "/submit?lang=en", fields, result_pdf())
        assert "must look like 1.004227" in errors_of(english.text)["procedure-code"]
        count = await query(
            console.database_url,
            "SELECT count(*) FROM results WHERE dossier_code = :d",
            d=fields["dossier_code"].upper(),
        )
        assert count[0][0] == 0


async def test_a_result_signed_outside_is_imported_from_the_console(
    console: Service, tmp_path: Path
) -> None:
    metadata = json.loads(json.dumps(_example_for(new_dossier())))
    meta_file = tmp_path / "meta.json"
    meta_file.write_text(json.dumps(metadata, ensure_ascii=False), encoding="utf-8")
    source = tmp_path / "in.pdf"
    source.write_bytes(result_pdf())
    signed = tmp_path / "signed.pdf"
    done = await asyncio.to_thread(
        subprocess.run,
        ketqua_command(
            "sign",
            str(source),
            "--metadata",
            str(meta_file),
            "-o",
            str(signed),
            "--keys",
            str(console.home / "keys"),
        ),
        capture_output=True,
        text=True,
        env=home_env(console.home, console.env),
        check=False,
    )
    assert done.returncode == 0, done.stderr
    person, _ = await signed_in(console, "clerk")
    async with person:
        fields = form_fields(metadata["dossier_code"], signed="1")
        page = await person.upload("/submit", "/submit", fields, signed.read_bytes())
        assert page.status == 200, page.words
        assert "Đã nhập" in page.words
        assert "Đã công khai" in page.words
        # an unsigned file is not registered as signed
        other = form_fields(new_dossier(), signed="1")
        refused = await person.upload("/submit", "/submit", other, result_pdf())
        assert refused.status == 422
        assert "document" in errors_of(refused.text)


def _example_for(dossier_code: str) -> dict[str, object]:
    from tests.pdfs import example_metadata

    metadata = example_metadata()
    day = dossier_code.rsplit("-", 2)[1]
    date = f"20{day[:2]}-{day[2:4]}-{day[4:]}"
    metadata.update(
        dossier_code=dossier_code,
        received_at=f"{date}T08:00:00+07:00",
        due_at=f"{date}T17:00:00+07:00",
        resolved_at=f"{date}T16:30:00+07:00",
        document_number="07/GPXD-UBND",
        document_date=date,
        applicant={"name": "Trần Thị Bình", "email": "binh.tran@example.vn"},
        deliver={"email": False},
    )
    return metadata


async def test_an_administrator_manages_accounts_and_api_keys(console: Service) -> None:
    admin, _ = await signed_in(console, "admin")
    async with admin:
        name = account(console, "clerk")
        made = await admin.submit("/admin", "/admin/users", {"name": name, "role": "clerk"})
        assert made.path.startswith("/admin/secret/")  # post, redirect, get
        assert (await admin.get(made.path)).status == 404  # shown once: a reload shows nothing
        initial = re.search(r'<code id="secret">([^<]+)</code>', made.text)
        assert initial is not None
        assert "chỉ hiện một lần" in made.words
        async with browser(console) as clerk:
            assert (await clerk.login(name, initial.group(1))).path == "/password"
            await clerk.submit(
                "/password",
                "/password",
                {"current": initial.group(1), "new": OWN_PASSWORD, "again": OWN_PASSWORD},
            )
            assert (await clerk.get("/results")).path == "/results"
            # disabled: the session ends at once, and the password opens nothing
            await admin.submit("/admin", "/admin/users/disable", {"name": name})
            assert (await clerk.get("/results")).path == "/login"
            assert "không đúng" in (await clerk.login(name, OWN_PASSWORD)).words
        key = await admin.submit(
            "/admin", "/admin/keys", {"name": f"mot-cua-{name}", "days": "30"}
        )
        plain = re.search(r'<code id="secret">(kq_[^<]+)</code>', key.text)
        assert plain is not None
        async with aiohttp.ClientSession() as system:
            headers = {"Authorization": f"Bearer {plain.group(1)}"}
            async with system.get(console.signer_url + "/api/v1/results", headers=headers) as r:
                assert r.status == 200
            listed = await admin.get("/admin")
            assert f"mot-cua-{name}" in listed.words
            await admin.submit("/admin", "/admin/keys/revoke", {"name": f"mot-cua-{name}"})
            async with system.get(console.signer_url + "/api/v1/results", headers=headers) as r:
                assert r.status == 401


# --- any input: a page or a 4xx, never a 5xx -----------------------------------------

RESULT_PDF = result_pdf()
FORM_NAMES = [*form_fields("000.00.14.H49-221105-0001"), "deliver.email", "signed", "supersedes"]
ANY_TEXT = st.text(max_size=60) | st.sampled_from(["", "0", "-1", "31/02/2022 25:61", "x" * 999])


@pytest.fixture(scope="module")
def clerk_session(console: Service) -> tuple[str, str]:
    """A signed-in clerk's session cookie and its CSRF token."""

    async def sign_in() -> tuple[str, str]:
        person, _ = await signed_in(console, "clerk")
        async with person:
            page = await person.get("/submit")
            jar = person.session.cookie_jar.filter_cookies(URL(console.signer_url))
            return jar["ketqua_console"].value, page.csrf()

    return asyncio.run(sign_in())


@given(
    fields=st.dictionaries(st.sampled_from(FORM_NAMES), ANY_TEXT, max_size=len(FORM_NAMES)),
    query=st.dictionaries(
        st.sampled_from(
            ["dossier_code", "applicant", "state", "delivery", "from", "to", "before"]
        ),
        ANY_TEXT,
        max_size=4,
    ),
    junk=st.binary(max_size=300),
    real_pdf=st.booleans(),
)
@settings(max_examples=40, deadline=None, derandomize=True)
def test_any_form_or_search_is_a_page_or_a_4xx_never_a_5xx(
    console: Service,
    clerk_session: tuple[str, str],
    fields: dict[str, str],
    query: dict[str, str],
    junk: bytes,
    real_pdf: bool,
) -> None:
    token, csrf = clerk_session
    document = RESULT_PDF if real_pdf else junk

    async def ask() -> tuple[int, int]:
        async with aiohttp.ClientSession(
            cookies={"ketqua_console": token}, headers={"Accept": "text/html"}
        ) as person:
            form = aiohttp.FormData(default_to_multipart=True)
            form.add_field("csrf", csrf)
            for name, value in fields.items():
                form.add_field(name, value)
            form.add_field("document", document, filename="x.pdf")
            async with person.post(
                console.signer_url + "/submit", data=form, allow_redirects=False
            ) as posted:
                await posted.read()
            async with person.get(console.signer_url + "/results", params=query) as searched:
                await searched.read()
            return posted.status, searched.status

    posted, searched = asyncio.run(ask())
    assert posted in (303, 400, 422), fields  # 400: a part the form does not have
    assert searched in (200, 400), query


# --- what a review found ---------------------------------------------------------------


async def test_a_path_that_is_no_id_loses_no_audit_row(console: Service) -> None:
    person, name = await signed_in(console, "clerk")
    async with person:
        odd = await person.get("/results/" + "A" * 40)  # longer than the column
        assert odd.status == 404
        await person.get("/results?state=queued")
    await asyncio.sleep(1)
    rows = await query(
        console.database_url,
        "SELECT a.route, a.status, a.result_id FROM audit_log a JOIN staff s"
        " ON s.id = a.staff_id WHERE s.name = :name",
        name=name,
    )
    assert ("/results/{id}", 404, None) in rows  # a library error's own status, not a 500
    assert ("/results", 200, None) in rows  # the batch it shared was written


async def test_a_burst_of_guesses_gets_no_more_than_the_limit(console: Service) -> None:
    name = account(console, "clerk")
    await asyncio.to_thread(add_user, console.home, name, "clerk")
    async with browser(console) as guesser:
        form = await guesser.get("/login")
        fields = {"csrf": form.csrf(), "username": name, "password": "sai"}
        answers = await asyncio.gather(*(guesser.post("/login", fields) for _ in range(30)))
    statuses = [a.status for a in answers]
    assert statuses.count(422) <= 9, statuses  # checked: at most the nine allowed
    assert statuses.count(429) >= 21, statuses


async def test_nul_characters_and_dates_out_of_range_are_4xx(console: Service) -> None:
    async with browser(console) as stranger:
        form = await stranger.get("/login")
        nul = await stranger.post(
            "/login", {"csrf": form.csrf(), "username": "a\x00b", "password": "x"}
        )
        assert nul.status == 400
    person, _ = await signed_in(console, "clerk")
    async with person:
        for query_ in ("applicant=%00", "to=31/12/9999", "from=01/01/0001", "state=%00"):
            assert (await person.get(f"/results?{query_}")).status == 400, query_
        fields = form_fields(new_dossier(), received_at="01/01/0001 00:00")
        page = await person.upload("/submit", "/submit", fields, result_pdf())
        assert page.status == 422
        assert "received_at" in errors_of(page.text)
        fields = form_fields(new_dossier(), **{"applicant.name": "Bình\x1b[31m"})
        page = await person.upload("/submit", "/submit", fields, result_pdf())
        assert page.status == 422
        assert "applicant-name" in errors_of(page.text)


async def test_an_administrator_cannot_lock_themselves_or_the_console_out(
    console: Service,
) -> None:
    admin, name = await signed_in(console, "admin")
    async with admin:
        mine = await admin.submit("/admin", "/admin/users/disable", {"name": name})
        assert mine.status == 409
        assert "chính mình" in mine.words
        reset = await admin.submit("/admin", "/admin/users/reset", {"name": name})
        assert reset.status == 409
        assert (await admin.get("/results")).path == "/results"  # still signed in


async def test_a_new_account_may_log_out_before_choosing_its_password(
    console: Service,
) -> None:
    name = account(console, "clerk")
    initial = await asyncio.to_thread(add_user, console.home, name, "clerk")
    async with browser(console) as person:
        page = await person.login(name, initial)
        assert page.path == "/password"
        out = await person.post("/logout", {"csrf": page.csrf()})
        assert out.path == "/login"
        assert "Đã đăng xuất" in out.words


async def test_a_name_is_found_in_any_case_and_an_address_in_any_case_is_no_correction(
    console: Service,
) -> None:
    person, _ = await signed_in(console, "clerk")
    async with person:
        fields = form_fields(
            new_dossier(), **{"applicant.name": "ĐỖ THỊ ẤN", "deliver.email": "1"}
        )
        submitted = await person.upload("/submit", "/submit", fields, result_pdf())
        result_id = submitted.path.split("/")[2]
        found = await person.get("/results?applicant=đỗ thị ấn")
        assert f"/results/{result_id}" in found.text
        await wait_for_state(console, result_id, "delivered")
        again = await person.submit(
            f"/results/{result_id}/resend",
            f"/results/{result_id}/resend",
            {"email": fields["applicant.email"].upper()},
        )
        assert again.path == f"/results/{result_id}"
    details = await query(
        console.database_url,
        "SELECT detail FROM result_events WHERE result_id = :i AND state = 'resend'",
        i=result_id,
    )
    assert details == [("delivery requested again",)]  # no "corrected address" recorded
