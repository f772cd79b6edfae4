"""The back office's people: accounts with a role, and passwords kept only as a slow hash.

A role says what its holder may do (``Role.may``): a clerk submits,
corrects and re-delivers results; a supervisor also revokes; an admin also
manages accounts and API keys. A password is hashed with scrypt (N=2**15,
r=8, p=1: 32 MiB and about a tenth of a second a try, memory-hard) and a
random salt, and compared in constant time; the hash runs in C with the GIL
released: call it from a thread. An account starts with a generated
password that must be changed at the first login (``must_change``), as does
one whose password an admin reset. A disabled account keeps its history.

A session is a random token in the person's cookie; the registry keeps only
its SHA-256, with the person, a CSRF token for the session's forms and two
times: it ends after ``idle`` without a request and ``absolute`` after the
login whatever happens, at logout, and when the account is disabled or its
password is reset or changed (every session of the account).
"""

from __future__ import annotations

import asyncio
import base64
import functools
import hashlib
import hmac
import secrets
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, delete, select, update
from sqlalchemy.exc import IntegrityError

from plumbing.errors import Conflict, InputError, NotFound
from registry.database import Database
from registry.ids import new_id
from registry.schema import staff, staff_sessions

N, R, P = 2**15, 8, 1
_SCHEME = "scrypt"
# a generated password: 4 groups of 5 from Crockford's alphabet (about 100 bits)
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
MIN_PASSWORD = 12


class Action(StrEnum):
    SUBMIT = "submit"
    CORRECT = "correct"
    RESEND = "resend"
    REVOKE = "revoke"
    MANAGE = "manage"  # accounts and API keys


class Role(StrEnum):
    CLERK = "clerk"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"

    def may(self, action: Action) -> bool:
        return action in _ALLOWED[self]


_CLERK = {Action.SUBMIT, Action.CORRECT, Action.RESEND}
_ALLOWED = {
    Role.CLERK: frozenset(_CLERK),
    Role.SUPERVISOR: frozenset(_CLERK | {Action.REVOKE}),
    Role.ADMIN: frozenset(_CLERK | {Action.REVOKE, Action.MANAGE}),
}


@dataclass(frozen=True, slots=True)
class StaffUser:
    """An account's public facts (never the password or its hash)."""

    id: str
    name: str
    role: Role
    must_change: bool
    created_at: datetime
    disabled_at: datetime | None
    last_login_at: datetime | None

    @property
    def active(self) -> bool:
        return self.disabled_at is None

    @classmethod
    def from_row(cls, row: Any) -> StaffUser:
        return cls(
            row.id,
            row.name,
            Role(row.role),
            bool(row.must_change),
            row.created_at,
            row.disabled_at,
            row.last_login_at,
        )


def new_password() -> str:
    """A password to hand over once: ``XXXXX-XXXXX-XXXXX-XXXXX``."""
    chars = "".join(secrets.choice(_ALPHABET) for _ in range(20))
    return "-".join(chars[i : i + 5] for i in range(0, 20, 5))


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = _scrypt(password, salt, N, R, P)
    parts = (_SCHEME, str(N), str(R), str(P), _b64(salt), _b64(digest))
    return "$".join(parts)


def check_password(password: str, stored: str) -> bool:
    """Whether ``password`` is the one ``stored`` was made from (constant-time compare)."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != _SCHEME:
            return False
        found = _scrypt(password, _unb64(salt), int(n), int(r), int(p))
    except ValueError:
        return False
    return hmac.compare_digest(found, _unb64(digest))


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        password.encode(), salt=salt, n=n, r=r, p=p, maxmem=64 * 1024 * 1024, dklen=32
    )


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


def _checked_name(name: str) -> str:
    name = " ".join(name.split())
    if not 1 <= len(name) <= 100 or not name.isprintable():
        raise InputError("a name of 1 to 100 printable characters is required", field="name")
    return name


def _get(conn: Connection, name: str) -> Any:
    row = conn.execute(select(staff).where(staff.c.name == name)).first()
    if row is None:
        raise NotFound(f"no account named {name!r}", field="name")
    return row


async def add_user(db: Database, name: str, role: Role) -> tuple[StaffUser, str]:
    """A new account with a generated password (returned here, once; changed at first login)."""
    name = _checked_name(name)
    password = new_password()
    hashed = await asyncio.to_thread(hash_password, password)
    user = StaffUser(new_id(), name, role, True, datetime.now(UTC), None, None)
    row = {
        "id": user.id,
        "name": name,
        "role": role.value,
        "password_hash": hashed,
        "must_change": True,
        "created_at": user.created_at,
    }
    try:
        await db.write(lambda conn: conn.execute(staff.insert(), row))
    except IntegrityError:
        raise Conflict(f"an account named {name!r} exists already", field="name") from None
    return user, password


async def list_users(db: Database) -> list[StaffUser]:
    def read(conn: Connection) -> list[StaffUser]:
        return [StaffUser.from_row(r) for r in conn.execute(select(staff).order_by(staff.c.name))]

    return await db.read(read)


async def disable_user(db: Database, name: str) -> StaffUser:
    def write(conn: Connection) -> StaffUser:
        row = _get(conn, name)
        at = row.disabled_at or datetime.now(UTC)
        conn.execute(update(staff).where(staff.c.id == row.id).values(disabled_at=at))
        _end_sessions(conn, row.id)
        return replace(StaffUser.from_row(row), disabled_at=at)

    return await db.write(write)


async def reset_password(db: Database, name: str) -> tuple[StaffUser, str]:
    """A new generated password, to be changed at the next login; the old one stops working."""
    password = new_password()
    hashed = await asyncio.to_thread(hash_password, password)

    def write(conn: Connection) -> StaffUser:
        row = _get(conn, name)
        conn.execute(
            update(staff)
            .where(staff.c.id == row.id)
            .values(password_hash=hashed, must_change=True)
        )
        _end_sessions(conn, row.id)
        return replace(StaffUser.from_row(row), must_change=True)

    return await db.write(write), password


async def authenticate(db: Database, name: str, password: str) -> StaffUser | None:
    """The active account ``name`` with ``password``, or None; a miss costs what a hit costs."""
    row = await db.read(
        lambda conn: conn.execute(select(staff).where(staff.c.name == name)).first()
    )
    stored = row.password_hash if row is not None else _nobody()
    matches = await asyncio.to_thread(check_password, password, stored)
    if row is None or not matches or row.disabled_at is not None:
        return None
    now = datetime.now(UTC)
    await db.write(
        lambda conn: conn.execute(
            update(staff).where(staff.c.id == row.id).values(last_login_at=now)
        )
    )
    return replace(StaffUser.from_row(row), last_login_at=now)


@functools.cache
def _nobody() -> str:
    """A hash an unknown name is checked against, so that it costs what a known one costs."""
    return hash_password(secrets.token_hex(16))


def password_fault(password: str, name: str) -> str | None:
    """Why ``password`` will not do as ``name``'s own, or None."""
    if len(password) < MIN_PASSWORD:
        return f"at least {MIN_PASSWORD} characters"
    if len(password) > 200:
        return "at most 200 characters"
    if name.casefold() in password.casefold() or len(set(password)) < 5:
        return "too easy to guess: not the account's name, at least 5 different characters"
    return None


