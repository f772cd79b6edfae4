"""``POST /api/v1/verify`` against a real ``ketqua serve``: each kind of file, the right answer.

A good file, a byte flipped, a page changed in an incremental update after
signing, an unsigned PDF, something that is not a PDF, a truncated PDF, a
revoked result, the issued file with an update appended: each gets its
indication in the ETSI EN 319 102-1 vocabulary and one verdict; none a 500.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

from tests.officials import Hierarchy, official_signed
from tests.pdfs import result_pdf
from tests.service import Client, Service, create_api_key, issue, unique_metadata

pytestmark = pytest.mark.slow  # uploads to the real verifier

PATH = "/api/v1/verify"


async def issued(client: Client, tag: str) -> tuple[dict[str, Any], bytes]:
    result = await issue(client, tag)
    return result, await client.document(result["id"])


async def check(client: Client, data: bytes, expect: int = 200) -> Any:
    form = aiohttp.FormData()
    form.add_field("document", data, filename="upload.pdf", content_type="application/pdf")
    async with client.session.post(client.service.verifier_url + PATH, data=form) as response:
        body = await response.json(content_type=None)
        assert response.status == expect, body
        return body


def page_changed(pdf: bytes) -> bytes:
    """What a forger does: draw on the signed page in an incremental update."""
    writer = IncrementalPdfFileWriter(BytesIO(pdf))
    page = writer.root["/Pages"]["/Kids"][0].get_object()
    extra = writer.add_object(
        generic.StreamObject(stream_data=b"BT /F1 24 Tf 100 100 Td (KHONG DAT) Tj ET")
    )
    contents = page["/Contents"]
    existing = list(contents) if isinstance(contents, generic.ArrayObject) else [contents]
    page["/Contents"] = generic.ArrayObject([*existing, extra])
    writer.update_container(page)
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


async def test_the_issued_file_is_valid_with_every_fact(client: Client) -> None:
    result, pdf = await issued(client, "upload-good")
    report = await check(client, pdf)
    assert report["verdict"] == "valid", report
    [signature] = report["signatures"]
    assert signature["indication"] == "TOTAL_PASSED"
    assert signature["sub_indication"] is None
    assert signature["covers_whole_document"] is True
    assert signature["modifications_after"] == "none"
    assert signature["level"] == "B-B"
    assert signature["signing_time"].endswith("+07:00")
    assert signature["signer_fingerprint"] == result["signature"]["signer_fingerprint"]
    assert "Ủy ban nhân dân huyện Vân Đồn" in signature["signer"]
    assert report["seal"]["genuine"] is True
    assert report["seal"]["binds_this_file"] is True
    assert report["seal"]["verification_code"] == result["signature"]["verification_code"]
    assert report["registry"]["match"] == "this_file"
    assert report["registry"]["result_code"] == result["result_code"]
    assert report["document"]["sha256"] == result["signature"]["document_sha256"]


async def test_a_flipped_byte_is_a_hash_failure(client: Client) -> None:
    _, pdf = await issued(client, "upload-flip")
    flipped = bytearray(pdf)
    flipped[len(pdf) // 3] ^= 0x01
    report = await check(client, bytes(flipped))
    assert report["verdict"] == "invalid"
    [signature] = report["signatures"]
    assert (signature["indication"], signature["sub_indication"]) == (
        "TOTAL_FAILED",
        "HASH_FAILURE",
    )


async def test_a_page_changed_after_signing_is_caught(client: Client) -> None:
    _, pdf = await issued(client, "upload-forged")
    report = await check(client, page_changed(pdf))
    assert report["verdict"] == "invalid"
    [signature] = report["signatures"]
    assert signature["indication"] == "INDETERMINATE"
    assert signature["sub_indication"] == "SIG_CONSTRAINTS_FAILURE"
    assert signature["covers_whole_document"] is False
    assert signature["modifications_after"] == "other"


async def test_an_unsigned_pdf_has_no_signature_to_stand_on(client: Client) -> None:
    report = await check(client, result_pdf(trailing_text="unsigned"))
    assert report["verdict"] == "invalid"
    assert report["signatures"] == []
    assert report["seal"] is None
    assert report["registry"]["match"] == "none"


async def test_what_cannot_be_read_is_a_422_naming_the_document(client: Client) -> None:
    _, pdf = await issued(client, "upload-bad")
    for data, reason in (
        (b"PK\x03\x04 not a pdf at all", "not a PDF"),
        (pdf[: len(pdf) // 2], "cannot be read"),
        (b"", "not a PDF"),
    ):
        problem = await check(client, data, expect=422)
        assert problem["field"] == "document"
        assert reason in problem["detail"], problem


async def test_a_revoked_result_checks_as_revoked(client: Client) -> None:
    result, pdf = await issued(client, "upload-revoked")
    await client.revoke(result["id"], "sai thông tin")
    report = await check(client, pdf)
    assert report["verdict"] == "revoked"
    assert report["signatures"][0]["indication"] == "TOTAL_PASSED"  # the signature holds


async def test_the_issued_file_with_something_appended_is_not_the_issued_file(
    client: Client,
) -> None:
    _, pdf = await issued(client, "upload-appended")
    writer = IncrementalPdfFileWriter(BytesIO(pdf))
    writer.root["/Lang"] = generic.TextStringObject("vi")
    writer.update_root()
    out = BytesIO()
    writer.write(out)
    report = await check(client, out.getvalue())
    assert report["registry"]["match"] == "other_file"
    assert report["verdict"] == "invalid", report


@pytest.fixture
def small_verifier(tmp_path: Path) -> Iterator[Service]:
    home = tmp_path / "home"
    env = {"KETQUA_VERIFY_MAX_MB": "0.05"}
    service = Service(home, env=env).start()
    create_api_key(home)
    yield service
    service.stop()


async def test_an_upload_over_the_limit_is_refused_while_it_streams(
    small_verifier: Service,
) -> None:
    big = result_pdf(trailing_text="x" * 80_000)
    form = aiohttp.FormData()
    form.add_field("document", big, filename="big.pdf", content_type="application/pdf")
    url = small_verifier.verifier_url + PATH
    async with aiohttp.ClientSession() as session, session.post(url, data=form) as response:
        problem = await response.json(content_type=None)
        assert response.status == 413
    assert problem["field"] == "document"
    assert problem["limit"] == int(0.05 * 1024 * 1024)


@pytest.fixture(
    params=[
        ({"KETQUA_VERIFY_MAX_PAGES": "2"}, "more than 2"),
        ({"KETQUA_VERIFY_TIMEOUT": "0.001"}, "took longer than"),
    ],
    ids=["pages", "time"],
)
def limited_verifier(
    tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[tuple[Service, str]]:
    env, reason = request.param
    service = Service(tmp_path / "home", env=env).start()
    yield service, reason
    service.stop()


async def test_too_many_pages_or_too_long_a_check_is_a_422(
    limited_verifier: tuple[Service, str],
) -> None:
    verifier, reason = limited_verifier
    form = aiohttp.FormData()
    form.add_field(
        "document", result_pdf(pages=3), filename="x.pdf", content_type="application/pdf"
    )
    async with aiohttp.ClientSession() as session:
        async with session.post(verifier.verifier_url + PATH, data=form) as response:
            problem = await response.json(content_type=None)
            assert response.status == 422, problem
        assert reason in problem["detail"], problem
        assert problem["field"] == "document"
        # the service goes on (after a timeout, with a fresh pool)
        async with session.get(verifier.verifier_url + "/healthz") as response:
            assert response.status == 200


async def test_an_officials_signature_validates_beside_the_agencys_under_a_national_root(
    client: Client, national: Hierarchy
) -> None:
    from tests.decision import decision_pdf

    # pyHanko's signing runs its own event loop: in a thread beside the test's
    document = await asyncio.to_thread(
        official_signed, decision_pdf(1, trailing_text="official upload"), national
    )
    status, body = await client.submit(unique_metadata(), document)
    assert status == 202, body
    await client.wait_for({body["id"]}, "published", within=60)
    report = await check(client, await client.document(body["id"]))
    assert report["verdict"] == "valid", report
    official, agency = report["signatures"]
    assert official["indication"] == "TOTAL_PASSED"  # chains to the configured anchor
    assert "Trần Thị Bình" in official["signer"]
    assert official["agency_code"] is None
    assert official["modifications_after"] == "form_filling"  # the agency's signature only
    assert agency["indication"] == "TOTAL_PASSED"
    assert agency["agency_code"] == "000.00.14.H49"
