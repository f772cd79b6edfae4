"""Submitting a result through a form, correcting one, and registering one signed elsewhere.

The form's fields are named as the metadata's (``applicant.email``,
``procedure.code``...), so the API's validation (``signer.metadata``) names
the field at fault and the page shows its error right under it. Times are
typed ``dd/mm/yyyy hh:mm`` in Vietnam time (a date picker's
``yyyy-mm-ddThh:mm`` is read too). The submission goes through the API's
own intake (``signer.api.intake.accept``): the same checks, the same
idempotence, the same job. A correction is prefilled from the current
result and keeps its dossier code and its received and due times; the
intake gives it the dossier's next result number. A document already signed
is checked and registered (``console.imports``), not signed again.
"""

from __future__ import annotations

import asyncio
import json
import re
from datetime import datetime
from typing import Any

from aiohttp import web

from console.auth import checked, staff_page
from console.context import CONSOLE, SESSION
from console.imports import import_signed
from console.pages import render
from console.results import load
from plumbing.errors import KetquaError
from plumbing.vietnam import VIETNAM_TIME
from plumbing.web.multipart import read_parts, too_large
from plumbing.web.problems import Problem
from registry.results import ResultRecord, highest_result_no
from registry.staff import Action
from signer.api.intake import accept
from signer.metadata import ResultMetadata, checked_metadata

TEXT_FIELDS = (
    "dossier_code",
    "result_no",
    "procedure.code",
    "procedure.name",
    "agency.name",
    "applicant.kind",
    "applicant.name",
    "applicant.email",
    "received_at",
    "due_at",
    "resolved_at",
    "document_number",
    "document_date",
)
BOXES = ("deliver.email", "publish", "signed")
FIELD_LIMIT = 1000
_TIME = re.compile(
    r"(\d{1,2})/(\d{1,2})/(\d{4})[ T,]+(\d{1,2})[:h](\d{2})|(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})"
)
_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})|(\d{4}-\d{2}-\d{2})")


def _iso_time(text: str) -> str | None:
    """``dd/mm/yyyy hh:mm`` (Vietnam time) as ISO 8601 with +07:00; None if it is not one."""
    match = _TIME.fullmatch(text.strip())
    if match is None:
        return None
    try:
        if match[1]:
            moment = datetime(
                int(match[3]), int(match[2]), int(match[1]), int(match[4]), int(match[5])
            )
        else:
            moment = datetime.fromisoformat(f"{match[6]}T{match[7]}")
    except ValueError:
        return None
    return moment.replace(tzinfo=VIETNAM_TIME).isoformat()


def _iso_date(text: str) -> str | None:
    match = _DATE.fullmatch(text.strip())
    if match is None:
        return None
    try:
        if match[1]:
            return datetime(int(match[3]), int(match[2]), int(match[1])).date().isoformat()
        return datetime.fromisoformat(match[4]).date().isoformat()
    except ValueError:
        return None


def typed_time(iso: str | None) -> str:
    """An ISO time as the form shows it: ``dd/mm/yyyy hh:mm`` in Vietnam time."""
    if not iso:
        return ""
    moment = datetime.fromisoformat(iso).astimezone(VIETNAM_TIME)
    return f"{moment:%d/%m/%Y %H:%M}"


def typed_date(iso: str | None) -> str:
    return f"{datetime.fromisoformat(iso):%d/%m/%Y}" if iso else ""


