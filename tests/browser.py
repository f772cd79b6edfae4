"""Headless Chromium (Debian's package), driven over the DevTools protocol with aiohttp.

Enough of the protocol for the tests: open a page at a phone's size, wait
for it to load, evaluate an expression, take a screenshot. No browser
download and no extra driver: ``chromium --remote-debugging-port``.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import aiohttp

from tests.smtp import free_port


class Chromium:
    def __init__(self, width: int = 390, height: int = 844) -> None:
        self.width = width
        self.height = height
        self._ids = itertools.count(1)
        self._process: subprocess.Popen[bytes] | None = None
        self._profile: tempfile.TemporaryDirectory[str] | None = None
        self._session: aiohttp.ClientSession | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._events: list[dict[str, Any]] = []

    async def __aenter__(self) -> Chromium:
        binary = shutil.which("chromium")
        assert binary is not None, "chromium is not installed (make test installs it)"
        port = free_port()
        # chromium's helpers may still write to the profile as it exits
        self._profile = tempfile.TemporaryDirectory(
            prefix="ketqua-chromium-", ignore_cleanup_errors=True
        )
        self._process = subprocess.Popen(  # noqa: ASYNC220 - returns at once
            [
                binary,
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-extensions",
                f"--remote-debugging-port={port}",
                f"--user-data-dir={self._profile.name}",
                f"--window-size={self.width},{self.height}",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        target = await self._page_target(port)
        self._ws = await self._session.ws_connect(target, max_msg_size=64 * 1024 * 1024)
        await self.send(
            "Emulation.setDeviceMetricsOverride",
            width=self.width,
            height=self.height,
            deviceScaleFactor=1,
            mobile=True,
        )
        await self.send("Page.enable")
        return self

    async def _page_target(self, port: int) -> str:
        assert self._session is not None
        for _ in range(150):
            with contextlib.suppress(aiohttp.ClientError):
                async with self._session.get(f"http://127.0.0.1:{port}/json/list") as response:
                    for target in await response.json():
                        if target.get("type") == "page":
                            return str(target["webSocketDebuggerUrl"])
            await asyncio.sleep(0.1)
        raise AssertionError("chromium did not open its DevTools port")

    async def send(self, method: str, **params: Any) -> dict[str, Any]:
        assert self._ws is not None
        call_id = next(self._ids)
        await self._ws.send_json({"id": call_id, "method": method, "params": params})
        while True:
            message = await asyncio.wait_for(self._ws.receive_json(), 30)
            if message.get("id") == call_id:
                assert "error" not in message, message
                result: dict[str, Any] = message.get("result", {})
                return result
            self._events.append(message)

    async def open(self, url: str) -> None:
        self._events.clear()
        await self.send("Page.navigate", url=url)
        assert self._ws is not None
        while not any(e.get("method") == "Page.loadEventFired" for e in self._events):
            self._events.append(await asyncio.wait_for(self._ws.receive_json(), 30))

    async def evaluate(self, expression: str) -> Any:
        answer = await self.send("Runtime.evaluate", expression=expression, returnByValue=True)
        return answer["result"].get("value")

    async def settle(self, expression: str) -> Any:
        """``expression``'s value once the promise it gives settles (axe.run, a form post)."""
        answer = await self.send(
            "Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True
        )
        assert "exceptionDetails" not in answer, answer
        return answer["result"].get("value")

    async def navigated_by(self, expression: str) -> None:
        """Run ``expression`` (a click, a form's submit) and wait for the page it loads."""
        self._events.clear()
        await self.send("Runtime.evaluate", expression=expression)
        assert self._ws is not None
        while not any(e.get("method") == "Page.loadEventFired" for e in self._events):
            self._events.append(await asyncio.wait_for(self._ws.receive_json(), 30))

    async def resize(self, width: int, height: int, *, mobile: bool) -> None:
        self.width, self.height = width, height
        await self.send(
            "Emulation.setDeviceMetricsOverride",
            width=width,
            height=height,
            deviceScaleFactor=1,
            mobile=mobile,
        )

    async def screenshot(self, path: Path) -> Path:
        shot = await self.send("Page.captureScreenshot", format="png")
        await asyncio.to_thread(_write, path, base64.b64decode(shot["data"]))
        return path

    async def __aexit__(self, *exc: object) -> None:
        if self._ws is not None:
            await self._ws.close()
        if self._session is not None:
            await self._session.close()
        if self._process is not None:
            self._process.terminate()
            try:
                await asyncio.to_thread(self._process.wait, 10)
            except subprocess.TimeoutExpired:
                self._process.kill()
        if self._profile is not None:
            self._profile.cleanup()


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
