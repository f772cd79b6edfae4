"""Personal data shown partly: enough for its owner to recognise, not enough to harvest.

``mask_email("an.nguyen@example.vn")`` is ``"a***n@example.vn"``; addresses
inside a text (a server's reply that quotes the recipient) are masked the
same way by ``mask_emails``. ``mask_name("Nguyễn Văn An")`` is
``"Nguyễn V*** A***"``: the family name, then each other word's first
letter and a fixed ``***``, so the mask tells neither the words' lengths
nor their letters (README, personal data: why this form). A one-word name
keeps its first letter only. Text is NFC-normalised first, so a name typed
with combining accents masks the same as its precomposed spelling.
Organisations are not personal data (Decree 13/2023 protects natural
persons): ``public_name`` shows their names in full.
"""

from __future__ import annotations

import re
import unicodedata

_EMAIL = re.compile(r"([^\s<>@,;:\"]+)@([A-Za-z0-9.-]+\.[A-Za-z]{2,})")
HIDDEN = "***"


def mask_email(address: str) -> str:
    local, _, domain = address.rpartition("@")
    if not local:
        return HIDDEN
    shown = local[0] + HIDDEN + (local[-1] if len(local) > 2 else "")
    return f"{shown}@{domain}"


def mask_emails(text: str) -> str:
    return _EMAIL.sub(lambda m: mask_email(m.group(0)), text)


def mask_name(name: str) -> str:
    words = unicodedata.normalize("NFC", name).split()
    if not words:
        return ""
    if len(words) == 1:
        return words[0][0] + HIDDEN
    return " ".join([words[0], *(w[0] + HIDDEN for w in words[1:])])


def public_name(name: str, kind: str) -> str:
    """What the public sees of an applicant: an organisation in full, a person masked."""
    if kind == "organization":
        return " ".join(unicodedata.normalize("NFC", name).split())
    return mask_name(name)