def metadata_of(fields: dict[str, str], agency_code: str) -> tuple[dict[str, Any], dict[str, str]]:
    """The metadata the form describes (as the API's JSON), and the fields it could not read."""
    errors: dict[str, str] = {}
    try:
        number = int(fields.get("result_no", "1") or "1")
    except ValueError:
        number = 0
        errors["result_no"] = "must be a whole number from 1 to 999"
    times: dict[str, str] = {}
    for name in ("received_at", "due_at", "resolved_at"):
        iso = _iso_time(fields.get(name, ""))
        if iso is None:
            errors[name] = "must be a time, dd/mm/yyyy hh:mm"
        else:
            times[name] = iso
    email = fields.get("applicant.email", "").strip()
    metadata: dict[str, Any] = {
        "dossier_code": fields.get("dossier_code", ""),
        "result_no": number,
        "procedure": {
            "code": fields.get("procedure.code", ""),
            "name": fields.get("procedure.name", ""),
        },
        "agency": {"code": agency_code, "name": fields.get("agency.name", "")},
        "applicant": {
            "name": fields.get("applicant.name", ""),
            "kind": fields.get("applicant.kind", "person"),
            **({"email": email} if email else {}),
        },
        **times,
        "deliver": {"email": "deliver.email" in fields},
        "publish": "publish" in fields,
    }
    if fields.get("document_number", "").strip():
        metadata["document_number"] = fields["document_number"]
    if fields.get("document_date", "").strip():
        day = _iso_date(fields["document_date"])
        if day is None:
            errors["document_date"] = "must be a day, dd/mm/yyyy"
        else:
            metadata["document_date"] = day
    if fields.get("supersedes"):
        metadata["supersedes"] = fields["supersedes"]
    return metadata, errors


async def _read(request: web.Request) -> tuple[dict[str, str], bytes]:
    """The form's fields and its document, once its CSRF token is the session's."""
    ctx = request.app[CONSOLE]
    limit = ctx.signer.max_document_bytes
    envelope = len(TEXT_FIELDS + BOXES) * (FIELD_LIMIT + 200) + 16 * 1024
    if request.content_length is not None and request.content_length > limit + envelope:
        raise too_large("document", limit)
    limits = {name: FIELD_LIMIT for name in (*TEXT_FIELDS, *BOXES)} | {
        "csrf": 200,
        "document": limit,
    }
    parts = await read_parts(
        request, limits, expected="the console's submit form", required=("csrf",)
    )
    checked(request[SESSION], parts)
    try:
        fields = {
            name: parts[name].decode("utf-8") for name in (*TEXT_FIELDS, *BOXES) if name in parts
        }
    except UnicodeDecodeError:
        raise Problem(400, "bad-form", "Bad form", "the form is not UTF-8") from None
    if any("\x00" in value for value in fields.values()):
        raise Problem(400, "bad-form", "Bad form", "the form holds a NUL character")
    return fields, parts.get("document", b"")


def _defaults(request: web.Request) -> dict[str, str]:
    ctx = request.app[CONSOLE]
    return {
        "result_no": "1",
        "agency.name": ctx.agency_name or "",
        "applicant.kind": "person",
        "deliver.email": "1",
        "publish": "1",
    }


@staff_page(Action.SUBMIT)
async def submit_form(request: web.Request) -> web.StreamResponse:
    return _page(request, _defaults(request), {})


def _page(
    request: web.Request,
    values: dict[str, str],
    errors: dict[str, str],
    *,
    status: int = 200,
    correcting: ResultRecord | None = None,
    next_code: str | None = None,
) -> web.Response:
    ctx = request.app[CONSOLE]
    return render(
        request,
        "submit.html.j2",
        status=status,
        values=values,
        errors=errors,
        correcting=correcting,
        next_code=next_code,
        max_mb=ctx.signer.max_document_bytes // (1024 * 1024),
        action=f"/results/{correcting.id}/correct" if correcting else "/submit",
    )


@staff_page(Action.SUBMIT)
async def submit(request: web.Request) -> web.StreamResponse:
    fields, document = await _read(request)
    return await _take(request, fields, document, None)


