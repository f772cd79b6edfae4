"""API keys of the signer's intake: created once, stored as a hash, revocable.

A key reads ``kq_<prefix>_<secret>``. The prefix finds the row; the whole
key's SHA-256 is compared in constant time. A plain hash suffices: the
secret is 256 random bits, not a password to be guessed.

A key acts for the agencies it lists: it submits, reads, revokes and
resends results of those agencies only. A key that lists none (the default,
all a registry of one agency needs) acts for the agency of the signer it
talks to.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, select, update
from sqlalchemy.exc import IntegrityError

from plumbing.errors import Conflict, InputError, NotFound
from plumbing.vietnam import AGENCY_CODE
from registry.database import Database
from registry.ids import new_id
from registry.schema import api_keys

_PREFIX_BYTES = 6
# compared against when the prefix is unknown, so a miss costs what a hit costs
_DUMMY = hashlib.sha256(b"no such key").hexdigest()


@dataclass(frozen=True, slots=True)
class ApiKey:
    """An API key's public facts (never the secret)."""

    id: str
    name: str
    prefix: str
    created_at: datetime
    revoked_at: datetime | None
    agencies: tuple[str, ...] = field(default=())  # none: the signer's own agency
    expires_at: datetime | None = None  # None: made before keys ran out
    last_used_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None and not self.expired

    @property
    def expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= datetime.now(UTC)

    @classmethod
    def from_row(cls, row: Any) -> ApiKey:
        return cls(
            row.id,
            row.name,
            row.prefix,
            row.created_at,
            row.revoked_at,
            _agencies(row.agencies),
            row.expires_at,
            row.last_used_at,
        )

    def may_act_for(self, agency: str, signer_agency: str) -> bool:
        """Whether this key may submit, read or change a result of ``agency``."""
        return agency in (self.agencies or (signer_agency,))

    def scope(self, signer_agency: str) -> tuple[str, ...]:
        return self.agencies or (signer_agency,)


def _agencies(value: str | None) -> tuple[str, ...]:
    return tuple(value.split(",")) if value else ()


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _split(key: str) -> str | None:
    parts = key.split("_", 2)
    if len(parts) != 3 or parts[0] != "kq" or len(parts[1]) != 2 * _PREFIX_BYTES:
        return None
    return parts[1]


DEFAULT_LIFETIME = timedelta(days=365)


async def create_api_key(
    db: Database,
    name: str,
    agencies: tuple[str, ...] = (),
    lifetime: timedelta | None = DEFAULT_LIFETIME,
) -> tuple[ApiKey, str]:
    """A new key acting for ``agencies`` (none: for the agency of the signer it talks to),
    running out after ``lifetime`` (None: never); the plain key is returned here, once,
    and never stored."""
    name = name.strip()
    if not name or len(name) > 100:
        raise Conflict("an API key needs a name of 1 to 100 characters", field="name")
    for agency in agencies:
        if not re.fullmatch(AGENCY_CODE, agency):
            raise InputError(
                f"{agency!r} is not an agency code like 000.00.14.H49", field="agency"
            )
    prefix = secrets.token_hex(_PREFIX_BYTES)
    plain = f"kq_{prefix}_{secrets.token_urlsafe(32)}"
    now = datetime.now(UTC)
    expires = now + lifetime if lifetime is not None else None
    key = ApiKey(new_id(), name, prefix, now, None, tuple(sorted(set(agencies))), expires)
    row = {
        "id": key.id,
        "name": key.name,
        "prefix": prefix,
        "secret_sha256": _digest(plain),
        "created_at": key.created_at,
        "expires_at": expires,
        "agencies": ",".join(key.agencies) or None,
    }
    try:
        await db.write(lambda conn: conn.execute(api_keys.insert(), row))
    except IntegrityError:
        # the driver's error repeats the row, the key's hash included: not kept as the cause
        raise Conflict(f"an API key named {name!r} exists already", field="name") from None
    return key, plain


def _revoke(conn: Connection, name: str) -> ApiKey:
    row = conn.execute(select(api_keys).where(api_keys.c.name == name)).first()
    if row is None:
        raise NotFound(f"no API key named {name!r}", field="name")
    revoked_at = row.revoked_at or datetime.now(UTC)
    conn.execute(update(api_keys).where(api_keys.c.id == row.id).values(revoked_at=revoked_at))
    return replace(ApiKey.from_row(row), revoked_at=revoked_at)


async def revoke_api_key(db: Database, name: str) -> ApiKey:
    return await db.write(_revoke, name)


def _list(conn: Connection) -> list[ApiKey]:
    return [ApiKey.from_row(r) for r in conn.execute(select(api_keys).order_by(api_keys.c.id))]


async def list_api_keys(db: Database) -> list[ApiKey]:
    return await db.read(_list)


_BY_PREFIX = select(api_keys).where(api_keys.c.prefix == bindparam("prefix"))


async def authenticate(db: Database, presented: str) -> ApiKey | None:
    """The active key ``presented`` is, or None (unknown, wrong, revoked or run out)."""
    prefix = _split(presented)
    row = None
    if prefix is not None:
        row = await db.read(lambda conn: conn.execute(_BY_PREFIX, {"prefix": prefix}).first())
    expected = row.secret_sha256 if row is not None else _DUMMY
    matches = hmac.compare_digest(_digest(presented), expected)
    if row is None or not matches:
        return None
    key = ApiKey.from_row(row)
    return key if key.active else None
