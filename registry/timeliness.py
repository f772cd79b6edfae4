"""Ahead of time, on time, late: how a resolved dossier stands against its due date.

The rule (Vietnam's one-stop reporting): compare the calendar day, in
Vietnam time, on which the dossier was resolved with the day it was due.
Before the due day: ahead of time (trước hạn); on the due day: on time
(đúng hạn); after it: late (quá hạn). A dossier without a due date is
counted apart and left out of the rate. Rate = (ahead + on time) / resolved.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from plumbing.vietnam import VIETNAM_TIME


class Timeliness(StrEnum):
    AHEAD = "ahead"
    ON_TIME = "on_time"
    LATE = "late"
    NO_DUE = "no_due"


def timeliness(resolved_at: datetime, due_at: datetime | None) -> Timeliness:
    if due_at is None:
        return Timeliness.NO_DUE
    resolved = resolved_at.astimezone(VIETNAM_TIME).date()
    due = due_at.astimezone(VIETNAM_TIME).date()
    if resolved < due:
        return Timeliness.AHEAD
    return Timeliness.ON_TIME if resolved == due else Timeliness.LATE
