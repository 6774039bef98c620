#!/usr/bin/env python3
"""DAG scale: `snakemake -n` of a production-size configuration against Snakemake's floor.

    python benchmarks/dag_scale.py                      # 1x, 3x, 10x the chunk count
    python benchmarks/dag_scale.py --scales 0.1 --reps 1  # what CI runs (tests/test_benchmarks.py)

The production configuration (generated in a temporary directory): 4 teachers, 50 `local_`
training datasets, 2 devtest and 5 test sets, 4 source and 2 target monolingual datasets,
`split-length` 100,000; at 1x the state of a run whose data stage is done and whose corpora
are split: a 30M-line parallel corpus in 300 chunks and 100M monolingual lines (80M source,
20M target) in 1,000 chunks, so 1,300 translation jobs plus teachers, students, evaluation
of every model on every test set. Nx multiplies the chunks (N times the data).

How the dry run sees the chunks: the chunks come from the checkpoint `split_corpus`, whose
output is a directory. Snakemake plans the jobs behind a checkpoint only once the
checkpoint's output exists and is up to date; it then re-evaluates the input functions of
the jobs that depend on it (`collect_*`, through `chunk_ids()`), which glob the chunk files.
The benchmark writes exactly what a real run leaves behind at that point, with mtimes in
the order the jobs would have written them: the dataset files in `datasets.local-dir`
(tiny, compressed), `data/original` and `data/clean` (+ stats), the merged corpora, devset
and mono files, and `translated/{part}/chunks/NNNNN.in` (+ `.ref` for the corpus). The
benchmark checks that Snakemake agrees: none of those upstream jobs is planned, and it
plans one translate job per chunk file. (What a real run also leaves, and this does not, is
Snakemake's metadata of those ~170 finished jobs; Snakemake reports them as "missing
metadata" and skips their parameter/code-change checks, a few ms per job.)

The floor: a generated Snakefile with the same jobs and the same edges, built from the
real DAG (benchmarks/_probe.py dumps it in-process): one trivial rule per rule of the
workflow, each job's outputs `f/{rule}/{job}.{k}` (as many as the real job has), each
job's inputs the floor files of exactly the jobs it depends on plus as many existing
source files as the real job has inputs without a producer (chunk files, datasets), the
finished jobs' outputs present with ordered mtimes, and `input: lambda w: INPUTS[w.i]`
(one dict lookup per job). It has no checkpoint: what the workflow pays for planning
through one is counted as the workflow's.

Both dry runs are the same command (`python -m snakemake -n`, output captured), run
alternately `--reps` times; medians are compared. The ratio must stay within --threshold
(2x) at every scale. The I/O check runs the 1st scale's dry run in-process with CPython
audit hooks and wrapped os.stat (benchmarks/_probe.py audit), and under
`strace -f -e trace=network` when strace is installed, for the production configuration and
for a variant that reuses a vocab and the teachers by https:// URL (continuation): no
network call anywhere, no file opened and no process started by the workflow's input
functions; the only file-system calls allowed to them are the checkpoint's glob of the
chunk directories and the format probe of `local_` datasets (stat of .zst/.gz/plain).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import PY, REPO, SCRIPTS, SNAKEFILE, add_gate_flag, header, median, save_json, timed, verdict  # noqa: E402

sys.path.insert(0, str(SCRIPTS))
from mtdistill.common import textio

PROBE = Path(__file__).resolve().parent / "_probe.py"
BASE_CHUNKS = {"corpus": 300, "mono-src": 800, "mono-trg": 200}
SPLIT_LENGTH = 100_000
EXP = "prod"


# --- the production state ------------------------------------------------------------


def production_config(local_dir: Path, n_train: int, n_teachers: int, n_test: int,
                      chunks: dict[str, int], continuation: bool = False) -> str:
    train = [f"local_train{i:02d}" for i in range(n_train)]
    devtest = ["local_dev0", "local_dev1"]
    test = [f"local_test{i}" for i in range(n_test)]
    mono_src = [f"local_news{i}" for i in range(4)]
    mono_trg = [f"local_crawl{i}" for i in range(2)]
    lines = [
        "experiment:",
        f"  name: {EXP}",
        f"  teacher-ensemble: {n_teachers}",
        f"  split-length: {SPLIT_LENGTH}",
        "  spm-vocab-size: 32000",
        "datasets:",
        f"  train: [{', '.join(train)}]",
        f"  devtest: [{', '.join(devtest)}]",
        f"  test: [{', '.join(test)}]",
        f"  mono-src: [{', '.join(mono_src)}]",
        f"  mono-trg: [{', '.join(mono_trg)}]",
        f"  local-dir: {local_dir}",
        f"mono-max-sentences-src: {chunks['mono-src'] * SPLIT_LENGTH}",
        f"mono-max-sentences-trg: {chunks['mono-trg'] * SPLIT_LENGTH}",
    ]
    if continuation:
        # Reuse the vocab and the teachers by URL: download jobs replace train_vocab and
        # train_teacher. The .invalid TLD never resolves: any lookup would show.
        urls = ", ".join(f"https://models.invalid/teacher{i}" for i in range(n_teachers))
        lines += [
            "continuation:",
            "  vocab: {src: 'https://models.invalid/vocab.spm', trg: 'https://models.invalid/vocab.spm'}",
            f"  models: {{teachers: {{urls: [{urls}], mode: use}}}}",
        ]
    return "\n".join(lines) + "\n"


def make_production(root: Path, scale: float, n_train: int, n_teachers: int, n_test: int):
    """Write the local datasets, the finished data stage and the split chunks."""
    chunks = {part: max(1, round(n * scale)) for part, n in BASE_CHUNKS.items()}
    local = root / "corpora"
    work = root / "work"
    local.mkdir(parents=True)
    config = root / "production.yml"
    config.write_text(production_config(local, n_train, n_teachers, n_test, chunks), encoding="utf-8")
    (root / "continuation.yml").write_text(
        production_config(local, n_train, n_teachers, n_test, chunks, continuation=True), encoding="utf-8"
    )
    t0 = time.time() - 100_000
    res = work / "results" / EXP

    def put(path: Path, stamp: float, compressed: bool = True) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        if compressed and path.suffix == ".zst":
            textio.write_lines(path, ["a b", "c d"])
        else:
            path.write_text("a b\nc d\n", encoding="utf-8")
        os.utime(path, (stamp, stamp))

    cfg = config.read_text()

    def listed(key):
        return re.search(rf"  {key}: \[(.*)\]", cfg).group(1).split(", ")

    parallel = listed("train") + listed("devtest")
    for dataset in parallel + listed("test"):
        for lang in ("xx", "yy"):
            put(local / f"{dataset[6:]}.{lang}.zst", t0)
            put(res / "data/original" / f"{dataset}.{lang}.zst", t0 + 10)
    for dataset in parallel:
        for lang in ("xx", "yy"):
            put(res / "data/clean" / f"{dataset}.{lang}.zst", t0 + 20)
        put(res / "data/clean" / f"{dataset}.stats.json", t0 + 20)
    for key, lang in (("mono-src", "xx"), ("mono-trg", "yy")):
        for dataset in listed(key):
            put(local / f"{dataset[6:]}.{lang}.zst", t0)
            put(res / "data/original" / f"{dataset}.{lang}.zst", t0 + 10)
            put(res / "data/clean/mono" / f"{dataset}.{lang}.zst", t0 + 20)
            put(res / "data/clean/mono" / f"{dataset}.{lang}.stats.json", t0 + 20)
    for name in ("parallel", "devset", "mono"):
        for lang in ("xx", "yy"):
            put(res / "corpus" / f"{name}.{lang}.zst", t0 + 30)
    for part, n in chunks.items():
        chunk_dir = res / "translated" / part / "chunks"
        chunk_dir.mkdir(parents=True)
        suffixes = ["in", "ref"] if part == "corpus" else ["in"]
        for i in range(n):
            for suffix in suffixes:
                # chunks.py writes plain text chunks.
                put(chunk_dir / f"{i:05d}.{suffix}", t0 + 40, compressed=False)
        os.utime(chunk_dir, (t0 + 41, t0 + 41))
    return work, config, chunks


# --- the floor -----------------------------------------------------------------------


def generate_floor(dump: dict, floor: Path) -> int:
    """A trivial Snakefile with the dumped DAG's jobs and edges; returns its needrun count."""
    jobs = dump["jobs"]
    producer = {}
    for i, job in enumerate(jobs):
        for k, path in enumerate(job["output"]):
            producer[path] = (i, k)
    out_count: dict[str, int] = {}
    for job in jobs:
        n = len(job["output"])
        if out_count.setdefault(job["rule"], n) != n:
            raise SystemExit(f"rule {job['rule']} has jobs with different output counts")
    # Depth of each job from the sources, for the mtimes of finished outputs.
    depth: dict[int, int] = {}

    def job_depth(i: int) -> int:
        stack = [i]
        while stack:
            j = stack[-1]
            pending = [d for d in jobs[j]["deps"] if d not in depth]
            if pending:
                stack.extend(pending)
                continue
            depth[j] = 1 + max((depth[d] for d in jobs[j]["deps"]), default=0)
            stack.pop()
        return depth[i]

    sources: dict[str, str] = {}
    inputs: dict[str, list[str]] = {}
    t0 = time.time() - 100_000
    target = None
    for i, job in enumerate(jobs):
        files = []
        for path in job["input"]:
            if path in producer:
                j, k = producer[path]
                files.append(f"f/{jobs[j]['rule']}/{j}.{k}")
            else:
                files.append(sources.setdefault(path, f"s/{len(sources)}"))
        inputs[str(i)] = files
        if job["rule"] == "all":
            target = i
    if target is None:
        raise SystemExit("the dumped DAG has no `all` job")
    for path in sources.values():
        full = floor / path
        full.parent.mkdir(parents=True, exist_ok=True)
        full.write_text("x\n")
        os.utime(full, (t0, t0))
    for i, job in enumerate(jobs):
        if not job["needrun"]:
            stamp = t0 + 10 * job_depth(i)
            for k in range(len(job["output"])):
                full = floor / f"f/{job['rule']}/{i}.{k}"
                full.parent.mkdir(parents=True, exist_ok=True)
                full.write_text("x\n")
                os.utime(full, (stamp, stamp))
    (floor / "inputs.json").write_text(json.dumps(inputs), encoding="utf-8")
    rules = [
        "# Generated by benchmarks/dag_scale.py: the workflow's DAG with trivial rules.",
        "import json",
        "",
        'INPUTS = json.load(open(workflow.basedir + "/inputs.json"))',
        "",
        "wildcard_constraints:",
        '    i=r"\\d+",',
        "",
        "rule all:",
        f'    input: INPUTS["{target}"]',
        "",
    ]
    for name in dump["rules"]:
        if name == "all":
            continue
        outputs = ", ".join(f'"f/{name}/{{i}}.{k}"' for k in range(out_count.get(name, 1)))
        rules += [
            f"rule {name}:",
            "    input: lambda w: INPUTS[w.i]",
            f"    output: {outputs}",
            '    shell: "touch {output}"',
            "",
        ]
    (floor / "Snakefile").write_text("\n".join(rules), encoding="utf-8")
    return sum(job["needrun"] for job in jobs)


