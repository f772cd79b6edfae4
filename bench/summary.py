"""The one table ``make bench`` ends with: each benchmark's main figure against its baseline.

Each benchmark calls ``record`` with its figure and the baseline it measured
in the same run; ``make bench`` names the file (``KETQUA_BENCH_SUMMARY``),
empties it first and runs this module last, which prints the table. Run by
hand, a benchmark records nothing (the variable is not set).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

VARIABLE = "KETQUA_BENCH_SUMMARY"


def record(bench: str, figure: str, baseline: str, ratio: float | None) -> None:
    """One row: ``figure`` (with its unit) against ``baseline``; ``ratio`` figure/baseline."""
    path = os.environ.get(VARIABLE)
    if not path:
        return
    row = {"bench": bench, "figure": figure, "baseline": baseline, "ratio": ratio}
    with Path(path).open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(row, ensure_ascii=False) + "\n")


def main() -> None:
    path = Path(os.environ.get(VARIABLE) or "var/bench-summary.jsonl")
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    print(f"\nsummary of make bench ({len(rows)} figures, each against its own baseline)")
    name = max([len("benchmark"), *(len(row["bench"]) for row in rows)])
    figure = max([len("figure"), *(len(row["figure"]) for row in rows)])
    print(f"{'benchmark':{name}s}  {'figure':{figure}s}  {'ratio':>7s}  baseline (same run)")
    for row in rows:
        ratio = f"{row['ratio']:.2f}x" if row["ratio"] is not None else "-"
        print(f"{row['bench']:{name}s}  {row['figure']:{figure}s}  {ratio:>7s}  {row['baseline']}")


if __name__ == "__main__":
    main()
