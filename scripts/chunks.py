#!/usr/bin/env python3
"""Split a corpus into fixed-size chunks for parallel translation jobs, and join them back.

`split`: writes `{out_dir}/{NNNNN}.{suffix}` plain-text chunks of --lines lines from one or
more line-parallel inputs (e.g. source and reference). `join`: concatenates files in the
given order into one .zst. Both stream; memory is one line.
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from textio import atomic_write, read_lines, read_text_blocks  # noqa: E402


def split(inputs: list[str], suffixes: list[str], out_dir: str, lines: int) -> int:
    """Split line-parallel inputs into chunks; returns the number of chunks."""
    os.makedirs(out_dir, exist_ok=True)
    missing = object()
    rows_in = itertools.zip_longest(*(read_lines(path) for path in inputs), fillvalue=missing)
    n_chunks = 0
    while True:
        rows = list(itertools.islice(rows_in, lines))
        if not rows:
            break
        if any(missing in row for row in rows):
            raise SystemExit(f"line counts differ between {', '.join(inputs)}")
        for column, suffix in enumerate(suffixes):
            with atomic_write(os.path.join(out_dir, f"{n_chunks:05d}.{suffix}")) as out:
                for row in rows:
                    out.write(row[column] + "\n")
        n_chunks += 1
    return n_chunks


def join(inputs: list[str], output: str) -> int:
    """Concatenate the lines of `inputs` (each ended by a newline) into `output`."""
    n = 0
    with atomic_write(output) as out:
        for path in inputs:
            # Whole blocks of lines, not line by line: the same text at a fraction of
            # the Python work (benchmarks/data_path.py).
            block = ""
            for block in read_text_blocks(path):
                out.write(block)
                n += block.count("\n")
            if block and not block.endswith("\n"):
                out.write("\n")
                n += 1
    return n


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("split")
    s.add_argument("--inputs", nargs="+", required=True)
    s.add_argument("--suffixes", nargs="+", required=True)
    s.add_argument("--out-dir", required=True)
    s.add_argument("--lines", type=int, required=True)
    j = sub.add_parser("join")
    j.add_argument("--inputs", nargs="*", default=[])
    j.add_argument("--output", required=True)
    args = p.parse_args(argv)
    if args.command == "split":
        if len(args.inputs) != len(args.suffixes):
            p.error("one suffix per input")
        n = split(args.inputs, args.suffixes, args.out_dir, args.lines)
        print(f"split into {n} chunk(s) of up to {args.lines} lines", file=sys.stderr)
    else:
        n = join(args.inputs, args.output)
        print(f"joined {len(args.inputs)} file(s), {n} lines", file=sys.stderr)


if __name__ == "__main__":
    main()
