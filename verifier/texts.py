"""The verifier's words in Vietnamese (the default) and English.

The names of things come from the glossary (``plumbing.terms``), so the
pages call each thing what the stamp, the e-mail and the CLI call it; the
sentences around them are here. Pages pick a language from
``?lang=vi|en``, else the first language of ``Accept-Language``; anything
but English gets Vietnamese.
"""

from __future__ import annotations

from collections.abc import Mapping

from plumbing.terms import COPY_FORMS, REVOCATION_REASONS, labels

LANGUAGES = ("vi", "en")

_SENTENCES: Mapping[str, Mapping[str, str]] = {
    "vi": {
        "title": "Xác minh kết quả giải quyết thủ tục hành chính",
        "valid": "Văn bản hợp lệ",
        "valid_detail": "Con dấu QR đúng của cơ quan ban hành và kết quả vẫn còn hiệu lực.",
        "revoked": "Văn bản đã bị thu hồi",
        "revoked_detail": "Kết quả này đã bị cơ quan ban hành thu hồi, không còn giá trị.",
        "superseded": "Văn bản đã được thay thế",
        "superseded_detail": (
            "Cơ quan ban hành đã ban hành kết quả đính chính thay cho văn bản này."
        ),
        "superseded_link": "Xem kết quả hiện hành",
        "unknown": "Không tìm thấy trong hệ thống",
        "unknown_detail": "Con dấu QR đúng, nhưng hệ thống này không có kết quả tương ứng.",
        "invalid": "Văn bản KHÔNG hợp lệ",
        "invalid_detail": (
            "Con dấu QR không phải do cơ quan ban hành cấp. Không tin các thông tin trên văn bản."
        ),
        "facts": "Thông tin để đối chiếu với bản giấy",
        "copy_notice": "Văn bản này là bản sao điện tử",
        "attachment_notice": "Văn bản này là phụ lục kèm theo văn bản",
        "technical": "Thông tin kỹ thuật",
        "fingerprint": "Dấu vân tay chứng thư (SHA-256)",
        "document_sha256": "Mã băm văn bản (SHA-256)",
        "download": (
            "Tải văn bản: tại trang tra cứu, với mã hồ sơ và mã tra cứu ghi trên giấy tiếp nhận."
        ),
        "other_language": "English",
        "to": "đến",
        "results": "Kết quả giải quyết thủ tục hành chính",
        "no_results": "Chưa có kết quả.",
        "next_page": "Trang sau",
        "verify": "Xác minh",
        "lookup": "Tra cứu hồ sơ",
        "dossier": "Hồ sơ",
        "status": "Tình trạng",
        "status_resolved": "Đã có kết quả",
        "status_revoked": "Kết quả đã bị thu hồi",
        "status_pending": "Chưa có kết quả",
        "current_result": "Kết quả hiện hành",
        "download_pdf": "Tải văn bản (PDF)",
        "open": "Xem",
        "wrong_code": "Mã tra cứu không đúng.",
        "statistics": "Tình hình giải quyết hồ sơ thủ tục hành chính",
        "period_from": "Từ ngày",
        "resolved": "Đã giải quyết",
        "ahead": "Trước hạn",
        "rate": "Tỷ lệ đúng hạn (trước hạn và đúng hạn)",
        "no_due": "Không có hạn giải quyết (không tính vào tỷ lệ)",
    },
    "en": {
        "title": "Verify the result of an administrative procedure",
        "valid": "Genuine and valid",
        "valid_detail": "The QR seal is the issuing agency's and the result still stands.",
        "revoked": "Revoked",
        "revoked_detail": "The issuing agency revoked this result: it is no longer valid.",
        "superseded": "Superseded",
        "superseded_detail": (
            "The issuing agency issued a corrected result that replaces this one."
        ),
        "superseded_link": "See the current result",
        "unknown": "Not found in this registry",
        "unknown_detail": "The QR seal is genuine, but this registry holds no such result.",
        "invalid": "NOT genuine",
        "invalid_detail": (
            "The QR seal was not issued by the agency. Do not trust what the document says."
        ),
        "facts": "Facts to compare with the paper",
        "copy_notice": "This document is an electronic copy",
        "attachment_notice": "This document is an attachment to the document",
        "technical": "Technical details",
        "fingerprint": "Certificate fingerprint (SHA-256)",
        "document_sha256": "Document hash (SHA-256)",
        "download": (
            "Download: on the lookup page, with the dossier code and the access code on the "
            "receipt."
        ),
        "other_language": "Tiếng Việt",
        "to": "to",
        "results": "Results of administrative procedures",
        "no_results": "No results yet.",
        "next_page": "Next page",
        "verify": "Verify",
        "lookup": "Dossier lookup",
        "dossier": "Dossier",
        "status": "Status",
        "status_resolved": "Resolved",
        "status_revoked": "The result was revoked",
        "status_pending": "No result yet",
        "current_result": "The current result",
        "download_pdf": "Download (PDF)",
        "open": "Open",
        "wrong_code": "That access code does not open this dossier.",
        "statistics": "Dossiers of administrative procedures resolved",
        "period_from": "From",
        "resolved": "Resolved",
        "ahead": "Ahead of time",
        "rate": "On-time rate (ahead of time and on time)",
        "no_due": "Without a due date (not in the rate)",
    },
}

