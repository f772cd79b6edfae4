"""Email delivery by a real ``ketqua serve`` to a real SMTP server, whatever the server does.

The service runs in a subprocess; aiosmtpd runs on this test's event loop
on loopback. What the applicants get is read on the server's side; what the
back office sees is read from the API.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.service import (
    PUBLIC_URL,
    Client,
    Service,
    create_api_key,
    distinct_pdfs,
    query,
    stored_blob,
    unique_metadata,
)
from tests.smtp import Mailbox, SilentServer, SmtpServer, free_port

TIMEOUT = aiohttp.ClientTimeout(total=60, sock_connect=5)


# only what a test sets reaches its commands and services
# slow: the service with SMTP servers, outages and kills
pytestmark = [
    pytest.mark.usefixtures("clean_environment"),
    pytest.mark.slow,
]


def mail_service(home: Path, port: int, **settings: str) -> Service:
    env = {
        "KETQUA_WORKERS": "1",
        "KETQUA_PUBLIC_URL": PUBLIC_URL,
        "KETQUA_SMTP_URL": f"smtp://127.0.0.1:{port}?tls=none",
        "KETQUA_MAIL_FROM": "ketqua@vandon.example.vn",
        "KETQUA_MAIL_RETRY_BASE": "0.5",
        "KETQUA_MAIL_RETRY_MAX": "2",
        **{f"KETQUA_{name.upper()}": value for name, value in settings.items()},
    }
    return Service(home, env=env)


@dataclass
class Mailed:
    """Results submitted for email delivery: id -> recipient."""

    to: dict[str, str]

    @property
    def ids(self) -> set[str]:
        return set(self.to)


async def submit_for_email(client: Client, recipients: list[str], tag: str) -> Mailed:
    mailed = Mailed({})
    for recipient, pdf in zip(recipients, distinct_pdfs(len(recipients), tag), strict=True):
        metadata = unique_metadata(
            applicant={"name": "Nguyễn Văn An", "email": recipient}, deliver={"email": True}
        )
        status, body = await client.submit(metadata, pdf)
        assert status == 202, body
        mailed.to[body["id"]] = recipient
    return mailed


async def stop(service: Service) -> None:
    """SIGTERM, waited for in a thread: this loop serves the SMTP server the service talks to."""
    if service.process is not None and service.process.poll() is None:
        await asyncio.to_thread(service.stop)


async def until(check: Any, within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not await check():
        assert time.monotonic() < deadline, f"{what}: not within {within} s"
        await asyncio.sleep(0.2)


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=TIMEOUT) as s:
        yield s


async def test_every_applicant_gets_one_message_and_a_refused_address_fails_alone(
    tmp_path: Path, session: aiohttp.ClientSession
) -> None:
    bad = "khong-ton-tai@example.vn"
    mailbox = Mailbox(refuse={bad: f"550 5.1.1 <{bad}>: Recipient address rejected"})
    async with SmtpServer(mailbox) as server:
        service = mail_service(tmp_path / "home", server.port).start()
        try:
            client = Client(session, service, create_api_key(service.home))
            good = [f"nguoi-nhan-{n}@example.vn" for n in range(5)]
            mailed = await submit_for_email(client, [*good[:2], bad, *good[2:]], "batch")
            [bad_id] = [i for i, to in mailed.to.items() if to == bad]
            good_ids = mailed.ids - {bad_id}
            await client.wait_for(good_ids, "delivered", within=60)

            async def bad_settled() -> bool:
                state: str = (await client.result(bad_id))["deliveries"][0]["state"]
                return state != "pending"

            await until(bad_settled, 30, "the refused delivery")
            refused = await client.result(bad_id)
            async with session.get(f"{service.signer_url}/metrics") as response:
                metrics = await response.text()
            log = service.settled_log()
        finally:
            await stop(service)

    # on the server: one message per good recipient, the stored signed PDF attached
    assert sorted(m.rcpt_tos[0] for m in mailbox.messages) == sorted(good)
    assert all(len(copies) == 1 for copies in mailbox.by_message_id().values())
    for received in mailbox.messages:
        [result_id] = [i for i, to in mailed.to.items() if to == received.rcpt_tos[0]]
        [attachment] = list(received.parsed().iter_attachments())
        assert attachment.get_content() == await stored_document(service, result_id)

    # the refused one: failed at once, with the server's reply (address masked), result stands
    assert refused["state"] == "published"
    [delivery] = refused["deliveries"]
    assert delivery["state"] == "failed"
    assert delivery["recipient"] == "k***i@example.vn"
    assert [a["outcome"] for a in delivery["attempts"]] == ["permanent"]
    assert delivery["attempts"][0]["reply"] == (
        "550 5.1.1 <k***i@example.vn>: Recipient address rejected"
    )
    assert 'ketqua_email_attempts_total{outcome="permanent"} 1.0' in metrics
    assert 'ketqua_email_deliveries{state="sent"} 5.0' in metrics
    assert 'ketqua_results{state="delivered"} 5.0' in metrics
    for address in [bad, *good]:
        assert address not in log


async def stored_document(service: Service, result_id: str) -> bytes:
    """The signed PDF in the service's blob store, under the digest its registry recorded."""
    ((digest,),) = await query(
        service.database_url, "SELECT signed_sha256 FROM results WHERE id = :id", id=result_id
    )
    return await stored_blob(service, str(digest))


