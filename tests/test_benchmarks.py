"""CI smoke runs of the benchmarks (benchmarks/dag_scale.py, clean_dedup.py), at a small scale.

Not timed tests and not performance gates on CI machines (`--no-gate`: a ratio at a tiny
scale on a shared machine is noise, and a flaky gate would block any change from landing;
the gates belong to the benchmarks at their real scale): they are here so that each
benchmark keeps working as the workflow changes (the production config still
validates, the generated mid-run state is still what Snakemake expects, the floor Snakefile
still plans the same jobs, the I/O audit still runs). The real figures come from running
the benchmarks by hand: see benchmarks/README.md.
"""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from conftest import REPO

BENCHMARK = REPO / "benchmarks" / "dag_scale.py"


@pytest.mark.timeout(120)
def test_dag_benchmark_smoke_at_small_scale(tmp_path):
    """130 chunks (0.1x), 10 datasets, 3 timed dry runs each: the ratio is printed, the
    I/O audit (a correctness check, gated even with --no-gate) passes, exit 0."""
    result = subprocess.run(
        [sys.executable, str(BENCHMARK), "--scales", "0.1", "--reps", "3", "--datasets", "10",
         "--no-gate", "--keep", str(tmp_path / "bench")],
        capture_output=True, text=True, timeout=110,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    assert re.search(r"^RATIO dag_scale = \d+\.\d\d ", output, re.MULTILINE), output[-4000:]
    # The I/O audit ran on both configurations and found nothing to report.
    assert output.count(": OK\n") == 2, output[-4000:]


@pytest.mark.timeout(120)
def test_clean_dedup_benchmark_smoke_at_small_scale(tmp_path):
    """benchmarks/clean_dedup.py on 20,000 pairs (and 5,000): every step runs, both dedups
    agree on the unique pairs, and every ratio is printed with its verdict (not gated: tiny
    sizes on a shared machine); the real figures are in the README."""
    result = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "clean_dedup.py"), "--pairs", "20000",
         "--small-pairs", "5000", "--bucket-mb", "1", "--block-lines", "500",
         "--no-gate", "--keep", str(tmp_path / "bench")],
        capture_output=True, text=True, timeout=110,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    for name in ("clean", "dedup", "dedup_memory_growth", "dedup_memory_bound", "clean_memory_growth"):
        assert re.search(rf"^RATIO {name} = \d+\.\d\d .*-> (PASS|FAIL)$", output, re.MULTILINE), output[-4000:]
    assert "unique after dedup 16,557" in output  # deterministic corpus, the same count both ways