TEXTS: Mapping[str, Mapping[str, str]] = {
    lang: {**labels(lang), **_SENTENCES[lang]} for lang in LANGUAGES
}
REASONS: Mapping[str, Mapping[str, str]] = {
    lang: {code: t(lang) for code, t in REVOCATION_REASONS.items()} for lang in LANGUAGES
}
COPIES: Mapping[str, Mapping[str, str]] = {
    lang: {form: t(lang) for form, t in COPY_FORMS.items()} for lang in LANGUAGES
}


def pick_language(query: str | None, accept_language: str | None) -> str:
    if query in LANGUAGES:
        return query
    first = (accept_language or "").split(",")[0].strip().lower()
    return "en" if first.startswith("en") else "vi"


# what a signature check found, in words (the ETSI EN 319 102-1 codes stay in JSON)
INDICATIONS: Mapping[str, Mapping[str, str]] = {
    "vi": {
        "TOTAL_PASSED": "hợp lệ",
        "TOTAL_FAILED": "không hợp lệ",
        "INDETERMINATE": "chưa xác định được",
    },
    "en": {
        "TOTAL_PASSED": "valid",
        "TOTAL_FAILED": "not valid",
        "INDETERMINATE": "could not be decided",
    },
}
SUB_INDICATIONS: Mapping[str, Mapping[str, str]] = {
    "vi": {
        "HASH_FAILURE": "văn bản đã bị sửa sau khi ký",
        "SIG_CRYPTO_FAILURE": "chữ ký không khớp với chứng thư",
        "REVOKED": "chứng thư đã bị thu hồi",
        "EXPIRED": "chứng thư đã hết hạn",
        "NOT_YET_VALID": "chứng thư chưa có hiệu lực",
        "FORMAT_FAILURE": "chữ ký sai định dạng",
        "NO_SIGNING_CERTIFICATE_FOUND": "không có chứng thư của người ký",
        "NO_CERTIFICATE_CHAIN_FOUND": "chứng thư không do tổ chức được tin cậy cấp",
        "CHAIN_CONSTRAINTS_FAILURE": "chuỗi chứng thư không đúng quy định",
        "CERTIFICATE_CHAIN_GENERAL_FAILURE": "chuỗi chứng thư không kiểm tra được",
        "SIG_CONSTRAINTS_FAILURE": "văn bản bị thay đổi sau chữ ký của cơ quan",
        "CRYPTO_CONSTRAINTS_FAILURE": "thuật toán không còn an toàn",
        "TRY_LATER": "chưa có thông tin thu hồi chứng thư",
        "REVOCATION_OUT_OF_BOUNDS_NO_POE": "không có thông tin thu hồi đúng thời điểm ký",
        "OUT_OF_BOUNDS_NO_POE": "không chứng minh được thời điểm ký",
        "NO_POE": "không chứng minh được thời điểm ký",
        "GENERIC": "lỗi khác",
    },
    "en": {
        "HASH_FAILURE": "the document was changed after signing",
        "SIG_CRYPTO_FAILURE": "the signature does not match the certificate",
        "REVOKED": "the certificate was revoked",
        "EXPIRED": "the certificate has expired",
        "NOT_YET_VALID": "the certificate was not yet valid",
        "FORMAT_FAILURE": "the signature is malformed",
        "NO_SIGNING_CERTIFICATE_FOUND": "the signer's certificate is missing",
        "NO_CERTIFICATE_CHAIN_FOUND": "the certificate is not from a trusted issuer",
        "CHAIN_CONSTRAINTS_FAILURE": "the certificate chain breaks its rules",
        "CERTIFICATE_CHAIN_GENERAL_FAILURE": "the certificate chain could not be checked",
        "SIG_CONSTRAINTS_FAILURE": "the document was changed after the agency's signature",
        "CRYPTO_CONSTRAINTS_FAILURE": "the algorithms are no longer safe",
        "TRY_LATER": "no revocation information for the certificate yet",
        "REVOCATION_OUT_OF_BOUNDS_NO_POE": "no revocation information from the time of signing",
        "OUT_OF_BOUNDS_NO_POE": "the time of signing cannot be proven",
        "NO_POE": "the time of signing cannot be proven",
        "GENERIC": "another failure",
    },
}


