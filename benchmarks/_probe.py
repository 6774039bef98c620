#!/usr/bin/env python3
"""Run Snakemake's own CLI in this process with instrumentation (used by dag_scale.py).

    python benchmarks/_probe.py dump  OUT.json  -- <snakemake arguments>
    python benchmarks/_probe.py audit OUT.json  -- <snakemake arguments>

`dump`: build the DAG exactly as `snakemake -n` does, then write every job (rule, input and
output files, the jobs it depends on, whether it needs to run) to OUT.json and stop. The
floor Snakefile of dag_scale.py is generated from it, so it has the same jobs and edges.

`audit`: run the whole dry run while recording, with the Python stack of each event:
  - CPython audit events for files and processes and the network: `open`, `os.listdir`,
    `os.scandir`, `glob.glob`, `subprocess.Popen`, `os.system`, `socket.connect`,
    `socket.getaddrinfo`, `socket.sendto`, `urllib.Request`, `http.client.connect`, …
  - `os.stat`/`os.lstat` calls (not audit events; wrapped), because `Path.exists()` and
    `os.path.exists()` end up there.
Events are attributed to the workflow when a frame of its own code (the Snakefile,
rules/*.smk, scripts/*.py) is on the stack (imports it triggers excepted), and to a phase: `parse` (reading the Snakefile)
or `dag` (from "Building DAG of jobs" to the end of the dry run: input functions, params,
checkpoints). OUT.json gets counts and examples.
"""

from __future__ import annotations

import json
import os
import runpy
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
WORKFLOW_FILES = (str(REPO / "Snakefile"), str(REPO / "rules") + os.sep, str(REPO / "scripts") + os.sep)

# Audit events that touch files, processes or the network.
FILE_EVENTS = {"open", "os.listdir", "os.scandir", "glob.glob", "os.remove", "os.rename",
               "os.mkdir", "shutil.copyfile", "os.truncate"}
PROCESS_EVENTS = {"subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn",
                  "os.fork"}
NETWORK_EVENTS = {"socket.connect", "socket.getaddrinfo", "socket.gethostbyname",
                  "socket.gethostbyaddr", "socket.sendto", "socket.sendmsg", "socket.getnameinfo",
                  "urllib.Request", "http.client.connect", "ftplib.connect", "smtplib.connect"}


def _workflow_frame(frame):
    """The innermost frame of the workflow's own code on the stack, as 'file:line func'.

    None when there is none, or when Python's import machinery is between it and the event
    (the workflow importing a module: reading its source is not the workflow's I/O)."""
    while frame is not None:
        name = frame.f_code.co_filename
        if name.startswith("<frozen importlib"):
            return None
        if name.startswith(WORKFLOW_FILES):
            rel = os.path.relpath(name, REPO)
            return f"{rel}:{frame.f_lineno} {frame.f_code.co_name}"
        frame = frame.f_back
    return None


def detail_is_unix(detail):
    """socket.connect to a path (AF_UNIX) rather than a (host, port) address."""
    return "family=1," in detail or "AddressFamily.AF_UNIX" in detail


def _run_snakemake(args):
    sys.argv = ["snakemake", *args]
    try:
        runpy.run_module("snakemake", run_name="__main__", alter_sys=True)
    except SystemExit as exit_:
        return exit_.code or 0
    return 0


def dump(out_path, args):
    import snakemake.cli  # noqa: F401  (imports snakemake.workflow in the right order)
    import snakemake.workflow as wf_module

    original = wf_module.Workflow._build_dag

    def build_and_dump(self):
        start = time.perf_counter()
        original(self)
        dag = self.dag
        jobs = list(dag.jobs)
        index = {job: i for i, job in enumerate(jobs)}
        records = []
        for job in jobs:
            records.append({
                "rule": job.rule.name,
                "input": [str(f) for f in job.input],
                "output": [str(f) for f in job.output],
                "log": [str(f) for f in job.log],
                "deps": sorted(index[d] for d in dag.job_dependencies(job) if d in index),
                "needrun": bool(dag.needrun(job)),
                "checkpoint": bool(job.is_checkpoint),
            })
        result = {
            "jobs": records,
            "rules": sorted(rule.name for rule in self.rules),
            "build_s": time.perf_counter() - start,
        }
        Path(out_path).write_text(json.dumps(result), encoding="utf-8")
        # Nothing else is needed: stop before scheduling and printing.
        raise SystemExit(0)

    wf_module.Workflow._build_dag = build_and_dump
    return _run_snakemake(args)


def audit(out_path, args):
    import snakemake.cli  # noqa: F401  (imports snakemake.workflow in the right order)
    import snakemake.workflow as wf_module

    state = {"phase": "parse"}
    counts: Counter = Counter()
    examples: dict = defaultdict(list)
    network_anywhere: list = []

    def record(kind, event, detail):
        where = _workflow_frame(sys._getframe(2))
        # Creating a socket is not traffic (asyncio's self-pipe, urllib3's import-time IPv6
        # probe), and AF_UNIX connects (a path, not a host) stay on this machine.
        if kind == "network" and not (event == "socket.connect" and detail_is_unix(detail)):
            network_anywhere.append({"phase": state["phase"], "event": event,
                                     "detail": detail[:200], "workflow": where})
        if where is None:
            return
        key = (state["phase"], kind, event)
        counts[key] += 1
        if len(examples[key]) < 8:
            examples[key].append({"detail": detail[:200], "where": where})

    def hook(event, hook_args):
        if event in FILE_EVENTS:
            record("file", event, repr(hook_args[:1]))
        elif event in PROCESS_EVENTS:
            record("process", event, repr(hook_args[:2]))
        elif event in NETWORK_EVENTS:
            record("network", event, repr(hook_args))

    sys.addaudithook(hook)

    real_stat, real_lstat = os.stat, os.lstat

    def stat(path, *a, **k):
        if _workflow_frame(sys._getframe(1)):
            record("file", "os.stat", repr(os.fspath(path)) if not isinstance(path, int) else "fd")
        return real_stat(path, *a, **k)

    def lstat(path, *a, **k):
        if _workflow_frame(sys._getframe(1)):
            record("file", "os.lstat", repr(os.fspath(path)) if not isinstance(path, int) else "fd")
        return real_lstat(path, *a, **k)

    os.stat, os.lstat = stat, lstat

    original = wf_module.Workflow._build_dag

    def build(self):
        state["phase"] = "dag"
        return original(self)

    wf_module.Workflow._build_dag = build
    rc = _run_snakemake(args)
    os.stat, os.lstat = real_stat, real_lstat
    result = {
        "rc": rc,
        "counts": [{"phase": p, "kind": k, "event": e, "n": n} for (p, k, e), n in sorted(counts.items())],
        "examples": {f"{p}/{k}/{e}": v for (p, k, e), v in examples.items()},
        "network": network_anywhere,
    }
    Path(out_path).write_text(json.dumps(result, indent=1), encoding="utf-8")
    return rc


def main():
    mode, out_path, sep, *args = sys.argv[1:]
    if sep != "--" or mode not in ("dump", "audit"):
        raise SystemExit(__doc__)
    # Snakemake's output goes to our stderr; the caller reads OUT.json.
    sys.stdout = sys.stderr
    rc = dump(out_path, args) if mode == "dump" else audit(out_path, args)
    sys.stdout.flush()
    os._exit(rc if isinstance(rc, int) else 1)


if __name__ == "__main__":
    main()