async def test_an_outage_delays_the_messages_and_loses_none(
    tmp_path: Path, session: aiohttp.ClientSession
) -> None:
    port = free_port()
    service = mail_service(tmp_path / "home", port).start()
    mailbox = Mailbox()
    try:
        client = Client(session, service, create_api_key(service.home))
        started = time.monotonic()
        mailed = await submit_for_email(client, [f"r{n}@example.vn" for n in range(4)], "outage")
        await client.wait_for(mailed.ids, "published", within=60)

        async def all_tried() -> bool:
            details = [await client.result(i) for i in mailed.ids]
            return all(d["deliveries"] and d["deliveries"][0]["attempts"] for d in details)

        await until(all_tried, 30, "a first attempt of every delivery")
        await asyncio.sleep(max(0.0, 30 - (time.monotonic() - started)))  # down for 30 s
        async with SmtpServer(mailbox, port=port):
            await client.wait_for(mailed.ids, "delivered", within=60)
        details = [await client.result(i) for i in mailed.ids]
    finally:
        service.stop()
    copies = mailbox.by_message_id()
    assert len(copies) == 4
    assert all(len(c) == 1 for c in copies.values()), "a message arrived twice"
    for detail in details:
        [delivery] = detail["deliveries"]
        outcomes = [a["outcome"] for a in delivery["attempts"]]
        assert outcomes[-1] == "sent"
        assert outcomes[:-1], outcomes
        assert set(outcomes[:-1]) == {"temporary"}, outcomes
        assert delivery["message_id"] in copies


async def test_a_silent_server_holds_no_worker_and_no_shutdown(
    tmp_path: Path, session: aiohttp.ClientSession
) -> None:
    async with SilentServer() as silent:
        service = mail_service(
            tmp_path / "home", silent.port, smtp_timeout="0.5", shutdown_timeout="5"
        ).start()
        try:
            client = Client(session, service, create_api_key(service.home))
            mailed = await submit_for_email(client, ["a@example.vn", "b@example.vn"], "silent")

            async def retried() -> bool:
                for result_id in mailed.ids:
                    deliveries = (await client.result(result_id))["deliveries"]
                    if not deliveries or len(deliveries[0]["attempts"]) < 2:
                        return False
                return True

            # the timeout fires and the next attempt comes: the workers are not stuck
            await until(retried, 60, "two timed-out attempts per delivery")
            detail = await client.result(next(iter(mailed.ids)))
            started = time.monotonic()
            code = service.stop(timeout=30)
            took = time.monotonic() - started
        finally:
            if service.process is not None and service.process.poll() is None:
                service.kill()
    attempts = detail["deliveries"][0]["attempts"]
    assert all(a["outcome"] == "temporary" for a in attempts)
    assert all("timed out" in a["reply"] for a in attempts), attempts
    assert code == 0
    assert took < 5 + 5, took


