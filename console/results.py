"""Finding a result and reading it: search, a result's page, its preview, its file, its slip.

Staff see what the public does not: the applicant's name and address in
full, every step of the history with who took it, every e-mail with each
attempt and the mail server's reply. The preview is the signed document's
last page (the seal and the verification block) rendered in the intake's
process pool. The desk slip is an A5 page for the applicant: the dossier
code, the access code (a generated one is recomputed from the access-code
key, never stored in clear) and a QR code leading to the lookup page.
"""

from __future__ import annotations

import asyncio
import io
import json
import unicodedata
from datetime import UTC, datetime, time, timedelta
from typing import Any

import segno
from aiohttp import web
from sqlalchemy import Connection

from console.auth import staff_page
from console.context import CONSOLE
from console.pages import render
from plumbing.errors import Conflict, NotFound
from plumbing.vietnam import VIETNAM_TIME, normalised_code
from plumbing.web.problems import Problem
from registry import backoffice, outbox, results
from registry.access import derive_code, is_generated
from registry.backoffice import Search
from registry.ids import looks_like_id
from registry.outbox import Delivery
from registry.results import ResultEvent, ResultRecord
from registry.states import DeliveryState, ResultState
from verifier.query import day

PAGE = 25
PREVIEW_WIDTH = 620  # pixels: the page's width on the result page, sharp enough to read


def _search(query: Any) -> tuple[Search, dict[str, str]]:
    kept: dict[str, str] = {}
    if any("\x00" in value for value in query.values()):
        raise Problem(400, "bad-request", "Bad request", "a NUL character in the query")
    dossier = normalised_code(query.get("dossier_code", "")[:40]) or None
    typed = unicodedata.normalize("NFC", query.get("applicant", ""))  # as names are kept
    applicant = " ".join(typed.split())[:100] or None
    state = None
    if query.get("state"):
        try:
            state = ResultState(query["state"])
        except ValueError:
            raise Problem(
                400, "bad-request", "Bad request", "no such state", field="state"
            ) from None
    delivery = None
    if query.get("delivery"):
        try:
            delivery = DeliveryState(query["delivery"])
        except ValueError:
            raise Problem(
                400, "bad-request", "Bad request", "no such delivery state", field="delivery"
            ) from None
    # the portal's own reading of a day (dd/mm/yyyy or YYYY-MM-DD, the registry's years);
    # a field left empty in the form is no filter
    days = {name: query[name] for name in ("from", "to") if query.get(name)}
    first, last = day(days, "from"), day(days, "to")
    start = datetime.combine(first, time(), VIETNAM_TIME) if first else None
    end = datetime.combine(last, time(), VIETNAM_TIME) + timedelta(days=1) if last else None
    for name in ("dossier_code", "applicant", "state", "delivery", "from", "to"):
        if query.get(name):
            kept[name] = query[name][:100]
    return Search(dossier, applicant, state, delivery, start, end), kept


@staff_page()
async def search(request: web.Request) -> web.StreamResponse:
    ctx = request.app[CONSOLE]
    narrowed, kept = _search(request.query)
    before = request.query.get("before")
    if before is not None and not looks_like_id(before):
        raise Problem(
            400, "bad-request", "Bad request", "before must be a result id", field="before"
        )
    agencies = (ctx.signer.agency_code,)

    def read(conn: Connection) -> tuple[list[ResultRecord], dict[str, dict[str, int]]]:
        found = backoffice.search(conn, agencies, narrowed, before, PAGE + 1)
        return found, outbox.summaries(conn, [r.id for r in found[:PAGE]])

    found, summaries = await ctx.signer.db.read(read)
    items = found[:PAGE]
    next_url = None
    if len(found) > PAGE:
        next_url = str(request.rel_url.with_query({**kept, "before": items[-1].id}))
    return render(
        request,
        "results.html.j2",
        items=[(r, _applicant(r), summaries[r.id]) for r in items],
        query=kept,
        next_url=next_url,
        paged=before is not None,
        request_first=str(request.rel_url.with_query(kept)),
        states=[s.value for s in ResultState],
        deliveries=[s.value for s in DeliveryState],
    )


def _applicant(result: ResultRecord) -> dict[str, Any]:
    metadata = json.loads(result.metadata_json)
    applicant: dict[str, Any] = metadata.get("applicant", {})
    return applicant


