"""The signer's intake API over HTTP, against a real ``ketqua serve``: what a back office sees."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from seal import decode_seal, seal_from_text
from tests.console import StaffBrowser, add_user
from tests.pdfs import result_pdf
from tests.service import (
    Service,
    create_api_key,
    query,
    run_ketqua,
    submission,
    unique_metadata,
)

pytestmark = pytest.mark.slow  # the real signer API

TIMEOUT = aiohttp.ClientTimeout(total=60)
PROBLEM = "application/problem+json"


@pytest.fixture
async def client(service: Service, api_key: str) -> AsyncIterator[aiohttp.ClientSession]:
    headers = {"Authorization": f"Bearer {api_key}"}
    async with aiohttp.ClientSession(service.signer_url, headers=headers, timeout=TIMEOUT) as s:
        yield s


async def submit(
    client: aiohttp.ClientSession, metadata: dict[str, Any] | bytes, document: bytes
) -> tuple[int, dict[str, Any]]:
    async with client.post("/api/v1/results", data=submission(metadata, document)) as response:
        return response.status, await response.json(content_type=None)


async def wait_for(
    client: aiohttp.ClientSession, result_id: str, *states: str, seconds: float = 60
) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        async with client.get(f"/api/v1/results/{result_id}") as response:
            body: dict[str, Any] = await response.json()
        if body["state"] in states:
            return body
        assert asyncio.get_running_loop().time() < deadline, f"still {body['state']}: {body}"
        await asyncio.sleep(0.1)


def assert_problem(status: int, body: dict[str, Any], expected: int, field: str | None) -> None:
    assert status == expected, body
    assert body["status"] == expected
    assert body["type"].startswith("urn:ketqua:problem:")
    assert body["title"]
    assert body.get("field") == field, body


async def test_a_result_is_accepted_signed_and_published(client: aiohttp.ClientSession) -> None:
    pdf = result_pdf(trailing_text="published")
    status, accepted = await submit(client, unique_metadata(), pdf)
    assert status == 202, accepted
    assert accepted["state"] == "queued"
    done = await wait_for(client, accepted["id"], "published", "failed")
    assert done["state"] == "published", done
    assert [e["state"] for e in done["events"]] == ["queued", "signing", "signed", "published"]
    assert done["events"][0]["actor"] != "pipeline"  # attributed to the API key
    signature = done["signature"]
    assert signature["level"] == "B-B"
    assert signature["signed_at"].endswith("+07:00")
    assert done["original"] == {"sha256": hashlib.sha256(pdf).hexdigest(), "size": len(pdf)}
    async with client.get(done["links"]["document"]) as response:
        assert response.status == 200
        assert response.content_type == "application/pdf"
        signed = await response.read()
        etag = response.headers["ETag"]
    assert hashlib.sha256(signed).hexdigest() == signature["document_sha256"]
    assert signed.startswith(pdf)  # an incremental update of exactly what was sent
    claims = decode_seal(seal_from_text(done["verification_url"])).claims
    assert claims.binds(signed)
    assert claims.dossier_code == done["dossier_code"]
    for tags in (etag, f'"other", W/{etag}', "*"):
        async with client.get(done["links"]["document"], headers={"If-None-Match": tags}) as again:
            assert again.status == 304, tags


async def test_the_same_submission_again_is_the_same_result(client: aiohttp.ClientSession) -> None:
    metadata, pdf = unique_metadata(), result_pdf(trailing_text="twice")
    first_status, first = await submit(client, metadata, pdf)
    second_status, second = await submit(client, metadata, pdf)
    assert (first_status, second_status) == (202, 200)
    assert second["id"] == first["id"]


async def test_other_bytes_under_the_same_number_conflict(client: aiohttp.ClientSession) -> None:
    metadata = unique_metadata()
    _, first = await submit(client, metadata, result_pdf(trailing_text="one"))
    status, body = await submit(client, metadata, result_pdf(trailing_text="two"))
    assert_problem(status, body, 409, "document")
    assert body["existing"] == first["id"]
    assert "supersedes" in body["detail"]


async def test_a_correction_supersedes_the_result_it_corrects(
    client: aiohttp.ClientSession,
) -> None:
    metadata = unique_metadata()
    _, old = await submit(client, metadata, result_pdf(trailing_text="first"))
    await wait_for(client, old["id"], "published")
    corrected = result_pdf(trailing_text="corrected")
    status, new = await submit(client, {**metadata, "supersedes": old["id"]}, corrected)
    assert status == 202, new
    assert new["result_no"] == 2
    assert new["result_code"].endswith("-KQ2")
    new_done = await wait_for(client, new["id"], "published")
    assert new_done["supersedes"] == old["id"]
    claims = decode_seal(seal_from_text(new_done["verification_url"])).claims
    assert claims.result_no == 2
    async with client.get(f"/api/v1/results/{old['id']}") as response:
        old_now = await response.json()
    assert old_now["state"] == "superseded"
    assert old_now["superseded_by"] == new["id"]
    # the same correction again: the same answer, no third result
    status, again = await submit(client, {**metadata, "supersedes": old["id"]}, corrected)
    assert (status, again["id"]) == (200, new["id"])
    # a different correction of the already-corrected result
    status, body = await submit(
        client, {**metadata, "supersedes": old["id"]}, result_pdf(trailing_text="other")
    )
    assert_problem(status, body, 409, "supersedes")


@pytest.mark.parametrize(
    ("supersedes", "same_dossier"),
    [("01M8KEHENSDV125RZZ9ZSYY4KW", True), ("not-an-id", True), (None, False)],
)
async def test_a_correction_must_name_a_result_of_its_dossier(
    client: aiohttp.ClientSession, supersedes: str | None, same_dossier: bool
) -> None:
    if supersedes is None:  # a real result, of another dossier
        _, other = await submit(client, unique_metadata(), result_pdf(trailing_text="other"))
        supersedes = other["id"]
    status, body = await submit(
        client, unique_metadata(supersedes=supersedes), result_pdf(trailing_text="fix")
    )
    assert_problem(status, body, 422, "supersedes")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"dossier_code": "H49-220301-12"}, "dossier_code"),
        ({"result_no": 0}, "result_no"),
        ({"result_no": "1"}, "result_no"),
        ({"applicant": {"name": "A", "email": "not-an-address"}}, "applicant.email"),
        ({"received_at": "2022-03-01T08:00:00"}, "received_at"),
        ({"resolved_at": "2022-02-01T08:00:00+07:00"}, "resolved_at"),
        ({"procedure": None}, "procedure"),
        ({"dossier_code": "000.00.15.H49-220301-0099"}, "dossier_code"),
        ({"unknown": 1}, "unknown"),
    ],
)
async def test_bad_metadata_is_refused_naming_the_field(
    client: aiohttp.ClientSession, changes: dict[str, Any], field: str
) -> None:
    status, body = await submit(client, unique_metadata(**changes), result_pdf())
    assert_problem(status, body, 422, field)
    assert body["errors"][0]["pointer"] == "#/" + field.replace(".", "/")


async def test_metadata_that_is_not_json(client: aiohttp.ClientSession) -> None:
    status, body = await submit(client, b"{not json", result_pdf())
    assert_problem(status, body, 422, "metadata")
    assert "JSON" in body["detail"]


def _encrypted(tmp_path: Path) -> bytes:
    plain, locked = tmp_path / "plain.pdf", tmp_path / "locked.pdf"
    plain.write_bytes(result_pdf())
    subprocess.run(
        ["qpdf", "--encrypt", "u", "o", "256", "--", str(plain), str(locked)], check=True
    )
    return locked.read_bytes()


@pytest.mark.parametrize(
    ("kind", "reason"),
    [("text", "not a PDF"), ("truncated", "truncated"), ("encrypted", "encrypted")],
)
async def test_a_document_that_cannot_be_signed_is_refused_with_the_reason(
    client: aiohttp.ClientSession, tmp_path: Path, kind: str, reason: str
) -> None:
    documents = {
        "text": lambda: "Kết quả".encode(),
        "truncated": lambda: result_pdf()[:-400],
        "encrypted": lambda: _encrypted(tmp_path),
    }
    metadata = unique_metadata()
    status, body = await submit(client, metadata, documents[kind]())
    assert_problem(status, body, 422, "document")
    assert reason in body["detail"]
    # nothing was recorded: the same dossier and number are still free
    status, _ = await submit(client, metadata, result_pdf(trailing_text=kind))
    assert status == 202


async def test_a_request_without_its_parts(client: aiohttp.ClientSession) -> None:
    form = aiohttp.FormData()
    form.add_field("metadata", json.dumps(unique_metadata()), content_type="application/json")
    form.add_field("placeholder", b"x", filename="x.bin")  # forces multipart encoding
    async with client.post("/api/v1/results", data=form) as response:
        body = await response.json(content_type=None)
    assert_problem(response.status, body, 400, "placeholder")
    form = aiohttp.FormData()
    form.add_field("metadata", json.dumps(unique_metadata()), content_type="application/json")
    form.add_field("metadata", "{}")
    async with client.post("/api/v1/results", data=form) as response:
        body = await response.json(content_type=None)
    assert_problem(response.status, body, 400, "metadata")
    form = aiohttp.FormData()
    form.add_field("document", result_pdf(), filename="a.pdf", content_type="application/pdf")
    async with client.post("/api/v1/results", data=form) as response:
        body = await response.json(content_type=None)
    assert_problem(response.status, body, 400, "metadata")
    async with client.post("/api/v1/results", json=unique_metadata()) as response:
        body = await response.json(content_type=None)
    assert_problem(response.status, body, 415, None)
    assert response.content_type == PROBLEM


async def test_requests_without_a_valid_key_are_refused(service: Service) -> None:
    async with aiohttp.ClientSession(service.signer_url, timeout=TIMEOUT) as anonymous:
        for headers in (
            {},
            {"Authorization": "Bearer kq_000000000000_wrong"},
            {"Authorization": "Basic eDp5"},
        ):
            async with anonymous.get("/api/v1/results", headers=headers) as response:
                body = await response.json(content_type=None)
                assert_problem(response.status, body, 401, None)
                assert response.headers["WWW-Authenticate"].startswith("Bearer")
        # health and metrics stay open to the operator's probes
        async with anonymous.get("/healthz") as response:
            assert response.status == 200


async def test_a_revoked_key_stops_working_at_once_and_requests_are_audited(
    service: Service,
) -> None:
    key = await asyncio.to_thread(create_api_key, service.home, "short-lived")
    headers = {"Authorization": f"Bearer {key}"}
    async with aiohttp.ClientSession(service.signer_url, headers=headers, timeout=TIMEOUT) as s:
        async with s.get("/api/v1/results?limit=1") as response:
            assert response.status == 200
        await asyncio.to_thread(
            run_ketqua, service.home, "apikey", "revoke", "--name", "short-lived"
        )
        async with s.get("/api/v1/results?limit=1") as response:
            assert response.status == 401
    await asyncio.sleep(0.6)  # the audit trail is written in batches every 0.2 s
    rows = await query(
        service.database_url,
        "SELECT a.method, a.route, a.status FROM audit_log a JOIN api_keys k "
        "ON a.api_key_id = k.id WHERE k.name = 'short-lived'",
    )
    assert rows == [("GET", "/api/v1/results", 200)]
    # the key's last use is kept with the batch, and the operator's list shows it
    listed = await asyncio.to_thread(run_ketqua, service.home, "apikey", "list")
    [line] = [row for row in listed.stdout.splitlines() if row.startswith("short-lived\t")]
    assert "last used " in line
    assert "runs out " in line  # keys run out (365 days unless told otherwise)
    assert re.search(r"\tid [0-9A-Z]{26}$", line), line  # the id histories name as actor


async def test_revoking_a_result(client: aiohttp.ClientSession) -> None:
    _, accepted = await submit(client, unique_metadata(), result_pdf(trailing_text="revoke"))
    await wait_for(client, accepted["id"], "published")
    url = f"/api/v1/results/{accepted['id']}/revoke"
    async with client.post(url, json={"reason": "cấp nhầm hồ sơ"}) as response:
        assert_problem(response.status, await response.json(), 422, "reason_code")
    body = {"reason_code": "issued_in_error", "reason": "cấp nhầm hồ sơ"}
    async with client.post(url, json=body) as response:
        assert response.status == 200
        revoked = await response.json()
    assert revoked["state"] == "revoked"
    assert revoked["revocation_code"] == "issued_in_error"
    assert revoked["revoked_reason"] == "cấp nhầm hồ sơ"
    assert revoked["events"][-1]["state"] == "revoked"
    assert revoked["events"][-1]["actor_name"] == "back-office"  # the key's name, not its id
    assert revoked["events"][-1]["actor"] != "back-office"
    async with client.post(url, json={"reason_code": "other", "reason": "again"}) as response:
        assert response.status == 200  # already revoked: the same answer
        again = await response.json()
    assert (again["revocation_code"], again["revoked_reason"]) == (
        "issued_in_error",
        "cấp nhầm hồ sơ",
    )
    async with client.post(f"/api/v1/results/{accepted['id']}/resend") as response:
        assert_problem(response.status, await response.json(), 409, "id")


async def test_two_revokes_at_once_record_one_revocation(client: aiohttp.ClientSession) -> None:
    _, accepted = await submit(client, unique_metadata(), result_pdf(trailing_text="race"))
    await wait_for(client, accepted["id"], "published")
    url = f"/api/v1/results/{accepted['id']}/revoke"

    async def revoke(reason: str) -> tuple[int, dict[str, Any]]:
        body = {"reason_code": "other", "reason": reason}
        async with client.post(url, json=body) as response:
            return response.status, await response.json()

    answers = await asyncio.gather(*(revoke(f"reason {n}") for n in range(4)))
    assert [status for status, _ in answers] == [200] * 4
    final = answers[-1][1]
    assert [e["state"] for e in final["events"]].count("revoked") == 1
    assert {body["revoked_reason"] for _, body in answers} == {final["revoked_reason"]}


async def test_resending_sends_a_new_message_and_keeps_the_first(
    client: aiohttp.ClientSession, service: Service
) -> None:
    metadata = unique_metadata(deliver={"email": True})
    _, accepted = await submit(client, metadata, result_pdf(trailing_text="resend"))
    first = (await wait_for(client, accepted["id"], "delivered"))["deliveries"]
    async with client.post(f"/api/v1/results/{accepted['id']}/resend") as response:
        assert response.status == 202
        body = await response.json()
    assert "resend" in [e["state"] for e in body["events"]]
    deadline = asyncio.get_running_loop().time() + 30
    while True:
        async with client.get(f"/api/v1/results/{accepted['id']}") as response:
            deliveries = (await response.json())["deliveries"]
        if all(d["state"] == "sent" for d in deliveries):
            break
        assert asyncio.get_running_loop().time() < deadline, deliveries
        await asyncio.sleep(0.1)
    assert len(deliveries) == 2
    assert deliveries[0] == first[0]  # the first delivery and its attempts, as they were
    assert deliveries[1]["message_id"] != first[0]["message_id"]
    # both messages are in the pickup folder (no SMTP server configured), one file each
    for item in deliveries:
        name = item["message_id"].strip("<>").partition("@")[0] + ".eml"
        assert (service.home / "pickup" / name).exists(), name


async def test_an_unknown_result_is_404(client: aiohttp.ClientSession) -> None:
    for path in ("/api/v1/results/01M8KEHENSDV125RZZ9ZSYY4KW", "/api/v1/results/nonsense"):
        async with client.get(path) as response:
            assert_problem(response.status, await response.json(content_type=None), 404, "id")


async def test_the_operator_pages_through_results_by_state(client: aiohttp.ClientSession) -> None:
    ids = []
    for n in range(3):
        _, accepted = await submit(client, unique_metadata(), result_pdf(trailing_text=f"p{n}"))
        ids.append(accepted["id"])
    for result_id in ids:
        await wait_for(client, result_id, "published")
    seen: list[str] = []
    url: str | None = "/api/v1/results?state=published&limit=2"
    while url is not None:
        async with client.get(url) as response:
            page = await response.json()
        assert len(page["items"]) <= 2
        assert all(item["state"] == "published" for item in page["items"])
        seen += [item["id"] for item in page["items"]]
        url = page["next"]
    assert set(ids) <= set(seen)
    assert seen == sorted(seen)  # in order of acceptance, no repeats
    for wrong, field in (("state=lost", "state"), ("limit=0", "limit"), ("after=x", "after")):
        async with client.get(f"/api/v1/results?{wrong}") as response:
            assert_problem(response.status, await response.json(), 400, field)


async def test_health_and_metrics(client: aiohttp.ClientSession) -> None:
    _, accepted = await submit(client, unique_metadata(), result_pdf(trailing_text="metrics"))
    await wait_for(client, accepted["id"], "published")
    async with client.get("/healthz") as response:
        health = await response.json()
    assert response.status == 200
    assert health["database"] == "ok"
    assert health["signing_key"] == "ok"
    assert health["queue"]["depth"] >= 0
    async with client.get("/metrics") as response:
        assert response.content_type == "text/plain"
        text = await response.text()
    assert 'ketqua_results{state="published"}' in text
    assert "ketqua_queue_depth " in text
    assert "ketqua_queue_oldest_age_seconds " in text
    count = next(
        float(line.split()[-1])
        for line in text.splitlines()
        if line.startswith("ketqua_signing_seconds_count")
    )
    assert count >= 1
    assert 'route="/api/v1/results",service="signer",status="202"' in text


async def test_the_log_holds_no_personal_data_or_secret(
    client: aiohttp.ClientSession, service: Service, api_key: str
) -> None:
    metadata = unique_metadata(
        applicant={"name": "Trần Thị Bích", "email": "bich.tran@example.vn"},
        deliver={"email": True},
    )
    metadata["lookup_secret"] = "bi-mat-tra-cuu-123"
    _, accepted = await submit(client, metadata, result_pdf(trailing_text="privacy"))
    done = await wait_for(client, accepted["id"], "delivered")  # emailed (pickup folder)
    assert done["deliveries"][0]["recipient"] == "b***n@example.vn"
    log = service.settled_log()
    assert accepted["id"] in log  # the log does say what happened to the result
    passphrase = (service.home / "keys" / "passphrase").read_text().strip()
    for secret in (
        "Trần Thị Bích",
        "bich.tran@example.vn",
        "bi-mat-tra-cuu-123",
        api_key,
        passphrase,
    ):
        assert secret not in log


async def test_health_lists_each_certificate_with_its_end(service: Service) -> None:
    async with (
        aiohttp.ClientSession(service.signer_url, timeout=TIMEOUT) as s,
        s.get("/healthz") as response,
    ):
        body = await response.json()
        async with s.get("/metrics") as scraped:
            metrics = await scraped.text()
    uses = {c["use"]: c for c in body["certificates"]}
    assert set(uses) == {"document", "seal"}
    for cert in uses.values():
        assert cert["days_left"] > 30  # the development PKI's certificates are fresh
        assert cert["not_after"].startswith("20")
    assert "warnings" not in body
    assert 'ketqua_certificate_expiry_timestamp_seconds{subject="' in metrics
    assert 'use="document"' in metrics


async def test_a_certificate_that_runs_out_soon_is_warned_of(tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta

    from keys.devpki import init_keydir

    home = tmp_path / "home"
    # made 1,085 days ago: the document and seal certificates (3 years) end in about 10 days
    init_keydir(home / "keys", now=datetime.now(UTC) - timedelta(days=3 * 365 - 10))
    service = Service(home).start()
    try:
        async with (
            aiohttp.ClientSession(service.signer_url, timeout=TIMEOUT) as s,
            s.get("/healthz") as response,
        ):
            body = await response.json()
            status = response.status
        # the console's dashboard warns the desk too
        initial = await asyncio.to_thread(add_user, home, "it.admin", "admin")
        async with StaffBrowser(service.signer_url) as person:
            await person.first_login("it.admin", initial, "mật-khẩu-riêng-của-tôi")
            dashboard = await person.get("/")
        log = service.settled_log()
    finally:
        service.stop()
    warned = re.search(r'<tr class="warn">(.*?)</tr>', dashboard.text, re.S)
    assert warned is not None
    assert "Chứng thư ký văn bản" in warned.group(1)
    assert "Sắp hết hạn" in warned.group(1)
    assert status == 200  # still signing: a warning, not a failure
    days = {c["use"]: c["days_left"] for c in body["certificates"]}
    assert 8 <= days["document"] <= 10, days
    assert any("the document certificate runs out in" in w for w in body["warnings"])
    assert "the document certificate runs out in" in log
