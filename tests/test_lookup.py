"""The applicant's lookup and download with the access code, through a real ``ketqua serve``."""

from __future__ import annotations

import asyncio
import re
import shutil
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from registry.access import DERIVED, derive_code
from tests.pdfs import result_pdf
from tests.service import (
    Client,
    Service,
    correct,
    create_api_key,
    query,
    resolved_on,
    unique_metadata,
)

pytestmark = pytest.mark.slow  # the real portal

SECRET = "K7-PQ9-ZX42-mat-ma"
NAME = "Lê Thị Hồng Nhung"


async def issue(client: Client, tag: str) -> dict[str, Any]:
    metadata = unique_metadata(applicant={"name": NAME, "email": "nhung.le@example.vn"})
    metadata["lookup_secret"] = SECRET
    status, body = await client.submit(metadata, result_pdf(trailing_text=tag))
    assert status == 202, body
    await client.wait_for({body["id"]}, "published", within=60)
    return await client.result(body["id"])


async def lookup(
    session: aiohttp.ClientSession,
    service: Service,
    dossier: str,
    code: str | None = None,
    document: bool = False,
) -> tuple[int, Any]:
    path = f"/api/v1/lookup/{dossier}" + ("/document" if document else "")
    headers = {"X-Access-Code": code} if code is not None else {}
    async with session.get(service.verifier_url + path, headers=headers) as response:
        if response.content_type == "application/pdf":
            return response.status, await response.read()
        return response.status, await response.json(content_type=None)


async def test_the_status_for_anyone_the_details_and_document_with_the_code(
    client: Client,
) -> None:
    result = await issue(client, "lookup")
    dossier = result["dossier_code"]
    status, public = await lookup(client.session, client.service, dossier)
    assert status == 200
    assert public["status"] == "resolved"
    assert public["resolved_on"] == resolved_on(dossier)
    assert public["procedure"] == "Cấp giấy phép xây dựng"
    assert "applicant" not in public
    assert NAME not in str(public)

    status, own = await lookup(client.session, client.service, dossier, SECRET)
    assert status == 200, own
    assert own["result_code"] == result["result_code"]
    assert own["applicant"] == "Lê T*** H*** N***"
    status, pdf = await lookup(client.session, client.service, dossier, SECRET, document=True)
    assert status == 200
    assert pdf == await client.document(result["id"])  # byte for byte what was issued

    status, unknown = await lookup(client.session, client.service, "000.00.14.H49-220101-9999")
    assert (status, unknown["status"]) == (200, "no_result")


async def test_the_code_is_kept_only_as_a_slow_hash(
    client: Client, service: Service, database_files: list[Path]
) -> None:
    result = await issue(client, "hashed")
    ((metadata, access_hash),) = await query(
        service.database_url,
        "SELECT metadata_json, access_hash FROM results WHERE id = :id",
        id=result["id"],
    )
    assert SECRET not in metadata
    assert access_hash.startswith("scrypt$16384$8$1$")
    assert database_files
    for path in database_files:  # tables, indexes, the write-ahead log
        assert SECRET.encode() not in path.read_bytes(), path


async def test_a_generated_code_is_stored_as_no_hash_and_opens_by_deriving_it_again(
    client: Client, service: Service, database_files: list[Path]
) -> None:
    metadata = unique_metadata(applicant={"name": NAME, "email": "nhung.le@example.vn"})
    status, body = await client.submit(metadata, result_pdf(trailing_text="derived"))
    assert status == 202, body
    await client.wait_for({body["id"]}, "published", within=60)
    ((stored,),) = await query(
        service.database_url, "SELECT access_hash FROM results WHERE id = :id", id=body["id"]
    )
    assert stored == DERIVED  # no slow hash made at intake, none to steal
    key = (service.home / "keys" / "access-code.key").read_bytes()
    code = derive_code(key, body["id"])
    dossier = str(metadata["dossier_code"])
    typed = code.lower().replace("-", " ")  # as a person types it
    assert (await lookup(client.session, service, dossier, typed))[0] == 200
    wrong = code[:-1] + ("0" if code[-1] != "0" else "1")
    assert (await lookup(client.session, service, dossier, wrong))[0] == 403
    for path in database_files:
        assert code.replace("-", "").encode() not in path.read_bytes(), path


