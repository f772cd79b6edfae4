"""``ketqua results list|show|revoke|resend``: the operator's view of results, in a terminal.

Two ways in, one output. By default the registry of the home folder
(``--home``/``--config``), as the person at the machine (the history names
``cli:<user>``); with ``--signer URL --api-key-file FILE``, a running
signer's API, as that key. Either way a result is shown as the API shows it
(``signer.api.representation``): a table for people, ``--json`` for scripts.
A result is named by its id, its result code (``...-KQ2``) or its dossier
code (the dossier's latest result).
"""

from __future__ import annotations

import getpass
import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote

from plumbing.errors import InputError, KetquaError
from plumbing.formats import moment
from plumbing.terms import TERMS
from plumbing.vietnam import VIETNAM_TIME, normalised_code

TIMEOUT = 30.0  # seconds for one call to a signer
_STATES = (
    "queued",
    "signing",
    "signed",
    "published",
    "delivered",
    "failed",
    "revoked",
    "superseded",
)
_DELIVERY = ("pending", "sent", "failed")

WORDS = {
    "vi": {
        "state": "Tình trạng",
        "email": "Thư điện tử",
        "created": "Tiếp nhận lúc",
        "none": "Không có kết quả nào.",
        "more": "Còn nữa: thêm --after {after}",
        "history": "Lịch sử",
        "deliveries": "Gửi thư",
    },
    "en": {
        "state": "State",
        "email": "E-mail",
        "created": "Accepted at",
        "none": "No results.",
        "more": "More: add --after {after}",
        "history": "History",
        "deliveries": "Deliveries",
    },
}


@dataclass(frozen=True, slots=True)
class Filters:
    state: str | None = None
    delivery: str | None = None
    dossier_code: str | None = None
    first: date | None = None
    last: date | None = None
    limit: int = 50
    after: str | None = None

    def query(self) -> dict[str, str]:
        """As the API's query parameters."""
        pairs = {
            "state": self.state,
            "delivery": self.delivery,
            "dossier_code": self.dossier_code,
            "from": self.first.isoformat() if self.first else None,
            "to": self.last.isoformat() if self.last else None,
            "limit": str(self.limit),
            "after": self.after,
        }
        return {k: v for k, v in pairs.items() if v is not None}


class Backend(Protocol):
    async def list(self, filters: Filters) -> dict[str, Any]: ...
    async def show(self, named: str) -> dict[str, Any]: ...
    async def revoke(self, named: str, code: str, reason: str | None) -> dict[str, Any]: ...
    async def resend(self, named: str, email: str | None) -> dict[str, Any]: ...
    async def close(self) -> None: ...


class Registry:
    """The home folder's registry, read and changed in place."""

    def __init__(self, settings: Any) -> None:
        from registry.database import open_database

        self.settings = settings
        self.db = open_database(settings.database)
        self.actor = f"cli:{getpass.getuser()}"
        self.domain = settings.sender_address.rpartition("@")[2]

    async def close(self) -> None:
        await self.db.close()

    async def _agencies(self) -> tuple[str, ...]:
        from sqlalchemy import select

        from registry.schema import results

        def read(conn: Any) -> tuple[str, ...]:
            return tuple(conn.execute(select(results.c.agency_code).distinct()).scalars())

        return await self.db.read(read)

    async def list(self, filters: Filters) -> dict[str, Any]:
        from registry import outbox, results
        from signer.api.representation import summary

        agencies = await self._agencies()
        start = datetime.combine(filters.first, time(), VIETNAM_TIME) if filters.first else None
        end = (
            datetime.combine(filters.last, time(), VIETNAM_TIME) + timedelta(days=1)
            if filters.last
            else None
        )

        def read(conn: Any) -> tuple[list[Any], dict[str, dict[str, int]]]:
            found = results.page(
                conn,
                state=None if filters.state is None else _state(filters.state),
                after=filters.after,
                limit=filters.limit + 1,
                agencies=agencies,
                dossier_code=filters.dossier_code,
                delivery=filters.delivery,
                start=start,
                end=end,
            )
            return found, outbox.summaries(conn, [r.id for r in found[: filters.limit]])

        found, delivered = await self.db.read(read)
        items = found[: filters.limit]
        more = items[-1].id if len(found) > filters.limit else None
        return {"items": [summary(r, delivered[r.id]) for r in items], "after": more}

    async def _find(self, named: str) -> Any:
        from registry import results

        agencies = await self._agencies()

        def read(conn: Any) -> Any:
            if len(named) == 26 and named.isalnum():
                found = results.get(conn, named.upper())
                if found is not None:
                    return found
            code = normalised_code(named)
            dossier, _, number = code.rpartition("-KQ")
            if dossier and number.isdigit():
                return results.find(conn, dossier, int(number))
            latest = results.page(
                conn, state=None, after=None, limit=1000, agencies=agencies, dossier_code=code
            )
            return latest[-1] if latest else None

        found = await self.db.read(read)
        if found is None:
            raise InputError(f"no result {named!r} in this registry", field="result")
        return found

    async def show(self, named: str) -> dict[str, Any]:
        return await self._detail((await self._find(named)).id)

    async def _detail(self, result_id: str) -> dict[str, Any]:
        from registry import outbox, results
        from signer.api.representation import detail

        def read(conn: Any) -> dict[str, Any]:
            fresh = results.get(conn, result_id)
            assert fresh is not None
            return detail(
                fresh, results.events(conn, result_id), outbox.for_result(conn, result_id)
            )

        return await self.db.read(read)

    async def revoke(self, named: str, code: str, reason: str | None) -> dict[str, Any]:
        from registry.states import ResultState, RevocationReason
        from signer import actions

        result = await self._find(named)
        if result.state is not ResultState.REVOKED:
            await self.db.write(
                actions.revoke, result, RevocationReason(code), reason, self.actor, self.domain
            )
        return await self._detail(result.id)

    async def resend(self, named: str, email: str | None) -> dict[str, Any]:
        from signer import actions

        result = await self._find(named)
        actions.check_resend(result, email)
        free_at = await actions.resends_free_at(self.db, result, datetime.now(UTC))
        if free_at is not None:
            raise KetquaError(
                f"result {result.result_code} was sent again too often within the hour; "
                f"try after {moment(free_at)}"
            )
        await self.db.write(actions.resend, result, self.domain, self.actor, email)
        return await self._detail(result.id)


