#!/usr/bin/env python3
"""Merge datasets, remove duplicates, shuffle, and sample, streaming with bounded memory.

1. Partition: every record (a monolingual line, or a pair as `src<TAB>trg`) is appended to
   one of B bucket files on disk, chosen by a hash of its dedup key (the whole record, or
   with --dedup source the source side only) salted with --seed. Duplicates land in the
   same bucket; buckets are random subsets of the corpus. Lines of --exclude files (the
   parallel corpus side, for monolingual data) go to bucket files of their own, by the same
   hash.
2. Per bucket, in memory: drop the records whose key was seen before in the bucket (the
   first occurrence stays) or occurs in the bucket's excluded lines, then shuffle what is
   left (a numpy permutation seeded by --seed and the bucket), unless --no-shuffle.
3. --max-lines K below the number of unique records: a uniform sample of exactly K of them
   (selection sampling, Knuth's algorithm S, over the shuffled buckets written back to disk),
   in shuffled order.

The output is the buckets one after the other: a permutation of the unique records, the
same for the same inputs and seed. B grows with the input so that a bucket holds about
--bucket-mb of text (input size estimated, compressed files counted 4x; capped at
MAX_BUCKETS and by the open-file limit); a bucket that still comes out over 1.5x that is
partitioned again before it is loaded.

Memory bound: one bucket at a time. Peak RSS is about 40 MB (interpreter, zstd, buffers)
plus ~4x the text of the bucket being processed (its records as bytes objects, their dict
and list slots, allocator slack); excluded lines are streamed, not held. As a bucket holds
at most 1.5x --bucket-mb, the bound is 40 MB + 6 x --bucket-mb: under 0.43 GB at the
default 64, whatever the corpus size (benchmarks/clean_dedup.py measures it at 1M and 10M
pairs). Disk: the input uncompressed, once (twice when sampling), in --tmp-dir. Records
are handled as bytes (the cleaned inputs are UTF-8 and hold no tab).
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import itertools
import logging
import math
import operator
import os
import random
import resource
import zlib
from typing import IO, Iterable, Iterator

import numpy as np
import zstandard

from mtdistill.common import diskspace, errors
from mtdistill.common.errors import InputError
from mtdistill.common.textio import ZSTD_LEVEL, LineCountMismatch, atomic_path, scratch_dir

log = logging.getLogger("merge")

MAX_BUCKETS = 4096
SEPARATOR = b"\t"  # cleaned text never holds a tab
BLOCK = 1 << 20
# Bytes of write buffer all bucket files share (each gets a part, 8 KiB to 1 MiB).
BUFFERS = 64 << 20
WRITE_RECORDS = 50_000  # records joined per output write
BATCH = 50_000  # records handled together on the way into the buckets


def _open_binary(path: str) -> IO[bytes]:
    if path.endswith(".zst"):
        return zstandard.ZstdDecompressor().stream_reader(open(path, "rb"), closefd=True)
    if path.endswith(".gz"):
        return gzip.open(path, "rb")
    return open(path, "rb")


def read_blocks(path: str, forbid_tab: bool = False) -> Iterator[list[bytes]]:
    """The lines of a plain, .gz or .zst file as bytes without their newline, in lists of
    about BLOCK bytes (a last line without a newline counts)."""
    rest = b""
    with _open_binary(path) as handle:
        while data := handle.read(BLOCK):
            if forbid_tab and SEPARATOR in data:  # one scan a block, not one a line
                raise InputError(
                    f"merge: a line of {path} holds a tab: merge cleaned data (scripts/mtdistill/data/clean.py "
                    "turns tabs into spaces)"
                )
            lines = (rest + data).split(b"\n")
            rest = lines.pop()
            yield lines
    if rest:
        yield [rest]


def mono_batches(path: str) -> Iterator[list[bytes]]:
    """Lists of the lines of a file as bytes, each ending with a newline."""
    for block in read_blocks(path):
        yield [line + b"\n" for line in block]


def pair_batches(src_path: str, trg_path: str) -> Iterator[list[bytes]]:
    """Lists of `src<TAB>trg<NEWLINE>` records of two line-parallel files."""
    sources = itertools.chain.from_iterable(read_blocks(src_path, forbid_tab=True))
    targets = itertools.chain.from_iterable(read_blocks(trg_path, forbid_tab=True))
    while True:
        src, trg = list(itertools.islice(sources, BATCH)), list(itertools.islice(targets, BATCH))
        if len(src) != len(trg):
            raise LineCountMismatch(
                f"merge: line counts differ between {src_path} and {trg_path}: the two sides "
                "of a parallel corpus must have one line per sentence"
            )
        if not src:
            return
        yield [b"%b\t%b\n" % pair for pair in zip(src, trg)]


@contextlib.contextmanager
def write_binary(path: str) -> Iterator[IO[bytes]]:
    """A binary stream compressed by suffix, renamed into place on success."""
    with atomic_path(path) as tmp, open(tmp, "wb") as raw:
        if path.endswith(".zst"):
            # One thread: zstd's worker thread (threads=1) costs ~55 MB a stream, and
            # gained nothing measurable on 2 cores (the workflow gives merging one core).
            cctx = zstandard.ZstdCompressor(level=ZSTD_LEVEL)
            with cctx.stream_writer(raw, closefd=False) as out:
                yield out
        elif path.endswith(".gz"):
            with gzip.GzipFile(fileobj=raw, mode="wb") as out:
                yield out
        else:
            yield raw


def bucket_count(paths: list[str], bucket_mb: int) -> int:
    """Buckets so that each holds about bucket_mb of text (zstd/gzip text shrinks ~4x)."""
    est = sum(os.path.getsize(p) * (4 if p.endswith((".zst", ".gz")) else 1) for p in paths)
    return max(1, min(MAX_BUCKETS, open_file_room(), math.ceil(est / (bucket_mb * 2**20))))


def open_file_room() -> int:
    """How many bucket files can be open at once (the soft limit raised to the hard one)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = MAX_BUCKETS + 64
    if soft != resource.RLIM_INFINITY and soft < want:
        new = want if hard == resource.RLIM_INFINITY else min(want, hard)
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if soft == resource.RLIM_INFINITY:
        return MAX_BUCKETS
    return max(1, soft - 64)  # the rest: inputs, outputs, Python's own


