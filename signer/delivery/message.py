"""The email that carries a signed result to its applicant.

Subject, plain text and HTML come from jinja2 templates (``templates/``; an
operator's folder, ``mail_templates``, overrides any of them by name), HTML
autoescaped. The message is written out directly (``_assembled``: 0.6 ms
where the ``email`` package's header folding took 13 ms), non-ASCII words
RFC 2047-encoded, the attachment's name RFC 2231-encoded, bodies in
quoted-printable and base64 by the standard library's C codecs; an address
outside ASCII, and the revocation notice, take the ``email`` package's SMTP
policy. Every value taken from metadata has its line breaks folded to spaces
first, so no field can add a header. The attachment is
the stored signed PDF, byte for byte; when the whole message would exceed
the size limit, the message carries the links instead and says so. With a
DKIM key configured, the finished message is signed (dkimpy).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass, field
from email.header import Header
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import encode_rfc2231, format_datetime, formataddr
from pathlib import Path
from typing import Any
from urllib.parse import quote

import dkim
from cryptography.hazmat.primitives import serialization
from jinja2 import (
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    PackageLoader,
    StrictUndefined,
    TemplateError,
    select_autoescape,
)

from plumbing import formats
from plumbing.errors import InputError
from plumbing.terms import REVOCATION_REASONS, labels
from registry.results import ResultRecord
from signer.metadata import ResultMetadata

ATTACHMENT = "attachment"
LINK = "link"
_UNSAFE_IN_FILENAME = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]+')


@dataclass(frozen=True, slots=True)
class Contact:
    """Whom the applicant asks: the one-stop desk (settings ``contact_*``), in every e-mail."""

    agency: str | None = None  # None: the issuing agency's name
    phone: str | None = None
    email: str | None = None
    address: str | None = None


@dataclass(frozen=True, slots=True)
class Sender:
    """Who the messages come from, whom to ask, and how big one may be."""

    address: str
    name: str | None = None  # None: the agency's name
    reply_to: str | None = None  # None: the desk's e-mail, if set
    max_bytes: int = 10 * 1024 * 1024
    public_url: str = "http://127.0.0.1:8080"
    contact: Contact = field(default_factory=Contact)

    @property
    def answers_to(self) -> str | None:
        return self.reply_to or self.contact.email

    @property
    def domain(self) -> str:
        return self.address.rpartition("@")[2]


@dataclass(frozen=True, slots=True)
class DkimKey:
    """DKIM signing (RFC 6376) for the sender's domain: ``<selector>._domainkey.<domain>``."""

    selector: str
    domain: str
    private_key: bytes = field(repr=False)  # PEM

    @classmethod
    def load(cls, selector: str, domain: str, key_file: Path) -> DkimKey:
        try:
            pem = key_file.read_bytes()
            serialization.load_pem_private_key(pem, password=None)
        except (OSError, ValueError, TypeError) as exc:
            raise InputError(
                f"cannot use the DKIM key {key_file}: {exc}", field="dkim_key_file"
            ) from exc
        return cls(selector, domain, pem)

    def sign(self, data: bytes) -> bytes:
        header = dkim.sign(
            data,
            self.selector.encode(),
            self.domain.encode(),
            self.private_key,
            include_headers=list(SIGNED_HEADERS),
        )
        return bytes(header) + data


# what a forwarder must not change; Subject and the body (l= unset) are covered too
SIGNED_HEADERS = (
    b"from",
    b"to",
    b"subject",
    b"date",
    b"message-id",
    b"reply-to",
    b"mime-version",
    b"content-type",
)


@dataclass(frozen=True, slots=True)
class Built:
    data: bytes  # the message as sent (CRLF line ends)
    mode: str  # ATTACHMENT or LINK


CRLF = b"\r\n"
CRLF_STR = "\r\n"


QP_LINE = 76  # RFC 2045 6.7: an encoded line's characters, its soft break's "=" included


def quoted_printable(text: str) -> str:
    """``text`` as quoted-printable (the C codec), lines ending CRLF, ASCII only, and no
    line starting with a dot: SMTP would double it (RFC 5321 4.5.2), so a message with
    one cannot go as built (``transport.as_on_the_wire``). The codec leaves a dot at the
    start of a line, and its soft breaks put one there in codes like 000.00.14.H49."""
    encoded = binascii.b2a_qp(text.encode("utf-8"), istext=True).decode("ascii")
    if encoded.startswith(".") or "\n." in encoded:
        encoded = "\n".join(_without_a_leading_dot(line) for line in encoded.split("\n"))
    return encoded.replace("\n", CRLF_STR)


def _without_a_leading_dot(line: str) -> str:
    """An encoded line with its leading dot as ``=2E`` (the same character once decoded),
    broken again with a soft break where that makes it longer than ``QP_LINE``."""
    pieces = []
    while line.startswith("."):
        line = "=2E" + line[1:]
        if len(line) <= QP_LINE:
            break
        cut = QP_LINE - 1  # room for the soft break's "="
        while "=" in line[cut - 2 : cut]:  # never inside an =XX escape
            cut -= 1
        pieces.append(line[:cut] + "=")
        line = line[cut:]
    return "\n".join([*pieces, line])


