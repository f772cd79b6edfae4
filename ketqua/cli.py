"""The ``ketqua`` command: ``serve``, ``apikey``, ``keys init``, ``sign`` (one file or a folder).

Exit codes: 0 done; 1 not signed although the input was fine (a timestamp or
revocation server, a token), or a batch had failures; 2 usage or input error.
Errors are one line on stderr saying what is wrong. No partial output file is ever left:
outputs are written to a temp file and renamed.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
from collections.abc import Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from ketqua.settings import describe, language, load_settings, settings_help
from plumbing.errors import InputError, KetquaError
from plumbing.formats import day, moment

if TYPE_CHECKING:  # the signer is imported when a command needs it, not at start-up
    from signer.placement import Placement
    from signer.runtime import RuntimeConfig

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

PASSPHRASE = "--passphrase-file (or KETQUA_KEY_PASSPHRASE)"  # noqa: S105 (names, no secret)
# what an error about a field names, by command: the flag that sets it
FLAGS: Mapping[str, Mapping[str, str]] = {
    "sign": {
        "keys": "--keys",
        "key_passphrase_file": "--passphrase-file",
        "passphrase": PASSPHRASE,
        "pkcs11_module": "--pkcs11-module",
        "pkcs11_token": "--pkcs11-token",
        "pkcs11_key": "--pkcs11-key",
        "pkcs11_pin_file": "--pkcs11-pin-file",
        "pin": "--pkcs11-pin-file (or KETQUA_PKCS11_PIN)",
        "public_url": "--public-url",
        "tsa_url": "--tsa-url",
        "seal_image": "--seal-image",
        "seal_size_mm": "--seal-size",
        "seal_field": "--seal-field",
        "seal_position": "--seal-position",
        "max_document_mb": "--max-size",
        "pades_level": "--level",
        "placement": "--position / --page",
        "jobs": "--jobs",
    },
    "apikey": {"agency": "--agency", "name": "--name", "expires_days": "--expires-days"},
    "import": {"metadata": "--metadata", "document": "SIGNED.pdf"},
    "user": {"name": "--name", "role": "--role"},
    "results": {
        "state": "--state",
        "delivery": "--delivery",
        "limit": "--limit",
        "from": "--from",
        "to": "--to",
        "email": "--email",
        "result": "RESULT",
        "signer": "--signer",
        "api_key_file": "--api-key-file",
    },
    "migrate": {"role": "--grant-reader"},
    "keys": {
        "cert": "--cert",
        "force": "--force",
        "passphrase": PASSPHRASE,
        "agency_code": "--agency-code",
        "agency_name": "--agency-name",
    },
}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # one line, not argparse's usage block: the brief asks for exit 2 + one line
        # and the same "ketqua: error:" prefix as every other error, for log filters
        self.exit(EXIT_USAGE, f"ketqua: error: {message}\n")


def _megabytes(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of megabytes: {value!r}") from None
    if not math.isfinite(number):
        raise argparse.ArgumentTypeError(f"not a number of megabytes: {value!r}")
    if number <= 0:
        raise argparse.ArgumentTypeError("must be positive")
    return number


def build_parser() -> argparse.ArgumentParser:
    from signer.pades import PadesLevel

    parser = _Parser(prog="ketqua", description=__doc__.splitlines()[0] if __doc__ else None)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    keys = sub.add_parser("keys", help="key and certificate management")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True, parser_class=_Parser)
    init = keys_sub.add_parser("init", help="create a development PKI")
    init.add_argument(
        "--dir", type=Path, default=None, help="key folder (KETQUA_KEYS, else $KETQUA_HOME/keys)"
    )
    init.add_argument(
        "--agency-name",
        default=None,
        help='the agency\'s name in full (default "Ủy ban nhân dân huyện Vân Đồn")',
    )
    init.add_argument(
        "--agency-code",
        default=None,
        help="the agency's code; metadata must carry the same (default 000.00.14.H49)",
    )
    init.add_argument(
        "--passphrase-file",
        type=Path,
        default=None,
        help="encrypt the keys with this (else KETQUA_KEY_PASSPHRASE, else a generated file)",
    )
    trust = keys_sub.add_parser(
        "trust-signer",
        help="list the agency's signing certificate in the trust list (a CA's or a token's)",
        description="Offline verifiers call a document valid only when a certificate listed "
        "here signed it. keys init lists its own; a certificate from a licensed CA or on a "
        "token is added with this.",
    )
    trust.add_argument(
        "--dir", type=Path, default=None, help="key folder (KETQUA_KEYS, else $KETQUA_HOME/keys)"
    )
    trust.add_argument(
        "--cert",
        type=Path,
        default=None,
        help="the certificate, PEM (default: public/signing.pem)",
    )
    trust.add_argument(
        "--agency-code",
        default=None,
        help="the agency it signs for (default: the agency of the active seal key)",
    )
    init.add_argument("--ocsp-url", default=None, help="OCSP URL for the signing certificate")
    init.add_argument("--crl-url", default=None, help="CRL URL for the signing certificate")
    init.add_argument("--force", action="store_true", help="replace existing keys")

    sign = sub.add_parser(
        "sign",
        help="stamp and sign one PDF, or every X.pdf with X.json in a folder",
        description="Sign IN.pdf (with --metadata) or every X.pdf + X.json in a folder.",
    )
    sign.add_argument("input", type=Path, help="a PDF, or a folder of X.pdf + X.json")
    sign.add_argument("-o", "--output", type=Path, required=True, help="output PDF or folder")
    sign.add_argument("--metadata", type=Path, help="metadata JSON (single file mode)")
    sign.add_argument(
        "--level",
        choices=[level.value for level in PadesLevel],
        default=None,
        help="PAdES level (default: B-LT with a timestamp server and a certificate with "
        "OCSP/CRL, falling back to B-T if those do not answer; B-T with a timestamp "
        "server only; else B-B)",
    )
    sign.add_argument("--config", type=Path, default=None, help="TOML settings file")
    sign.add_argument("--keys", type=Path, default=None, help="key folder (ketqua keys init)")
    sign.add_argument(
        "--passphrase-file",
        type=Path,
        default=None,
        help="the keys' passphrase (else KETQUA_KEY_PASSPHRASE, else KEYS/passphrase)",
    )
    sign.add_argument("--pkcs11-module", type=Path, default=None, help="PKCS#11 module path")
    sign.add_argument("--pkcs11-token", default=None, help="token label")
    sign.add_argument("--pkcs11-key", default=None, help="key (and certificate) label")
    sign.add_argument("--pkcs11-pin-file", type=Path, default=None, help="else KETQUA_PKCS11_PIN")
    sign.add_argument("--public-url", default=None, help="verifier base URL in the QR")
    sign.add_argument("--tsa-url", default=None, help="RFC 3161 timestamp server")
    sign.add_argument(
        "--seal-image", type=Path, default=None, help="the agency's red seal (PNG) for the stamp"
    )
    sign.add_argument(
        "--seal-size", type=float, default=None, help="the seal's actual diameter, mm (36)"
    )
    sign.add_argument(
        "--seal-field",
        default=None,
        help="a template's empty signature field for the seal (default agency_seal)",
    )
    sign.add_argument(
        "--seal-position",
        default=None,
        help="X,Y (pt) of the seal when the document names no place; default: over the "
        "left third of the official's signature, else left of the block",
    )
    sign.add_argument(
        "--copy",
        choices=["sao_y", "sao_luc", "trich_sao", "attachment"],
        default=None,
        help="sign an electronic copy (SAO Y, SAO LỤC, TRÍCH SAO) or a separate attachment: "
        "the text-only form at the top right of page 1 (Decree 30/2020, Part II)",
    )
    sign.add_argument(
        "--original", default=None, help="with --copy: what it copies, as people name it"
    )
    sign.add_argument("--max-size", type=_megabytes, default=None, help="MB (default 50)")
    sign.add_argument("--page", type=int, default=-1, help="stamp page, 1-based; -1 = last")
    sign.add_argument(
        "--position", default=None, help="X,Y of the verification block's lower-left corner (pt)"
    )
    sign.add_argument("--jobs", type=int, default=None, help="worker processes for a folder")
    sign.add_argument(
        "--json", action="store_true", help="print the result (or the batch summary) as JSON"
    )

    serve = sub.add_parser(
        "serve",
        help="run the signer API and the verifier (one process, two ports)",
        description="Run the signer API (internal) and the verifier (public), or one of them. "
        "Settings come from the environment (KETQUA_*) and an optional TOML file.",
        epilog=settings_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    serve.add_argument("--config", type=Path, default=None, help="TOML settings file")
    serve.add_argument("--home", type=Path, default=None, help="state folder (KETQUA_HOME)")
    serve.add_argument(
        "--role", choices=["both", "signer", "verifier"], default="both", help="default both"
    )

    verify = sub.add_parser(
        "verify",
        help="check a signed PDF, a QR text or a photo of a printout (offline, trust list only)",
        description="Exit 0: valid; 1: not valid; 2: usage or input error.",
    )
    what = verify.add_mutually_exclusive_group(required=True)
    what.add_argument("pdf", nargs="?", type=Path, help="a signed result PDF")
    what.add_argument("--qr", metavar="TEXT", help="the text of a scanned QR (the seal URL)")
    what.add_argument("--image", type=Path, help="a photo or scan of a printed result")
    verify.add_argument(
        "--trust-list",
        default=None,
        help="FILE or URL (a verifier's /api/v1/trust-list); "
        "default $KETQUA_HOME/keys/public/trust-list.json",
    )
    verify.add_argument("--json", action="store_true", help="print the report as JSON")
    verify.add_argument(
        "--trust-anchor",
        type=Path,
        action="append",
        default=None,
        help="a root CA (PEM) for officials' signatures, e.g. the national root; repeatable "
        "(beside the trust_anchors setting)",
    )
    verify.add_argument(
        "--lang",
        choices=["vi", "en"],
        default=None,
        help="the report's language (default Vietnamese; English under an English locale)",
    )

    migrate = sub.add_parser(
        "migrate",
        help="bring the registry's database schema up to date (a signer also does at start)",
        description="Migrate the database; with --grant-reader, let a PostgreSQL role read "
        "what the public verifier needs, and nothing more.",
    )
    migrate.add_argument("--config", type=Path, default=None, help="TOML settings file")
    migrate.add_argument("--home", type=Path, default=None, help="state folder (KETQUA_HOME)")
    migrate.add_argument(
        "--grant-reader", metavar="ROLE", default=None, help="the verifier's read-only role"
    )

    _results_parser(sub)

    imported = sub.add_parser(
        "import",
        help="register a result signed outside the service (ketqua sign): its QR then answers",
        description="Checks that SIGNED.pdf carries this agency's signature and a QR seal for "
        "the dossier and result number of META.json, then records it as issued (published "
        "unless the metadata says otherwise) and keeps the file byte for byte. Nothing is "
        "signed again; no e-mail is sent.",
    )
    imported.add_argument("input", type=Path, metavar="SIGNED.pdf", help="the signed result")
    imported.add_argument("--metadata", type=Path, required=True, help="its metadata (JSON)")
    imported.add_argument("--json", action="store_true", help="print the result as JSON")
    imported.add_argument("--config", type=Path, default=None, help="TOML settings file")
    imported.add_argument("--home", type=Path, default=None, help="state folder (KETQUA_HOME)")

    user = sub.add_parser("user", help="the back office's staff accounts")
    user_sub = user.add_subparsers(dest="user_command", required=True, parser_class=_Parser)
    for name, text in (
        ("add", "add an account; its first password is printed once, alone on the last line"),
        ("list", "list accounts (names, roles, states, dates; never a password)"),
        ("disable", "disable an account; it can no longer log in, its history stays"),
        ("reset-password", "a new first password, printed once; changed at the next login"),
    ):
        command = user_sub.add_parser(name, help=text)
        if name != "list":
            command.add_argument("--name", required=True, help="the person's login name")
        if name == "add":
            command.add_argument(
                "--role",
                required=True,
                choices=("clerk", "supervisor", "admin"),
                help="clerk: submit, correct, re-deliver; supervisor: also revoke; "
                "admin: also accounts and API keys",
            )
        command.add_argument("--config", type=Path, default=None, help="TOML settings file")
        command.add_argument("--home", type=Path, default=None, help="state folder (KETQUA_HOME)")

    apikey = sub.add_parser("apikey", help="API keys of the signer's intake")
    apikey_sub = apikey.add_subparsers(dest="apikey_command", required=True, parser_class=_Parser)
    for name, text in (
        ("create", "create a key; it is printed once, alone on the last line"),
        ("revoke", "revoke a key by its name; requests with it get 401 at once"),
        ("list", "list keys (names, prefixes, dates; never the keys)"),
    ):
        command = apikey_sub.add_parser(name, help=text)
        if name != "list":
            command.add_argument("--name", required=True, help="who uses the key")
        if name == "create":
            command.add_argument(
                "--agency",
                action="append",
                default=None,
                help="an agency the key may act for (again for more; default: the agency "
                "of the signer it talks to, which is all a registry of one agency needs)",
            )
            command.add_argument(
                "--expires-days",
                type=int,
                default=365,
                metavar="DAYS",
                help="days until the key runs out (default 365; 0: never, not advised)",
            )
        command.add_argument("--config", type=Path, default=None, help="TOML settings file")
        command.add_argument("--home", type=Path, default=None, help="state folder (KETQUA_HOME)")
    return parser


# the fixed list of public reasons (registry.states.RevocationReason), kept here so that
# building the parser imports no registry code
REASON_CODES = ("issued_in_error", "replaced", "applicant_request", "authority_decision", "other")


def _results_parser(sub: Any) -> None:
    results = sub.add_parser(
        "results",
        help="the operator's view of results: list, show, revoke, resend",
        description="Results of the home folder's registry, or of a running signer "
        "(--signer URL --api-key-file FILE). A result is named by its id, its result code "
        "(...-KQ2) or its dossier code (the latest result).",
    )
    commands = results.add_subparsers(dest="results_command", required=True, parser_class=_Parser)
    listing = commands.add_parser("list", help="results, oldest first, as a table")
    listing.add_argument("--state", help="queued, signing, signed, published, delivered, ...")
    listing.add_argument("--delivery", help="pending, sent or failed: results with such an e-mail")
    listing.add_argument("--dossier", help="one dossier's results (any case)")
    listing.add_argument("--from", dest="first", metavar="YYYY-MM-DD", help="accepted from")
    listing.add_argument("--to", dest="last", metavar="YYYY-MM-DD", help="accepted until")
    listing.add_argument("--limit", type=int, default=50, help="results a page (1-200)")
    listing.add_argument("--after", help="the last id of the previous page")
    show = commands.add_parser("show", help="a result: its state, history and e-mails")
    revoke = commands.add_parser(
        "revoke", help="revoke a result (the public sees the reason's label)"
    )
    revoke.add_argument(
        "--reason-code",
        required=True,
        choices=REASON_CODES,
        help="the public reason (its label is shown on the QR page and in the notice)",
    )
    revoke.add_argument("--reason", help="the clerk's own words: internal, never public")
    resend = commands.add_parser("resend", help="e-mail a result again (to a corrected address)")
    resend.add_argument("--email", help="the corrected address; it becomes the applicant's")
    for command in (show, revoke, resend):
        command.add_argument("result", help="an id, a result code or a dossier code")
    for command in (listing, show, revoke, resend):
        command.add_argument("--json", action="store_true", help="JSON, as the API answers")
        command.add_argument("--signer", metavar="URL", help="a running signer's API instead")
        command.add_argument("--api-key-file", type=Path, help="the API key for --signer")
        command.add_argument("--config", type=Path, default=None, help="TOML settings file")
        command.add_argument("--home", type=Path, default=None, help="state folder (KETQUA_HOME)")


def _results(args: argparse.Namespace) -> int:
    import asyncio

    from ketqua.results_command import run

    settings = load_settings(args.config, home=args.home)
    asyncio.run(run(args, settings, language()))
    return EXIT_OK


def _user(args: argparse.Namespace) -> int:
    import asyncio

    from registry import staff
    from registry.database import open_database, upgrade

    settings = load_settings(args.config, home=args.home)

    async def act() -> None:
        db = open_database(settings.database)
        try:
            await upgrade(db)
            if args.user_command == "add":
                user, password = await staff.add_user(db, args.name, staff.Role(args.role))
                print(
                    f"account {user.name!r} ({user.role.value}) created; its first password, "
                    "to be changed at the first login, is shown once:"
                )
                print(password)
            elif args.user_command == "reset-password":
                user, password = await staff.reset_password(db, args.name)
                print(
                    f"account {user.name!r}: a new first password, to be changed at the next "
                    "login, is shown once (the old one no longer works):"
                )
                print(password)
            elif args.user_command == "disable":
                user = await staff.disable_user(db, args.name)
                print(f"account {user.name!r} disabled: it can no longer log in")
            else:
                for user in await staff.list_users(db):
                    state = "disabled" if user.disabled_at else "active"
                    if user.active and user.must_change:
                        state = "active, must change its password"
                    login = (
                        f"last login {moment(user.last_login_at)}"
                        if user.last_login_at
                        else "never logged in"
                    )
                    print(
                        f"{user.name}\t{user.role.value}\t{state}\t"
                        f"created {day(user.created_at)}\t{login}"
                    )
        finally:
            await db.close()

    asyncio.run(act())
    return EXIT_OK


def _import(args: argparse.Namespace) -> int:
    import asyncio

    from ketqua.import_command import import_signed

    settings = load_settings(args.config, home=args.home)
    result, _ = asyncio.run(import_signed(args.input, args.metadata, settings))
    if args.json:
        shown = {
            "id": result.id,
            "result_code": result.result_code,
            "state": result.state.value,
            "verification_url": result.seal_url,
        }
        print(json.dumps(shown, ensure_ascii=False, indent=2))
    else:
        print(
            f"imported {result.result_code} ({result.state.value}); its QR now answers "
            f"from the registry: {result.seal_url}"
        )
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse has printed its one line (or --help): return, not raise
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    _quiet_libraries()
    try:
        if args.command == "keys":
            return _keys_init(args) if args.keys_command == "init" else _trust_signer(args)
        if args.command == "serve":
            return _serve(args)
        if args.command == "apikey":
            return _apikey(args)
        if args.command == "results":
            return _results(args)
        if args.command == "import":
            return _import(args)
        if args.command == "user":
            return _user(args)
        if args.command == "migrate":
            return _migrate(args)
        if args.command == "verify":
            return _verify(args)
        return _sign(args, parser)
    except InputError as exc:
        return _fail(describe(exc, FLAGS.get(args.command)))
    except KetquaError as exc:  # the input was fine; signing failed (a server, a token)
        return _fail(describe(exc, FLAGS.get(args.command)), EXIT_FAILED)
    except OSError as exc:  # a file-system failure no layer below turned into a KetquaError
        where = f"{exc.filename}: " if exc.filename else ""
        return _fail(f"{where}{exc.strerror or exc}")
    except KeyboardInterrupt:
        return 130


def _fail(message: str, code: int = EXIT_USAGE) -> int:
    # exactly one line, whatever a lower layer put in the message
    print(f"ketqua: error: {' '.join(message.split())}", file=sys.stderr)
    return code


def _quiet_libraries() -> None:
    """Keep pyHanko's log warnings (lenient parsing of odd PDFs) off stderr.

    With no handler configured, Python prints WARNING records to stderr as
    they come, which would break the one-line error contract. An application
    that configured logging (a handler on the root logger) keeps its records.
    """
    if not logging.getLogger().handlers:
        for name in ("pyhanko", "pyhanko_certvalidator"):
            logger = logging.getLogger(name)
            if not logger.handlers:
                logger.addHandler(logging.NullHandler())


def _keys_init(args: argparse.Namespace) -> int:
    from keys import devpki

    settings = load_settings()
    keydir = devpki.init_keydir(
        args.dir.absolute() if args.dir else settings.keys_dir,
        agency_name=args.agency_name or devpki.DEFAULT_AGENCY_NAME,
        agency_code=args.agency_code or devpki.DEFAULT_AGENCY_CODE,
        passphrase_file=args.passphrase_file,
        passphrase=settings.passphrase,
        ocsp_url=args.ocsp_url,
        crl_url=args.crl_url,
        force=args.force,
    )
    print(f"development PKI written to {keydir.root}")
    print(f"verifier material (public only): {keydir.public}")
    return EXIT_OK


def _trust_signer(args: argparse.Namespace) -> int:
    from cryptography import x509

    from keys.keydir import KeyDir
    from keys.trust import list_signing_certificate

    keydir = KeyDir(args.dir.absolute() if args.dir else load_settings().keys_dir)
    path = args.cert or keydir.signing_cert
    try:
        certificate = x509.load_pem_x509_certificate(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read the certificate {path}: {exc}", field="cert") from exc
    added = list_signing_certificate(keydir.trust_list, certificate, args.agency_code)
    print(
        f"listed {certificate.subject.rfc4514_string()} (SHA-256 {added.fingerprint[:16]}...) "
        f"for {added.agency_code} in {keydir.trust_list}"
    )
    return EXIT_OK


def _serve(args: argparse.Namespace) -> int:
    from ketqua.serve import Role, run

    settings = load_settings(args.config, home=args.home)
    return run(settings, Role(args.role))


def _verify(args: argparse.Namespace) -> int:
    from keys.anchors import load_anchors
    from keys.keydir import KeyDir
    from verifier import offline

    settings = load_settings()
    source = args.trust_list or str(KeyDir(settings.keys_dir).trust_list)
    trust = offline.load_trust_list(source)
    anchors = load_anchors([*settings.trust_anchors, *(args.trust_anchor or [])])
    lang = args.lang or language()
    if args.pdf is not None:
        try:
            data = args.pdf.read_bytes()
        except OSError as exc:
            raise InputError(f"cannot read {args.pdf}: {exc.strerror}") from exc
        outcome = offline.verify_pdf(data, trust, lang, anchors)
    else:
        text = args.qr if args.qr is not None else offline.qr_in_image(args.image)
        outcome = offline.verify_qr(text, trust, lang)
    print(offline.as_json(outcome) if args.json else "\n".join(outcome.lines))
    return EXIT_OK if outcome.valid else EXIT_FAILED


def _migrate(args: argparse.Namespace) -> int:
    import asyncio

    from registry.database import current_revision, open_database, upgrade
    from registry.roles import READER_TABLES, grant_reader

    settings = load_settings(args.config, home=args.home)

    async def act() -> int:
        db = open_database(settings.database)
        try:
            await upgrade(db)
            print(f"database schema at {await current_revision(db)}")
            if args.grant_reader is not None:
                await db.write(grant_reader, args.grant_reader)
                tables = ", ".join(READER_TABLES)
                print(f"role {args.grant_reader} may read {tables}, and nothing else")
        finally:
            await db.close()
        return EXIT_OK

    return asyncio.run(act())


def _apikey(args: argparse.Namespace) -> int:
    import asyncio

    from registry import apikeys
    from registry.database import open_database, upgrade

    settings = load_settings(args.config, home=args.home)

    async def act() -> int:
        db = open_database(settings.database)
        try:
            await upgrade(db)
            if args.apikey_command == "create":
                if args.expires_days < 0:
                    raise InputError("must be 0 (never) or more days", field="expires_days")
                lifetime = timedelta(days=args.expires_days) if args.expires_days else None
                key, plain = await apikeys.create_api_key(
                    db, args.name, tuple(args.agency or ()), lifetime
                )
                acts_for = ", ".join(key.agencies) or "the agency of the signer it talks to"
                runs_out = (
                    f"runs out {day(key.expires_at)}" if key.expires_at else "never runs out"
                )
                print(
                    f"API key {key.name!r} created for {acts_for} "
                    f"(prefix {key.prefix}; {runs_out}); it is shown once:"
                )
                print(plain)
            elif args.apikey_command == "revoke":
                key = await apikeys.revoke_api_key(db, args.name)
                print(f"API key {key.name!r} revoked")
            else:
                for key in await apikeys.list_api_keys(db):
                    if key.revoked_at:
                        state = f"revoked {day(key.revoked_at)}"
                    elif key.expired:
                        state = f"ran out {day(key.expires_at)}" if key.expires_at else ""
                    else:
                        state = "active"
                    acts_for = ",".join(key.agencies) or "the signer's agency"
                    expires = f"runs out {day(key.expires_at)}" if key.expires_at else "never"
                    used = f"last used {day(key.last_used_at)}" if key.last_used_at else "unused"
                    print(
                        f"{key.name}\t{key.prefix}\t{acts_for}\t"
                        f"created {day(key.created_at)}\t{state}\t{expires}\t{used}\t"
                        f"id {key.id}"  # the actor in results' histories
                    )
        finally:
            await db.close()
        return EXIT_OK

    return asyncio.run(act())


def _runtime_config(args: argparse.Namespace) -> RuntimeConfig:
    """The flags over the settings (environment, ``--config``), through the one builder."""
    from ketqua.signing import runtime_config

    settings = load_settings(
        args.config,
        flags=FLAGS["sign"],
        keys=args.keys,
        key_passphrase_file=args.passphrase_file,
        pkcs11_module=args.pkcs11_module,
        pkcs11_token=args.pkcs11_token,
        pkcs11_key=args.pkcs11_key,
        pkcs11_pin_file=args.pkcs11_pin_file,
        public_url=args.public_url,
        tsa_url=args.tsa_url,
        seal_image=args.seal_image,
        seal_size_mm=args.seal_size,
        seal_field=args.seal_field,
        seal_position=args.seal_position,
        max_document_mb=args.max_size,
        pades_level=args.level,
    )
    return runtime_config(settings, _placement(args))


def _placement(args: argparse.Namespace) -> Placement:
    from signer.placement import Placement

    x = y = None
    if args.position:
        try:
            x, y = (float(v) for v in args.position.split(","))
        except ValueError:
            raise InputError("--position must be X,Y in points, e.g. 300,40") from None
    if args.page == 0:
        raise InputError("--page is 1-based (or -1 for the last page)")
    return Placement(page=args.page - 1 if args.page > 0 else args.page, x=x, y=y)


def _as_copy(metadata: bytes, args: argparse.Namespace) -> bytes:
    """The metadata with the copy mode of ``--copy``/``--original`` (Decree 30, Part II)."""
    if args.copy is None and args.original is None:
        return metadata
    if args.copy is None or args.original is None:
        raise InputError("an electronic copy needs both --copy FORM and --original TEXT")
    try:
        data = json.loads(metadata)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return metadata  # the parser says what is wrong with it, naming the field
    if isinstance(data, dict):
        data["copy"] = {"form": args.copy, "original": args.original}
    return json.dumps(data, ensure_ascii=False).encode()


def _sign(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from plumbing.files import write_atomic
    from signer.metadata import parse_metadata
    from signer.pdfinput import read_pdf
    from signer.runtime import SigningRuntime, freeze_prepared_state

    config = _runtime_config(args)
    if args.input.is_dir():
        if args.metadata is not None or args.copy is not None:
            raise InputError(
                "--metadata and --copy are for one file; in a folder each X.pdf has its X.json"
            )
        return _sign_folder(args, config)
    if args.metadata is None:
        raise InputError("--metadata META.json is required to sign one file")
    if args.jobs is not None:
        raise InputError("--jobs applies to a folder; one file is signed by one process")
    data = read_pdf(args.input, max_bytes=config.options.max_bytes)
    try:
        metadata_bytes = args.metadata.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {args.metadata}: {exc.strerror}") from exc
    metadata = parse_metadata(_as_copy(metadata_bytes, args))
    with SigningRuntime(config) as runtime:
        freeze_prepared_state()
        result = runtime.sign(data, metadata)
    try:
        write_atomic(args.output, result.pdf)
    except OSError as exc:
        raise InputError(f"cannot write {args.output}: {exc.strerror}") from exc
    summary = {
        "output": str(args.output),
        "level": str(result.level),
        "signed_at": result.signed_at.isoformat(),
        "verification_code": result.verification_code,
        "seal_url": result.seal_url,
        "sha256": result.sha256,
        # signed here, recorded nowhere: the verifier knows only what the service issued
        "registered": False,
    }
    if args.json:
        print(json.dumps(summary, ensure_ascii=False, indent=2))
    else:
        print(
            f"signed {args.output} (PAdES {result.level}, signed at {moment(result.signed_at)}, "
            f"verification code {result.verification_code})"
        )
        print(NOT_REGISTERED, file=sys.stderr)
    return EXIT_OK


NOT_REGISTERED = (
    "note: this document is in no registry: its QR seal is genuine, but the verifier answers "
    "'not found' (unknown) for it; results people will check are issued through ketqua serve"
)


def _sign_folder(args: argparse.Namespace, config: RuntimeConfig) -> int:
    from signer.batch import FileOutcome, find_inputs, sign_folder

    if args.output.exists() and not args.output.is_dir():
        raise InputError(f"{args.output} is a file; a folder input needs an output folder")
    inputs = find_inputs(args.input)
    if not inputs:
        raise InputError(f"no PDF files in {args.input}")
    config.keys.load().close()  # fail fast, once, on a wrong key or passphrase

    bar = None
    if sys.stderr.isatty():
        from tqdm import tqdm

        bar = tqdm(total=len(inputs), unit="doc", file=sys.stderr)

    def report(outcome: FileOutcome) -> None:
        if bar is not None:
            bar.update(1)
        else:
            state = "ok" if outcome.error is None else "FAILED"
            print(f"{state} {outcome.source.name}", file=sys.stderr, flush=True)

    outcomes = sign_folder(args.input, args.output, config, jobs=args.jobs, on_done=report)
    if bar is not None:
        bar.close()
    failed = [o for o in outcomes if o.error is not None]
    if args.json:
        summary = {
            "output": str(args.output),
            "signed": [
                {"input": o.source.name, "output": str(o.output)}
                for o in outcomes
                if o.error is None
            ],
            "failed": [{"input": o.source.name, "error": o.error} for o in failed],
        }
        print(json.dumps(summary, ensure_ascii=False, indent=2))
    else:
        print(f"signed {len(outcomes) - len(failed)} of {len(outcomes)} into {args.output}")
        for outcome in failed:
            print(f"failed {outcome.source.name}: {outcome.error}")
        if len(failed) < len(outcomes):
            print(NOT_REGISTERED, file=sys.stderr)
    return EXIT_FAILED if failed else EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