async def test_without_the_access_code_key_a_verifier_opens_no_generated_code(
    tmp_path: Path,
) -> None:
    signer = Service(tmp_path / "home", role="both").start()
    try:
        key = create_api_key(signer.home)
        async with aiohttp.ClientSession() as session:
            client = Client(session, signer, key)
            metadata = unique_metadata()
            status, body = await client.submit(metadata, result_pdf(trailing_text="no-key"))
            assert status == 202, body
            await client.wait_for({body["id"]}, "published", within=60)
            secret = (signer.home / "keys" / "access-code.key").read_bytes()
            code = derive_code(secret, body["id"])
            dossier = str(metadata["dossier_code"])
            assert (await lookup(session, signer, dossier, code))[0] == 200
            # a verifier of the same registry with no key of its own: nothing opens, and it
            # made no key (one of its own would open nothing of the signer's either)
            keys = tmp_path / "verifier-keys"  # public material only, as compose's trust
            shutil.copytree(signer.home / "keys" / "public", keys / "public")
            verifier = Service(
                tmp_path / "verifier",
                role="verifier",
                env={"KETQUA_DATABASE_URL": signer.database_url, "KETQUA_KEYS": str(keys)},
            ).start()
            try:
                assert (await lookup(session, verifier, dossier, code))[0] == 403
                assert "no access-code key" in verifier.settled_log()
                assert not (keys / "access-code.key").exists()
            finally:
                verifier.stop()
    finally:
        signer.stop()


async def test_a_guesser_is_stopped_and_the_applicant_still_gets_in(client: Client) -> None:
    result = await issue(client, "guess")
    dossier = result["dossier_code"]
    # the guesser and the applicant: two clients, two loopback addresses
    guesser = aiohttp.ClientSession(connector=aiohttp.TCPConnector(local_addr=("127.0.0.3", 0)))
    applicant = aiohttp.ClientSession(connector=aiohttp.TCPConnector(local_addr=("127.0.0.2", 0)))
    async with guesser, applicant:
        statuses = [
            (await lookup(guesser, client.service, dossier, f"wrong-{n:03d}"))[0]
            for n in range(15)
        ]
        status, own = await lookup(applicant, client.service, dossier, SECRET)
        late, _ = await lookup(guesser, client.service, dossier, SECRET)
    assert statuses[:10] == [403] * 10  # ten wrong codes an hour a client
    assert set(statuses[10:]) == {429}
    assert status == 200, own
    assert late == 429  # the guesser waits even with the right code
    log = client.service.settled_log()
    assert "wrong-0" not in log  # the codes tried are never logged
    assert f"wrong access code for dossier {dossier} from 127.0.0.3" in log


async def test_wrong_codes_from_many_addresses_do_not_lock_the_applicant_out(
    client: Client,
) -> None:
    """Strangers spending their allowances on one dossier: the applicant is still answered
    (before, 20 wrong codes from anywhere locked the dossier for everyone)."""
    result = await issue(client, "many-guessers")
    dossier = result["dossier_code"]
    wrong = []
    for host in range(20, 45):  # 25 addresses, 5 wrong codes each
        connector = aiohttp.TCPConnector(local_addr=(f"127.0.1.{host}", 0))
        async with aiohttp.ClientSession(connector=connector) as stranger:
            for n in range(5):
                wrong.append((await lookup(stranger, client.service, dossier, f"x{n}"))[0])
    applicant = aiohttp.ClientSession(connector=aiohttp.TCPConnector(local_addr=("127.0.2.2", 0)))
    async with applicant:
        status, own = await lookup(applicant, client.service, dossier, SECRET)
    assert set(wrong) == {403}
    assert status == 200, own


async def test_a_result_not_for_publication_shows_nothing_without_its_code(
    client: Client,
) -> None:
    metadata = unique_metadata(publish=False)
    metadata["lookup_secret"] = SECRET
    status, accepted = await client.submit(metadata, result_pdf(trailing_text="not-public"))
    assert status == 202, accepted
    await client.wait_for({accepted["id"]}, "signed", within=60)
    dossier = str(metadata["dossier_code"])
    status, public = await lookup(client.session, client.service, dossier)
    assert (status, public) == (200, {"dossier_code": dossier, "status": "no_result"})
    status, own = await lookup(client.session, client.service, dossier, SECRET)
    assert (status, own["status"]) == (200, "resolved")


