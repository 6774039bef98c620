#!/usr/bin/env python3
"""Clean a parallel (or monolingual) dataset, streaming line by line.

Each line is NFC-normalized and stripped of non-printing characters, then the pair is
dropped when a side is empty, too short or too long (in words), the length ratio is too
large, or source and target are identical. Writes per-filter counts as JSON.
Memory: one line pair at a time.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import unicodedata
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from textio import atomic_write, read_lines, read_pairs  # noqa: E402

# Control and format characters (C0/C1, zero-width, BOM...) except tab; tabs become spaces.
_NON_PRINTING = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]")
_SPACES = re.compile(r"\s+")


def normalize(line: str) -> str:
    line = unicodedata.normalize("NFC", line)
    line = _NON_PRINTING.sub("", line)
    return _SPACES.sub(" ", line).strip()


def reject_reason(src: str, trg: str, min_words: int, max_words: int, max_ratio: float) -> str | None:
    """Why a pair is dropped, or None to keep it. Filters apply in a fixed order."""
    if not src or not trg:
        return "empty"
    n_src, n_trg = len(src.split()), len(trg.split())
    if min(n_src, n_trg) < min_words:
        return "too-short"
    if max(n_src, n_trg) > max_words:
        return "too-long"
    if max(n_src, n_trg) / min(n_src, n_trg) > max_ratio:
        return "length-ratio"
    if src == trg:
        return "identical"
    return None


def clean_parallel(src_in, trg_in, src_out, trg_out, min_words, max_words, max_ratio) -> Counter:
    stats: Counter = Counter()
    with atomic_write(src_out) as out_s, atomic_write(trg_out) as out_t:
        for src, trg in read_pairs(src_in, trg_in):
            stats["input"] += 1
            src, trg = normalize(src), normalize(trg)
            reason = reject_reason(src, trg, min_words, max_words, max_ratio)
            if reason:
                stats[reason] += 1
                continue
            out_s.write(src + "\n")
            out_t.write(trg + "\n")
            stats["kept"] += 1
    return stats


def clean_mono(src_in, src_out, min_words, max_words) -> Counter:
    stats: Counter = Counter()
    with atomic_write(src_out) as out:
        for line in read_lines(src_in):
            stats["input"] += 1
            line = normalize(line)
            n = len(line.split())
            reason = "empty" if not line else "too-short" if n < min_words else "too-long" if n > max_words else None
            if reason:
                stats[reason] += 1
                continue
            out.write(line + "\n")
            stats["kept"] += 1
    return stats


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--src-in", required=True)
    p.add_argument("--trg-in")
    p.add_argument("--src-out", required=True)
    p.add_argument("--trg-out")
    p.add_argument("--stats", required=True)
    p.add_argument("--min-words", type=int, default=1)
    p.add_argument("--max-words", type=int, default=150)
    p.add_argument("--max-ratio", type=float, default=3.0)
    args = p.parse_args(argv)
    if args.trg_in:
        stats = clean_parallel(
            args.src_in, args.trg_in, args.src_out, args.trg_out,
            args.min_words, args.max_words, args.max_ratio,
        )
    else:
        stats = clean_mono(args.src_in, args.src_out, args.min_words, args.max_words)
    with atomic_write(args.stats) as out:
        json.dump(dict(stats), out, indent=1, sort_keys=True)
    print(json.dumps(dict(stats), sort_keys=True), file=sys.stderr)


if __name__ == "__main__":
    main()
