"""Settings: one TOML file plus KETQUA_* variables, checked at start with one clear line."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from ketqua.cli import main
from ketqua.settings import Settings, load_settings
from ketqua.signing import runtime_config
from plumbing.errors import InputError
from tests.service import ketqua_command, run_ketqua


def test_defaults_are_the_embedded_service(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in Settings.model_fields:
        monkeypatch.delenv(f"KETQUA_{name.upper()}", raising=False)
    monkeypatch.delenv("KETQUA_CONFIG", raising=False)
    settings = load_settings()
    assert settings.home == Path("var")
    assert settings.database.startswith("sqlite:///")
    assert settings.database.endswith("/var/ketqua.db")
    assert (settings.signer_listen, settings.verifier_listen) == ("127.0.0.1:8081", "0.0.0.0:8080")
    assert settings.public_url == "http://127.0.0.1:8080"
    assert settings.tsa_url is None
    assert settings.workers >= 1


def test_the_environment_wins_over_the_file_and_flags_over_both(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "ketqua.toml"
    config.write_text(
        '[ketqua]\nhome = "/srv/file"\nworkers = 3\npublic_url = "https://kq.example.vn/"\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("KETQUA_WORKERS", "5")
    settings = load_settings(config)
    assert settings.workers == 5  # environment
    assert settings.home == Path("/srv/file")  # file
    assert settings.public_url == "https://kq.example.vn"  # file, trailing slash dropped
    assert load_settings(config, home=Path("/flag")).home == Path("/flag")
    monkeypatch.setenv("KETQUA_CONFIG", str(config))
    assert load_settings().home == Path("/srv/file")


def test_an_empty_variable_is_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    """Compose passes optional variables empty: KETQUA_PKCS11_MODULE= is no module."""
    monkeypatch.setenv("KETQUA_PKCS11_MODULE", "")
    monkeypatch.setenv("KETQUA_WORKERS", "")
    settings = load_settings()
    assert settings.pkcs11_module is None
    assert settings.workers >= 1


@pytest.mark.parametrize(
    ("env", "toml", "message"),
    [
        ({"KETQUA_WORKERS": "0"}, "", "setting workers (KETQUA_WORKERS"),
        ({"KETQUA_SIGNER_LISTEN": "8081"}, "", "must be HOST:PORT"),
        ({"KETQUA_TSA_URL": "tsa.example.vn"}, "", "setting tsa_url"),
        ({"KETQUA_LOG_FORMAT": "xml"}, "", "setting log_format"),
        ({}, "wokers = 2\n", "unknown setting 'wokers'"),
        ({}, "workers = [", "is not valid TOML"),
        ({"KETQUA_TRUSTED_PROXIES": '["10.0.0.0/33"]'}, "", "not an IP address or network"),
    ],
)
def test_a_bad_setting_stops_the_start_naming_it(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    env: dict[str, str],
    toml: str,
    message: str,
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    config = tmp_path / "ketqua.toml"
    config.write_text(toml, encoding="utf-8")
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace("[", r"\[")):
        load_settings(config)


def test_serve_refuses_a_bad_setting_with_one_line_and_exit_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("KETQUA_WORKERS", "many")
    assert main(["serve"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("ketqua: error: setting workers (KETQUA_WORKERS)")


@pytest.mark.slow
def test_serve_help_lists_every_setting() -> None:
    out = subprocess.run(
        ketqua_command("serve", "--help"), check=True, capture_output=True, text=True
    ).stdout
    for name in Settings.model_fields:
        assert f"KETQUA_{name.upper()}" in out


@pytest.mark.slow
def test_apikey_create_prints_the_key_alone_on_the_last_line(tmp_path: Path) -> None:
    out = run_ketqua(tmp_path, "apikey", "create", "--name", "mot-cua").stdout
    last = out.strip().splitlines()[-1]
    assert last.startswith("kq_")
    assert " " not in last
    listed = run_ketqua(tmp_path, "apikey", "list").stdout
    assert "mot-cua" in listed
    assert last not in listed
    with pytest.raises(subprocess.CalledProcessError) as again:
        run_ketqua(tmp_path, "apikey", "create", "--name", "mot-cua")
    assert again.value.returncode == 2
    assert (
        again.value.stderr == "ketqua: error: --name: an API key named 'mot-cua' exists already\n"
    )


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://mail.example.vn", ("mail.example.vn", 587, "starttls", None)),
        ("smtps://u:p%40ss@mail.example.vn", ("mail.example.vn", 465, "implicit", "u")),
        ("smtp://127.0.0.1:2525?tls=none", ("127.0.0.1", 2525, "none", None)),
    ],
)
def test_an_smtp_url_gives_host_port_tls_and_login(
    url: str, expected: tuple[str, int, str, str | None]
) -> None:
    smtp = load_settings(smtp_url=url).smtp
    assert smtp is not None
    assert (smtp.host, smtp.port, smtp.tls, smtp.username) == expected
    assert "p@ss" not in repr(smtp)  # the password never reaches a log line by repr


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"smtp_url": "smtp://mail.example.vn?tls=none"}, "loopback only"),
        ({"smtp_url": "http://mail.example.vn"}, "must be smtp://"),
        ({"smtp_url": "smtp://mail.example.vn?tls=ssl"}, "tls=ssl"),
        ({"mail_from": "not an address"}, "email address"),
        ({"dkim_selector": "s1"}, "go together"),
    ],
)
def test_mail_settings_are_checked_at_start(values: dict[str, Any], message: str) -> None:
    with pytest.raises(InputError, match=message):
        load_settings(**values)


def test_the_smtp_password_setting_wins_over_the_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KETQUA_SMTP_PASSWORD", "tu-bien-moi-truong")
    smtp = load_settings(smtp_url="smtp://motcua:cu@mail.example.vn").smtp
    assert smtp is not None
    assert smtp.password == "tu-bien-moi-truong"


# ``ketqua sign`` and ``ketqua serve`` build their signing configuration in one place
# (ketqua/signing.py) from the same settings: the environment and the TOML file reach both


def test_sign_and_serve_take_the_signing_settings_from_the_same_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "ketqua.toml"
    config.write_text('public_url = "https://file.example.vn"\n', encoding="utf-8")
    monkeypatch.setenv("KETQUA_KEY_PASSPHRASE", "mat-khau-moi-truong")
    monkeypatch.setenv("KETQUA_TSA_URL", "http://127.0.0.1:9/tsa")
    built = runtime_config(load_settings(config))
    assert built.options.public_url == "https://file.example.vn"
    assert built.tsa_url == "http://127.0.0.1:9/tsa"
    assert built.keys.passphrase is not None
    assert built.keys.passphrase.value == b"mat-khau-moi-truong"
    assert built.keys.passphrase.source == "KETQUA_KEY_PASSPHRASE"
    assert "mat-khau" not in repr(built)  # a log line of the configuration shows no secret


@pytest.mark.parametrize(
    ("given", "field"),
    [
        ({"pkcs11_module": Path("/usr/lib/softhsm/libsofthsm2.so")}, "pkcs11_token"),
        ({"pkcs11_token": "kq", "pkcs11_key": "doc"}, "pkcs11_module"),
        ({"pades_level": "B-LT"}, "tsa_url"),
    ],
)
def test_the_signing_configuration_names_the_field_at_fault(
    given: dict[str, Any], field: str
) -> None:
    with pytest.raises(InputError) as refused:
        runtime_config(load_settings(**given))
    assert refused.value.field == field


def test_serve_names_the_setting_and_sign_names_the_flag_for_one_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setenv("KETQUA_PADES_LEVEL", "B-T")
    monkeypatch.delenv("KETQUA_TSA_URL", raising=False)
    assert main(["serve", "--home", str(tmp_path / "home")]) == 2
    assert capsys.readouterr().err == (
        "ketqua: error: setting tsa_url (KETQUA_TSA_URL): PAdES B-T needs a timestamp server\n"
    )
    monkeypatch.delenv("KETQUA_PADES_LEVEL")
    folder = tmp_path / "sign"
    folder.mkdir()
    pdf = folder / "in.pdf"
    pdf.write_bytes(b"%PDF-1.7\n")
    args = ["sign", str(pdf), "-o", str(folder / "out.pdf"), "--level", "B-T"]
    assert main([*args, "--metadata", str(folder / "meta.json")]) == 2
    assert capsys.readouterr().err == (
        "ketqua: error: --tsa-url: PAdES B-T needs a timestamp server\n"
    )
    assert list(folder.iterdir()) == [pdf]  # said before anything was read or made


def test_a_database_url_that_does_not_parse_is_not_echoed(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # a mistyped URL still holds the password: the one-line error must not print it
    monkeypatch.setenv("KETQUA_DATABASE_URL", "postgresql//ketqua:mat-khau-db@db.internal/kq")
    assert main(["apikey", "list", "--home", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("ketqua: error: setting database_url (KETQUA_DATABASE_URL): not a ")
    assert "mat-khau-db" not in err
