"""How often zbarimg reads the stamp's QR from a page rendered at 100 dpi, by stamp height.

Run: ``.venv/bin/python bench/qr_readability.py [--heights 120 136] [--docs N]``.
Signs a scanned-page PDF (one A4 image, A4 at 595.2 x 841.92 pt, so the
stamp does not sit on whole pixels) N times per height, renders each with
``pdftoppm -r 100 -cropbox`` and counts the renders zbarimg cannot read.
Each signature is a new seal, so each QR pattern differs.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from keys.devpki import init_keydir
from signer.document import SignOptions
from signer.metadata import parse_metadata
from signer.placement import Placement
from signer.runtime import KeySource, RuntimeConfig, SigningRuntime
from tests.pdfs import example_metadata, scanned_pdf
from tests.validators import render_page, scan_codes

URL = "https://ketqua.vandon.quangninh.gov.vn"


def failures(work: Path, keys: Path, pdf: bytes, height: float, docs: int) -> int:
    metadata = parse_metadata(json.dumps(example_metadata()))
    options = SignOptions(public_url=URL, placement=Placement(height=height))
    failed = 0
    with SigningRuntime(RuntimeConfig(KeySource(keys), options)) as runtime:
        for i in range(docs):
            result = runtime.sign(pdf, metadata)
            signed = work / f"{height}-{i}.pdf"
            signed.write_bytes(result.pdf)
            read = scan_codes(render_page(signed, work))
            failed += read != [result.seal_url]
    return failed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--heights", type=float, nargs="+", default=[120.0, 136.0])
    parser.add_argument("--docs", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ketqua-qr-") as tmp:
        work = Path(tmp)
        keys = init_keydir(work / "keys").root
        scanned_pdf(work / "scan.pdf")
        pdf = (work / "scan.pdf").read_bytes()
        for height in args.heights:
            side = height - 8  # the QR fills the stamp's height less its padding
            failed = failures(work, keys, pdf, height, args.docs)
            print(
                f"stamp height {height:g} pt (QR {side:g} pt, {side / 77 * 100 / 72:.2f} px a "
                f"module at 100 dpi): {failed} of {args.docs} renders unreadable"
            )


if __name__ == "__main__":
    main()
