"""Vietnamese facts both services use: Vietnam time (UTC+7, no DST) and the codes' shapes.

An agency's identifier code (QCVN 102:2016/BTTTT) is ``V1V2V3.Z1Z2.Y1Y2.H1H2H3``:
the level-1 unit last (a province, ``H49`` for Quảng Ninh: ``000.00.00.H49``
is its People's Committee), then level 2 (``Y``), 3 (``Z``) and 4 (``V``);
a level left at zeros has no level below it filled in. Which codes are real
is the province's list, not ours: a service signs for the codes it is
configured with. Codes are typed by people, so they are read in any case
and with spaces around them (``normalised_code``).
"""

from __future__ import annotations

import re
from datetime import timedelta, timezone

VIETNAM_TIME = timezone(timedelta(hours=7), "ICT")

AGENCY_CODE = r"[0-9A-Z]{3}\.[0-9A-Z]{2}\.[0-9A-Z]{2}\.[A-Z][0-9]{2}"
_AGENCY_PARTS = re.compile(
    r"(?P<v>[0-9A-Z]{3})\.(?P<z>[0-9A-Z]{2})\.(?P<y>[0-9A-Z]{2})\.[A-Z][0-9]{2}"
)


def normalised_code(text: str) -> str:
    """A code as people type it, in the form it is stored: no surrounding spaces, capitals."""
    return text.strip().upper()


def agency_code_fault(code: str) -> str | None:
    """Why ``code`` is not a QCVN 102:2016 agency code, or None if it is one."""
    parts = _AGENCY_PARTS.fullmatch(code)
    if parts is None:
        return "must look like 000.00.14.H49 (QCVN 102:2016: V1V2V3.Z1Z2.Y1Y2.H1H2H3)"
    if parts["y"] == "00" and parts["z"] != "00":
        return "names a level-3 unit (Z1Z2) under no level-2 unit (Y1Y2 is 00)"
    if parts["z"] == "00" and parts["v"] != "000":
        return "names a level-4 unit (V1V2V3) under no level-3 unit (Z1Z2 is 00)"
    return None
