#!/usr/bin/env python3
"""Data path: the project's zstd text helpers against the `zstd` command line, same files.

    python benchmarks/data_path.py               # 2M lines (~250 MB of text)
    python benchmarks/data_path.py --lines 5000000

A deterministic corpus (Zipf-distributed words of a 50k-word lexicon with some Latin-1
letters, 4-34 words a line, ~124 bytes a line, compressing ~2.9x like real text) is
generated once; then, alternating helper and CLI `--reps` times (medians compared):

| operation | helper (scripts/) | zstd CLI baseline |
|---|---|---|
| write | `textio.write_lines(out.zst, lines)` | `zstd -6 -T1 -c corpus.txt > out.zst` |
| atomic_write | `with atomic_write(out.zst) as o: o.write(line + "\\n")` per line (chunks.py, clean.py) | same |
| read | `for line in textio.read_lines(c.zst)` | `zstd -dc c.zst > /dev/null` |
| count | `textio.count_lines(c.zst)` | `zstd -dc c.zst \\| wc -l` |
| join | `python scripts/mtdistill/distill/chunks.py join --inputs 10 chunks.zst --output out.zst` | `zstd -dc chunks.zst \\| zstd -6 -T1 -c > out.zst` |

Level 6 and one thread on both sides (textio's ZSTD_LEVEL and threads=0). The helper's
outputs are checked to decompress to the corpus. Each ratio (helper / CLI) must stay within
--threshold (1.5; --read-threshold sets `read`'s alone). The readers (read, count, join)
have `zstd -dc` decompress in a process of its own while Python decodes and splits the
blocks before, so on two free cores their wall time is about the larger of the two, not
the sum. `read` also prints its Python floor: turning the decompressed text into one `str`
per line with no per-line Python code (decode + split in textio.BLOCK_SIZE blocks of the
plain corpus, no decompression), which any line reader in Python pays and the CLI does not.
When the machine is busy, the two processes of the helper compete for the cores with
everything else while the CLI is one: compare with the load average printed first, and with
the CPU times printed for `read` (Python, zstd process, CLI), which load changes less.
"""

from __future__ import annotations

import argparse
import codecs
import hashlib
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import PY, SCRIPTS, header, median, save_json, verdict  # noqa: E402

import zstandard  # noqa: E402

ZSTD = shutil.which("zstd")


def generate_corpus(path: Path, n_lines: int, seed: int = 1) -> None:
    import numpy as np

    rng = np.random.default_rng(seed)
    letters = np.array(list("abcdefghijklmnopqrstuvwxyzéèàüöñ"))
    weights = np.array([8.0] * 26 + [0.3] * 6)
    weights /= weights.sum()
    lengths = rng.integers(1, 11, size=50_000)
    chars = rng.choice(letters, size=int(lengths.sum()), p=weights)
    words, pos = [], 0
    for n in lengths:
        words.append("".join(chars[pos : pos + n]))
        pos += n
    zipf = 1.0 / np.arange(1, len(words) + 1)
    zipf /= zipf.sum()
    line_lengths = rng.integers(4, 35, size=n_lines)
    with open(path, "w", encoding="utf-8", newline="\n") as out:
        batch = 100_000
        for start in range(0, n_lines, batch):
            sizes = line_lengths[start : start + batch]
            ids = rng.choice(len(words), size=int(sizes.sum()), p=zipf)
            rows, at = [], 0
            for n in sizes:
                rows.append(" ".join([words[i] for i in ids[at : at + n]]))
                at += n
            out.write("\n".join(rows) + "\n")


