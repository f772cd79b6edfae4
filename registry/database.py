"""Connecting to the registry's database, and bringing its schema up to date.

``Database.write()`` is a transaction that may write; ``Database.read()``
one that only reads. On SQLite (one writer at a time by design) writes
take the lock up front (``BEGIN IMMEDIATE``) through a one-connection
pool, so concurrent writers queue instead of failing with "database is
locked"; reads run beside them (WAL). On PostgreSQL both are plain
transactions of one pool.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from ketqua.errors import InputError

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# seconds a SQLite writer waits for another process's write (e.g. `ketqua apikey create`)
SQLITE_BUSY_TIMEOUT_MS = 10_000


def async_url(url: str) -> str:
    """``sqlite:///x.db`` / ``postgresql://...`` with the async driver each needs."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise InputError(f"not a database URL: {url!r}", field="database_url") from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return str(parsed.set(drivername="sqlite+aiosqlite"))
    if backend == "postgresql":
        return parsed.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)
    raise InputError(
        f"unsupported database {backend!r}: use sqlite or postgresql", field="database_url"
    )


@dataclass(frozen=True, slots=True)
class Database:
    """The engines of one registry database; make with ``open_database``, end with ``close``."""

    writer: AsyncEngine
    reader: AsyncEngine

    @property
    def dialect(self) -> str:
        return self.writer.dialect.name

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        async with self.writer.begin() as conn:
            yield conn

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        async with self.reader.connect() as conn:
            yield conn

    async def ping(self) -> None:
        async with self.read() as conn:
            await conn.execute(text("SELECT 1"))

    async def close(self) -> None:
        await self.writer.dispose()
        if self.reader is not self.writer:
            await self.reader.dispose()


def open_database(url: str) -> Database:
    """Engines for ``url`` (not yet connected; the first query connects)."""
    full = async_url(url)
    if make_url(full).get_backend_name() != "sqlite":
        engine = create_async_engine(full, pool_pre_ping=True)
        return Database(engine, engine)
    database = make_url(full).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    writer = create_async_engine(full, pool_size=1, max_overflow=0, pool_timeout=60)
    reader = create_async_engine(full)
    _sqlite_pragmas(writer, begin="BEGIN IMMEDIATE")
    _sqlite_pragmas(reader, begin=None)
    return Database(writer, reader)


def _sqlite_pragmas(engine: AsyncEngine, *, begin: str | None) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # FULL: a commit is on disk before the 202 that announces it (power loss included)
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()
        if begin is not None:
            # the driver's own implicit BEGIN would start a deferred transaction
            dbapi_connection.isolation_level = None

    if begin is not None:

        @event.listens_for(engine.sync_engine, "begin")
        def _begin(conn: Connection) -> None:
            conn.exec_driver_sql(begin)


def _alembic_config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


async def upgrade(db: Database, revision: str = "head") -> None:
    """Apply the migrations the database lacks (idempotent; run at every start)."""
    async with db.write() as conn:
        await conn.run_sync(lambda sync: command.upgrade(_alembic_config(sync), revision))


async def current_revision(db: Database) -> str | None:
    from alembic.runtime.migration import MigrationContext

    async with db.read() as conn:
        return await conn.run_sync(
            lambda sync: MigrationContext.configure(sync).get_current_revision()
        )
