#!/usr/bin/env python3
"""Report the exported student: its files and sizes (from model.json) and its translation
speed, measured by decoding each test set with the export's own decoder.yml on the CPU.

Speed is the best of `--repeats` runs of Marian's decoder; the translation time is the
`Total time` Marian logs (model loading excluded), the process time is measured around the
whole command (loading included). Words are whitespace-separated source words.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import re
import shlex
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from mtdistill.common import errors
from mtdistill.common.errors import ToolError, UsageError
from mtdistill.report import html as report_html
from mtdistill.common.textio import atomic_write, open_read

log = logging.getLogger("report.export")

TOTAL_TIME = re.compile(r"Total time: ([\d.]+)s wall")


def text_stats(path: str) -> tuple[int, int]:
    """(lines, whitespace-separated words) of a text file, streaming."""
    lines = words = 0
    with open_read(path) as handle:
        for line in handle:
            lines += 1
            words += len(line.split())
    return lines, words


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def decode_once(marian: list[str], decoder: str, source: str, output: str, threads: int) -> tuple[float, float]:
    """(translation seconds as Marian logs them, process seconds) of one decoder run."""
    cmd = marian + ["-c", decoder, "--cpu-threads", str(threads), "--quiet-translation",
                    "-i", source, "-o", output]
    start = time.perf_counter()
    result = subprocess.run(cmd, capture_output=True, text=True)
    process = time.perf_counter() - start
    if result.returncode != 0:
        raise ToolError(f"decoding failed ({result.returncode}): {' '.join(cmd)}\n{result.stderr[-3000:]}")
    match = TOTAL_TIME.search(result.stderr)
    return (float(match.group(1)) if match else process), process


def measure(marian: str, decoder: str, name: str, source: str, threads: int, repeats: int, tmp: str) -> dict:
    """Decode one test set `repeats` times; the fastest run counts."""
    plain = os.path.join(tmp, f"{name}.src")
    with open_read(source) as src, open(plain, "w", encoding="utf-8") as dst:
        shutil.copyfileobj(src, dst, 1 << 20)
    lines, words = text_stats(plain)
    hyps = os.path.join(tmp, f"{name}.hyp")
    runs = [decode_once(shlex.split(marian), decoder, plain, hyps, threads) for _ in range(max(1, repeats))]
    translate, process = min(r[0] for r in runs), min(r[1] for r in runs)
    _, out_words = text_stats(hyps)
    return {
        "test set": name,
        "sentences": lines,
        "source words": words,
        "output words": out_words,
        "translation s": round(translate, 4),
        "process s (with loading)": round(process, 3),
        "source words/s": round(words / translate) if translate > 0 else None,
        "sentences/s": round(lines / translate) if translate > 0 else None,
    }


def write_table(record: dict, measured: dict, path: str, model_json: str) -> None:
    import pandas as pd

    speeds, threads, repeats = measured["speed"], measured["threads"], measured["repeats"]

    files = pd.DataFrame(
        [
            {"file": name, "bytes": info["bytes"], "size": human(info["bytes"]), "sha256": info["sha256"][:16] + "…"}
            for name, info in record.get("files", {}).items()
        ]
    )
    parts = [
        f'<p class="note">Experiment <code>{report_html.escape(record.get("experiment", ""))}</code>, '
        f'{report_html.escape(record.get("src", ""))} → {report_html.escape(record.get("trg", ""))}, '
        f'exported {report_html.escape(record.get("created", ""))}; from '
        f"<code>{report_html.escape(model_json)}</code>.</p>",
        "<h2>Files</h2>",
    ]
    if not files.empty:
        total = int(files["bytes"].sum())
        files = files.set_index("file")
        files.loc["total"] = [total, human(total), ""]
        parts.append(report_html.table(files))
    parts.append(f"<h2>Translation speed (CPU, {threads} thread{'s' * (threads != 1)}, best of {repeats})</h2>")
    if speeds:
        parts.append(report_html.table(pd.DataFrame(speeds).set_index("test set"), float_format="{:,.3f}"))
    parts.append(
        f'<p class="note">Decoded with the exported <code>decoder.yml</code> on {report_html.escape(measured["cpu"])}. '
        "Translation time is Marian's own <code>Total time</code> (model loading excluded). "
        "Other jobs of the run may have shared the machine; for a benchmark, measure again alone: "
        "<code>snakemake --cores N --forcerun measure_speed report</code>.</p>"
    )
    versions = record.get("versions") or {}
    if versions:
        parts.append("<h2>Tool versions</h2>")
        parts.append(report_html.table(pd.DataFrame([{"package": k, "version": v or ""} for k, v in versions.items()]).set_index("package")))
    report_html.write_page(path, "Exported student", "\n".join(parts))


def human(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def speed(args) -> dict:
    speeds = []
    with tempfile.TemporaryDirectory(prefix="speed-") as tmp:
        for item in args.test:
            name, sep, path = item.partition("=")
            if not sep:
                raise UsageError(f"--test takes NAME=PATH, got {item!r}")
            speeds.append(measure(args.marian, args.decoder, name, path, args.threads, args.repeats, tmp))
            log.info("%s", json.dumps(speeds[-1]))
    record = {"threads": args.threads, "repeats": args.repeats, "cpu": cpu_name(), "speed": speeds}
    with atomic_write(args.output) as out:
        json.dump(record, out, indent=1)
    return record


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("speed", help="decode the test sets with the export; write speeds as JSON")
    s.add_argument("--decoder", required=True, help="exported/decoder.yml")
    s.add_argument("--marian", default="pymarian decode", help="the Marian decoder command")
    s.add_argument("--test", nargs="*", default=[], help="NAME=PATH of a test set's source side")
    s.add_argument("--threads", type=int, default=1)
    s.add_argument("--repeats", type=int, default=3)
    s.add_argument("--output", required=True, help="output: JSON")
    g = sub.add_parser("page", help="files, sizes and speed as an HTML page")
    g.add_argument("--model-json", required=True, help="exported/model.json")
    g.add_argument("--speed", required=True, help="the JSON of `speed`")
    g.add_argument("--output", required=True, help="output: HTML page")
    args = p.parse_args(argv)
    if args.command == "speed":
        speed(args)
    else:
        record = json.loads(Path(args.model_json).read_text(encoding="utf-8"))
        measured = json.loads(Path(args.speed).read_text(encoding="utf-8"))
        write_table(record, measured, args.output, args.model_json)


if __name__ == "__main__":
    errors.run_main(main)
