"""The seal's QR code: zxing-cpp (the encoder used) against segno, time and mask quality.

Run: ``.venv/bin/python bench/qr.py [--seals N] [--seed S]``. For each random
171-byte seal under a 40-character public URL, encodes the URL at level Q
with ``seal.qr_modules`` (zxing-cpp, C++) on the fixed mask (what the stamp
uses) and with its mask search, and with segno (Python, what the stamp used
before) the same two ways; scores each mask with segno's ISO 18004 penalty
against the best of the 8 masks on the same encoder's bits.
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

import summary  # bench/summary.py, beside this file

from seal import QR_MASK, qr_modules

BASE = "HTTPS://KETQUA.VANDON.QUANGNINH.GOV.VN/V/"


def penalty(rows: list[bytearray]) -> int:
    score: int = encoder.evaluate_mask(rows, len(rows), len(rows))
    return score


def zxing_rows(text: str, mask: int | None) -> list[bytearray]:
    return [bytearray(r) for r in qr_modules(text, mask=mask)]


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
    zxing_fixed = f"zxing-cpp, mask {QR_MASK}"
    segno_fixed = f"segno, mask {QR_MASK}"
    above: dict[str, list[float]] = {zxing_fixed: [], "zxing-cpp, search": [], segno_fixed: []}
    took: dict[str, list[float]] = {
        zxing_fixed: [],
        "zxing-cpp, search": [],
        segno_fixed: [],
        "segno, search": [],
    }
    for _ in range(args.seals):
        text = BASE + base64.b32encode(rng.randbytes(171)).decode().rstrip("=")
        zxing_best = min(penalty(zxing_rows(text, m)) for m in range(8))
        segno_best = min(penalty(segno_rows(text, m)) for m in range(8))
        above[zxing_fixed].append(penalty(zxing_rows(text, QR_MASK)) / zxing_best)
        above["zxing-cpp, search"].append(penalty(zxing_rows(text, None)) / zxing_best)
        above[segno_fixed].append(penalty(segno_rows(text, QR_MASK)) / segno_best)
        took[zxing_fixed].append(seconds(functools.partial(qr_modules, text)))
        took["zxing-cpp, search"].append(seconds(functools.partial(qr_modules, text, mask=None)))
        took[segno_fixed].append(seconds(functools.partial(segno_rows, text, QR_MASK)))
        took["segno, search"].append(seconds(functools.partial(segno_rows, text, None)))
    print(f"{args.seals} random seals, level Q (penalty: segno's ISO 18004 scoring)")
    used = statistics.mean(took[zxing_fixed])
    before = statistics.mean(took[segno_fixed])
    summary.record(
        "QR seal: zxing-cpp, fixed mask",
        f"{used * 1e3:.2f} ms",
        f"segno, fixed mask {before * 1e3:.2f} ms",
        used / before,
    )
    for name, times in took.items():
        mean = statistics.mean(times)
        line = f"  {name:18s} {mean * 1e3:5.2f} ms ({mean / used:4.1f}x the stamp's encoder)"
        if name in above:
            ratios = above[name]
            line += (
                f"; penalty above the best mask: mean {statistics.mean(ratios) - 1:.1%}, "
                f"worst {max(ratios) - 1:.1%}"
            )
        print(line)


if __name__ == "__main__":
    main()
