"""Reading results, their signed documents, and the operator's revoke and resend."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from aiohttp import web
from sqlalchemy import Connection

from plumbing.errors import Conflict, InputError, NotFound
from plumbing.vietnam import VIETNAM_TIME, normalised_code
from plumbing.web.problems import Problem
from plumbing.web.security import too_many_requests
from registry import outbox, results
from registry.database import Database
from registry.ids import looks_like_id
from registry.outbox import Delivery
from registry.results import ResultEvent, ResultRecord
from registry.states import (
    DeliveryState,
    ResultState,
    RevocationReason,
)
from signer import actions
from signer.api.context import API_KEY, SIGNER
from signer.api.representation import API, detail, summary

MAX_PAGE = 200


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
    narrowed = _narrowing(query)
    ctx = request.app[SIGNER]
    agencies = request[API_KEY].scope(ctx.agency_code)

    def read(conn: Connection) -> tuple[list[ResultRecord], dict[str, dict[str, int]]]:
        found = results.page(
            conn,
            state=state,
            after=after,
            limit=limit + 1,
            agencies=agencies,
            dossier_code=narrowed.dossier_code,
            delivery=narrowed.delivery,
            start=narrowed.start,
            end=narrowed.end,
        )
        return found, outbox.summaries(conn, [r.id for r in found[:limit]])

    found, delivered = await ctx.db.read(read)
    items = found[:limit]
    body: dict[str, Any] = {
        "items": [summary(r, delivered[r.id]) for r in items],
        "next": None,
    }
    if len(found) > limit:
        params = {"limit": str(limit), "after": items[-1].id}
        if state is not None:
            params["state"] = state.value
        params |= narrowed.params
        body["next"] = str(request.url.with_path(API).with_query(params).relative())
    return web.json_response(body)


@dataclass(frozen=True, slots=True)
class Narrowing:
    """The list's filters beyond ``state``: a dossier, a delivery state, days created."""

    dossier_code: str | None = None
    delivery: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    params: dict[str, str] = field(default_factory=dict)  # as given, for the next link


_DOSSIER = re.compile(r"[0-9A-Z.]{1,20}-\d{6}-\d{4}")
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def _narrowing(query: Mapping[str, str]) -> Narrowing:
    params: dict[str, str] = {}
    dossier_code = None
    if "dossier_code" in query:
        dossier_code = normalised_code(query["dossier_code"][:100])
        if not _DOSSIER.fullmatch(dossier_code):
            raise Problem(
                400,
                "bad-request",
                "Bad request",
                "dossier_code must be a dossier code like 000.00.14.H49-220301-0012",
                field="dossier_code",
            )
        params["dossier_code"] = dossier_code
    delivery = query.get("delivery")
    if delivery is not None:
        if delivery not in {s.value for s in DeliveryState}:
            choices = ", ".join(s.value for s in DeliveryState)
            raise Problem(
                400,
                "bad-request",
                "Bad request",
                f"delivery must be one of {choices}",
                field="delivery",
            )
        params["delivery"] = delivery
    days: dict[str, date] = {}
    for name in ("from", "to"):
        if name in query:
            try:
                if not _DAY.fullmatch(query[name]):
                    raise ValueError(query[name])
                days[name] = date.fromisoformat(query[name])
            except ValueError:
                raise Problem(
                    400,
                    "bad-request",
                    "Bad request",
                    f"{name} must be a day, YYYY-MM-DD",
                    field=name,
                ) from None
            params[name] = query[name]
    start = end = None
    if "from" in days:
        start = datetime.combine(days["from"], time(), VIETNAM_TIME)
    if "to" in days:
        end = datetime.combine(days["to"], time(), VIETNAM_TIME) + timedelta(days=1)
    return Narrowing(dossier_code, delivery, start, end, params)


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
    moved = await ctx.db.write(actions.revoke, result, code, reason, key.id, ctx.mail_domain)
    if not moved:  # a concurrent request changed it first: answer as for that state
        return await revoke_result(request)
    ctx.deliverer.wake()
    return await _detail(request, result)


async def _new_address(request: web.Request) -> str | None:
    """``{"email": "..."}``: deliver to this address from now on; no body: the same one."""
    if not request.can_read_body:
        return None
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise Problem(400, "bad-request", "Bad request", "the body is not JSON") from None
    if body is None or body == {}:
        return None
    if not isinstance(body, dict) or set(body) - {"email"}:
        raise Problem(
            422, "invalid", "Invalid input", 'send {"email": "..."} or nothing', field="email"
        )
    try:
        return actions.email_address(body.get("email"))
    except InputError:
        raise Problem(
            422, "invalid", "Invalid input", "must be an e-mail address", field="email"
        ) from None


async def refuse_too_many_resends(db: Database, result: ResultRecord) -> None:
    """429 with ``Retry-After`` once the result was sent again too often within the hour
    (no one may flood an applicant's inbox); the API's and the console's."""
    now = datetime.now(UTC)
    free_at = await actions.resends_free_at(db, result, now)
    if free_at is not None:
        raise too_many_requests(
            (free_at - now).total_seconds(),
            f"result {result.id} was sent again {actions.RESENDS_PER_WINDOW} times "
            "within the hour",
        )


async def resend_result(request: web.Request) -> web.Response:
    result = await _load(request)
    key = request[API_KEY]
    ctx = request.app[SIGNER]
    address = await _new_address(request)
    actions.check_resend(result, address)
    await refuse_too_many_resends(ctx.db, result)
    await ctx.db.write(actions.resend, result, ctx.mail_domain, key.id, address)
    ctx.deliverer.wake()
    return await _detail(request, await _load(request), status=202)
