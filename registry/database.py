"""Connecting to the registry's database, and running units of work on it.

Every transaction is one plain function of a ``Connection``
(``def accept(conn, ...) -> T``), run by ``await db.write(fn, ...)`` or
``await db.read(fn, ...)``. The queries are written once, synchronously, in
SQLAlchemy Core; how they reach the database depends on the backend:

- SQLite (the embedded default): the whole function runs in a thread, on
  the standard ``sqlite3`` driver; writes in one dedicated thread (SQLite
  has one writer at a time anyway), taking the lock up front
  (``BEGIN IMMEDIATE``) so that a transaction that reads then writes never
  fails halfway with "database is locked"; the units that wait when the
  writer is free are committed together (group commit: one fsync for all,
  each unit in a savepoint so a failure undoes only its own; each caller is
  answered once the commit is durable); reads in a few threads beside it
  (WAL). One hop to a thread per transaction, not one per statement: that
  is what an async driver costs, and it was most of the service's CPU.
- PostgreSQL: the function runs on an asyncpg connection through
  SQLAlchemy's ``run_sync`` (no thread; the driver is async).
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as SQLTimeoutError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from plumbing.errors import InputError, Unavailable

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# how long a SQLite writer waits for another process's write (e.g. `ketqua apikey create`)
SQLITE_BUSY_TIMEOUT_MS = 10_000
SQLITE_READERS = 4

P = ParamSpec("P")
T = TypeVar("T")
Work = Callable[Concatenate[Connection, P], T]


def database_url(url: str) -> str:
    """Check a ``sqlite:///...`` or ``postgresql://...`` URL; InputError naming the setting."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        # neither the URL nor the parser's text (which repeats it) is shown: it may hold a password
        raise InputError(
            "not a database URL (sqlite:///PATH or postgresql://USER@HOST:PORT/DB)",
            field="database_url",
        ) from None
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise InputError(
            f"unsupported database {parsed.get_backend_name()!r}: use sqlite or postgresql",
            field="database_url",
        )
    return url


