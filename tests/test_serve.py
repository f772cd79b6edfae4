"""``ketqua serve`` as an operator starts it: roles, first start, refusal to start."""

from __future__ import annotations

import asyncio
import contextlib
import json
import multiprocessing
import os
import socket
import subprocess
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from ketqua.serve import Role, serve
from ketqua.settings import Settings, load_settings
from plumbing.errors import InputError, KetquaError
from signer.pipeline.worker import Pipeline
from tests.service import Service, ketqua_command, query
from tests.smtp import free_port

pytestmark = pytest.mark.slow  # ketqua serve started and stopped


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - loopback
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_first_start_creates_a_development_pki_and_says_so(tmp_path: Path) -> None:
    service = Service(tmp_path / "home", env={"KETQUA_WORKERS": "1"}).start()
    try:
        log = service.log()
        assert "created a DEVELOPMENT PKI" in log
        assert "emails go to the pickup folder" in log  # no SMTP server set: says where
        assert (tmp_path / "home" / "keys" / "signing.p12").exists()
        status, body = get(f"{service.verifier_url}/api/v1/trust-list")
        assert status == 200
        assert json.loads(body)["seal_keys"]
        status, body = get(f"{service.signer_url}/healthz")
        assert status == 200
        assert json.loads(body)["signing_key"] == "ok"
    finally:
        assert service.stop() == 0
    second = Service(tmp_path / "home", env={"KETQUA_WORKERS": "1"}).start()
    try:
        assert second.log().count("created a DEVELOPMENT PKI") == 1  # kept, not made again
    finally:
        second.stop()


def test_the_verifier_alone_holds_no_signer(tmp_path: Path) -> None:
    home = tmp_path / "home"
    subprocess.run(
        ketqua_command("keys", "init", "--dir", str(home / "keys")),
        check=True,
        capture_output=True,
    )
    service = Service(home, role="verifier").start()
    try:
        assert service.signer_url == ""
        assert "signer API" not in service.log()
        status, _ = get(f"{service.verifier_url}/healthz")
        assert status == 200
        status, body = get(f"{service.verifier_url}/metrics")
        assert status == 200
        assert b'service="verifier"' in body
        status, _ = get(f"{service.verifier_url}/api/v1/results")
        assert status == 404
    finally:
        service.stop()


def test_unusable_keys_stop_the_start_with_one_line(tmp_path: Path) -> None:
    home = tmp_path / "home"
    subprocess.run(
        ketqua_command("keys", "init", "--dir", str(home / "keys")),
        check=True,
        capture_output=True,
    )
    (home / "keys" / "passphrase").write_text("not the passphrase\n")
    done = subprocess.run(
        ketqua_command("serve", "--role", "signer"),
        capture_output=True,
        text=True,
        timeout=120,
        env={
            **os.environ,
            "KETQUA_HOME": str(home),
            "KETQUA_SIGNER_LISTEN": "127.0.0.1:0",
            "KETQUA_WORKERS": "1",
        },
    )
    assert done.returncode == 2
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("ketqua: error: the signing keys are not usable:")
    assert "passphrase" in last
    assert "Traceback" not in done.stderr


def test_worker_processes_carry_names_an_operator_can_see(service: Service) -> None:
    """``ps`` and ``top`` tell the signing processes from the intake ones."""
    assert service.process is not None
    names = []
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text()
        except (OSError, NotADirectoryError):
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == service.process.pid:
            names.append((entry / "comm").read_text().strip())
    assert names.count("ketqua-sign") == 2, names  # KETQUA_WORKERS=2 in the fixture
    assert names.count("ketqua-intake") >= 1, names


# Start and stop in this process (ketqua.serve.serve): what a half-finished start made is
# released, and a stop step that fails does not keep the others from running.


def open_files_of(path: Path) -> list[str]:
    """This process's open file descriptors on ``path`` and the files beside it (-wal, -shm)."""
    found = []
    for fd in Path("/proc/self/fd").iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            if target.startswith(str(path)):
                found.append(target)
    return found


async def connections_to(database_url: str) -> int:
    """Sessions open on the test's database, other than the one asking (0: all closed)."""
    if database_url.startswith("sqlite"):
        return len(open_files_of(Path(database_url.removeprefix("sqlite:///"))))
    rows = await query(
        database_url,
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    return int(rows[0][0])


def in_process_settings(
    home: Path, database_url: str, verifier_listen: str = "127.0.0.1:0"
) -> Settings:
    return load_settings(
        home=home,
        database_url=database_url,
        workers=1,
        signer_listen=f"127.0.0.1:{free_port()}",
        verifier_listen=verifier_listen,
        shutdown_timeout=10,
    )


def port_is_free(listen: str) -> bool:
    host, _, port = listen.rpartition(":")
    with socket.socket() as probe:
        try:
            probe.bind((host, int(port)))
        except OSError:
            return False
    return True


@pytest.mark.usefixtures("clean_environment")
async def test_a_start_that_fails_half_way_releases_what_it_started(
    tmp_path: Path, database_url: str
) -> None:
    threads_before = set(threading.enumerate())
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = f"127.0.0.1:{taken.getsockname()[1]}"
        settings = in_process_settings(tmp_path, database_url, verifier_listen=busy)
        # the signer starts (pools, pipeline, its port), then the verifier cannot listen
        with pytest.raises(InputError, match=f"cannot listen on {busy} for the verifier"):
            await serve(settings, Role.BOTH)
    assert multiprocessing.active_children() == []  # signing and intake processes gone
    assert port_is_free(settings.signer_listen)
    assert await connections_to(database_url) == 0
    # no pool's manager thread left (the loop's own executor threads end with the loop)
    new = set(threading.enumerate()) - threads_before
    assert [t.name for t in new if not t.name.startswith("asyncio_")] == []


@pytest.mark.usefixtures("clean_environment")
async def test_a_stop_step_that_fails_does_not_skip_the_others(
    tmp_path: Path,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def broken(self: Pipeline, grace: float) -> None:
        raise RuntimeError("the pipeline would not stop")

    monkeypatch.setattr(Pipeline, "stop", broken)
    settings = in_process_settings(tmp_path, database_url)
    ready, stop = asyncio.Event(), asyncio.Event()
    running = asyncio.create_task(serve(settings, Role.SIGNER, ready=ready, stop=stop))
    await asyncio.wait_for(ready.wait(), 60)
    assert multiprocessing.active_children()  # the pools run
    stop.set()
    with pytest.raises(KetquaError, match="not cleanly: the signing pipeline"):
        await asyncio.wait_for(running, 30)
    assert "stopping the signing pipeline failed" in caplog.text
    # the deliverer, the HTTP runner, the audit trail, the pools and the database: all stopped
    assert multiprocessing.active_children() == []
    assert port_is_free(settings.signer_listen)
    assert await connections_to(database_url) == 0
