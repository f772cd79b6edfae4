"""Personal data shown partly: enough for the operator to tell which, not enough to harvest.

``mask_email("an.nguyen@example.vn")`` is ``"a***n@example.vn"``; addresses
inside a text (a server's reply that quotes the recipient) are masked the
same way by ``mask_emails``. ``mask_name("Nguyễn Văn An")`` is
``"Nguyễn V** A*"``: the family name, then each other word's first letter
(Decree 13/2023: public pages show masked names only).
"""

from __future__ import annotations

import re

_EMAIL = re.compile(r"([^\s<>@,;:\"]+)@([A-Za-z0-9.-]+\.[A-Za-z]{2,})")


def mask_email(address: str) -> str:
    local, _, domain = address.rpartition("@")
    if not local:
        return "***"
    shown = local[0] + "***" + (local[-1] if len(local) > 2 else "")
    return f"{shown}@{domain}"


def mask_emails(text: str) -> str:
    return _EMAIL.sub(lambda m: mask_email(m.group(0)), text)


def mask_name(name: str) -> str:
    words = name.split()
    if not words:
        return ""
    return " ".join([words[0], *(w[0] + "*" * (len(w) - 1) for w in words[1:])])
