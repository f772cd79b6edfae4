"""Vietnamese facts both services use: the time the stamps and pages show (UTC+7, no DST)."""

from __future__ import annotations

from datetime import timedelta, timezone

VIETNAM_TIME = timezone(timedelta(hours=7), "ICT")
