"""``ketqua verify``: check a PDF, a QR text or a photo of a printout with a trust list only.

No network is needed once the trust list is at hand (a file, or fetched
once from a verifier's ``/api/v1/trust-list``). A PDF: every signature (the
same validation as the upload check) and its QR seal; a QR text: the seal;
an image: the QR is found and read first (zxing-cpp), then checked as
text. Without the registry, "valid" means: genuine and unaltered; whether
the result still stands (revoked, superseded) is the online page's to say.
"""

from __future__ import annotations

import json
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from plumbing.errors import InputError
from plumbing.formats import moment
from plumbing.terms import labels
from verifier.report import GenuineSeal, check_seal
from verifier.texts import outcome_words, unfit_words
from verifier.validation import Refused, SealRefused, validate_upload

MAX_PAGES = 10_000
FETCH_TIMEOUT = 10.0

# the sentences of the report; the names of things are the glossary's (plumbing.terms)
WORDS = {
    "vi": {
        "valid": "HỢP LỆ",
        "invalid": "KHÔNG HỢP LỆ",
        "offline": "(ngoại tuyến: chưa đối chiếu với hệ thống, xem trang xác minh để biết "
        "kết quả có bị thu hồi hay thay thế)",
        "signature": "Chữ ký số",
        "no_seal": "không có mã QR",
        "genuine": "đúng",
        "not_genuine": "không đúng",
        "binds": "khớp với văn bản",
        "not_binds": "KHÔNG khớp với văn bản",
        "reason": "Lý do",
        "agency": "chứng thư của cơ quan",
        "level": "chuẩn",
    },
    "en": {
        "valid": "VALID",
        "invalid": "NOT VALID",
        "offline": "(offline: not checked against the registry; the verification page says "
        "whether the result was revoked or superseded)",
        "signature": "Signature",
        "no_seal": "no QR code",
        "genuine": "genuine",
        "not_genuine": "not genuine",
        "binds": "made for this document",
        "not_binds": "NOT made for this document",
        "reason": "Reason",
        "agency": "certificate of agency",
        "level": "level",
    },
}


def _words(lang: str) -> dict[str, str]:
    return {**labels(lang), **WORDS[lang]}


def _when(value: datetime | str) -> str:
    """A signing time as people read it: dd/mm/yyyy hh:mm:ss in Vietnam time."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return f"{moment(value)} (UTC+07:00)"


@dataclass(frozen=True, slots=True)
class Outcome:
    valid: bool
    report: dict[str, Any]
    lines: list[str]


def load_trust_list(source: str) -> bytes:
    """A trust list from a file or an http(s) URL; InputError saying which and why."""
    if source.startswith(("http://", "https://")):
        try:
            with urllib.request.urlopen(source, timeout=FETCH_TIMEOUT) as response:  # noqa: S310
                data: bytes = response.read()
        except OSError as exc:
            raise InputError(f"cannot fetch the trust list {source}: {exc}") from exc
    else:
        try:
            data = Path(source).read_bytes()
        except OSError as exc:
            raise InputError(f"cannot read the trust list {source}: {exc.strerror}") from exc
    try:
        from keys.trust import TrustList

        TrustList.from_json(data)
    except Exception as exc:
        raise InputError(f"{source} is not a ketqua trust list: {exc}") from exc
    return data


def verify_pdf(data: bytes, trust_json: bytes, lang: str, anchors: bytes = b"") -> Outcome:
    checked = validate_upload(data, trust_json, MAX_PAGES, anchors)
    if isinstance(checked, Refused):
        raise InputError(checked.reason)
    words = _words(lang)
    signatures = checked.signatures
    seal = checked.seal
    unfit = checked.not_the_agencys()
    valid = unfit is None
    lines = [f"{words['valid' if valid else 'invalid']} {words['offline']}"]
    if unfit is not None:
        lines.append(f"{words['reason']}: {unfit_words(unfit.kind, unfit.facts, lang)}")
    for s in signatures:
        outcome = outcome_words(s.indication, s.sub_indication, lang)
        lines.append(f"{words['signature']} {s.field}: {outcome}")
        if s.signer:
            agency = f" ({words['agency']} {s.agency_code})" if s.agency_code else ""
            lines.append(f"  {s.signer}{agency}")
        if s.validated is not None and s.validated.signing_time:
            when = _when(s.validated.signing_time)
            lines.append(f"  {words['signed_at']}: {when} ({words['level']} {s.validated.level})")
    if seal is None:
        lines.append(f"{words['qr_seal']}: {words['no_seal']}")
    elif isinstance(seal, SealRefused):
        lines.append(f"{words['qr_seal']}: {words['not_genuine']} ({seal.reason})")
    else:
        binds = words["binds" if seal.binds_this_file else "not_binds"]
        lines.append(f"{words['qr_seal']}: {words['genuine']}, {binds}")
        lines.append(f"  {words['result_code']}: {seal.dossier_code}-KQ{seal.result_no}")
    report = {
        "verdict": "valid" if valid else "invalid",
        "reason": unfit.english() if unfit is not None else None,
        "offline": True,
        **checked.to_json(),
    }
    return Outcome(valid, report, lines)


def verify_qr(text: str, trust_json: bytes, lang: str) -> Outcome:
    from keys.trust import TrustList

    words = _words(lang)
    checked = check_seal(text, TrustList.from_json(trust_json))
    if not isinstance(checked, GenuineSeal):
        report = {"verdict": "invalid", "offline": True, "reason": checked.reason}
        lines = [
            f"{words['invalid']}: {words['qr_seal']} {words['not_genuine']} ({checked.reason})"
        ]
        return Outcome(False, report, lines)
    claims = checked.claims
    report = {
        "verdict": "valid",
        "offline": True,
        "seal": {
            "verification_code": checked.code,
            "kid": checked.kid,
            "key_status": checked.key_status,
            "agency_code": claims.agency_code,
            "dossier_code": claims.dossier_code,
            "result_no": claims.result_no,
            "procedure_code": claims.procedure_code,
            "signed_at": claims.signed_at.isoformat(),
        },
    }
    lines = [
        f"{words['valid']} {words['offline']}",
        f"{words['qr_seal']}: {words['genuine']}",
        f"  {words['verification_code']}: {checked.code}",
        f"  {words['result_code']}: {claims.dossier_code}-KQ{claims.result_no}",
        f"  {words['issuing_agency']}: {claims.agency_code}",
        f"  {words['signed_at']}: {_when(claims.signed_at)}",
    ]
    return Outcome(True, report, lines)


def qr_in_image(path: Path) -> str:
    """The seal URL in a photo or scan; InputError if there is none or the file is no image."""
    import zxingcpp
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            image.load()
            codes = zxingcpp.read_barcodes(
                image, formats=zxingcpp.barcode_formats_from_str("QRCode"), try_rotate=True
            )
    except (OSError, UnidentifiedImageError) as exc:
        raise InputError(f"cannot read the image {path}: {exc}") from exc
    for code in codes:
        if "/V/" in code.text.upper():
            return str(code.text)
    raise InputError(f"no ketqua QR code found in {path}")


def as_json(outcome: Outcome) -> str:
    return json.dumps(outcome.report, ensure_ascii=False, indent=2)
