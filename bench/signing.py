"""Signing throughput: stock pyHanko against ketqua, measured in one run, reported as ratios.

Every contender signs the same 1-page A4 result at PAdES B-B with the same
RSA-2048 PKCS#12 key and a visible stamp carrying a QR code and Vietnamese
text in the same TTF (Liberation Serif, the stamp's):

  pyhanko CLI      ``pyhanko sign addsig`` with a QR stamp style, one process per document
  pyhanko API      ``SimpleSigner.load_pkcs12`` + ``QRStampStyle`` + the TTF, in one process
  ketqua x1        ``SigningRuntime.sign`` in one process
  ketqua x2        ``ketqua sign DIR`` over 2 worker processes (wall clock, pool start included)

Run: ``make bench`` (or ``.venv/bin/python bench/signing.py [--docs N]``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from io import BytesIO
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import summary  # bench/summary.py, beside this file

from keys.devpki import init_keydir
from keys.keydir import KeyDir, read_passphrase
from signer.batch import sign_folder
from signer.document import SignOptions
from signer.metadata import parse_metadata
from signer.runtime import KeySource, RuntimeConfig, SigningRuntime, freeze_prepared_state
from signer.stamp.font import REGULAR
from tests.pdfs import example_metadata, result_pdf

STAMP_TEXT = (
    "Ủy ban nhân dân huyện Vân Đồn\\nNgười ký: %(signer)s\\nThời gian ký: %(ts)s\\n"
    "Số kết quả: 000.00.14.H49-220301-0012-KQ1\\nMã xác thực: ABCDE-FGHIJ"
)
# a seal URL of the real length (what ketqua puts in its QR)
SEAL_URL = "HTTP://127.0.0.1:8080/V/" + "A2B3C4D5E6" * 27 + "AB"
FIELD_BOX = (259, 36, 559, 172)  # the size of ketqua's stamp


def per_second(count: int, seconds: float) -> float:
    return count / seconds if seconds else float("inf")


def time_loop(fn: Callable[[int], None], count: int) -> float:
    fn(-1)  # warm-up: imports, caches, first-signature templates
    start = time.perf_counter()
    for i in range(count):
        fn(i)
    return time.perf_counter() - start


def stock_api(keydir: KeyDir, pdf: bytes, count: int) -> float:
    from pyhanko.pdf_utils.font.opentype import GlyphAccumulatorFactory
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.pdf_utils.text import TextBoxStyle
    from pyhanko.sign import fields, signers
    from pyhanko.stamp import QRStampStyle

    passphrase = read_passphrase(keydir)
    style = QRStampStyle(
        stamp_text=STAMP_TEXT.replace("\\n", "\n"),
        text_box_style=TextBoxStyle(font=GlyphAccumulatorFactory(str(REGULAR))),
    )

    def one(_: int) -> None:
        # as a user scripts it: the signer loaded once, sign_pdf per document
        pdf_signer = signers.PdfSigner(
            signers.PdfSignatureMetadata(
                field_name="Sig", subfilter=fields.SigSeedSubFilter.PADES
            ),
            signer=signer,
            stamp_style=style,
            new_field_spec=fields.SigFieldSpec("Sig", on_page=0, box=FIELD_BOX),
        )
        out = pdf_signer.sign_pdf(
            IncrementalPdfFileWriter(BytesIO(pdf)), appearance_text_params={"url": SEAL_URL}
        )
        assert out.getbuffer().nbytes > len(pdf)

    signer = signers.SimpleSigner.load_pkcs12(str(keydir.signing_p12), passphrase=passphrase)
    assert signer is not None
    return time_loop(one, count)


def stock_cli(keydir: KeyDir, pdf_path: Path, work: Path, count: int) -> float:
    exe = shutil.which("pyhanko", path=str(Path(sys.executable).parent))
    assert exe, "pyhanko-cli is installed by the bench extra"
    config = work / "pyhanko.yml"
    config.write_text(
        "stamp-styles:\n"
        "  ketqua:\n"
        "    type: qr\n"
        f'    stamp-text: "{STAMP_TEXT}"\n'
        "    text-box-style:\n"
        f"      font: {REGULAR}\n",
        encoding="utf-8",
    )
    passfile = work / "pass"
    passfile.write_bytes(read_passphrase(keydir))
    field = "1/" + ",".join(map(str, FIELD_BOX)) + "/Sig"

    def one(i: int) -> None:
        out = work / f"cli-{i}.pdf"
        subprocess.run(
            [
                exe,
                "--config",
                str(config),
                "sign",
                "addsig",
                "--field",
                field,
                "--style-name",
                "ketqua",
                "--stamp-url",
                SEAL_URL,
                "--use-pades",
                "pkcs12",
                "--passfile",
                str(passfile),
                str(pdf_path),
                str(out),
                str(keydir.signing_p12),
            ],
            check=True,
            capture_output=True,
        )

    return time_loop(one, count)


def ketqua_one_process(config: RuntimeConfig, pdf: bytes, count: int) -> float:
    metadata = parse_metadata(json.dumps(example_metadata()))
    with SigningRuntime(config) as runtime:
        freeze_prepared_state()

        def one(_: int) -> None:
            runtime.sign(pdf, metadata)

        return time_loop(one, count)


def ketqua_pool(config: RuntimeConfig, pdf: bytes, work: Path, count: int, jobs: int) -> float:
    indir, outdir = work / "batch-in", work / "batch-out"
    indir.mkdir()
    meta = json.dumps(example_metadata())
    for i in range(count):
        (indir / f"kq-{i:04d}.pdf").write_bytes(pdf)
        (indir / f"kq-{i:04d}.json").write_text(meta, encoding="utf-8")
    start = time.perf_counter()
    outcomes = sign_folder(indir, outdir, config, jobs=jobs)
    elapsed = time.perf_counter() - start
    assert all(o.error is None for o in outcomes), [o.error for o in outcomes if o.error]
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=200, help="documents per in-process run")
    parser.add_argument("--cli-docs", type=int, default=10, help="documents for the CLI run")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="ketqua-bench-") as tmp:
        work = Path(tmp)
        keydir = init_keydir(work / "keys")
        pdf = result_pdf()
        pdf_path = work / "in.pdf"
        pdf_path.write_bytes(pdf)
        config = RuntimeConfig(KeySource(keydir.root), SignOptions())

        rows: list[tuple[str, int, float]] = []
        n_api = max(10, args.docs // 10)
        rows.append(
            (
                "pyhanko CLI, 1 process/doc",
                args.cli_docs,
                stock_cli(keydir, pdf_path, work, args.cli_docs),
            )
        )
        rows.append(("pyhanko API, 1 process", n_api, stock_api(keydir, pdf, n_api)))
        rows.append(("ketqua, 1 process", args.docs, ketqua_one_process(config, pdf, args.docs)))
        rows.append(
            (
                "ketqua, 2 processes",
                args.docs * 2,
                ketqua_pool(config, pdf, work, args.docs * 2, jobs=2),
            )
        )

    base = per_second(rows[1][1], rows[1][2])
    print("signing benchmark: 1-page A4, PAdES B-B, RSA-2048 PKCS#12, QR + Vietnamese stamp")
    print(f"python {platform.python_version()}, {os.cpu_count()} cores, {platform.machine()}")
    print(
        f"{'contender':32s} {'docs':>6s} {'seconds':>9s} {'docs/s':>9s} {'ms/doc':>8s} "
        f"{'vs pyhanko API':>15s}"
    )
    for name, count, seconds in rows:
        rate = per_second(count, seconds)
        if name.startswith("ketqua"):
            summary.record(
                f"signing: {name}",
                f"{rate:.1f} docs/s",
                f"pyHanko's API {base:.1f} docs/s",
                rate / base,
            )
        print(
            f"{name:32s} {count:6d} {seconds:9.2f} {rate:9.1f} {1000 / rate:8.1f} "
            f"{rate / base:14.1f}x"
        )


if __name__ == "__main__":
    main()
