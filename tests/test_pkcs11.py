"""The document-signing key on a real PKCS#11 token (SoftHSM2), RSA-2048 and ECDSA P-256.

A module fixture makes a throwaway SoftHSM2 token (its own ``SOFTHSM2_CONF``
and token folder), issues two certificates from the ``keydir`` fixture's
issuing CA, imports the keys with ``softhsm2-util`` and the certificates
with ``pkcs11-tool`` and deletes the PEM files: from then on the private
keys exist only inside the token. No mocks: every signature is made by
SoftHSM2 and checked by pyHanko, poppler's pdfsig and MuPDF.
"""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any, Literal

import pkcs11
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import pkcs11 as pyhanko_pkcs11
from pyhanko.sign.validation.status import SignatureCoverageLevel

from ketqua.cli import NOT_REGISTERED, main
from keys.devpki import Issued, issue_document_signing
from keys.keydir import KeyDir, read_passphrase
from keys.token import TokenSpec
from signer.document import SignedResult, SignOptions
from signer.metadata import ResultMetadata, parse_metadata
from signer.runtime import KeySource, RuntimeConfig, SigningRuntime
from tests.pdfs import example_metadata
from tests.service import PUBLIC_URL
from tests.validators import mutool_verify, pdfsig, pyhanko_statuses

MODULE = Path("/usr/lib/softhsm/libsofthsm2.so")
TOKEN_LABEL = "ketqua-test"
USER_PIN = "246810"
PIN_VARIABLE = "KETQUA_PKCS11_PIN"
SO_PIN = "13579111"
AGENCY = "Ủy ban nhân dân huyện Vân Đồn"

Kind = Literal["rsa", "ec"]
KINDS: tuple[Kind, ...] = ("rsa", "ec")
KEY_LABELS: dict[Kind, str] = {"rsa": "doc-rsa", "ec": "doc-ec"}
KEY_IDS: dict[Kind, str] = {"rsa": "01", "ec": "02"}


@dataclass(frozen=True)
class SoftHsm:
    """A SoftHSM2 token holding an RSA and an EC document key, each with its certificate."""

    token_label: str
    pin_file: Path
    certs: dict[Kind, x509.Certificate]

    def spec(self, kind: Kind, **changes: Any) -> TokenSpec:
        fields: dict[str, Any] = {
            "module": MODULE,
            "token_label": self.token_label,
            "key_label": KEY_LABELS[kind],
            "pin_file": self.pin_file,
        }
        fields.update(changes)
        return TokenSpec(**fields)


def _run(*argv: str | Path) -> None:
    result = subprocess.run([str(a) for a in argv], capture_output=True, text=True, check=False)
    assert result.returncode == 0, f"{argv[0]} failed: {result.stdout}{result.stderr}"


def _issue(
    keydir: KeyDir, key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey, common_name: str
) -> x509.Certificate:
    """A document-signing certificate from the key folder's issuing CA (as devpki makes them)."""
    ca_key = serialization.load_pem_private_key(
        keydir.issuing_ca_key.read_bytes(), read_passphrase(keydir)
    )
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    ca_cert = x509.load_pem_x509_certificate(keydir.issuing_ca_cert.read_bytes())
    issued = issue_document_signing(
        Issued(ca_cert, ca_key), key, common_name=common_name, organization=AGENCY, days=365
    )
    return issued.cert


def _forget_module() -> None:
    # python-pkcs11 keeps one initialised library per path; SoftHSM2 reads
    # SOFTHSM2_CONF only in C_Initialize, so start and end with a fresh one.
    for path in {str(MODULE), str(MODULE.resolve())}:
        pkcs11.unload(path)