async def test_a_kill_during_a_batch_loses_no_message(
    tmp_path: Path, session: aiohttp.ClientSession
) -> None:
    count = 30
    mailbox = Mailbox(delay=0.1)  # a slow server: the kill lands in the middle of the batch
    async with SmtpServer(mailbox) as server:
        service = mail_service(tmp_path / "home", server.port, smtp_connections="2").start()
        try:
            client = Client(session, service, create_api_key(service.home))
            mailed = await submit_for_email(
                client, [f"r{n:02d}@example.vn" for n in range(count)], "crash"
            )
            deadline = time.monotonic() + 60
            while len(mailbox.messages) < 5:
                assert time.monotonic() < deadline, "no message arrived"
                await asyncio.sleep(0.01)
            service.kill()
            at_kill = len(mailbox.messages)
            assert at_kill < count, "every message was sent before the kill: proves nothing"
            service.start()
            await client.wait_for(mailed.ids, "delivered", within=90)
            details = [await client.result(i) for i in mailed.ids]
        finally:
            await stop(service)
    copies = mailbox.by_message_id()
    recorded = {d["deliveries"][0]["message_id"] for d in details}
    assert set(copies) == recorded, "a message is missing, or one nobody recorded arrived"
    assert all(len(d["deliveries"]) == 1 for d in details)
    # the one way to send twice: killed between the server's 250 and the commit; at most
    # one message per connection, and the copy is the same message (same Message-ID, bytes)
    twice = {mid: c for mid, c in copies.items() if len(c) > 1}
    assert len(twice) <= 2, {mid: len(c) for mid, c in twice.items()}
    for same in twice.values():
        assert len({c.data for c in same}) == 1
    print(f"\nkill during delivery: {at_kill}/{count} arrived before it, sent twice {len(twice)}")


async def test_a_delivery_that_cannot_be_sent_in_time_fails_with_the_last_reply(
    tmp_path: Path, session: aiohttp.ClientSession
) -> None:
    service = mail_service(
        tmp_path / "home",
        free_port(),
        mail_max_age_hours="0.001",  # 3.6 s, for the test
    ).start()
    try:
        client = Client(session, service, create_api_key(service.home))
        mailed = await submit_for_email(client, ["a@example.vn"], "too-old")
        [result_id] = mailed.ids

        async def settled() -> bool:
            deliveries = (await client.result(result_id))["deliveries"]
            return bool(deliveries) and deliveries[0]["state"] != "pending"

        await until(settled, 60, "the delivery giving up")
        detail = await client.result(result_id)
        log = service.settled_log()
    finally:
        service.stop()
    [delivery] = detail["deliveries"]
    assert delivery["state"] == "failed"
    assert len(delivery["attempts"]) >= 2  # retried before giving up
    assert all(a["outcome"] == "temporary" for a in delivery["attempts"])
    assert detail["state"] == "published"  # the result stands; only the email failed
    assert "too old to retry" in log


