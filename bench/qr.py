"""The seal's QR code: zxing-cpp (the encoder used) against segno, time and mask quality.

Run: ``.venv/bin/python bench/qr.py [--seals N] [--seed S]``. For each random
171-byte seal under a 40-character public URL, encodes the URL at level Q
with ``seal.qr_modules`` (zxing-cpp, C++, with the mask search), with segno's
mask search, and with segno on one fixed mask (what the stamp did before);
scores each chosen mask with segno's ISO 18004 penalty against the best of
the 8 masks.
"""

from __future__ import annotations

import argparse
import base64
import functools
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import segno
from segno import encoder

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from seal import qr_modules

BASE = "HTTPS://KETQUA.VANDON.QUANGNINH.GOV.VN/V/"
FIXED_MASK = 6  # the stamp's mask before zxing-cpp


def penalty(rows: list[bytearray]) -> int:
    score: int = encoder.evaluate_mask(rows, len(rows), len(rows))
    return score


def segno_rows(text: str, mask: int | None) -> list[bytearray]:
    return [
        bytearray(r) for r in segno.make_qr(text, error="q", boost_error=False, mask=mask).matrix
    ]


def seconds(encode: Callable[[], object], repeat: int = 5) -> float:
    start = time.perf_counter()
    for _ in range(repeat):
        encode()
    return (time.perf_counter() - start) / repeat


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seals", type=int, default=60)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    above: dict[str, list[float]] = {"zxing-cpp": [], "segno, fixed mask": []}
    took: dict[str, list[float]] = {"zxing-cpp": [], "segno, search": [], "segno, fixed mask": []}
    for _ in range(args.seals):
        text = BASE + base64.b32encode(rng.randbytes(171)).decode().rstrip("=")
        best = min(penalty(segno_rows(text, m)) for m in range(8))
        above["zxing-cpp"].append(penalty([bytearray(r) for r in qr_modules(text)]) / best)
        above["segno, fixed mask"].append(penalty(segno_rows(text, FIXED_MASK)) / best)
        took["zxing-cpp"].append(seconds(functools.partial(qr_modules, text)))
        took["segno, search"].append(seconds(functools.partial(segno_rows, text, None)))
        took["segno, fixed mask"].append(seconds(functools.partial(segno_rows, text, FIXED_MASK)))
    print(f"{args.seals} random seals, level Q (penalty: segno's ISO 18004 scoring)")
    used = statistics.mean(took["zxing-cpp"])
    for name, times in took.items():
        mean = statistics.mean(times)
        line = f"  {name:18s} {mean * 1e3:5.2f} ms ({mean / used:4.1f}x zxing-cpp's time)"
        if name in above:
            ratios = above[name]
            line += (
                f"; penalty above the best mask: mean {statistics.mean(ratios) - 1:.1%}, "
                f"worst {max(ratios) - 1:.1%}"
            )
        print(line)


if __name__ == "__main__":
    main()
