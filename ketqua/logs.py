"""The service's logs: plain text for a terminal, or JSON lines for a collector.

Records carry structured fields (``result_id``, ``job_id``, ``status``...)
passed as ``extra``. What must never reach a log (keys, passphrases, API
keys, applicants' names and emails) is simply never put in a record: the
code logs ids and codes, not metadata.
"""

from __future__ import annotations

import atexit
import json
import logging
import logging.handlers
import queue
import sys
from datetime import UTC, datetime
from typing import Any

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


class Text(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = [
            f"{name}={record.__dict__[name]}"
            for name in FIELDS
            if record.__dict__.get(name) is not None
        ]
        return f"{line} [{' '.join(fields)}]" if fields else line


_listener: logging.handlers.QueueListener | None = None


def configure(fmt: str = "text", level: str = "INFO") -> None:
    """Records are queued by the thread that logs and written by a thread of their own.

    Formatting the line and writing it (a terminal, a pipe, a file) never holds
    up the event loop: a full pipe to a slow log collector would otherwise stall
    every request. The queue is drained at exit.
    """
    global _listener
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLines() if fmt == "json" else Text())
    if _listener is not None:
        _listener.stop()
    records: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
    _listener = logging.handlers.QueueListener(records, handler, respect_handler_level=True)
    _listener.start()
    atexit.register(_listener.stop)
    root = logging.getLogger()
    root.handlers[:] = [logging.handlers.QueueHandler(records)]
    root.setLevel(level)
    # pyHanko warns about lenient parsing of odd PDFs: noise for an operator
    for name in ("pyhanko", "pyhanko_certvalidator", "alembic"):
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))


class AccessLog(AbstractAccessLogger):
    """One record per request: method, path (ids only: no personal data in paths), status, ms."""

    def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
        self.logger.info(
            "%s %s %d",
            request.method,
            request.path,
            response.status,
            extra={
                "method": request.method,
                "path": request.path,
                "status": response.status,
                "ms": round(time * 1000, 1),
            },
        )
