"""The service's log lines: the access line built directly reads as the formatter's would."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from ketqua import logs


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    yield io.StringIO()
    logging.getLogger().handlers[:] = []


def access_line(fmt: str, out: io.StringIO) -> str:
    logs.configure(fmt, "INFO", stream=out)
    request = make_mocked_request("GET", "/V/2KCEHIIB")
    logs.AccessLog(logging.getLogger("aiohttp.access"), "").log(
        request, web.Response(status=200), 0.0012
    )
    logging.getLogger("ketqua.test").info(
        "%s %s %d",
        "GET",
        "/V/2KCEHIIB",
        200,
        extra={"method": "GET", "path": "/V/2KCEHIIB", "status": 200, "ms": 1.2},
    )
    assert logs._writer is not None
    logs._writer.stop()
    lines = out.getvalue().splitlines()
    assert len(lines) == 2, lines
    return "\n".join(lines)


def test_the_text_access_line_matches_the_text_formatter(captured: io.StringIO) -> None:
    fast, formatted = access_line("text", captured).splitlines()
    pattern = r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO    "
    assert re.match(pattern, fast), fast
    assert re.match(pattern, formatted), formatted
    # the same words after the time stamp, but for the logger's name
    assert fast[24:].replace("aiohttp.access", "X") == formatted[24:].replace("ketqua.test", "X")


def test_the_json_access_line_matches_the_json_formatter(captured: io.StringIO) -> None:
    fast, formatted = (json.loads(line) for line in access_line("json", captured).splitlines())
    for entry in (fast, formatted):
        del entry["time"], entry["logger"]
    assert fast == formatted
