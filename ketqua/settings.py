"""The service's settings: one TOML file plus ``KETQUA_*`` environment variables.

Precedence: command-line flags, then the environment, then the file, then
the defaults below. Everything is validated at start; a bad value stops the
start with one line naming the setting (see ``describe_error``).
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    InitSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from plumbing.errors import InputError, KetquaError
from plumbing.secret import Secret
from registry.blobs import BlobLocation
from signer.delivery.transport import SmtpUrl

PADES_LEVELS = ("B-B", "B-T", "B-LT", "B-LTA")


class Listen(str):
    """``HOST:PORT`` (port 0: any free port)."""

    @property
    def host(self) -> str:
        return self.rpartition(":")[0].strip("[]")

    @property
    def port(self) -> int:
        return int(self.rpartition(":")[2])


_ADDRESS = re.compile(r"[^@\s<>,;\"]+@[A-Za-z0-9.-]+")


class Settings(BaseSettings):
    """Every setting, its default and what it is for (``ketqua serve --help`` lists them)."""

    model_config = SettingsConfigDict(
        env_prefix="KETQUA_",
        extra="forbid",
        frozen=True,
        validate_default=True,
        # KETQUA_X= (as compose passes an optional variable) means unset, not ""
        env_ignore_empty=True,
    )

    home: Path = Field(Path("var"), description="state folder: database, blobs, keys, pickup")
    public_url: str = Field(
        "http://127.0.0.1:8080", description="the verifier's public base URL, printed in QR codes"
    )
    signer_listen: str = Field("127.0.0.1:8081", description="signer API address (internal)")
    verifier_listen: str = Field("0.0.0.0:8080", description="verifier address (public)")
    database_url: str | None = Field(
        None, description="default: SQLite in the home folder; or postgresql://..."
    )
    blob_store: Literal["folder", "database"] | None = Field(
        None,
        description="where documents are kept: folder (HOME/blobs, one machine) or database "
        "(shared by every machine); default: database on PostgreSQL, else folder",
    )
    keys: Path | None = Field(None, description="key folder (default HOME/keys)")
    key_passphrase_file: Path | None = Field(
        None, description="the keys' passphrase (else key_passphrase, else KEYS/passphrase)"
    )
    key_passphrase: SecretStr | None = Field(
        None, description="the keys' passphrase itself, when there is no file"
    )
    pkcs11_module: Path | None = Field(None, description="PKCS#11 module for the document key")
    pkcs11_token: str | None = Field(None, description="token label")
    pkcs11_key: str | None = Field(None, description="key (and certificate) label on the token")
    pkcs11_pin_file: Path | None = Field(None, description="PIN file (else pkcs11_pin)")
    pkcs11_pin: SecretStr | None = Field(None, description="the token's PIN, if no PIN file")
    tsa_url: str | None = Field(None, description="RFC 3161 timestamp server; unset: none")
    pades_level: Literal["B-B", "B-T", "B-LT", "B-LTA"] | None = Field(
        None, description="PAdES level (default: as long-lived as the TSA and certificate allow)"
    )
    seal_image: Path | None = Field(None, description="the agency's red seal (PNG) for the stamp")
    trust_anchors: list[Path] = Field(
        default_factory=list,
        description="extra root CAs (PEM) for officials' signatures: the national roots",
    )
    seal_size_mm: float = Field(
        36.0, ge=15, le=60, description="the seal's actual diameter: it is printed at this size"
    )
    seal_field: str = Field(
        "agency_seal",
        min_length=1,
        max_length=100,
        pattern=r"^[^.\s]+$",
        description="a template's empty signature field: where the seal goes when present",
    )
    seal_position: str | None = Field(
        None,
        pattern=r"^\s*[0-9]+(\.[0-9]+)?\s*,\s*[0-9]+(\.[0-9]+)?\s*$",
        description="X,Y (pt) of the seal's lower-left corner, when the document names no place",
    )
    workers: int = Field(
        default_factory=lambda: os.cpu_count() or 1, ge=1, le=64, description="signing processes"
    )
    intake_workers: int = Field(1, ge=1, le=16, description="processes that vet uploads")
    max_document_mb: float = Field(50.0, gt=0, le=1024, description="largest accepted PDF")
    network_timeout: float = Field(10.0, gt=0, le=300, description="seconds, TSA/OCSP/CRL calls")
    job_lease: float = Field(30.0, ge=1, le=3600, description="seconds a worker holds a job")
    job_max_attempts: int = Field(5, ge=1, le=100, description="attempts before a job fails")
    job_retry_base: float = Field(5.0, gt=0, le=3600, description="first retry delay, seconds")
    job_retry_max: float = Field(600.0, gt=0, le=86400, description="longest retry delay")
    smtp_url: str | None = Field(
        None,
        description="smtp://[user[:password]@]host[:port][?tls=starttls|implicit|none]; "
        "unset: emails go to HOME/pickup as .eml files",
    )
    smtp_password: SecretStr | None = Field(None, description="else the password in smtp_url")
    smtp_ca_file: Path | None = Field(None, description="CA certificates for the server's TLS")
    smtp_timeout: float = Field(30.0, gt=0, le=600, description="seconds per SMTP step")
    smtp_connections: int = Field(2, ge=1, le=32, description="concurrent SMTP connections")
    smtp_reuse: bool = Field(True, description="keep connections open across messages")
    mail_from: str | None = Field(
        None, description="sender address (default: ketqua@ the public_url's host name)"
    )
    mail_from_name: str | None = Field(None, description="sender name (default: the agency's)")
    mail_reply_to: str | None = Field(None, description="Reply-To address (the agency's desk)")
    mail_max_mb: float = Field(10.0, gt=0, le=100, description="largest message; else a link")
    mail_max_age_hours: float = Field(48.0, gt=0, le=720, description="stop retrying after")
    mail_retry_base: float = Field(10.0, gt=0, le=3600, description="first retry delay, seconds")
    mail_retry_max: float = Field(1800.0, gt=0, le=86400, description="longest retry delay")
    mail_templates: Path | None = Field(None, description="folder of templates overriding ours")
    dkim_selector: str | None = Field(None, description="DKIM selector; with dkim_key_file")
    dkim_key_file: Path | None = Field(None, description="DKIM private key (PEM)")
    verify_rate: float = Field(
        5.0, gt=0, le=10000, description="QR pages and uploads a second, per client address"
    )
    verify_burst: int = Field(30, ge=1, le=100000, description="burst allowed above the rate")
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description="reverse proxies (addresses or networks, e.g. 172.30.80.0/24) whose "
        "X-Forwarded-For names the client (rate limit)",
    )
    verify_max_mb: float = Field(20.0, gt=0, le=1024, description="largest PDF to check")
    verify_max_pages: int = Field(500, ge=1, le=100000, description="most pages to check")
    verify_timeout: float = Field(30.0, gt=0, le=600, description="seconds to check one PDF")
    verify_workers: int = Field(1, ge=1, le=64, description="processes that check uploads")
    verify_queue: int = Field(
        4, ge=0, le=1000, description="uploads that may wait for a check; beyond, 503 at once"
    )
    verify_max_memory_mb: int = Field(
        1024, ge=256, le=65536, description="address space of each check process (RLIMIT_AS)"
    )
    portal_name: str = Field(
        "Tra cứu và xác minh kết quả giải quyết thủ tục hành chính",
        min_length=1,
        max_length=120,
        description="the public site's name, in every page's header",
    )
    contact_agency: str | None = Field(
        None, max_length=200, description="the agency named in the pages' footer and e-mails"
    )
    contact_phone: str | None = Field(None, max_length=40, description="the one-stop desk's phone")
    contact_email: str | None = Field(None, max_length=120, description="the desk's e-mail")
    contact_address: str | None = Field(None, max_length=200, description="the desk's address")
    portal_rate: float = Field(
        20.0,
        gt=0,
        le=10000,
        description="listing, feed and statistics requests a second, per client",
    )
    portal_burst: int = Field(100, ge=1, le=100000, description="burst above portal_rate")
    console_idle_minutes: float = Field(
        30.0, gt=0, le=24 * 60, description="a console session ends after this long unused"
    )
    console_session_hours: float = Field(
        10.0, gt=0, le=7 * 24, description="and this long after its login, whatever happens"
    )
    shutdown_timeout: float = Field(20.0, gt=0, le=600, description="seconds to finish on SIGTERM")
    schema_wait: float = Field(
        60.0, ge=0, le=3600, description="seconds a verifier waits for the schema to be current"
    )
    log_format: Literal["text", "json"] = Field("text", description="text or JSON lines")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field("INFO")

    @field_validator("signer_listen", "verifier_listen")
    @classmethod
    def _listen(cls, value: str) -> str:
        host, sep, port = value.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
            raise ValueError("must be HOST:PORT, e.g. 127.0.0.1:8081")
        return value

    @field_validator("public_url", "tsa_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http(s) URL")
        return value.rstrip("/")

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies(cls, value: list[str]) -> list[str]:
        for entry in value:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(f"not an IP address or network: {entry!r}") from None
        return value

    @field_validator("smtp_url")
    @classmethod
    def _smtp_url(cls, value: str | None) -> str | None:
        if value is not None:
            SmtpUrl.parse(value)  # ValueError says what is wrong
        return value

    @field_validator("mail_from", "mail_reply_to")
    @classmethod
    def _address(cls, value: str | None) -> str | None:
        if value is not None and not _ADDRESS.fullmatch(value):
            raise ValueError("must be an email address (name@domain)")
        return value

    @property
    def sender_address(self) -> str:
        """``mail_from``, else ``ketqua@`` the portal's host name (localhost for an address)."""
        if self.mail_from is not None:
            return self.mail_from
        host = urlsplit(self.public_url).hostname or "localhost"
        try:
            ipaddress.ip_address(host)
        except ValueError:
            return f"ketqua@{host}"
        return "ketqua@localhost"

    @model_validator(mode="after")
    def _dkim_pair(self) -> Settings:
        if (self.dkim_selector is None) != (self.dkim_key_file is None):
            raise ValueError("dkim_selector and dkim_key_file go together")
        return self

    @property
    def smtp(self) -> SmtpUrl | None:
        if self.smtp_url is None:
            return None
        url = SmtpUrl.parse(self.smtp_url)
        if self.smtp_password is not None:
            url = dataclasses.replace(url, password=self.smtp_password.get_secret_value())
        return url

    @property
    def passphrase(self) -> Secret | None:
        return _secret(self.key_passphrase, "key_passphrase")

    @property
    def pin(self) -> Secret | None:
        return _secret(self.pkcs11_pin, "pkcs11_pin")

    @property
    def keys_dir(self) -> Path:
        return (self.keys or self.home / "keys").absolute()

    @property
    def database(self) -> str:
        return self.database_url or f"sqlite:///{(self.home / 'ketqua.db').absolute()}"

    @property
    def blobs_dir(self) -> Path:
        return self.home / "blobs"

    @property
    def blobs(self) -> BlobLocation:
        on_postgresql = not self.database.startswith("sqlite")
        kind = self.blob_store or ("database" if on_postgresql else "folder")
        if kind == "database":
            return BlobLocation(database_url=self.database)
        return BlobLocation(folder=self.blobs_dir.absolute())

    @property
    def staging_dir(self) -> Path:
        return self.home / "staging"

    @property
    def pickup_dir(self) -> Path:
        return self.home / "pickup"

    @property
    def max_document_bytes(self) -> int:
        return int(self.max_document_mb * 1024 * 1024)

    @property
    def signer_address(self) -> Listen:
        return Listen(self.signer_listen)

    @property
    def verifier_address(self) -> Listen:
        return Listen(self.verifier_listen)


