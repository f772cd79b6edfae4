"""Errors as RFC 9457 problem documents (``application/problem+json``), naming the field.

Handlers raise ``Problem`` for HTTP-level refusals, or let a ``KetquaError``
through; the middleware translates both here, at the edge, and nothing
else in the service knows about status codes. A client's error is never
logged with a traceback; an unexpected one is, a few times a minute per
route at most (a stranger repeating a request that fails must not flood
the log), with a count of those left out.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from plumbing.errors import Conflict, InputError, KetquaError, NotFound, Unavailable

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "urn:ketqua:problem:"
# fields that name a path or query parameter, not a place in the request body
URL_PARAMETERS = frozenset({"id", "state", "limit", "after"})

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Problem(Exception):
    """An HTTP refusal: status, a short title, what is wrong, and the field at fault."""

    def __init__(
        self,
        status: int,
        slug: str,
        title: str,
        detail: str | None = None,
        *,
        field: str | None = None,
        headers: dict[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(detail or title)
        self.status = status
        self.slug = slug
        self.title = title
        self.detail = detail
        self.field = field
        self.headers = headers or {}
        self.extensions = extensions

    def response(self, instance: str | None = None) -> web.Response:
        body: dict[str, Any] = {
            "type": TYPE_BASE + self.slug,
            "title": self.title,
            "status": self.status,
        }
        if self.detail:
            body["detail"] = self.detail
        if instance:
            body["instance"] = instance
        if self.field:
            body["field"] = self.field
            if self.field not in URL_PARAMETERS:  # a JSON pointer points into the body only
                pointer = "#/" + self.field.replace(".", "/")
                body["errors"] = [{"detail": self.detail or self.title, "pointer": pointer}]
        body.update(self.extensions)
        return web.Response(
            status=self.status,
            body=json.dumps(body, ensure_ascii=False).encode(),
            content_type=PROBLEM_JSON,
            headers=self.headers,
        )


def from_error(exc: KetquaError) -> Problem:
    """The problem a library error stands for, decided here and only here."""
    if isinstance(exc, NotFound):
        return Problem(404, "not-found", "Not found", exc.message, field=exc.field)
    if isinstance(exc, Conflict):
        return Problem(409, "conflict", "Conflict", exc.message, field=exc.field)
    if isinstance(exc, InputError):
        return Problem(422, "invalid", "Invalid input", exc.message, field=exc.field)
    if isinstance(exc, Unavailable):  # comes back by itself: say when to try again
        return Problem(
            503, "unavailable", "Service unavailable", exc.message, headers={"Retry-After": "5"}
        )
    return Problem(503, "unavailable", "Service unavailable", exc.message)


def status_of(exc: BaseException) -> int:
    """The status the middleware will answer ``exc`` with (for an audit row, a metric)."""
    if isinstance(exc, Problem):
        return exc.status
    if isinstance(exc, KetquaError):
        return from_error(exc).status
    if isinstance(exc, web.HTTPException):
        return exc.status
    return 500


_HTTP_SLUGS = {
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    413: ("too-large", "Payload too large"),
}


class LogThrottle:
    """At most ``burst`` records per ``window`` seconds per key; says how many it held back."""

    def __init__(self, burst: int = 5, window: float = 60.0) -> None:
        self.burst = burst
        self.window = window
        self._seen: dict[str, tuple[float, int, int]] = {}  # key: window start, logged, held

    def allow(self, key: str, now: float | None = None) -> tuple[bool, int]:
        """Whether to log this one, and how many were held back before it."""
        now = time.monotonic() if now is None else now
        start, logged, held = self._seen.get(key, (now, 0, 0))
        if now - start >= self.window:
            start, logged = now, 0
        if logged < self.burst:
            self._seen[key] = (start, logged + 1, 0)
            return True, held
        self._seen[key] = (start, logged, held + 1)
        return False, 0


_throttle = LogThrottle()


def _route(request: web.Request) -> str:
    info = request.match_info.route.resource
    return f"{request.method} {info.canonical if info is not None else 'unmatched'}"


ProblemPage = Callable[[web.Request, Problem], web.StreamResponse | None]


def problems(page: ProblemPage | None = None) -> Callable[..., Awaitable[web.StreamResponse]]:
    """The middleware that answers every refusal as a problem document.

    ``page``: a service's own answer for people (an HTML page for a browser);
    when it gives None, the problem document is the answer.
    """

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except Problem as refusal:
            return _answer(request, refusal, page)
        except KetquaError as exc:
            return _answer(request, from_error(exc), page)
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            slug, title = _HTTP_SLUGS.get(exc.status, ("http-error", exc.reason))
            headers = {k: v for k, v in exc.headers.items() if k.lower() == "allow"}
            http = Problem(exc.status, slug, title, exc.reason, headers=headers)
            return _answer(request, http, page)
        except Exception:
            route = _route(request)
            allowed, held = _throttle.allow(route)
            if allowed:
                more = f" ({held} more like it not logged)" if held else ""
                log.exception("unhandled error on %s%s", route, more)
            internal = Problem(500, "internal", "Internal error", "see the service log")
            return _answer(request, internal, page)

    return middleware


def _answer(
    request: web.Request, problem: Problem, page: ProblemPage | None
) -> web.StreamResponse:
    if page is not None:
        try:
            shown = page(request, problem)
        except Exception:  # a page for people must never cost the answer itself
            log.exception("the error page for %s failed", _route(request))
            shown = None
        if shown is not None:
            return shown
    return problem.response(request.path)


problems_middleware = problems()
