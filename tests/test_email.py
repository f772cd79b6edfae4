"""The email and its transport, against a real SMTP server (aiosmtpd on loopback).

What arrives is checked on the server's side: parsed with Python's ``email``
package, the attachment compared with the signed PDF byte for byte and
validated by poppler's ``pdfsig``; the server's misbehaviour (4xx, 5xx,
silence, wrong password, untrusted certificate) ends in the outcome the
delivery worker acts on.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import email
import email.policy
import json
import re
from dataclasses import replace
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import dkim
import pytest
from aiosmtplib.protocol import PERIOD_REGEX, normalize_message_line_endings
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from plumbing.errors import InputError
from plumbing.terms import TERMS
from registry.ids import new_id
from registry.outbox import message_id
from registry.results import ResultRecord
from registry.states import AttemptOutcome, ResultState
from signer.api.intake import new_result
from signer.delivery import recipients
from signer.delivery.message import (
    ATTACHMENT,
    LINK,
    DkimKey,
    MessageBuilder,
    Sender,
    quoted_printable,
)
from signer.delivery.transport import PickupFolder, SmtpTransport, SmtpUrl, as_on_the_wire
from signer.document import SignedResult
from signer.errors import MetadataError
from signer.metadata import Agency, ResultMetadata, parse_metadata
from tests.pdfs import example_metadata
from tests.smtp import Mailbox, MailTls, SilentServer, SmtpServer, free_port, make_tls
from tests.validators import pdfsig

SENDER = Sender(
    address="ketqua@vandon.example.vn",
    reply_to="motcua@vandon.example.vn",
    public_url="https://ketqua.vandon.example.vn",
)
SUBJECT = "[Ủy ban nhân dân huyện Vân Đồn] Kết quả giải quyết hồ sơ 000.00.14.H49-220301-0012"


def record_of(signed: SignedResult, metadata: ResultMetadata) -> ResultRecord:
    now = datetime.now(UTC)
    return ResultRecord(
        id=new_id(),
        dossier_code=metadata.dossier_code,
        result_no=metadata.result_no,
        agency_code=metadata.agency.code,
        procedure_code=metadata.procedure.code,
        state=ResultState.PUBLISHED,
        publish=True,
        received_at=metadata.received_at,
        due_at=metadata.due_at,
        resolved_at=metadata.resolved_at,
        original_sha256="0" * 64,
        original_size=1,
        signed_sha256=signed.sha256,
        signed_size=len(signed.pdf),
        signer_fingerprint=signed.signer_fingerprint,
        seal_kid=signed.seal_kid,
        seal_url=signed.seal_url,
        verification_code=signed.verification_code,
        pades_level=signed.level.value,
        signed_at=signed.signed_at,
        supersedes=None,
        superseded_by=None,
        revoked_reason=None,
        failure=None,
        api_key_id=None,
        created_at=now,
        updated_at=now,
        metadata_json=metadata.model_dump_json(),
    )


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> MailTls:
    return make_tls(tmp_path_factory.mktemp("mail-tls"))


def build(
    signed: SignedResult,
    sender: Sender = SENDER,
    recipient: str = "an.nguyen@example.vn",
    unchecked: dict[str, object] | None = None,
    **changes: object,
) -> tuple[bytes, str, str]:
    metadata = parse_metadata(json.dumps({**example_metadata(), **changes}))
    if unchecked:  # past validation, as a record stored under older rules
        metadata = metadata.model_copy(update=unchecked)
    result = record_of(signed, metadata)
    mid = message_id(new_id(), sender.domain)
    built = MessageBuilder(sender).build(
        result, metadata, signed.pdf, recipient=recipient, message_id=mid
    )
    return built.data, built.mode, mid


def plain(url: SmtpUrl | int, **kw: object) -> SmtpTransport:
    if isinstance(url, int):
        url = SmtpUrl("127.0.0.1", url, "none")
    options: dict[str, object] = {"timeout": 10.0, "connections": 2, "reuse": True} | kw
    return SmtpTransport(url, **options)  # type: ignore[arg-type]


async def test_the_message_arrives_whole_and_the_attachment_still_validates(
    signed: SignedResult, tmp_path: Path, nssdb: Path
) -> None:
    data, mode, mid = build(signed)
    assert mode == ATTACHMENT
    async with SmtpServer() as server:
        transport = plain(server.port)
        outcome = await transport.send(SENDER.address, "an.nguyen@example.vn", data, mid)
        await transport.close(5)
    assert outcome.kind is AttemptOutcome.SENT, outcome
    assert outcome.reply.startswith("250 ")
    [received] = server.mailbox.messages
    assert received.data == data  # sent as built: what a DKIM signature covers
    assert received.rcpt_tos == ["an.nguyen@example.vn"]
    assert received.mail_from == SENDER.address
    message = received.parsed()
    assert message["Subject"] == SUBJECT  # RFC 2047 on the wire, Vietnamese when decoded
    assert "=?utf-8?" in received.data.decode("ascii").split("\r\n\r\n")[0].lower()
    assert message["Message-ID"] == mid
    assert message["From"].addresses[0].display_name == "Ủy ban nhân dân huyện Vân Đồn"
    assert message["Reply-To"] == "motcua@vandon.example.vn"
    assert message["Auto-Submitted"] == "auto-generated"
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None
    assert html is not None
    for body in (text.get_content(), html.get_content()):
        assert "000.00.14.H49-220301-0012-KQ1" in body
        assert "Cấp giấy phép xây dựng" in body
        assert signed.verification_code in body
        assert "14/03/2022" in body
        assert "125/QĐ-UBND" in body
        # the glossary's names, as on the stamp and the pages, in both languages
        for name in ("procedure", "dossier_code", "result_code", "verification_code"):
            assert TERMS[name].vi in body, name
            assert TERMS[name].en in body or TERMS[name].en.lower() in body, name
        for stale in ("Số kết quả", "Mã xác minh", "Người nộp"):
            assert stale not in body
    assert signed.seal_url in text.get_content()
    [attachment] = list(message.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_filename() == "Kết quả 000.00.14.H49-220301-0012-KQ1.pdf"
    # RFC 2231 on the wire (continued over two lines when long: filename*0*=, filename*1*=)
    assert re.search(r"filename\*(0\*)?=utf-8''K%E1%BA%BFt", received.data.decode("ascii"))
    pdf = attachment.get_content()
    assert pdf == signed.pdf
    path = tmp_path / "attached.pdf"
    path.write_bytes(pdf)
    [signature] = pdfsig(path, nssdb)
    assert signature.valid, signature


async def test_no_metadata_field_can_add_a_header_and_html_is_escaped(
    signed: SignedResult,
) -> None:
    hostile = "Ủy ban\r\nBcc: thief@evil.example"
    # the metadata refuses control characters now; a record made before that may hold them
    with pytest.raises(MetadataError):
        build(signed, agency={"code": "000.00.14.H49", "name": hostile})
    data, _, _ = build(
        signed,
        unchecked={"agency": Agency.model_construct(code="000.00.14.H49", name=hostile)},
        applicant={"name": "<script>alert(1)</script>", "email": "an.nguyen@example.vn"},
    )
    async with SmtpServer() as server:
        outcome = await plain(server.port).send(SENDER.address, "a@example.vn", data, "<x@y>")
    assert outcome.kind is AttemptOutcome.SENT
    message = server.mailbox.messages[0].parsed()
    assert message["Bcc"] is None
    assert "Bcc: thief@evil.example" in message["Subject"]  # folded into the text
    html = message.get_body(("html",))
    assert html is not None
    assert "&lt;script&gt;" in html.get_content()
    assert "<script>" not in html.get_content()


async def test_a_message_over_the_limit_carries_the_links_instead(signed: SignedResult) -> None:
    small = Sender(address=SENDER.address, max_bytes=len(signed.pdf), public_url=SENDER.public_url)
    data, mode, _ = build(signed, small)
    assert mode == LINK
    assert len(data) < len(signed.pdf)
    async with SmtpServer() as server:
        outcome = await plain(server.port).send(SENDER.address, "a@example.vn", data, "<1@x>")
    assert outcome.kind is AttemptOutcome.SENT
    parsed = server.mailbox.messages[0].parsed()
    assert not list(parsed.iter_attachments())
    text = parsed.get_body(("plain",))
    assert text is not None
    assert "quá lớn" in text.get_content()
    assert "too large" in text.get_content()
    assert "https://ketqua.vandon.example.vn/tra-cuu/000.00.14.H49-220301-0012" in (
        text.get_content()
    )


async def test_one_connection_carries_many_messages_when_reused(signed: SignedResult) -> None:
    data, _, _ = build(signed)
    for reuse, connections in ((True, 1), (False, 5)):
        async with SmtpServer() as server:
            transport = plain(server.port, reuse=reuse, connections=1)
            for n in range(5):
                outcome = await transport.send(
                    SENDER.address, f"r{n}@example.vn", data, f"<{n}@x>"
                )
                assert outcome.kind is AttemptOutcome.SENT
            await transport.close(5)
        assert len(server.mailbox.messages) == 5
        assert server.connections == connections, (reuse, server.connections)


async def test_starttls_and_login(signed: SignedResult, tls: MailTls) -> None:
    data, _, _ = build(signed)
    async with SmtpServer(tls=tls.server, logins={"motcua": "dung-mat-khau"}) as server:
        good = SmtpUrl("127.0.0.1", server.port, "starttls", "motcua", "dung-mat-khau")
        outcome = await plain(good, ca_file=tls.ca_file).send(
            SENDER.address, "a@x.vn", data, "<1@x>"
        )
        assert outcome.kind is AttemptOutcome.SENT, outcome
        assert server.mailbox.messages[0].authenticated

        # a wrong password is our configuration, not the recipient's fault: retried
        wrong = SmtpUrl("127.0.0.1", server.port, "starttls", "motcua", "sai-mat-khau")
        outcome = await plain(wrong, ca_file=tls.ca_file).send(
            SENDER.address, "a@x.vn", data, "<2@x>"
        )
        assert outcome.kind is AttemptOutcome.TEMPORARY
        assert outcome.reply.startswith("535 "), outcome

        # a server whose certificate we cannot trust gets nothing
        outcome = await plain(good).send(SENDER.address, "a@x.vn", data, "<3@x>")
        assert outcome.kind is AttemptOutcome.TEMPORARY
        assert "certificate" in outcome.reply.lower(), outcome
    assert len(server.mailbox.messages) == 1


@pytest.mark.parametrize(
    "data",
    [
        # a line starting with a dot: the wire doubles it, and "." alone would end DATA
        b"Subject: dots\r\n\r\n.\r\n..two\r\n.three\r\n",
        b".Subject-first: dot\r\n\r\nbody\r\n",
        # line endings other than CRLF, and no line ending at the end
        b"Subject: bare\n\nline one\nline two\rline three",
    ],
    ids=["dotted-lines", "dot-first", "bare-line-endings"],
)
async def test_a_message_not_yet_as_on_the_wire_arrives_as_smtp_means_it(data: bytes) -> None:
    """ketqua's own messages go as built; any other still gets SMTP's transparency
    (RFC 5321 4.5.2) and CRLF line endings, and arrives with every line."""
    async with SmtpServer() as server:
        transport = plain(server.port)
        outcome = await transport.send(SENDER.address, "a@example.vn", data, "<1@x>")
        again = await transport.send(SENDER.address, "b@example.vn", data, "<2@x>")
        await transport.close(5)
    assert (outcome.kind, again.kind) == (AttemptOutcome.SENT, AttemptOutcome.SENT), outcome
    expected = re.sub(rb"\r\n|\n|\r", b"\r\n", data).removesuffix(b"\r\n") + b"\r\n"
    assert [m.data for m in server.mailbox.messages] == [expected, expected]


@settings(max_examples=400, deadline=None)
@given(
    st.binary(max_size=64)
    | st.lists(st.sampled_from([b"a", b".", b"\r", b"\n", b"\r\n"]), max_size=12).map(b"".join)
)
def test_a_message_goes_as_it_is_only_where_smtplib_would_send_it_unchanged(data: bytes) -> None:
    """The short cut past aiosmtplib's passes is taken only where they change nothing."""
    if as_on_the_wire(data):
        assert PERIOD_REGEX.sub(b"..", normalize_message_line_endings(data)) == data


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="a.Ệ= \n", max_size=400))
def test_quoted_printable_text_has_no_line_the_wire_would_change(text: str) -> None:
    """A dot that starts a line (from the text, or where the codec breaks a long line)
    goes as =2E, within the 76 characters a line may have, and decodes as it was."""
    encoded = quoted_printable(text)
    lines = encoded.split("\r\n")
    assert all(len(line) <= 76 for line in lines), lines
    assert not any(line.startswith(".") for line in lines), lines
    codec = binascii.b2a_qp(text.encode("utf-8"), istext=True)
    assert binascii.a2b_qp(encoded.replace("\r\n", "\n")) == binascii.a2b_qp(codec)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet="Cấp giấy phép 0.", min_size=1, max_size=150).map(str.strip))
