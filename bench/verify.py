"""The verifier under load: QR page requests per second, against a bare aiohttp page.

Measured in one run, on this machine, with ``wrk`` (Debian package; 2
threads, 64 connections, 10 s, on loopback):

  baseline   a bare aiohttp handler returning a small HTML page (the same
             size as the verdict page), in its own process
  verifier   ``GET /V/{seal}`` on a real ``ketqua serve`` (default settings, the
             rate limit raised so that one address may flood it): the seal
             verified against the trust list, the registry read, the page
             rendered, for a published result

Printed: both rates, their ratio (target >= 0.5) and the verifier's p99
latency (target < 50 ms); then PDF uploads checked per second
(``POST /api/v1/verify`` with the signed 1-page result, 4 clients).

Run: ``make bench`` (or ``.venv/bin/python bench/verify.py``).
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import summary  # bench/summary.py, beside this file

from tests.load import wrk
from tests.pdfs import result_pdf
from tests.service import Client, Service, create_api_key, unique_metadata
from tests.smtp import free_port

BARE = """
import sys
from aiohttp import web
PAGE = ("<!DOCTYPE html><html><head><meta charset=utf-8><title>ok</title></head><body>"
        + "<p>x</p>" * 500 + "</body></html>")
async def page(request):
    return web.Response(text=PAGE, content_type="text/html")
app = web.Application()
app.router.add_get("/V/{seal}", page)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
"""


async def published_seal(service: Service, key: str) -> tuple[str, bytes]:
    async with aiohttp.ClientSession() as session:
        client = Client(session, service, key)
        status, body = await client.submit(unique_metadata(), result_pdf())
        assert status == 202, body
        await client.wait_for({body["id"]}, "published", within=60)
        result = await client.result(body["id"])
        return "/V/" + result["verification_url"].rsplit("/", 1)[1], await client.document(
            body["id"]
        )


async def uploads(url: str, pdf: bytes, count: int, clients: int = 4) -> float:
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(count):
        queue.put_nowait(n)

    async with aiohttp.ClientSession() as session:

        async def client() -> None:
            while not queue.empty():
                queue.get_nowait()
                form = aiohttp.FormData()
                form.add_field("document", pdf, filename="kq.pdf", content_type="application/pdf")
                async with session.post(url, data=form) as response:
                    report = await response.json()
                    assert report["verdict"] == "valid", report

        started = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(clients)))
        return count / (time.perf_counter() - started)


def main() -> None:
    port = free_port()
    bare = subprocess.Popen([sys.executable, "-c", BARE, str(port)])
    with tempfile.TemporaryDirectory(prefix="ketqua-bench-verify-") as tmp:
        env = {"KETQUA_VERIFY_RATE": "10000", "KETQUA_VERIFY_BURST": "100000"}
        service = Service(Path(tmp) / "home", env=env).start()
        try:
            key = create_api_key(service.home)
            path, pdf = asyncio.run(published_seal(service, key))
            time.sleep(0.5)
            base_rate, base_p99 = wrk(f"http://127.0.0.1:{port}{path}")
            rate, p99 = wrk(service.verifier_url + path)
            upload_rate = asyncio.run(uploads(service.verifier_url + "/api/v1/verify", pdf, 60))
        finally:
            service.stop()
            bare.terminate()
            bare.wait(10)
    print("verifier benchmark: wrk -t2 -c64 -d10s on loopback, 2 cores")
    print(f"{'contender':44s} {'req/s':>9s} {'p99 ms':>8s} {'vs bare':>8s}")
    print(f"{'bare aiohttp page':44s} {base_rate:9.0f} {base_p99:8.1f} {1.0:7.2f}x")
    print(
        f"{'GET /V/{{seal}} (verdict page)':44s} {rate:9.0f} {p99:8.1f} {rate / base_rate:7.2f}x"
    )
    print(f"uploads checked (POST /api/v1/verify, 4 clients): {upload_rate:.1f}/s")
    summary.record(
        "verifier: verdict page (GET /V/{seal})",
        f"{rate:.0f} req/s",
        f"bare aiohttp page {base_rate:.0f} req/s",
        rate / base_rate,
    )


if __name__ == "__main__":
    main()