@pytest.fixture(scope="module")
def hsm(tmp_path_factory: pytest.TempPathFactory, keydir: KeyDir) -> Iterator[SoftHsm]:
    from keys import token as token_module

    root = tmp_path_factory.mktemp("softhsm")
    (root / "tokens").mkdir()
    conf = root / "softhsm2.conf"
    conf.write_text(
        f"directories.tokendir = {root / 'tokens'}\n"
        "objectstore.backend = file\n"
        "log.level = ERROR\n"
    )
    pin_file = root / "pin"
    pin_file.write_text(USER_PIN + "\n")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SOFTHSM2_CONF", str(conf))
        mp.delenv(PIN_VARIABLE, raising=False)
        _forget_module()
        _run("softhsm2-util", "--init-token", "--free", "--label", TOKEN_LABEL,
             "--so-pin", SO_PIN, "--pin", USER_PIN)  # fmt: skip
        keys: dict[Kind, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey] = {
            "rsa": rsa.generate_private_key(public_exponent=65537, key_size=2048),
            "ec": ec.generate_private_key(ec.SECP256R1()),
        }
        certs: dict[Kind, x509.Certificate] = {}
        for kind, key in keys.items():
            label, key_id = KEY_LABELS[kind], KEY_IDS[kind]
            certs[kind] = _issue(keydir, key, f"{AGENCY} (token {kind.upper()})")
            pem, der = root / f"{label}.pem", root / f"{label}.der"
            pem.write_bytes(
                key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
            )
            der.write_bytes(certs[kind].public_bytes(serialization.Encoding.DER))
            _run("softhsm2-util", "--import", pem, "--token", TOKEN_LABEL, "--label", label,
                 "--id", key_id, "--pin", USER_PIN)  # fmt: skip
            _run("pkcs11-tool", "--module", MODULE, "--token-label", TOKEN_LABEL, "--login",
                 "--pin", USER_PIN, "--write-object", der, "--type", "cert", "--id", key_id,
                 "--label", label)  # fmt: skip
            pem.unlink()  # from here on the private key exists only inside the token
        yield SoftHsm(TOKEN_LABEL, pin_file, certs)
        leaked = dict(token_module._logins)
        _forget_module()
    assert not leaked, f"token logins left open: {leaked}"


def _config(keydir: KeyDir, spec: TokenSpec) -> RuntimeConfig:
    return RuntimeConfig(KeySource(keydir.root, None, spec), SignOptions(public_url=PUBLIC_URL))


def _metadata() -> ResultMetadata:
    return parse_metadata(json.dumps(example_metadata()))


def _signature_certificate(data: bytes) -> x509.Certificate:
    (sig,) = PdfFileReader(BytesIO(data), strict=False).embedded_signatures
    return x509.load_der_x509_certificate(sig.signer_cert.dump())


def _assert_valid(
    data: bytes, cert: x509.Certificate, roots: list[x509.Certificate], nssdb: Path, path: Path
) -> None:
    """pyHanko, pdfsig and mutool accept it, and it was signed with ``cert``'s key."""
    (status,) = pyhanko_statuses(data, roots)
    assert status.bottom_line, status.pretty_print_details()
    assert status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    assert _signature_certificate(data) == cert
    path.write_bytes(data)
    (sig,) = pdfsig(path, nssdb)
    assert sig.valid, sig.raw
    assert sig.trusted, sig.raw
    assert sig.total_document, sig.raw
    assert sig.common_name == cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    report = mutool_verify(path)
    assert "The document is unchanged since signing." in report, report


@dataclass(frozen=True)
class TokenSigned:
    kind: Kind
    result: SignedResult
    signer_type: type
    token_cert: x509.Certificate


@pytest.fixture(scope="module", params=KINDS)
def token_signed(
    request: pytest.FixtureRequest, hsm: SoftHsm, keydir: KeyDir, example_pdf: bytes
) -> TokenSigned:
    kind: Kind = request.param
    with SigningRuntime(_config(keydir, hsm.spec(kind))) as runtime:
        signer_type = type(runtime.keys.document_signer)
        result = runtime.sign(example_pdf, _metadata())
    return TokenSigned(kind, result, signer_type, hsm.certs[kind])