async def test_a_correction_says_what_it_replaces_and_a_revocation_is_told_to_the_applicant(
    tmp_path: Path, session: aiohttp.ClientSession
) -> None:
    mailbox = Mailbox()
    async with SmtpServer(mailbox) as server:
        service = mail_service(
            tmp_path / "home",
            server.port,
            contact_agency="Bộ phận Một cửa huyện Vân Đồn",
            contact_phone="0203 3874 123",
            contact_email="motcua@vandon.example.vn",
        ).start()
        try:
            client = Client(session, service, create_api_key(service.home))
            [first_id] = (await submit_for_email(client, ["an@example.vn"], "first")).ids
            await client.wait_for({first_id}, "delivered", within=60)
            first = await client.result(first_id)
            metadata = unique_metadata(
                supersedes=first_id,
                dossier_code=first["dossier_code"],
                applicant={"name": "Nguyễn Văn An", "email": "an@example.vn"},
                deliver={"email": True},
            )
            status, body = await client.submit(metadata, distinct_pdfs(1, "second")[0])
            assert status == 202, body
            await client.wait_for({body["id"]}, "delivered", within=60)
            second = await client.result(body["id"])
            await client.revoke(second["id"], "ký nhầm văn bản", reason_code="issued_in_error")

            async def notice_sent() -> bool:
                return len(mailbox.messages) >= 3

            await until(notice_sent, 30, "the revocation notice")
            revoked = await client.result(second["id"])
        finally:
            await stop(service)

    original, correction, notice = (m.parsed() for m in mailbox.messages)
    assert original["From"].addresses[0].addr_spec == "ketqua@vandon.example.vn"
    assert original["Reply-To"] == "motcua@vandon.example.vn"  # the desk answers
    for part in ("plain", "html"):
        said = correction.get_body((part,))
        assert said is not None
        text = said.get_content()
        assert first["result_code"] in text  # what the correction replaces
        assert "thay thế kết quả" in text
        assert "replaces" in text
        assert "0203 3874 123" in text  # whom to call, not "do not reply"
        assert "không trả lời" not in text

    assert not list(notice.iter_attachments())  # a notice: no document
    assert "Thu hồi kết quả" in notice["Subject"]
    for part in ("plain", "html"):
        said = notice.get_body((part,))
        assert said is not None
        text = said.get_content()
        assert second["result_code"] in text
        assert "Ban hành nhầm" in text  # the reason's label, in both languages
        assert "Issued in error" in text
        assert "ký nhầm văn bản" not in text  # never the clerk's own words
        assert f"{PUBLIC_URL}/tra-cuu/{second['dossier_code']}" in text
    assert [(d["kind"], d["state"]) for d in revoked["deliveries"]] == [
        ("result", "sent"),
        ("revocation", "sent"),
    ]


async def test_a_refused_delivery_is_found_and_sent_again_to_the_corrected_address(
    tmp_path: Path, session: aiohttp.ClientSession
) -> None:
    typo = "an.nguyen@exmaple.vn"
    mailbox = Mailbox(refuse={typo: f"550 5.1.1 <{typo}>: Recipient address rejected"})
    async with SmtpServer(mailbox) as server:
        service = mail_service(tmp_path / "home", server.port).start()
        try:
            client = Client(session, service, create_api_key(service.home))
            [refused_id] = (await submit_for_email(client, [typo], "typo")).ids
            [fine_id] = (await submit_for_email(client, ["binh@example.vn"], "fine")).ids
            await client.wait_for({fine_id}, "delivered", within=60)

            async def listed(query: str) -> list[dict[str, Any]]:
                async with session.get(
                    client.url(f"/api/v1/results?{query}"), headers=client.headers
                ) as response:
                    assert response.status == 200, await response.text()
                    items: list[dict[str, Any]] = (await response.json())["items"]
                    return items

            async def refused_settled() -> bool:
                return [r["id"] for r in await listed("delivery=failed")] == [refused_id]

            await until(refused_settled, 30, "the refused delivery in the list")
            [row] = await listed("delivery=failed")
            assert row["state"] == "published"  # the result stands; its e-mail did not arrive
            assert row["delivery"] == {"pending": 0, "sent": 0, "failed": 1}
            dossier = row["dossier_code"]
            assert [r["id"] for r in await listed(f"dossier_code={dossier.lower()}")] == [
                refused_id
            ]
            async with session.post(
                client.url(f"/api/v1/results/{refused_id}/resend"),
                json={"email": "an.nguyen@example.vn"},
                headers=client.headers,
            ) as response:
                assert response.status == 202, await response.text()
            await client.wait_for({refused_id}, "delivered", within=60)
            again = await client.result(refused_id)
            async with session.post(
                client.url(f"/api/v1/results/{fine_id}/resend"),
                json={"email": "not an address"},
                headers=client.headers,
            ) as response:
                bad = await response.json(content_type=None)
                assert (response.status, bad["field"]) == (422, "email")
        finally:
            await stop(service)

    assert [m.rcpt_tos for m in mailbox.messages if m.rcpt_tos == ["an.nguyen@example.vn"]]
    assert again["delivery"] == {"pending": 0, "sent": 1, "failed": 1}
    [resend] = [e for e in again["events"] if e["state"] == "resend"]
    assert "corrected address, a***n@example.vn" in resend["detail"]
    assert "was a***n@exmaple.vn" in resend["detail"]