# --- running and reading dry runs ----------------------------------------------------


def planned_total(output: str) -> int:
    match = re.search(r"^total\s+(\d+)\s*$", output, re.MULTILINE)
    return int(match.group(1)) if match else 0


def planned_jobs(output: str) -> Counter:
    jobs: Counter = Counter()
    block = output.split("Job stats:", 1)[-1].split("\n\n", 1)[0]
    for line in block.splitlines():
        match = re.match(r"^(\S+)\s+(\d+)$", line.strip())
        if match and match.group(1) not in ("total", "job"):
            jobs[match.group(1)] = int(match.group(2))
    return jobs


def real_args(work: Path, config: Path) -> list[str]:
    # An overlay of the toy (its languages and Marian settings): the default comes first.
    return ["-s", str(SNAKEFILE), "-d", str(work), "--configfile", str(REPO / "config/config.yml"),
            str(config), "-n"]


def floor_args(floor: Path) -> list[str]:
    return ["-s", str(floor / "Snakefile"), "-d", str(floor), "-n"]


def snakemake(args: list[str]) -> list[str]:
    return [PY, "-m", "snakemake", *args]


def dump_dag(args: list[str], out: Path) -> dict:
    result = subprocess.run([PY, str(PROBE), "dump", str(out), "--", *args], capture_output=True, text=True)
    if result.returncode != 0 or not out.exists():
        raise SystemExit(f"DAG dump failed:\n{result.stdout}\n{result.stderr[-3000:]}")
    return json.loads(out.read_text(encoding="utf-8"))


