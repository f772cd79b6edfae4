"""What strangers send the public routes answers 4xx, never 500, and cannot forge a log line.

Each case was a 500 (or a forged line) before: days a date cannot hold, a
lookup page for a dossier without a result, a CMS naming a digest no one
knows, a newline at the end of a dossier code, a path that carries a log
line, a request line that is not HTTP. Property-based and schema-driven runs
(``test_public_input.py``, ``test_schemathesis.py``) look for the rest.
"""

from __future__ import annotations

import re
import socket
from urllib.parse import urlsplit

import aiohttp
import pytest

from tests.hostile import unknown_digest, with_cms
from tests.service import Client, Service, issue

pytestmark = pytest.mark.slow  # the real verifier

OUT_OF_RANGE = [
    ("/api/v1/statistics?period=0000", "period"),
    ("/api/v1/statistics?period=9999", "period"),
    ("/api/v1/statistics?from=0001-01-01&to=9999-12-31", "from"),
    ("/api/v1/statistics?from=2022-01-01&to=9999-12-31", "to"),
    ("/api/v1/published?to=9999-12-31", "to"),
    ("/api/v1/published?from=0001-01-01", "from"),
    ("/api/v1/published?from=2022-1-1", "from"),
    ("/api/v1/published?limit=%EF%BC%91", "limit"),  # a full-width digit: int() takes it
    ("/api/v1/published.atom?to=9999-12-31", "to"),
    ("/ket-qua?to=9999-12-31", "to"),
    ("/thong-ke?period=0000", "period"),
    ("/api/v1/lookup/000.00.14.H49-2203%0A01-0012", "dossier_code"),
]


async def test_a_code_typed_in_lower_case_or_with_spaces_and_a_newline_is_read_as_typed(
    client: Client,
) -> None:
    # people type codes: any case, spaces or a line break around them; nothing of that
    # reaches the answer or a log line
    for typed in ("000.00.14.h49-220301-0012%0A", "%20000.00.14.H49-220301-0012%20"):
        async with client.session.get(
            f"{client.service.verifier_url}/api/v1/lookup/{typed}"
        ) as response:
            body = await response.json(content_type=None)
        assert response.status == 200, body
        assert body["dossier_code"] == "000.00.14.H49-220301-0012"


@pytest.mark.parametrize(("path", "field"), OUT_OF_RANGE)
async def test_a_value_out_of_range_is_a_400_naming_it(
    client: Client, path: str, field: str
) -> None:
    async with client.session.get(client.service.verifier_url + path) as response:
        body = await response.json(content_type=None)
        assert response.status == 400, body
        assert body["field"] == field


async def test_the_lookup_page_of_a_dossier_without_a_result_offers_the_form(
    client: Client,
) -> None:
    url = client.service.verifier_url + "/tra-cuu/000.00.14.H49-220301-0099"
    async with client.session.get(url) as response:
        assert response.status == 200
        page = await response.text()
    assert '<input id="ma" name="ma"' in page


async def test_a_cms_naming_an_unknown_digest_is_a_failed_signature(client: Client) -> None:
    result = await issue(client, "unknown-digest")
    pdf = with_cms(await client.document(result["id"]), unknown_digest)
    form = aiohttp.FormData()
    form.add_field("document", pdf, filename="x.pdf", content_type="application/pdf")
    url = client.service.verifier_url + "/api/v1/verify"
    async with client.session.post(url, data=form) as response:
        body = await response.json()
        assert response.status == 200, body
    assert body["verdict"] == "invalid"
    (signature,) = body["signatures"]
    assert (signature["indication"], signature["sub_indication"]) == (
        "TOTAL_FAILED",
        "FORMAT_FAILURE",
    )


def raw(service: Service, request: bytes) -> bytes:
    address = urlsplit(service.verifier_url)
    assert address.hostname is not None
    assert address.port is not None
    with socket.create_connection((address.hostname, address.port), timeout=10) as conn:
        conn.sendall(request)
        return conn.recv(4096).split(b"\r\n", 1)[0]


def test_no_request_forges_a_log_line_or_logs_a_trace(service: Service) -> None:
    offset = len(service.settled_log())
    forged = "%0D%0A2026-12-06%2009:00:00,000%20INFO%20%20%20%20ketqua.serve:%20ready"
    answers = [
        raw(service, f"GET /v/x{forged} HTTP/1.1\r\nHost: x\r\n\r\n".encode()),
        raw(service, f"GET /tra-cuu/x{forged} HTTP/1.1\r\nHost: x\r\n\r\n".encode()),
        raw(service, b"GET /x\ny HTTP/1.1\r\n\r\n"),  # not HTTP
        raw(service, b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n"),  # TLS hello
    ]
    assert all(a.startswith(b"HTTP/1.") for a in answers), answers
    assert not any(b" 500 " in a for a in answers), answers
    written = service.settled_log()[offset:]
    lines = written.splitlines()
    start = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} ")
    assert all(start.match(line) or line.startswith("    ") for line in lines), written
    assert "ketqua.serve: ready" not in "\n".join(
        line for line in lines if start.match(line) and "ketqua.serve" in line[24:45]
    )
    assert "Traceback" not in written
    assert "malformed request" in written
