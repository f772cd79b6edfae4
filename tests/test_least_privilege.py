"""The public verifier holds the least it needs: it never migrates, and reads with a role that
may only read.

Before: every ``ketqua serve`` migrated the schema at start, so the verifier needed DDL
rights, and it shared the signer's role, so it could have written an API key row.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
import pytest
from sqlalchemy import text

from registry.database import head_revision, open_database
from tests.postgres import Cluster
from tests.service import (
    PUBLIC_URL,
    Client,
    Service,
    create_api_key,
    home_env,
    issue,
    ketqua_command,
    query,
    run_ketqua,
)

pytestmark = pytest.mark.slow  # real services


def test_a_verifier_does_not_migrate_an_empty_database(tmp_path: Path) -> None:
    home = tmp_path / "home"
    subprocess.run(
        ketqua_command("keys", "init", "--dir", str(home / "keys")),
        check=True,
        capture_output=True,
    )
    env = home_env(
        home,
        {
            "KETQUA_HOME": str(home),
            "KETQUA_VERIFIER_LISTEN": "127.0.0.1:0",
            "KETQUA_SCHEMA_WAIT": "1",
        },
    )
    done = subprocess.run(
        ketqua_command("serve", "--role", "verifier"),
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    assert done.stderr.strip().splitlines()[-1] == (
        f"ketqua: error: the database schema is at nothing, not {head_revision()}: start a "
        "signer or run ketqua migrate first (a verifier does not migrate)"
    )
    url = env.get("KETQUA_DATABASE_URL") or f"sqlite:///{home / 'ketqua.db'}"
    tables = asyncio.run(_tables(url))
    assert tables == []  # it made nothing


async def _tables(url: str) -> list[str]:
    if url.startswith("sqlite"):
        rows = await query(url, "SELECT name FROM sqlite_master WHERE type = 'table'")
    else:
        rows = await query(
            url, "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"
        )
    return [str(name) for (name,) in rows]


async def execute(url: str, statement: str) -> None:
    database = open_database(url)
    try:
        await database.write(lambda conn: conn.execute(text(statement)))
    finally:
        await database.close()


@pytest.mark.registry("postgresql")
async def test_the_verifier_reads_with_a_role_that_can_only_read(
    tmp_path: Path, postgres: Cluster
) -> None:
    url = postgres.createdb(f"reader_{os.getpid()}")
    role = f"ketqua_verifier_{os.getpid()}"
    await execute(postgres.url(), f"CREATE ROLE {role} LOGIN")
    keys = tmp_path / "keys"
    await asyncio.to_thread(
        subprocess.run,
        ketqua_command("keys", "init", "--dir", str(keys)),
        check=True,
        capture_output=True,
    )
    env = {"KETQUA_DATABASE_URL": url, "KETQUA_KEYS": str(keys), "KETQUA_WORKERS": "1"}
    signer = Service(
        tmp_path / "signer", env={**env, "KETQUA_PUBLIC_URL": PUBLIC_URL}, role="signer"
    )
    await asyncio.to_thread(signer.start)
    granted = await asyncio.to_thread(
        run_ketqua, signer.home, "migrate", "--grant-reader", role, env=env
    )
    assert f"role {role} may read" in granted.stdout
    reader_url = url.replace("//ketqua@", f"//{role}@")
    public = tmp_path / "verifier-keys"
    shutil.copytree(keys / "public", public / "public")
    verifier = Service(
        tmp_path / "verifier",
        env={"KETQUA_DATABASE_URL": reader_url, "KETQUA_KEYS": str(public)},
        role="verifier",
    )
    try:
        await asyncio.to_thread(verifier.start)
        key = await asyncio.to_thread(create_api_key, signer.home, "back-office", env)
        async with aiohttp.ClientSession() as session:
            result = await issue(Client(session, signer, key), "read-only")
            seal_path = urlsplit(result["verification_url"]).path
            answers = {}
            for path in (
                seal_path,
                f"/api/v1/lookup/{result['dossier_code']}",
                "/api/v1/published",
                "/api/v1/statistics?period=2022",
            ):
                async with session.get(
                    verifier.verifier_url + path, headers={"Accept": "application/json"}
                ) as response:
                    answers[path] = (response.status, await response.json(content_type=None))
        assert {status for status, _ in answers.values()} == {200}, answers
        assert answers[seal_path][1]["verdict"] == "valid"
    finally:
        for service in (verifier, signer):
            if service.process is not None and service.process.poll() is None:
                await asyncio.to_thread(service.stop)
    for statement in (
        "INSERT INTO api_keys (id, name, prefix, secret_sha256, created_at) "
        "VALUES ('x', 'x', 'x', 'x', now())",
        "SELECT count(*) FROM api_keys",
        "UPDATE results SET state = 'revoked'",
        "CREATE TABLE mine (id int)",
    ):
        with pytest.raises(Exception, match="permission denied"):
            await execute(reader_url, statement)
