"""Finished work is kept when the checkout, the work directory or the interpreter move (to
paths with spaces), and still redone where a config value or a script changed.

The interpreter and the checkout's path reach jobs as shell variables ($PY, $SCRIPTS), not
as params, and scripts are compared by content: see `script()` in rules/common.smk."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import RESULTS, copy_checkout, planned_jobs, write_config

pytestmark = pytest.mark.timeout(1500)

DEFAULT_IN_CHECKOUT = Path("config/config.yml")
TINY_IN_CHECKOUT = Path("tests/configs/tiny.yml")
# Built on the metrics: rerun whenever an evaluation is (the export's model.json has them).
EVALUATION_DEPENDENTS = {"collect_metrics", "export_student", "report_scores", "measure_speed",
                         "report_export", "all"}
EVALUATED_MODELS = 7  # backward, 2 teachers, their ensemble, student, finetuned, quantized
# The jobs whose scripts import scripts/mtdistill/report/html.py.
REPORT_JOBS = {"report_data", "report_provenance", "report_scores", "report_training",
               "report_training_summary", "measure_speed", "report_export"}


def run(python: Path | str, checkout: Path, workdir: Path, *args: str, configfiles=()):
    """Snakemake of `checkout`, run by `python` on `workdir`."""
    cmd = [str(python), "-m", "snakemake", "-s", str(checkout / "Snakefile"), "-d", str(workdir),
           "--configfile", str(checkout / DEFAULT_IN_CHECKOUT), str(checkout / TINY_IN_CHECKOUT),
           *map(str, configfiles), *args]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=1200)
    assert result.returncode == 0, f"{cmd} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout + result.stderr


def other_interpreter(root: Path) -> Path:
    """This interpreter under another path: its installation (or virtualenv) linked as
    `root/other venv`, as when a venv is moved or rebuilt elsewhere."""
    if Path(sys.executable).parent != Path(sys.prefix) / "bin":
        pytest.skip(f"{sys.executable} is not in {sys.prefix}/bin: cannot link its installation")
    (root / "other venv").symlink_to(sys.prefix, target_is_directory=True)
    python = root / "other venv" / "bin" / Path(sys.executable).name
    probe = subprocess.run([str(python), "-c", "import sys, snakemake; print(sys.executable)"],
                           capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip(f"the linked interpreter cannot import snakemake: {probe.stderr[-500:]}")
    assert probe.stdout.strip() == str(python)
    return python


def test_checkout_under_a_path_with_a_space_runs_jobs(tmp_path):
    checkout = copy_checkout(tmp_path / "my checkout")
    workdir = tmp_path / "my run"
    out = run(sys.executable, checkout, workdir, "--cores", "2", "vocab")
    assert (workdir / RESULTS / "vocab" / "vocab.spm").stat().st_size > 0
    jobs = planned_jobs(out)
    # Scripts of both kinds ran: plain ones and the disk-space check before a merge.
    assert jobs["generate_toy_corpus"] == 1 and jobs["merge_corpus"] == 1 and jobs["train_vocab"] == 1


@pytest.fixture(scope="module")
def moved(tiny_run, tmp_path_factory):
    """The finished tiny run copied (mtimes kept) to a new path with a space, with a copy of
    the checkout and this interpreter under other paths with spaces."""
    root = tmp_path_factory.mktemp("moved")
    workdir = root / "moved run"
    subprocess.run(["cp", "-a", str(tiny_run["workdir"]), str(workdir)], check=True)
    return {"root": root, "workdir": workdir, "python": other_interpreter(root),
            "checkout": copy_checkout(root / "other checkout")}


def test_moved_run_with_another_interpreter_has_nothing_to_do(moved):
    out = run(moved["python"], moved["checkout"], moved["workdir"], "-n")
    assert "Nothing to be done" in out, out


def test_changed_config_value_reruns_the_jobs_using_it(moved, tmp_path):
    beam = write_config(tmp_path / "beam.yml", "marian-args: {decoding-student: {beam-size: 2}}\n")
    out = run(moved["python"], moved["checkout"], moved["workdir"], "-n", configfiles=[beam])
    jobs = planned_jobs(out)
    # The student models' evaluations and what is built on the metrics; no training.
    assert jobs.pop("evaluate_model") == 3, out  # student, finetuned, quantized: one test set
    assert set(jobs) == EVALUATION_DEPENDENTS, out
    assert "Params have changed" in out


def test_changed_script_reruns_the_jobs_running_it(moved, tmp_path):
    checkout = copy_checkout(tmp_path / "edited checkout")
    scripts = checkout / "scripts" / "mtdistill"
    # New mtimes, same content (what a fresh clone does): nothing to do.
    for script in scripts.rglob("*.py"):
        os.utime(script, None)
    assert "Nothing to be done" in run(moved["python"], checkout, moved["workdir"], "-n")

    # An edited script: every job running it, and what depends on them.
    with open(scripts / "evaluate/evaluate.py", "a", encoding="utf-8") as handle:
        handle.write("\n# edited\n")
    jobs = planned_jobs(run(moved["python"], checkout, moved["workdir"], "-n"))
    assert jobs.pop("evaluate_model") == EVALUATED_MODELS
    assert jobs.pop("evaluate_baseline") == 1
    assert set(jobs) == EVALUATION_DEPENDENTS

    # An edited module reruns the scripts importing it, here the report's.
    (scripts / "evaluate/evaluate.py").write_bytes((moved["checkout"] / "scripts/mtdistill/evaluate/evaluate.py").read_bytes())
    with open(scripts / "report/html.py", "a", encoding="utf-8") as handle:
        handle.write("\n# edited\n")
    jobs = planned_jobs(run(moved["python"], checkout, moved["workdir"], "-n"))
    assert set(jobs) == REPORT_JOBS | {"all"}, jobs


def test_jobs_find_the_tools_installed_with_snakemake(tiny_run, tmp_path):
    """`.venv/bin/snakemake` without the venv activated: jobs still find its `pymarian`."""
    workdir = tmp_path / "run"
    subprocess.run(["cp", "-a", str(tiny_run["workdir"]), str(workdir)], check=True)
    checkout = copy_checkout(tmp_path / "checkout")
    target = f"{RESULTS}/evaluation/student/toy_test.json"
    env = {**os.environ, "PATH": "/usr/bin:/bin"}  # nothing of this Python's installation
    cmd = [sys.executable, "-m", "snakemake", "-s", str(checkout / "Snakefile"), "-d", str(workdir),
           "--cores", "2", target, "--forcerun", "evaluate_model",
           "--configfile", str(checkout / DEFAULT_IN_CHECKOUT), str(checkout / TINY_IN_CHECKOUT)]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)
    log = workdir / "logs/tiny/evaluate/student.toy_test.log"
    assert result.returncode == 0, f"{result.stderr[-3000:]}\n{log.read_text()[-2000:]}"
    assert "pymarian decode" in log.read_text()