def test_the_results_messages_go_as_built(signed: SignedResult, name: str) -> None:
    """Names full of dots (like the codes 000.00.14.H49) still give a message the wire
    sends as it is: the short cut past aiosmtplib's passes is the path they take."""
    assume(name)
    data, _, _ = build(signed, procedure={"code": "1.004227", "name": name})
    assert as_on_the_wire(data)


async def test_a_server_that_refuses_ehlo_gets_helo_once(signed: SignedResult) -> None:
    data, _, _ = build(signed)
    async with SmtpServer(Mailbox(helo_only=True)) as server:
        transport = plain(server.port)
        outcome = await transport.send(SENDER.address, "a@example.vn", data, "<1@x>")
        await transport.close(5)
    assert outcome.kind is AttemptOutcome.SENT, outcome
    assert server.mailbox.greetings == ["EHLO", "HELO"]
    assert server.mailbox.messages[0].data == data


async def test_a_4xx_is_temporary_and_the_next_attempt_gets_through(signed: SignedResult) -> None:
    data, _, _ = build(signed)
    async with SmtpServer(Mailbox(temporary_failures=1)) as server:
        transport = plain(server.port)
        first = await transport.send(SENDER.address, "a@example.vn", data, "<1@x>")
        second = await transport.send(SENDER.address, "a@example.vn", data, "<1@x>")
        await transport.close(5)
    assert first.kind is AttemptOutcome.TEMPORARY
    assert first.reply.startswith("451 ")
    assert second.kind is AttemptOutcome.SENT
    assert len(server.mailbox.messages) == 1


