#!/usr/bin/env python3
"""Translation fan-out: the chunked translation stage against one unsplit job, on 2 cores.

    python benchmarks/translate_fanout.py                   # 16,000 lines, 4 chunks of 4,000
    python benchmarks/translate_fanout.py --lines 4000 --chunks 8

Everything runs through the workflow's own rule `translate`, part mono-src (scripts/mtdistill/distill/translate.py,
`pymarian decode`, the model of results/toy/models/teacher0/final.npz with
results/toy/vocab/vocab.spm, the embedded default's decoding options), driven by
`snakemake --cores 2 --allowed-rules translate --target-jobs translate:part=mono-src,chunk=…`
(the way Snakemake itself runs given jobs) in a temporary workdir where the
model and vocab are linked in and the chunk files are written by scripts/mtdistill/distill/chunks.py split,
as the checkpoint `split_corpus` writes them. The input is the first --lines lines of the
toy parallel corpus (results/toy/corpus/parallel.xx.zst). Needs the finished toy run
(`snakemake --cores 2` in the repository).

Variants, each timed from Snakemake's start to its exit, --reps times alternating (medians):
  unsplit      one chunk of all lines, one job with 2 Marian threads (the baseline);
  chunks       --chunks chunks, translate-threads 2 (the default config): one job at a time;
  chunks, 1t   the same chunks, translate-threads 1: two jobs side by side.
Also the fixed cost of one translation job: the same rule on a one-line chunk.

Printed: wall times, the ratio chunks / unsplit (the threshold, 1.25 by default, applies to
it), the cost per chunk ((chunks - unsplit) / (chunks - 1), the marginal cost; and as an
upper bound the one-line chunk's wall time minus a dry run of the same job), the
translation time per line, and the share a chunk's fixed cost takes at a given split-length.
On a busy machine the marginal cost is noisy: compare it with the upper bound. Outputs of all variants
are compared line by line with the unsplit translation.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import PY, REPO, SCRIPTS, SNAKEFILE, header, median, save_json, verdict  # noqa: E402

sys.path.insert(0, str(SCRIPTS))
from mtdistill.common import textio

TOY = REPO / "results" / "toy"
MODEL = TOY / "models" / "teacher0" / "final.npz"
VOCAB = TOY / "vocab" / "vocab.spm"
SOURCE = TOY / "corpus" / "parallel.xx.zst"
EXP = "bench"


def prepare(work: Path, lines: list[str], n_chunks: int, threads: int) -> list[str]:
    """A workdir with the model, the vocab and the chunks; returns the chunk outputs."""
    res = work / "results" / EXP
    (res / "models" / "teacher0").mkdir(parents=True)
    (res / "vocab").mkdir(parents=True)
    os.symlink(MODEL, res / "models" / "teacher0" / "final.npz")
    os.symlink(VOCAB, res / "vocab" / "vocab.spm")
    source = work / "source.xx.zst"
    textio.write_lines(source, lines)
    chunk_dir = res / "translated" / "mono-src" / "chunks"
    per_chunk = -(-len(lines) // n_chunks)
    subprocess.run([PY, "-m", "mtdistill.distill.chunks", "split", "--inputs", str(source), "--suffixes", "in",
                    "--out-dir", str(chunk_dir), "--lines", str(per_chunk)], check=True, capture_output=True)
    (work / "bench.yml").write_text(
        f"experiment: {{name: {EXP}, teacher-ensemble: 1}}\nresources: {{translate-threads: {threads}}}\n",
        encoding="utf-8",
    )
    ids = sorted(p.stem for p in chunk_dir.glob("*.in"))
    return [f"results/{EXP}/translated/mono-src/out/{i}.zst" for i in ids]


def run_stage(work: Path, targets: list[str], dry: bool = False) -> float:
    # --target-jobs (how Snakemake itself runs given jobs, e.g. on SLURM): just these
    # jobs, not the trainings that would make the (linked) model in a real run.
    jobs = [f"translate:part=mono-src,chunk={Path(t).name.split('.')[0]}" for t in targets]
    cmd = [PY, "-m", "snakemake", "-s", str(SNAKEFILE), "-d", str(work), "--configfile",
           str(REPO / "config/config.yml"), str(work / "bench.yml"),
           "--cores", "2", "--allowed-rules", "translate", *(["-n"] if dry else []), "--target-jobs", *jobs]
    start = time.perf_counter()
    result = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if result.returncode != 0:
        logs = "\n".join(p.read_text(errors="replace")[-2000:] for p in (work / "logs").rglob("*.log"))
        raise SystemExit(f"snakemake failed:\n{result.stderr[-3000:]}\n{logs}")
    return wall


def outputs(work: Path, targets: list[str]) -> list[str]:
    return [line for t in targets for line in textio.read_lines(work / t)]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--lines", type=int, default=16_000)
    p.add_argument("--chunks", type=int, default=4)
    p.add_argument("--threshold", type=float, default=1.25)
    p.add_argument("--reps", type=int, default=3, help="runs of each variant, alternating (medians)")
    p.add_argument("--keep", type=Path, help="work in this directory and keep it")
    p.add_argument("--json", help="write the figures to this file")
    args = p.parse_args(argv)
    for path in (MODEL, VOCAB, SOURCE):
        if not path.exists():
            print(f"missing {path}: run the embedded default first (snakemake --cores 2)")
            return 2
    lines = []
    for line in textio.read_lines(SOURCE):
        lines.append(line)
        if len(lines) == args.lines:
            break
    if len(lines) < args.lines:
        print(f"only {len(lines)} lines in {SOURCE}")
        return 2

    header(f"Translation fan-out: {args.lines:,} lines, unsplit vs. {args.chunks} chunks, 2 cores")
    base = args.keep or Path(tempfile.mkdtemp(prefix="bench-translate-"))
    base.mkdir(parents=True, exist_ok=True)
    try:
        variants = [("unsplit", 1, 2), ("chunks", args.chunks, 2), ("chunks, 1t", args.chunks, 1),
                    ("one-line chunk", 1, 2)]
        runs, texts = {name: [] for name, _, _ in variants}, {}
        for rep in range(args.reps):
            for name, n_chunks, threads in variants:
                work = base / name.replace(", ", "-").replace(" ", "-")
                if work.exists():
                    shutil.rmtree(work)
                data = lines[:1] if name == "one-line chunk" else lines
                targets = prepare(work, data, n_chunks, threads)
                if name == "one-line chunk":
                    # Snakemake's own start (parse, DAG) for the same job, to take off.
                    runs.setdefault("snakemake -n", []).append(run_stage(work, targets, dry=True))
                runs[name].append(run_stage(work, targets))
                texts[name] = outputs(work, targets)
                print(f"   run {rep + 1}, {name}: {len(targets)} job(s), {runs[name][-1]:.1f} s", flush=True)
        walls = {name: median(times) for name, times in runs.items()}
        same = {name: sum(a == b for a, b in zip(texts[name], texts["unsplit"])) / len(texts["unsplit"])
                for name in ("chunks", "chunks, 1t")}
        if any(len(texts[n]) != args.lines for n in ("unsplit", "chunks", "chunks, 1t")):
            print("a variant lost lines")
            return 1
        unsplit, chunked, parallel = walls["unsplit"], walls["chunks"], walls["chunks, 1t"]
        # What one more chunk costs beyond its lines: the marginal cost from the fan-out, and
        # an upper bound measured directly, a one-line job minus Snakemake's start (what a
        # real run adds to a dry run beyond the job itself is counted in it).
        per_chunk = (chunked - unsplit) / (args.chunks - 1) if args.chunks > 1 else 0.0
        per_line = (unsplit - walls["one-line chunk"]) / (args.lines - 1)
        fixed = walls["one-line chunk"]
        per_chunk_direct = fixed - walls["snakemake -n"]
        print()
        print("| variant | jobs | wall (s) | vs. unsplit |")
        print("|---|---|---|---|")
        print(f"| unsplit, 2 threads | 1 | {unsplit:.1f} | 1.00 |")
        print(f"| {args.chunks} chunks, 2 threads each, one at a time | {args.chunks} | {chunked:.1f} | {chunked / unsplit:.2f} |")
        print(f"| {args.chunks} chunks, 1 thread each, two at a time | {args.chunks} | {parallel:.1f} | {parallel / unsplit:.2f} |")
        print(f"| one-line chunk (a job's fixed cost + Snakemake's start) | 1 | {fixed:.1f} | |")
        print(f"| `snakemake -n` of that job (Snakemake's start) | 0 | {walls['snakemake -n']:.1f} | |")
        print()
        print(f"cost per chunk: {per_chunk:.2f} s ((chunks - unsplit) / {args.chunks - 1}; at most"
              f" {per_chunk_direct:.2f} s: one-line job minus Snakemake's start);"
              f" translation: {1000 * per_line:.2f} ms a line ({1 / per_line:.0f} lines/s)")
        if per_chunk > 0 and per_line > 0:
            for split in (700, 4000, 100_000, 500_000):
                share = per_chunk / (per_chunk + split * per_line)
                print(f"   at split-length {split:>7,}: a chunk's fixed cost is {100 * share:.1f}% of its wall time")
        print(f"outputs identical to the unsplit translation: {100 * same['chunks']:.1f}% (2 threads),"
              f" {100 * same['chunks, 1t']:.1f}% (1 thread) of lines")
        ok = verdict("translate_fanout", chunked / unsplit, args.threshold,
                     f"{args.chunks} chunks / one unsplit job, wall time on 2 cores")
        save_json(args.json, {"lines": args.lines, "chunks": args.chunks, "walls": walls, "runs": runs,
                              "per_chunk_s": per_chunk, "per_chunk_direct_s": per_chunk_direct, "per_line_s": per_line, "identical": same,
                              "ratio": chunked / unsplit})
        return 0 if ok else 1
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