def _prefilled(result: ResultRecord) -> dict[str, str]:
    metadata = json.loads(result.metadata_json)
    applicant = metadata.get("applicant", {})
    values = {
        "dossier_code": result.dossier_code,
        "result_no": str(result.result_no),
        "procedure.code": metadata["procedure"]["code"],
        "procedure.name": metadata["procedure"]["name"],
        "agency.name": metadata["agency"]["name"],
        "applicant.kind": applicant.get("kind", "person"),
        "applicant.name": applicant.get("name", ""),
        "applicant.email": applicant.get("email") or "",
        "received_at": typed_time(metadata["received_at"]),
        "due_at": typed_time(metadata["due_at"]),
        "resolved_at": typed_time(datetime.now(VIETNAM_TIME).isoformat()),
        "document_number": metadata.get("document_number") or "",
        "document_date": typed_date(metadata.get("document_date")),
    }
    if metadata.get("deliver", {}).get("email", True):
        values["deliver.email"] = "1"
    if metadata.get("publish", True):
        values["publish"] = "1"
    return values


async def _next_code(request: web.Request, result: ResultRecord) -> str:
    db = request.app[CONSOLE].signer.db
    number = await db.read(highest_result_no, result.dossier_code) + 1
    return f"{result.dossier_code}-KQ{number}"


@staff_page(Action.CORRECT)
async def correct_form(request: web.Request) -> web.StreamResponse:
    result = await load(request)
    if not result.state.issued:
        raise Problem(
            409,
            "conflict",
            "Conflict",
            f"result {result.id} is {result.state.value}: only an issued result can be corrected",
        )
    return _page(
        request,
        _prefilled(result),
        {},
        correcting=result,
        next_code=await _next_code(request, result),
    )


@staff_page(Action.CORRECT)
async def correct(request: web.Request) -> web.StreamResponse:
    result = await load(request)
    fields, document = await _read(request)
    # what stays as on the dossier, whatever the form sent
    kept = _prefilled(result)
    for name in ("dossier_code", "received_at", "due_at", "result_no"):
        fields[name] = kept[name]
    fields["supersedes"] = result.id
    fields.pop("signed", None)  # a correction is signed by the service
    return await _take(request, fields, document, result)


async def _take(
    request: web.Request,
    fields: dict[str, str],
    document: bytes,
    correcting: ResultRecord | None,
) -> web.StreamResponse:
    ctx = request.app[CONSOLE]
    user = request[SESSION].user
    metadata_json, errors = metadata_of(fields, ctx.signer.agency_code)
    if not document:
        errors["document"] = "choose the PDF file"
    metadata: ResultMetadata | None = None
    if not errors:
        checked_ = checked_metadata(json.dumps(metadata_json, ensure_ascii=False))
        if isinstance(checked_, ResultMetadata):
            metadata = checked_
        else:
            for fault in checked_:
                errors.setdefault(fault.field or "metadata", fault.message)
    if metadata is not None:
        try:
            if "signed" in fields:
                trust = await _trust_list(request)
                imported = await import_signed(
                    ctx.signer.db,
                    ctx.signer.blobs,
                    document,
                    metadata,
                    trust,
                    actor=user.id,
                    run=ctx.signer.intake_pool.run,
                )
                raise web.HTTPSeeOther(f"/results/{imported.id}?done=imported")
            status, accepted = await accept(
                ctx.signer, metadata, document, actor=user.id, api_key_id=None
            )
            done = "accepted" if status == 202 else "again"
            raise web.HTTPSeeOther(f"/results/{accepted.id}?done={done}")
        except Problem as refusal:
            if refusal.status not in (409, 422) and refusal.field is None:
                raise
            errors[refusal.field or "document"] = refusal.detail or refusal.title
        except KetquaError as fault:
            errors[fault.field or "document"] = fault.message
    next_code = await _next_code(request, correcting) if correcting else None
    return _page(request, fields, errors, status=422, correcting=correcting, next_code=next_code)


async def _trust_list(request: web.Request) -> bytes:
    path = request.app[CONSOLE].trust_list
    return await asyncio.to_thread(path.read_bytes)
