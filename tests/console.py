"""A person at the console, as a browser without script acts: cookies, forms, redirects.

``StaffBrowser`` keeps its cookies (an aiohttp cookie jar that accepts
loopback addresses), reads each form's CSRF token from the page it came
from, and posts forms as a browser does (urlencoded, or multipart with a
file). It asks for HTML, as a browser does, so refusals come back as pages.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from yarl import URL

from tests.service import run_ketqua

TIMEOUT = aiohttp.ClientTimeout(total=60, sock_connect=5)
BROWSER = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8", "Accept-Language": "vi"}
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')
_PASSWORD = re.compile(r"^[0-9A-Z]{5}(?:-[0-9A-Z]{5}){3}$")


@dataclass
class Page:
    status: int
    url: str
    text: str
    headers: Any

    @property
    def path(self) -> str:
        return URL(self.url).path

    def csrf(self) -> str:
        found = _CSRF.search(self.text)
        assert found is not None, f"no form with a CSRF token on {self.url}"
        return found.group(1)

    @property
    def words(self) -> str:
        """The page's text without its tags (what a person reads)."""
        return html.unescape(" ".join(re.sub(r"<[^>]+>", " ", self.text).split()))


def add_user(home: Path, name: str, role: str, env: dict[str, str] | None = None) -> str:
    """``ketqua user add``: the account's initial password (its output's last line)."""
    done = run_ketqua(home, "user", "add", "--name", name, "--role", role, env=env)
    assert done.returncode == 0, done.stderr
    password = done.stdout.strip().splitlines()[-1]
    assert _PASSWORD.fullmatch(password), done.stdout
    return password


class StaffBrowser:
    def __init__(self, base: str) -> None:
        self.base = base.rstrip("/")
        self.session = aiohttp.ClientSession(
            timeout=TIMEOUT, cookie_jar=aiohttp.CookieJar(unsafe=True), headers=BROWSER
        )

    async def __aenter__(self) -> StaffBrowser:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.session.close()

    async def _page(self, response: aiohttp.ClientResponse) -> Page:
        body = await response.read()
        text = body.decode("utf-8", "replace")
        return Page(response.status, str(response.url), text, response.headers)

    async def get(self, path: str, **kwargs: Any) -> Page:
        async with self.session.get(self.base + path, **kwargs) as response:
            return await self._page(response)

    async def raw(self, path: str) -> tuple[int, bytes, Any]:
        async with self.session.get(self.base + path) as response:
            return response.status, await response.read(), response.headers

    async def post(self, path: str, fields: dict[str, str], **kwargs: Any) -> Page:
        async with self.session.post(self.base + path, data=fields, **kwargs) as response:
            return await self._page(response)

    async def submit(self, form_page: str, action: str, fields: dict[str, str]) -> Page:
        """Open ``form_page``, fill its form with ``fields`` and its CSRF token, post it."""
        page = await self.get(form_page)
        return await self.post(action, {"csrf": page.csrf(), **fields})

    async def upload(
        self, form_page: str, action: str, fields: dict[str, str], pdf: bytes | None
    ) -> Page:
        page = await self.get(form_page)
        form = aiohttp.FormData(default_to_multipart=True)
        form.add_field("csrf", page.csrf())
        for name, value in fields.items():
            form.add_field(name, value)
        if pdf is not None:
            form.add_field("document", pdf, filename="ket-qua.pdf", content_type="application/pdf")
        async with self.session.post(self.base + action, data=form) as response:
            return await self._page(response)

    async def login(self, username: str, password: str) -> Page:
        return await self.submit(
            "/login", "/login", {"username": username, "password": password, "next": "/"}
        )

    async def first_login(self, username: str, initial: str, own: str) -> Page:
        """Log in with the initial password and change it, as the console asks."""
        page = await self.login(username, initial)
        assert page.path == "/password", page.url
        return await self.submit(
            "/password", "/password", {"current": initial, "new": own, "again": own}
        )
