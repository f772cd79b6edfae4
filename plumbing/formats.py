"""Dates, times and numbers as people in Vietnam read them; ISO 8601 stays in JSON.

``day`` gives ``05/01/2022``, ``moment`` ``05/01/2022 14:03:07`` (both in
Vietnam time, whatever zone the value carries), ``iso`` the ISO 8601 form
with ``+07:00`` that Decree 30 asks for in a signature's text form.
Numbers: ``3.728`` and ``99,92%`` in Vietnamese, ``3,728`` and ``99.92%``
in English (the language is the reader's, not the number's).
"""

from __future__ import annotations

from datetime import date, datetime

from plumbing.vietnam import VIETNAM_TIME


def day(value: date | datetime) -> str:
    """``dd/mm/yyyy``; an aware time counts as its calendar day in Vietnam."""
    if isinstance(value, datetime):
        value = _in_vietnam(value).date()
    return f"{value.day:02d}/{value.month:02d}/{value.year:04d}"


def moment(value: datetime) -> str:
    """``dd/mm/yyyy hh:mm:ss`` in Vietnam time."""
    local = _in_vietnam(value)
    return f"{day(local)} {local:%H:%M:%S}"


def iso(value: datetime) -> str:
    """ISO 8601 to the second in Vietnam time: ``2022-03-14T10:00:00+07:00``."""
    return _in_vietnam(value).isoformat(timespec="seconds")


def whole(value: int, lang: str = "vi") -> str:
    """``3.728`` (vi) or ``3,728`` (en)."""
    grouped = f"{value:,d}"
    return grouped.replace(",", ".") if lang == "vi" else grouped


def percent(value: float, lang: str = "vi", places: int = 2) -> str:
    """``99,92%`` (vi) or ``99.92%`` (en) for 99.92."""
    text = f"{value:,.{places}f}"
    if lang == "vi":
        text = text.translate(str.maketrans(",.", ".,"))
    return f"{text}%"


def _in_vietnam(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("a time shown to people must carry its time zone")
    return value.astimezone(VIETNAM_TIME)
