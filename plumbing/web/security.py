"""Security headers on every response, and per-client rate limits for the public routes.

Headers: a strict Content-Security-Policy (our own styles only, no script,
no frames, no third-party anything), ``nosniff``, no referrer, no framing.
``ClientAddress`` says who a request comes from (behind a trusted proxy, the
client it names; an IPv6 client as its /64); every limit counts by it. A
rate limit is a token bucket per client (``rate`` requests a second, bursts
of ``burst``) on the paths it is given; over it, 429 with ``Retry-After`` as
a problem document. Buckets live in memory: one process, one count; an idle
bucket is dropped once it has refilled.
"""

from __future__ import annotations

import ipaddress
import math
import time
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from dataclasses import dataclass

from aiohttp import web
from aiohttp.typedefs import Middleware

from plumbing.web.problems import Problem

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


def too_many_requests(wait: float, why: str) -> Problem:
    """429 with ``Retry-After`` in whole seconds (at least 1): ``why``, then when to retry."""
    seconds = max(1, math.ceil(wait))
    return Problem(
        429,
        "too-many-requests",
        "Too many requests",
        f"{why}; try again in {seconds} s",
        headers={"Retry-After": str(seconds)},
    )


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        response = await handler(request)
    except web.HTTPException as exc:  # redirects and aiohttp's own errors get them too
        _add(exc.headers)
        raise
    _add(response.headers)
    return response


def _add(headers: MutableMapping[str, str]) -> None:
    # a page may choose its own (the console's forms need Referrer-Policy: same-origin)
    for name, value in HEADERS.items():
        headers.setdefault(name, value)


class ClientAddress:
    """Who a request comes from, as the limits count it.

    The peer's address, or, when the peer is a trusted reverse proxy, the
    address it appended last to ``X-Forwarded-For`` (earlier ones are the
    client's own claims and could be anything). An IPv6 client counts as its
    /64: one home or one cloud machine holds a whole /64, and counting each
    of its addresses apart would give one client billions of allowances.
    """

    def __init__(self, trusted_proxies: Iterable[str] = ()) -> None:
        # addresses and networks ("10.0.0.5", "172.30.80.0/24"): single addresses are a set
        # lookup on each request; a peer is parsed only when networks are configured
        networks = [ipaddress.ip_network(p, strict=False) for p in trusted_proxies]
        self._proxies = frozenset(str(n.network_address) for n in networks if n.num_addresses == 1)
        self._proxy_networks = tuple(n for n in networks if n.num_addresses > 1)

    def is_proxy(self, request: web.Request) -> bool:
        """Whether the peer is a trusted reverse proxy (whose forwarded headers count)."""
        peer = request.remote or "?"
        return peer in self._proxies or bool(self._proxy_networks and self._in_proxy_network(peer))

    def of(self, request: web.Request) -> str:
        peer = request.remote or "?"
        client = peer
        if self.is_proxy(request):
            forwarded = request.headers.get("X-Forwarded-For", "")
            client = forwarded.rsplit(",", 1)[-1].strip() or peer
        return _counted_as(client)

    def _in_proxy_network(self, peer: str) -> bool:
        try:
            address = ipaddress.ip_address(peer)
        except ValueError:
            return False
        return any(address in network for network in self._proxy_networks)


def _counted_as(client: str) -> str:
    if ":" not in client:
        return client  # IPv4 (or whatever a proxy wrote): as it is
    try:
        address = ipaddress.IPv6Address(client.split("%", 1)[0])
    except ValueError:
        return client[:64]  # a proxy's oddity: bounded, still one key
    if address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(ipaddress.IPv6Network((address, 64), strict=False))


@dataclass
class _Bucket:
    tokens: float
    at: float


class RateLimit:
    """Token buckets per client for the paths starting with ``prefixes``."""

    def __init__(
        self,
        rate: float,
        burst: int,
        prefixes: tuple[str, ...],
        clients: ClientAddress | None = None,
        *,
        what: str = "requests",
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("a rate limit needs rate > 0 and burst >= 1")
        self.rate = rate
        self.burst = burst
        self.prefixes = prefixes
        self.clients = clients or ClientAddress()
        self.what = what
        self._buckets: dict[str, _Bucket] = {}
        self._swept = time.monotonic()

    def wait_for(self, address: str, now: float | None = None) -> float:
        """Take a token for ``address``: 0.0 if one was there, else seconds until one is."""
        now = time.monotonic() if now is None else now
        self._sweep(now)
        bucket = self._buckets.get(address)
        if bucket is None:
            bucket = self._buckets[address] = _Bucket(float(self.burst), now)
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.at) * self.rate)
        bucket.at = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return 0.0
        return (1 - bucket.tokens) / self.rate

    def _sweep(self, now: float) -> None:
        full_after = self.burst / self.rate
        if now - self._swept < max(full_after, 10.0):
            return
        self._swept = now
        for address in [a for a, b in self._buckets.items() if now - b.at >= full_after]:
            del self._buckets[address]

    def middleware(self) -> Middleware:
        @web.middleware
        async def limit(request: web.Request, handler: Handler) -> web.StreamResponse:
            if request.path.startswith(self.prefixes):
                wait = self.wait_for(self.clients.of(request))
                if wait > 0:
                    raise too_many_requests(
                        wait, f"more than {self.rate:g} {self.what} a second from one address"
                    )
            return await handler(request)

        return limit