class Signer:
    """A running signer's API, with an API key."""

    def __init__(self, url: str, key: str) -> None:
        import aiohttp

        self.url = url.rstrip("/")
        self.session = aiohttp.ClientSession(
            headers={"Authorization": f"Bearer {key}"},
            timeout=aiohttp.ClientTimeout(total=TIMEOUT),
        )

    async def close(self) -> None:
        await self.session.close()

    async def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        import aiohttp

        try:
            async with self.session.request(method, self.url + path, **kwargs) as response:
                body = await response.json(content_type=None)
                if response.status >= 400:
                    detail = body.get("detail") if isinstance(body, dict) else None
                    message = f"the signer answered {response.status}: {detail or response.reason}"
                    if response.status in (400, 404, 409, 422):
                        raise InputError(message, field=body.get("field"))
                    raise KetquaError(message)
                return body
        except (aiohttp.ClientError, TimeoutError, json.JSONDecodeError) as exc:
            raise KetquaError(f"cannot reach the signer at {self.url}: {exc}") from exc

    async def list(self, filters: Filters) -> dict[str, Any]:
        body = await self._call("GET", "/api/v1/results", params=filters.query())
        items = body["items"]
        return {"items": items, "after": items[-1]["id"] if body.get("next") else None}

    async def _id(self, named: str) -> str:
        if len(named) == 26 and named.isalnum():
            return named.upper()
        code = normalised_code(named)
        dossier, _, number = code.rpartition("-KQ")
        found = (
            await self._call(
                "GET", "/api/v1/results", params={"dossier_code": dossier or code, "limit": "200"}
            )
        )["items"]
        if dossier and number.isdigit():
            found = [r for r in found if r["result_no"] == int(number)]
        if not found:
            raise InputError(f"no result {named!r} at this signer", field="result")
        return str(found[-1]["id"])

    async def show(self, named: str) -> dict[str, Any]:
        result_id = await self._id(named)
        body: dict[str, Any] = await self._call("GET", f"/api/v1/results/{quote(result_id)}")
        return body

    async def revoke(self, named: str, code: str, reason: str | None) -> dict[str, Any]:
        result_id = await self._id(named)
        payload = {"reason_code": code} | ({"reason": reason} if reason else {})
        body: dict[str, Any] = await self._call(
            "POST", f"/api/v1/results/{quote(result_id)}/revoke", json=payload
        )
        return body

    async def resend(self, named: str, email: str | None) -> dict[str, Any]:
        result_id = await self._id(named)
        payload = {"email": email} if email else None
        body: dict[str, Any] = await self._call(
            "POST", f"/api/v1/results/{quote(result_id)}/resend", json=payload
        )
        return body