async def test_a_revoked_result_says_so_and_gives_no_document(client: Client) -> None:
    result = await issue(client, "revoked-lookup")
    await client.revoke(result["id"], "cấp sai")
    dossier = result["dossier_code"]
    _, public = await lookup(client.session, client.service, dossier)
    assert public["status"] == "revoked"
    _, own = await lookup(client.session, client.service, dossier, SECRET)
    assert own["state"] == "revoked"
    assert own["document"] is None
    status, problem = await lookup(client.session, client.service, dossier, SECRET, True)
    assert status == 409, problem


def mailed_text(service: Service, delivery: dict[str, Any]) -> str:
    """The plain-text body of the message the service wrote to its pickup folder."""
    from email import message_from_bytes
    from email.message import EmailMessage
    from email.policy import default

    name = delivery["message_id"].strip("<>").partition("@")[0] + ".eml"
    message = message_from_bytes((service.home / "pickup" / name).read_bytes(), policy=default)
    assert isinstance(message, EmailMessage)
    body = message.get_body(("plain",))
    assert body is not None
    return str(body.get_content())


async def test_without_a_code_of_their_own_the_applicant_gets_one_by_email(
    client: Client,
) -> None:
    metadata = unique_metadata(
        applicant={"name": NAME, "email": "nhung.le@example.vn"}, deliver={"email": True}
    )
    status, body = await client.submit(metadata, result_pdf(trailing_text="mailed-code"))
    assert status == 202, body
    await client.wait_for({body["id"]}, "delivered", within=60)
    result = await client.result(body["id"])
    text = mailed_text(client.service, result["deliveries"][0])
    match = re.search(r"Mã tra cứu: ([0-9A-Z]{5}-[0-9A-Z]{5})", text)
    assert match, text
    code = match.group(1)
    typed = code.lower().replace("-", " ")  # as someone may type it
    status, own = await lookup(client.session, client.service, result["dossier_code"], typed)
    assert status == 200, own
    assert own["result_code"] == result["result_code"]
    status, pdf = await lookup(client.session, client.service, result["dossier_code"], code, True)
    assert status == 200
    assert pdf == await client.document(result["id"])
    # a resend carries the same code (derived, not stored)
    async with client.session.post(
        client.url(f"/api/v1/results/{result['id']}/resend"), headers=client.headers
    ) as response:
        assert response.status == 202
    for _ in range(100):
        again = await client.result(result["id"])
        if all(d["state"] == "sent" for d in again["deliveries"]):
            break
        await asyncio.sleep(0.1)
    assert code in mailed_text(client.service, again["deliveries"][1])


async def test_a_code_of_their_own_is_not_replaced_in_the_email(client: Client) -> None:
    metadata = unique_metadata(
        applicant={"name": NAME, "email": "nhung.le@example.vn"}, deliver={"email": True}
    )
    metadata["lookup_secret"] = SECRET
    status, body = await client.submit(metadata, result_pdf(trailing_text="own-code"))
    assert status == 202, body
    await client.wait_for({body["id"]}, "delivered", within=60)
    result = await client.result(body["id"])
    text = mailed_text(client.service, result["deliveries"][0])
    assert "giấy tiếp nhận" in text
    assert SECRET not in text
    assert not re.search(r"[0-9A-Z]{5}-[0-9A-Z]{5}\b", text.split("Mã xác thực")[0])


async def test_the_lookup_page_the_email_links_to(client: Client) -> None:
    result = await issue(client, "page")
    base = f"{client.service.verifier_url}/tra-cuu/{result['dossier_code']}?lang=vi"
    async with client.session.get(base) as response:
        page = await response.text()
    assert response.status == 200
    assert "Đã có kết quả" in page
    assert NAME not in page
    async with client.session.post(base, data={"ma": "sai-ma-123"}) as response:
        assert "Mã tra cứu không đúng" in await response.text()
    async with client.session.post(base, data={"ma": SECRET}) as response:
        opened = await response.text()
    assert result["result_code"] in opened
    assert "Lê T*** H*** N***" in opened
    document = base.replace("?lang=vi", "/van-ban")
    async with client.session.post(document, data={"ma": SECRET}) as response:
        assert response.content_type == "application/pdf"
        pdf = await response.read()
    assert pdf == await client.document(result["id"])


async def test_a_corrected_result_points_to_the_current_one(client: Client) -> None:
    old = await issue(client, "superseded-lookup")
    new = await correct(client, old, "correction")
    # the code opens the result it came with (the first); it says which one stands now
    _, own = await lookup(client.session, client.service, old["dossier_code"], SECRET)
    assert own["state"] == "superseded"
    assert own["current"] == new["verification_url"]
