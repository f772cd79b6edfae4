"""Serving a service's OpenAPI document: read once at start, sent as stored."""

from __future__ import annotations

import json
from pathlib import Path

from aiohttp import web

from plumbing.web.problems import Handler


def openapi_handler(path: Path) -> Handler:
    body = path.read_bytes()
    json.loads(body)  # a broken document stops the start, not a client's request

    async def openapi(_request: web.Request) -> web.StreamResponse:
        return web.Response(body=body, content_type="application/json")

    return openapi
