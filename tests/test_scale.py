"""Many machines' worth of processes on one PostgreSQL: three signers, one verifier, one SMTP.

Three ``ketqua serve --role signer`` processes share one database (the
registry, the queue, the documents) and one key folder, as three machines
would; a ``--role verifier`` answers the public. 2,000 results arrive through
the three signer APIs (a load balancer's round robin; a refused connection
goes to the next signer with the same submission, which the intake answers
idempotently). Halfway through, one signer is ``kill -9``ed. Every result
must end delivered, recorded as signed once, and each applicant must get
their message.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import aiohttp
import pytest

from tests.postgres import Cluster
from tests.service import (
    PUBLIC_URL,
    Client,
    Service,
    create_api_key,
    distinct_pdfs,
    gather_limited,
    ketqua_command,
    query,
    unique_metadata,
)
from tests.smtp import Mailbox, SmtpServer

# slow: three signers and a verifier on PostgreSQL
pytestmark = [
    pytest.mark.registry("postgresql"),
    pytest.mark.slow,
]

RESULTS = 2000
SIGNERS = 3
CLIENTS = 12  # concurrent submissions
LEASE = 5  # seconds: the killed signer's jobs come back this soon
DELIVERY_TASKS = 2 * 2  # per signer: twice smtp_connections (2), see README, E-mail


async def test_three_signers_share_the_work_and_survive_one_killed(
    tmp_path: Path, postgres: Cluster
) -> None:
    url = postgres.createdb(f"scale_{os.getpid()}")
    keys = tmp_path / "keys"  # one agency key, as every signer machine would mount it
    await asyncio.to_thread(
        subprocess.run,
        ketqua_command("keys", "init", "--dir", str(keys)),
        check=True,
        capture_output=True,
    )
    mailbox = Mailbox(headers_only=True)
    async with SmtpServer(mailbox) as smtp:
        env = {
            "KETQUA_DATABASE_URL": url,
            "KETQUA_KEYS": str(keys),
            "KETQUA_WORKERS": "1",
            "KETQUA_JOB_LEASE": str(LEASE),
            "KETQUA_PUBLIC_URL": PUBLIC_URL,
            "KETQUA_SMTP_URL": f"smtp://127.0.0.1:{smtp.port}?tls=none",
            "KETQUA_MAIL_FROM": "ketqua@vandon.example.vn",
        }
        signers = [Service(tmp_path / f"signer-{n}", env=env, role="signer") for n in range(3)]
        # the verifier's machine holds public material only: the key folder's public/
        public = tmp_path / "verifier-keys"
        shutil.copytree(keys / "public", public / "public")
        verifier = Service(
            tmp_path / "verifier", env=env | {"KETQUA_KEYS": str(public)}, role="verifier"
        )
        for service in [*signers, verifier]:
            await asyncio.to_thread(service.start)
        victim = signers[1]
        try:
            key = await asyncio.to_thread(create_api_key, signers[0].home, "back-office", env)
            timeout = aiohttp.ClientTimeout(total=60)
            async with aiohttp.ClientSession(timeout=timeout) as session:
                clients = [Client(session, signer, key) for signer in signers]
                outcome = await run_the_batch(clients, victim, mailbox)
                survivor = clients[0]
                await survivor.wait_for(set(outcome.recipients), "delivered", within=300)
                await check_the_batch(survivor, verifier, session, outcome, mailbox, url)
        finally:
            for service in [*signers, verifier]:
                if service.process is not None and service.process.poll() is None:
                    await asyncio.to_thread(service.stop)
    work = {signer.home.name: signer.log().count("signed (PAdES") for signer in signers}
    print(f"\nscale: signatures recorded per signer {work}; {outcome.report}")
    assert all(work.values()), f"a signer did no work: {work}"  # the queue is shared


class Outcome:
    def __init__(self) -> None:
        self.recipients: dict[str, str] = {}  # result id -> applicant's address
        self.rerouted = 0  # submissions that went to another signer after the kill
        self.report = ""


async def run_the_batch(clients: list[Client], victim: Service, mailbox: Mailbox) -> Outcome:
    """Submit RESULTS through the signers; kill -9 ``victim`` once half are delivered."""
    outcome = Outcome()
    pdfs = distinct_pdfs(RESULTS, "scale")
    order = list(range(RESULTS))

    async def submit(i: int) -> None:
        recipient = f"nguoi-nhan-{i:04d}@example.vn"
        metadata = unique_metadata(
            applicant={"name": "Nguyễn Văn An", "email": recipient}, deliver={"email": True}
        )
        for attempt in range(SIGNERS):  # the load balancer's next choice on a refused request
            client = clients[(i + attempt) % SIGNERS]
            try:
                status, body = await client.submit(metadata, pdfs[i])
            except aiohttp.ClientError:
                outcome.rerouted += 1
                continue
            assert status in (200, 202), body
            outcome.recipients[body["id"]] = recipient
            return
        raise AssertionError(f"submission {i} refused by every signer")

    async def submitter(lane: int) -> None:
        for i in order[lane::CLIENTS]:
            await submit(i)

    async def killer() -> None:
        while len(mailbox.messages) < RESULTS // 2:  # noqa: ASYNC110 - polled, as a person would
            await asyncio.sleep(0.05)
        await asyncio.to_thread(victim.kill)

    await asyncio.gather(killer(), *(submitter(lane) for lane in range(CLIENTS)))
    assert victim.process is not None
    assert victim.process.returncode == -9
    assert len(outcome.recipients) == RESULTS
    return outcome


async def check_the_batch(
    client: Client,
    verifier: Service,
    session: aiohttp.ClientSession,
    outcome: Outcome,
    mailbox: Mailbox,
    url: str,
) -> None:
    ids = set(outcome.recipients)
    listed = await client.listing()
    assert {item["id"] for item in listed} == ids  # nothing lost, nothing extra
    details = await gather_limited(16, *(client.result(i) for i in sorted(ids)))
    signed = set()
    for detail in details:
        states = [event["state"] for event in detail["events"]]
        assert states.count("signed") == 1, (detail["id"], states)  # recorded as signed once
        assert states.count("published") == 1, (detail["id"], states)
        assert [d["state"] for d in detail["deliveries"]] == ["sent"], detail["deliveries"]
        signed.add(detail["signature"]["document_sha256"])
    assert len(signed) == RESULTS  # one signed document each, none shared

    # the signed documents are in the shared store; a signature the killed signer made
    # but never recorded can be left there, never served (at most one per signing task)
    originals = {detail["original"]["sha256"] for detail in details}
    stored = {str(d) for (d,) in await query(url, "SELECT sha256 FROM blobs")}
    assert originals | signed <= stored
    unrecorded = stored - originals - signed
    assert len(unrecorded) <= 2, unrecorded

    # every applicant got their message; a copy can only be the same message (same
    # Message-ID) again, from a send the killed signer made but could not record
    by_recipient: dict[str, set[str]] = {}
    for message in mailbox.messages:
        (recipient,) = message.rcpt_tos
        by_recipient.setdefault(recipient, set()).add(message.message_id)
    assert set(by_recipient) == set(outcome.recipients.values())
    assert all(len(ids) == 1 for ids in by_recipient.values())  # never two different messages
    copies = Counter(message.message_id for message in mailbox.messages)
    again = sum(n - 1 for n in copies.values())
    assert again <= DELIVERY_TASKS, f"{again} messages arrived twice"

    # the public side: the verifier (another process, the same database) vouches for them
    for detail in random.sample(details, 20):
        seal = re.sub(r"^.*/", "", detail["verification_url"])
        async with session.get(
            f"{verifier.verifier_url}/V/{seal}", headers={"Accept": "application/json"}
        ) as response:
            assert response.status == 200
            assert (await response.json())["verdict"] == "valid"
    outcome.report = (
        f"{RESULTS} delivered; {outcome.rerouted} submissions rerouted after the kill; "
        f"{len(unrecorded)} unrecorded signature(s) left in the store; "
        f"{again} message(s) arrived twice"
    )