def check_state(dump: dict, chunks: dict[str, int], n_teachers: int) -> list[str]:
    """The fabricated state is what Snakemake would see after a real data stage + split."""
    problems = []
    needrun = Counter(j["rule"] for j in dump["jobs"] if j["needrun"])
    upstream = {"import_dataset", "clean_corpus", "clean_mono", "merge_corpus", "merge_devset",
                "merge_mono", "split_corpus", "generate_toy_corpus"}
    if upstream & set(needrun):
        problems.append(f"upstream jobs planned again: {sorted(upstream & set(needrun))}")
    # The rule translate, one job per chunk of each part (output translated/{part}/out/...).
    translated = Counter(j["output"][0].split("/translated/")[1].split("/")[0]
                         for j in dump["jobs"] if j["needrun"] and j["rule"] == "translate")
    for part in ("corpus", "mono-src", "mono-trg"):
        if translated[part] != chunks[part]:
            problems.append(f"translate {part}: {translated[part]} jobs planned for {chunks[part]} chunks")
    if needrun["train_teacher"] != n_teachers:
        problems.append(f"train_teacher: {needrun['train_teacher']} jobs for {n_teachers} teachers")
    return problems


# --- I/O and network at DAG time -----------------------------------------------------


def audit_dry_run(args: list[str], out: Path, n_local_sides: int) -> tuple[bool, list[str]]:
    result = subprocess.run([PY, str(PROBE), "audit", str(out), "--", *args], capture_output=True, text=True)
    if result.returncode != 0 or not out.exists():
        return False, [f"audited dry run failed ({result.returncode}): {result.stderr[-2000:]}"]
    report = json.loads(out.read_text(encoding="utf-8"))
    lines, ok = [], True
    if report["network"]:
        ok = False
        lines.append(f"network calls: {report['network'][:5]}")
    else:
        lines.append("network calls in the Snakemake process (any code, any phase): 0")
    dag = [c for c in report["counts"] if c["phase"] == "dag"]
    parse = [c for c in report["counts"] if c["phase"] == "parse"]
    by_event = {c["event"]: c["n"] for c in dag}
    examples = report["examples"]
    for c in dag:
        where = {e["where"].split(" ", 1)[1] for e in examples.get(f"dag/{c['kind']}/{c['event']}", [])}
        lines.append(f"  dag   {c['event']:<12} x{c['n']:<5} from {', '.join(sorted(where))}")
    for c in parse:
        where = {e["where"].split(" ", 1)[1] for e in examples.get(f"parse/{c['kind']}/{c['event']}", [])}
        lines.append(f"  parse {c['event']:<12} x{c['n']:<5} from {', '.join(sorted(where))} (Snakemake reading the Snakefile: include, configfile, validate)")
    allowed = {"os.stat", "os.listdir", "os.scandir", "glob.glob", "os.lstat"}
    bad = [c for c in dag if c["event"] not in allowed]
    if bad:
        ok = False
        lines.append(f"input functions opened files or started processes at DAG time: {bad}")
    # stat only from the format probe of local datasets, at most 3 per (dataset, lang)
    # and one lookup per planning pass of the import jobs.
    stat_where = {e["where"].split(" ", 1)[1] for k in ("dag/file/os.stat", "dag/file/os.lstat")
                  for e in examples.get(k, [])}
    scan_where = {e["where"].split(" ", 1)[1] for k in ("dag/file/os.scandir", "dag/file/os.listdir", "dag/file/glob.glob")
                  for e in examples.get(k, [])}
    if stat_where - {"import_source"}:
        ok = False
        lines.append(f"stat() at DAG time outside the local-dataset probe: {sorted(stat_where)}")
    if by_event.get("os.stat", 0) > 3 * n_local_sides:
        ok = False
        lines.append(f"{by_event['os.stat']} stat() calls for {n_local_sides} local dataset files")
    if scan_where - {"chunk_ids"}:
        ok = False
        lines.append(f"directory listings at DAG time outside the checkpoint glob: {sorted(scan_where)}")
    return ok, lines


