"""``ketqua results``: the operator's list, a result's story, revoke and resend, in a terminal.

Against the session's real ``ketqua serve``: once on its home folder's
registry (as the person at the machine), once through its signer API with
a key. What the command changes is read back through the API.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.service import Client, Service, create_api_key, home_env, ketqua_command
from tests.test_lookup import issue

pytestmark = pytest.mark.slow  # the real service


def ketqua_results(
    service: Service, *args: str, remote: Path | None = None
) -> subprocess.CompletedProcess[str]:
    where = (
        ["--signer", service.signer_url, "--api-key-file", str(remote)]
        if remote is not None
        else ["--home", str(service.home)]
    )
    return subprocess.run(
        ketqua_command("results", *args, *where),
        capture_output=True,
        text=True,
        env=home_env(service.home, {"LANG": "vi_VN.UTF-8"}),
        check=False,
    )


@pytest.fixture(scope="module")
def key_file(service: Service, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("key") / "api-key"
    path.write_text(create_api_key(service.home, "ketqua-results-cli") + "\n")
    return path


@pytest.mark.parametrize("remote", [False, True], ids=["home-folder", "signer-api"])
async def test_the_operator_finds_shows_revokes_and_resends_from_a_terminal(
    client: Client, key_file: Path, remote: bool
) -> None:
    service = client.service
    via = key_file if remote else None
    result = await issue(client, f"cli-{remote}")
    dossier = result["dossier_code"]

    run = await asyncio.to_thread(
        ketqua_results, service, "list", "--dossier", dossier.lower(), remote=via
    )
    assert run.returncode == 0, run.stderr
    header, rule, row = run.stdout.splitlines()[:3]
    assert header.split()[:4] == ["Mã", "kết", "quả", "Tình"]  # Vietnamese, the glossary's
    assert set(rule) <= {"-", " "}
    assert row.split()[0] == result["result_code"]
    assert result["id"] in row

    listed = await asyncio.to_thread(
        ketqua_results, service, "list", "--dossier", dossier, "--json", remote=via
    )
    [item] = json.loads(listed.stdout)["items"]
    assert item["id"] == result["id"]
    assert item["delivery"] == {"pending": 0, "sent": 0, "failed": 0}

    shown = await asyncio.to_thread(
        ketqua_results, service, "show", result["result_code"], remote=via
    )
    assert shown.returncode == 0, shown.stderr
    assert f"Mã kết quả: {result['result_code']}" in shown.stdout
    assert "published" in shown.stdout

    revoked = await asyncio.to_thread(
        ketqua_results,
        service,
        "revoke",
        dossier,  # the dossier's latest result
        "--reason-code",
        "issued_in_error",
        "--reason",
        "cấp nhầm",
        "--json",
        remote=via,
    )
    assert revoked.returncode == 0, revoked.stderr
    after: dict[str, Any] = await client.result(result["id"])
    assert after["state"] == "revoked"
    assert after["revocation_code"] == "issued_in_error"
    actor = after["events"][-1]["actor"]
    assert actor.startswith("cli:") if not remote else not actor.startswith("cli:")

    again = await asyncio.to_thread(ketqua_results, service, "resend", result["id"], remote=via)
    assert again.returncode == 2  # a revoked result is not sent again: one line, exit 2
    assert again.stderr.count("\n") == 1
    assert "only a signed result can be sent" in again.stderr


async def test_bad_input_is_one_line_and_exit_2(service: Service) -> None:
    for args in (
        ("show", "000.00.14.H49-220101-9999"),
        ("list", "--state", "lost"),
        ("list", "--from", "01/02/2022"),
        ("resend", "000.00.14.H49-220101-9999", "--email", "not an address"),
    ):
        run = await asyncio.to_thread(ketqua_results, service, *args)
        assert run.returncode == 2, (args, run.stdout, run.stderr)
        assert run.stderr.startswith("ketqua: error: "), run.stderr
        assert run.stderr.count("\n") == 1, run.stderr
