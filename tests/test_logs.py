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


# Nothing a request carries forges a line: control characters escaped, traces indented


RECORD_START = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} ")
FORGED = "x\n2026-12-06 09:00:00,000 INFO    ketqua.serve: ready\r\n\x1b[2J"


def written(out: io.StringIO) -> list[str]:
    assert logs._writer is not None
    logs._writer.stop()
    return out.getvalue().splitlines()


def test_a_path_or_a_message_cannot_start_a_line_of_its_own(captured: io.StringIO) -> None:
    logs.configure("text", "INFO", stream=captured)
    request = make_mocked_request("GET", "/v/" + FORGED)
    logs.AccessLog(logging.getLogger("aiohttp.access"), "").log(
        request, web.Response(status=200), 0.001
    )
    logging.getLogger("ketqua.test").warning("part %s", FORGED, extra={"path": FORGED})
    try:
        raise ValueError(FORGED)
    except ValueError:
        logging.getLogger("ketqua.test").exception("failed")
    lines = written(captured)
    starts = [line for line in lines if RECORD_START.match(line)]
    assert len(starts) == 3, lines  # one line per record starts with a time, no more
    assert all(line.startswith("    ") for line in lines if not RECORD_START.match(line))
    assert "\\x1b[2J" in lines[0]  # the access line: the path as it came
    assert "part x\\n2026-12-06 09:00:00,000 INFO" in lines[1]
    assert "path=x\\n2026" in lines[1]
    assert not any("\x1b" in line or "\r" in line for line in lines)


def test_a_malformed_request_is_one_warning_without_a_trace(captured: io.StringIO) -> None:
    from aiohttp.http_exceptions import BadHttpMessage

    logs.configure("text", "INFO", stream=captured)
    try:
        raise BadHttpMessage("Invalid header token:\n\n    b'GET /x\\ny'")
    except BadHttpMessage:
        logging.getLogger("aiohttp.server").exception("Error handling request from 127.0.0.1")
    try:
        raise RuntimeError("ours")
    except RuntimeError:
        logging.getLogger("aiohttp.server").exception("Error handling request")
    lines = written(captured)
    assert "WARNING aiohttp.server: malformed request: 400, message:" in lines[0]
    assert not lines[1].startswith("    ")  # the client's error ends in its own line
    assert "ERROR   aiohttp.server: Error handling request" in lines[1]
    assert "Traceback" in lines[2]  # a server error keeps its trace


def test_repeated_server_errors_are_logged_a_few_times_a_minute() -> None:
    from plumbing.web.problems import LogThrottle

    throttle = LogThrottle(burst=3, window=60.0)
    decisions = [throttle.allow("GET /x", now=float(i)) for i in range(10)]
    assert [allowed for allowed, _ in decisions] == [True] * 3 + [False] * 7
    assert throttle.allow("GET /y", now=10.0) == (True, 0)  # another route has its own
    assert throttle.allow("GET /x", now=61.0) == (True, 7)  # a new minute says what it held