async def test_a_refused_recipient_is_permanent_and_does_not_touch_the_others(
    signed: SignedResult,
) -> None:
    data, _, _ = build(signed)
    mailbox = Mailbox(refuse={"khong-ton-tai@example.vn": "550 5.1.1 User unknown"})
    async with SmtpServer(mailbox) as server:
        transport = plain(server.port)
        outcomes = await asyncio.gather(
            transport.send(SENDER.address, "khong-ton-tai@example.vn", data, "<bad@x>"),
            transport.send(SENDER.address, "an@example.vn", data, "<good1@x>"),
            transport.send(SENDER.address, "binh@example.vn", data, "<good2@x>"),
        )
        await transport.close(5)
    bad, *good = outcomes
    assert bad.kind is AttemptOutcome.PERMANENT
    assert bad.reply == "550 5.1.1 User unknown"
    assert [o.kind for o in good] == [AttemptOutcome.SENT, AttemptOutcome.SENT]
    assert sorted(m.rcpt_tos[0] for m in mailbox.messages) == ["an@example.vn", "binh@example.vn"]


async def test_a_server_that_never_answers_times_out(signed: SignedResult) -> None:
    data, _, _ = build(signed)
    async with SilentServer() as silent:
        transport = plain(silent.port, timeout=0.5)
        # the bound is the transport's own; this wait only keeps a broken test from hanging
        outcome = await asyncio.wait_for(
            transport.send(SENDER.address, "a@example.vn", data, "<1@x>"), 60
        )
    assert outcome.kind is AttemptOutcome.TEMPORARY
    assert "timed out" in outcome.reply.lower(), outcome