class Database:
    """The registry's database; make with ``open_database``, end with ``close``."""

    dialect: str

    async def write(self, fn: Work[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run ``fn(conn, ...)`` in a transaction that may write; commit if it returns."""
        raise NotImplementedError

    async def read(self, fn: Work[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run ``fn(conn, ...)`` in a transaction that only reads."""
        raise NotImplementedError

    async def ping(self) -> None:
        await self.read(lambda conn: conn.execute(text("SELECT 1")))

    async def close(self) -> None:
        raise NotImplementedError


# units of work committed together at most (a round takes what waits, never waits for more)
GROUP_MAX = 64


@dataclass(frozen=True, slots=True)
class _Write:
    work: Callable[[Connection], Any]
    loop: asyncio.AbstractEventLoop
    done: asyncio.Future[Any]


def _settle_all(settled: list[tuple[asyncio.Future[Any], bool, Any]]) -> None:
    for done, ok, value in settled:
        if done.cancelled():  # the caller stopped waiting; the unit was written all the same
            continue
        if ok:
            done.set_result(value)
        else:
            done.set_exception(value)


class _SqliteDatabase(Database):
    dialect = "sqlite"

    def __init__(self, url: str) -> None:
        path = make_url(url).database
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._writer = create_engine(url, pool_size=1, max_overflow=0)
        self._reader = create_engine(url, pool_size=SQLITE_READERS, max_overflow=0)
        _sqlite_pragmas(self._writer, begin="BEGIN IMMEDIATE")
        _sqlite_pragmas(self._reader, begin=None)
        self._reads = ThreadPoolExecutor(SQLITE_READERS, thread_name_prefix="registry-read")
        self._pending: queue.SimpleQueue[_Write | None] = queue.SimpleQueue()
        self._connection: Connection | None = None  # the writer thread's own
        self._writes = threading.Thread(
            target=self._write_loop, name="registry-write", daemon=True
        )
        self._writes.start()

    async def write(self, fn: Work[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        loop = asyncio.get_running_loop()
        done: asyncio.Future[T] = loop.create_future()

        def work(conn: Connection) -> T:
            return fn(conn, *args, **kwargs)

        self._pending.put(_Write(work, loop, done))
        return await done

    def _write_loop(self) -> None:
        """The one writer: each round takes every unit waiting (up to ``GROUP_MAX``) and
        commits them together (one fsync), each in a savepoint of its own, so that one
        unit's failure undoes that unit alone; each caller hears of its unit only once
        the commit that holds it is durable. It keeps its one connection open (a checkout
        from the pool and its reset on return, each round, cost as much as a unit)."""
        try:
            self._write_rounds()
        finally:
            if self._connection is not None:
                self._connection.close()

    def _write_rounds(self) -> None:
        while True:
            first = self._pending.get()
            if first is None:
                return
            group, stop = [first], False
            while len(group) < GROUP_MAX:
                try:
                    more = self._pending.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stop = True
                    break
                group.append(more)
            self._commit(group)
            if stop:
                return

    def _writer_connection(self) -> Connection:
        if self._connection is None or self._connection.invalidated:
            if self._connection is not None:
                self._connection.close()
            self._connection = self._writer.connect()
        return self._connection

    def _commit(self, group: list[_Write]) -> None:
        outcomes: list[tuple[bool, Any]] = []
        try:
            conn = self._writer_connection()
            with conn.begin():
                if len(group) == 1:  # alone: its own transaction, no savepoint (migrations)
                    outcomes.append((True, group[0].work(conn)))
                else:
                    # savepoints said to SQLite itself: SQLAlchemy's nested transactions
                    # cost more than the units' own statements (and SQLAlchemy keeps no
                    # state of its own that rolling back to one of these would leave stale)
                    raw = conn.connection.driver_connection
                    assert raw is not None
                    for unit in group:
                        raw.execute("SAVEPOINT unit")
                        try:
                            value = unit.work(conn)
                        except Exception as exc:
                            raw.execute("ROLLBACK TO unit")
                            raw.execute("RELEASE unit")
                            outcomes.append((False, exc))
                        else:
                            raw.execute("RELEASE unit")
                            outcomes.append((True, value))
        except Exception as exc:  # the unit alone, the BEGIN or the COMMIT: none is durable
            outcomes = [(False, exc)] * len(group)
        # one wake-up of each waiting event loop for the whole group, not one per unit
        loops: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Any], bool, Any]]] = {}
        for unit, (ok, value) in zip(group, outcomes, strict=True):
            loops.setdefault(unit.loop, []).append((unit.done, ok, value))
        for loop, settled in loops.items():
            loop.call_soon_threadsafe(_settle_all, settled)

    async def read(self, fn: Work[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        return await self._run(self._reads, self._reader, fn, *args, **kwargs)

    @staticmethod
    async def _run(
        threads: ThreadPoolExecutor,
        engine: Engine,
        fn: Work[P, T],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        def unit() -> T:
            with engine.begin() as conn:
                return fn(conn, *args, **kwargs)

        return await asyncio.get_running_loop().run_in_executor(threads, unit)

    async def close(self) -> None:
        # units already asked for are written first (they hold the lock of SQLite)
        self._pending.put(None)
        await asyncio.to_thread(self._writes.join)
        await asyncio.to_thread(self._reads.shutdown, True)
        self._writer.dispose()
        self._reader.dispose()


# A bounded pool of connections kept open: no overflow connections, which would be
# opened and closed again around each peak (a PostgreSQL backend costs a fork, and a
# TLS attempt with the default sslmode), and no ping before each use (a round trip
# per transaction): a connection that died with its server fails its transaction,
# which is answered as Unavailable, and the pool then replaces every connection it
# holds. Connecting and every statement have their own time limits: a database that
# went away is an answer in seconds.
POOL_SIZE, POOL_WAIT = 20, 5.0
CONNECT_TIMEOUT, STATEMENT_TIMEOUT = 5.0, 30.0


class _AsyncDatabase(Database):
    def __init__(self, url: str, pool_size: int = POOL_SIZE) -> None:
        async_url = make_url(url).set(drivername="postgresql+asyncpg")
        self._engine: AsyncEngine = create_async_engine(
            async_url,
            pool_size=pool_size,
            max_overflow=0,
            pool_timeout=POOL_WAIT,
            connect_args={"timeout": CONNECT_TIMEOUT, "command_timeout": STATEMENT_TIMEOUT},
        )
        # a read is its statements alone, without BEGIN and ROLLBACK around them (under
        # READ COMMITTED each statement sees its own snapshot inside a transaction too)
        self._reader = self._engine.execution_options(isolation_level="AUTOCOMMIT")
        self.dialect = self._engine.dialect.name

    async def write(self, fn: Work[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        with lost_is_unavailable():
            async with self._engine.begin() as conn:
                return await conn.run_sync(fn, *args, **kwargs)

    async def read(self, fn: Work[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        with lost_is_unavailable():
            async with self._reader.connect() as conn:
                return await conn.run_sync(fn, *args, **kwargs)

    async def close(self) -> None:
        await self._engine.dispose()


# what a database that is down or restarting looks like from here
_LOST = (OperationalError, InterfaceError, SQLTimeoutError, OSError, TimeoutError)
# SQLSTATEs of a server going away: connection exceptions (class 08), shutting down or
# starting up (57P01-57P03), too many connections (53300)
_LOST_STATES = ("08", "57P01", "57P02", "57P03", "53300")


def _lost(exc: BaseException) -> bool:
    if isinstance(exc, _LOST):
        return True
    if isinstance(exc, DBAPIError):
        state = getattr(exc.orig, "sqlstate", None) or ""
        return exc.connection_invalidated or state.startswith(_LOST_STATES)
    # asyncpg's own errors (the blob store speaks to PostgreSQL without SQLAlchemy)
    return str(getattr(exc, "sqlstate", None) or "").startswith(_LOST_STATES)


@contextlib.contextmanager
def lost_is_unavailable() -> Iterator[None]:
    """A database that went away, whatever the driver calls it, raises ``Unavailable``."""
    try:
        yield
    except Exception as exc:
        if not _lost(exc):
            raise
        raise Unavailable(f"the database cannot be reached: {type(exc).__name__}") from exc


def open_database(url: str, *, pool_size: int = POOL_SIZE) -> Database:
    """The database at ``url`` (not yet connected: the first unit of work connects).

    ``pool_size``: connections this process keeps to a server database at most.
    """
    parsed = make_url(database_url(url))
    if parsed.get_backend_name() == "sqlite":
        return _SqliteDatabase(str(parsed.set(drivername="sqlite")))
    return _AsyncDatabase(url, pool_size)


def _sqlite_pragmas(engine: Engine, *, begin: str | None) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        # first: switching a new file to WAL waits for another process's write too (a
        # replica migrating), and the driver's own wait is 5 s
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        _switch_to_wal(cursor)
        # FULL: a commit is on disk before the 202 that announces it (power loss included)
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()
        # the driver's own implicit BEGIN would start a deferred transaction
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        conn.exec_driver_sql(begin or "BEGIN")


def _switch_to_wal(cursor: sqlite3.Cursor) -> None:
    """``PRAGMA journal_mode=WAL``, waiting up to SQLITE_BUSY_TIMEOUT_MS for other writers.

    The switch reads the file, then upgrades to a write lock. When another connection
    holds the write lock by then (a replica starting at the same moment, switching or
    migrating), SQLite answers "database is locked" at once, without the busy handler: a
    reader waiting for a writer could deadlock. Seen in CI with four replicas starting
    together; the reader's lock is gone once the statement fails, so trying again is safe.
    """
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    pause = 0.002
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode != sqlite3.SQLITE_BUSY or time.monotonic() > deadline:
                raise
        # a connection opening, in the thread that asked for it: never the event loop
        time.sleep(pause)
        pause = min(pause * 2, 0.1)


def _alembic_config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


# held while migrating, so that processes starting together migrate one after another
MIGRATION_LOCK = 0x6B6574717561  # "ketqua"


async def upgrade(db: Database, revision: str = "head") -> None:
    """Apply the migrations the database lacks (idempotent; run at every start).

    Many processes may start at once against one database: on PostgreSQL a
    transaction-scoped advisory lock makes them take turns (SQLite's write
    lock does the same), and each finds the work of those before it done.
    """

    def migrate(conn: Connection) -> None:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        command.upgrade(_alembic_config(conn), revision)

    await db.write(migrate)


def head_revision() -> str:
    """The revision the migrations bring a database to."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    assert head is not None
    return head


async def wait_for_schema(db: Database, seconds: float, poll: float = 1.0) -> None:
    """Until the database's schema is current (a signer or ``ketqua migrate`` brings it
    there; a reader never migrates); ``Unavailable`` naming both revisions after ``seconds``.
    """
    head = head_revision()
    deadline = asyncio.get_running_loop().time() + seconds
    found: str | None = None
    while True:
        try:
            found = await current_revision(db)
        except Unavailable:  # not up yet: as good as not migrated yet
            found = None
        if found == head:
            return
        if asyncio.get_running_loop().time() >= deadline:
            raise Unavailable(
                f"the database schema is at {found or 'nothing'}, not {head}: start a signer "
                "or run ketqua migrate first (a verifier does not migrate)"
            )
        await asyncio.sleep(poll)


async def current_revision(db: Database) -> str | None:
    return await db.read(lambda conn: MigrationContext.configure(conn).get_current_revision())