def strace_dry_run(args: list[str], log: Path) -> tuple[bool | None, list[str]]:
    """OS-level check of the whole process tree: no AF_INET/AF_INET6 traffic from Python."""
    strace = shutil.which("strace")
    if not strace:
        return None, ["strace not installed: OS-level check skipped (the audit above still ran)"]
    cmd = [strace, "-f", "-qq", "-e", "trace=execve,connect,sendto,sendmsg", "-o", str(log), *snakemake(args)]
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        return None, [f"strace run failed ({result.returncode}); OS-level check skipped: {result.stderr[-500:]}"]
    exe: dict[str, str] = {}
    inet = []
    other = Counter()
    for line in log.read_text(errors="replace").splitlines():
        pid, _, call = line.partition(" ")
        call = call.strip()
        if call.startswith("execve(") and "= 0" in call:
            exe[pid] = call.split('"', 2)[1]
        elif call.startswith(("connect(", "sendto(", "sendmsg(")):
            prog = os.path.basename(exe.get(pid, "python (snakemake)"))
            if "AF_INET" in call:
                inet.append(f"{prog}: {call[:160]}")
            else:
                family = re.search(r"sa_family=(AF_\w+)", call)
                other[(prog, family.group(1) if family else "no address")] += 1
    lines = []
    python_inet = [x for x in inet if x.startswith("python")]
    lines.append(f"strace: AF_INET/AF_INET6 connect/sendto/sendmsg: {len(python_inet)} from Python, "
                 f"{len(inet) - len(python_inet)} from child tools")
    for (prog, family), n in sorted(other.items()):
        lines.append(f"  local ({family}) x{n} from {prog}")
    for x in inet[:5]:
        lines.append(f"  {x}")
    return not python_inet, lines


