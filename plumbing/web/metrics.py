"""Prometheus metrics of one service process: HTTP requests by route and status, plus
whatever the services register; ``GET /metrics`` renders them in the text format.

One ``CollectorRegistry`` per process object (not the library's global one),
so that tests can run several services side by side.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Middleware
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
)
from prometheus_client.exposition import generate_latest

from plumbing.web.problems import Handler

Refresh = Callable[[], Awaitable[None]]


class Metrics:
    def __init__(self) -> None:
        disable_created_metrics()  # type: ignore[no-untyped-call]  # *_created: noise
        self.registry = CollectorRegistry()
        self.http_requests = Counter(
            "ketqua_http_requests",
            "HTTP requests answered, by service, route and status",
            ["service", "method", "route", "status"],
            registry=self.registry,
        )
        self.http_seconds = Histogram(
            "ketqua_http_request_seconds",
            "HTTP request latency, by service and route",
            ["service", "route"],
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self._refreshers: list[Refresh] = []
        # labels() validates and locks on every call: the children, once made, are kept
        self._children: dict[tuple[str, str, str, str], tuple[Any, Any]] = {}

    def on_scrape(self, refresh: Refresh) -> None:
        """``refresh`` updates gauges from the database before each scrape."""
        self._refreshers.append(refresh)

    def middleware(self, service: str) -> Middleware:
        @web.middleware
        async def count(request: web.Request, handler: Handler) -> web.StreamResponse:
            started = time.perf_counter()
            status = 500
            try:
                response = await handler(request)
                status = response.status
                return response
            except web.HTTPException as exc:
                status = exc.status
                raise
            finally:
                key = (service, request.method, route_name(request), str(status))
                children = self._children.get(key)
                if children is None:
                    children = self._children[key] = (
                        self.http_requests.labels(*key),
                        self.http_seconds.labels(service, key[2]),
                    )
                children[0].inc()
                children[1].observe(time.perf_counter() - started)

        return count

    async def handler(self, _request: web.Request) -> web.Response:
        for refresh in self._refreshers:
            await refresh()
        return web.Response(
            body=generate_latest(self.registry), headers={"Content-Type": CONTENT_TYPE_LATEST}
        )


def route_name(request: web.Request) -> str:
    """The route's template (``/api/v1/results/{id}``), never the raw path: bounded labels."""
    info = request.match_info.route.resource
    return info.canonical if info is not None else "unmatched"