def outcome_words(indication: str, sub_indication: str | None, lang: str) -> str:
    """A signature check's outcome as a sentence fragment: "không hợp lệ: văn bản đã bị sửa"."""
    said = INDICATIONS[lang].get(indication, indication)
    if sub_indication:
        said += f": {SUB_INDICATIONS[lang].get(sub_indication, sub_indication)}"
    return said


# why a checked PDF is not a result as an agency issued it (verifier.validation.Unfit)
UNFIT: Mapping[str, Mapping[str, str]] = {
    "vi": {
        "no_signature": "tệp PDF không có chữ ký số",
        "signature_failed": "chữ ký số {field}: {outcome}",
        "signed_after_the_agency": (
            "chữ ký số {field}, ký sau chữ ký của cơ quan, không phải của cơ quan ban hành"
        ),
        "not_an_agency_certificate": (
            "không có chữ ký số nào bằng chứng thư của cơ quan ban hành trong danh sách tin cậy "
            "(chứng thư khác của cùng tổ chức cấp chứng thư là chưa đủ)"
        ),
        "changed_after": "văn bản đã bị thay đổi sau khi cơ quan ban hành ký",
        "seal_not_genuine": "con dấu QR không đúng",
        "seal_of_another_document": "con dấu QR được tạo cho một văn bản khác",
        "seal_of_another_agency": "con dấu QR của cơ quan {seal}, chữ ký số của cơ quan {signer}",
    },
    "en": {
        "no_signature": "the PDF carries no signature",
        "signature_failed": "signature {field}: {outcome}",
        "signed_after_the_agency": (
            "signature {field}, made after the agency's, is not an agency's"
        ),
        "not_an_agency_certificate": (
            "no signature is made with an agency certificate in the trust list "
            "(a certificate from the same certification authority is not enough)"
        ),
        "changed_after": "the document was changed after the agency signed it",
        "seal_not_genuine": "the QR seal is not genuine",
        "seal_of_another_document": "the QR seal was made for another document",
        "seal_of_another_agency": (
            "the QR seal is agency {seal}'s, the signature agency {signer}'s"
        ),
    },
}


def unfit_words(kind: str, facts: Mapping[str, str], lang: str) -> str:
    """``verifier.validation.Unfit`` in the reader's language."""
    values = dict(facts)
    if kind == "signature_failed":
        values["outcome"] = outcome_words(values["indication"], values["sub"] or None, lang)
    return UNFIT[lang][kind].format(**values)