def one_line(value: str) -> str:
    """A metadata value made safe for a header: no CR, LF or other control characters."""
    return " ".join(re.sub(r"[\x00-\x1f\x7f]", " ", value).split())


def attachment_name(result: ResultRecord) -> str:
    return _UNSAFE_IN_FILENAME.sub("-", f"Kết quả {result.result_code}.pdf")


@dataclass(frozen=True, slots=True)
class MailSetup:
    """What a ``MessageBuilder`` is made of: crosses to the processes that build messages."""

    sender: Sender
    templates: Path | None = None
    dkim_key: DkimKey | None = None

    def builder(self) -> MessageBuilder:
        return MessageBuilder(self.sender, self.templates, self.dkim_key)


class MessageBuilder:
    """Templates loaded and compiled once; ``build`` per message (pure CPU, no I/O)."""

    def __init__(
        self, sender: Sender, templates: Path | None = None, dkim_key: DkimKey | None = None
    ) -> None:
        self.sender = sender
        self.dkim_key = dkim_key
        loaders: list[Any] = [PackageLoader("signer.delivery", "templates")]
        if templates is not None:
            loaders.insert(0, FileSystemLoader(str(templates)))
        self._env = Environment(
            loader=ChoiceLoader(loaders),
            autoescape=select_autoescape(enabled_extensions=("html", "html.j2")),
            undefined=StrictUndefined,
            keep_trailing_newline=True,
        )
        try:  # an operator's template that does not parse stops the start, naming it
            self._subject = self._env.get_template("subject.txt.j2")
            self._text = self._env.get_template("body.txt.j2")
            self._html = self._env.get_template("body.html.j2")
            self._notice_subject = self._env.get_template("revoked_subject.txt.j2")
            self._notice_text = self._env.get_template("revoked.txt.j2")
            self._notice_html = self._env.get_template("revoked.html.j2")
        except TemplateError as exc:
            where = getattr(exc, "filename", None) or getattr(exc, "name", None) or ""
            raise InputError(
                f"email template {where}: {exc.message}".replace("  ", " "),
                field="mail_templates",
            ) from exc

    def build(
        self,
        result: ResultRecord,
        metadata: ResultMetadata,
        pdf: bytes,
        *,
        recipient: str,
        message_id: str,
        access_code: str | None = None,
        replaces: str | None = None,
    ) -> Built:
        """The result's e-mail; ``replaces``: the result code a correction replaces."""
        parts = (result, metadata, pdf, recipient, message_id, access_code, replaces)
        data = self._message(*parts, attach=True)
        mode = ATTACHMENT
        if len(data) > self.sender.max_bytes:
            data = self._message(*parts, attach=False)
            mode = LINK
        return Built(self._signed(data), mode)

    def build_notice(
        self, result: ResultRecord, metadata: ResultMetadata, *, recipient: str, message_id: str
    ) -> Built:
        """The short notice that ``result`` was revoked: no attachment, the reason's label."""
        values = self._values(result, metadata, b"", attached=False)
        reason = result.revocation_code.value if result.revocation_code else "other"
        values |= {
            "reason_vi": REVOCATION_REASONS[reason].vi,
            "reason_en": REVOCATION_REASONS[reason].en,
            "revoked_on": formats.day(result.updated_at),
        }
        msg = self._headers(
            self._notice_subject.render(values), result, metadata, recipient, message_id
        )
        del msg["Date"]
        msg["Date"] = format_datetime(result.updated_at)  # when it was revoked
        msg.set_content(self._notice_text.render(values), cte="quoted-printable")
        msg.add_alternative(
            self._notice_html.render(values), subtype="html", cte="quoted-printable"
        )
        return Built(self._signed(self._bytes(msg, message_id)), LINK)

    def _signed(self, data: bytes) -> bytes:
        return self.dkim_key.sign(data) if self.dkim_key is not None else data

    def _message(
        self,
        result: ResultRecord,
        metadata: ResultMetadata,
        pdf: bytes,
        recipient: str,
        message_id: str,
        access_code: str | None,
        replaces: str | None,
        *,
        attach: bool,
    ) -> bytes:
        values = self._values(result, metadata, pdf, attached=attach)
        values["access_code"] = access_code
        values["replaces"] = replaces
        subject = self._subject.render(values)
        if (recipient + self.sender.address + (self.sender.answers_to or "")).isascii():
            return self._assembled(
                subject, result, metadata, recipient, message_id, values, pdf if attach else None
            )
        msg = self._headers(subject, result, metadata, recipient, message_id)
        msg.set_content(self._text.render(values), cte="quoted-printable")
        msg.add_alternative(self._html.render(values), subtype="html", cte="quoted-printable")
        if attach:
            msg.add_attachment(
                pdf, maintype="application", subtype="pdf", filename=attachment_name(result)
            )
        return self._bytes(msg, message_id)

    def _assembled(
        self,
        subject: str,
        result: ResultRecord,
        metadata: ResultMetadata,
        recipient: str,
        message_id: str,
        values: dict[str, Any],
        pdf: bytes | None,
    ) -> bytes:
        """The result's message written out directly: the structure ``_headers`` and the
        ``email`` package give (multipart/mixed of a text/HTML alternative and the PDF), at a
        fraction of the CPU (their header folding cost a third of the service's process per
        result); the encodings are the standard library's C ones. Addresses not in ASCII
        take the ``email`` package's path."""
        seed = hashlib.sha256(message_id.encode()).hexdigest()[:24]
        outer, inner = f"=_ketqua_{seed}_0", f"=_ketqua_{seed}_1"
        name = one_line(self.sender.name or metadata.agency.name)
        head = [
            (
                "Subject",
                Header(one_line(subject), "utf-8", header_name="Subject").encode(linesep=CRLF_STR),
            ),
            ("From", formataddr((name, self.sender.address), charset="utf-8")),
            ("To", recipient),
        ]
        if self.sender.answers_to:
            head.append(("Reply-To", self.sender.answers_to))
        head += [
            ("Date", format_datetime(result.signed_at or result.updated_at)),
            ("Message-ID", message_id),
            ("Auto-Submitted", "auto-generated"),
            ("Content-Language", "vi, en"),
            ("MIME-Version", "1.0"),
        ]
        alternative = [
            f"--{inner}",
            'Content-Type: text/plain; charset="utf-8"',
            "Content-Transfer-Encoding: quoted-printable",
            "",
            quoted_printable(self._text.render(values)),
            f"--{inner}",
            'Content-Type: text/html; charset="utf-8"',
            "Content-Transfer-Encoding: quoted-printable",
            "",
            quoted_printable(self._html.render(values)),
            f"--{inner}--",
            "",
        ]
        if pdf is None:
            lines = [
                *(f"{k}: {v}" for k, v in head),
                f'Content-Type: multipart/alternative; boundary="{inner}"',
                "",
                *alternative,
            ]
            return CRLF.join(line.encode("ascii") for line in lines)
        filename = encode_rfc2231(attachment_name(result), "utf-8")
        lines = [
            *(f"{k}: {v}" for k, v in head),
            f'Content-Type: multipart/mixed; boundary="{outer}"',
            "",
            f"--{outer}",
            f'Content-Type: multipart/alternative; boundary="{inner}"',
            "",
            *alternative,
            f"--{outer}",
            "Content-Type: application/pdf",
            "Content-Transfer-Encoding: base64",
            f"Content-Disposition: attachment; filename*={filename}",
            "",
        ]
        body = base64.encodebytes(pdf).replace(b"\n", CRLF)
        closing = f"--{outer}--".encode("ascii") + CRLF
        return CRLF.join(line.encode("ascii") for line in lines) + CRLF + body + closing

    def _headers(
        self,
        subject: str,
        result: ResultRecord,
        metadata: ResultMetadata,
        recipient: str,
        message_id: str,
    ) -> EmailMessage:
        msg = EmailMessage(policy=SMTP)
        msg["Subject"] = one_line(subject)
        msg["From"] = formataddr(
            (one_line(self.sender.name or metadata.agency.name), self.sender.address)
        )
        msg["To"] = recipient
        if self.sender.answers_to:
            msg["Reply-To"] = self.sender.answers_to
        msg["Date"] = format_datetime(result.signed_at or result.updated_at)
        msg["Message-ID"] = message_id
        msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies to this
        msg["Content-Language"] = "vi, en"
        return msg

    @staticmethod
    def _bytes(msg: EmailMessage, message_id: str) -> bytes:
        # boundaries from the Message-ID, not random: a message built again (a retry after
        # a crash) is the same bytes, so a duplicate is recognisable as one
        seed = hashlib.sha256(message_id.encode()).hexdigest()[:24]
        for n, part in enumerate(p for p in msg.walk() if p.is_multipart()):
            part.set_boundary(f"=_ketqua_{seed}_{n}")
        return msg.as_bytes()

    def _values(
        self, result: ResultRecord, metadata: ResultMetadata, pdf: bytes, *, attached: bool
    ) -> dict[str, Any]:
        return {
            "agency": metadata.agency,
            "procedure": metadata.procedure,
            "applicant": metadata.applicant,
            "dossier_code": metadata.dossier_code,
            "result_code": result.result_code,
            "resolved": formats.day(metadata.resolved_at),
            "document_number": metadata.document_number,
            "vi": labels("vi"),
            "en": labels("en"),
            "verify_url": result.seal_url or "",
            "verification_code": result.verification_code or "",
            "portal_url": f"{self.sender.public_url}/tra-cuu/{quote(metadata.dossier_code)}",
            "reply_to": self.sender.answers_to,
            "contact": self.sender.contact,
            "desk": self.sender.contact.agency or metadata.agency.name,
            "attached": attached,
            "size_mb": f"{len(pdf) / 1024 / 1024:.1f}",
        }
