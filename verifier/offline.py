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
from pathlib import Path
from typing import Any

from plumbing.errors import InputError
from verifier.report import GenuineSeal, check_seal
from verifier.validation import Refused, SealRefused, validate_upload

MAX_PAGES = 10_000
FETCH_TIMEOUT = 10.0

WORDS = {
    "vi": {
        "valid": "HỢP LỆ",
        "invalid": "KHÔNG HỢP LỆ",
        "offline": "(ngoại tuyến: chưa đối chiếu với hệ thống, xem trang xác minh để biết "
        "kết quả có bị thu hồi hay thay thế)",
        "signature": "Chữ ký",
        "seal": "Con dấu QR",
        "no_seal": "không có mã QR",
        "genuine": "đúng",
        "not_genuine": "không đúng",
        "binds": "khớp với văn bản",
        "not_binds": "KHÔNG khớp với văn bản",
        "dossier": "Mã hồ sơ",
        "signed_at": "Thời điểm ký",
        "reason": "Lý do",
        "agency": "chứng thư số của cơ quan",
    },
    "en": {
        "valid": "VALID",
        "invalid": "NOT VALID",
        "offline": "(offline: not checked against the registry; the verification page says "
        "whether the result was revoked or superseded)",
        "signature": "Signature",
        "seal": "QR seal",
        "no_seal": "no QR code",
        "genuine": "genuine",
        "not_genuine": "not genuine",
        "binds": "made for this document",
        "not_binds": "NOT made for this document",
        "dossier": "Dossier",
        "signed_at": "Signed at",
        "reason": "Reason",
        "agency": "certificate of agency",
    },
}


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


def verify_pdf(data: bytes, trust_json: bytes, lang: str) -> Outcome:
    checked = validate_upload(data, trust_json, MAX_PAGES)
    if isinstance(checked, Refused):
        raise InputError(checked.reason)
    words = WORDS[lang]
    signatures = checked.signatures
    seal = checked.seal
    reason = checked.not_the_agencys()
    valid = reason is None
    lines = [f"{words['valid' if valid else 'invalid']} {words['offline']}"]
    if reason is not None:
        lines.append(f"{words['reason']}: {reason}")
    for s in signatures:
        sub = f" / {s.sub_indication}" if s.sub_indication else ""
        lines.append(f"{words['signature']} {s.field}: {s.indication}{sub}")
        if s.signer:
            agency = f" ({words['agency']} {s.agency_code})" if s.agency_code else ""
            lines.append(f"  {s.signer}{agency}")
        if s.validated is not None and s.validated.signing_time:
            lines.append(
                f"  {words['signed_at']}: {s.validated.signing_time} ({s.validated.level})"
            )
    if seal is None:
        lines.append(f"{words['seal']}: {words['no_seal']}")
    elif isinstance(seal, SealRefused):
        lines.append(f"{words['seal']}: {words['not_genuine']} ({seal.reason})")
    else:
        binds = words["binds" if seal.binds_this_file else "not_binds"]
        lines.append(f"{words['seal']}: {words['genuine']}, {binds}")
        lines.append(f"  {words['dossier']}: {seal.dossier_code}-KQ{seal.result_no}")
    report = {
        "verdict": "valid" if valid else "invalid",
        "reason": reason,
        "offline": True,
        **checked.to_json(),
    }
    return Outcome(valid, report, lines)


def verify_qr(text: str, trust_json: bytes, lang: str) -> Outcome:
    from keys.trust import TrustList

    words = WORDS[lang]
    checked = check_seal(text, TrustList.from_json(trust_json))
    if not isinstance(checked, GenuineSeal):
        report = {"verdict": "invalid", "offline": True, "reason": checked.reason}
        lines = [f"{words['invalid']}: {words['seal']} {words['not_genuine']} ({checked.reason})"]
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
        f"{words['seal']}: {words['genuine']} ({checked.code})",
        f"  {words['dossier']}: {claims.dossier_code}-KQ{claims.result_no} ({claims.agency_code})",
        f"  {words['signed_at']}: {claims.signed_at.isoformat()}",
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
