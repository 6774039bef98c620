#!/usr/bin/env python3
"""End-to-end overhead: a whole run's wall time against the time Marian itself spent.

    python benchmarks/e2e_overhead.py                  # fresh tiny run in a temp workdir
    python benchmarks/e2e_overhead.py --reuse .        # no run: the finished run in . (results/toy)

The fresh run is the test configuration, exactly as documented:
    snakemake -s Snakefile -d TMP --cores 2 --configfile config/config.yml tests/configs/tiny.yml
timed from start to exit. `--reuse DIR` reads a finished run instead: its newest complete
Snakemake log under DIR/.snakemake/log and the job logs it names.

Marian's time is read from its own logs, job by job (each job's log holds the output of the
Marian processes it ran; a process starts at its "[marian] Marian v…" line):
  - "Total time: X s wall" when Marian prints it (marian-decoder: translations, evaluations);
  - otherwise the span of its timestamped lines ([YYYY-MM-DD hh:mm:ss], one-second
    resolution: training from the banner to the last checkpoint save, conversion);
  - a Marian process that prints nothing (`pymarian score --quiet`) is charged the whole
    wall time of its job, from Snakemake's log (an upper bound: it favours Marian).
The rest of the wall time is the workflow's: Snakemake (DAG, scheduling, job start-up),
the Python scripts (data preparation, merging, chunking, alignment with eflomal, n-best
selection, evaluation, export) and the pymarian start-up before Marian logs its banner.

Printed: wall time, Marian time, their ratio (the threshold applies to it: wall / Marian)
and the workflow's share, then where the rest went by rule (job wall time from Snakemake's
log minus the Marian time inside it) and the time no job was running.
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import PY, REPO, SNAKEFILE, header, save_json, verdict  # noqa: E402

TINY = REPO / "tests" / "configs" / "tiny.yml"
STAMP = re.compile(r"^\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)\] ")
TOTAL = re.compile(r"Total time: ([0-9.]+)s wall")
BANNER = "[marian] Marian v"
SNAKE_STAMP = re.compile(r"^\[(\w{3} \w{3} +\d+ \d\d:\d\d:\d\d \d{4})\]$")


def marian_runs(log: Path) -> list[dict]:
    """Marian processes in a job log: seconds each, and how they were measured."""
    runs: list[dict] = []
    current = None
    for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
        # scripts/mtdistill/common/marian.py prints "+ command" before each Marian process; rules that call
        # Marian directly (quantize) do not, but every process that logs starts with the
        # banner. A "+" line without a banner after it is a silent process (--quiet).
        if line.startswith("+ ") and "marian" in line:
            current = {"cmd": line[2:80], "first": None, "last": None, "total": None, "banner": False}
            runs.append(current)
            continue
        if BANNER in line:
            if current is None or current["banner"]:
                current = {"cmd": "", "first": None, "last": None, "total": None, "banner": True}
                runs.append(current)
            current["banner"] = True
        stamp = STAMP.match(line)
        if stamp and current is None:  # `marian-conv` prints neither banner nor command
            current = {"cmd": "", "first": None, "last": None, "total": None, "banner": True}
            runs.append(current)
        if current is None:
            continue
        if stamp:
            t = dt.datetime.strptime(stamp.group(1), "%Y-%m-%d %H:%M:%S")
            current["first"] = current["first"] or t
            current["last"] = t
            total = TOTAL.search(line)
            if total:
                current["total"] = float(total.group(1))
    for run in runs:
        if run["total"] is not None:
            run["seconds"], run["how"] = run["total"], "Total time"
        elif run["first"] is not None:
            run["seconds"], run["how"] = (run["last"] - run["first"]).total_seconds(), "timestamps"
        else:
            run["seconds"], run["how"] = None, "silent"
    return runs


def snakemake_jobs(log: Path) -> tuple[list[dict], dt.datetime | None, dt.datetime | None]:
    """Jobs of a Snakemake log: rule, log files, start and end (one-second resolution)."""
    jobs: dict[str, dict] = {}
    stamp = None
    first = last = None
    current = None
    for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
        match = SNAKE_STAMP.match(line)
        if match:
            stamp = dt.datetime.strptime(match.group(1), "%a %b %d %H:%M:%S %Y")
            first = first or stamp
            last = stamp
            continue
        head = re.match(r"^(?:local)?(?:rule|checkpoint) (\w+):$", line)
        if head:
            current = {"rule": head.group(1), "start": stamp, "logs": []}
            continue
        if current is not None:
            jid = re.match(r"^    jobid: (\d+)$", line)
            logs = re.match(r"^    log: (.*)$", line)
            if logs:
                current["logs"] = [s.strip() for s in logs.group(1).split(",")]
            if jid:
                jobs[jid.group(1)] = current
                current = None
                continue
        done = re.match(r"^Finished jobid: (\d+)", line)
        if done and done.group(1) in jobs:
            jobs[done.group(1)]["end"] = stamp
    return [j for j in jobs.values() if "end" in j], first, last


def busy_seconds(jobs: list[dict]) -> float:
    """Time at least one job was running (union of the job intervals)."""
    spans = sorted((j["start"], j["end"]) for j in jobs)
    total, cur_start, cur_end = 0.0, None, None
    for s, e in spans:
        if cur_end is None or s > cur_end:
            if cur_end is not None:
                total += (cur_end - cur_start).total_seconds()
            cur_start, cur_end = s, e
        else:
            cur_end = max(cur_end, e)
    if cur_end is not None:
        total += (cur_end - cur_start).total_seconds()
    return total


def analyse(workdir: Path, snakelog: Path, wall: float | None) -> dict:
    jobs, first, last = snakemake_jobs(snakelog)
    if wall is None:
        elapsed = re.search(r"Elapsed time: (\d+):(\d\d):(\d\d(?:\.\d+)?)", snakelog.read_text())
        if elapsed:
            h, m, s = elapsed.groups()
            wall = int(h) * 3600 + int(m) * 60 + float(s)
        else:
            wall = (last - first).total_seconds()
    marian_total = 0.0
    per_rule = defaultdict(lambda: {"jobs": 0, "job_s": 0.0, "marian_s": 0.0, "marian_runs": 0})
    how = defaultdict(int)
    for job in jobs:
        job_s = (job["end"] - job["start"]).total_seconds()
        row = per_rule[job["rule"]]
        row["jobs"] += 1
        row["job_s"] += job_s
        for name in job["logs"]:
            path = workdir / name
            if not path.is_file():
                continue
            for run in marian_runs(path):
                seconds = run["seconds"] if run["seconds"] is not None else job_s
                how[run["how"]] += 1
                row["marian_s"] += seconds
                row["marian_runs"] += 1
                marian_total += seconds
    return {"wall_s": wall, "marian_s": marian_total, "busy_s": busy_seconds(jobs),
            "jobs": len(jobs), "marian_runs": dict(how), "per_rule": dict(per_rule)}


def report(result: dict, threshold: float, label: str) -> bool:
    wall, marian = result["wall_s"], result["marian_s"]
    if not marian:
        print(f"   {label}: no Marian time found in the job logs")
        return False
    print(f"   {label}: {result['jobs']} jobs, {sum(result['marian_runs'].values())} Marian processes "
          f"(measured by: {', '.join(f'{k} {v}' for k, v in sorted(result['marian_runs'].items()))})")
    print()
    print("| rule | jobs | job wall (s) | Marian (s) | rest (s) |")
    print("|---|---|---|---|---|")
    rows = sorted(result["per_rule"].items(), key=lambda kv: -(kv[1]["job_s"] - kv[1]["marian_s"]))
    for rule, row in rows:
        print(f"| {rule} | {row['jobs']} | {row['job_s']:.0f} | {row['marian_s']:.0f} |"
              f" {row['job_s'] - row['marian_s']:.0f} |")
    idle = wall - result["busy_s"]
    print(f"| (no job running: Snakemake start, DAG, scheduling) | | {idle:.0f} | | {idle:.0f} |")
    print()
    print(f"wall {wall:.0f} s, Marian {marian:.0f} s: workflow, data handling and Python "
          f"{wall - marian:.0f} s = {100 * (wall - marian) / wall:.0f}% of the wall time"
          " (job times overlap when data jobs run side by side on the 2 cores)")
    return verdict("e2e_overhead", wall / marian, threshold, "run wall time / Marian's own time")


def newest_complete_log(workdir: Path) -> Path:
    """The newest Snakemake log of a run that finished and trained something."""
    logs = sorted((workdir / ".snakemake" / "log").glob("*.snakemake.log"))
    complete = [p for p in logs if "steps (100%) done" in (text := p.read_text(errors="replace"))
                and re.search(r"^(local)?rule train_\w+:$", text, re.MULTILINE)]
    if not complete:
        raise SystemExit(f"no complete Snakemake log of a training run under {workdir}/.snakemake/log")
    return complete[-1]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--reuse", type=Path, help="analyse the finished run in this workdir instead of running")
    p.add_argument("--log", type=Path, help="with --reuse: this Snakemake log (default: newest complete)")
    p.add_argument("--threshold", type=float, default=2.0, help="max wall / Marian (default 2)")
    p.add_argument("--keep", type=Path, help="run in this directory and keep it")
    p.add_argument("--json", help="write the figures to this file")
    args = p.parse_args(argv)

    if args.reuse:
        header(f"End-to-end overhead of the finished run in {args.reuse.resolve()}")
        log = args.log or newest_complete_log(args.reuse)
        result = analyse(args.reuse, log, None)
        ok = report(result, args.threshold, f"{log.name}")
        save_json(args.json, result)
        return 0 if ok else 1

    header("End-to-end overhead: fresh run of tests/configs/tiny.yml, 2 cores")
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-e2e-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        cmd = [PY, "-m", "snakemake", "-s", str(SNAKEFILE), "-d", str(work), "--cores", "2",
               "--configfile", str(REPO / "config/config.yml"), str(TINY)]
        print("   " + " ".join(cmd[1:]), flush=True)
        start = time.perf_counter()
        run = subprocess.run(cmd, capture_output=True, text=True)
        wall = time.perf_counter() - start
        if run.returncode != 0:
            print(run.stdout[-3000:], run.stderr[-5000:])
            return 1
        result = analyse(work, newest_complete_log(work), wall)
        ok = report(result, args.threshold, f"fresh run, {wall:.0f} s")
        save_json(args.json, result)
        return 0 if ok else 1
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