def _state(value: str) -> Any:
    from registry.states import ResultState

    return ResultState(value)


def _day(value: str | None, name: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InputError("must be a day, YYYY-MM-DD", field=name) from None


def filters_of(args: Any) -> Filters:
    if args.state is not None and args.state not in _STATES:
        raise InputError(f"must be one of {', '.join(_STATES)}", field="state")
    if args.delivery is not None and args.delivery not in _DELIVERY:
        raise InputError(f"must be one of {', '.join(_DELIVERY)}", field="delivery")
    if not 1 <= args.limit <= 200:
        raise InputError("must be from 1 to 200", field="limit")
    return Filters(
        state=args.state,
        delivery=args.delivery,
        dossier_code=normalised_code(args.dossier) if args.dossier else None,
        first=_day(args.first, "from"),
        last=_day(args.last, "to"),
        limit=args.limit,
        after=args.after,
    )


def backend(args: Any, settings: Any) -> Backend:
    if args.signer is None:
        return Registry(settings)
    if args.api_key_file is None:
        raise InputError(
            "--signer needs --api-key-file (the key, alone in a file)", field="signer"
        )
    try:
        key = Path(args.api_key_file).read_text().strip()
    except OSError as exc:
        raise InputError(
            f"cannot read {args.api_key_file}: {exc.strerror}", field="api_key_file"
        ) from exc
    return Signer(args.signer, key)


async def run(args: Any, settings: Any, lang: str) -> None:
    """The command, printed to standard output."""
    chosen = backend(args, settings)
    try:
        if args.results_command == "list":
            page = await chosen.list(filters_of(args))
            out = page if args.json else table(page, lang)
        elif args.results_command == "show":
            shown = await chosen.show(args.result)
            out = shown if args.json else story(shown, lang)
        elif args.results_command == "revoke":
            shown = await chosen.revoke(args.result, args.reason_code, args.reason)
            out = shown if args.json else story(shown, lang)
        else:
            email = None
            if args.email is not None:
                from signer.actions import email_address

                email = email_address(args.email)
            shown = await chosen.resend(args.result, email)
            out = shown if args.json else story(shown, lang)
    finally:
        await chosen.close()
    if isinstance(out, str):
        print(out)
    else:
        json.dump(out, sys.stdout, ensure_ascii=False, indent=2)
        print()


def _when(value: str | None) -> str:
    return moment(datetime.fromisoformat(value)) if value else ""


def table(page: Mapping[str, Any], lang: str) -> str:
    words = WORDS[lang]
    rows = [
        (
            TERMS["result_code"](lang),
            words["state"],
            words["email"],
            words["created"],
            "id",
        )
    ]
    for item in page["items"]:
        d = item["delivery"]
        mail = f"{d['sent']}/{d['pending']}/{d['failed']}" if any(d.values()) else "-"
        rows.append(
            (item["result_code"], item["state"], mail, _when(item["created_at"]), item["id"])
        )
    if len(rows) == 1:
        return words["none"]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    if page.get("after"):
        lines.append(words["more"].format(after=page["after"]))
    return "\n".join(lines)


def story(shown: Mapping[str, Any], lang: str) -> str:
    """A result as the desk reads it: what it is, its state, its history, its e-mails."""
    words = WORDS[lang]
    lines = [
        f"{TERMS['result_code'](lang)}: {shown['result_code']}",
        f"{TERMS['dossier_code'](lang)}: {shown['dossier_code']}",
        f"{words['state']}: {shown['state']}",
        f"id: {shown['id']}",
    ]
    if shown.get("verification_url"):
        lines.append(f"{TERMS['qr_seal'](lang)}: {shown['verification_url']}")
    d = shown["delivery"]
    lines.append(
        f"{words['email']}: sent {d['sent']}, pending {d['pending']}, failed {d['failed']}"
    )
    lines.append(f"{words['history']}:")
    for event in shown["events"]:
        detail = f" - {event['detail']}" if event.get("detail") else ""
        who = event.get("actor_name") or event["actor"]
        lines.append(f"  {_when(event['at'])}  {event['state']}{detail}  ({who})")
    if shown["deliveries"]:
        lines.append(f"{words['deliveries']}:")
        for item in shown["deliveries"]:
            lines.append(f"  {item['recipient']}  {item['state']}  {item['kind']}")
            for attempt in item["attempts"]:
                lines.append(
                    f"    {_when(attempt['at'])}  {attempt['outcome']}  {attempt['reply']}"
                )
    return "\n".join(lines)
