#!/usr/bin/env python3
"""Split a corpus into fixed-size chunks for parallel translation jobs, and join them back.

`split`: writes `{out_dir}/{NNNNN}.{suffix}` plain-text chunks of --lines lines from one or
more line-parallel inputs (e.g. source and reference). `join`: concatenates files in the
given order into one .zst. Both stream; memory is one line. Both are atomic: `out_dir` is
filled under a temporary name and renamed when complete, so a killed split never leaves a
directory that looks like a (shorter) finished split.
"""

from __future__ import annotations

import argparse
import itertools
import logging
import os

import zstandard

from mtdistill.common import diskspace, errors
from mtdistill.common.errors import InputError
from mtdistill.common.textio import (LineCountMismatch, atomic_dir, atomic_write, check_zst,
                                     read_lines, read_text_blocks)

log = logging.getLogger("chunks")


def split(inputs: list[str], suffixes: list[str], out_dir: str, lines: int) -> int:
    """Split line-parallel inputs into chunks; returns the number of chunks."""
    missing = object()
    rows_in = itertools.zip_longest(*(read_lines(path) for path in inputs), fillvalue=missing)
    n_chunks = 0
    with atomic_dir(out_dir) as tmp_dir:
        while True:
            rows = list(itertools.islice(rows_in, lines))
            if not rows:
                break
            if any(missing in row for row in rows):
                raise LineCountMismatch(f"line counts differ between {', '.join(inputs)}")
            for column, suffix in enumerate(suffixes):
                path = os.path.join(tmp_dir, f"{n_chunks:05d}.{suffix}")
                with open(path, "w", encoding="utf-8", newline="\n") as out:
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
            try:
                for block in read_text_blocks(path):
                    out.write(block)
                    n += block.count("\n")
            except UnicodeDecodeError as err:
                raise InputError(
                    f"{path} is not UTF-8 text ({err.reason}: byte 0x{err.object[err.start]:02x}): "
                    "convert it to UTF-8, e.g. with iconv"
                ) from None
            except (zstandard.ZstdError, EOFError, OSError) as err:
                # OSError covers gzip's BadGzipFile; a missing file is named as well.
                raise InputError(
                    f"{path} cannot be read ({err}): check that it is complete and that its "
                    "suffix (.zst, .gz or none) matches its compression"
                ) from None
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
    diskspace.add_console_option(s)
    j = sub.add_parser("join")
    j.add_argument("--inputs", nargs="*", default=[])
    j.add_argument("--output", required=True)
    j.add_argument("--verify", action="store_true",
                   help="first check that .zst inputs are complete (zstd readers accept a cut file)")
    args = p.parse_args(argv)
    if args.command == "split":
        if len(args.inputs) != len(args.suffixes):
            p.error("one suffix per input")
        # First, before anything is written: warn when the disk looks too small for this.
        diskspace.job_check("split", args.inputs, args.out_dir, args.console_fd)
        n = split(args.inputs, args.suffixes, args.out_dir, args.lines)
        log.info("split into %d chunk(s) of up to %d lines", n, args.lines)
    else:
        if args.verify:
            for path in (p for p in args.inputs if p.endswith(".zst")):
                try:
                    check_zst(path)
                except InputError as err:
                    raise InputError(f"{err}: re-create the file, e.g. zstd -c FILE > {path}") from None
        n = join(args.inputs, args.output)
        log.info("joined %d file(s), %d lines", len(args.inputs), n)


if __name__ == "__main__":
    errors.run_main(main)
