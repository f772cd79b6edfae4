"""Lookup by dossier code for the portal, and the applicant's own download with the access code.

``GET /api/v1/lookup/{dossier_code}``: without a code, the status only
(resolved or not, the day, the procedure, the agency; nothing personal).
With ``X-Access-Code``: the result's details and its download link;
``GET /api/v1/lookup/{dossier_code}/document`` with the code gives the
signed PDF as issued. A revoked result says so and gives no document.

Guessing is counted per client, never per dossier (``verifier.guesses``):
a stranger's wrong codes cost that stranger, not the applicant. A result
not meant for publication looks like no result until its code opens it,
and a dossier without any access code costs a guess the same time as one
with. The code tried is never logged.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aiohttp import web
from jinja2 import Environment
from sqlalchemy import Connection, select

from plumbing.masking import public_name
from plumbing.vietnam import VIETNAM_TIME
from plumbing.web.forms import read_form
from plumbing.web.problems import Problem
from plumbing.web.security import ClientAddress, too_many_requests
from registry.access import DERIVED, check_code, check_nothing
from registry.blobs import BlobStore
from registry.database import Database
from registry.results import ResultRecord
from registry.schema import results
from registry.states import ResultState
from verifier.fresh import Fresh
from verifier.guesses import Guesses
from verifier.query import DOSSIER_CODE, MAX_TYPED, typed_dossier_code
from verifier.site import frame, language
from verifier.texts import REASONS, TEXTS

log = logging.getLogger(__name__)
HEADER = "X-Access-Code"
MAX_CODE = 64  # the longest code the signer accepts: a longer one is cut before hashing


def _dossier_results(conn: Connection, dossier_code: str) -> list[ResultRecord]:
    query = (
        select(results)
        .where(results.c.dossier_code == dossier_code)
        .order_by(results.c.result_no.desc())
    )
    return [ResultRecord.from_row(row) for row in conn.execute(query)]


def _status(
    dossier_code: str, found: list[ResultRecord], *, unlocked: bool = False
) -> dict[str, Any]:
    """What anyone may know of a dossier: whether it has a result, when, which procedure.

    A result not meant for publication (``"publish": false``) looks like no result at
    all until its access code opens it: not even its existence is public.
    """
    standing = next((r for r in found if r.state.issued or r.state is ResultState.REVOKED), None)
    if standing is None or not (standing.publish or unlocked):
        return {"dossier_code": dossier_code, "status": "no_result"}
    metadata = json.loads(standing.metadata_json)
    return {
        "dossier_code": dossier_code,
        "status": "revoked" if standing.state is ResultState.REVOKED else "resolved",
        "resolved_on": standing.resolved_at.astimezone(VIETNAM_TIME).date().isoformat(),
        "procedure": metadata["procedure"]["name"],
        "agency": metadata["agency"]["name"],
    }


def _details(result: ResultRecord, current: ResultRecord | None) -> dict[str, Any]:
    metadata = json.loads(result.metadata_json)
    revoked = result.state is ResultState.REVOKED
    return {
        "result_code": result.result_code,
        "state": result.state.value,
        "applicant": public_name(
            str(metadata["applicant"]["name"]), metadata["applicant"].get("kind", "person")
        ),
        "signed_at": (
            result.signed_at.astimezone(VIETNAM_TIME).isoformat() if result.signed_at else None
        ),
        "verification_url": result.seal_url,
        "document_number": metadata.get("document_number"),
        "revocation_code": result.revocation_code,
        "current": current.seal_url if current is not None and current is not result else None,
        "document": None
        if revoked or result.signed_sha256 is None
        else f"/api/v1/lookup/{result.dossier_code}/document",
    }


def _standing_for(opened: ResultRecord, found: list[ResultRecord]) -> ResultRecord:
    """What the applicant holding ``opened``'s code is shown: a corrected result leads to the
    result that replaced it (the same dossier, the same applicant); anything else is itself."""
    if opened.state is ResultState.SUPERSEDED:
        current = next((r for r in found if r.state.issued), None)
        if current is not None:
            return current
    return opened


def _page_state(public: dict[str, Any], opened: ResultRecord | None) -> str:
    """Which page a dossier gets: no_result, resolved, revoked, or superseded (code holders)."""
    if opened is not None and opened.state in (ResultState.SUPERSEDED, ResultState.REVOKED):
        return opened.state.value
    return str(public["status"])


def _day(moment: datetime | None) -> str | None:
    return moment.astimezone(VIETNAM_TIME).date().isoformat() if moment is not None else None


@dataclass(frozen=True, slots=True)
class Portal:
    db: Database
    blobs: BlobStore | None
    env: Environment | None = None
    statuses: Fresh[dict[str, Any]] = field(default_factory=Fresh)
    clients: ClientAddress = field(default_factory=ClientAddress)
    guesses: Guesses = field(default_factory=Guesses)
    # scrypt is tens of milliseconds of a core: a few checks at a time, the rest wait
    checking: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(4))
    # the access-code key: a generated code is checked by deriving it again (None: it opens
    # nothing, as when the key is not deployed beside the verifier)
    access_secret: bytes | None = field(default=None, repr=False)

    async def lookup(self, request: web.Request) -> web.Response:
        if HEADER not in request.headers:  # the status alone: the same for everyone, a second
            dossier_code = self._dossier_code(request)
            status = await self.statuses.get(dossier_code, lambda: self._status(dossier_code))
            return web.json_response(status, headers=_PRIVATE)
        dossier_code, found = await self._found(request)
        result = await self._unlocked(request, dossier_code, found, request.headers[HEADER])
        current = next((r for r in found if r.state.issued), None)
        body = {**_status(dossier_code, found, unlocked=True), **_details(result, current)}
        return web.json_response(body, headers=_PRIVATE)

    async def document(self, request: web.Request) -> web.Response:
        dossier_code, found = await self._found(request)
        if HEADER not in request.headers:
            raise Problem(
                401,
                "access-code-required",
                "Access code required",
                f"send the access code in {HEADER}",
                field=HEADER,
            )
        result = await self._unlocked(request, dossier_code, found, request.headers[HEADER])
        return await self._pdf(result)

    async def _pdf(self, result: ResultRecord) -> web.Response:
        if not result.state.issued or result.signed_sha256 is None:
            raise Problem(
                409,
                "not-available",
                "No document",
                f"the result is {result.state.value}: no document is given out",
            )
        if self.blobs is None:
            raise Problem(503, "unavailable", "Service unavailable", "no document store here")
        pdf = await self.blobs.get(result.signed_sha256)
        return web.Response(
            body=pdf,
            content_type="application/pdf",
            headers={
                **_PRIVATE,
                "Content-Disposition": f'attachment; filename="{result.result_code}.pdf"',
            },
        )

    @staticmethod
    def _dossier_code(request: web.Request) -> str:
        # typed by people: any case, spaces around it
        dossier_code = typed_dossier_code(request.match_info["dossier_code"][:MAX_TYPED])
        if not DOSSIER_CODE.fullmatch(dossier_code):
            raise Problem(
                400,
                "bad-request",
                "Bad request",
                "not a dossier code (agency-YYMMDD-NNNN)",
                field="dossier_code",
            )
        return dossier_code

    async def _status(self, dossier_code: str) -> dict[str, Any]:
        return _status(dossier_code, await self.db.read(_dossier_results, dossier_code))

    async def _found(self, request: web.Request) -> tuple[str, list[ResultRecord]]:
        dossier_code = self._dossier_code(request)
        return dossier_code, await self.db.read(_dossier_results, dossier_code)

    # -- the page: what the e-mail links to; a form, no script -------------------------------

    async def page(self, request: web.Request) -> web.Response:
        dossier_code, found = await self._found(request)
        code = ""
        if request.method == "POST":
            code = (await read_form(request)).get("ma", "").strip()
        return await self._answer(request, dossier_code, found, code)

    async def _answer(
        self, request: web.Request, dossier_code: str, found: list[ResultRecord], code: str
    ) -> web.Response:
        """The dossier's page; with a code, what it opens (a wrong code: the page, saying so)."""
        opened, wrong = None, False
        if code:
            try:
                opened = await self._unlocked(request, dossier_code, found, code)
            except Problem as problem:
                if problem.status != 403:
                    raise
                wrong = True
        return self._render(request, dossier_code, found, opened, code, wrong)

    async def page_document(self, request: web.Request) -> web.Response:
        """The download button's target: the result the code opens, or the one replacing it."""
        dossier_code, found = await self._found(request)
        code = (await read_form(request)).get("ma", "").strip()
        opened = await self._unlocked(request, dossier_code, found, code)
        return await self._pdf(_standing_for(opened, found))

    def _render(
        self,
        request: web.Request,
        dossier_code: str,
        found: list[ResultRecord],
        opened: ResultRecord | None,
        code: str,
        wrong: bool,
        *,
        status: int = 200,
    ) -> web.Response:
        assert self.env is not None
        lang = language(request)
        public = _status(dossier_code, found, unlocked=opened is not None)
        shown = _standing_for(opened, found) if opened is not None else None
        values = {
            "status": public,
            "state": _page_state(public, opened),
            "opened": _details(opened, None) if opened is not None else None,
            "details": _details(shown, None) if shown is not None else None,
            "replaced_on": _day(shown.signed_at) if shown is not None else None,
            "revoked_on": _day(opened.updated_at) if opened is not None else None,
            "downloadable": shown is not None and shown.state.issued and bool(shown.signed_sha256),
            "code": code if opened is not None else "",
            "wrong": wrong,
            "reasons": REASONS[lang],
        }
        html = self.env.get_template("lookup.html.j2").render(frame(request, lang) | values)
        return web.Response(status=status, text=html, content_type="text/html", headers=_PRIVATE)

    # -- the front door and the lookup form -------------------------------------------------

    async def home(self, request: web.Request) -> web.Response:
        assert self.env is not None
        html = self.env.get_template("home.html.j2").render(frame(request, language(request)))
        return web.Response(
            text=html,
            content_type="text/html",
            headers={"Cache-Control": "public, max-age=300", "Vary": "Accept-Language, Cookie"},
        )

    async def start(self, request: web.Request) -> web.Response:
        """``/tra-cuu``: the form; posted, the dossier it names (with the code, if given)."""
        assert self.env is not None
        lang = language(request)
        if request.method != "POST":  # GET, HEAD
            html = self.env.get_template("lookup_start.html.j2").render(
                frame(request, lang) | {"problem": None}
            )
            return web.Response(text=html, content_type="text/html", headers=_PRIVATE)
        form = await read_form(request)
        typed = form.get("ma_ho_so", "")[:MAX_TYPED]
        dossier_code = typed_dossier_code(typed)
        if not DOSSIER_CODE.fullmatch(dossier_code):
            html = self.env.get_template("lookup_start.html.j2").render(
                frame(request, lang)
                | {"problem": TEXTS[lang]["dossier_not_a_code"], "dossier_value": typed}
            )
            return web.Response(status=400, text=html, content_type="text/html", headers=_PRIVATE)
        found = await self.db.read(_dossier_results, dossier_code)
        return await self._answer(request, dossier_code, found, form.get("ma", "").strip())

    async def _unlocked(
        self, request: web.Request, dossier_code: str, found: list[ResultRecord], code: str
    ) -> ResultRecord:
        """The result the access code opens; 429 while this client waits, 403 for a wrong code."""
        client = self.clients.of(request)
        wait = self.guesses.wait(client)
        if wait > 0:
            raise too_many_requests(wait, "too many wrong access codes from this address")
        code = code.strip()[:MAX_CODE]
        candidates = [r for r in found if r.access_hash]
        async with self.checking:
            if not candidates:
                await asyncio.to_thread(check_nothing, code)
            for result in candidates:
                stored = result.access_hash or ""
                if stored == DERIVED:  # an HMAC again: microseconds, on the loop
                    opened = check_code(
                        code, stored, secret=self.access_secret, result_id=result.id
                    )
                else:  # the applicant's own code: scrypt, in a thread
                    opened = await asyncio.to_thread(check_code, code, stored)
                if opened:
                    self.guesses.succeeded(client)
                    return result
        self.guesses.failed(client, dossier_code)
        # what was tried stays out of the log; who tried, and for which dossier, goes in
        log.info("wrong access code for dossier %s from %s", dossier_code, client)
        raise Problem(
            403,
            "access-denied",
            "Access denied",
            "the access code does not open a result of this dossier",
            field=HEADER,
        )


_PRIVATE = {"Cache-Control": "no-store"}
