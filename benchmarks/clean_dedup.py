#!/usr/bin/env python3
"""Clean + dedup at scale: scripts/mtdistill/data/clean.py and scripts/mtdistill/data/merge.py on a synthetic parallel
corpus of 10M pairs, against the simplest correct shell baselines on the same files.

    python benchmarks/clean_dedup.py                    # 10M pairs, and 1M for memory
    python benchmarks/clean_dedup.py --pairs 200000 --keep /tmp/cd   # a quick look

Corpus (numpy, vectorized; deterministic by --seed, in blocks of 250,000 pairs, so the 1x
corpus is the first tenth of the 10x one; cached in --keep DIR): a synthetic en-de pair over a 6,000-word
lexicon (Latin letters, German-like umlauts and ß on the target side, 50 number tokens
copied across), 3-30 words a sentence, the target a word-by-word image of the source.
Mixed in, like a web-crawled corpus: ~10% duplicate pairs repeating a pair of the same
block, ~5% from a pool of 2,000 boilerplate pairs repeated corpus-wide, and ~8% dirty
pairs (an empty side, over 150 words, identical sides, numbers that disagree, a Cyrillic
target, a one-word target).

Measured, each once, with its peak memory (the whole process tree's RSS, polled every
50 ms, and the largest single process's from wait4):

| step | the project (as the workflow runs it) | baseline |
|---|---|---|
| clean | `clean.py` with the default config's filters (NFC, 1-150 words, 1500 chars, ratio 3, identical, numbers, script share 0.5; langid off: the text is synthetic) and `--workers W` | `paste` + `mawk` doing the Moses `clean-corpus-n` filters only (empty, 1-150 words, ratio 3) plus identical pairs, writing both sides through `zstd -6` |
| dedup | `merge.py` (dedup by pair and shuffle, `--bucket-mb 64`) on the cleaned files | `paste \\| LC_ALL=C sort -u -S 1G --parallel=W -T DIR` split back by `mawk` into `zstd -6` on the same cleaned files: the simplest correct exact dedup; `-S 1G` (sort's buffer; GNU sort's own default is a share of RAM) and `--parallel` are set explicitly so the baseline's memory and cores are the stated ones |

Both dedups must agree on the number of unique pairs. Ratios: time / baseline's time for
clean, dedup and both; memory: merge.py's peak at 10x the pairs over its peak at 1x
(--growth-threshold) and against the stated bound (--memory-bound-mb, from merge.py's
docstring: one bucket in memory). The run exits 1 when a ratio or bound is passed.
Every step is run on --small-pairs (1x) and --pairs (10x).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import PY, SCRIPTS, add_gate_flag, header, save_json, verdict  # noqa: E402

BLOCK_PAIRS = 250_000
CLEAN_OPTIONS = [
    "--src-lang", "en", "--trg-lang", "de", "--normalization", "NFC", "--min-words", "1",
    "--max-words", "150", "--max-chars", "1500", "--max-ratio", "3", "--drop-identical",
    "--numbers", "--min-script-share", "0.5", "--langid", "off",
]
# The baseline cleaner: Moses clean-corpus-n's length and ratio rules, plus identical pairs.
AWK_CLEAN = r"""
{ n = split($1, a, " "); m = split($2, b, " ");
  if (n < 1 || m < 1 || n > 150 || m > 150 || n > 3 * m || m > 3 * n || $1 == $2) next;
  print $1 | src; print $2 | trg }
