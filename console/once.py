"""A secret shown once: a new account's first password or a new API key, after a redirect.

The POST that makes the secret keeps it here and redirects to a page that
takes it (post, redirect, get): reloading that page shows nothing again and
posts nothing again, and the secret leaves memory the first time it is
read, or after ``TTL`` seconds unread. Only the session that made it can
read it. Bounded: at most ``LIMIT`` unread secrets.
"""

from __future__ import annotations

import secrets
import time
from typing import Generic, TypeVar

from registry.staff import Session

TTL = 300.0
LIMIT = 100

T = TypeVar("T")


class ShownOnce(Generic[T]):
    def __init__(self) -> None:
        self._kept: dict[str, tuple[str, float, T]] = {}

    def keep(self, session: Session, value: T) -> str:
        """Keep ``value`` for ``session``; the key of the page that shows it."""
        now = time.monotonic()
        for key in [k for k, (_, at, _) in self._kept.items() if now - at > TTL]:
            del self._kept[key]
        while len(self._kept) >= LIMIT:
            del self._kept[next(iter(self._kept))]
        key = secrets.token_urlsafe(16)
        self._kept[key] = (session.token_sha256, now, value)
        return key

    def take(self, session: Session, key: str) -> T | None:
        """The value kept under ``key`` for this session, once; None after that."""
        kept = self._kept.get(key)
        if kept is None or kept[0] != session.token_sha256:
            return None
        del self._kept[key]
        _, at, value = kept
        return value if time.monotonic() - at <= TTL else None