async def test_a_kill_during_a_flood_of_submissions_loses_nothing_acknowledged(
    tmp_path: Path, session: aiohttp.ClientSession
) -> None:
    """The quarter's shape, killed: 8 clients submit while the service signs and mails;
    kill -9 in the middle. Every result acknowledged (202) before the kill is signed once
    and mailed, after a restart; nothing answered 202 is lost (group commits answer only
    once durable); a message sent twice is the same message."""
    count, clients = 160, 8
    mailbox = Mailbox()
    acknowledged: dict[str, str] = {}  # id -> recipient
    async with SmtpServer(mailbox) as server:
        service = mail_service(tmp_path / "home", server.port).start()
        try:
            client = Client(session, service, create_api_key(service.home))
            pdfs = distinct_pdfs(count, "flood-kill")
            queue: asyncio.Queue[int] = asyncio.Queue()
            for n in range(count):
                queue.put_nowait(n)

            async def one_client() -> None:
                while not queue.empty():
                    n = queue.get_nowait()
                    recipient = f"flood-{n:03d}@example.vn"
                    metadata = unique_metadata(
                        applicant={"name": "Nguyễn Văn An", "email": recipient},
                        deliver={"email": True},
                    )
                    try:
                        status, body = await client.submit(metadata, pdfs[n])
                    except (TimeoutError, aiohttp.ClientError):
                        continue  # in flight at the kill: never acknowledged
                    if status == 202:
                        acknowledged[body["id"]] = recipient

            flood = asyncio.gather(*(one_client() for _ in range(clients)))
            deadline = time.monotonic() + 60
            while len(acknowledged) < count // 3:
                assert time.monotonic() < deadline, "the flood did not start"
                await asyncio.sleep(0.01)
            await asyncio.to_thread(service.kill)
            at_kill = len(acknowledged)
            await flood
            assert len(acknowledged) == at_kill, "answered after the kill?"
            assert at_kill < count, "every submission finished before the kill: proves nothing"
            await asyncio.to_thread(service.start)
            await client.wait_for(set(acknowledged), "delivered", within=120)
            details = {i: await client.result(i) for i in acknowledged}
        finally:
            await stop(service)
    for result_id, detail in details.items():
        signed = [e for e in detail["events"] if e["state"] == "signed"]
        assert len(signed) == 1, (result_id, detail["events"])
        [delivery] = detail["deliveries"]
        assert delivery["state"] == "sent"
    arrived = {to for m in mailbox.messages for to in m.rcpt_tos}
    assert set(acknowledged.values()) <= arrived, "an acknowledged result was not mailed"
    for copies in mailbox.by_message_id().values():
        assert len({c.data for c in copies}) == 1  # sent twice: the same bytes
    print(f"\nkill during a flood: {at_kill}/{count} acknowledged before it, all delivered")