async def load(request: web.Request) -> ResultRecord:
    """The result the path names, if it is this agency's (else: not found)."""
    ctx = request.app[CONSOLE]
    result_id = request.match_info["id"]
    result = await ctx.signer.db.read(results.get, result_id) if looks_like_id(result_id) else None
    if result is None or result.agency_code != ctx.signer.agency_code:
        raise NotFound(f"no result {result_id!r}", field="id")
    return result


@staff_page()
async def show(request: web.Request) -> web.StreamResponse:
    ctx = request.app[CONSOLE]
    result = await load(request)

    def read(
        conn: Connection,
    ) -> tuple[list[ResultEvent], list[Delivery], ResultRecord | None, ResultRecord | None]:
        newer = results.get(conn, result.superseded_by) if result.superseded_by else None
        older = results.get(conn, result.supersedes) if result.supersedes else None
        return results.events(conn, result.id), outbox.for_result(conn, result.id), newer, older

    events, deliveries, newer, older = await ctx.signer.db.read(read)
    metadata = json.loads(result.metadata_json)
    return render(
        request,
        "result.html.j2",
        result=result,
        metadata=metadata,
        events=events,
        deliveries=deliveries,
        newer=newer,
        older=older,
        done=request.query.get("done"),
        max_mb=ctx.signer.max_document_bytes // (1024 * 1024),
    )


async def _signed(request: web.Request) -> tuple[ResultRecord, bytes]:
    result = await load(request)
    if result.signed_sha256 is None:
        raise Conflict(f"result {result.id} has no signed document yet (it is {result.state})")
    data = await request.app[CONSOLE].signer.blobs.get(result.signed_sha256)
    return result, data


def _unchanged(request: web.Request, result: ResultRecord) -> web.Response | None:
    etag = f'"{result.signed_sha256}"'
    if request.headers.get("If-None-Match") == etag:
        return web.Response(status=304, headers={"ETag": etag})
    return None


@staff_page()
async def document(request: web.Request) -> web.StreamResponse:
    result, data = await _signed(request)
    return web.Response(
        body=data,
        content_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{result.result_code}.pdf"',
            "Cache-Control": "no-store",
        },
    )


def render_last_page(data: bytes, width: int) -> bytes:
    """The last page as a PNG ``width`` pixels wide (runs in a worker process)."""
    import pypdfium2

    pdf = pypdfium2.PdfDocument(data)
    try:
        page = pdf[len(pdf) - 1]
        scale = width / page.get_width()
        image = page.render(scale=min(scale, 4.0)).to_pil()
        out = io.BytesIO()
        image.save(out, format="PNG", optimize=True)
        return out.getvalue()
    finally:
        pdf.close()


@staff_page()
async def preview(request: web.Request) -> web.StreamResponse:
    result = await load(request)
    if result.signed_sha256 is not None and (same := _unchanged(request, result)):
        return same
    result, data = await _signed(request)
    ctx = request.app[CONSOLE]
    png = await ctx.signer.intake_pool.run(render_last_page, data, PREVIEW_WIDTH)
    return web.Response(
        body=png,
        content_type="image/png",
        headers={"ETag": f'"{result.signed_sha256}"', "Cache-Control": "private, no-cache"},
    )


@staff_page()
async def slip(request: web.Request) -> web.StreamResponse:
    ctx = request.app[CONSOLE]
    result = await load(request)
    code: str | None = None
    own_code = False
    if result.access_hash is not None:
        if is_generated(result.access_hash) and ctx.access_secret is not None:
            code = derive_code(ctx.access_secret, result.id)
        else:
            own_code = True
    lookup = f"{ctx.public_url.rstrip('/')}/tra-cuu/{result.dossier_code}"
    qr = await asyncio.to_thread(segno.make, lookup, error="m")  # a mask search: milliseconds
    return render(
        request,
        "slip.html.j2",
        result=result,
        metadata=json.loads(result.metadata_json),
        access_code=code,
        own_code=own_code,
        lookup=lookup,
        portal=ctx.public_url.rstrip("/"),
        qr=qr.svg_inline(scale=4, omitsize=False, title=None),
        printed_at=datetime.now(UTC),
    )
