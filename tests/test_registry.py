"""The registry on the backend of this run (SQLite or PostgreSQL): schema, leases, blobs, keys."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, select, update

from plumbing.errors import Conflict, NotFound, Unavailable
from registry import apikeys, jobs, results
from registry.blobs import BlobLocation, DatabaseBlobStore, FolderBlobStore
from registry.database import MIGRATIONS, Database, current_revision, open_database, upgrade
from registry.errors import BlobMissing
from registry.ids import looks_like_id, new_id
from registry.results import NewResult
from registry.schema import api_keys, blobs, metadata
from registry.schema import jobs as jobs_table
from registry.schema import results as results_table
from registry.states import JobKind, JobState, ResultState
from tests.postgres import Cluster
from tests.smtp import free_port

LEASE = timedelta(seconds=30)


AGENCY = "000.00.14.H49"


async def claim(
    db: Database, owner: str, lease: timedelta, agency: str = AGENCY
) -> jobs.Job | None:
    return await db.write(jobs.claim_next, owner, lease, JobKind.SIGN, agency)


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    """The registry, migrated, on SQLite and on PostgreSQL (the same tests on both)."""
    database = open_database(database_url)
    await upgrade(database)
    yield database
    await database.close()


@pytest.fixture
async def sqlite_db(tmp_path: Path) -> AsyncIterator[Database]:
    """The embedded default only: what is SQLite's own (WAL, the file itself)."""
    database = open_database(f"sqlite:///{tmp_path / 'registry.db'}")
    await upgrade(database)
    yield database
    await database.close()


async def add_result(
    db: Database, dossier: str = "000.00.14.H49-220301-0001", agency: str = AGENCY
) -> str:
    new = _result(dossier, agency)

    def unit(conn: Connection) -> None:
        results.insert_result(conn, new, actor="test")
        jobs.enqueue(conn, new.id, JobKind.SIGN, agency)

    await db.write(unit)
    return new.id


async def test_the_migrations_build_exactly_the_declared_schema(db: Database) -> None:
    def differences(conn: Connection) -> list[object]:
        return list(compare_metadata(MigrationContext.configure(conn), metadata))

    assert await db.read(differences) == []
    head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    assert head is not None
    assert await current_revision(db) == head
    await upgrade(db)  # every start runs it: a second run changes nothing
    assert await current_revision(db) == head


async def test_processes_starting_together_migrate_one_after_another(database_url: str) -> None:
    """Replicas started at once (a compose file, a deployment) all come up on one schema."""
    databases = [open_database(database_url) for _ in range(4)]
    try:
        await asyncio.gather(*(upgrade(database) for database in databases))
        head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
        assert [await current_revision(d) for d in databases] == [head] * 4
    finally:
        for database in databases:
            await database.close()


@pytest.mark.registry("sqlite")
@pytest.mark.slow
@pytest.mark.parametrize(
    ("lock", "held"),
    [
        # nobody can even read the new file: the driver's own wait is 5 s
        ("EXCLUSIVE", 6.0),
        # readers may read, so the switch reads and then cannot upgrade: SQLite gives up at
        # once there, without the busy timeout (four replicas starting together, in CI)
        ("IMMEDIATE", 1.0),
    ],
)
async def test_opening_the_database_waits_for_another_process_s_write(
    tmp_path: Path, lock: str, held: float
) -> None:
    """A replica starting while another holds the write lock (a long migration on a slow
    host) waits as long as any writer does (SQLITE_BUSY_TIMEOUT_MS): switching the file to
    WAL needs the lock too (seen in CI: "database is locked")."""
    path = tmp_path / "registry.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute(f"BEGIN {lock}")  # a new file, not yet WAL
    holder.execute("CREATE TABLE migrating (step INTEGER)")
    asyncio.get_running_loop().call_later(held, holder.execute, "COMMIT")
    database = open_database(f"sqlite:///{path}")
    try:
        mode = await database.read(
            lambda conn: conn.exec_driver_sql("PRAGMA journal_mode").scalar()
        )
    finally:
        await database.close()
        holder.close()
    assert mode == "wal"


