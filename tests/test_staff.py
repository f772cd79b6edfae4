"""Staff accounts of the back office: roles, slow password hashes, the ``ketqua user`` command.

The registry side runs on SQLite and on PostgreSQL (the ``db`` fixture of
``tests/test_registry.py``); the command line against a home folder.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from plumbing.errors import Conflict, InputError, NotFound
from registry import staff
from registry.database import Database, open_database, upgrade
from registry.schema import staff as staff_table
from registry.staff import Action, Role
from tests.service import run_ketqua


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = open_database(database_url)
    await upgrade(database)
    yield database
    await database.close()


def test_each_role_may_do_its_own_and_no_more() -> None:
    assert Role.CLERK.may(Action.SUBMIT)
    assert Role.CLERK.may(Action.RESEND)
    assert not Role.CLERK.may(Action.REVOKE)
    assert Role.SUPERVISOR.may(Action.REVOKE)
    assert not Role.SUPERVISOR.may(Action.MANAGE)
    assert all(Role.ADMIN.may(action) for action in Action)


def test_a_password_is_kept_as_a_salted_scrypt_hash() -> None:
    first = staff.hash_password("một mật khẩu dài")
    second = staff.hash_password("một mật khẩu dài")
    assert first != second  # a salt each
    assert first.startswith("scrypt$32768$8$1$")
    assert staff.check_password("một mật khẩu dài", first)
    assert not staff.check_password("một mật khẩu dàI", first)
    assert not staff.check_password("anything", "not a hash")
    generated = staff.new_password()
    assert len(generated) == 23
    assert generated.count("-") == 3


async def test_accounts_are_added_listed_disabled_and_reset(db: Database) -> None:
    user, password = await staff.add_user(db, "  Trần   Thị Mai ", Role.CLERK)
    assert user.name == "Trần Thị Mai"
    assert user.must_change
    with pytest.raises(Conflict):
        await staff.add_user(db, "Trần Thị Mai", Role.ADMIN)
    with pytest.raises(InputError):
        await staff.add_user(db, "\x07", Role.ADMIN)
    rows = await db.read(lambda conn: list(conn.execute(select(staff_table))))
    assert password not in str(rows)  # only its hash is kept

    logged_in = await staff.authenticate(db, "Trần Thị Mai", password)
    assert logged_in is not None
    assert logged_in.last_login_at is not None
    assert await staff.authenticate(db, "Trần Thị Mai", password + "x") is None
    assert await staff.authenticate(db, "nobody", password) is None

    reset, fresh = await staff.reset_password(db, "Trần Thị Mai")
    assert reset.must_change
    assert await staff.authenticate(db, "Trần Thị Mai", password) is None  # the old one: gone
    assert await staff.authenticate(db, "Trần Thị Mai", fresh) is not None

    disabled = await staff.disable_user(db, "Trần Thị Mai")
    assert disabled.disabled_at is not None
    assert await staff.authenticate(db, "Trần Thị Mai", fresh) is None
    [listed] = await staff.list_users(db)
    assert not listed.active
    with pytest.raises(NotFound):
        await staff.disable_user(db, "nobody")


def test_ketqua_user_prints_the_first_password_alone_on_the_last_line(tmp_path: Path) -> None:
    home = tmp_path / "home"
    added = run_ketqua(home, "user", "add", "--name", "mai.tt", "--role", "supervisor")
    *said, password = added.stdout.strip().splitlines()
    assert "mai.tt" in said[0]
    assert len(password) == 23
    listed = run_ketqua(home, "user", "list").stdout
    assert listed.startswith("mai.tt\tsupervisor\tactive, must change its password\t")
    assert password not in listed
    reset = run_ketqua(home, "user", "reset-password", "--name", "mai.tt")
    assert reset.stdout.strip().splitlines()[-1] != password
    run_ketqua(home, "user", "disable", "--name", "mai.tt")
    assert "\tdisabled\t" in run_ketqua(home, "user", "list").stdout
