"""The verifier's words in Vietnamese (the default) and English.

Pages pick a language from ``?lang=vi|en``, else the first language of
``Accept-Language``; anything but English gets Vietnamese.
"""

from __future__ import annotations

from collections.abc import Mapping

LANGUAGES = ("vi", "en")

TEXTS: Mapping[str, Mapping[str, str]] = {
    "vi": {
        "title": "Xác minh kết quả giải quyết TTHC",
        "valid": "Văn bản hợp lệ",
        "valid_detail": "Con dấu QR đúng của cơ quan và kết quả vẫn còn hiệu lực.",
        "revoked": "Văn bản đã bị thu hồi",
        "revoked_detail": "Kết quả này đã bị cơ quan thu hồi, không còn giá trị.",
        "superseded": "Văn bản đã được thay thế",
        "superseded_detail": "Cơ quan đã ban hành kết quả đính chính thay cho văn bản này.",
        "superseded_link": "Xem kết quả hiện hành",
        "unknown": "Không tìm thấy trong hệ thống",
        "unknown_detail": "Con dấu QR đúng, nhưng hệ thống này không có kết quả tương ứng.",
        "invalid": "Văn bản KHÔNG hợp lệ",
        "invalid_detail": (
            "Con dấu QR không phải do cơ quan phát hành. Không tin các thông tin trên văn bản."
        ),
        "facts": "Thông tin để đối chiếu với bản giấy",
        "agency": "Cơ quan",
        "procedure": "Thủ tục",
        "dossier_code": "Mã hồ sơ",
        "result_code": "Số kết quả",
        "applicant": "Người nộp hồ sơ",
        "signed_at": "Thời điểm ký số",
        "signer": "Chứng thư ký số",
        "signer_subject": "Chủ thể",
        "signer_issuer": "Cơ quan cấp",
        "signer_valid": "Hiệu lực",
        "fingerprint": "Dấu vân tay (SHA-256)",
        "level": "Chuẩn chữ ký",
        "document_sha256": "Mã băm văn bản (SHA-256)",
        "verification_code": "Mã xác minh",
        "revoked_reason": "Lý do thu hồi",
        "revoked_at": "Thời điểm thu hồi",
        "reason": "Chi tiết",
        "download": (
            "Tải văn bản: tại cổng tra cứu, với mã hồ sơ và mã tra cứu ghi trên giấy tiếp nhận."
        ),
        "upload": "Hoặc tải tệp PDF lên để kiểm tra chữ ký số",
        "other_language": "English",
        "to": "đến",
    },
    "en": {
        "title": "Verify an administrative procedure result",
        "valid": "Genuine and valid",
        "valid_detail": "The QR seal is the agency's and the result still stands.",
        "revoked": "Revoked",
        "revoked_detail": "The agency revoked this result: it is no longer valid.",
        "superseded": "Superseded",
        "superseded_detail": "The agency issued a corrected result that replaces this document.",
        "superseded_link": "See the current result",
        "unknown": "Not found in this registry",
        "unknown_detail": "The QR seal is genuine, but this registry holds no such result.",
        "invalid": "NOT genuine",
        "invalid_detail": (
            "The QR seal was not issued by the agency. Do not trust what the document says."
        ),
        "facts": "Facts to compare with the paper",
        "agency": "Agency",
        "procedure": "Procedure",
        "dossier_code": "Dossier code",
        "result_code": "Result",
        "applicant": "Applicant",
        "signed_at": "Signed at",
        "signer": "Signing certificate",
        "signer_subject": "Subject",
        "signer_issuer": "Issuer",
        "signer_valid": "Valid",
        "fingerprint": "Fingerprint (SHA-256)",
        "level": "Signature level",
        "document_sha256": "Document hash (SHA-256)",
        "verification_code": "Verification code",
        "revoked_reason": "Reason",
        "revoked_at": "Revoked at",
        "reason": "Details",
        "download": (
            "Download: on the lookup portal, with the dossier code and the access code "
            "on the receipt."
        ),
        "upload": "Or upload the PDF to check its digital signatures",
        "other_language": "Tiếng Việt",
        "to": "to",
    },
}


def pick_language(query: str | None, accept_language: str | None) -> str:
    if query in LANGUAGES:
        return query
    first = (accept_language or "").split(",")[0].strip().lower()
    return "en" if first.startswith("en") else "vi"