async def test_every_migration_goes_down_and_up_again(db: Database) -> None:
    """An operator rolling back a release gets the previous schema, then the new one again."""

    def roundtrip(conn: Connection) -> list[object]:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.attributes["connection"] = conn
        command.downgrade(config, "base")
        command.upgrade(config, "head")
        return list(compare_metadata(MigrationContext.configure(conn), metadata))

    assert await db.write(roundtrip) == []


@pytest.mark.registry("sqlite")
async def test_the_database_is_in_wal_mode_with_durable_commits(sqlite_db: Database) -> None:
    db = sqlite_db

    def pragmas(conn: Connection) -> tuple[object, object]:
        mode = conn.exec_driver_sql("PRAGMA journal_mode").scalar()
        return mode, conn.exec_driver_sql("PRAGMA synchronous").scalar()

    mode, sync = await db.read(pragmas)
    assert (mode, sync) == ("wal", 2)  # 2 = FULL


async def test_a_failing_unit_of_work_undoes_itself_alone(db: Database) -> None:
    """Units written at once (SQLite commits them together): each caller hears of its own
    unit, and a unit that fails after writing leaves nothing, whatever its neighbours did."""

    class Refused(Exception):
        pass

    def unit(conn: Connection, n: int) -> int:
        results.insert_result(conn, _result(f"000.00.14.H49-220301-{n:04d}"), actor="test")
        if n % 4 == 1:
            raise Refused(n)
        if n % 4 == 2:  # the same dossier and number as n - 2's result: the unique index
            results.insert_result(conn, _result(f"000.00.14.H49-220301-{n - 2:04d}"), actor="t")
        return n

    outcomes = await asyncio.gather(
        *(db.write(unit, n) for n in range(40)), return_exceptions=True
    )
    for n, outcome in enumerate(outcomes):
        if n % 4 == 1:
            assert isinstance(outcome, Refused)
            assert outcome.args == (n,)
        elif n % 4 == 2:
            assert isinstance(outcome, Exception)
            assert "UNIQUE" in str(outcome).upper()
        else:
            assert outcome == n
    kept = await db.read(
        lambda conn: {
            int(code[-4:]) for code in conn.execute(select(results_table.c.dossier_code)).scalars()
        }
    )
    assert kept == {n for n in range(40) if n % 4 in (0, 3)}


def _result(dossier: str, agency: str = AGENCY) -> NewResult:
    now = datetime.now(UTC)
    return NewResult(
        id=new_id(),
        dossier_code=dossier,
        result_no=1,
        agency_code=agency,
        procedure_code="1.004227",
        metadata_json="{}",
        publish=True,
        received_at=now,
        due_at=now,
        resolved_at=now,
        original_sha256="0" * 64,
        original_size=1,
    )


async def test_times_come_back_aware_and_in_utc(db: Database) -> None:
    result_id = await add_result(db)
    record = await db.read(results.get, result_id)
    assert record is not None
    assert record.created_at.tzinfo is not None
    assert record.created_at.utcoffset() == timedelta(0)
    assert abs(datetime.now(UTC) - record.created_at) < timedelta(seconds=10)


async def test_a_signer_claims_only_the_jobs_of_its_own_agency(db: Database) -> None:
    """Several agencies in one registry: each signer's keys sign its own agency's results."""
    other = await add_result(db, "000.00.15.H49-220301-0001", agency="000.00.15.H49")
    ours = await add_result(db)
    first = await claim(db, "signer-h47", LEASE)
    assert first is not None
    assert first.result_id == ours
    assert await claim(db, "signer-h47", LEASE) is None  # the other agency's job stays
    theirs = await claim(db, "signer-h49", LEASE, agency="000.00.15.H49")
    assert theirs is not None
    assert theirs.result_id == other


async def test_a_leased_job_is_not_claimed_twice(db: Database) -> None:
    result_id = await add_result(db)
    job = await claim(db, "worker-a", LEASE)
    assert job is not None
    assert (job.result_id, job.attempts, job.kind) == (result_id, 1, JobKind.SIGN)
    assert await claim(db, "worker-b", LEASE) is None


