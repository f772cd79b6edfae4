"""The verifier's words in Vietnamese (the default) and English.

The names of things come from the glossary (``plumbing.terms``), so the
pages call each thing what the stamp, the e-mail and the CLI call it; the
sentences around them are here. Which language a page speaks is
``verifier.site.language``.
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
        "skip": "Chuyển đến nội dung chính",
        "nav": "Các trang",
        "nav_lookup": "Tra cứu hồ sơ",
        "nav_check": "Kiểm tra văn bản",
        "nav_results": "Kết quả đã trả",
        "nav_statistics": "Thống kê",
        "address": "Địa chỉ",
        "phone": "Điện thoại",
        "email": "Thư điện tử",
        "footer_scope": (
            "Trang này công bố các kết quả giải quyết thủ tục hành chính được ký số qua hệ "
            "thống; họ tên cá nhân được che một phần theo Nghị định 13/2023/NĐ-CP."
        ),
        "home_title": "Kết quả giải quyết thủ tục hành chính",
        "home_lookup": "Tra cứu kết quả hồ sơ của tôi",
        "home_lookup_text": (
            "Nhập mã hồ sơ ghi trên giấy tiếp nhận và mã tra cứu để xem và tải văn bản kết quả."
        ),
        "home_check": "Kiểm tra một văn bản",
        "home_check_text": (
            "Quét con dấu QR trên văn bản bằng camera điện thoại, hoặc tải tệp PDF lên "
            "để kiểm tra chữ ký số và con dấu QR."
        ),
        "home_check_button": "Kiểm tra tệp PDF",
        "home_browse": "Kết quả và thống kê",
        "home_browse_text": (
            "Danh sách kết quả đã trả và tỷ lệ giải quyết hồ sơ đúng hạn của cơ quan."
        ),
        "dossier_hint": "Ví dụ: 000.00.14.H49-220301-0012 (chữ hoa hay thường đều được).",
        "access_hint": (
            "Mã tra cứu in trên giấy tiếp nhận hồ sơ hoặc gửi trong thư điện tử báo kết quả. "
            "Không có mã tra cứu: vẫn xem được tình trạng hồ sơ."
        ),
        "lookup_button": "Tra cứu",
        "dossier_not_a_code": (
            "Mã hồ sơ chưa đúng dạng. Mã hồ sơ gồm mã cơ quan, ngày tiếp nhận và số thứ tự, "
            "ví dụ 000.00.14.H49-220301-0012."
        ),
        "error_next": "Bạn có thể làm gì",
        "error_home": "Về trang chủ",
        "error_detail": "Chi tiết kỹ thuật",
        "error_400": "Thông tin chưa đúng",
        "error_400_what": "Thông tin gửi lên không đúng dạng nên không xử lý được.",
        "error_400_next": "Kiểm tra lại các ô đã nhập (mã hồ sơ, ngày tháng) rồi thử lại.",
        "error_403": "Không được phép",
        "error_403_what": "Yêu cầu này không được phép.",
        "error_403_next": "Kiểm tra lại mã tra cứu hoặc liên hệ bộ phận một cửa.",
        "error_404": "Không tìm thấy",
        "error_404_what": "Địa chỉ này không có trên cổng, hoặc hồ sơ không có kết quả để xem.",
        "error_404_next": "Kiểm tra lại đường dẫn, hoặc về trang chủ để tra cứu theo mã hồ sơ.",
        "error_405": "Không mở được trang theo cách này",
        "error_405_what": "Trang này không nhận yêu cầu như vậy.",
        "error_405_next": "Mở trang từ trang chủ hoặc từ liên kết trong thư điện tử.",
        "error_409": "Không thực hiện được",
        "error_409_what": (
            "Văn bản không còn ở trạng thái cho phép việc này (đã thu hồi hoặc thay thế)."
        ),
        "error_409_next": "Tra cứu lại hồ sơ để xem kết quả hiện hành.",
        "error_413": "Dữ liệu gửi lên quá lớn",
        "error_413_what": "Tệp hoặc dữ liệu gửi lên vượt quá dung lượng cho phép.",
        "error_413_next": (
            "Gửi đúng tệp PDF kết quả đã nhận từ cơ quan (thường dưới 20 MB), hoặc nhập lại "
            "mã hồ sơ cho đúng."
        ),
        "error_415": "Định dạng không đúng",
        "error_415_what": "Cổng không nhận dữ liệu ở định dạng này.",
        "error_415_next": "Dùng biểu mẫu trên trang để gửi.",
        "error_422": "Không kiểm tra được văn bản",
        "error_422_what": (
            "Tệp gửi lên không phải tệp PDF đọc được, hoặc quá phức tạp để kiểm tra."
        ),
        "error_422_next": "Gửi đúng tệp PDF kết quả đã nhận từ cơ quan, không chỉnh sửa.",
        "error_429": "Quá nhiều yêu cầu",
        "error_429_what": "Có quá nhiều yêu cầu từ địa chỉ của bạn trong thời gian ngắn.",
        "error_429_next": "Vui lòng thử lại sau {minutes} phút.",
        "error_5xx": "Hệ thống tạm thời không phục vụ được",
        "error_5xx_what": "Hệ thống đang bận hoặc gặp sự cố.",
        "error_5xx_next": "Vui lòng thử lại sau ít phút; nếu vẫn không được, liên hệ cơ quan.",
        "check_title": "Kiểm tra văn bản điện tử",
        "check_intro": (
            "Chọn tệp PDF kết quả đã nhận qua thư điện tử hoặc tải về. Cổng kiểm tra chữ ký số, "
            "con dấu QR và đối chiếu với kết quả đã cấp. Tệp không được lưu lại."
        ),
        "check_paper": (
            "Chỉ có bản giấy? Quét con dấu QR trên văn bản bằng camera điện thoại "
            "để mở trang xác minh."
        ),
        "check_file": "Tệp PDF (tối đa {mb} MB)",
        "check_button": "Kiểm tra",
        "check_again": "Kiểm tra tệp khác",
        "check_what": "Những gì đã kiểm tra",
        "check_ok": "Đạt",
        "check_bad": "Không đạt",
        "check_skip": "Không kiểm tra được",
        "check_signature": "Chữ ký số của cơ quan ban hành",
        "check_signature_ok": "Còn nguyên vẹn, ký bằng chứng thư của {signer}.",
        "check_signature_none": "Tệp không có chữ ký số.",
        "check_signature_failed": "Chữ ký số {field} không hợp lệ: {outcome}.",
        "check_signature_stranger": (
            "Chữ ký số không phải bằng chứng thư của cơ quan ban hành trong danh sách tin cậy."
        ),
        "check_changes": "Thay đổi sau khi ký",
        "check_changes_none": "Không có thay đổi nào sau chữ ký của cơ quan.",
        "check_changes_some": (
            "Tệp đã bị thay đổi sau khi cơ quan ký: nội dung hiển thị có thể khác bản gốc."
        ),
        "check_changes_skip": "Không kiểm tra được vì chữ ký số của cơ quan không hợp lệ.",
        "check_seal_ok": "Do cơ quan ban hành tạo, cho đúng tệp này.",
        "check_seal_none": "Tệp không có con dấu QR.",
        "check_seal_forged": "Không phải do cơ quan ban hành tạo: có thể là giả mạo.",
        "check_seal_other_file": "Được tạo cho một văn bản khác, không phải tệp này.",
        "check_registry": "Hồ sơ kết quả trên cổng",
        "check_registry_this": "Cổng đã cấp đúng tệp này: {code}, {state}.",
        "check_registry_other": (
            "Con dấu QR thuộc kết quả {code}, nhưng kết quả đó được cấp bằng một tệp khác."
        ),
        "check_registry_none": "Cổng không cấp tệp này.",
        "check_state_signed": "còn hiệu lực",
        "check_state_published": "còn hiệu lực",
        "check_state_delivered": "còn hiệu lực",
        "check_upload_valid": "Tệp này đúng là văn bản cơ quan đã cấp và còn hiệu lực.",
        "check_upload_revoked": "Tệp này do cơ quan cấp nhưng đã bị thu hồi, không còn giá trị.",
        "check_upload_superseded": (
            "Tệp này do cơ quan cấp nhưng đã được thay thế bằng kết quả đính chính."
        ),
        "check_upload_unknown": "Chữ ký số hợp lệ nhưng cổng này không cấp tệp này.",
        "check_upload_invalid": "Không tin nội dung tệp này: xem lý do bên dưới.",
        "check_open_seal_page": "Mở trang xác minh của kết quả",
        "lookup_none_what": (
            "Hồ sơ này chưa có kết quả trên cổng: hồ sơ chưa giải quyết xong, kết quả không công "
            "khai, hoặc mã hồ sơ chưa đúng."
        ),
        "lookup_none_next": (
            "Kiểm tra lại mã hồ sơ trên giấy tiếp nhận. Khi có kết quả, cơ quan gửi thư điện tử "
            "cho bạn. Kết quả không công khai: nhập mã tra cứu dưới đây để xem."
        ),
        "lookup_superseded_notice": (
            "Kết quả {old} đã được thay thế bằng kết quả đính chính {new}, ký ngày {day}. "
            "Dùng kết quả hiện hành dưới đây; kết quả cũ không còn giá trị."
        ),
        "lookup_revoked_what": (
            "Kết quả này đã bị cơ quan ban hành thu hồi: văn bản không còn giá trị và không tải "
            "về được."
        ),
        "lookup_contact": "Cần hỏi thêm, liên hệ",
        "lookup_contact_default": "bộ phận một cửa nơi bạn đã nộp hồ sơ",
        "lookup_again": "Tra cứu hồ sơ khác",
        "lookup_code_form": "Xem chi tiết và tải kết quả",
        "facts_why": (
            "Con dấu QR hợp lệ chứng minh kết quả có trong hệ thống. Nội dung in trên giấy phải "
            "khớp với các thông tin dưới đây; nếu khác, văn bản giấy đã bị sửa."
        ),
        "invalid_causes": (
            "Nguyên nhân thường gặp: đường dẫn bị cắt ngắn hoặc gõ sai khi sao chép, con dấu QR "
            "bị mờ, rách; hoặc văn bản giả mạo. Hãy quét lại con dấu QR trên bản giấy."
        ),
        "revoked_no_download": "Văn bản đã bị thu hồi không còn giá trị và không tải về được.",
        "unknown_next": (
            "Văn bản có thể do hệ thống của cơ quan khác cấp, hoặc chưa được công bố. "
            "Hỏi cơ quan ban hành trước khi tin dùng."
        ),
        "filter": "Tìm kết quả",
        "filter_all_procedures": "Tất cả thủ tục",
        "filter_to": "Đến ngày",
        "filter_button": "Lọc",
        "filter_clear": "Bỏ lọc",
        "first_page": "Về trang đầu",
        "timeliness": "Tiến độ",
        "results_count_hint": "Mới nhất trước; mỗi trang tối đa {n} kết quả.",
        "stats_period": "Kỳ báo cáo",
        "stats_show": "Xem",
        "stats_range": "Hoặc một khoảng ngày",
        "stats_quarter": "Quý {q}/{year}",
        "stats_month": "Tháng {m:02d}/{year}",
        "stats_year": "Năm {year}",
        "stats_scope": (
            "Số liệu chỉ gồm hồ sơ có kết quả được ký số và trả qua hệ thống này; mỗi hồ sơ tính "
            "một lần, theo kết quả còn hiệu lực sau cùng. Kết quả bị thu hồi không được tính."
        ),
        "stats_agencies": "Cơ quan",
        "stats_all_agencies": "Tất cả cơ quan trên hệ thống",
        "stats_by_month": "Theo tháng",
        "stats_by_procedure": "Theo thủ tục",
        "stats_chart": "Số hồ sơ đã giải quyết theo tháng",
        "stats_kept": "Trước hạn và đúng hạn",
        "stats_month_column": "Tháng",
        "stats_none": "Không có hồ sơ nào được giải quyết trong kỳ này.",
        "date_placeholder": "dd/mm/yyyy",
        "facts_seal_only": (
            "Thông tin dưới đây chỉ đọc từ con dấu QR; hệ thống này không có kết quả để đối chiếu."
        ),
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
        "skip": "Skip to the main content",
        "nav": "Pages",
        "nav_lookup": "Dossier lookup",
        "nav_check": "Check a document",
        "nav_results": "Results issued",
        "nav_statistics": "Statistics",
        "address": "Address",
        "phone": "Phone",
        "email": "E-mail",
        "footer_scope": (
            "This site publishes the results of administrative procedures signed through this "
            "service; people's names are partly hidden (Decree 13/2023/NĐ-CP)."
        ),
        "home_title": "Results of administrative procedures",
        "home_lookup": "Look up my dossier's result",
        "home_lookup_text": (
            "Enter the dossier code on your receipt and your access code to see and download "
            "the result."
        ),
        "home_check": "Check a document",
        "home_check_text": (
            "Scan the QR code on the document with a phone's camera, or upload the PDF to check "
            "its digital signatures and QR seal."
        ),
        "home_check_button": "Check a PDF file",
        "home_browse": "Results and statistics",
        "home_browse_text": "The results issued, and the share of dossiers resolved on time.",
        "dossier_hint": "For example 000.00.14.H49-220301-0012 (any case).",
        "access_hint": (
            "The access code is on your receipt or in the e-mail with the result. Without it you "
            "still see the dossier's status."
        ),
        "lookup_button": "Look up",
        "dossier_not_a_code": (
            "That is not a dossier code. It is the agency's code, the day received and a "
            "number, e.g. 000.00.14.H49-220301-0012."
        ),
        "error_next": "What you can do",
        "error_home": "Go to the home page",
        "error_detail": "Technical detail",
        "error_400": "Something is not right",
        "error_400_what": "What was sent is not in the expected form.",
        "error_400_next": "Check what you typed (the dossier code, the dates) and try again.",
        "error_403": "Not allowed",
        "error_403_what": "This request is not allowed.",
        "error_403_next": "Check the access code, or ask the one-stop desk.",
        "error_404": "Not found",
        "error_404_what": "There is no such page, or the dossier has no result to show.",
        "error_404_next": "Check the link, or look the dossier up from the home page.",
        "error_405": "This page does not open that way",
        "error_405_what": "This page does not take such a request.",
        "error_405_next": "Open it from the home page or from the link in the e-mail.",
        "error_409": "This cannot be done",
        "error_409_what": (
            "The document is no longer in a state that allows it (revoked or replaced)."
        ),
        "error_409_next": "Look the dossier up again to see the current result.",
        "error_413": "Too large",
        "error_413_what": "The file or form sent is over the size allowed.",
        "error_413_next": (
            "Send the result PDF exactly as the agency issued it (usually under 20 MB)."
        ),
        "error_415": "Wrong format",
        "error_415_what": "The site does not take data in this format.",
        "error_415_next": "Use the form on the page to send it.",
        "error_422": "The document cannot be checked",
        "error_422_what": "The file is not a readable PDF, or too complex to check.",
        "error_422_next": "Send the result PDF exactly as the agency issued it, unedited.",
        "error_429": "Too many requests",
        "error_429_what": "Too many requests came from your address in a short time.",
        "error_429_next": "Please try again in {minutes} minute(s).",
        "error_5xx": "The service cannot answer right now",
        "error_5xx_what": "The service is busy or has a problem.",
        "error_5xx_next": "Please try again in a few minutes; if it persists, contact the agency.",
        "check_title": "Check an electronic document",
        "check_intro": (
            "Choose the result's PDF as received by e-mail or downloaded. The site checks its "
            "signature and QR seal against the results issued. The file is not kept."
        ),
        "check_paper": "Only a paper copy? Scan its QR seal with a phone camera instead.",
        "check_file": "PDF file (up to {mb} MB)",
        "check_button": "Check",
        "check_again": "Check another file",
        "check_what": "What was checked",
        "check_ok": "Passed",
        "check_bad": "Failed",
        "check_skip": "Not checked",
        "check_signature": "The issuing agency's signature",
        "check_signature_ok": "Intact, made with the certificate of {signer}.",
        "check_signature_none": "The file carries no signature.",
        "check_signature_failed": "Signature {field} does not hold: {outcome}.",
        "check_signature_stranger": (
            "No signature is made with an issuing agency's certificate in the trust list."
        ),
        "check_changes": "Changes after signing",
        "check_changes_none": "Nothing was changed after the agency signed.",
        "check_changes_some": (
            "The file was changed after the agency signed: what it shows may differ."
        ),
        "check_changes_skip": "Not checked: the agency's signature does not hold.",
        "check_seal_ok": "Made by the issuing agency, for this very file.",
        "check_seal_none": "The file has no QR seal.",
        "check_seal_forged": "Not made by the issuing agency: it may be forged.",
        "check_seal_other_file": "Made for another document, not this file.",
        "check_registry": "The site's record of the result",
        "check_registry_this": "The site issued this very file: {code}, {state}.",
        "check_registry_other": (
            "The QR seal is result {code}'s, but that result was issued as another file."
        ),
        "check_registry_none": "The site did not issue this file.",
        "check_state_signed": "still valid",
        "check_state_published": "still valid",
        "check_state_delivered": "still valid",
        "check_upload_valid": "This file is the document the agency issued, and it still stands.",
        "check_upload_revoked": "The agency issued this file but revoked it: it no longer stands.",
        "check_upload_superseded": "The agency issued this file, then replaced it (a correction).",
        "check_upload_unknown": "The signature holds, but this site did not issue this file.",
        "check_upload_invalid": "Do not trust what this file says: see why below.",
        "check_open_seal_page": "Open the result's verification page",
        "lookup_none_what": (
            "This dossier has no result on the site: it is not resolved yet, its result is not "
            "public, or the dossier code is mistyped."
        ),
        "lookup_none_next": (
            "Check the dossier code on your receipt. When the result is ready, the agency e-mails "
            "you. A result that is not public opens with your access code below."
        ),
        "lookup_superseded_notice": (
            "Result {old} was replaced by the correction {new}, signed on {day}. Use the current "
            "result below; the earlier one no longer stands."
        ),
        "lookup_revoked_what": (
            "The issuing agency revoked this result: the document no longer stands and cannot be "
            "downloaded."
        ),
        "lookup_contact": "For questions, contact",
        "lookup_contact_default": "the one-stop desk where you filed the dossier",
        "lookup_again": "Look up another dossier",
        "lookup_code_form": "See the details and download the result",
        "facts_why": (
            "A valid QR seal proves the result is on record. What is printed on the paper must "
            "match the facts below; if it differs, the paper was altered."
        ),
        "invalid_causes": (
            "Usual causes: a link cut short or mistyped when copied, a blurred or torn QR seal, "
            "or a forged document. Scan the QR seal on the paper again."
        ),
        "revoked_no_download": "A revoked document no longer stands and cannot be downloaded.",
        "unknown_next": (
            "The document may come from another agency's system, or is not published yet. "
            "Ask the issuing agency before relying on it."
        ),
        "filter": "Find results",
        "filter_all_procedures": "All procedures",
        "filter_to": "To",
        "filter_button": "Filter",
        "filter_clear": "Clear",
        "first_page": "First page",
        "timeliness": "Timeliness",
        "results_count_hint": "Newest first; up to {n} results a page.",
        "stats_period": "Period",
        "stats_show": "Show",
        "stats_range": "Or a range of days",
        "stats_quarter": "Q{q} {year}",
        "stats_month": "{m:02d}/{year}",
        "stats_year": "{year}",
        "stats_scope": (
            "Only dossiers whose result was signed and delivered through this service count; "
            "each dossier counts once, through its last result that stands. Revoked results "
            "do not count."
        ),
        "stats_agencies": "Agencies",
        "stats_all_agencies": "Every agency on this service",
        "stats_by_month": "By month",
        "stats_by_procedure": "By procedure",
        "stats_chart": "Dossiers resolved by month",
        "stats_kept": "Ahead of time and on time",
        "stats_month_column": "Month",
        "stats_none": "No dossier was resolved in this period.",
        "date_placeholder": "dd/mm/yyyy",
        "facts_seal_only": (
            "What follows is read from the QR seal alone; this registry holds no result to "
            "compare it with."
        ),
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
