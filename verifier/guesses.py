"""Wrong access codes, counted so that strangers cannot lock an applicant out.

- **Per client** (``ClientAddress``: the client a trusted proxy names, an IPv6
  client as its /64): an allowance of ``per_client`` wrong codes, one more
  every ``refill`` seconds (10, then one every 6 minutes: 10 an hour). When it
  is spent, that client gets 429 with ``Retry-After``; nobody else does.
- **Overall**: a budget of ``overall_per_hour`` wrong codes across all clients
  (bursts of ``overall_burst``). When it is spent, clients that guessed wrong
  lately wait until it refills; a client without a recent wrong guess is still
  answered, so the holder of the right code is never stopped by what others
  did, and a crowd of addresses gets one try each, not a thousand.
- **Per dossier**: nothing that refuses anyone. A dossier that draws many
  wrong codes in an hour is logged (once an hour) for the operator.

The tables are bounded (``max_clients``, the oldest entry out first) and an
entry is forgotten once its allowance has refilled.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from dataclasses import dataclass

log = logging.getLogger(__name__)


@dataclass
class _Allowance:
    left: float
    at: float


class Guesses:
    def __init__(
        self,
        *,
        per_client: int = 10,
        refill: float = 360.0,
        overall_per_hour: int = 1000,
        overall_burst: int = 200,
        max_clients: int = 100_000,
        dossier_alarm: int = 50,
    ) -> None:
        self.per_client = per_client
        self.refill = refill
        self.overall_rate = overall_per_hour / 3600.0
        self.overall_burst = overall_burst
        self.max_clients = max_clients
        self.dossier_alarm = dossier_alarm
        self._clients: OrderedDict[str, _Allowance] = OrderedDict()
        self._overall = _Allowance(float(overall_burst), 0.0)
        self._dossiers: OrderedDict[str, tuple[float, int]] = OrderedDict()
        self._swept: float | None = None

    def _client(self, client: str, now: float) -> _Allowance | None:
        entry = self._clients.get(client)
        if entry is not None:
            entry.left = min(self.per_client, entry.left + max(0.0, now - entry.at) / self.refill)
            entry.at = now
        return entry

    def _overall_left(self, now: float) -> float:
        budget = self._overall
        gained = max(0.0, now - budget.at) * self.overall_rate
        budget.left = min(self.overall_burst, budget.left + gained)
        budget.at = now
        return budget.left

    def wait(self, client: str, now: float | None = None) -> float:
        """Seconds ``client`` must wait before its next code is checked (0: check it now)."""
        now = time.monotonic() if now is None else now
        entry = self._client(client, now)
        if entry is None or entry.left >= self.per_client:
            return 0.0  # no wrong code lately: always answered
        if entry.left < 1:
            return (1 - entry.left) * self.refill
        if self._overall_left(now) < 1:
            return (1 - self._overall.left) / self.overall_rate
        return 0.0

    def failed(self, client: str, dossier: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        self._sweep(now)
        entry = self._client(client, now) or _Allowance(float(self.per_client), now)
        entry.left -= 1
        self._clients[client] = entry
        self._clients.move_to_end(client)
        while len(self._clients) > self.max_clients:
            self._clients.popitem(last=False)
        self._overall_left(now)
        self._overall.left = max(0.0, self._overall.left - 1)
        self._count(dossier, now)

    def succeeded(self, client: str) -> None:
        self._clients.pop(client, None)

    @property
    def clients(self) -> int:
        """Clients with a wrong code not yet forgiven (bounded by ``max_clients``)."""
        return len(self._clients)

    def _count(self, dossier: str, now: float) -> None:
        since, count = self._dossiers.pop(dossier, (now, 0))
        if now - since >= 3600:
            since, count = now, 0
        count += 1
        self._dossiers[dossier] = (since, count)
        while len(self._dossiers) > self.max_clients:
            self._dossiers.popitem(last=False)
        if count == self.dossier_alarm:
            log.warning(
                "dossier %s: %d wrong access codes within an hour (someone may be guessing; "
                "each client is limited, the applicant is not)",
                dossier,
                count,
            )

    def _sweep(self, now: float) -> None:
        """Forget clients whose allowance has refilled (at most once a minute)."""
        if self._swept is None:
            self._swept = now
        if now - self._swept < 60:
            return
        self._swept = now
        full = self.per_client * self.refill
        for client in [c for c, a in self._clients.items() if now - a.at >= full]:
            del self._clients[client]
