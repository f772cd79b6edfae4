"""Handing a built message to a mail server, or to the pickup folder when there is none.

Every send ends in one ``Outcome``: ``sent`` with the server's 250 reply,
``temporary`` (connection refused or reset, a timeout, a 4xx reply, a
refused login or sender: our side or the server's state, worth retrying),
or ``permanent`` (a 5xx for this recipient or this message: retrying
would get the same answer). Nothing raises past ``send``: one bad
recipient is one outcome, never a stuck worker.

``SmtpTransport`` keeps up to ``connections`` aiosmtplib clients; with
``reuse`` a client goes back to the idle list after a message (one
connection, one login, many messages), else it says QUIT. Every step has
``timeout`` (aiosmtplib's per-command timeout), and a whole message has a
bound of its own, so a server that accepts the connection and never
answers costs at most that long.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol, get_args
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib

from plumbing.files import fsync_dir, write_atomic
from registry.states import AttemptOutcome

# steps of one message: connect, greeting, (STARTTLS, EHLO), (AUTH), MAIL, RCPT, DATA, end
STEPS_PER_MESSAGE = 8

TlsMode = Literal["starttls", "implicit", "none"]
TLS_MODES: tuple[TlsMode, ...] = get_args(TlsMode)
DEFAULT_PORTS: dict[TlsMode, int] = {"implicit": 465, "starttls": 587, "none": 25}
LOOPBACK = ("localhost", "127.0.0.1", "::1")


@dataclass(frozen=True, slots=True)
class SmtpUrl:
    """Where mail goes: ``smtp://user:password@host:port?tls=starttls|implicit|none``.

    ``ValueError`` saying what is wrong for a mode that is not one of ``TLS_MODES``,
    a port out of range, or mail in clear text (``none``) to a server off loopback.
    """

    host: str
    port: int
    tls: TlsMode
    username: str | None = field(default=None)
    password: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.tls not in TLS_MODES:
            raise ValueError(f"tls={self.tls}: use one of {', '.join(TLS_MODES)}")
        if not 1 <= self.port <= 65535:
            raise ValueError("the port must be a number 1-65535")
        if self.tls == "none" and self.host not in LOOPBACK:
            raise ValueError("tls=none is for a server on loopback only (127.0.0.1, localhost)")

    @classmethod
    def parse(cls, url: str) -> SmtpUrl:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError("must be smtp://[user[:password]@]host[:port][?tls=...]")
        query = parse_qs(parts.query)
        tls = query.get("tls", ["implicit" if parts.scheme == "smtps" else "starttls"])[0]
        if tls not in TLS_MODES:
            raise ValueError(f"tls={tls}: use one of {', '.join(TLS_MODES)}")
        try:
            port = parts.port or DEFAULT_PORTS[tls]
        except ValueError:
            raise ValueError("the port must be a number 1-65535") from None
        return cls(
            host=parts.hostname,
            port=port,
            tls=tls,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
        )


@dataclass(frozen=True, slots=True)
class Outcome:
    kind: AttemptOutcome
    reply: str  # the server's reply ("250 2.0.0 Ok: queued as ..."), or what went wrong


class Transport(Protocol):
    def describe(self) -> str: ...

    async def send(self, sender: str, recipient: str, data: bytes, message_id: str) -> Outcome: ...

    async def close(self, grace: float) -> None: ...


class PickupFolder:
    """No mail server configured: each message becomes ``<message-id>.eml`` in a folder."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def describe(self) -> str:
        return f"the pickup folder {self.root} (no smtp_url set)"

    async def send(self, sender: str, recipient: str, data: bytes, message_id: str) -> Outcome:
        return await asyncio.to_thread(self.drop, data, message_id)

    def drop(self, data: bytes, message_id: str) -> Outcome:
        """``send``'s work, blocking: also for a process that built the message itself."""
        # the Message-ID's left part: unique, and no "@" (which reads as an address)
        name = re.sub(r"[^A-Za-z0-9._-]", "", message_id.partition("@")[0]) + ".eml"
        path = self.root / name
        write_atomic(path, data, mode=0o640)
        fsync_dir(path.parent)
        return Outcome(AttemptOutcome.SENT, f"written to the pickup folder as {name}")

    async def close(self, grace: float) -> None:
        return None


class SmtpTransport:
    def __init__(
        self,
        url: SmtpUrl,
        *,
        timeout: float,
        connections: int,
        reuse: bool,
        ca_file: Path | None = None,
    ) -> None:
        self.url = url
        self.timeout = timeout
        self.reuse = reuse
        self._slots = asyncio.Semaphore(connections)
        self._idle: list[aiosmtplib.SMTP] = []
        self._tls: ssl.SSLContext | None = None
        if url.tls != "none":
            self._tls = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)

    def describe(self) -> str:
        login = f", login as {self.url.username}" if self.url.username else ""
        return f"smtp://{self.url.host}:{self.url.port} (tls={self.url.tls}{login})"

    async def send(self, sender: str, recipient: str, data: bytes, message_id: str) -> Outcome:
        async with self._slots:
            client = self._idle.pop() if self._idle else None
            try:
                async with asyncio.timeout(self.timeout * STEPS_PER_MESSAGE):
                    if client is None or not client.is_connected:
                        client = await self._connect()
                    reply = await _transact(client, sender, recipient, data)
            except BaseException as exc:
                if client is not None:
                    client.close()
                if isinstance(exc, Exception):
                    return _failure(exc)
                raise  # cancelled: the lease is given back, the message is tried again
            if self.reuse:
                self._idle.append(client)
            else:
                await self._quit(client)
            return Outcome(AttemptOutcome.SENT, _reply_line(f"250 {reply}"))

    async def _connect(self) -> aiosmtplib.SMTP:
        client = aiosmtplib.SMTP(
            hostname=self.url.host,
            port=self.url.port,
            username=self.url.username,
            password=self.url.password,
            timeout=self.timeout,
            use_tls=self.url.tls == "implicit",
            start_tls=self.url.tls == "starttls",  # False, not None (None: if offered)
            tls_context=self._tls,
        )
        await client.connect()
        return client

    async def _quit(self, client: aiosmtplib.SMTP, grace: float | None = None) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(client.quit(), min(self.timeout, grace or self.timeout))
        client.close()

    async def close(self, grace: float) -> None:
        """Say QUIT on the idle connections, for at most ``grace`` s (the shutdown's share)."""
        idle, self._idle = self._idle, []
        await asyncio.gather(*(self._quit(client, grace) for client in idle))


