#!/usr/bin/env python3
"""Drop the worst-scored share of a parallel corpus (cross-entropy filtering).

The threshold is the `--drop-share` quantile of the scores, found with a fine histogram in
two streaming passes over the scores, so memory is constant whatever the corpus size.
"""

from __future__ import annotations

import argparse
import json
import logging
import math

from mtdistill.common import errors
from mtdistill.common.textio import atomic_write, read_lines, read_pairs

log = logging.getLogger("filter_scores")

BINS = 100_000


def read_scores(path: str):
    for line in read_lines(path):
        value = float(line.split()[0]) if line.strip() else -math.inf
        yield value if math.isfinite(value) else -math.inf


def threshold(scores_path: str, drop_share: float) -> float:
    """The score under which about `drop_share` of the lines fall (-inf: keep all)."""
    if drop_share <= 0:
        return -math.inf
    low, high, n = math.inf, -math.inf, 0
    for s in read_scores(scores_path):
        n += 1
        if math.isfinite(s):
            low, high = min(low, s), max(high, s)
    if n == 0 or not math.isfinite(low):
        return -math.inf
    width = (high - low) / BINS or 1.0
    counts = [0] * (BINS + 1)
    non_finite = 0
    for s in read_scores(scores_path):
        if math.isfinite(s):
            counts[int((s - low) / width)] += 1
        else:
            non_finite += 1
    target = drop_share * n - non_finite
    if target <= 0:
        return low  # dropping the non-finite scores alone reaches the share
    seen = 0
    for i, count in enumerate(counts):
        seen += count
        if seen >= target:
            return low + (i + 1) * width
    return high


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--src-in", required=True)
    p.add_argument("--trg-in", required=True)
    p.add_argument("--scores", required=True)
    p.add_argument("--src-out", required=True)
    p.add_argument("--trg-out", required=True)
    p.add_argument("--drop-share", type=float, required=True)
    p.add_argument("--stats", required=True)
    args = p.parse_args(argv)
    cut = threshold(args.scores, args.drop_share)
    kept = total = 0
    with atomic_write(args.src_out) as out_src, atomic_write(args.trg_out) as out_trg:
        pairs = read_pairs(args.src_in, args.trg_in)
        for (src, trg), score in zip(pairs, read_scores(args.scores), strict=True):
            total += 1
            if score >= cut and math.isfinite(score):
                out_src.write(src + "\n")
                out_trg.write(trg + "\n")
                kept += 1
    stats = {"input": total, "kept": kept, "dropped": total - kept, "threshold": cut if math.isfinite(cut) else None}
    with atomic_write(args.stats) as out:
        json.dump(stats, out, indent=1)
    log.info("filter: kept %d/%d (threshold %s)", kept, total, cut)


if __name__ == "__main__":
    errors.run_main(main)
