"""``ketqua serve`` on PostgreSQL: the whole path (intake, signing, e-mail, verifier, portal)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from tests.postgres import Cluster
from tests.service import Client, Service, create_api_key, issue


@pytest.fixture
def pg_service(tmp_path: Path, postgres: Cluster) -> Iterator[Service]:
    url = postgres.createdb(f"serve_{tmp_path.name[-8:].replace('-', '_')}")
    env = {"KETQUA_DATABASE_URL": url, "KETQUA_WORKERS": "1"}
    service = Service(tmp_path / "home", env=env).start()
    yield service
    service.stop()


async def test_a_result_goes_the_whole_way_on_postgresql(pg_service: Service) -> None:
    key = create_api_key(
        pg_service.home, env={"KETQUA_DATABASE_URL": pg_service.env["KETQUA_DATABASE_URL"]}
    )
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
        client = Client(session, pg_service, key)
        result = await issue(
            client,
            "postgres",
            deliver={"email": True},
            applicant={"name": "Vũ Đức Anh", "email": "anh@example.vn"},
        )
        assert result["state"] == "delivered"
        assert result["deliveries"][0]["state"] == "sent"
        seal = result["verification_url"].rsplit("/", 1)[1]
        async with session.get(
            f"{pg_service.verifier_url}/V/{seal}", headers={"Accept": "application/json"}
        ) as response:
            assert (await response.json())["verdict"] == "valid"
        async with session.get(f"{pg_service.verifier_url}/api/v1/published") as response:
            listed = await response.json()
        assert result["result_code"] in [i["result_code"] for i in listed["items"]]
        async with session.get(
            f"{pg_service.verifier_url}/api/v1/statistics?period=2022"
        ) as response:
            assert (await response.json())["resolved"] == 1
