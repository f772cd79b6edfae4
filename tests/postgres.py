"""A throwaway PostgreSQL cluster for the tests: initdb + pg_ctl in a temp folder, on loopback.

Run as a normal user (PostgreSQL refuses root): as ``nobody`` through
``runuser`` when the suite runs as root (CI), else as whoever runs it.
``make test`` installs Debian's PostgreSQL when it is missing.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tests.smtp import free_port

USER = "nobody"


def _bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        raise RuntimeError("PostgreSQL is not installed (make test installs Debian's)")
    return Path(found[-1]).parent


def _as_owner(*command: str) -> list[str]:
    return ["runuser", "-u", USER, "--", *command] if os.geteuid() == 0 else list(command)


@dataclass
class Cluster:
    root: Path
    port: int
    durable: bool = False  # fsync on (benchmarks); tests need no crash safety of their own

    @property
    def data(self) -> Path:
        return self.root / "data"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://ketqua@127.0.0.1:{self.port}/{database}"

    def createdb(self, name: str) -> str:
        subprocess.run(
            [
                str(_bin() / "createdb"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                "ketqua",
                name,
            ],
            check=True,
            capture_output=True,
        )
        return self.url(name)

    def pause(self) -> None:
        """Stop the server, keep its data (a restart, an outage)."""
        subprocess.run(
            _as_owner(str(_bin() / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"),
            check=True,
            capture_output=True,
        )

    def resume(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} "
            f"-c fsync={'on' if self.durable else 'off'} -c max_connections=300"
        )
        subprocess.run(
            _as_owner(
                str(_bin() / "pg_ctl"),
                "-D",
                str(self.data),
                "-o",
                options,
                "-l",
                str(self.root / "log"),
                "-w",
                "start",
            ),
            check=True,
            capture_output=True,
        )

    def stop(self) -> None:
        subprocess.run(
            _as_owner(str(_bin() / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"),
            capture_output=True,
            check=False,
        )
        shutil.rmtree(self.root, ignore_errors=True)


def start_cluster(*, durable: bool = False) -> Cluster:
    root = Path(tempfile.mkdtemp(prefix="ketqua-pg-"))
    root.chmod(0o755)  # the owner (nobody) must reach its data folder
    cluster = Cluster(root, free_port(), durable)
    cluster.data.mkdir()
    if os.geteuid() == 0:
        shutil.chown(cluster.data, USER)
        shutil.chown(root, USER)
    subprocess.run(
        _as_owner(
            str(_bin() / "initdb"),
            "-D",
            str(cluster.data),
            "-U",
            "ketqua",
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        ),
        check=True,
        capture_output=True,
    )
    cluster.resume()
    return cluster
