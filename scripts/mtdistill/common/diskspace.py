"""Warn before a big step when the filesystem it writes to lacks the space it will need.

The job scripts that merge corpora (mtdistill.data.merge), split them into translation
chunks (mtdistill.distill.chunks split) and train (mtdistill.train.train) call job_check()
first. The need is estimated from the sizes of the step's inputs (compressed text is
counted at about 4x, as merge.py assumes); when the free space of the output's filesystem
is smaller, a warning goes to stderr (the job's log) and to Snakemake's console: the rules
open the console as file descriptor 3 (`--console-fd 3 3>&2 >>{log} 2>&1`). It only warns:
estimates are rough, and a full disk fails the step itself cleanly (outputs are written to
temporary names and renamed, so nothing half-written is kept).
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
          console_fd: int | None = None) -> bool:
    """True when there is room; otherwise warn on stderr and on the file descriptor
    `console_fd` (when given) and return False. `free`: pretend this many bytes are free."""
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
    if console_fd is not None:
        try:
            os.write(console_fd, (message + "\n").encode("utf-8"))
        except OSError:
            pass  # no console: the log has it
    return False


def add_console_option(parser: argparse.ArgumentParser) -> None:
    """The option of a job script naming Snakemake's console (see the module's doc)."""
    parser.add_argument(
        "--console-fd", type=int,
        help="file descriptor of Snakemake's console (the rule opens it: 3>&2): a low-disk "
        "warning goes there as well as to stderr (the job's log)")


def job_check(step: str, inputs: list[str], target: str, console_fd: int | None) -> bool:
    """check() at the start of a job script (missing inputs: None, skipped), then the
    console descriptor is closed: the script has nothing else to say there."""
    try:
        return check(step, [p for p in inputs if p], target, console_fd=console_fd)
    finally:
        if console_fd is not None:
            try:
                os.close(console_fd)
            except OSError:
                pass