async def test_a_message_whose_reply_comes_too_late_is_tried_again_on_a_new_connection(
    signed: SignedResult,
) -> None:
    """The server takes the message and answers after the timeout: temporary, and its late
    250 is never read as the answer to the next message."""
    data, _, _ = build(signed)
    mailbox = Mailbox(delay=2.0)
    async with SmtpServer(mailbox) as server:
        transport = plain(server.port, timeout=0.5)
        late = await asyncio.wait_for(
            transport.send(SENDER.address, "a@example.vn", data, "<1@x>"), 60
        )
        mailbox.delay = 0.0
        again = await transport.send(SENDER.address, "b@example.vn", data, "<2@x>")
        await transport.close(5)
    assert late.kind is AttemptOutcome.TEMPORARY
    assert "timed out" in late.reply.lower(), late
    assert again.kind is AttemptOutcome.SENT, again
    assert again.reply == "250 2.0.0 Ok: queued as Q1"  # its own reply, not the first's
    assert server.connections == 2  # the first connection was closed, not reused


async def test_a_server_that_is_down_is_temporary(signed: SignedResult) -> None:
    data, _, _ = build(signed)
    outcome = await plain(free_port()).send(SENDER.address, "a@example.vn", data, "<1@x>")
    assert outcome.kind is AttemptOutcome.TEMPORARY
    assert "refused" in outcome.reply.lower() or "connect" in outcome.reply.lower(), outcome


