"""``/kiem-tra``: check an e-mailed or downloaded PDF in a browser, no script needed.

The form posts the file as ``multipart/form-data`` to the same check as
``POST /api/v1/verify`` (same limits, same worker slots, same verdict);
the answer is a page: the verdict first, in the QR page's colours, then
each thing that was checked (the agency's signature, changes after it, the
QR seal, the registry's record) in the reader's language. What cannot be
checked (413, 422, 503) is an error page that says what to do.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from jinja2 import Environment

from verifier.site import frame, language
from verifier.texts import TEXTS, outcome_words
from verifier.upload import Checked
from verifier.validation import AFTER_THE_AGENCY, SealRead, SealRefused

CHANGED_AFTER = "SIG_CONSTRAINTS_FAILURE"  # ETSI: the signature holds, the file changed after
_NO_STORE = {"Cache-Control": "no-store", "Vary": "Accept-Language, Cookie"}


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing checked: ``ok``, ``bad``, or ``skip`` (could not be checked, see above)."""

    tone: str
    name: str
    text: str


def findings(checked: Checked, lang: str) -> list[Finding]:
    t = TEXTS[lang]
    check = checked.check
    found: list[Finding] = []

    signatures = check.signatures
    failing = next((s for s in signatures if not s.passed), None)
    agency = next((s for s in reversed(signatures) if s.agency_code), None)
    if not signatures:
        found.append(Finding("bad", t["check_signature"], t["check_signature_none"]))
    elif failing is not None:
        words = outcome_words(failing.indication, failing.sub_indication, lang)
        text = t["check_signature_failed"].format(field=failing.field, outcome=words)
        found.append(Finding("bad", t["check_signature"], text))
    elif agency is None:
        found.append(Finding("bad", t["check_signature"], t["check_signature_stranger"]))
    else:
        text = t["check_signature_ok"].format(signer=agency.signer or agency.agency_code)
        found.append(Finding("ok", t["check_signature"], text))

    if failing is not None and failing.sub_indication == CHANGED_AFTER:
        found.append(Finding("bad", t["check_changes"], t["check_changes_some"]))
    elif agency is None or failing is not None:
        found.append(Finding("skip", t["check_changes"], t["check_changes_skip"]))
    else:
        after = agency.validated.modifications_after if agency.validated else "unknown"
        later = signatures[signatures.index(agency) + 1 :]
        if after in AFTER_THE_AGENCY and not later:
            found.append(Finding("ok", t["check_changes"], t["check_changes_none"]))
        else:
            found.append(Finding("bad", t["check_changes"], t["check_changes_some"]))

    seal = check.seal
    if seal is None:
        found.append(Finding("skip", t["qr_seal"], t["check_seal_none"]))
    elif isinstance(seal, SealRefused):
        found.append(Finding("bad", t["qr_seal"], t["check_seal_forged"]))
    elif isinstance(seal, SealRead) and not seal.binds_this_file:
        found.append(Finding("bad", t["qr_seal"], t["check_seal_other_file"]))
    else:
        found.append(Finding("ok", t["qr_seal"], t["check_seal_ok"]))

    word, result = checked.registry.match, checked.registry.result
    if word == "this_file" and result is not None:
        state = (
            t[f"check_state_{result.state.value}"]
            if result.state.issued
            else t[result.state.value]
        )
        text = t["check_registry_this"].format(code=result.result_code, state=state)
        found.append(Finding("ok" if result.state.issued else "bad", t["check_registry"], text))
    elif word == "other_file" and result is not None:
        text = t["check_registry_other"].format(code=result.result_code)
        found.append(Finding("bad", t["check_registry"], text))
    else:
        found.append(Finding("bad", t["check_registry"], t["check_registry_none"]))
    return found


@dataclass(frozen=True, slots=True)
class CheckPage:
    env: Environment
    check: Callable[[web.Request], Awaitable[Checked]]
    max_mb: int

    async def form(self, request: web.Request) -> web.Response:
        lang = language(request)
        html = self.env.get_template("check.html.j2").render(self._values(request, lang))
        return web.Response(text=html, content_type="text/html", headers=_NO_STORE)

    async def report(self, request: web.Request) -> web.Response:
        checked = await self.check(request)
        lang = language(request)
        result = checked.registry.result
        values = self._values(request, lang) | {
            "checked": checked,
            "findings": findings(checked, lang),
            "seal_page": result.seal_url if result is not None else None,
        }
        html = self.env.get_template("check.html.j2").render(values)
        return web.Response(text=html, content_type="text/html", headers=_NO_STORE)

    def _values(self, request: web.Request, lang: str) -> dict[str, Any]:
        return frame(request, lang) | {"checked": None, "max_mb": self.max_mb}
