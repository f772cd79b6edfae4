"""What the console's handlers share, made once at start (``console.app.install``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from aiohttp import web
from jinja2 import Environment

from console.once import ShownOnce
from console.throttle import LoginThrottle
from plumbing.web.security import ClientAddress
from registry.staff import Session
from signer.api.context import SignerContext


@dataclass(frozen=True, slots=True)
class ConsoleContext:
    signer: SignerContext
    templates: Environment
    throttle: LoginThrottle
    clients: ClientAddress
    public_url: str  # the portal: the desk slip's QR and links lead there
    trust_list: Path  # what an uploaded, already signed document is checked against
    access_secret: bytes | None  # recomputes a generated access code for the desk slip
    agency_name: str | None  # prefills the submit form
    idle: timedelta = timedelta(minutes=30)
    absolute: timedelta = timedelta(hours=10)
    # a new password or API key between its POST and the page that shows it: kind, name, value
    shown_once: ShownOnce[tuple[str, str, str]] = field(default_factory=ShownOnce)


CONSOLE = web.AppKey("console", ConsoleContext)
SESSION = web.RequestKey("session", Session)
LANG = web.RequestKey("lang", str)