def profile_dry_run(args: list[str], out: Path) -> None:
    """cProfile of one dry run: the share of the workflow's own code, Snakemake's top items."""
    import pstats

    subprocess.run([PY, "-m", "cProfile", "-o", str(out), "-m", "snakemake", *args],
                   capture_output=True, text=True, check=True)
    stats = pstats.Stats(str(out))
    total = max(ct for (_, _, _), (_, _, _, ct, _) in stats.stats.items())
    own = defaultdict(float)
    for (path, line, name), (_, _, _, ct, _) in stats.stats.items():
        if path.startswith(str(REPO)) and ("/rules/" in path or path.endswith("Snakefile")):
            own[f"{os.path.relpath(path, REPO)}:{line} {name}"] = ct
    print(f"-- cProfile of the workflow's dry run (profiled: {total:.1f} s; {out}, kept with --keep)")
    for where, ct in sorted(own.items(), key=lambda kv: -kv[1])[:6]:
        print(f"   {ct:6.2f} s  {where}")
    print("   Snakemake's biggest items (cumulative):")
    rows = sorted(((ct, f"{os.path.basename(p)}:{l} {n}") for (p, l, n), (_, _, _, ct, _) in stats.stats.items()
                   if "snakemake" in p and not n.startswith("<")), reverse=True)
    seen = 0
    for ct, where in rows:
        if any(k in where for k in ("update", "replace_job", "file2jobs", "log_info", "expand_resources",
                                    "format_wildcards", "expand_input", "postprocess", "printjob")):
            print(f"   {ct:6.2f} s  {where}")
            seen += 1
        if seen == 10:
            break