def _secret(value: SecretStr | None, name: str) -> Secret | None:
    if value is None or not value.get_secret_value():
        return None
    return Secret(value.get_secret_value().encode("utf-8"), f"KETQUA_{name.upper()}")


def load_settings(
    config_file: Path | None = None, *, flags: Mapping[str, str] | None = None, **given: Any
) -> Settings:
    """Flags > environment > ``config_file`` (TOML) > defaults; InputError naming the setting.

    ``given`` are the values of command-line flags (None: not given); ``flags``
    maps a setting to its flag, so that an error names what the user typed.
    """
    file_values: dict[str, Any] = {}
    config_file = config_file or _env_path("KETQUA_CONFIG")
    if config_file is not None:
        try:
            file_values = tomllib.loads(config_file.read_text(encoding="utf-8"))
        except OSError as exc:
            raise InputError(f"cannot read {config_file}: {exc.strerror}") from exc
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise InputError(f"{config_file} is not valid TOML: {exc}") from exc
        # the file's table may be [ketqua] or top level
        file_values = file_values.get("ketqua", file_values)

    class _Sources(Settings):
        @classmethod
        def settings_customise_sources(
            cls,
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource,
            dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            return (init_settings, env_settings, InitSettingsSource(settings_cls, file_values))

    values = {name: value for name, value in given.items() if value is not None}
    try:
        return Settings.model_validate(_Sources(**values).model_dump())
    except ValidationError as exc:
        # pydantic's own text repeats the input (a password in a URL): not kept as the cause
        named = {name: flag for name, flag in (flags or {}).items() if name in values}
        raise InputError(describe_error(exc, config_file, named)) from None


def setting_name(name: str, config_file: Path | None = None) -> str:
    """How a person sets ``name``: the environment variable (or the config file's key)."""
    where = f"KETQUA_{name.upper()}"
    if config_file is not None:
        where += f" or {name} in {config_file}"
    return f"setting {name} ({where})"


def describe_error(
    exc: ValidationError, config_file: Path | None, flags: Mapping[str, str] | None = None
) -> str:
    first = exc.errors()[0]
    name = ".".join(str(part) for part in first["loc"]) or "settings"
    if first["type"] == "extra_forbidden":
        where = setting_name(name, config_file).removeprefix(f"setting {name} ")
        return f"unknown setting {name!r} {where}"
    message = first["msg"].removeprefix("Value error, ")
    where = (flags or {}).get(name) or setting_name(name, config_file)
    return f"{where}: {message}"


# Errors from below name the field at fault (``KetquaError.field``); the shell says how a
# person sets it. Fields that are not settings of their own:
FIELD_SETTINGS = {
    "passphrase": "key_passphrase_file or KETQUA_KEY_PASSPHRASE",
    "pin": "pkcs11_pin_file or KETQUA_PKCS11_PIN",
}


def describe(exc: KetquaError, flags: Mapping[str, str] | None = None) -> str:
    """One line for a person: the flag or setting behind the error's field, then what is wrong.

    A field that is neither (a metadata field, ``document``) is shown as it is.
    """
    field = exc.field
    if field is None:
        return exc.message
    if flags and field in flags:
        return f"{flags[field]}: {exc.message}"
    if field in FIELD_SETTINGS:
        return f"setting {FIELD_SETTINGS[field]}: {exc.message}"
    if field in Settings.model_fields:
        return f"{setting_name(field)}: {exc.message}"
    return str(exc)


def _env_path(name: str) -> Path | None:
    value = os.environ.get(name)
    return Path(value) if value else None


def language() -> str:
    """The language of a person's terminal: Vietnamese unless the locale is an English one."""
    for name in ("LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE"):
        value = os.environ.get(name, "")
        if value:
            return "en" if value.lower().startswith("en") else "vi"
    return "vi"


def settings_help() -> str:
    """The settings as help text: environment variable, default, meaning."""
    lines = ["settings (KETQUA_<NAME> in the environment, or <name> in the --config TOML):"]
    for name, info in Settings.model_fields.items():
        default = info.get_default(call_default_factory=True)
        shown = "unset" if default is None else str(default)
        lines.append(f"  KETQUA_{name.upper():22} {info.description or ''} [{shown}]")
    return "\n".join(lines)
