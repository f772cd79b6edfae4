"""docker/compose.yaml keeps the public verifier apart: no signer network, a read-only role.

The container smoke test (docker/smoke.sh, not run by make test) runs this layout; these
checks of the file itself run with every test run, so that an edit cannot quietly put a
verifier back beside the signers or on the signers' database role.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

COMPOSE = Path(__file__).resolve().parent.parent / "docker" / "compose.yaml"


def services() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    found: dict[str, Any] = document["services"]
    return found


def test_the_verifier_shares_no_network_with_a_signer() -> None:
    found = services()
    public = set(found["verifier"]["networks"])
    private = set(found["signer"]["networks"]) | set(found["init"]["networks"])
    assert public.isdisjoint(private), public & private
    assert "edge" in public  # the proxy reaches it
    assert set(found["postgres"]["networks"]) >= {"signer-db", "verifier-db"}


def test_the_verifier_reads_with_the_read_only_role_and_never_migrates() -> None:
    found = services()
    url = found["verifier"]["environment"]["KETQUA_DATABASE_URL"]
    assert url.startswith("postgresql://ketqua_verifier:")
    assert "ketqua migrate --grant-reader ketqua_verifier" in found["init"]["command"][0]
    assert found["verifier"]["command"] == ["serve", "--role", "verifier"]


def test_the_image_copies_and_checks_every_package_the_project_ships() -> None:
    # an image without a package starts and then fails on its first import of it (the
    # console's package was missing once: `ketqua serve --role signer` stopped at start)
    import re
    import tomllib

    root = COMPOSE.parent.parent
    shipped = {
        p.rstrip("*")
        for p in tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"][
            "packages"
        ]["find"]["include"]
    }
    dockerfile = (root / "docker" / "Dockerfile").read_text(encoding="utf-8")
    copied = set(re.findall(r"^COPY (\w+) \1$", dockerfile, re.M))
    assert copied == shipped
    checked = re.search(r"find ([\w ]+?) -type f", dockerfile)
    assert checked is not None
    assert set(checked.group(1).split()) == shipped