def test_the_document_key_is_on_the_token_and_the_signature_validates(
    token_signed: TokenSigned,
    keydir: KeyDir,
    roots: list[x509.Certificate],
    nssdb: Path,
    tmp_path: Path,
) -> None:
    assert issubclass(token_signed.signer_type, pyhanko_pkcs11.PKCS11Signer)
    cert = token_signed.token_cert
    _assert_valid(token_signed.result.pdf, cert, roots, nssdb, tmp_path / "signed.pdf")
    # the token's certificate, not the key folder's signing.p12 one
    assert cert != x509.load_pem_x509_certificate(keydir.signing_cert.read_bytes())
    assert token_signed.result.signer_fingerprint == cert.fingerprint(hashes.SHA256()).hex()


def test_the_signature_algorithm_matches_the_token_key(token_signed: TokenSigned) -> None:
    (sig,) = PdfFileReader(BytesIO(token_signed.result.pdf), strict=False).embedded_signatures
    algorithm = sig.signer_info["signature_algorithm"].signature_algo
    assert algorithm == {"rsa": "rsassa_pkcs1v15", "ec": "ecdsa"}[token_signed.kind]
    assert sig.md_algorithm == "sha256"
    public = token_signed.token_cert.public_key()
    if token_signed.kind == "ec":
        assert isinstance(public, ec.EllipticCurvePublicKey)
        assert public.curve.name == "secp256r1"
    else:
        assert isinstance(public, rsa.RSAPublicKey)
        assert public.key_size == 2048


# -- the command line -------------------------------------------------------------------------


def _cli_args(pdf: Path, out: Path, meta: Path, keydir: KeyDir, spec: TokenSpec) -> list[str]:
    args = [
        "sign", str(pdf), "-o", str(out), "--metadata", str(meta), "--keys", str(keydir.root),
        "--pkcs11-module", str(spec.module), "--pkcs11-token", spec.token_label,
        "--pkcs11-key", spec.key_label,
    ]  # fmt: skip
    if spec.pin_file is not None:
        args += ["--pkcs11-pin-file", str(spec.pin_file)]
    return args


