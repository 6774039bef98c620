#!/usr/bin/env python3
"""Merge datasets and remove duplicate lines (pairs), with bounded memory.

Lines are hash-partitioned into bucket files on disk, then each bucket is deduplicated with
a set of 16-byte digests. Memory is bounded by one bucket's digests (about 100 bytes per
line of the largest bucket), whatever the corpus size; the bucket count grows with the input.
The output order is the bucket order (a deterministic shuffle), which also mixes datasets.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import itertools
import math
import os
import sys
import tempfile
from pathlib import Path
from typing import Iterator

sys.path.insert(0, str(Path(__file__).resolve().parent))
from textio import atomic_write, read_lines, read_pairs  # noqa: E402

MAX_BUCKETS = 256
SEPARATOR = "\t"  # cleaned text never holds a tab


def digest(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest()


def bucket_count(paths: list[str], bucket_mb: int) -> int:
    """Buckets so that each holds about bucket_mb of text (zstd text shrinks ~4x)."""
    est = sum(os.path.getsize(p) * (4 if p.endswith((".zst", ".gz")) else 1) for p in paths)
    return max(1, min(MAX_BUCKETS, math.ceil(est / (bucket_mb * 2**20))))


def records(src_paths: list[str], trg_paths: list[str] | None) -> Iterator[str]:
    """Yield one record per line: the source line, or `src<TAB>trg` for parallel data."""
    if trg_paths is None:
        for path in src_paths:
            yield from read_lines(path)
        return
    if len(src_paths) != len(trg_paths):
        raise SystemExit("merge: as many target files as source files are needed")
    for src_path, trg_path in zip(src_paths, trg_paths):
        for src, trg in read_pairs(src_path, trg_path):
            yield src + SEPARATOR + trg


def dedup(items: Iterator[str], n_buckets: int, tmp_dir: str) -> Iterator[str]:
    """Unique records, bucket by bucket."""
    with tempfile.TemporaryDirectory(prefix="merge-", dir=tmp_dir) as work:
        paths = [os.path.join(work, f"{i}.txt") for i in range(n_buckets)]
        handles = [open(p, "w", encoding="utf-8", buffering=1 << 16) for p in paths]
        try:
            for item in items:
                key = digest(item)
                handles[int.from_bytes(key[:8], "little") % n_buckets].write(item + "\n")
        finally:
            for handle in handles:
                handle.close()
        for path in paths:
            seen: set[bytes] = set()
            with open(path, encoding="utf-8") as handle:
                for line in handle:
                    item = line.rstrip("\n")
                    key = digest(item)
                    if key in seen:
                        continue
                    seen.add(key)
                    yield item
            os.unlink(path)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--src-in", nargs="+", required=True)
    p.add_argument("--trg-in", nargs="+")
    p.add_argument("--src-out", required=True)
    p.add_argument("--trg-out")
    p.add_argument("--max-lines", type=int, default=0, help="keep at most this many (0: all)")
    p.add_argument("--bucket-mb", type=int, default=256)
    p.add_argument("--tmp-dir", default=None)
    args = p.parse_args(argv)
    parallel = bool(args.trg_in)
    if parallel != bool(args.trg_out):
        p.error("--trg-in and --trg-out go together")
    tmp_dir = args.tmp_dir or os.path.dirname(os.path.abspath(args.src_out))
    os.makedirs(tmp_dir, exist_ok=True)
    n_buckets = bucket_count(args.src_in + (args.trg_in or []), args.bucket_mb)
    unique = dedup(records(args.src_in, args.trg_in), n_buckets, tmp_dir)
    kept = 0
    with contextlib.ExitStack() as stack:
        out_src = stack.enter_context(atomic_write(args.src_out))
        out_trg = stack.enter_context(atomic_write(args.trg_out)) if parallel else None
        for item in itertools.islice(unique, args.max_lines or None):
            if out_trg:
                src, trg = item.split(SEPARATOR, 1)
                out_src.write(src + "\n")
                out_trg.write(trg + "\n")
            else:
                out_src.write(item + "\n")
            kept += 1
    print(f"merge: {kept} unique lines kept, {n_buckets} bucket(s)", file=sys.stderr)


if __name__ == "__main__":
    main()
