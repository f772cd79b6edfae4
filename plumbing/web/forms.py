"""Reading a small ``application/x-www-form-urlencoded`` form, never past its limit.

The portal's own forms (the lookup form) post a few short fields. The body
is read up to ``limit`` bytes and parsed with the standard library; a
longer body is 413, another media type 415, bytes that are not UTF-8 400.
A file upload goes through ``plumbing.web.multipart`` instead.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from aiohttp import web

from plumbing.web.multipart import media_type, too_large
from plumbing.web.problems import Problem

FORM = "application/x-www-form-urlencoded"


async def read_form(request: web.Request, limit: int = 4096) -> dict[str, str]:
    """The form's fields (the first value of each name); 4xx for anything else."""
    if media_type(request) != FORM:
        raise Problem(415, "unsupported-media-type", "Unsupported media type", f"send {FORM}")
    if (request.content_length or 0) > limit:
        raise too_large("form", limit)
    body = bytearray()
    async for chunk in request.content.iter_chunked(limit + 1):
        body += chunk
        if len(body) > limit:
            raise too_large("form", limit)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise Problem(400, "bad-form", "Bad form", "the form is not UTF-8") from None
    try:
        pairs = parse_qsl(text, keep_blank_values=True, max_num_fields=32)
    except ValueError:
        raise Problem(400, "bad-form", "Bad form", "the form has too many fields") from None
    fields: dict[str, str] = {}
    for name, value in pairs:
        fields.setdefault(name, value)
    return fields