@pytest.mark.parametrize("kind", KINDS)
def test_cli_signs_with_the_token(
    kind: Kind,
    hsm: SoftHsm,
    keydir: KeyDir,
    pdf_file: Path,
    metadata_file: Path,
    roots: list[x509.Certificate],
    nssdb: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    spec = hsm.spec(kind)
    if kind == "ec":  # the PIN from the environment instead of a file
        monkeypatch.setenv(PIN_VARIABLE, USER_PIN)
        spec = hsm.spec(kind, pin_file=None)
    out = tmp_path / "out" / "signed.pdf"
    out.parent.mkdir()
    code = main(_cli_args(pdf_file, out, metadata_file, keydir, spec))
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert captured.err.strip() == NOT_REGISTERED  # the one note: in no registry yet
    assert captured.out.startswith(f"signed {out}")
    _assert_valid(out.read_bytes(), hsm.certs[kind], roots, nssdb, tmp_path / "check.pdf")


def test_cli_signs_a_folder_with_the_token_in_worker_processes(
    hsm: SoftHsm,
    keydir: KeyDir,
    example_pdf: bytes,
    roots: list[x509.Certificate],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # each worker of the batch's process pool opens the token itself
    indir, outdir = tmp_path / "in", tmp_path / "out"
    indir.mkdir()
    names = [f"ket-qua-{n}" for n in range(3)]
    for name in names:
        (indir / f"{name}.pdf").write_bytes(example_pdf)
        (indir / f"{name}.json").write_text(json.dumps(example_metadata()), encoding="utf-8")
    args = _cli_args(indir, outdir, indir / "unused.json", keydir, hsm.spec("ec"))
    args[args.index("--metadata") : args.index("--metadata") + 2] = ["--jobs", "2"]
    code = main(args)
    captured = capsys.readouterr()
    assert code == 0, captured
    assert sorted(p.name for p in outdir.iterdir()) == [f"{n}.signed.pdf" for n in names]
    for name in names:
        data = (outdir / f"{name}.signed.pdf").read_bytes()
        (status,) = pyhanko_statuses(data, roots)
        assert status.bottom_line, status.pretty_print_details()
        assert _signature_certificate(data) == hsm.certs["ec"]


ErrorCase = Callable[[SoftHsm, Path], tuple[TokenSpec, str]]


def _wrong_pin(hsm: SoftHsm, tmp: Path) -> tuple[TokenSpec, str]:
    pin = tmp / "wrong-pin"
    pin.write_text("000000\n")
    return hsm.spec("rsa", pin_file=pin), "PIN"


def _no_pin(hsm: SoftHsm, tmp: Path) -> tuple[TokenSpec, str]:
    return hsm.spec("rsa", pin_file=None), PIN_VARIABLE


def _unknown_token(hsm: SoftHsm, tmp: Path) -> tuple[TokenSpec, str]:
    return hsm.spec("rsa", token_label="no-such-token"), "'no-such-token'"


def _unknown_key(hsm: SoftHsm, tmp: Path) -> tuple[TokenSpec, str]:
    return hsm.spec("rsa", key_label="no-such-key"), "'no-such-key'"


def _missing_module(hsm: SoftHsm, tmp: Path) -> tuple[TokenSpec, str]:
    module = tmp / "no-such-pkcs11.so"
    return hsm.spec("rsa", module=module), str(module)


ERROR_CASES: dict[str, ErrorCase] = {
    "wrong-pin": _wrong_pin,
    "no-pin": _no_pin,
    "unknown-token": _unknown_token,
    "unknown-key": _unknown_key,
    "missing-module": _missing_module,
}


def _assert_cli_refuses(
    case: str,
    hsm: SoftHsm,
    keydir: KeyDir,
    pdf: Path,
    meta: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    spec, mentions = ERROR_CASES[case](hsm, tmp_path)
    out_dir = tmp_path / f"out-{case}"
    out_dir.mkdir()
    code = main(_cli_args(pdf, out_dir / "signed.pdf", meta, keydir, spec))
    captured = capsys.readouterr()
    assert code == 2, captured
    assert captured.out == ""
    assert captured.err.startswith("ketqua: error: ")
    assert captured.err.endswith("\n")
    assert captured.err.count("\n") == 1, captured.err
    assert mentions in captured.err
    assert USER_PIN not in captured.err
    assert list(out_dir.iterdir()) == []


@pytest.mark.parametrize("case", list(ERROR_CASES))
def test_cli_token_errors_exit_2_with_one_line(
    case: str,
    hsm: SoftHsm,
    keydir: KeyDir,
    pdf_file: Path,
    metadata_file: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _assert_cli_refuses(case, hsm, keydir, pdf_file, metadata_file, tmp_path, capsys)


# -- sessions and logins ----------------------------------------------------------------------


class _CountingKey:
    """Forwards to the token's private-key object, counting C_Sign calls."""

    def __init__(self, key: Any) -> None:
        self.key = key
        self.signatures = 0

    def sign(self, data: bytes, **kwargs: Any) -> bytes:
        self.signatures += 1
        result: bytes = self.key.sign(data, **kwargs)
        return result


def test_three_documents_one_login_one_key_lookup(
    hsm: SoftHsm,
    keydir: KeyDir,
    example_pdf: bytes,
    metadata: ResultMetadata,
    roots: list[x509.Certificate],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sessions: list[object] = []
    logins: list[object] = []
    real_open = pyhanko_pkcs11.open_pkcs11_session

    def counting_open(*args: Any, **kwargs: Any) -> Any:
        session = real_open(*args, **kwargs)  # the real C_OpenSession (+ C_Login with a PIN)
        sessions.append(session)
        if kwargs.get("user_pin") is not None:
            logins.append(session)
        return session

    monkeypatch.setattr(pyhanko_pkcs11, "open_pkcs11_session", counting_open)
    with SigningRuntime(_config(keydir, hsm.spec("ec"))) as runtime:
        assert (len(sessions), len(logins)) == (1, 1)
        opened = runtime.keys.token
        assert opened is not None
        signer = runtime.keys.document_signer
        assert isinstance(signer, pyhanko_pkcs11.PKCS11Signer)
        key = _CountingKey(signer._key_handle)  # the handle found when the runtime was built
        signer._key_handle = key  # type: ignore[assignment]
        outputs = [runtime.sign(example_pdf, metadata).pdf for _ in range(3)]
        assert runtime.keys.token is opened
        assert runtime.keys.document_signer is signer
        assert opened.session is logins[0]
    assert (len(sessions), len(logins)) == (1, 1)
    assert key.signatures == 3  # one token signature per document, no trial signatures
    assert len(set(outputs)) == 3
    for data in outputs:
        (status,) = pyhanko_statuses(data, roots)
        assert status.bottom_line, status.pretty_print_details()


def test_runtimes_on_one_token_share_its_login(
    hsm: SoftHsm,
    keydir: KeyDir,
    example_pdf: bytes,
    metadata: ResultMetadata,
    roots: list[x509.Certificate],
) -> None:
    # PKCS#11 logs in per process and token, and C_Logout logs out every
    # session: a second runtime must neither fail to log in nor, on close,
    # log the first one out.
    first = SigningRuntime(_config(keydir, hsm.spec("rsa")))
    try:
        with SigningRuntime(_config(keydir, hsm.spec("ec"))) as second:
            results: dict[str, bytes] = {}

            def sign(name: str, runtime: SigningRuntime) -> None:
                # several rounds: concurrent token calls from two threads crashed
                # python-pkcs11 now and then before token calls were serialised
                for _ in range(16):
                    results[name] = runtime.sign(example_pdf, metadata).pdf

            threads = [
                threading.Thread(target=sign, args=("first", first)),
                threading.Thread(target=sign, args=("second", second)),
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            assert set(results) == {"first", "second"}
        after_close = first.sign(example_pdf, metadata).pdf
    finally:
        first.close()
    with SigningRuntime(_config(keydir, hsm.spec("rsa"))) as again:  # logs in afresh
        fresh = again.sign(example_pdf, metadata).pdf
    checks: list[tuple[bytes, Kind]] = [
        (results["first"], "rsa"),
        (results["second"], "ec"),
        (after_close, "rsa"),
        (fresh, "rsa"),
    ]
    for data, kind in checks:
        (status,) = pyhanko_statuses(data, roots)
        assert status.bottom_line, status.pretty_print_details()
        assert _signature_certificate(data) == hsm.certs[kind]


def test_cli_while_a_runtime_holds_the_token(
    hsm: SoftHsm,
    keydir: KeyDir,
    pdf_file: Path,
    metadata_file: Path,
    example_pdf: bytes,
    metadata: ResultMetadata,
    roots: list[x509.Certificate],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with SigningRuntime(_config(keydir, hsm.spec("rsa"))) as held:
        _assert_cli_refuses("wrong-pin", hsm, keydir, pdf_file, metadata_file, tmp_path, capsys)
        # the same module by its real path, not the symlink: still the one library and login
        spec = hsm.spec("ec", module=MODULE.resolve())
        out = tmp_path / "signed.pdf"
        assert main(_cli_args(pdf_file, out, metadata_file, keydir, spec)) == 0
        capsys.readouterr()
        data = held.sign(example_pdf, metadata).pdf
    (status,) = pyhanko_statuses(data, roots)
    assert status.bottom_line, status.pretty_print_details()
    (status,) = pyhanko_statuses(out.read_bytes(), roots)
    assert status.bottom_line, status.pretty_print_details()


def test_a_token_that_fails_mid_run_is_a_signing_failure_not_a_crash(
    hsm: SoftHsm, keydir: KeyDir, example_pdf: bytes, metadata: ResultMetadata
) -> None:
    from keys.errors import TokenFailure

    with SigningRuntime(_config(keydir, hsm.spec("rsa"))) as runtime:
        runtime.sign(example_pdf, metadata)
        token = runtime.keys.token
        assert token is not None
        token.close()  # as if the USB token were pulled out
        with pytest.raises(TokenFailure, match="the token failed while signing"):
            runtime.sign(example_pdf, metadata)
