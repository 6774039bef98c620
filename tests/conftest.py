"""Shared test helpers: paths, running Snakemake, reading its dry-run plan."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SCRIPTS = REPO / "scripts"
# The embedded default (the toy pair); tests name it before their overlays.
DEFAULT = REPO / "config" / "config.yml"
TINY = REPO / "tests" / "configs" / "tiny.yml"
sys.path.insert(0, str(SCRIPTS))
# Job scripts run as `python -m mtdistill....`, as the workflow runs them.
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SCRIPTS), os.environ.get("PYTHONPATH")]))


def snakemake(workdir: Path, *args: str, configfiles=(), check=True, timeout=900, **kwargs):
    """Run the workflow in `workdir` (outputs land there, not in the repository). No
    configfiles: the embedded default. Given, they are the whole config (over the schema's
    defaults): overlays of the toy name DEFAULT first, e.g. [DEFAULT, TINY]."""
    cmd = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "-d", str(workdir)]
    if configfiles:
        cmd += ["--configfile", *map(str, configfiles)]
    cmd += list(args)
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kwargs)
    if check and result.returncode != 0:
        raise AssertionError(f"snakemake failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


def planned_jobs(output: str) -> dict[str, int]:
    """Rule -> job count from Snakemake's 'Job stats' table."""
    jobs: dict[str, int] = {}
    lines = output.splitlines()
    for start, line in enumerate(lines):
        if line.strip() == "Job stats:":
            break
    else:
        return jobs
    for line in lines[start + 3 :]:
        match = re.match(r"^(\S+)\s+(\d+)$", line.strip())
        if not match or match.group(1) == "total":
            break
        jobs[match.group(1)] = int(match.group(2))
    return jobs


def dry_run(workdir: Path, *targets: str, configfiles=()) -> dict[str, int]:
    result = snakemake(workdir, "-n", *targets, configfiles=configfiles)
    return planned_jobs(result.stdout + result.stderr)


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    path = tmp_path / "work"
    path.mkdir()
    return path


@pytest.fixture
def http_server(tmp_path, monkeypatch):
    """A real HTTP server on 127.0.0.1 serving tmp_path/www, with faults the test sets
    (tests/_http.py lists them); proxies are bypassed in os.environ while it runs, so
    Snakemake and job scripts started by the test reach it too."""
    from _http import serve

    with serve(tmp_path / "www", monkeypatch) as server:
        yield server


def lines(path) -> list[str]:
    """Every line of a (compressed) text file, as the workflow's readers see them."""
    from mtdistill.common import textio

    return list(textio.read_lines(path))


def write_config(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


RESULTS = "results/tiny"


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """The tiny pipeline, SIGKILLed while training the backward model, then resumed.

    Shared by the end-to-end and continuation tests (its outputs are served as URLs)."""
    workdir = tmp_path_factory.mktemp("e2e")
    cmd = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "-d", str(workdir),
           "--cores", "2", "--configfile", str(DEFAULT), str(TINY)]
    first = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    checkpoint = workdir / RESULTS / "models/backward/model.npz"
    deadline = time.time() + 600
    while not checkpoint.exists() and first.poll() is None and time.time() < deadline:
        time.sleep(0.5)
    assert first.poll() is None, "the run ended before the backward model saved a checkpoint"
    assert not (workdir / RESULTS / "models/backward/final.npz").exists()
    os.killpg(first.pid, signal.SIGKILL)  # kill Snakemake and Marian mid-training
    first.wait()
    done_before = {p.name for p in (workdir / RESULTS / "corpus").glob("*.zst")}
    vocab_mtime = (workdir / RESULTS / "vocab/vocab.spm").stat().st_mtime
    # A killed Snakemake leaves its lock behind: the documented way back is --unlock.
    snakemake(workdir, "--unlock", configfiles=[DEFAULT, TINY])
    second = snakemake(workdir, "--cores", "2", "--rerun-incomplete", configfiles=[DEFAULT, TINY],
                       timeout=1200)
    return {"workdir": workdir, "done_before": done_before, "vocab_mtime": vocab_mtime,
            "resumed": second.stdout + second.stderr}


def copy_checkout(dest: Path) -> Path:
    """A copy of the checkout as a clone would have it: committed and new files, nothing
    git ignores (results, .venv, ...); the working tree's content, with fresh mtimes."""
    import shutil

    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=REPO,
                            capture_output=True, text=True)
    if listed.returncode != 0:  # not a git checkout (an unpacked archive)
        shutil.copytree(REPO, dest, ignore=shutil.ignore_patterns(
            ".git", ".venv", ".snakemake", "results", "logs", "resources", "__pycache__"))
        return dest
    for name in filter(None, listed.stdout.split("\0")):
        if (REPO / name).is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(REPO / name, dest / name)
            shutil.copymode(REPO / name, dest / name)
    return dest


os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")