async def test_workers_claiming_at_once_never_share_a_job(db: Database, database_url: str) -> None:
    """Twelve workers (four processes' worth of connections) drain 60 jobs together."""
    queued = {await add_result(db, f"000.00.14.H49-220301-{n:04d}") for n in range(60)}
    processes = [open_database(database_url) for _ in range(4)]

    async def worker(database: Database, name: str) -> list[str]:
        taken = []
        while (job := await claim(database, name, LEASE)) is not None:
            taken.append(job.result_id)
        return taken

    try:
        takes = await asyncio.gather(*(worker(processes[n % 4], f"worker-{n}") for n in range(12)))
    finally:
        for database in processes:
            await database.close()
    claimed = [result_id for taken in takes for result_id in taken]
    assert sorted(claimed) == sorted(queued)  # each job once, none left behind


async def test_an_expired_lease_lets_another_worker_take_the_job(db: Database) -> None:
    await add_result(db)
    first = await claim(db, "dead-worker", timedelta(seconds=0.2))
    assert first is not None
    await asyncio.sleep(0.3)
    second = await claim(db, "live-worker", LEASE)
    assert second is not None
    assert second.id == first.id
    assert second.attempts == 2
    # the dead worker comes back: it cannot finish a job that is no longer its own
    assert not await db.write(jobs.finish, first)
    assert await db.write(jobs.finish, second)


async def test_a_job_queued_leased_is_held_as_a_claimed_one(db: Database) -> None:
    """What the pipeline queues for its own deliverer to send at once (``leased_to``): no
    other worker claims it while the lease lasts, the owner finishes it, and if the owner
    dies it is claimed like any job whose lease ran out."""
    new = _result("000.00.14.H49-220301-0001", AGENCY)

    def unit(conn: Connection) -> tuple[jobs.Job | None, jobs.Job | None]:
        results.insert_result(conn, new, actor="test")
        leased = [
            jobs.enqueue(conn, new.id, JobKind.SIGN, AGENCY, leased_to=(owner, lease))
            for owner, lease in (("sender", LEASE), ("dead-sender", timedelta(seconds=0.2)))
        ]
        return leased[0], leased[1]

    held, dying = await db.write(unit)
    assert held is not None
    assert dying is not None
    assert (held.result_id, held.attempts, held.owner) == (new.id, 1, "sender")
    assert await claim(db, "other", LEASE) is None
    await asyncio.sleep(0.3)
    taken = await claim(db, "other", LEASE)
    assert taken is not None
    assert (taken.id, taken.attempts) == (dying.id, 2)
    assert await claim(db, "other", LEASE) is None  # the live lease still holds
    assert await db.write(jobs.finish, held)
    assert not await db.write(jobs.finish, dying)  # taken over: the new owner records it


async def test_renewing_keeps_the_lease(db: Database) -> None:
    await add_result(db)
    job = await claim(db, "worker", timedelta(seconds=0.3))
    assert job is not None
    await asyncio.sleep(0.15)
    assert await db.write(jobs.renew, job, timedelta(seconds=0.3))
    await asyncio.sleep(0.2)  # past the first lease, within the renewed one
    assert await claim(db, "other", LEASE) is None


async def test_a_retry_waits_for_its_time_and_a_release_frees_at_once(db: Database) -> None:
    await add_result(db)
    job = await claim(db, "worker", LEASE)
    assert job is not None
    assert await db.write(jobs.retry_later, job, timedelta(seconds=0.3), "TSA down")
    assert await claim(db, "worker", LEASE) is None
    await asyncio.sleep(0.35)
    again = await claim(db, "worker", LEASE)
    assert again is not None
    assert again.attempts == 2
    assert await db.write(jobs.release, "worker") == 1
    assert await claim(db, "next-start", LEASE) is not None


async def test_queue_depth_and_age(db: Database) -> None:
    empty = await db.read(jobs.stats)
    assert (empty.depth, empty.oldest_age) == (0, 0.0)
    await add_result(db, "000.00.14.H49-220301-0001")
    await asyncio.sleep(0.2)
    await add_result(db, "000.00.14.H49-220301-0002")
    stats = await db.read(jobs.stats)
    assert stats.depth == 2
    assert 0.2 <= stats.oldest_age < 10
    job = await claim(db, "worker", LEASE)
    assert job is not None
    assert await db.write(jobs.give_up, job, "broken")
    query = select(jobs_table.c.state).where(jobs_table.c.id == job.id)
    assert await db.read(lambda conn: conn.execute(query).scalar()) == JobState.FAILED.value
    assert (await db.read(jobs.stats)).depth == 1


