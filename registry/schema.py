"""The tables, in SQLAlchemy Core; Alembic migrations (``registry/migrations``) create them.

Portable by construction: only types and statements that SQLite and
PostgreSQL both run. Times are stored in UTC (``UtcDateTime``) whatever the
backend keeps of time zones.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.types import TypeDecorator

from registry.ids import ID_LENGTH

# constraint names the same on every backend, so migrations can name them
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UtcDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on SQLite (no time zones) too."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the registry")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# SQLite autoincrements only an INTEGER PRIMARY KEY
Serial = BigInteger().with_variant(Integer(), "sqlite")


def _id(name: str = "id", *args: Any, **kw: Any) -> Column[str]:
    return Column(name, String(ID_LENGTH), *args, **kw)


# the back office's people: a role each, a password kept only as a slow hash (registry.staff)
staff = Table(
    "staff",
    metadata,
    _id(primary_key=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("role", String(12), nullable=False),
    Column("password_hash", String(200), nullable=False),
    Column("must_change", Boolean, nullable=False),  # an initial or reset password
    Column("created_at", UtcDateTime, nullable=False),
    Column("disabled_at", UtcDateTime),
    Column("last_login_at", UtcDateTime),
)

# a signed-in member of staff: the cookie holds a random token, the row only its digest
staff_sessions = Table(
    "staff_sessions",
    metadata,
    Column("token_sha256", String(64), primary_key=True),
    Column("staff_id", String(26), ForeignKey("staff.id"), nullable=False, index=True),
    Column("csrf", String(64), nullable=False),  # the token every form of the session carries
    Column("created_at", UtcDateTime, nullable=False),  # for the absolute expiry
    Column("seen_at", UtcDateTime, nullable=False),  # for the idle expiry (to the minute)
)

api_keys = Table(
    "api_keys",
    metadata,
    _id(primary_key=True),
    Column("name", String(100), nullable=False, unique=True),
    # the first characters of the key, to find its row; the secret is only hashed
    Column("prefix", String(16), nullable=False, unique=True),
    Column("secret_sha256", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("revoked_at", UtcDateTime),
    Column("expires_at", UtcDateTime),  # NULL: a key made before keys ran out
    Column("last_used_at", UtcDateTime),  # to the minute: written at most once a minute
    # the agencies the key may act for, comma-separated; NULL (a key made before they were
    # recorded): the agency of the signer it talks to
    Column("agencies", Text),
)

results = Table(
    "results",
    metadata,
    _id(primary_key=True),
    Column("dossier_code", String(40), nullable=False),
    Column("result_no", Integer, nullable=False),
    Column("agency_code", String(20), nullable=False, index=True),
    Column("procedure_code", String(20), nullable=False),
    Column("state", String(16), nullable=False, index=True),
    # the metadata as accepted (personal data: never logged, never listed)
    Column("metadata_json", Text, nullable=False),
    # the applicant's name casefolded (NFC): the back office searches it in any case, the
    # same on SQLite and PostgreSQL whatever their collation (personal data, as the metadata)
    Column("applicant_folded", String(200)),
    Column("publish", Boolean, nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    Column("due_at", UtcDateTime, nullable=False),
    Column("resolved_at", UtcDateTime, nullable=False),
    # ahead / on_time / late / no_due (registry.timeliness), fixed when accepted
    Column("timeliness", String(8)),
    # scrypt of the applicant's access code (registry.access); never the code itself
    Column("access_hash", String(200)),
    Column("original_sha256", String(64), nullable=False),
    Column("original_size", BigInteger, nullable=False),
    Column("signed_sha256", String(64), index=True),  # an upload is looked up by it
    Column("signed_size", BigInteger),
    Column("signer_fingerprint", String(64)),
    Column("seal_kid", String(16)),
    Column("seal_url", Text),
    Column("verification_code", String(32), index=True),
    Column("pades_level", String(8)),
    Column("signed_at", UtcDateTime),
    _id("supersedes", ForeignKey("results.id")),
    _id("superseded_by", ForeignKey("results.id")),
    # the clerk's words (internal: may name people) and the public reason (states.RevocationReason)
    Column("revoked_reason", Text),
    Column("revocation_code", String(32)),
    Column("failure", Text),
    _id("api_key_id", ForeignKey("api_keys.id")),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    UniqueConstraint("dossier_code", "result_no", name="uq_results_dossier_code_result_no"),
    # the statistics: one agency's results resolved in a period
    Index("ix_results_agency_resolved", "agency_code", "resolved_at"),
    # the public listing: published results, newest (highest id) first, read in index order
    Index("ix_results_listing", "publish", "id"),
    # the back office: an agency's newest first, and what it accepted since a day
    Index("ix_results_agency_id", "agency_code", "id"),
    Index("ix_results_agency_created", "agency_code", "created_at"),
)

result_events = Table(
    "result_events",
    metadata,
    Column("id", Serial, primary_key=True, autoincrement=True),
    _id("result_id", ForeignKey("results.id"), nullable=False, index=True),
    Column("at", UtcDateTime, nullable=False),
    Column("state", String(16), nullable=False),
    Column("detail", Text),
    # an API key's id, or "pipeline" for the service's own moves
    Column("actor", String(32), nullable=False),
)

jobs = Table(
    "jobs",
    metadata,
    Column("id", Serial, primary_key=True, autoincrement=True),
    _id("result_id", ForeignKey("results.id"), nullable=False, index=True),
    Column("kind", String(16), nullable=False),
    Column("state", String(12), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("run_after", UtcDateTime, nullable=False),
    Column("lease_owner", String(64)),
    Column("lease_until", UtcDateTime),
    Column("last_error", Text),
    Column("created_at", UtcDateTime, nullable=False),
    Column("finished_at", UtcDateTime),
    # a "deliver" job sends one delivery (one recipient); a "sign" job has none
    _id("delivery_id", ForeignKey("deliveries.id")),
    # the result's agency: a signer claims the jobs of the agency its keys sign for
    Column("agency_code", String(32)),
    Index("ix_jobs_state_run_after", "state", "run_after"),
)

# the outbox: one row per recipient and sending; a resend adds new rows
deliveries = Table(
    "deliveries",
    metadata,
    _id("id", primary_key=True),
    _id("result_id", ForeignKey("results.id"), nullable=False, index=True),
    Column("channel", String(12), nullable=False),
    Column("recipient", Text, nullable=False),  # personal data: never logged
    Column("state", String(12), nullable=False),
    # the same on every attempt: a duplicate after a lost reply is recognisable
    Column("message_id", String(200), nullable=False, unique=True),
    Column("attempts", Integer, nullable=False),
    Column("last_reply", Text),
    Column("mode", String(12)),  # "attachment", or "link" when the message would be too large
    # "result": the signed result; "revocation": the short notice that it was revoked
    Column("kind", String(12), nullable=False, server_default="result"),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("sent_at", UtcDateTime),
    # the back office's refused e-mails: few among many sent
    Index("ix_deliveries_state", "state"),
)

delivery_attempts = Table(
    "delivery_attempts",
    metadata,
    Column("id", Serial, primary_key=True, autoincrement=True),
    _id("delivery_id", ForeignKey("deliveries.id"), nullable=False, index=True),
    Column("at", UtcDateTime, nullable=False),
    Column("outcome", String(12), nullable=False),  # sent, temporary, permanent
    Column("reply", Text, nullable=False),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Serial, primary_key=True, autoincrement=True),
    Column("at", UtcDateTime, nullable=False),
    _id("api_key_id", ForeignKey("api_keys.id")),
    _id("staff_id", ForeignKey("staff.id")),  # a console request: the person's account
    Column("method", String(8), nullable=False),
    Column("route", String(200), nullable=False),
    _id("result_id"),
    Column("status", Integer, nullable=False),
)

# documents by content when the deployment keeps them in the database (blob_store =
# "database"): every machine sees them with nothing else shared
blobs = Table(
    "blobs",
    metadata,
    Column("sha256", String(64), primary_key=True),
    Column("size", BigInteger, nullable=False),
    Column("data", LargeBinary, nullable=False),
    Column("stored_at", UtcDateTime, nullable=False),
)