async def _transact(client: aiosmtplib.SMTP, sender: str, recipient: str, data: bytes) -> str:
    """MAIL, RCPT and DATA for one message; the text of the server's 250 reply.

    aiosmtplib's ``sendmail`` passes a message through regular expressions three
    times: line endings for its SIZE, then line endings and leading dots for DATA.
    For a result's message (177 KB, 2,300 lines) that is 3-4 ms of the event loop's
    CPU, as much as building the message. ketqua builds its messages with CRLF line
    endings and no line starting with a dot, so those passes give back the bytes they
    were given; a message that needs them still goes through ``sendmail``.
    """
    if not as_on_the_wire(data):
        _, reply = await client.sendmail(sender, [recipient], data)
        return reply
    if client.is_ehlo_or_helo_needed:  # as sendmail: EHLO, and HELO where it is refused
        try:
            await client.ehlo()
        except aiosmtplib.SMTPHeloError:
            if not client.is_connected:
                raise
            await client.helo()
    # the size lets a server refuse a message too large before it is sent (RFC 1870)
    options = [f"SIZE={len(data)}"] if client.supports_extension("size") else []
    try:
        await client.mail(sender, options=options)
        await client.rcpt(recipient)
        return (await _data(client, data)).message
    except aiosmtplib.SMTPResponseException:
        # as sendmail does: the next message on this connection starts a clean envelope.
        # Unlike sendmail, an RSET that times out does not replace the reply that matters
        # (a 550 stays permanent); ``send`` closes the connection either way.
        with contextlib.suppress(ConnectionError, aiosmtplib.SMTPException):
            await client.rset()
        raise


def as_on_the_wire(data: bytes) -> bool:
    """Whether DATA sends ``data`` as it is: CRLF line endings only, ending in one, and
    no line starting with a dot (which the wire doubles)."""
    lines = data.count(b"\r\n")
    return (
        data.endswith(b"\r\n")
        and data.count(b"\n") == lines
        and data.count(b"\r") == lines
        and not data.startswith(b".")
        and b"\n." not in data
    )


async def _data(client: aiosmtplib.SMTP, data: bytes) -> aiosmtplib.SMTPResponse:
    """DATA for a message already as on the wire: aiosmtplib's ``data`` with its passes
    left out, on its public protocol calls (one message at a time on a client)."""
    start = await client.execute_command(b"DATA")
    if start.code != 354:
        raise aiosmtplib.SMTPDataError(start.code, start.message)
    protocol = client.protocol
    if protocol is None:
        raise aiosmtplib.SMTPServerDisconnected("Server not connected")
    protocol.write(data)
    protocol.write(b".\r\n")
    # no await since the write: the reply cannot arrive before it is waited for. A timeout
    # raises through ``send``, which closes the client: a late reply answers nothing.
    response = await protocol.read_response(timeout=client.timeout)
    if response.code != 250:
        raise aiosmtplib.SMTPDataError(response.code, response.message)
    return response


def _failure(exc: Exception) -> Outcome:
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused) and exc.recipients:
        exc = exc.recipients[0]
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        reply = _reply_line(f"{exc.code} {exc.message}")
        ours = isinstance(
            exc,
            aiosmtplib.SMTPAuthenticationError
            | aiosmtplib.SMTPSenderRefused
            | aiosmtplib.SMTPHeloError
            | aiosmtplib.SMTPConnectResponseError,
        )
        if 500 <= exc.code < 600 and not ours:
            return Outcome(AttemptOutcome.PERMANENT, reply)
        return Outcome(AttemptOutcome.TEMPORARY, reply)
    if isinstance(exc, TimeoutError):
        return Outcome(AttemptOutcome.TEMPORARY, f"timed out: {exc or 'no answer'}")
    if isinstance(exc, ssl.SSLError | ssl.CertificateError):
        return Outcome(AttemptOutcome.TEMPORARY, f"TLS failed: {exc}")
    if isinstance(exc, OSError | aiosmtplib.SMTPException):
        return Outcome(AttemptOutcome.TEMPORARY, f"{type(exc).__name__}: {exc}")
    return Outcome(AttemptOutcome.TEMPORARY, f"unexpected {type(exc).__name__}: {exc}")


def _reply_line(text: str) -> str:
    return " ".join(text.split())[:500]