async def test_a_state_change_is_recorded_only_from_the_states_it_allows(db: Database) -> None:
    result_id = await add_result(db)

    def unit(conn: Connection) -> None:
        assert results.move(conn, result_id, ResultState.REVOKED, detail="wrong", actor="k")
        assert not results.move(
            conn, result_id, ResultState.SIGNED, only_from=(ResultState.SIGNING,)
        )

    await db.write(unit)
    record = await db.read(results.get, result_id)
    history = await db.read(results.events, result_id)
    assert record is not None
    assert record.state is ResultState.REVOKED
    assert [(e.state, e.actor) for e in history] == [("queued", "test"), ("revoked", "k")]
    assert "metadata" not in repr(record)  # personal data stays out of logs and tracebacks


async def test_blobs_are_stored_once_by_content_and_checked_on_read(tmp_path: Path) -> None:
    store = FolderBlobStore(tmp_path / "blobs")
    digest = await store.put(b"%PDF-1.7 result")
    assert await store.put(b"%PDF-1.7 result") == digest
    assert store.count() == 1
    assert await store.get(digest) == b"%PDF-1.7 result"
    assert not list((tmp_path / "blobs").rglob("*.tmp"))  # nothing half-written left
    store.path(digest).write_bytes(b"%PDF-1.7 tampered")
    with pytest.raises(BlobMissing, match="damaged"):
        await store.get(digest)
    with pytest.raises(BlobMissing, match="not in the blob store"):
        await store.get("a" * 64)
    with pytest.raises(ValueError, match="SHA-256"):
        store.path("../../etc/passwd")


async def test_the_database_blob_store_keeps_documents_for_every_machine(
    db: Database, database_url: str
) -> None:
    """Two stores on one database (two machines): what one stores, the other reads."""
    here, there = DatabaseBlobStore(database_url), DatabaseBlobStore(database_url)
    try:
        pdf = b"%PDF-1.7 " + bytes(range(256)) * 4000  # ~1 MB, every byte value
        digest = await here.put(pdf)
        assert await here.put(pdf) == digest  # stored once
        assert here.count() == 1
        assert there.get_sync(digest) == pdf  # the blocking face, as worker processes use it
        assert await asyncio.to_thread(there.put_sync, pdf) == digest
        with pytest.raises(BlobMissing, match="not in the blob store"):
            await there.get("a" * 64)
        with pytest.raises(ValueError, match="SHA-256"):
            await there.get("../../etc/passwd")

        def tamper(conn: Connection) -> None:
            conn.execute(update(blobs).values(data=b"%PDF-1.7 tampered"))

        await db.write(tamper)
        with pytest.raises(BlobMissing, match="damaged"):
            await there.get(digest)
    finally:
        here.close()
        there.close()


def test_a_blob_location_is_a_folder_or_a_database(tmp_path: Path) -> None:
    assert BlobLocation(folder=tmp_path).kind == "folder"
    assert BlobLocation(database_url="postgresql://db/ketqua").kind == "database"
    for wrong in ({}, {"folder": tmp_path, "database_url": "postgresql://db/ketqua"}):
        with pytest.raises(ValueError, match="exactly one"):
            BlobLocation(**wrong)  # type: ignore[arg-type]


