"""The ``ketqua`` command line: ``keys init`` and ``sign`` (one file or a folder).

Most cases call ``main()`` in-process and read what it printed; a few run the
installed console script to prove the entry point and what a user really sees
on stderr (no handler-less library logging, no traceback).
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import re
import socket
import stat
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import load_pem_private_key, pkcs12

from ketqua.cli import NOT_REGISTERED, main
from keys.keydir import KeyDir
from tests.pdfs import example_metadata, minimal_pdf
from tests.validators import pdfsig, read_qr

KETQUA = Path(sys.executable).parent / "ketqua"


# only what a test sets reaches its commands and services
pytestmark = pytest.mark.usefixtures("clean_environment")


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str

    @property
    def err_lines(self) -> list[str]:
        return self.err.splitlines()


def ketqua(capsys: pytest.CaptureFixture[str], *args: str | Path) -> Run:
    capsys.readouterr()  # drop whatever a fixture printed
    code = main([str(arg) for arg in args])
    out, err = capsys.readouterr()
    return Run(code, out, err)


def console(*args: str | Path, cwd: Path) -> Run:
    """The installed ``ketqua`` script, as a user runs it (no KETQUA_* variables)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KETQUA_")}
    done = subprocess.run(
        [str(KETQUA), *(str(arg) for arg in args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=120,
        check=False,
    )
    return Run(done.returncode, done.stdout, done.stderr)


def listing(folder: Path) -> list[str]:
    """Every name in ``folder``, hidden temp files included."""
    return sorted(p.name for p in folder.iterdir())


def write_metadata(path: Path, **changes: object) -> Path:
    data = copy.deepcopy(example_metadata())
    data.update(changes)
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def assert_valid_signature(path: Path, nssdb: Path) -> None:
    (sig,) = pdfsig(path, nssdb)
    assert sig.valid, sig.raw
    assert sig.trusted, sig.raw
    assert sig.total_document, sig.raw


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# --- keys init ---------------------------------------------------------------------------------

PRIVATE = ("signing.p12", "seal.p12", "root-ca.key.pem", "issuing-ca.key.pem")
PUBLIC = ("root-ca.pem", "issuing-ca.pem", "signing.pem", "seal.pem", "trust-list.json")


def test_keys_init_writes_encrypted_private_keys_0600_and_public_material(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "keys"
    run = ketqua(capsys, "keys", "init", "--dir", root)
    assert run.code == 0, run.err
    assert run.err == ""

    passphrase = (root / "passphrase").read_bytes().strip()
    assert len(passphrase) >= 32
    assert passphrase.decode() not in run.out
    assert mode(root / "passphrase") == 0o600
    assert mode(root) == 0o700
    for name in PRIVATE:
        assert mode(root / name) == 0o600, name
    for name in PUBLIC:
        assert mode(root / "public" / name) == 0o644, name
    assert sorted(listing(root / "public")) == sorted(PUBLIC)
    assert json.loads((root / "public" / "trust-list.json").read_text())

    # encrypted: nothing opens without the passphrase, everything opens with it
    for name in ("signing.p12", "seal.p12"):
        data = (root / name).read_bytes()
        with pytest.raises(ValueError, match=r"(?i)password|invalid"):
            pkcs12.load_key_and_certificates(data, None)
        key, cert, _ = pkcs12.load_key_and_certificates(data, passphrase)
        assert key is not None
        assert cert is not None
    for name in ("root-ca.key.pem", "issuing-ca.key.pem"):
        pem = (root / name).read_bytes()
        assert pem.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
        with pytest.raises(TypeError, match="encrypted"):
            load_pem_private_key(pem, None)
        load_pem_private_key(pem, passphrase)


def test_keys_init_refuses_to_overwrite_without_force(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "keys"
    assert ketqua(capsys, "keys", "init", "--dir", root).code == 0
    before = {name: (root / name).read_bytes() for name in (*PRIVATE, "passphrase")}

    run = ketqua(capsys, "keys", "init", "--dir", root)
    assert run.code == 2
    (line,) = run.err_lines
    assert line.startswith("ketqua: error: ")
    assert "--force" in line
    assert {name: (root / name).read_bytes() for name in before} == before

    run = ketqua(capsys, "keys", "init", "--dir", root, "--force")
    assert run.code == 0, run.err
    assert (root / "signing.p12").read_bytes() != before["signing.p12"]
    # the folder's passphrase is kept and opens the new keys
    assert (root / "passphrase").read_bytes() == before["passphrase"]
    pkcs12.load_key_and_certificates(
        (root / "signing.p12").read_bytes(), before["passphrase"].strip()
    )


def test_keys_init_takes_the_passphrase_from_the_environment(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "môi-trường-passphrase-5150"
    monkeypatch.setenv("KETQUA_KEY_PASSPHRASE", secret)
    root = tmp_path / "keys"
    run = ketqua(capsys, "keys", "init", "--dir", root)
    assert run.code == 0, run.err
    assert secret not in run.out + run.err
    assert not (root / "passphrase").exists()
    pkcs12.load_key_and_certificates((root / "seal.p12").read_bytes(), secret.encode())


def test_keys_init_takes_the_passphrase_from_a_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    secret_file = tmp_path / "secret"
    secret_file.write_text("from-a-file-8765\n")
    root = tmp_path / "keys"
    run = ketqua(capsys, "keys", "init", "--dir", root, "--passphrase-file", secret_file)
    assert run.code == 0, run.err
    assert "from-a-file-8765" not in run.out + run.err
    assert not (root / "passphrase").exists()
    pkcs12.load_key_and_certificates((root / "signing.p12").read_bytes(), b"from-a-file-8765")


def test_keys_init_with_a_missing_passphrase_file_writes_no_keys(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "keys"
    run = ketqua(capsys, "keys", "init", "--dir", root, "--passphrase-file", tmp_path / "nope")
    assert run.code == 2
    (line,) = run.err_lines
    assert "nope" in line
    assert not (root / "signing.p12").exists()


# --- sign one file -----------------------------------------------------------------------------


def test_sign_one_file(
    keydir: KeyDir,
    nssdb: Path,
    pdf_file: Path,
    metadata_file: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "out" / "signed.pdf"
    out.parent.mkdir()
    run = ketqua(
        capsys, "sign", pdf_file, "-o", out, "--metadata", metadata_file, "--keys", keydir.root
    )
    assert run.code == 0, run.err
    # the one line on stderr says the QR will not be found: the file is in no registry
    assert run.err_lines == [NOT_REGISTERED]
    assert run.out.startswith(f"signed {out} (PAdES B-B, signed at ")
    assert re.search(r"signed at \d\d/\d\d/\d{4} \d\d:\d\d:\d\d, verification code ", run.out)
    assert listing(out.parent) == ["signed.pdf"]
    assert_valid_signature(out, nssdb)
    # the input's bytes are the signed file's prefix (incremental update)
    assert out.read_bytes().startswith(pdf_file.read_bytes())


def test_sign_json_summary_describes_the_output(
    keydir: KeyDir,
    pdf_file: Path,
    metadata_file: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "signed.pdf"
    run = ketqua(
        capsys,
        "sign",
        pdf_file,
        "-o",
        out,
        "--metadata",
        metadata_file,
        "--keys",
        keydir.root,
        "--public-url",
        "https://ketqua.example.vn",
        "--json",
    )
    assert run.code == 0, run.err
    summary = json.loads(run.out)
    assert summary["output"] == str(out)
    assert summary["level"] == "B-B"
    assert summary["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
    assert summary["seal_url"].startswith("HTTPS://KETQUA.EXAMPLE.VN/V/")
    assert len(summary["verification_code"]) == 11


@dataclass(frozen=True)
class Inputs:
    """A good PDF, metadata and key folder, and an empty output folder, for one bad-input case."""

    tmp: Path
    pdf: Path
    metadata: Path
    keys: Path
    out: Path

    def bad_pdf(self, data: bytes) -> Path:
        path = self.tmp / "bad.pdf"
        path.write_bytes(data)
        return path

    def sign(self, *extra: str | Path, pdf: Path | None = None) -> list[str | Path]:
        return [
            "sign",
            pdf or self.pdf,
            "-o",
            self.out / "signed.pdf",
            "--metadata",
            self.metadata,
            "--keys",
            self.keys,
            *extra,
        ]


def _encrypted(s: Inputs) -> list[str | Path]:
    enc = s.tmp / "encrypted.pdf"
    subprocess.run(["qpdf", "--encrypt", "user", "owner", "256", "--", s.pdf, enc], check=True)
    return s.sign(pdf=enc)


def _zeroed_body(s: Inputs) -> list[str | Path]:
    # header, cross-reference section and trailer intact; the objects in between are zeros
    data = s.pdf.read_bytes()
    return s.sign(pdf=s.bad_pdf(data[:200] + bytes(len(data) - 1200) + data[-1000:]))


def _garbled_page_tree(s: Inputs) -> list[str | Path]:
    return s.sign(pdf=s.bad_pdf(minimal_pdf().replace(b"/Count 1", b"/Count 3")))


def _empty_key_folder(s: Inputs) -> list[str | Path]:
    empty = s.tmp / "empty-keys"
    empty.mkdir()
    return [*s.sign(pdf=s.pdf)[:-1], empty]


def _key_folder_is_a_file(s: Inputs) -> list[str | Path]:
    return [*s.sign()[:-1], s.pdf]


def _wrong_passphrase(s: Inputs) -> list[str | Path]:
    wrong = s.tmp / "wrong-passphrase"
    wrong.write_text("not-the-passphrase-4242\n")
    return s.sign("--passphrase-file", wrong)


BAD_INPUTS: list[tuple[str, Callable[[Inputs], list[str | Path]], str]] = [
    ("not-a-pdf", lambda s: s.sign(pdf=s.bad_pdf(b"GIF89a not a pdf\n")), "not a PDF"),
    ("empty-file", lambda s: s.sign(pdf=s.bad_pdf(b"")), "not a PDF"),
    (
        "truncated",
        lambda s: s.sign(pdf=s.bad_pdf(s.pdf.read_bytes()[:-3000])),
        "PDF is truncated",
    ),
    (
        "corrupt",
        lambda s: s.sign(pdf=s.bad_pdf(b"%PDF-1.7\n" + bytes(range(256)) * 20 + b"\n%%EOF\n")),
        "PDF is corrupt",
    ),
    ("corrupt-body", _zeroed_body, "PDF is corrupt"),
    ("corrupt-page-tree", _garbled_page_tree, "PDF is corrupt"),
    ("encrypted", _encrypted, "PDF is encrypted"),
    (
        "over-size-limit",
        lambda s: s.sign("--max-size", "0.01"),
        "over the limit of 0.01 MB (10485 bytes)",
    ),
    ("missing-input", lambda s: s.sign(pdf=s.tmp / "nope.pdf"), "cannot read"),
    (
        "endless-device",  # reports size 0: the read itself must stop at the limit
        lambda s: s.sign("--max-size", "0.01", pdf=Path("/dev/zero")),
        "over the limit of 0.01 MB (10485 bytes)",
    ),
    (
        "missing-metadata",
        lambda s: [*s.sign()[:5], s.tmp / "nope.json", *s.sign()[6:]],
        "nope.json: No such file",
    ),
    ("no-metadata-option", lambda s: [*s.sign()[:4], *s.sign()[6:]], "--metadata"),
    ("missing-key-folder", lambda s: [*s.sign()[:-1], s.tmp / "no-keys"], "no-keys"),
    ("empty-key-folder", _empty_key_folder, "no keys in"),
    ("key-folder-is-a-file", _key_folder_is_a_file, "is not a key folder"),
    (
        "unreadable-key-folder",
        lambda s: [*s.sign()[:-1], s.tmp / ("k" * 300)],
        "File name too long",
    ),
    ("wrong-passphrase", _wrong_passphrase, "wrong passphrase"),
    ("B-T-without-timestamp-server", lambda s: s.sign("--level", "B-T"), "timestamp server"),
    ("B-LTA-without-timestamp-server", lambda s: s.sign("--level", "B-LTA"), "timestamp server"),
    ("page-zero", lambda s: s.sign("--page", "0"), "--page"),
    ("page-out-of-range", lambda s: s.sign("--page", "5"), "stamp page 5 is outside the document"),
    ("bad-position", lambda s: s.sign("--position", "here"), "--position"),
]


@pytest.mark.parametrize(
    ("make_args", "expected"),
    [pytest.param(make, expected, id=name) for name, make, expected in BAD_INPUTS],
)
def test_bad_input_exits_2_with_one_line_and_no_output(
    make_args: Callable[[Inputs], list[str | Path]],
    expected: str,
    keydir: KeyDir,
    pdf_file: Path,
    metadata_file: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    inputs = Inputs(tmp_path, pdf_file, metadata_file, keydir.root, out)
    run = ketqua(capsys, *make_args(inputs))
    assert run.code == 2, run
    (line,) = run.err_lines
    assert line.startswith("ketqua: error: ")
    assert expected in line
    assert run.out == ""
    assert listing(out) == []
    assert (keydir.passphrase_file.read_text().strip()) not in run.err


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        pytest.param({"dossier_code": "000.00.14.H49-220301"}, "dossier_code", id="dossier-code"),
        pytest.param({"result_no": 0}, "result_no", id="result-no-0"),
        pytest.param({"received_at": "2022-03-01T08:00:00"}, "received_at", id="no-timezone"),
        pytest.param(
            {"resolved_at": "2022-02-01T10:00:00+07:00"}, "resolved_at", id="resolved-first"
        ),
        pytest.param(
            {"applicant": {"name": "Nguyễn Văn An", "email": "an.nguyen"}},
            "applicant.email",
            id="bad-email",
        ),
        pytest.param({"agency": {"name": "UBND"}}, "agency.code", id="missing-field"),
        pytest.param({"signer": "me"}, "signer", id="unknown-field"),
    ],
)
def test_invalid_metadata_exits_2_naming_the_field(
    changes: dict[str, object],
    field: str,
    keydir: KeyDir,
    pdf_file: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    meta = write_metadata(tmp_path / "meta.json", **changes)
    out = tmp_path / "out"
    out.mkdir()
    run = ketqua(
        capsys, "sign", pdf_file, "-o", out / "x.pdf", "--metadata", meta, "--keys", keydir.root
    )
    assert run.code == 2
    (line,) = run.err_lines
    assert line.startswith(f"ketqua: error: {field}: ")
    assert listing(out) == []


def test_metadata_that_is_not_json_exits_2(
    keydir: KeyDir, pdf_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    meta = tmp_path / "meta.json"
    meta.write_text("dossier_code = 000.00.14.H49-220301-0012\n")
    run = ketqua(
        capsys,
        "sign",
        pdf_file,
        "-o",
        tmp_path / "x.pdf",
        "--metadata",
        meta,
        "--keys",
        keydir.root,
    )
    assert run.code == 2
    (line,) = run.err_lines
    assert line.startswith("ketqua: error: metadata: not valid JSON")
    assert not (tmp_path / "x.pdf").exists()


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        pytest.param(["sign", "in.pdf", "-o", "x.pdf", "--bogus"], "--bogus", id="unknown-option"),
        pytest.param(["sign", "in.pdf", "--metadata", "m.json"], "-o/--output", id="missing-o"),
        pytest.param([], "required", id="no-command"),
        pytest.param(["keys"], "required", id="keys-without-subcommand"),
        pytest.param(["publish", "x.pdf"], "invalid choice", id="unknown-command"),
        pytest.param(["sign", "in.pdf", "-o", "x.pdf", "--level", "B-X"], "--level", id="level"),
        pytest.param(["sign", "in.pdf", "-o", "x", "--max-size", "lots"], "megabytes", id="mb"),
        pytest.param(["sign", "in.pdf", "-o", "x", "--max-size", "-1"], "positive", id="mb<0"),
        pytest.param(["sign", "in.pdf", "-o", "x", "--max-size", "inf"], "megabytes", id="mb-inf"),
        pytest.param(["sign", "in.pdf", "-o", "x", "--jobs", "two"], "--jobs", id="jobs"),
    ],
)
def test_usage_error_exits_2_with_one_line(
    args: list[str], expected: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = ketqua(capsys, *args)
    assert run.code == 2
    (line,) = run.err_lines
    assert line.startswith("ketqua")
    assert ": error: " in line
    assert expected in line
    assert run.out == ""


def test_help_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    run = ketqua(capsys, "sign", "--help")
    assert run.code == 0
    assert "--metadata" in run.out
    assert run.err == ""


# --- sign a folder -----------------------------------------------------------------------------


def _good_pair(folder: Path, stem: str, pdf: bytes, result_no: int) -> None:
    (folder / f"{stem}.pdf").write_bytes(pdf)
    write_metadata(folder / f"{stem}.json", result_no=result_no)


def test_folder_signs_the_good_files_and_reports_each_failure(
    keydir: KeyDir,
    nssdb: Path,
    example_pdf: bytes,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    indir, outdir = tmp_path / "in", tmp_path / "out"
    indir.mkdir()
    for n, stem in enumerate(("a", "b", "c"), start=1):
        _good_pair(indir, stem, example_pdf, n)
    (indir / "corrupt.pdf").write_bytes(example_pdf[:200] + bytes(5000) + example_pdf[-1000:])
    write_metadata(indir / "corrupt.json")
    (indir / "lonely.pdf").write_bytes(example_pdf)
    (indir / "badjson.pdf").write_bytes(example_pdf)
    (indir / "badjson.json").write_text('{"dossier_code": ')
    (indir / "notes.txt").write_text("not a PDF, not an input")

    run = ketqua(capsys, "sign", indir, "-o", outdir, "--keys", keydir.root, "--jobs", "2")

    assert run.code == 1, run
    assert listing(outdir) == ["a.signed.pdf", "b.signed.pdf", "c.signed.pdf"]
    for stem in ("a", "b", "c"):
        assert_valid_signature(outdir / f"{stem}.signed.pdf", nssdb)
    lines = run.out.splitlines()
    assert lines[0] == f"signed 3 of 6 into {outdir}"
    failures = {line.split(":", 1)[0]: line for line in lines[1:]}
    assert set(failures) == {"failed badjson.pdf", "failed corrupt.pdf", "failed lonely.pdf"}
    assert "PDF is corrupt" in failures["failed corrupt.pdf"]
    assert "no metadata file lonely.json" in failures["failed lonely.pdf"]
    assert "metadata: not valid JSON" in failures["failed badjson.pdf"]
    # plain progress lines: stderr is not a terminal here
    assert sorted(run.err_lines) == [
        "FAILED badjson.pdf",
        "FAILED corrupt.pdf",
        "FAILED lonely.pdf",
        NOT_REGISTERED,  # once, after the files: the signed ones are in no registry
        "ok a.pdf",
        "ok b.pdf",
        "ok c.pdf",
    ]


def test_folder_of_good_files_exits_0(
    keydir: KeyDir,
    nssdb: Path,
    example_pdf: bytes,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    indir, outdir = tmp_path / "in", tmp_path / "out"
    indir.mkdir()
    for n, stem in enumerate(("một", "hai"), start=1):
        _good_pair(indir, stem, example_pdf, n)

    run = ketqua(capsys, "sign", indir, "-o", outdir, "--keys", keydir.root, "--jobs", "2")

    assert run.code == 0, run
    assert run.out.splitlines() == [f"signed 2 of 2 into {outdir}"]
    assert sorted(run.err_lines[:-1]) == ["ok hai.pdf", "ok một.pdf"]
    assert run.err_lines[-1] == NOT_REGISTERED  # once, after the files
    assert listing(outdir) == ["hai.signed.pdf", "một.signed.pdf"]
    for name in listing(outdir):
        assert_valid_signature(outdir / name, nssdb)


def test_folder_progress_is_a_bar_on_a_terminal(
    keydir: KeyDir,
    example_pdf: bytes,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    indir, outdir = tmp_path / "in", tmp_path / "out"
    indir.mkdir()
    _good_pair(indir, "a", example_pdf, 1)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)

    run = ketqua(capsys, "sign", indir, "-o", outdir, "--keys", keydir.root, "--jobs", "1")

    assert run.code == 0, run
    assert "1/1" in run.err
    assert "ok a.pdf" not in run.err


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        pytest.param(["--level", "B-T"], "timestamp server", id="B-T-without-timestamp-server"),
        pytest.param(["--passphrase-file", "wrong"], "wrong passphrase", id="wrong-passphrase"),
    ],
)
def test_folder_run_that_cannot_sign_anything_exits_2_before_starting(
    extra: list[str],
    expected: str,
    keydir: KeyDir,
    example_pdf: bytes,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "wrong").write_text("not-the-passphrase\n")
    indir, outdir = tmp_path / "in", tmp_path / "out"
    indir.mkdir()
    _good_pair(indir, "a", example_pdf, 1)

    run = ketqua(capsys, "sign", indir, "-o", outdir, "--keys", keydir.root, *extra)

    assert run.code == 2
    (line,) = run.err_lines
    assert expected in line
    assert not outdir.exists()


def test_folder_without_pdfs_exits_2(
    keydir: KeyDir, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "in").mkdir()
    run = ketqua(capsys, "sign", tmp_path / "in", "-o", tmp_path / "out", "--keys", keydir.root)
    assert run.code == 2
    (line,) = run.err_lines
    assert "no PDF files" in line


def test_folder_into_an_existing_file_exits_2(
    keydir: KeyDir, example_pdf: bytes, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    indir = tmp_path / "in"
    indir.mkdir()
    _good_pair(indir, "a", example_pdf, 1)
    target = tmp_path / "out.pdf"
    target.write_bytes(b"keep me")
    run = ketqua(capsys, "sign", indir, "-o", target, "--keys", keydir.root)
    assert run.code == 2
    (line,) = run.err_lines
    assert "is a file" in line
    assert target.read_bytes() == b"keep me"


# --- the installed console script --------------------------------------------------------------


@pytest.mark.slow
def test_console_script_signs_and_keeps_stderr_clean(
    keydir: KeyDir, nssdb: Path, metadata_file: Path, tmp_path: Path
) -> None:
    # a duplicate key in the page dictionary: pyHanko logs a warning and reads on
    pdf = tmp_path / "odd.pdf"
    pdf.write_bytes(minimal_pdf(b" /Rotate 0 /Rotate 0"))
    run = console(
        "sign",
        pdf,
        "-o",
        "odd.signed.pdf",
        "--metadata",
        metadata_file,
        "--keys",
        keydir.root,
        cwd=tmp_path,
    )
    assert run.code == 0, run
    assert "pyhanko" not in run.err.lower()  # pyHanko's warnings stay off stderr
    assert run.err.strip() == NOT_REGISTERED
    assert run.out.startswith("signed odd.signed.pdf (PAdES B-B, signed at ")
    assert_valid_signature(tmp_path / "odd.signed.pdf", nssdb)


@pytest.mark.slow
def test_console_script_reports_bad_input_in_one_line(
    keydir: KeyDir, metadata_file: Path, tmp_path: Path, example_pdf: bytes
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    corrupt = tmp_path / "corrupt.pdf"
    corrupt.write_bytes(example_pdf[:200] + bytes(5000) + example_pdf[-1000:])
    run = console(
        "sign",
        corrupt,
        "-o",
        out / "x.pdf",
        "--metadata",
        metadata_file,
        "--keys",
        keydir.root,
        cwd=tmp_path,
    )
    assert run.code == 2, run
    (line,) = run.err_lines
    assert line.startswith("ketqua: error: PDF is corrupt")
    assert listing(out) == []

    run = console("sign", corrupt, "--keys", keydir.root, cwd=tmp_path)
    assert run.code == 2, run
    (line,) = run.err_lines
    assert line == "ketqua: error: the following arguments are required: -o/--output"


def test_folder_rerun_into_the_same_folder_does_not_sign_outputs_again(
    keydir: KeyDir, example_pdf: bytes, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    _good_pair(folder, "a", example_pdf, 1)
    for _ in range(2):
        run = ketqua(capsys, "sign", folder, "-o", folder, "--keys", keydir.root, "--jobs", "1")
        assert run.code == 0, run
        assert run.out.splitlines() == [f"signed 1 of 1 into {folder}"]
    assert listing(folder) == ["a.json", "a.pdf", "a.signed.pdf"]


def test_folder_with_clashing_output_names_signs_one_and_refuses_the_other(
    keydir: KeyDir, example_pdf: bytes, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    indir, outdir = tmp_path / "in", tmp_path / "out"
    indir.mkdir()
    _good_pair(indir, "A", example_pdf, 1)
    (indir / "A.PDF").write_bytes(example_pdf)
    run = ketqua(capsys, "sign", indir, "-o", outdir, "--keys", keydir.root, "--jobs", "1")
    assert run.code == 1, run
    assert listing(outdir) == ["A.signed.pdf"]
    assert "failed A.pdf: same output name as A.PDF; rename one of them" in run.out.splitlines()


@pytest.mark.parametrize("jobs", ["0", "-1"])
def test_folder_with_no_workers_exits_2(
    jobs: str,
    keydir: KeyDir,
    example_pdf: bytes,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    indir, outdir = tmp_path / "in", tmp_path / "out"
    indir.mkdir()
    _good_pair(indir, "a", example_pdf, 1)
    run = ketqua(capsys, "sign", indir, "-o", outdir, "--keys", keydir.root, "--jobs", jobs)
    assert run.code == 2, run
    assert run.err_lines == ["ketqua: error: --jobs: must be at least 1"]
    assert not outdir.exists()


def test_keys_init_refuses_when_any_private_key_exists(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "keys"
    folder.mkdir()
    (folder / "seal.p12").write_bytes(b"an earlier seal key")
    run = ketqua(capsys, "keys", "init", "--dir", folder)
    assert run.code == 2, run
    assert "ketqua: error: --force: " in run.err
    assert (folder / "seal.p12").read_bytes() == b"an earlier seal key"


# --- options checked up front ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("option", "value", "expected"),
    [
        ("--public-url", "ftp://ketqua.example.vn", "--public-url:"),
        ("--public-url", "https://" + "a" * 300 + ".vn", "--public-url:"),
        ("--position", "nan,40", "finite"),
        ("--position", "10000,10000", "does not fit on page 1"),
        ("--position", "-50,40", "does not fit on page 1"),
    ],
)
def test_bad_stamp_or_url_options_exit_2_with_one_line(
    option: str,
    value: str,
    expected: str,
    keydir: KeyDir,
    pdf_file: Path,
    metadata_file: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    run = ketqua(
        capsys,
        "sign",
        pdf_file,
        "-o",
        out / "x.pdf",
        "--metadata",
        metadata_file,
        "--keys",
        keydir.root,
        f"{option}={value}",  # "=": a value may start with "-"
    )
    assert run.code == 2, run
    assert len(run.err_lines) == 1
    assert expected in run.err_lines[0]
    assert listing(out) == []


def test_stamp_goes_inside_the_crop_box(
    keydir: KeyDir, metadata_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # a page whose visible area is the upper-left part of its media box
    pdf = tmp_path / "cropped.pdf"
    pdf.write_bytes(minimal_pdf(b" /CropBox [0 300 450 842]"))
    out = tmp_path / "signed.pdf"
    run = ketqua(
        capsys, "sign", pdf, "-o", out, "--metadata", metadata_file, "--keys", keydir.root
    )
    assert run.code == 0, run
    assert read_qr(out, tmp_path).startswith("HTTP://127.0.0.1:8080/V/")


def test_signing_failure_with_good_input_exits_1(
    keydir: KeyDir,
    pdf_file: Path,
    metadata_file: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # nothing listens there: the input is fine, the timestamp server is not
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}/tsa"
    out = tmp_path / "signed.pdf"
    run = ketqua(
        capsys,
        "sign",
        pdf_file,
        "-o",
        out,
        "--metadata",
        metadata_file,
        "--keys",
        keydir.root,
        "--level",
        "B-T",
        "--tsa-url",
        dead,
    )
    assert run.code == 1, run
    assert len(run.err_lines) == 1
    assert "timestamp server failed" in run.err_lines[0]
    assert not out.exists()


def test_keys_init_refuses_an_agency_code_that_is_not_a_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = ketqua(
        capsys, "keys", "init", "--dir", tmp_path / "k", "--agency-code", "Nguyễn Văn An 0901"
    )
    assert run.code == 2, run
    assert "must look like 000.00.14.H49" in run.err
    assert not (tmp_path / "k" / "signing.p12").exists()


def test_keys_init_force_with_a_passphrase_file_drops_the_old_generated_one(
    tmp_path: Path, pdf_file: Path, metadata_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "k"
    assert ketqua(capsys, "keys", "init", "--dir", folder).code == 0
    assert (folder / "passphrase").exists()
    secret = tmp_path / "secret"
    secret.write_text("a passphrase the operator chose\n")
    run = ketqua(capsys, "keys", "init", "--dir", folder, "--force", "--passphrase-file", secret)
    assert run.code == 0, run
    assert not (folder / "passphrase").exists()
    signed = ketqua(
        capsys,
        "sign",
        pdf_file,
        "-o",
        tmp_path / "s.pdf",
        "--metadata",
        metadata_file,
        "--keys",
        folder,
        "--passphrase-file",
        secret,
    )
    assert signed.code == 0, signed


def test_a_wrong_passphrase_says_where_it_came_from(
    keydir: KeyDir,
    pdf_file: Path,
    metadata_file: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # a stale variable wins over the folder's good passphrase file: say so
    monkeypatch.setenv("KETQUA_KEY_PASSPHRASE", "an old passphrase")
    run = ketqua(
        capsys,
        "sign",
        pdf_file,
        "-o",
        tmp_path / "s.pdf",
        "--metadata",
        metadata_file,
        "--keys",
        keydir.root,
    )
    assert run.code == 2, run
    assert run.err_lines == [
        f"ketqua: error: cannot open {keydir.seal_p12}: wrong passphrase or not PKCS#12 "
        "(the passphrase came from KETQUA_KEY_PASSPHRASE)"
    ]


def test_keys_init_with_an_unreadable_passphrase_file_makes_no_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "k"
    run = ketqua(capsys, "keys", "init", "--dir", folder, "--passphrase-file", tmp_path / "nope")
    assert run.code == 2, run
    assert not folder.exists()


def test_folder_json_summary(
    keydir: KeyDir, example_pdf: bytes, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    indir, outdir = tmp_path / "in", tmp_path / "out"
    indir.mkdir()
    _good_pair(indir, "a", example_pdf, 1)
    (indir / "b.pdf").write_bytes(b"not a pdf")
    write_metadata(indir / "b.json")
    run = ketqua(
        capsys, "sign", indir, "-o", outdir, "--keys", keydir.root, "--jobs", "1", "--json"
    )
    assert run.code == 1, run
    summary = json.loads(run.out)
    assert summary["signed"] == [{"input": "a.pdf", "output": str(outdir / "a.signed.pdf")}]
    assert summary["failed"] == [{"input": "b.pdf", "error": "not a PDF (no %PDF- header)"}]


def test_metadata_option_with_a_folder_is_a_usage_error(
    keydir: KeyDir,
    example_pdf: bytes,
    metadata_file: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    indir = tmp_path / "in"
    indir.mkdir()
    _good_pair(indir, "a", example_pdf, 1)
    run = ketqua(
        capsys,
        "sign",
        indir,
        "-o",
        tmp_path / "out",
        "--metadata",
        metadata_file,
        "--keys",
        keydir.root,
    )
    assert run.code == 2, run
    assert "--metadata and --copy are for one file" in run.err
    assert not (tmp_path / "out").exists()
