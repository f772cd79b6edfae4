"""``ketqua serve`` on PostgreSQL: the whole path (intake, signing, e-mail, verifier, portal)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from tests.postgres import Cluster, start_cluster
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


@pytest.fixture
def own_cluster() -> Iterator[Cluster]:
    cluster = start_cluster()  # its own: this test stops and starts it
    yield cluster
    cluster.stop()


async def test_a_database_restart_is_a_503_then_nothing_to_restart(
    tmp_path: Path, own_cluster: Cluster
) -> None:
    url = own_cluster.createdb("restart")
    service = Service(tmp_path / "home", env={"KETQUA_DATABASE_URL": url, "KETQUA_WORKERS": "1"})
    service.start()
    try:
        key = create_api_key(service.home, env={"KETQUA_DATABASE_URL": url})
        headers = {"Authorization": f"Bearer {key}"}
        async with aiohttp.ClientSession(
            service.signer_url, headers=headers, timeout=aiohttp.ClientTimeout(total=30)
        ) as session:
            async with session.get("/api/v1/results") as response:
                assert response.status == 200
            await asyncio.to_thread(own_cluster.pause)
            async with session.get("/api/v1/results") as response:
                problem = await response.json(content_type=None)
                assert response.status == 503, problem
                assert response.headers["Retry-After"] == "5"
            assert problem["type"] == "urn:ketqua:problem:unavailable"
            await asyncio.to_thread(own_cluster.resume)
            for _ in range(50):  # the pool reconnects by itself
                async with session.get("/api/v1/results") as response:
                    if response.status == 200:
                        break
                await asyncio.sleep(0.2)
            assert response.status == 200
        assert service.process is not None
        assert service.process.poll() is None  # the same process all along
    finally:
        service.stop()
