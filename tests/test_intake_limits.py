"""Over-size uploads are refused while they stream, before the whole body is read."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest

from tests.pdfs import result_pdf
from tests.service import Service, create_api_key, submission, unique_metadata

pytestmark = pytest.mark.slow  # a service of its own with small limits

LIMIT_MB = 1


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Service, str]]:
    home: Path = tmp_path_factory.mktemp("small") / "home"
    svc = Service(home, env={"KETQUA_WORKERS": "1", "KETQUA_MAX_DOCUMENT_MB": str(LIMIT_MB)})
    svc.start()
    yield svc, create_api_key(home)
    svc.stop()


async def test_a_declared_size_over_the_limit_is_refused_at_once(
    small: tuple[Service, str],
) -> None:
    service, key = small
    pdf = result_pdf() + b"%" + b"x" * (2 * LIMIT_MB * 1024 * 1024) + b"\n%%EOF\n"
    headers = {"Authorization": f"Bearer {key}"}
    async with (
        aiohttp.ClientSession(service.signer_url, headers=headers) as client,
        client.post("/api/v1/results", data=submission(unique_metadata(), pdf)) as response,
    ):
        body = await response.json(content_type=None)
    assert response.status == 413
    assert body["field"] == "document"
    assert body["limit"] == LIMIT_MB * 1024 * 1024


async def test_a_streamed_body_is_cut_off_at_the_limit(small: tuple[Service, str]) -> None:
    service, key = small
    sent = 0
    total = 40 * LIMIT_MB * 1024 * 1024
    boundary = "ketqua-test-boundary"
    metadata = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="metadata"\r\n'
        f"Content-Type: application/json\r\n\r\n"
    ).encode()
    metadata += json.dumps(unique_metadata()).encode() + b"\r\n"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="document"; '
        f'filename="big.pdf"\r\nContent-Type: application/pdf\r\n\r\n'
    ).encode()

    async def body() -> AsyncIterator[bytes]:
        nonlocal sent
        yield metadata + head + b"%PDF-1.7\n"
        chunk = b"x" * 65536
        while sent < total:
            sent += len(chunk)
            yield chunk
            await asyncio.sleep(0.002)  # a client on a real network, not a memory copy
        yield f"\r\n--{boundary}--\r\n".encode()

    headers = {
        "Authorization": f"Bearer {key}",
        "Content-Type": f"multipart/form-data; boundary={boundary}",
    }
    status = None
    async with aiohttp.ClientSession(service.signer_url, headers=headers) as client:
        try:
            async with client.post("/api/v1/results", data=body()) as response:
                # the answer came while the client was still sending (the server then
                # discards what is still on its way for a moment, as aiohttp does)
                sent_at_answer = sent
                status = response.status
                problem = await response.json(content_type=None)
        except aiohttp.ClientError:
            pytest.fail("the service closed the connection without answering 413")
    assert status == 413, problem
    assert problem["field"] == "document"
    # the service stopped reading long before the end (no Content-Length: chunked)
    assert sent_at_answer < total / 2, f"{sent_at_answer} of {total} bytes sent before the answer"
    async with (
        aiohttp.ClientSession(service.signer_url) as client,
        client.get("/healthz") as health,
    ):
        assert health.status == 200  # and it keeps running