END { close(src); close(trg) }
"""
AWK_SPLIT = r"""{ print $1 | src; print $2 | trg } END { close(src); close(trg) }"""


# --- the corpus ---------------------------------------------------------------------------


def _lexicon(rng, size, syllables, extra=()):
    import numpy as np

    words = set()
    while len(words) < size:
        words.add("".join(rng.choice(syllables, rng.integers(1, 5))))  # 16^4 > 6,000
    words = sorted(words)
    rng.shuffle(words)
    words[: len(extra)] = extra
    return np.array([w.encode() for w in words], dtype=object)


def corpus_block(seed: int, index: int, size: int, tables) -> tuple[bytes, bytes]:
    """Block `index` of the corpus: `size` pairs as two texts of lines."""
    import numpy as np

    src_tab, trg_tab, lex, pool_src, pool_trg, cyrillic = tables
    vocab = len(lex)
    rng = np.random.default_rng([seed, index])
    lengths = rng.integers(3, 31, size)
    ids = rng.integers(0, vocab, int(lengths.sum()))
    last = np.zeros(len(ids), dtype=np.int64)
    last[np.cumsum(lengths) - 1] = vocab  # the second half of a table ends words with \n
    src = np.array(b"".join(src_tab[ids + last]).split(b"\n")[:-1], dtype=object)
    trg = np.array(b"".join(trg_tab[lex[ids] + last]).split(b"\n")[:-1], dtype=object)
    # Duplicates: 10% repeat a pair of this block, 5% come from the boilerplate pool.
    picks = rng.random(size)
    repeat = np.flatnonzero(picks < 0.10)
    origin = rng.integers(0, size, len(repeat))
    src[repeat], trg[repeat] = src[origin], trg[origin]
    boiler = np.flatnonzero((picks >= 0.10) & (picks < 0.15))
    which = rng.integers(0, len(pool_src), len(boiler))
    src[boiler], trg[boiler] = pool_src[which], pool_trg[which]
    # Dirty pairs: 8%, six kinds.
    dirty = np.flatnonzero((picks >= 0.15) & (picks < 0.23))
    kinds = rng.integers(0, 6, len(dirty))
    for i, kind in zip(dirty.tolist(), kinds.tolist()):
        if kind == 0:
            trg[i] = b""
        elif kind == 1:
            src[i] = b" ".join([src[i]] * 12)
        elif kind == 2:
            trg[i] = src[i]
        elif kind == 3:
            src[i] += b" 1999"
            trg[i] += b" 2001"
        elif kind == 4:
            trg[i] = cyrillic[i % len(cyrillic)]
        else:
            trg[i] = trg[i].split(b" ", 1)[0]
    return b"\n".join(src) + b"\n", b"\n".join(trg) + b"\n"


def generate(directory: Path, pairs: int, seed: int) -> tuple[Path, Path]:
    """Write (or reuse) corpus.en.zst / corpus.de.zst of `pairs` pairs."""
    import numpy as np
    import zstandard

    src_path, trg_path = directory / "corpus.en.zst", directory / "corpus.de.zst"
    stamp = directory / "corpus.json"
    spec = {"pairs": pairs, "seed": seed, "block": BLOCK_PAIRS, "version": 2}
    if stamp.exists() and json.loads(stamp.read_text()) == spec and src_path.exists():
        print(f"   corpus: reusing {directory} ({pairs:,} pairs)")
        return src_path, trg_path
    directory.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    rng = np.random.default_rng(seed)
    numbers = [str(n) for n in range(1, 51)]
    src_words = _lexicon(rng, 6000, ["ka", "te", "ri", "on", "sa", "mel", "dor", "vin", "al",
                                      "es", "tru", "po", "lan", "ge", "wi", "ber"], numbers)
    trg_words = _lexicon(rng, 6000, ["ke", "ta", "rü", "un", "sä", "mal", "dör", "wen", "ßa",
                                      "en", "tro", "pu", "len", "gi", "wö", "bar"], numbers)
    # A one-to-one lexicon; the number tokens (first 50) translate to themselves.
    lex = np.concatenate([np.arange(50), 50 + rng.permutation(len(src_words) - 50)])
    src_tab = np.concatenate([src_words + b" ", src_words + b"\n"])
    trg_tab = np.concatenate([trg_words + b" ", trg_words + b"\n"])
    pool = [b" ".join(src_words[rng.integers(50, 6000, rng.integers(2, 8))]) for _ in range(2000)]
    pool_src = np.array(pool, dtype=object)
    index = {w: i for i, w in enumerate(src_words.tolist())}
    pool_trg = np.array([b" ".join(trg_words[lex[[index[w] for w in p.split()]]]) for p in pool],
                        dtype=object)
    cyrillic = [("Это русское предложение номер %d без перевода" % k).encode() for k in range(100)]
    tables = (src_tab, trg_tab, lex, pool_src, pool_trg, cyrillic)
    cctx = zstandard.ZstdCompressor(level=3, threads=-1)
    with open(src_path, "wb") as raw_s, open(trg_path, "wb") as raw_t, \
            cctx.stream_writer(raw_s, closefd=False) as out_s, \
            zstandard.ZstdCompressor(level=3, threads=-1).stream_writer(raw_t, closefd=False) as out_t:
        block = min(BLOCK_PAIRS, pairs)  # small corpora: one block of their size
        for index in range(-(-pairs // block)):
            src, trg = corpus_block(seed, index, block, tables)
            take = min(block, pairs - index * block)
            if take < block:  # a last, partial block: its first `take` lines
                src = b"\n".join(src.split(b"\n")[:take]) + b"\n"
                trg = b"\n".join(trg.split(b"\n")[:take]) + b"\n"
            out_s.write(src)
            out_t.write(trg)
    stamp.write_text(json.dumps(spec))
    size = src_path.stat().st_size + trg_path.stat().st_size
    print(f"   corpus: {pairs:,} pairs generated in {time.perf_counter() - start:.1f} s "
          f"({size / 2**20:.0f} MB compressed) in {directory}")
    return src_path, trg_path


# --- measuring ----------------------------------------------------------------------------


def _tree_memory_kb(root: int) -> tuple[int, int]:
    """(summed PSS, largest RSS) in kB of `root` and its descendants, from /proc. PSS, not
    RSS: forked workers share pages with their parent, which RSS would count again."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", "rb") as handle:
                    ppid = int(handle.read().rsplit(b")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    pss = largest = 0
    todo = [root]
    while todo:
        pid = todo.pop()
        todo.extend(children.get(pid, []))
        try:
            with open(f"/proc/{pid}/smaps_rollup", "rb") as handle:
                fields = dict(line.split(b":", 1) for line in handle.read().splitlines()[1:])
        except (OSError, ValueError):
            continue
        pss += int(fields[b"Pss"].split()[0])
        largest = max(largest, int(fields[b"Rss"].split()[0]))
    return pss, largest


def run(cmd, label: str, shell: bool = False) -> dict:
    """Run a command: its wall time, and the peaks of its process tree's memory (polled
    every 50 ms: summed PSS, and the RSS of its largest process)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, shell=shell, executable="/bin/bash" if shell else None,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = [0, 0]
    done = threading.Event()

    def poll():
        while not done.is_set():
            pss, largest = _tree_memory_kb(proc.pid)
            peak[0], peak[1] = max(peak[0], pss), max(peak[1], largest)
            done.wait(0.05)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    stderr = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)  # CPU time of the whole tree (all reaped)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    done.set()
    poller.join()
    if proc.returncode:
        raise SystemExit(f"{label} failed ({proc.returncode}):\n{stderr.decode()[-3000:]}")
    return {"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime,
            "peak_tree_mb": peak[0] / 1024, "peak_process_mb": peak[1] / 1024,
            "stderr": stderr.decode()[-2000:]}


def count_lines(path: Path) -> int:
    out = subprocess.run(f"zstd -dcq {path} | wc -l", shell=True, capture_output=True, text=True, check=True)
    return int(out.stdout)


def measure(src: Path, trg: Path, work: Path, pairs: int, workers: int, bucket_mb: int,
            block_lines: int) -> dict:
    work.mkdir(parents=True, exist_ok=True)
    c_src, c_trg = work / "clean.en.zst", work / "clean.de.zst"
    results = {"pairs": pairs}
    results["clean"] = run(
        [PY, "-m", "mtdistill.data.clean", "--src-in", str(src), "--trg-in", str(trg),
         "--src-out", str(c_src), "--trg-out", str(c_trg), "--stats", str(work / "clean.json"),
         *CLEAN_OPTIONS, "--workers", str(workers), "--block-lines", str(block_lines)], "clean.py")
    results["clean"]["stats"] = json.loads((work / "clean.json").read_text())
    results["clean_baseline"] = run(
        f"paste <(zstd -dcq {src}) <(zstd -dcq {trg}) | LC_ALL=C mawk -F'\\t'"
        f" -v src='zstd -6 -q -o {work}/awk.en.zst' -v trg='zstd -6 -q -o {work}/awk.de.zst'"
        f" '{AWK_CLEAN}'", "awk clean", shell=True)
    results["clean_baseline"]["kept"] = count_lines(work / "awk.en.zst")
    results["dedup"] = run(
        [PY, "-m", "mtdistill.data.merge", "--src-in", str(c_src), "--trg-in", str(c_trg),
         "--src-out", str(work / "merged.en.zst"), "--trg-out", str(work / "merged.de.zst"),
         "--bucket-mb", str(bucket_mb), "--tmp-dir", str(work)], "merge.py")
    sort_tmp = work / "sort-tmp"
    sort_tmp.mkdir(exist_ok=True)
    results["dedup_baseline"] = run(
        f"paste <(zstd -dcq {c_src}) <(zstd -dcq {c_trg})"
        f" | LC_ALL=C sort -u -S 1G --parallel={workers} -T {sort_tmp}"
        f" | LC_ALL=C mawk -F'\\t' -v src='zstd -6 -q -o {work}/sorted.en.zst'"
        f" -v trg='zstd -6 -q -o {work}/sorted.de.zst' '{AWK_SPLIT}'", "sort -u", shell=True)
    ours, theirs = count_lines(work / "merged.en.zst"), count_lines(work / "sorted.en.zst")
    if ours != theirs or ours != count_lines(work / "merged.de.zst"):
        raise SystemExit(f"merge.py kept {ours:,} pairs, sort -u {theirs:,}: they must agree")
    results["dedup"]["unique"] = ours
    for name in ("awk.en.zst", "awk.de.zst", "sorted.en.zst", "sorted.de.zst", "merged.en.zst",
                 "merged.de.zst", "clean.en.zst", "clean.de.zst"):
        (work / name).unlink(missing_ok=True)
    return results


def report(r: dict) -> None:
    n = r["pairs"]
    print(f"   {n:,} pairs:")
    for key, what in (("clean", "clean.py"), ("clean_baseline", "mawk clean"), ("dedup", "merge.py"),
                      ("dedup_baseline", "sort -u")):
        m = r[key]
        print(f"     {what:11s} {m['wall_s']:7.1f} s ({m['cpu_s']:6.1f} s CPU)  {n / m['wall_s']:9,.0f} pairs/s  peak"
              f" {m['peak_tree_mb']:6.0f} MB (tree PSS), {m['peak_process_mb']:6.0f} MB (largest process)")
    kept = r["clean"]["stats"]["kept"]
    print(f"     clean.py kept {kept:,} ({kept / n:.1%}); mawk kept {r['clean_baseline']['kept']:,};"
          f" unique after dedup {r['dedup']['unique']:,}")
    print(f"     clean.py drops: " + ", ".join(f"{k} {v:,}" for k, v in r["clean"]["stats"].items()
                                               if k not in ("input", "kept")))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--pairs", type=int, default=10_000_000, help="the 10x size")
    p.add_argument("--small-pairs", type=int, default=0, help="the 1x size (default: pairs / 10)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--workers", type=int, default=2, help="clean.py workers, sort --parallel")
    p.add_argument("--bucket-mb", type=int, default=64, help="merge.py's (the workflow's default)")
    p.add_argument("--block-lines", type=int, default=20000, help="clean.py's (its default)")
    p.add_argument("--keep", help="generate (or reuse) the corpora and outputs here")
    p.add_argument("--json", help="write the figures here")
    p.add_argument("--clean-threshold", type=float, default=6.0,
                   help="clean.py time / mawk time (clean.py applies more filters)")
    p.add_argument("--dedup-threshold", type=float, default=2.5, help="merge.py time / sort -u time")
    p.add_argument("--growth-threshold", type=float, default=1.5,
                   help="merge.py peak RSS at 10x / at 1x")
    p.add_argument("--memory-bound-mb", type=float, default=0,
                   help="merge.py's stated bound (default: 40 + 6 x bucket-mb)")
    add_gate_flag(p)
    args = p.parse_args(argv)
    small = args.small_pairs or max(1, args.pairs // 10)
    bound = args.memory_bound_mb or 40 + 6 * args.bucket_mb
    for tool in ("zstd", "mawk", "paste", "sort"):
        if not shutil.which(tool):
            raise SystemExit(f"clean_dedup: `{tool}` is needed (apt-get install zstd mawk coreutils)")
    header(f"clean + dedup: {args.pairs:,} pairs (and {small:,}), {args.workers} workers")
    keep = Path(args.keep) if args.keep else None
    base = keep or Path(tempfile.mkdtemp(prefix="clean-dedup-"))
    try:
        runs = {}
        for label, pairs in (("1x", small), ("10x", args.pairs)):
            src, trg = generate(base / f"corpus-{pairs}", pairs, args.seed)
            runs[label] = measure(src, trg, base / f"work-{pairs}", pairs, args.workers, args.bucket_mb,
                                  args.block_lines)
            report(runs[label])
    finally:
        if not keep:
            shutil.rmtree(base, ignore_errors=True)
    big, little = runs["10x"], runs["1x"]
    clean_ratio = big["clean"]["wall_s"] / big["clean_baseline"]["wall_s"]
    dedup_ratio = big["dedup"]["wall_s"] / big["dedup_baseline"]["wall_s"]
    both = (big["clean"]["wall_s"] + big["dedup"]["wall_s"]) / (
        big["clean_baseline"]["wall_s"] + big["dedup_baseline"]["wall_s"])
    growth = big["dedup"]["peak_tree_mb"] / little["dedup"]["peak_tree_mb"]
    clean_growth = big["clean"]["peak_tree_mb"] / little["clean"]["peak_tree_mb"]
    ok = all([
        verdict("clean", clean_ratio, args.clean_threshold,
                f"clean.py {big['clean']['wall_s']:.1f} s / mawk {big['clean_baseline']['wall_s']:.1f} s"),
        verdict("dedup", dedup_ratio, args.dedup_threshold,
                f"merge.py {big['dedup']['wall_s']:.1f} s / sort -u {big['dedup_baseline']['wall_s']:.1f} s"),
        verdict("dedup_memory_growth", growth, args.growth_threshold,
                f"merge.py peak {big['dedup']['peak_tree_mb']:.0f} MB at {big['pairs']:,} pairs"
                f" / {little['dedup']['peak_tree_mb']:.0f} MB at {little['pairs']:,}"),
        verdict("dedup_memory_bound", big["dedup"]["peak_tree_mb"] / bound, 1.0,
                f"merge.py peak {big['dedup']['peak_tree_mb']:.0f} MB / stated bound {bound:.0f} MB"),
        verdict("clean_memory_growth", clean_growth, args.growth_threshold,
                f"clean.py peak {big['clean']['peak_tree_mb']:.0f} MB / {little['clean']['peak_tree_mb']:.0f} MB"),
    ])
    cpu = {k: big[k]["cpu_s"] for k in ("clean", "clean_baseline", "dedup", "dedup_baseline")}
    print(f"   (clean + dedup together: {both:.2f}x the baselines' time; in CPU time: clean"
          f" {cpu['clean'] / cpu['clean_baseline']:.2f}x, dedup {cpu['dedup'] / cpu['dedup_baseline']:.2f}x;"
          f" sort -u peak {big['dedup_baseline']['peak_tree_mb']:.0f} MB)")
    save_json(args.json, {"runs": runs, "clean_ratio": clean_ratio, "dedup_ratio": dedup_ratio,
                          "both_ratio": both, "memory_growth": growth, "bound_mb": bound})
    return 0 if ok or args.no_gate else 1


if __name__ == "__main__":
    sys.exit(main())
