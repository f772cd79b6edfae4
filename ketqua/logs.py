"""The service's logs: plain text for a terminal, or JSON lines for a collector.

Records carry structured fields (``result_id``, ``job_id``, ``status``...)
passed as ``extra``. What must never reach a log (keys, passphrases, API
keys, applicants' names and emails) is simply never put in a record: the
code logs ids and codes, not metadata.

Nothing a request carries can forge a line: in the text format control
characters are escaped (``\\n``, ``\\x1b``) in the message and the fields,
and the lines of a traceback are indented under its record, so that only a
record's first line starts with a time; JSON escapes by itself. A client's
malformed request is one line, never a traceback.
"""

from __future__ import annotations

import atexit
import collections
import json
import logging
import re
import sys
import threading
import time as _time
from datetime import UTC, datetime
from typing import Any, TextIO

from aiohttp.abc import AbstractAccessLogger
from aiohttp.web import BaseRequest, StreamResponse

# the ``extra`` fields a record may carry, in the order they are shown
FIELDS = ("service", "result_id", "job_id", "api_key", "method", "path", "status", "ms")


class JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in FIELDS:
            value = record.__dict__.get(name)
            if value is not None:
                entry[name] = value
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


# C0 and C1 controls, DEL, and the Unicode line and paragraph separators
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def printable(text: str) -> str:
    """``text`` on one line: every control character as its escape (``\\n``, ``\\x1b``)."""
    if not _CONTROL.search(text):
        return text
    return _CONTROL.sub(lambda m: m.group(0).encode("unicode_escape").decode("ascii"), text)


class Text(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = (
            f"{self.formatTime(record)} {record.levelname:<7} {record.name}: "
            f"{printable(record.getMessage())}"
        )
        fields = [
            f"{name}={printable(str(record.__dict__[name]))}"
            for name in FIELDS
            if record.__dict__.get(name) is not None
        ]
        if fields:
            line = f"{line} [{' '.join(fields)}]"
        if record.exc_info:
            # under the record's own line, every line indented: none can pass for a record
            trace = self.formatException(record.exc_info)
            line += "".join(f"\n    {printable(part)}" for part in trace.splitlines())
        return line


class ClientErrors(logging.Filter):
    """aiohttp logs a client's malformed request (a bad request line, a bad header) with a
    traceback, as an error of its own: one warning line instead, without the stack."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        status = getattr(error, "code", None) if error is not None else None
        if isinstance(status, int) and 400 <= status < 500:
            first = str(error).strip().splitlines()[0] if str(error).strip() else ""
            record.msg, record.args = "malformed request: %s", (first,)
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            record.exc_info = record.exc_text = None
        return True


class _BatchWriter(threading.Thread):
    """Writes the lines formatted so far every ``interval`` seconds, in one write.

    Lines are formatted where they are logged (a few microseconds) and only
    the write happens here: one wake-up and one system call per batch, so the
    event loop neither waits on a slow pipe nor trades the GIL with this
    thread for every line.
    """

    def __init__(self, stream: TextIO, interval: float = 0.05) -> None:
        super().__init__(name="log-writer", daemon=True)
        self.lines: collections.deque[str] = collections.deque()
        self.stream = stream
        self.interval = interval
        self._stopping = threading.Event()

    def run(self) -> None:
        while not self._stopping.wait(self.interval):
            self.drain()
        self.drain()

    def drain(self) -> None:
        lines = self.lines
        batch = [lines.popleft() for _ in range(len(lines))]
        if batch:
            try:
                self.stream.write("\n".join(batch) + "\n")
                self.stream.flush()
            except (OSError, ValueError):  # the stream is gone (closed at exit)
                pass

    def stop(self) -> None:
        self._stopping.set()
        self.join(timeout=5)


class _LineHandler(logging.Handler):
    """Formats each record at once and leaves the line for the writer thread."""

    def __init__(self, writer: _BatchWriter, formatter: logging.Formatter) -> None:
        super().__init__()
        self.writer = writer
        self.setFormatter(formatter)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.writer.lines.append(self.format(record))  # deque.append: thread-safe
        except Exception:
            self.handleError(record)


_writer: _BatchWriter | None = None
_json = False


def configure(fmt: str = "text", level: str = "INFO", stream: TextIO | None = None) -> None:
    """One line per record, written in batches by a thread of its own (every 50 ms).

    Formatting the line and writing it (a terminal, a pipe, a file) never holds
    up the event loop: a full pipe to a slow log collector would otherwise stall
    every request. What is left is written at exit.
    """
    global _writer, _json
    if _writer is not None:
        _writer.stop()
    _writer = _BatchWriter(stream or sys.stderr)
    _writer.start()
    atexit.register(_writer.stop)
    _json = fmt == "json"
    root = logging.getLogger()
    root.handlers[:] = [_LineHandler(_writer, JsonLines() if _json else Text())]
    root.setLevel(level)
    # pyHanko warns about lenient parsing of odd PDFs: noise for an operator
    for name in ("pyhanko", "pyhanko_certvalidator", "alembic"):
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
    # a library's warning about a stranger's input (aiohttp: a malformed Content-Disposition)
    # would go to stderr as it is; as a record it is one escaped line like every other
    logging.captureWarnings(True)
    server = logging.getLogger("aiohttp.server")
    if not any(isinstance(f, ClientErrors) for f in server.filters):
        server.addFilter(ClientErrors())


class _Clock:
    """The text format's time stamp, its seconds part made once a second."""

    def __init__(self) -> None:
        self._second = -1
        self._text = ""

    def stamp(self, now: float) -> str:
        second = int(now)
        if second != self._second:
            self._second = second
            self._text = _time.strftime("%Y-%m-%d %H:%M:%S", _time.localtime(second))
        return f"{self._text},{int((now - second) * 1000):03d}"


_clock = _Clock()


class AccessLog(AbstractAccessLogger):
    """One line per request: method, path (ids only: no personal data in paths), status, ms.

    The line is the one ``Text`` or ``JsonLines`` would make of the record, built
    directly: a request is answered in tens of microseconds, and a ``LogRecord``
    through the logging machinery costs as much again.
    """

    def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
        if _writer is None or not self.logger.isEnabledFor(logging.INFO):
            self.logger.info("%s %s %d", request.method, request.path, response.status)
            return
        method, path, status, ms = (
            request.method,
            request.path,
            response.status,
            round(time * 1000, 1),
        )
        if not _json:  # JSON escapes by itself; a path is a stranger's text
            method, path = printable(method), printable(path)
        now = _time.time()
        if _json:
            line = json.dumps(
                {
                    "time": datetime.fromtimestamp(now, UTC).isoformat(timespec="milliseconds"),
                    "level": "info",
                    "logger": self.logger.name,
                    "message": f"{method} {path} {status}",
                    "method": method,
                    "path": path,
                    "status": status,
                    "ms": ms,
                },
                ensure_ascii=False,
            )
        else:
            line = (
                f"{_clock.stamp(now)} INFO    {self.logger.name}: {method} {path} {status} "
                f"[method={method} path={path} status={status} ms={ms}]"
            )
        _writer.lines.append(line)