async def change_password(db: Database, user_id: str, password: str) -> str:
    """The person's own new password (no longer ``must_change``); every other session of the
    account ends. Returns a new session token for the one who changed it."""
    hashed = await asyncio.to_thread(hash_password, password)

    def write(conn: Connection) -> None:
        conn.execute(
            update(staff)
            .where(staff.c.id == user_id)
            .values(password_hash=hashed, must_change=False)
        )
        _end_sessions(conn, user_id)

    await db.write(write)
    return await open_session(db, user_id)


# --- sessions --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Session:
    """A signed-in person: who, the CSRF token of the session's forms, when it began."""

    user: StaffUser
    csrf: str
    token_sha256: str
    created_at: datetime


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def open_session(db: Database, user_id: str) -> str:
    """A new session for ``user_id``; the token (for the cookie) is returned, never stored."""
    token = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    row = {
        "token_sha256": _token_digest(token),
        "staff_id": user_id,
        "csrf": secrets.token_urlsafe(32),
        "created_at": now,
        "seen_at": now,
    }
    await db.write(lambda conn: conn.execute(staff_sessions.insert(), row))
    return token


# a request refreshes its session's idle clock at most this often (not a write per request)
TOUCH_EVERY = timedelta(minutes=1)


async def session_for(
    db: Database, token: str, *, idle: timedelta, absolute: timedelta
) -> Session | None:
    """The live session of ``token`` of an active account, or None (unknown, ended, expired:
    an expired one is removed)."""
    if not token or len(token) > 100:
        return None
    digest = _token_digest(token)
    query = (
        select(staff_sessions, staff)
        .join(staff, staff.c.id == staff_sessions.c.staff_id)
        .where(staff_sessions.c.token_sha256 == digest)
    )
    row = await db.read(lambda conn: conn.execute(query).first())
    if row is None:
        return None
    now = datetime.now(UTC)
    expired = now - row.seen_at >= idle or now - row.created_at >= absolute
    if expired or row.disabled_at is not None:
        await end_session(db, token)
        return None
    if now - row.seen_at >= min(TOUCH_EVERY, idle / 4):
        await db.write(
            lambda conn: conn.execute(
                update(staff_sessions)
                .where(staff_sessions.c.token_sha256 == digest)
                .values(seen_at=now)
            )
        )
    return Session(StaffUser.from_row(row), row.csrf, digest, row.created_at)


async def end_session(db: Database, token: str) -> None:
    digest = _token_digest(token)
    await db.write(
        lambda conn: conn.execute(
            delete(staff_sessions).where(staff_sessions.c.token_sha256 == digest)
        )
    )


async def sweep_sessions(db: Database, *, idle: timedelta, absolute: timedelta) -> int:
    """Remove sessions that ran out (a person who never logged out); how many."""
    now = datetime.now(UTC)

    def write(conn: Connection) -> int:
        gone = conn.execute(
            delete(staff_sessions).where(
                (staff_sessions.c.seen_at <= now - idle)
                | (staff_sessions.c.created_at <= now - absolute)
            )
        )
        return int(gone.rowcount or 0)

    return await db.write(write)


def _end_sessions(conn: Connection, user_id: str) -> None:
    conn.execute(delete(staff_sessions).where(staff_sessions.c.staff_id == user_id))


async def get_user(db: Database, name: str) -> StaffUser:
    return await db.read(lambda conn: StaffUser.from_row(_get(conn, name)))


async def password_matches(db: Database, user_id: str, password: str) -> bool:
    """Whether ``password`` is the account's current one (a person changing their own)."""
    row = await db.read(
        lambda conn: conn.execute(
            select(staff.c.password_hash).where(staff.c.id == user_id)
        ).first()
    )
    stored = row.password_hash if row is not None else _nobody()
    return await asyncio.to_thread(check_password, password, stored) and row is not None
