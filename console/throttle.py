"""Wrong passwords, counted per client and per account, so that guessing stops early.

A client (``ClientAddress``) may give 9 wrong passwords in 15 minutes; the
tenth and everything after it is refused (429) until the oldest of them is
15 minutes old, without the password being checked. An account that took
20 wrong passwords in 15 minutes, from any clients, refuses every client
that gave a wrong password in that time: a guesser spread over many
addresses is stopped, and the clerk at a desk that typed nothing wrong still
signs in (a lock on the account itself would let any stranger lock a clerk
out). Counts live in memory (one process, one count) and are bounded.

A try is charged as wrong before its password is checked (``charge``) and
refunded once it proved right (``refund``): tries sent at the same moment
see each other, so a burst of guesses gets no more than the limit.
"""

from __future__ import annotations

import time
from collections import deque

WINDOW = 15 * 60.0
CLIENT_FAILURES = 9  # the tenth wrong password is refused
ACCOUNT_FAILURES = 20
MAX_KEYS = 100_000  # clients and accounts remembered; past it, the oldest are forgotten


class LoginThrottle:
    def __init__(
        self,
        window: float = WINDOW,
        per_client: int = CLIENT_FAILURES,
        per_account: int = ACCOUNT_FAILURES,
    ) -> None:
        self.window = window
        self.per_client = per_client
        self.per_account = per_account
        self._clients: dict[str, deque[float]] = {}
        self._accounts: dict[str, deque[float]] = {}

    def wait(self, client: str, account: str, now: float | None = None) -> float:
        """Seconds ``client`` must wait before trying ``account``; 0.0: it may try now."""
        now = time.monotonic() if now is None else now
        mine = self._recent(self._clients, client, now)
        if len(mine) >= self.per_client:
            return mine[-self.per_client] + self.window - now
        theirs = self._recent(self._accounts, account.casefold(), now)
        if len(theirs) >= self.per_account and mine:
            return mine[0] + self.window - now
        return 0.0

    def charge(self, client: str, account: str, now: float | None = None) -> tuple[float, float]:
        """Take a try: (seconds to wait, nothing taken), or (0.0, its time), counted as a
        wrong password until ``refund``ed."""
        now = time.monotonic() if now is None else now
        wait = self.wait(client, account, now)
        if wait > 0:
            return wait, now
        self.failed(client, account, now)
        return 0.0, now

    def refund(self, client: str, account: str, at: float) -> None:
        """The try charged at ``at`` was the right password: it no longer counts."""
        for table, key in ((self._clients, client), (self._accounts, account.casefold())):
            times = table.get(key)
            if times is not None and at in times:
                times.remove(at)
                if not times:
                    del table[key]

    def failed(self, client: str, account: str, now: float | None = None) -> float:
        """Count a wrong password; the seconds to wait before the next try (0.0: none)."""
        now = time.monotonic() if now is None else now
        for table, key in ((self._clients, client), (self._accounts, account.casefold())):
            if key not in table and len(table) >= MAX_KEYS:
                del table[next(iter(table))]
            table.setdefault(key, deque(maxlen=max(self.per_client, self.per_account))).append(now)
        return self.wait(client, account, now)

    def _recent(self, table: dict[str, deque[float]], key: str, now: float) -> deque[float]:
        times = table.get(key)
        if times is None:
            return deque()
        while times and times[0] <= now - self.window:
            times.popleft()
        if not times:
            del table[key]
        return times
