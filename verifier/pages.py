"""``GET /v/{seal}`` (and ``/V/{seal}``): what a QR scan opens.

The seal is checked against the trust list first; only a genuine seal is
looked up in the registry. One verdict, as an HTML page (Vietnamese, or
English by ``?lang=en`` or ``Accept-Language``; no script, our own
stylesheet only) or as JSON for ``Accept: application/json``.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import NameOID

from keys.trust import TrustList
from plumbing import formats
from registry.database import Database
from verifier.fresh import Bounded, Fresh
from verifier.lookup import registered
from verifier.report import GenuineSeal, SealReport, Verdict, decide
from verifier.report import check_seal as check_seal_text
from verifier.site import frame, language
from verifier.templating import environment
from verifier.texts import COPIES, REASONS

MARKS = {
    Verdict.VALID: "✓",
    Verdict.REVOKED: "⊘",
    Verdict.INVALID: "✗",
    Verdict.SUPERSEDED: "↻",
    Verdict.UNKNOWN: "?",
}
TRUST_LIST_RECHECK = 5.0  # seconds between looks at the trust list file's modification time
ANSWER_HEADERS = {"Cache-Control": "no-store", "Vary": "Accept, Accept-Language, Cookie"}


class TrustStore:
    """The trust list file, read again when it changes (a key retired or revoked)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._list: TrustList | None = None
        self._json: bytes | None = None
        self._mtime: float | None = None
        self._checked = 0.0

    def current(self) -> TrustList | None:
        self._refresh()
        return self._list

    def current_json(self) -> bytes | None:
        """The file as it is (for worker processes, which parse it themselves)."""
        self._refresh()
        return self._json

    def _refresh(self) -> None:
        now = time.monotonic()
        if self._list is not None and now - self._checked < TRUST_LIST_RECHECK:
            return
        self._checked = now
        try:
            mtime = self.path.stat().st_mtime
        except FileNotFoundError:
            self._list, self._json, self._mtime = None, None, None
            return
        if mtime != self._mtime:
            data = self.path.read_bytes()
            self._list, self._json, self._mtime = TrustList.from_json(data), data, mtime


@dataclass(frozen=True, slots=True)
class SignerFacts:
    """A signing certificate as people read it: who, of which organisation, issued by whom."""

    holder: str
    organisation: str
    issuer: str
    valid_from: str
    valid_to: str


def signer_certificates(paths: list[Path]) -> dict[str, SignerFacts]:
    """The signing certificates the verifier may describe, by SHA-256 fingerprint."""
    known: dict[str, SignerFacts] = {}
    for path in paths:
        if not path.exists():
            continue
        for cert in x509.load_pem_x509_certificates(path.read_bytes()):
            known[cert.fingerprint(hashes.SHA256()).hex()] = SignerFacts(
                holder=name_part(cert.subject, NameOID.COMMON_NAME),
                organisation=name_part(cert.subject, NameOID.ORGANIZATION_NAME),
                issuer=name_part(cert.issuer, NameOID.ORGANIZATION_NAME)
                or name_part(cert.issuer, NameOID.COMMON_NAME),
                valid_from=formats.day(cert.not_valid_before_utc),
                valid_to=formats.day(cert.not_valid_after_utc),
            )
    return known


def name_part(name: x509.Name, oid: x509.ObjectIdentifier) -> str:
    """One attribute of a certificate's name (``CN``, ``O``), as text; "" if it has none."""
    return ", ".join(str(a.value) for a in name.get_attributes_for_oid(oid))


def _moment(value: datetime | None) -> str:
    return f"{formats.moment(value)} (UTC+07:00)" if value else ""


class Pages:
    """The QR page; what repeats is remembered.

    A seal's own check depends only on the seal and the trust list: it is
    kept (4,096 seals) until the trust list changes. The answer as a whole
    (the registry's word included) is kept for ``fresh_for`` seconds, so a
    revocation shows within that long; a document being checked by many at
    once costs one registry read a second.
    """

    def __init__(
        self,
        db: Database,
        trust: TrustStore,
        signers: dict[str, SignerFacts],
        *,
        fresh_for: float = 1.0,
    ) -> None:
        self.db = db
        self.trust = trust
        self.signers = signers
        self.env = env = environment()
        self._template = env.get_template("seal.html.j2")
        self._seals = Bounded(4096)
        self._seals_of: TrustList | None = None
        self._answers: Fresh[bytes] = Fresh(fresh_for)

    @classmethod
    def create(cls, db: Database, trust: TrustStore, signers: dict[str, SignerFacts]) -> Pages:
        return cls(db, trust, signers)

    def _check(self, text: str, trust: TrustList) -> GenuineSeal | SealReport:
        if self._seals_of is not trust:  # a new trust list: every seal is checked again
            self._seals.clear()
            self._seals_of = trust
        checked = self._seals.get(text)
        if checked is None:
            checked = check_seal_text(text, trust)
            self._seals.remember(text, checked)
        return checked

    async def report(self, text: str) -> SealReport:
        trust = self.trust.current()
        if trust is None:
            return SealReport(Verdict.INVALID, "this verifier has no trust list: nothing verifies")
        checked = self._check(text, trust)
        if not isinstance(checked, GenuineSeal):
            return checked
        return decide(checked, await self.db.read(registered, checked.claims))

    async def seal_page(self, request: web.Request) -> web.Response:
        text = request.match_info["seal"]
        as_json = _wants_json(request.headers.get("Accept", ""))
        lang = language(request)

        async def answer() -> bytes:
            report = await self.report(text)
            if as_json:
                return json.dumps(report.to_json(), ensure_ascii=False).encode()
            return self._template.render(
                frame(request, lang) | self._values(report, lang)
            ).encode()

        body = await self._answers.get((text, "json" if as_json else lang), answer)
        return web.Response(
            body=body,
            content_type="application/json" if as_json else "text/html",
            charset="utf-8",
            headers=ANSWER_HEADERS,
        )

    def _values(self, report: SealReport, lang: str) -> dict[str, Any]:
        body = report.to_json()
        result = report.result
        signer = self.signers.get(result.signer_fingerprint or "") if result else None
        return {
            "reasons": REASONS[lang],
            "copies": COPIES[lang],
            "verdict": report.verdict.value,
            "mark": MARKS[report.verdict],
            "reason": report.reason,
            "seal": body.get("seal"),
            "result": body.get("result"),
            "signer": signer,
            "signed_at": _moment(
                result.signed_at
                if result
                else report.seal.claims.signed_at
                if report.seal
                else None
            ),
            "revoked_at": _moment(result.revoked_at if result else None),
        }


def _wants_json(accept: str) -> bool:
    kinds = [part.split(";")[0].strip().lower() for part in accept.split(",")]
    return "application/json" in kinds and (
        "text/html" not in kinds or kinds.index("application/json") < kinds.index("text/html")
    )


STYLESHEET = (Path(__file__).resolve().parent / "static" / "ketqua.css").read_bytes()


async def stylesheet(request: web.Request) -> web.Response:
    return web.Response(
        body=STYLESHEET,
        content_type="text/css",
        headers={"Cache-Control": "public, max-age=86400"},
    )