async def test_api_keys_are_stored_as_hashes_and_revocable(db: Database) -> None:
    key, plain = await apikeys.create_api_key(db, "mot-cua", (AGENCY,))
    assert plain.startswith(f"kq_{key.prefix}_")
    assert await apikeys.authenticate(db, plain) == key
    assert await apikeys.authenticate(db, plain + "x") is None
    assert await apikeys.authenticate(db, "kq_" + "0" * 12 + "_guess") is None
    assert await apikeys.authenticate(db, "nonsense") is None
    dump = "\n".join(map(str, await db.read(lambda c: list(c.execute(select(api_keys))))))
    assert key.prefix in dump
    assert plain not in dump
    assert plain.split("_", 2)[2] not in dump
    with pytest.raises(Conflict):
        await apikeys.create_api_key(db, "mot-cua", (AGENCY,))
    revoked = await apikeys.revoke_api_key(db, "mot-cua")
    assert revoked.revoked_at is not None
    assert await apikeys.authenticate(db, plain) is None
    with pytest.raises(NotFound):
        await apikeys.revoke_api_key(db, "nobody")


async def test_an_api_key_runs_out(db: Database) -> None:
    from datetime import timedelta

    key, plain = await apikeys.create_api_key(db, "het-han", (AGENCY,), timedelta(days=30))
    assert key.expires_at is not None
    assert timedelta(days=29) < key.expires_at - key.created_at <= timedelta(days=30)
    assert await apikeys.authenticate(db, plain) is not None
    _, gone = await apikeys.create_api_key(db, "da-het-han", (AGENCY,), timedelta(seconds=-1))
    assert await apikeys.authenticate(db, gone) is None  # run out: refused like a revoked one
    forever, kept = await apikeys.create_api_key(db, "khong-het-han", (AGENCY,), None)
    assert forever.expires_at is None
    assert await apikeys.authenticate(db, kept) is not None
    listed = {k.name: k for k in await apikeys.list_api_keys(db)}
    assert listed["da-het-han"].expired
    assert not listed["da-het-han"].active
    assert listed["het-han"].active


async def test_ids_sort_by_creation_and_do_not_repeat() -> None:
    ids = [new_id() for _ in range(2000)]
    assert len(set(ids)) == len(ids)
    assert all(looks_like_id(i) for i in ids)
    await asyncio.sleep(0.002)
    assert max(ids) < new_id()  # a later millisecond sorts after
    assert not looks_like_id("01M8KEHENSDV125RZZ9ZSYY4K")  # one short
    assert not looks_like_id("01M8KEHENSDV125RZZ9ZSYY4KU")  # U is not Crockford


async def test_postgresql_stores_documents_without_compressing_them_again(
    postgres: Cluster,
) -> None:
    # a PDF is compressed already: PostgreSQL's own compression was work on every put and get
    database = open_database(postgres.createdb("blobs_storage"))
    try:
        await upgrade(database)
        storage = await database.read(
            lambda conn: conn.exec_driver_sql(
                "SELECT attstorage::text FROM pg_attribute "
                "WHERE attrelid = 'blobs'::regclass AND attname = 'data'"
            ).scalar()
        )
    finally:
        await database.close()
    assert storage == "e"  # EXTERNAL: out of line, uncompressed


async def test_the_database_blob_store_reads_its_url_as_the_registry_does(
    postgres: Cluster,
) -> None:
    """``?ssl=...`` is the driver's argument (README: TLS to the database), for the
    registry and the blob store alike; asyncpg's own URL parser would send it to the
    server as a setting, which the server refuses."""
    url = postgres.createdb("blobs_url") + "?ssl=disable"
    database = open_database(url)
    store = DatabaseBlobStore(url)
    try:
        await upgrade(database)
        digest = await store.put(b"%PDF-1.7 result")
        assert await database.read(
            lambda conn: conn.execute(
                select(blobs.c.size).where(blobs.c.sha256 == digest)
            ).scalar()
        ) == len(b"%PDF-1.7 result")
        assert store.get_sync(digest) == b"%PDF-1.7 result"
    finally:
        store.close()
        await database.close()


def test_a_database_blob_store_that_cannot_be_reached_is_unavailable() -> None:
    """Nothing listens there: the caller gets the registry's Unavailable (a 503), not OSError."""
    store = DatabaseBlobStore(f"postgresql://ketqua@127.0.0.1:{free_port()}/ketqua")
    try:
        with pytest.raises(Unavailable, match="cannot be reached"):
            store.get_sync("a" * 64)
        with pytest.raises(Unavailable, match="cannot be reached"):
            store.put_sync(b"%PDF-1.7 result")
    finally:
        store.close()
