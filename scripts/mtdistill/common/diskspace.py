#!/usr/bin/env python3
"""Warn before a big step when the filesystem it writes to lacks the space it will need.

Rules call this just before merging corpora, splitting them into translation chunks and
training. The need is estimated from the sizes of the step's inputs (compressed text is
counted at about 4x, as scripts/merge.py assumes); when the free space of the output's
filesystem is smaller, a warning goes to stderr (Snakemake's console) and to the job's log.
It only warns: estimates are rough, and a full disk fails the step itself cleanly (outputs
are written to temporary names and renamed, so nothing half-written is kept).

Usage: diskspace.py {merge,split,train} --inputs F... --target PATH [--log FILE]
       [--free-bytes N]   (pretend N bytes are free: for tests)
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys

EXPANSION = 4  # zstd/gzip text shrinks about 4x
COMPRESSED = (".zst", ".gz")
MODEL = (".npz", ".bin")


def text_bytes(paths: list[str]) -> int:
    """Bytes of the inputs as plain text (missing files count as 0)."""
    total = 0
    for path in paths:
        if path.endswith(MODEL):
            continue
        try:
            size = os.path.getsize(path)
        except OSError:
            continue
        total += size * (EXPANSION if path.endswith(COMPRESSED) else 1)
    return total


def model_bytes(paths: list[str]) -> int:
    return sum(os.path.getsize(p) for p in paths if p.endswith(MODEL) and os.path.isfile(p))


def estimate(step: str, inputs: list[str]) -> int:
    """Bytes a step writes at its peak, from its inputs."""
    text = text_bytes(inputs)
    if step == "merge":
        # Plain-text hash buckets, then the compressed output (at most the inputs' size).
        return text + text // EXPANSION
    if step == "split":
        return text  # plain-text chunks
    if step == "train":
        # Plain copies of the corpora for Marian, Marian's shuffled temporary copy, and
        # the checkpoints of a downloaded start model (weights, 2x optimizer state, best).
        return 2 * text + 4 * model_bytes(inputs)
    raise ValueError(f"unknown step {step!r}: use merge, split or train")


def free_bytes(path: str) -> int:
    """Free bytes on the filesystem `path` is (or will be) on."""
    path = os.path.abspath(path)
    while not os.path.exists(path):
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    return shutil.disk_usage(path).free


def human(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    raise AssertionError


def check(step: str, inputs: list[str], target: str, free: int | None = None,
          log: str | None = None) -> bool:
    """True when there is room; otherwise warn on stderr and in `log` and return False."""
    need = estimate(step, inputs)
    free = free_bytes(target) if free is None else free
    if free >= need:
        return True
    message = (
        f"WARNING: low disk space for {step} -> {target}: about {human(need)} needed "
        f"(estimated from {len(inputs)} input file(s)), {human(free)} free. Free some "
        "space, or run in a work directory (-d) on a bigger filesystem, before this fails."
    )
    print(message, file=sys.stderr, flush=True)
    if log:
        os.makedirs(os.path.dirname(os.path.abspath(log)), exist_ok=True)
        with open(log, "a", encoding="utf-8") as handle:
            handle.write(message + "\n")
    return False


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("step", choices=("merge", "split", "train"))
    p.add_argument("--inputs", nargs="*", default=[])
    p.add_argument("--target", required=True, help="an output of the step (may not exist yet)")
    p.add_argument("--log", help="also append a warning to this file")
    p.add_argument("--free-bytes", type=int, help="pretend this many bytes are free (tests)")
    args = p.parse_args(argv)
    check(args.step, args.inputs, args.target, free=args.free_bytes, log=args.log)
    return 0  # a warning, never a failure


if __name__ == "__main__":
    sys.exit(main())