async def test_without_a_server_messages_go_to_the_pickup_folder(
    signed: SignedResult, tmp_path: Path
) -> None:
    data, _, mid = build(signed)
    pickup = PickupFolder(tmp_path / "pickup")
    outcome = await pickup.send(SENDER.address, "a@example.vn", data, mid)
    assert outcome.kind is AttemptOutcome.SENT
    [written] = list((tmp_path / "pickup").iterdir())
    assert written.read_bytes() == data
    assert "@" not in outcome.reply


async def test_a_dkim_signature_verifies_on_arrival_and_breaks_with_a_change(
    signed: SignedResult, tmp_path: Path
) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key_file = tmp_path / "dkim.pem"
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    public = base64.b64encode(
        key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    asked: list[bytes] = []

    def dns(name: bytes, timeout: int = 5) -> bytes:
        asked.append(name)
        return b"v=DKIM1; k=rsa; p=" + public

    metadata = parse_metadata(json.dumps(example_metadata()))
    builder = MessageBuilder(SENDER, dkim_key=DkimKey.load("ketqua2026", SENDER.domain, key_file))
    built = builder.build(
        record_of(signed, metadata),
        metadata,
        signed.pdf,
        recipient="a@example.vn",
        message_id="<1@x>",
    )
    async with SmtpServer() as server:
        outcome = await plain(server.port).send(
            SENDER.address, "a@example.vn", built.data, "<1@x>"
        )
    assert outcome.kind is AttemptOutcome.SENT
    arrived = server.mailbox.messages[0].data
    assert dkim.verify(arrived, dnsfunc=dns)
    assert asked == [b"ketqua2026._domainkey.vandon.example.vn."]
    subject = re.search(rb"^Subject: (\S+)", arrived, re.MULTILINE)
    assert subject is not None
    tampered = arrived.replace(subject[0], subject[0][:-1] + b"X", 1)  # one letter changed
    assert tampered != arrived
    assert not dkim.verify(tampered, dnsfunc=dns)


def test_an_operators_templates_replace_ours_and_a_broken_one_is_named(tmp_path: Path) -> None:
    (tmp_path / "subject.txt.j2").write_text("KẾT QUẢ {{ dossier_code }}", encoding="utf-8")
    builder = MessageBuilder(SENDER, tmp_path)
    assert builder._subject.render(dossier_code="X-1") == "KẾT QUẢ X-1"
    (tmp_path / "body.html.j2").write_text("{% if %}", encoding="utf-8")
    with pytest.raises(InputError, match=r"body\.html\.j2") as caught:
        MessageBuilder(SENDER, tmp_path)
    assert caught.value.field == "mail_templates"


def test_the_same_delivery_builds_the_same_bytes(signed: SignedResult) -> None:
    """A retry after a crash sends what the first attempt sent: duplicates are recognisable."""
    metadata = parse_metadata(json.dumps(example_metadata()))
    record = record_of(signed, metadata)
    builder = MessageBuilder(SENDER)
    first, again = (
        builder.build(record, metadata, signed.pdf, recipient="a@example.vn", message_id="<1@x>")
        for _ in range(2)
    )
    assert first.data == again.data
    other = builder.build(
        record, metadata, signed.pdf, recipient="a@example.vn", message_id="<2@x>"
    )
    assert other.data != first.data


async def test_every_part_leads_to_the_portal_with_the_access_code_and_names_whom_to_ask(
    signed: SignedResult,
) -> None:
    from signer.delivery.message import Contact

    desk = Sender(
        address="ketqua@vandon.example.vn",
        public_url="https://ketqua.vandon.example.vn",
        contact=Contact(
            agency="Bộ phận Một cửa huyện Vân Đồn",
            phone="0203 3874 123",
            email="motcua@vandon.example.vn",
            address="Thị trấn Cái Rồng, huyện Vân Đồn",
        ),
    )
    metadata = parse_metadata(json.dumps(example_metadata()))
    result = record_of(signed, metadata)
    built = MessageBuilder(desk).build(
        result,
        metadata,
        signed.pdf,
        recipient="an.nguyen@example.vn",
        message_id="<1@vandon.example.vn>",
        access_code="KQ7P-9ZX4",
        replaces="000.00.14.H49-220301-0012-KQ1",
    )
    async with SmtpServer() as server:
        outcome = await plain(server.port).send(desk.address, "an@example.vn", built.data, "<1@x>")
    assert outcome.kind is AttemptOutcome.SENT
    message = server.mailbox.messages[0].parsed()
    assert message["Reply-To"] == "motcua@vandon.example.vn"  # no reply-to set: the desk's
    lookup = "https://ketqua.vandon.example.vn/tra-cuu/000.00.14.H49-220301-0012"
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None
    assert html is not None
    plain_text, html_text = text.get_content(), html.get_content()
    vietnamese, english = plain_text.split("(English)")
    for said in (vietnamese, english, html_text):
        assert lookup in said  # every part and language leads to the portal
        assert "KQ7P-9ZX4" in said  # with the access code
        assert "0203 3874 123" in said  # and whom to call
        assert "000.00.14.H49-220301-0012-KQ1" in said  # what this correction replaces
        assert "không trả lời" not in said
    assert "Mã tra cứu: KQ7P-9ZX4" in vietnamese  # one label: the glossary's
    assert "Access code: KQ7P-9ZX4" in english
    # the long verification link is a button in HTML, not a line that runs off the screen
    button = re.search(r'<a href="([^"]+)"[^>]*>Xác minh văn bản</a>', html_text)
    assert button is not None
    assert button.group(1) == signed.seal_url
    assert f">{signed.seal_url}<" not in html_text


async def test_a_revocation_notice_is_short_with_the_reason_and_no_document(
    signed: SignedResult,
) -> None:
    from dataclasses import replace

    from registry.states import RevocationReason

    metadata = parse_metadata(json.dumps(example_metadata()))
    result = replace(
        record_of(signed, metadata),
        state=ResultState.REVOKED,
        revocation_code=RevocationReason.ISSUED_IN_ERROR,
        revoked_reason="gửi nhầm người",
    )
    built = MessageBuilder(SENDER).build_notice(
        result, metadata, recipient="an@example.vn", message_id="<2@vandon.example.vn>"
    )
    async with SmtpServer() as server:
        outcome = await plain(server.port).send(
            SENDER.address, "an@example.vn", built.data, "<2@x>"
        )
    assert outcome.kind is AttemptOutcome.SENT
    message = server.mailbox.messages[0].parsed()
    assert not list(message.iter_attachments())
    assert len(built.data) < 20_000
    assert message["Subject"] == (
        "[Ủy ban nhân dân huyện Vân Đồn] Thu hồi kết quả 000.00.14.H49-220301-0012-KQ1"
        " / Result revoked"
    )
    for part in ("plain", "html"):
        body = message.get_body((part,))
        assert body is not None
        said = body.get_content()
        assert "Ban hành nhầm" in said
        assert "Issued in error" in said
        assert "gửi nhầm người" not in said  # the clerk's words stay internal
        assert "https://ketqua.vandon.example.vn/tra-cuu/000.00.14.H49-220301-0012" in said


def test_the_assembled_message_reads_as_the_email_packages_own(signed: SignedResult) -> None:
    """The direct assembly (every ASCII address) and the ``email`` package's (an address
    outside ASCII) give the same message to a reader: subject, sender, both bodies, the
    attachment byte for byte."""
    fast, _, _ = build(signed)
    slow, _, _ = build(signed, recipient="nguyễn.an@example.vn")

    def read(data: bytes) -> tuple[object, ...]:
        message = email.message_from_bytes(data, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        plain, html = message.get_body(("plain",)), message.get_body(("html",))
        assert plain is not None
        assert html is not None
        return (
            str(message["Subject"]),
            str(message["From"]),
            message.get_content_type(),
            plain.get_content(),
            html.get_content(),
            [(p.get_filename(), p.get_content()) for p in message.iter_attachments()],
        )

    assert read(fast) == read(slow)
    parsed = email.message_from_bytes(fast, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    [attached] = list(parsed.iter_attachments())
    assert attached.get_content() == signed.pdf
    assert b"\r\n" in fast
    assert b"\n" not in fast.replace(b"\r\n", b"")  # CRLF line endings only


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({}, ["an.nguyen@example.vn"]),
        ({"deliver": {"email": False}}, []),
        ({"applicant": {"name": "Nguyễn Văn An"}, "deliver": {"email": False}}, []),
        ({"deliver": {}}, ["an.nguyen@example.vn"]),  # e-mail is the default
    ],
)
def test_the_recipients_are_read_from_the_metadata_as_intake_stores_it(
    signed: SignedResult, changes: dict[str, object], expected: list[str]
) -> None:
    metadata = parse_metadata(
        json.dumps(
            {
                **example_metadata(),
                "applicant": {"name": "Nguyễn Văn An", "email": "an.nguyen@example.vn"},
                **changes,
            }
        )
    )
    stored = new_result(new_id(), metadata, "0" * 64, 1, None, None).metadata_json
    assert recipients(replace(record_of(signed, metadata), metadata_json=stored)) == expected
