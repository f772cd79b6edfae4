"""Revoking a result and sending it again, from the result's page.

A revocation takes one reason from the fixed list (the public sees its
label) and an optional note that stays internal; the form says what the
public will see. Only a supervisor or an administrator may revoke (checked
here, on the server, whatever the page showed). Sending again goes to the
applicant's address, or to a corrected one, which becomes the applicant's
(the change, masked, in the history). Both are ``signer.actions``, the
same as the API's and the command line's.
"""

from __future__ import annotations

import json

from aiohttp import web

from console.auth import checked, console_form, staff_page
from console.context import CONSOLE, SESSION
from console.pages import render
from console.results import load
from plumbing.errors import InputError
from plumbing.web.problems import Problem
from registry.results import ResultRecord
from registry.staff import Action
from registry.states import ResultState, RevocationReason
from signer import actions
from signer.api.views import refuse_too_many_resends
from signer.delivery import recipients

MAX_NOTE = 500


def _revocable(result: ResultRecord) -> None:
    if result.state in (ResultState.REVOKED, ResultState.SUPERSEDED):
        raise Problem(
            409,
            "conflict",
            "Conflict",
            f"result {result.id} is {result.state.value}: it cannot be revoked",
        )


@staff_page(Action.REVOKE)
async def revoke_form(request: web.Request) -> web.StreamResponse:
    result = await load(request)
    _revocable(result)
    return render(request, "revoke.html.j2", result=result, errors={}, values={})


@staff_page(Action.REVOKE)
async def revoke(request: web.Request) -> web.StreamResponse:
    result = await load(request)
    fields = await console_form(request)
    checked(request[SESSION], fields)
    _revocable(result)
    errors: dict[str, str] = {}
    code = fields.get("reason_code", "")
    if code not in {r.value for r in RevocationReason}:
        errors["reason_code"] = "revoke_pick"
    note = " ".join(fields.get("reason", "").split())
    if len(note) > MAX_NOTE:
        errors["reason"] = "revoke_note_hint"
    if errors:
        return render(
            request, "revoke.html.j2", status=422, result=result, errors=errors, values=fields
        )
    ctx = request.app[CONSOLE]
    signer = ctx.signer
    moved = await signer.db.write(
        actions.revoke,
        result,
        RevocationReason(code),
        note or None,
        request[SESSION].user.id,
        signer.mail_domain,
    )
    signer.deliverer.wake()
    # not moved: another change came first; the result's page shows where it stands
    raise web.HTTPSeeOther(f"/results/{result.id}" + ("?done=revoked" if moved else ""))


def _address(result: ResultRecord) -> str:
    applicant = json.loads(result.metadata_json).get("applicant", {})
    return str(applicant.get("email") or "")


@staff_page(Action.RESEND)
async def resend_form(request: web.Request) -> web.StreamResponse:
    result = await load(request)
    actions.check_resend(result, "an address the form will give")  # the state only
    return render(request, "resend.html.j2", result=result, errors={}, address=_address(result))


@staff_page(Action.RESEND)
async def resend(request: web.Request) -> web.StreamResponse:
    result = await load(request)
    fields = await console_form(request)
    checked(request[SESSION], fields)
    typed = fields.get("email", "").strip()
    try:
        address = actions.email_address(typed)
    except InputError:
        return render(
            request,
            "resend.html.j2",
            status=422,
            result=result,
            errors={"email": "resend_bad_address"},
            address=typed[:320],
        )
    # the same address (in any case) again: no correction to record, unless the result asked
    # for no e-mail, when the address typed is where to send it
    same = address.casefold() == _address(result).casefold()
    corrected = None if same and recipients(result) else address
    actions.check_resend(result, corrected)
    signer = request.app[CONSOLE].signer
    await refuse_too_many_resends(signer.db, result)
    await signer.db.write(
        actions.resend, result, signer.mail_domain, request[SESSION].user.id, corrected
    )
    signer.deliverer.wake()
    raise web.HTTPSeeOther(f"/results/{result.id}?done=resent")