def source_key(record: bytes) -> bytes:
    return record.split(SEPARATOR, 1)[0]


class Partition:
    """Records (newline included) spread over bucket files by a salted hash of their key."""

    def __init__(self, work: str, name: str, n_buckets: int, salt: int, key=None):
        self.paths = [os.path.join(work, f"{name}.{i}") for i in range(n_buckets)]
        self.counts = [0] * n_buckets
        self.salt, self.key = salt, key
        buffering = min(1 << 20, max(8192, BUFFERS // n_buckets))
        self.handles = [open(p, "wb", buffering=buffering) for p in self.paths]

    @property
    def count(self) -> int:
        return sum(self.counts)

    def add(self, batches: Iterable[list[bytes]]) -> None:
        handles, counts, n, salt, key = self.handles, self.counts, len(self.handles), self.salt, self.key
        crc32 = zlib.crc32
        for batch in batches:
            if n == 1:
                handles[0].writelines(batch)
                counts[0] += len(batch)
                continue
            keys = map(key, batch) if key else batch
            groups: dict[int, list[bytes]] = {}
            for record, digest in zip(batch, [crc32(k, salt) for k in keys]):
                groups.setdefault(digest % n, []).append(record)
            for i, group in groups.items():
                handles[i].writelines(group)
                counts[i] += len(group)

    def close(self) -> None:
        for handle in self.handles:
            handle.close()


def read_bucket(path: str) -> Iterator[list[bytes]]:
    """The records of a bucket file (newline included) in lists; the file is then removed."""
    with open(path, "rb", buffering=BLOCK) as handle:
        while batch := handle.readlines(BLOCK):
            yield batch
    os.unlink(path)


def unique_bucket(path: str, count: int, exclude_path: str | None, key, seed: str | None,
                  stats: dict) -> list[bytes]:
    """The bucket's records minus duplicates (the first stays) and excluded ones, shuffled
    (seeded by `seed`; None: not shuffled)."""
    records = itertools.chain.from_iterable(read_bucket(path))
    if key is None:
        kept = dict.fromkeys(records)  # C speed: no Python code per record
    else:
        kept = {}
        for record in records:
            kept.setdefault(key(record), record)
    stats["duplicates"] += count - len(kept)
    if exclude_path:
        before = len(kept)
        for batch in read_bucket(exclude_path):
            for line in batch:
                kept.pop(line, None)
        stats["excluded"] += before - len(kept)
    unique = list(kept) if key is None else list(kept.values())
    del kept
    if seed is not None and len(unique) > 1:
        order = np.random.default_rng(zlib.crc32(seed.encode())).permutation(len(unique))
        unique = list(operator.itemgetter(*order.tolist())(unique))
    return unique


def split_oversized(part: Partition, i: int, excl: Partition | None, label: str, limit: int,
                    work: str, depth: int = 0) -> Iterator[tuple[str, int, str | None, str]]:
    """(bucket, its records, its excluded lines, label) pieces of bucket i of `part` of at
    most about `limit` bytes: a bigger bucket is partitioned again with another salt
    (duplicates still meet)."""
    path, exclude_path = part.paths[i], excl.paths[i] if excl else None
    size = os.path.getsize(path)
    if not limit or size <= limit or depth >= 3:
        yield path, part.counts[i], exclude_path, label
        return
    n = min(MAX_BUCKETS, open_file_room(), math.ceil(size / (limit / 1.5)))
    salt = zlib.crc32(f"{part.salt}-{label}".encode())
    sub = Partition(work, f"in.{label}", n, salt, part.key)
    try:
        sub.add(read_bucket(path))
    finally:
        sub.close()
    sub_excl = None
    if exclude_path:
        sub_excl = Partition(work, f"exclude.{label}", n, salt)
        try:
            sub_excl.add(read_bucket(exclude_path))
        finally:
            sub_excl.close()
    for j in range(n):
        yield from split_oversized(sub, j, sub_excl, f"{label}.{j}", limit, work, depth + 1)


def merge(
    batches: Iterable[list[bytes]],
    write,
    *,
    tmp_dir: str,
    n_buckets: int,
    seed: int = 1,
    by_source: bool = False,
    shuffle: bool = True,
    max_lines: int = 0,
    exclude: Iterable[list[bytes]] = (),
    bucket_bytes: int = 0,
) -> dict:
    """Dedup, shuffle and sample records (bytes ending with a newline, given in lists);
    write(list of records) receives the output in order. `exclude`: lists of lines to drop. A bucket over 1.5 x bucket_bytes (the input size was misjudged) is split again
    before it is loaded (0: never). Returns counts: input, duplicates, excluded,
    sampled-out, output."""
    key = source_key if by_source else None
    salt = zlib.crc32(f"merge-seed-{seed}".encode())
    stats = {"input": 0, "duplicates": 0, "excluded": 0, "sampled-out": 0, "output": 0}
    # Buckets hold the whole corpus: a killed run's are removed by the next merge.
    with scratch_dir(os.path.join(tmp_dir, "merge")) as work:
        part = Partition(work, "in", n_buckets, salt, key)
        excl = Partition(work, "exclude", n_buckets, salt) if exclude else None
        try:
            part.add(batches)
            if excl:
                excl.add(exclude)
        finally:
            part.close()
            if excl:
                excl.close()
        stats["input"] = part.count
        # Sampling needs the number of unique records first: the buckets are written back.
        sampling = 0 < max_lines < part.count
        written_back = []
        pieces = (
            piece
            for i in range(n_buckets)
            for piece in split_oversized(part, i, excl, str(i), int(1.5 * bucket_bytes), work)
        )
        for path, count, exclude_path, label in pieces:
            unique = unique_bucket(path, count, exclude_path, key,
                                   f"{seed}-{label}" if shuffle else None, stats)
            if sampling:
                back = os.path.join(work, f"unique.{label}")
                with open(back, "wb", buffering=BLOCK) as out:
                    out.writelines(unique)
                written_back.append(back)
            else:
                write(unique)
                stats["output"] += len(unique)
        if sampling:
            left = part.count - stats["duplicates"] - stats["excluded"]
            need = min(max_lines, left)
            stats["sampled-out"] = left - need
            rng = random.Random(f"{seed}-sample")
            for path in written_back:
                chosen = []
                for record in itertools.chain.from_iterable(read_bucket(path)):
                    # Algorithm S: each record is taken with probability need/left, which
                    # makes every subset of max_lines records equally likely.
                    if rng.random() * left < need:
                        chosen.append(record)
                        need -= 1
                    left -= 1
                write(chosen)
                stats["output"] += len(chosen)
    return stats


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--src-in", nargs="+", required=True)
    p.add_argument("--trg-in", nargs="+")
    p.add_argument("--src-out", required=True)
    p.add_argument("--trg-out")
    p.add_argument("--exclude", nargs="*", default=[],
                   help="monolingual only: drop lines that occur in these files")
    p.add_argument("--max-lines", type=int, default=0, help="a uniform sample of this many (0: all)")
    p.add_argument("--dedup", choices=["pairs", "source"], default="pairs",
                   help="pairs: exact duplicate pairs; source: also pairs repeating a source side")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--shuffle", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument("--bucket-mb", type=int, default=64)
    p.add_argument("--tmp-dir", default=None, help="bucket files (default: next to --src-out)")
    diskspace.add_console_option(p)
    args = p.parse_args(argv)
    parallel = bool(args.trg_in)
    if parallel != bool(args.trg_out):
        p.error("--trg-in and --trg-out go together")
    if parallel and len(args.src_in) != len(args.trg_in):
        p.error("as many --trg-in files as --src-in files are needed")
    if parallel and args.exclude:
        p.error("--exclude applies to monolingual data")
    if not parallel and args.dedup == "source":
        p.error("--dedup source needs parallel data")
    # First, before anything is written: warn when the disk looks too small for this.
    diskspace.job_check("merge", args.src_in + (args.trg_in or []) + args.exclude, args.src_out,
                        args.console_fd)
    tmp_dir = args.tmp_dir or os.path.dirname(os.path.abspath(args.src_out))
    os.makedirs(tmp_dir, exist_ok=True)
    n_buckets = bucket_count(args.src_in + (args.trg_in or []) + args.exclude, args.bucket_mb)
    if parallel:
        records = itertools.chain.from_iterable(
            pair_batches(s, t) for s, t in zip(args.src_in, args.trg_in)
        )
    else:
        records = itertools.chain.from_iterable(mono_batches(s) for s in args.src_in)
    exclude = itertools.chain.from_iterable(mono_batches(e) for e in args.exclude)
    with contextlib.ExitStack() as stack:
        out_src = stack.enter_context(write_binary(args.src_out))
        out_trg = stack.enter_context(write_binary(args.trg_out)) if parallel else None

        def write(chunk: list[bytes]) -> None:
            for start in range(0, len(chunk), WRITE_RECORDS):
                text = b"".join(chunk[start : start + WRITE_RECORDS])
                if out_trg is None:
                    out_src.write(text)
                else:  # `src<TAB>trg` lines: every other field is a source, in C
                    fields = text.replace(SEPARATOR, b"\n").split(b"\n")
                    out_src.write(b"\n".join(fields[0:-1:2]) + b"\n")
                    out_trg.write(b"\n".join(fields[1:-1:2]) + b"\n")

        stats = merge(records, write, tmp_dir=tmp_dir, n_buckets=n_buckets, seed=args.seed,
                      by_source=args.dedup == "source", shuffle=args.shuffle,
                      max_lines=args.max_lines, exclude=exclude if args.exclude else (),
                      bucket_bytes=args.bucket_mb * 2**20)
    log.info(
        f"merge: {stats['input']} lines in, {stats['duplicates']} duplicates, {stats['excluded']}"
        f" in --exclude, {stats['sampled-out']} left out by sampling, {stats['output']} written;"
        f" {n_buckets} bucket(s)"
    )


if __name__ == "__main__":
    errors.run_main(main)
