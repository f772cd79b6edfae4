"""A real MTA accepts our messages: Debian's postfix on loopback, delivering into a Maildir.

``make test`` installs postfix (debconf: "Local only"); this module
configures it for loopback, starts it if it is not running (and stops it
again if it started it), and gives it a local user with a Maildir. A
``ketqua serve`` then delivers a signed result to that user through
postfix's SMTP port, and the test reads the delivered file.
"""

from __future__ import annotations

import asyncio
import os
import pwd
import shutil
import subprocess
import time
from collections.abc import Iterator
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default
from pathlib import Path

import aiohttp
import pytest

from tests.pdfs import result_pdf
from tests.service import Client, Service, create_api_key, unique_metadata

pytestmark = pytest.mark.slow  # Debian's postfix

USER = "kqmail"
# postfix delivers this domain itself (mydestination); nothing leaves the machine
DOMAIN = "hop-thu.vandon.example.vn"


def _postfix(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["postfix", *args], capture_output=True, text=True, check=False)


@pytest.fixture(scope="module")
def maildir() -> Iterator[Path]:
    if shutil.which("postfix") is None:
        pytest.fail("postfix is not installed: `make test` installs it (Makefile, DEBIAN_TOOLS)")
    if os.geteuid() != 0:
        pytest.fail("starting postfix needs root, as `make test` runs on CI")
    try:
        home = Path(pwd.getpwnam(USER).pw_dir)
    except KeyError:
        subprocess.run(["useradd", "--create-home", USER], check=True)
        home = Path(pwd.getpwnam(USER).pw_dir)
    subprocess.run(
        [
            "postconf",
            "-e",
            "inet_interfaces = loopback-only",
            "inet_protocols = ipv4",
            "home_mailbox = Maildir/",
            "mydestination = localhost, $myhostname, " + DOMAIN,
            "smtputf8_enable = no",
        ],
        check=True,
    )
    started = _postfix("status").returncode != 0
    if started:
        assert _postfix("start").returncode == 0, _postfix("start").stderr
    else:
        _postfix("reload")
    try:
        yield home / "Maildir"
    finally:
        if started:
            _postfix("stop")


def delivered(maildir: Path, message_id: str) -> EmailMessage | None:
    for path in (maildir / "new").glob("*") if (maildir / "new").exists() else []:
        message = BytesParser(policy=default).parsebytes(path.read_bytes())
        if message["Message-ID"] == message_id:
            assert isinstance(message, EmailMessage)
            return message
    return None


async def test_postfix_accepts_and_delivers_the_signed_result(
    maildir: Path, tmp_path: Path
) -> None:
    service = Service(
        tmp_path / "home",
        env={
            "KETQUA_WORKERS": "1",
            "KETQUA_SMTP_URL": "smtp://127.0.0.1:25?tls=none",
            "KETQUA_MAIL_FROM": "ketqua@vandon.example.vn",
        },
    ).start()
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
            client = Client(session, service, create_api_key(service.home))
            metadata = unique_metadata(
                applicant={"name": "Nguyễn Văn An", "email": f"{USER}@{DOMAIN}"},
                deliver={"email": True},
            )
            status, body = await client.submit(metadata, result_pdf(trailing_text="postfix"))
            assert status == 202, body
            await client.wait_for({body["id"]}, "delivered", within=60)
            detail = await client.result(body["id"])
            document = await client.document(body["id"])
    finally:
        service.stop()
    [delivery] = detail["deliveries"]
    assert delivery["attempts"][-1]["reply"].startswith("250 2.0.0 Ok: queued as ")
    deadline = time.monotonic() + 30
    while (message := delivered(maildir, delivery["message_id"])) is None:
        assert time.monotonic() < deadline, "postfix did not deliver into the Maildir"
        await asyncio.sleep(0.2)
    assert "(Postfix)" in str(message["Received"])
    assert message["Delivered-To"] == f"{USER}@{DOMAIN}"
    subject = "[Ủy ban nhân dân huyện Vân Đồn] Kết quả giải quyết hồ sơ "
    assert message["Subject"].startswith(subject)
    [attachment] = list(message.iter_attachments())
    assert attachment.get_content() == document
