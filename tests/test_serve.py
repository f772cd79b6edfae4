"""``ketqua serve`` as an operator starts it: roles, first start, refusal to start."""

from __future__ import annotations

import json
import os
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

from tests.service import Service, ketqua_command


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
