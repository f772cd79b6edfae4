"""The fixed QR mask against the full mask search, on seal-like data: penalty and time.

Run: ``.venv/bin/python bench/qr_mask.py [--seals N] [--seed S]``. For each
random 171-byte seal under a 40-character public URL, encodes the URL at
level Q with all 8 masks, scores each with segno's ISO 18004 penalty, and
times the standard search (``mask=None``) against the fixed mask.
"""

from __future__ import annotations

import argparse
import base64
import random
import statistics
import sys
import time
from pathlib import Path

import segno
from segno import encoder

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from signer.stamp.qr import MASK

BASE = "HTTPS://KETQUA.VANDON.QUANGNINH.GOV.VN/V/"


def penalty(text: str, mask: int) -> int:
    code = segno.make_qr(text, error="q", boost_error=False, mask=mask)
    size = len(code.matrix)
    score: int = encoder.evaluate_mask(code.matrix, size, size)
    return score


def seconds(text: str, mask: int | None, repeat: int = 5) -> float:
    start = time.perf_counter()
    for _ in range(repeat):
        segno.make_qr(text, error="q", boost_error=False, mask=mask)
    return (time.perf_counter() - start) / repeat


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seals", type=int, default=60)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    ratios, wins, searched, fixed = [], 0, [], []
    for _ in range(args.seals):
        text = BASE + base64.b32encode(rng.randbytes(171)).decode().rstrip("=")
        scores = [penalty(text, m) for m in range(8)]
        ratios.append(scores[MASK] / min(scores))
        wins += scores[MASK] == min(scores)
        searched.append(seconds(text, None))
        fixed.append(seconds(text, MASK))
    print(f"{args.seals} random seals, fixed mask {MASK}")
    print(f"  best mask in {wins / args.seals:.0%} of seals")
    print(
        f"  penalty above the best: mean {statistics.mean(ratios) - 1:.1%}, "
        f"worst {max(ratios) - 1:.1%}"
    )
    search_ms, fixed_ms = statistics.mean(searched) * 1e3, statistics.mean(fixed) * 1e3
    print(
        f"  encode: mask search {search_ms:.1f} ms, fixed {fixed_ms:.1f} ms "
        f"({search_ms / fixed_ms:.1f}x faster)"
    )


if __name__ == "__main__":
    main()
