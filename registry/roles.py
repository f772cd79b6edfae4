"""The database roles a deployment gives each service: the verifier only reads.

The signer owns the schema (it migrates it, or ``ketqua migrate`` does) and
writes; the public verifier connects as a role that may only SELECT the
tables it answers from, so a flaw in the public service cannot write a
result, an API key or the queue. ``reader_grants`` is the SQL, run by
``ketqua migrate --grant-reader ROLE`` after every migration (a new table
the verifier needs is granted then); the role itself is the DBA's to
create (README, Least privilege).
"""

from __future__ import annotations

import re

from sqlalchemy import Connection, text

from plumbing.errors import InputError

# what the public verifier reads: results and their history (pages, lookup, listing,
# statistics), the documents (when kept in the database) and the schema's revision
READER_TABLES = ("results", "result_events", "blobs", "alembic_version")
_ROLE = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def reader_grants(role: str) -> list[str]:
    """The statements that let ``role`` read what the verifier needs, and nothing more."""
    if not _ROLE.fullmatch(role):
        raise InputError(f"{role!r} is not a role name (lower case, digits, _)", field="role")
    tables = ", ".join(READER_TABLES)
    return [
        f"GRANT USAGE ON SCHEMA public TO {role}",
        f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {role}",
        f"GRANT SELECT ON {tables} TO {role}",
    ]


def grant_reader(conn: Connection, role: str) -> None:
    if conn.dialect.name != "postgresql":
        raise InputError("read-only roles are PostgreSQL's; SQLite has files", field="role")
    exists = conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}).first()
    if exists is None:
        raise InputError(
            f"no role {role!r}: create it first (README, Least privilege)", field="role"
        )
    for statement in reader_grants(role):
        conn.execute(text(statement))
