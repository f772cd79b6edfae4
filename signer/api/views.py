"""Reading results, their signed documents, and the operator's revoke and resend."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web
from sqlalchemy import Connection

from plumbing.errors import Conflict, NotFound
from plumbing.web.problems import Problem
from plumbing.web.security import too_many_requests
from registry import outbox, results
from registry.ids import looks_like_id
from registry.outbox import Delivery
from registry.results import ResultEvent, ResultRecord
from registry.states import DeliveryKind, EventKind, ResultState, RevocationReason
from signer.api.context import API_KEY, SIGNER
from signer.api.representation import API, detail, summary
from signer.delivery import queue_email, recipients

MAX_PAGE = 200
RESENDS_PER_WINDOW, RESEND_WINDOW = 3, timedelta(hours=1)


async def _load(request: web.Request) -> ResultRecord:
    """The result the path names, if this API key may act for its agency (else: not found,
    as if it did not exist: another agency's results are not this key's to know of)."""
    result_id = request.match_info["id"]
    ctx = request.app[SIGNER]
    result = None
    if looks_like_id(result_id):
        result = await ctx.db.read(results.get, result_id)
    if result is None or not request[API_KEY].may_act_for(result.agency_code, ctx.agency_code):
        raise NotFound(f"no result {result_id!r}", field="id")
    return result


async def _detail(request: web.Request, result: ResultRecord, status: int = 200) -> web.Response:
    fresh, events, deliveries = await request.app[SIGNER].db.read(_with_history, result.id)
    return web.json_response(detail(fresh, events, deliveries), status=status)


def _with_history(
    conn: Connection, result_id: str
) -> tuple[ResultRecord, list[ResultEvent], list[Delivery]]:
    fresh = results.get(conn, result_id)
    assert fresh is not None
    return fresh, results.events(conn, result_id), outbox.for_result(conn, result_id)


async def get_result(request: web.Request) -> web.Response:
    return await _detail(request, await _load(request))


async def get_document(request: web.Request) -> web.StreamResponse:
    result = await _load(request)
    if result.signed_sha256 is None:
        raise Conflict(f"result {result.id} has no signed document yet (it is {result.state})")
    etag = f'"{result.signed_sha256}"'
    if _etag_matches(request.headers.get("If-None-Match"), etag):
        return web.Response(status=304, headers={"ETag": etag})
    data = await request.app[SIGNER].blobs.get(result.signed_sha256)
    return web.Response(
        body=data,
        content_type="application/pdf",
        headers={
            "ETag": etag,
            "Content-Disposition": f'attachment; filename="{result.result_code}.pdf"',
        },
    )


def _etag_matches(header: str | None, etag: str) -> bool:
    """RFC 9110 If-None-Match: ``*`` or a list, compared weakly."""
    if header is None:
        return False
    tags = [tag.strip().removeprefix("W/") for tag in header.split(",")]
    return "*" in tags or etag in tags


async def list_results(request: web.Request) -> web.Response:
    query = request.query
    state: ResultState | None = None
    if "state" in query:
        try:
            state = ResultState(query["state"])
        except ValueError:
            choices = ", ".join(s.value for s in ResultState)
            raise Problem(
                400, "bad-request", "Bad request", f"state must be one of {choices}", field="state"
            ) from None
    try:
        limit = int(query.get("limit", "50"))
    except ValueError:
        limit = 0
    if not 1 <= limit <= MAX_PAGE:
        raise Problem(
            400,
            "bad-request",
            "Bad request",
            f"limit must be a whole number from 1 to {MAX_PAGE}",
            field="limit",
        )
    after = query.get("after")
    if after is not None and not looks_like_id(after):
        raise Problem(
            400, "bad-request", "Bad request", "after must be a result id", field="after"
        )
    ctx = request.app[SIGNER]
    agencies = request[API_KEY].scope(ctx.agency_code)
    found = await ctx.db.read(
        lambda conn: results.page(
            conn, state=state, after=after, limit=limit + 1, agencies=agencies
        )
    )
    items = found[:limit]
    body: dict[str, Any] = {"items": [summary(r) for r in items], "next": None}
    if len(found) > limit:
        params = {"limit": str(limit), "after": items[-1].id}
        if state is not None:
            params["state"] = state.value
        body["next"] = str(request.url.with_path(API).with_query(params).relative())
    return web.json_response(body)


async def _reason(request: web.Request) -> tuple[RevocationReason, str | None]:
    """The public reason (``reason_code``) and the clerk's own words (``reason``, internal)."""
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise Problem(
            400,
            "bad-request",
            "Bad request",
            'send JSON: {"reason_code": "issued_in_error", "reason": "..."}',
            field="reason_code",
        ) from None
    if not isinstance(body, dict):
        raise Problem(422, "invalid", "Invalid input", "send a JSON object", field="reason_code")
    code = body.get("reason_code")
    if code not in REASON_CODES:
        raise Problem(
            422,
            "invalid",
            "Invalid input",
            f"one of {', '.join(REASON_CODES)} is required",
            field="reason_code",
        )
    reason = body.get("reason")
    if reason is not None and not isinstance(reason, str):
        raise Problem(422, "invalid", "Invalid input", "must be text", field="reason")
    if reason is not None and len(reason) > 500:
        raise Problem(422, "invalid", "Invalid input", "at most 500 characters", field="reason")
    words = " ".join(reason.split()) if reason else ""
    return RevocationReason(code), words or None


