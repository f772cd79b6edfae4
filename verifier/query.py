"""The query parameters of the public routes, read strictly: a bad one is a 400 naming it.

Anyone may send anything here, so every value is checked before it reaches
a query or a cache: days only within the years the registry can hold
(``FIRST_DAY`` to ``LAST_DAY``; outside them a date's arithmetic overflows),
codes by their shape, numbers within their range. ``normalised`` gives the
key an answer is kept under, so that spellings of one question share it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from plumbing.vietnam import VIETNAM_TIME, normalised_code
from plumbing.web.problems import Problem

FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2099, 12, 31)
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_WRITTEN_DAY = re.compile(r"(?P<d>\d{1,2})[/.-](?P<m>\d{1,2})[/.-](?P<y>\d{4})")
# an agency code (QCVN 102:2016, 000.00.14.H49) or a procedure code (1.004227)
CODE = re.compile(r"[0-9A-Za-z.]{1,20}")
DOSSIER_CODE = re.compile(r"^[0-9A-Za-z.]{1,20}-\d{6}-\d{4}$")
MAX_TYPED = 100  # what is read of a dossier code typed by a person


def typed_dossier_code(text: str) -> str:
    """A dossier code as typed: any case, spaces, dashes of any kind, or spaces for dashes."""
    if _AS_STORED.fullmatch(text):  # what links and the QR carry: nothing to do (2 us saved)
        return text
    text = normalised_code(text).translate(_DASHES)
    return re.sub(r"\s*-\s*|\s+", "-", text)


_AS_STORED = re.compile(r"[0-9A-Z.]{1,20}-\d{6}-\d{4}")
_DASHES = str.maketrans(
    {
        "\u2010": "-",
        "\u2011": "-",
        "\u2012": "-",
        "\u2013": "-",
        "\u2014": "-",
        "\u2212": "-",
        "_": "-",
    }
)


def bad(name: str, detail: str) -> Problem:
    return Problem(400, "bad-request", "Bad request", f"{name}: {detail}", field=name)


def day(query: Mapping[str, str], name: str) -> date | None:
    """The day ``name`` gives, or None if absent: YYYY-MM-DD, or dd/mm/yyyy as people write it
    (the portal's forms), within the registry's years."""
    if name not in query:
        return None
    value = query[name].strip()
    try:
        if _DAY.fullmatch(value):
            found = date.fromisoformat(value)
        elif written := _WRITTEN_DAY.fullmatch(value):
            found = date(int(written["y"]), int(written["m"]), int(written["d"]))
        else:
            raise ValueError(value)
    except ValueError:
        raise bad(name, "must be a date, YYYY-MM-DD or dd/mm/yyyy") from None
    if not FIRST_DAY <= found <= LAST_DAY:
        raise bad(name, f"must be a day from {FIRST_DAY} to {LAST_DAY}")
    return found


def code(query: Mapping[str, str], name: str, example: str) -> str | None:
    """An agency or procedure code in capitals (typed in any case, spaces around), or None."""
    value = query.get(name)
    if value is not None:
        value = normalised_code(value)
    if value is not None and not CODE.fullmatch(value):
        raise bad(name, f"must be a code, e.g. {example}")
    return value


def dossier(query: Mapping[str, str], name: str) -> str | None:
    """A dossier code as people type it (``typed_dossier_code``), or None if absent."""
    value = query.get(name)
    if value is None:
        return None
    value = typed_dossier_code(value[:MAX_TYPED])
    if not DOSSIER_CODE.fullmatch(value):
        raise bad(name, "must be a dossier code, e.g. 000.00.14.H49-220301-0012")
    return value


def number(query: Mapping[str, str], name: str, default: int, lowest: int, highest: int) -> int:
    value = query.get(name)
    if value is None:
        return default
    if not value.isascii() or not value.isdigit() or not lowest <= int(value) <= highest:
        raise bad(name, f"must be a whole number from {lowest} to {highest}")
    return int(value)


@dataclass(frozen=True, slots=True)
class Days:
    """Whole days in Vietnam time, both included."""

    first: date
    last: date

    def __post_init__(self) -> None:
        if self.last < self.first:
            raise ValueError("the period ends before it starts")
        if not (self.first >= FIRST_DAY and self.last <= LAST_DAY):
            raise ValueError(f"the period must lie within {FIRST_DAY} to {LAST_DAY}")

    @property
    def bounds(self) -> tuple[datetime, datetime]:
        """The first moment in and the first moment after, as aware datetimes."""
        start = datetime.combine(self.first, time(), VIETNAM_TIME)
        end = datetime.combine(self.last + timedelta(days=1), time(), VIETNAM_TIME)
        return start, end


def start_of(first: date | None) -> datetime | None:
    return datetime.combine(first, time(), VIETNAM_TIME) if first is not None else None


def end_of(last: date | None) -> datetime | None:
    return datetime.combine(last + timedelta(days=1), time(), VIETNAM_TIME) if last else None