# --- main ----------------------------------------------------------------------------


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scales", default="1,3,10", help="multiples of 1,300 chunks (default 1,3,10)")
    p.add_argument("--reps", type=int, default=3, help="timed dry runs of each, alternating")
    p.add_argument("--datasets", type=int, default=50, help="local_ training datasets")
    p.add_argument("--teachers", type=int, default=4)
    p.add_argument("--test-sets", type=int, default=5)
    p.add_argument("--threshold", type=float, default=2.0)
    p.add_argument("--no-io-check", action="store_true")
    p.add_argument("--keep", help="keep the generated directories here instead of a temp dir")
    p.add_argument("--json", help="write the figures to this file")
    p.add_argument("--profile", action="store_true",
                   help="also cProfile the workflow's dry run at the last scale (where the time goes)")
    add_gate_flag(p)
    args = p.parse_args(argv)
    scales = [float(s) for s in args.scales.split(",")]

    header("DAG scale: snakemake -n of a production-size config vs. a trivial Snakefile with the same DAG")
    base = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bench-dag-"))
    base.mkdir(parents=True, exist_ok=True)
    rows, ok, figures = [], True, {"scales": []}
    try:
        for n, scale in enumerate(scales):
            root = base / f"scale-{scale:g}"
            if root.exists():
                shutil.rmtree(root)
            work, config, chunks = make_production(root, scale, args.datasets, args.teachers, args.test_sets)
            dump = dump_dag(real_args(work, config), root / "dag.json")
            problems = check_state(dump, chunks, args.teachers)
            if problems:
                print("the generated state is not what a real run leaves:", *problems, sep="\n  ")
                return 1
            jobs = len(dump["jobs"])
            edges = sum(len(j["deps"]) for j in dump["jobs"])
            needrun = generate_floor(dump, root / "floor")
            real_times, floor_times = [], []
            for _ in range(args.reps):
                t, r = timed(snakemake(real_args(work, config)))
                if r.returncode != 0:
                    print(r.stdout[-2000:], r.stderr[-3000:])
                    return 1
                real_times.append(t)
                real_planned = planned_total(r.stdout + r.stderr)
                t, f = timed(snakemake(floor_args(root / "floor")))
                if f.returncode != 0:
                    print(f.stdout[-2000:], f.stderr[-3000:])
                    return 1
                floor_times.append(t)
                floor_planned = planned_total(f.stdout + f.stderr)
            if not (real_planned == floor_planned == needrun):
                print(f"planned jobs differ: workflow {real_planned}, floor {floor_planned}, dump {needrun}")
                return 1
            real_t, floor_t = median(real_times), median(floor_times)
            ratio = real_t / floor_t
            n_chunks = sum(chunks.values())
            rows.append((scale, n_chunks, jobs, edges, needrun, real_t, floor_t, ratio))
            figures["scales"].append({
                "scale": scale, "chunks": n_chunks, "jobs": jobs, "edges": edges, "planned": needrun,
                "workflow_s": real_times, "floor_s": floor_times, "ratio": ratio,
            })
            print(f"   scale {scale:g}: {n_chunks} chunks, {jobs} jobs, {edges} edges, {needrun} planned;"
                  f" workflow {real_t:.2f} s, floor {floor_t:.2f} s (medians of {args.reps})", flush=True)
            if n == 0 and not args.no_io_check:
                n_sides = 2 * (args.datasets + 2 + args.test_sets) + 4 + 2
                print("-- I/O and network at DAG time (in-process audit of the dry run)")
                for name, cfg in (("production", config), ("production + continuation by https URL", root / "continuation.yml")):
                    good, lines = audit_dry_run(real_args(work, cfg), root / f"audit-{cfg.stem}.json", n_sides)
                    print(f"   {name}: {'OK' if good else 'FAIL'}")
                    print(*(f"     {line}" for line in lines), sep="\n")
                    ok &= good
                    good, lines = strace_dry_run(real_args(work, cfg), root / f"strace-{cfg.stem}.txt")
                    print(*(f"     {line}" for line in lines), sep="\n")
                    if good is False:
                        ok = False
                figures["io_check"] = "pass" if ok else "fail"
        if args.profile:
            profile_dry_run(real_args(work, config), root / "dry-run.prof")
        print()
        print("| scale | chunks | jobs | edges | planned | workflow -n (s) | floor -n (s) | ratio |")
        print("|---|---|---|---|---|---|---|---|")
        for scale, n_chunks, jobs, edges, needrun, real_t, floor_t, ratio in rows:
            print(f"| {scale:g}x | {n_chunks} | {jobs} | {edges} | {needrun} | {real_t:.2f} | {floor_t:.2f} | {ratio:.2f} |")
        if len(rows) > 1:
            first, last = rows[0], rows[-1]
            grow = last[1] / first[1]
            print(f"growth {first[0]:g}x -> {last[0]:g}x ({grow:.1f}x the chunks): workflow x{last[5] / first[5]:.1f},"
                  f" floor x{last[6] / first[6]:.1f}")
        worst = max(rows, key=lambda r: r[7])
        # The I/O audit above always gates; the timing ratio only without --no-gate.
        timing_ok = verdict("dag_scale", worst[7], args.threshold,
                            f"workflow / floor `snakemake -n` wall time, worst scale {worst[0]:g}x")
        ok &= timing_ok or args.no_gate
        figures["ratio"] = worst[7]
        save_json(args.json, figures)
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
