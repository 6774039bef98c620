"""Helpers shared by the benchmarks: machine description, timing, ratio verdicts."""

from __future__ import annotations

import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SNAKEFILE = REPO / "Snakefile"
SCRIPTS = REPO / "scripts"
# The interpreter running the benchmark runs everything else too (no pyenv shims: they add
# ~0.1 s of bash to every start).
PY = sys.executable


def machine() -> str:
    """'N cores, M GiB, no GPU, load a/b/c' for the report."""
    cores = os.cpu_count()
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            kib = int(handle.readline().split()[1])
        mem = f"{kib / 2**20:.0f} GiB"
    except (OSError, ValueError, IndexError):
        mem = "? GiB"
    gpu = "GPU" if os.path.exists("/dev/nvidia0") else "no GPU"
    load = "/".join(f"{x:.2f}" for x in os.getloadavg())
    return f"{platform.node()}: {cores} cores, {mem}, {gpu}, load {load} (1/5/15 min)"


def header(title: str) -> None:
    now = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    print(f"== {title}")
    print(f"   {now}, {machine()}, Python {platform.python_version()}")


def timed(cmd, **kwargs) -> tuple[float, subprocess.CompletedProcess]:
    """Wall time of one command (its output captured)."""
    start = time.perf_counter()
    result = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
    return time.perf_counter() - start, result


def median(values) -> float:
    return statistics.median(values)


def verdict(name: str, ratio: float, threshold: float, what: str) -> bool:
    """Print the ratio line the README and the CI test look for; True when within threshold."""
    ok = ratio <= threshold
    print(f"RATIO {name} = {ratio:.2f} ({what}; threshold {threshold:g}) -> {'PASS' if ok else 'FAIL'}")
    return ok


def add_gate_flag(parser) -> None:
    """--no-gate: smoke runs at a tiny scale print the ratios but are not judged by them."""
    parser.add_argument("--no-gate", action="store_true",
                        help="print every verdict but exit 0 whatever the timing and memory ratios say"
                             " (tiny-scale smoke runs, where ratios are noise)")


def save_json(path: str | None, data: dict) -> None:
    if path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps(data, indent=1), encoding="utf-8")
