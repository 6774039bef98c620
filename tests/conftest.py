"""Shared test helpers: paths, running Snakemake, reading its dry-run plan."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SCRIPTS = REPO / "scripts"
TINY = REPO / "tests" / "configs" / "tiny.yml"
sys.path.insert(0, str(SCRIPTS))


def snakemake(workdir: Path, *args: str, configfiles=(), check=True, timeout=900, **kwargs):
    """Run the workflow in `workdir` (outputs land there, not in the repository)."""
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


def write_config(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")
