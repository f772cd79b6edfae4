"""What is PostgreSQL's own: a server that goes away under a running service and comes back.

The rest of the suite runs on PostgreSQL too (``pytest --registry=postgresql``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from tests.postgres import Cluster, start_cluster
from tests.service import Client, Service, create_api_key, distinct_pdfs, unique_metadata

# slow: a PostgreSQL cluster stopped and started
pytestmark = [
    pytest.mark.registry("postgresql"),
    pytest.mark.slow,
]


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


async def test_a_database_restart_during_a_batch_loses_nothing(
    tmp_path: Path, own_cluster: Cluster
) -> None:
    url = own_cluster.createdb("batch")
    env = {
        "KETQUA_DATABASE_URL": url,
        "KETQUA_WORKERS": "2",
        "KETQUA_JOB_LEASE": "5",  # a job whose outcome could not be written comes back soon
        "KETQUA_JOB_RETRY_BASE": "1",
    }
    service = Service(tmp_path / "home", env=env).start()
    try:
        key = create_api_key(service.home, env=env)
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
            client = Client(session, service, key)
            ids = set()
            for pdf in distinct_pdfs(150, "pg-batch"):
                status, body = await client.submit(unique_metadata(), pdf)
                assert status == 202, body
                ids.add(body["id"])
            before = await client.states()
            await asyncio.to_thread(own_cluster.pause)
            assert 0 < before["published"] < len(ids), before  # mid-batch: signing under way
            status, problem = await client.submit(unique_metadata(), distinct_pdfs(1, "lost")[0])
            assert status == 503, problem  # refused, not half-accepted
            await asyncio.sleep(2)
            await asyncio.to_thread(own_cluster.resume)
            await client.wait_for(ids, "published", within=120)
            listed = await client.listing()
            assert {item["id"] for item in listed} == ids  # all of them, and the 503 left nothing
            documents = [await client.document(result_id) for result_id in ids]
            assert len(set(documents)) == len(ids)
        assert service.process is not None
        assert service.process.poll() is None  # recovered without a restart of its own
    finally:
        service.stop()