def children_cpu() -> float:
    """CPU seconds of the finished child processes so far (zstd, bash, wc)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def cli(cmd: str) -> float:
    start = time.perf_counter()
    subprocess.run(["bash", "-o", "pipefail", "-c", cmd], check=True)
    return time.perf_counter() - start


def digest_of_zst(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as raw:
        reader = zstandard.ZstdDecompressor().stream_reader(raw)
        while block := reader.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def digest_of_plain(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as raw:
        while block := raw.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def python_floor(path: Path, block_size: int) -> int:
    """Make one str per line of a plain text file with no per-line Python code."""
    n = 0
    decoder = codecs.getincrementaldecoder("utf-8")()
    rest = ""
    with open(path, "rb") as raw:
        while block := raw.read(block_size):
            lines = (rest + decoder.decode(block)).split("\n")
            rest = lines.pop()
            n += len(lines)
    return n + bool(rest)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--lines", type=int, default=2_000_000)
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--chunks", type=int, default=10, help="files joined by chunks.py join")
    p.add_argument("--threshold", type=float, default=1.5)
    p.add_argument("--read-threshold", type=float,
                   help="threshold of `read` alone (default: --threshold); see the Python floor it prints")
    p.add_argument("--keep", help="work in this directory and keep it")
    p.add_argument("--json", help="write the figures to this file")
    p.add_argument("--scripts", type=Path, default=SCRIPTS,
                   help="benchmark the textio.py/chunks.py of another copy of scripts/ (A/B)")
    args = p.parse_args(argv)
    sys.path.insert(0, str(args.scripts))
    from mtdistill.common import textio

    if not ZSTD:
        print("the zstd command line is not installed (apt-get install zstd)")
        return 2

    header(f"Data path: {args.scripts}/textio.py and chunks.py join vs. the zstd CLI ({args.lines:,} lines)")
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bench-data-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        corpus = work / "corpus.txt"
        start = time.perf_counter()
        generate_corpus(corpus, args.lines)
        size_mb = corpus.stat().st_size / 1e6
        compressed = work / "c.zst"
        subprocess.run([ZSTD, "-6", "-T1", "-q", "-f", str(corpus), "-o", str(compressed)], check=True)
        # The chunks chunks.py join reads (and the CLI decompresses), compressed by the CLI.
        parts = []
        with open(corpus, "rb") as src:
            per = -(-args.lines // args.chunks)
            for i in range(args.chunks):
                part = work / f"part{i:02d}.txt"
                with open(part, "wb") as dst:
                    for _ in range(per):
                        line = src.readline()
                        if not line:
                            break
                        dst.write(line)
                subprocess.run([ZSTD, "-6", "-T1", "-q", "-f", "--rm", str(part), "-o", str(part) + ".zst"], check=True)
                parts.append(str(part) + ".zst")
        with open(corpus, encoding="utf-8", newline="\n") as handle:
            lines = handle.read().split("\n")
        lines.pop()  # after the last newline
        print(f"   corpus: {size_mb:.0f} MB of text, {compressed.stat().st_size / 1e6:.0f} MB compressed,"
              f" {size_mb * 1e6 / args.lines:.0f} bytes a line (set up in {time.perf_counter() - start:.0f} s)")
        want = digest_of_plain(corpus)

        def helper_write():
            textio.write_lines(work / "h-write.zst", lines)

        def helper_atomic():
            with textio.atomic_write(work / "h-atomic.zst") as out:
                for line in lines:
                    out.write(line + "\n")

        def helper_read():
            n = 0
            for _ in textio.read_lines(compressed):
                n += 1
            assert n == args.lines, n

        def helper_count():
            assert textio.count_lines(compressed) == args.lines

        def helper_join():
            subprocess.run([PY, "-m", "mtdistill.distill.chunks", "join", "--inputs", *parts,
                            "--output", str(work / "h-join.zst")], check=True, capture_output=True)

        def floor_read():
            assert python_floor(corpus, textio.BLOCK_SIZE) == args.lines

        q = {k: str(v) for k, v in {"corpus": corpus, "c": compressed, "w": work}.items()}
        ops = [
            ("write", helper_write, f"zstd -6 -T1 -q -c {q['corpus']} > {q['w']}/cli-write.zst"),
            ("atomic_write", helper_atomic, f"zstd -6 -T1 -q -c {q['corpus']} > {q['w']}/cli-write.zst"),
            ("read", helper_read, f"zstd -dcq {q['c']} > /dev/null"),
            ("count", helper_count, f"zstd -dcq {q['c']} | wc -l > /dev/null"),
            ("join", helper_join, f"zstd -dcq {' '.join(parts)} | zstd -6 -T1 -q -c > {q['w']}/cli-join.zst"),
        ]
        times = {name: {"helper": [], "cli": []} for name, _, _ in ops}
        times["read"]["python_floor"] = []
        # CPU seconds of `read` (Python, child processes; the CLI's), which a loaded machine
        # changes much less than wall times: they say what two free cores would give.
        cpu = {"python": [], "children": [], "cli": []}
        for _ in range(args.reps):
            for name, helper, command in ops:
                start, python, children = time.perf_counter(), time.process_time(), children_cpu()
                helper()
                times[name]["helper"].append(time.perf_counter() - start)
                if name == "read":
                    cpu["python"].append(time.process_time() - python)
                    cpu["children"].append(children_cpu() - children)
                    children = children_cpu()
                times[name]["cli"].append(cli(command))
                if name == "read":
                    cpu["cli"].append(children_cpu() - children)
                if name == "read":
                    start = time.perf_counter()
                    floor_read()
                    times[name]["python_floor"].append(time.perf_counter() - start)
        for out in ("h-write.zst", "h-atomic.zst", "h-join.zst"):
            if digest_of_zst(work / out) != want:
                print(f"{out} does not decompress to the corpus")
                return 1
        print()
        print("| operation | helper (s) | zstd CLI (s) | ratio | helper MB/s | CLI MB/s |")
        print("|---|---|---|---|---|---|")
        ok, figures = True, {"lines": args.lines, "mb": size_mb, "ops": {}}
        for name, _, _ in ops:
            h, c = median(times[name]["helper"]), median(times[name]["cli"])
            figures["ops"][name] = {**times[name], "ratio": h / c}
            print(f"| {name} | {h:.2f} | {c:.2f} | {h / c:.2f} | {size_mb / h:.0f} | {size_mb / c:.0f} |")
        fl = median(times["read"]["python_floor"])
        print(f"read, Python floor (one str per line of the decompressed text, no per-line code): {fl:.2f} s,"
              f" {fl / median(times['read']['cli']):.2f}x the CLI; read_lines is"
              f" {median(times['read']['helper']) / fl:.2f}x that floor")
        print(f"read, CPU time: read_lines {median(cpu['python']):.2f} s in Python +"
              f" {median(cpu['children']):.2f} s in child processes (zstd -d); the CLI"
              f" {median(cpu['cli']):.2f} s")
        figures["read_cpu"] = cpu
        for name, _, _ in ops:
            limit = args.read_threshold if name == "read" and args.read_threshold else args.threshold
            ok &= verdict(f"data_path.{name}", figures["ops"][name]["ratio"], limit,
                          "helper / zstd CLI wall time")
        figures["read_python_floor_ratio"] = fl / median(times["read"]["cli"])
        save_json(args.json, figures)
        return 0 if ok else 1
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