REASON_CODES = tuple(r.value for r in RevocationReason)


async def revoke_result(request: web.Request) -> web.Response:
    result = await _load(request)
    code, reason = await _reason(request)
    key = request[API_KEY]
    ctx = request.app[SIGNER]
    if result.state is ResultState.REVOKED:
        return await _detail(request, result)  # already: the same answer again
    if result.state is ResultState.SUPERSEDED:
        raise Conflict(
            f"result {result.id} was corrected by {result.superseded_by}; revoke that one",
            field="id",
        )
    moved = await ctx.db.write(_revoke, result, code, reason, key.id, ctx.mail_domain)
    if not moved:  # a concurrent request changed it first: answer as for that state
        return await revoke_result(request)
    ctx.deliverer.wake()
    return await _detail(request, result)


def _revoke(
    conn: Connection,
    result: ResultRecord,
    code: RevocationReason,
    reason: str | None,
    actor: str,
    domain: str,
) -> bool:
    """Revoked, and (in the same transaction) a notice to whoever was sent the result."""
    moved = results.move(
        conn,
        result.id,
        ResultState.REVOKED,
        detail=f"{code.value}: {reason}" if reason else code.value,
        actor=actor,
        only_from=tuple(
            s for s in ResultState if s not in (ResultState.SUPERSEDED, ResultState.REVOKED)
        ),
        revoked_reason=reason,
        revocation_code=code.value,
    )
    if moved and result.signed_at is not None:  # signed: it may have reached the applicant
        queue_email(conn, result, domain=domain, actor=actor, kind=DeliveryKind.REVOCATION)
    return bool(moved)


async def resend_result(request: web.Request) -> web.Response:
    result = await _load(request)
    key = request[API_KEY]
    ctx = request.app[SIGNER]
    if not result.state.issued:
        raise Conflict(
            f"result {result.id} is {result.state}: only a signed result can be sent",
            field="id",
        )
    if not recipients(result):
        raise Conflict(
            f"result {result.id} asks for no email delivery (deliver.email is false)", field="id"
        )
    now = datetime.now(UTC)
    recent = await ctx.db.read(
        results.events_since, result.id, EventKind.RESEND, now - RESEND_WINDOW
    )
    if len(recent) >= RESENDS_PER_WINDOW:
        # a key must not be able to flood an applicant's inbox
        free_at = sorted(recent)[-RESENDS_PER_WINDOW] + RESEND_WINDOW
        raise too_many_requests(
            (free_at - now).total_seconds(),
            f"result {result.id} was sent again {len(recent)} times within the hour",
        )
    await ctx.db.write(_resend, result, ctx.mail_domain, key.id)
    ctx.deliverer.wake()
    return await _detail(request, result, status=202)


def _resend(conn: Connection, result: ResultRecord, domain: str, actor: str) -> None:
    # new deliveries (new Message-IDs): the earlier ones and their attempts stay as they were
    results.add_event(conn, result.id, EventKind.RESEND, "delivery requested again", actor)
    queue_email(conn, result, domain=domain, actor=actor)
