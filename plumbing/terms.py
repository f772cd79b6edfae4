"""One name for each thing, in Vietnamese and English: the glossary every surface uses.

The stamp, the e-mail, the pages and the CLI take their labels from here
(``TERMS``), so a clerk, an applicant and a bank officer read the same word
for the same thing; the README's glossary is this table. Sentences around
the terms stay with each surface. Technical words (CBOR, payload, ETSI
indications) stay in JSON and never reach a Vietnamese page.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Term:
    vi: str
    en: str
    meaning: str

    def __post_init__(self) -> None:
        if not (self.vi and self.en and self.meaning):
            raise ValueError("a term needs its Vietnamese, its English and its meaning")

    def __call__(self, lang: str) -> str:
        return self.en if lang == "en" else self.vi


TERMS: Mapping[str, Term] = {
    "dossier_code": Term(
        "Mã hồ sơ",
        "Dossier code",
        "the code on the receipt, <agency>-<YYMMDD>-<NNNN> (Circular 01/2018/TT-VPCP)",
    ),
    "result_code": Term(
        "Mã kết quả",
        "Result code",
        "the dossier code and -KQ<n>: one result of the dossier (Decree 45/2020)",
    ),
    "document_number": Term(
        "Số, ký hiệu văn bản",
        "Document number and symbol",
        "the result document's own number, e.g. 12/GPXD-UBND (Decree 30/2020)",
    ),
    "document_date": Term("Ngày ban hành", "Date of issue", "the date the document bears"),
    "access_code": Term(
        "Mã tra cứu",
        "Access code",
        "the applicant's secret code for seeing and downloading the result on the portal",
    ),
    "verification_code": Term(
        "Mã xác thực",
        "Verification code",
        "10 characters printed under the QR, drawn from the QR seal: what a reader "
        "types to check a printout; public, unlike the access code",
    ),
    "qr_seal": Term(
        "Con dấu QR",
        "QR seal",
        "the QR code on the stamp: the agency's signed statement of the result",
    ),
    "applicant": Term(
        "Chủ hồ sơ", "Applicant", "the person or organisation the dossier belongs to"
    ),
    "issuing_agency": Term(
        "Cơ quan ban hành", "Issuing agency", "the agency that resolved the dossier and signs"
    ),
    "procedure": Term(
        "Thủ tục hành chính", "Administrative procedure", "the national procedure, e.g. 1.004227"
    ),
    "signed_at": Term(
        "Thời gian ký", "Signed at", "when the agency signed, in Vietnam time (UTC+07:00)"
    ),
    "certificate": Term(
        "Chứng thư chữ ký số",
        "Digital signature certificate",
        "the certificate the signature was made with",
    ),
    "certificate_holder": Term(
        "Người ký", "Signer", "whom the certificate names (an official or the agency)"
    ),
    "certificate_organisation": Term(
        "Tổ chức", "Organisation", "the organisation named in the certificate"
    ),
    "certificate_issuer": Term(
        "Tổ chức cấp chứng thư",
        "Certificate issuer",
        "the certification authority that issued the certificate",
    ),
    "certificate_validity": Term(
        "Thời hạn chứng thư", "Certificate validity", "from when to when the certificate is valid"
    ),
    "received_at": Term("Ngày tiếp nhận", "Received on", "the day the dossier was received"),
    "due_at": Term("Hạn trả kết quả", "Due on", "the day the result was due"),
    "resolved_at": Term("Ngày giải quyết", "Resolved on", "the day the dossier was resolved"),
    "on_time": Term("Đúng hạn", "On time", "resolved on or before the due time"),
    "late": Term("Quá hạn", "Late", "resolved after the due time"),
    "revocation_reason": Term(
        "Lý do thu hồi", "Reason for revocation", "one of the fixed reasons below"
    ),
    "revoked_at": Term("Ngày thu hồi", "Revoked on", "the day the agency revoked the result"),
    "electronic_copy": Term(
        "Bản sao điện tử",
        "Electronic copy",
        "a copy signed from a paper original or a separate attachment (Decree 30, Part II)",
    ),
    "copy_of": Term("Sao từ", "Copy of", "what an electronic copy was made from"),
}

REVOCATION_REASONS: Mapping[str, Term] = {
    "issued_in_error": Term("Ban hành nhầm", "Issued in error", "the result should not exist"),
    "replaced": Term(
        "Đã được thay thế bằng văn bản khác",
        "Replaced by another document",
        "a new document takes its place",
    ),
    "applicant_request": Term(
        "Theo đề nghị của chủ hồ sơ", "At the applicant's request", "the applicant asked"
    ),
    "authority_decision": Term(
        "Theo quyết định của cơ quan có thẩm quyền",
        "By decision of a competent authority",
        "an inspection, a court or a higher agency decided",
    ),
    "other": Term("Lý do khác", "Other reason", "none of the above; details stay internal"),
}

# a result's states (registry.states.ResultState) as the back office names them
RESULT_STATES: Mapping[str, Term] = {
    "queued": Term("Chờ ký", "Waiting to be signed", "accepted, in the signing queue"),
    "signing": Term("Đang ký", "Being signed", "a signing process holds it now"),
    "signed": Term(
        "Đã ký, không công khai", "Signed, not published", "signed; the portal does not list it"
    ),
    "published": Term("Đã công khai", "Published", "signed and listed on the portal"),
    "delivered": Term(
        "Đã gửi cho chủ hồ sơ", "Delivered", "signed, and every e-mail of it was accepted"
    ),
    "failed": Term("Ký không thành công", "Signing failed", "the service gave up signing it"),
    "revoked": Term("Đã thu hồi", "Revoked", "no longer stands; the portal says why"),
    "superseded": Term("Đã được đính chính", "Corrected", "a correction replaced it"),
}

# an e-mail's delivery states (registry.states.DeliveryState)
DELIVERY_STATES: Mapping[str, Term] = {
    "pending": Term("Đang gửi", "Sending", "not accepted yet: waiting, or trying again"),
    "sent": Term("Đã gửi", "Sent", "the mail server accepted it"),
    "failed": Term("Gửi không được", "Refused", "the mail server refused it, or it timed out"),
}

# the copy forms of Decree 30/2020, Part II; an attachment shows its number and symbol instead
COPY_FORMS: Mapping[str, Term] = {
    "sao_y": Term("SAO Y", "TRUE COPY", "a full copy of the original"),
    "sao_luc": Term("SAO LỤC", "TRANSCRIPT COPY", "a copy made from a copy"),
    "trich_sao": Term("TRÍCH SAO", "EXTRACT COPY", "a copy of part of the original"),
}


def term(name: str, lang: str = "vi") -> str:
    return TERMS[name](lang)


def labels(lang: str) -> dict[str, str]:
    """Every term in ``lang``, by name: what templates receive as ``t``."""
    return {name: t(lang) for name, t in TERMS.items()}
