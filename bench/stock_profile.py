"""Where stock pyHanko's time goes when it signs the benchmark's document (cProfile).

Run: ``.venv/bin/python bench/stock_profile.py [--docs N]``. Signs N documents
the way ``bench/signing.py``'s "pyhanko API" contender does and prints the
per-document cost of the functions that dominate it.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from signing import stock_api

from keys.devpki import init_keydir
from tests.pdfs import result_pdf

WATCH = {
    "_extract_subset": "font subset (fontTools), redone per document",
    "load_der_private_key": "RSA key parsed from DER, for each raw signature",
    "estimate_signature_container_size": "trial signature to size the CMS",
    "best_mask_pattern": "QR mask search (qrcode)",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ketqua-stock-") as tmp:
        keydir = init_keydir(Path(tmp) / "keys")
        pdf = result_pdf()
        stock_api(keydir, pdf, 1)  # imports and caches out of the picture
        profile = cProfile.Profile()
        profile.enable()
        stock_api(keydir, pdf, args.docs)
        profile.disable()
    stats = pstats.Stats(profile)
    signed = args.docs + 1  # stock_api signs one warm-up document of its own
    total = stats.total_tt / signed * 1000  # type: ignore[attr-defined]
    print(f"stock pyHanko under cProfile (which slows it), {signed} documents, per document:")
    print(f"  {total:7.1f} ms  in all")
    rows = stats.stats.items()  # type: ignore[attr-defined]
    for (_, _, name), (_, _, _, cumulative, _) in sorted(rows, key=lambda r: -r[1][3]):
        label = next((WATCH.pop(key) for key in list(WATCH) if key in name), None)
        if label:
            print(f"  {cumulative / signed * 1000:7.1f} ms  {label}")


if __name__ == "__main__":
    main()
