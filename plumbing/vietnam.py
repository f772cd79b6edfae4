"""Vietnamese facts both services use: the time the stamps and pages show (UTC+7, no DST)."""

from __future__ import annotations

from datetime import timedelta, timezone

VIETNAM_TIME = timezone(timedelta(hours=7), "ICT")

# an agency's identifier code (QCVN 102:2016): V1V2V3.Z1Z2.Y1Y2.Hnn, e.g. 000.00.14.H49
AGENCY_CODE = r"[0-9A-Z]{3}\.[0-9A-Z]{2}\.[0-9A-Z]{2}\.[A-Z][0-9]{2}"
