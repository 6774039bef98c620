#!/usr/bin/env python3
"""Training curves of one Marian model from its logs: cost and validation metrics per update.

Reads Marian's train.log (training lines and [valid] lines) and valid.log line by line, so
logs of any size work. A training resumed after an interruption appends to the same log
and repeats the updates after its last checkpoint: the later value of an update wins.

`curves` writes one model's plot, its points (CSV) and a summary (JSON); `summary` joins the
summaries of several models into one HTML table, with the wall time and peak memory of each
training job from its Snakemake benchmark file.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import logging
import os
import re
from datetime import datetime
from pathlib import Path

from mtdistill.common import errors
from mtdistill.report import html as report_html
from mtdistill.common.textio import atomic_write

log = logging.getLogger("report.training")

_STAMP = r"^\[(?P<time>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)\]"
# A number as Marian prints it, a diverged training's "nan", "-nan" and "inf" included.
_NUMBER = r"[-+]?(?:nan|inf|\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)"
TRAIN_LINE = re.compile(
    _STAMP + r" Ep\. (?P<epoch>\d+) : Up\. (?P<update>\d+) : Sen\. (?P<sentences>[\d,]+) : "
    rf"Cost (?P<cost>{_NUMBER})(?:.*?: (?P<wps>[\d.]+) words/s)?(?:.*?L\.r\. (?P<lr>{_NUMBER}))?"
)
VALID_LINE = re.compile(
    _STAMP + r" \[valid\] Ep\. (?P<epoch>\d+) : Up\. (?P<update>\d+) : (?P<metric>[\w.-]+) : "
    rf"(?P<value>{_NUMBER}) : (?P<status>new best|stalled.*)"
)
START_LINE = re.compile(_STAMP + r" \[marian\] Marian v")
MODE_LABELS = {
    "train": "trained here",
    "continue": "continued from a downloaded checkpoint",
    "init": "trained from downloaded weights",
}


def _time(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S")


def parse_logs(train_log: str | None, valid_log: str | None = None) -> dict:
    """Points and facts of a training, from its logs (either may be missing)."""
    train: dict[int, dict] = {}
    valid: dict[tuple[str, int], dict] = {}
    starts = 0
    restarts: list[int] = []  # the first update logged after each resumption
    pending_restart = False
    wall = 0.0
    segment: list[datetime] = []

    def close_segment():
        nonlocal wall
        if len(segment) == 2:
            wall += (segment[1] - segment[0]).total_seconds()
        segment.clear()

    def stamp(text):
        t = _time(text)
        if not segment:
            segment.extend([t, t])
        else:
            segment[1] = t

    def read_valid(line):
        match = VALID_LINE.match(line)
        if match:
            update, metric = int(match["update"]), match["metric"]
            valid[(metric, update)] = {
                "update": update,
                "epoch": int(match["epoch"]),
                "metric": metric,
                "value": float(match["value"]),
                "best": match["status"] == "new best",
            }
        return match

    if train_log and os.path.exists(train_log):
        with open(train_log, encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if START_LINE.match(line):
                    close_segment()
                    starts += 1
                    pending_restart = starts > 1
                    stamp(START_LINE.match(line)["time"])
                    continue
                match = TRAIN_LINE.match(line)
                if match:
                    stamp(match["time"])
                    update = int(match["update"])
                    if pending_restart:
                        restarts.append(update)
                        pending_restart = False
                    train[update] = {
                        "update": update,
                        "epoch": int(match["epoch"]),
                        "cost": float(match["cost"]),
                        "words_per_second": float(match["wps"]) if match["wps"] else None,
                        "learning_rate": float(match["lr"]) if match["lr"] else None,
                    }
                    continue
                if " [valid] " in line and read_valid(line):
                    stamp(line[1:20])
        close_segment()
    # valid.log has every validation; train.log may lack them (e.g. a custom log level).
    if valid_log and os.path.exists(valid_log):
        with open(valid_log, encoding="utf-8", errors="replace") as handle:
            for line in handle:
                read_valid(line)
    return {
        "train": [train[u] for u in sorted(train)],
        "valid": [valid[k] for k in sorted(valid, key=lambda k: (k[0], k[1]))],
        "starts": starts,
        "restarts": restarts,
        "wall_seconds": wall,
    }


def summarize(name: str, mode: str, parsed: dict, best_metric: str | None = None) -> dict:
    train, valid = parsed["train"], parsed["valid"]
    metrics = list(dict.fromkeys(p["metric"] for p in valid))
    best = {}
    for metric in metrics:
        points = [p for p in valid if p["metric"] == metric]
        flagged = [p for p in points if p["best"]] or points
        top = flagged[-1]
        best[metric] = {"value": top["value"], "update": top["update"], "last": points[-1]["value"]}
    speeds = sorted(p["words_per_second"] for p in train if p["words_per_second"])
    return {
        "model": name,
        "mode": mode,
        "updates": max([p["update"] for p in train] + [p["update"] for p in valid] + [0]),
        "epochs": train[-1]["epoch"] if train else None,
        "first_update": train[0]["update"] if train else None,
        "final_cost": train[-1]["cost"] if train else None,
        "words_per_second": speeds[len(speeds) // 2] if speeds else None,
        "wall_seconds": round(parsed["wall_seconds"], 1),
        "starts": parsed["starts"],
        "best_metric": best_metric if best_metric in best else (metrics[0] if metrics else None),
        "best": best,
    }


def duration(seconds: float | None) -> str:
    if not seconds:
        return ""
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{seconds:02d}s"


def plot(parsed: dict, summary: dict, path: str) -> None:
    plt = report_html.pyplot()
    metrics = list(summary["best"])
    panels = 1 + len(metrics)
    cols = min(panels, 2)
    rows = (panels + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(5.2 * cols, 3.2 * rows), squeeze=False)
    flat = list(axes.flat)
    ax = flat[0]
    train = parsed["train"]
    if train:
        ax.plot([p["update"] for p in train], [p["cost"] for p in train], color="tab:blue", lw=1.2)
    else:
        ax.text(0.5, 0.5, "no training lines in train.log", ha="center", va="center", transform=ax.transAxes)
    ax.set_title("training cost")
    ax.set_xlabel("updates")
    ax.set_ylabel("cost")
    for ax, metric in zip(flat[1:], metrics):
        points = [p for p in parsed["valid"] if p["metric"] == metric]
        ax.plot([p["update"] for p in points], [p["value"] for p in points], marker="o", ms=3, lw=1.2,
                color="tab:orange")
        top = summary["best"][metric]
        ax.plot([top["update"]], [top["value"]], marker="*", ms=12, color="tab:red", ls="none",
                label=f"best {top['value']:g} @ {top['update']}")
        ax.set_title(f"validation {metric}" + (" (selects the model)" if metric == summary["best_metric"] else ""))
        ax.set_xlabel("updates")
        ax.legend(fontsize=8)
    for ax in flat[:panels]:
        ax.grid(alpha=0.3)
        for i, update in enumerate(parsed.get("restarts", [])):
            ax.axvline(update, color="grey", ls="--", lw=0.8, label="resumed" if ax is flat[0] and i == 0 else None)
    if parsed.get("restarts"):
        flat[0].legend(fontsize=8)
    for ax in flat[panels:]:
        ax.axis("off")
    facts = [MODE_LABELS.get(summary["mode"], summary["mode"]), f"{summary['updates']:,} updates"]
    if summary["epochs"]:
        facts.append(f"epoch {summary['epochs']}")
    if summary["wall_seconds"]:
        facts.append(duration(summary["wall_seconds"]))
    if summary["starts"] > 1:
        facts.append(f"resumed {summary['starts'] - 1}x")
    fig.suptitle(f"{summary['model']}: " + ", ".join(facts), fontsize=11)
    fig.tight_layout()
    report_html.save_figure(fig, path)
    plt.close(fig)


def write_points(parsed: dict, path: str) -> None:
    with atomic_write(path) as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["kind", "series", "update", "epoch", "value"])
        for p in parsed["train"]:
            writer.writerow(["train", "cost", p["update"], p["epoch"], p["cost"]])
        for p in parsed["valid"]:
            writer.writerow(["valid", p["metric"], p["update"], p["epoch"], p["value"]])


def curves(args) -> dict:
    train_log = os.path.join(args.model_dir, "train.log")
    parsed = parse_logs(train_log, os.path.join(args.model_dir, "valid.log"))
    if not parsed["train"] and not parsed["valid"]:
        log.warning("no training or validation lines in %s", train_log)
    summary = summarize(args.name, args.mode, parsed, args.best_metric)
    plot(parsed, summary, args.plot)
    write_points(parsed, args.points)
    with atomic_write(args.summary) as out:
        json.dump(summary, out, indent=1)
    return summary


def read_benchmark(path: str) -> dict:
    """A job's Snakemake benchmark file (TSV: a header, then a row per repetition, one
    unless the rule asks for more): wall seconds, peak resident memory (MB), CPU seconds and
    mean CPU load (%, 100: one core busy) of the last row. Values Snakemake could not
    measure (NA, or - when none) are None."""
    with open(path, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    if not rows:
        raise ValueError(f"{path}: no benchmark row")

    def number(key):
        value = (rows[-1].get(key) or "").strip()
        try:
            return float(value)
        except ValueError:  # NA, -, or the column is missing
            return None

    return {"seconds": number("s"), "max_rss_mb": number("max_rss"),
            "cpu_seconds": number("cpu_time"), "mean_load": number("mean_load")}


def jobs_table(models: list[str], benchmarks: list[str]) -> str:
    """The training jobs' benchmarks as an HTML table, a row per model."""
    import pandas as pd

    rows = []
    for model, path in zip(models, benchmarks, strict=True):
        b = read_benchmark(path)
        rows.append({
            "model": model,
            "job wall time": duration(b["seconds"]),
            "CPU time": duration(b["cpu_seconds"]),
            "mean CPU load (%)": b["mean_load"] if b["mean_load"] is not None else math.nan,
            "peak memory (MB)": round(b["max_rss_mb"]) if b["max_rss_mb"] is not None else math.nan,
        })
    # object: a column of MB stays integers next to a missing (NaN, an empty cell) value.
    frame = pd.DataFrame(rows, dtype=object).set_index("model")
    return report_html.table(frame, float_format="{:.2f}")


def summary_table(paths: list[str], output: str, benchmarks: list[str] | None = None) -> None:
    import pandas as pd

    rows = []
    for path in paths:
        s = json.loads(Path(path).read_text(encoding="utf-8"))
        row = {
            "model": s["model"],
            "mode": s["mode"],
            "updates": s["updates"],
            "epochs": s["epochs"],
            "wall time": duration(s["wall_seconds"]),
            "words/s (median)": round(s["words_per_second"]) if s["words_per_second"] else None,
            "final cost": s["final_cost"],
            "starts": s["starts"],
        }
        for metric, best in s["best"].items():
            row[f"best {metric}"] = f"{best['value']:g} @ {best['update']}"
        rows.append(row)
    frame = pd.DataFrame(rows).set_index("model")
    body = (
        '<p class="note">One row per model trained in this run (models used as downloaded have '
        "no training here). <i>best</i>: the best validation score and the update it was "
        "reached at; the final model is the best checkpoint of the metric "
        "<code>experiment.best-model</code> picks. <i>starts</i> &gt; 1: training was "
        "interrupted and resumed from its checkpoint. Wall time: first to last log line of each "
        "start.</p>\n" + report_html.table(frame, float_format="{:.4f}")
    )
    if benchmarks:
        body += (
            "\n<h2>Training jobs</h2>\n"
            '<p class="note">Snakemake\'s benchmark of each training job (its last attempt): '
            "wall time from start to end, CPU time of all its processes, their mean CPU load "
            "(100%: one core busy all along) and peak resident memory (RSS, MB), Marian "
            "included; on GPU, device memory is not counted. Benchmarks of the other heavy jobs "
            "(translation, scoring, merges, ...) are in <code>results/&lt;experiment&gt;/"
            "benchmarks/</code>.</p>\n" + jobs_table(list(frame.index), benchmarks)
        )
    report_html.write_page(output, "Training", body)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)
    c = sub.add_parser("curves", help="one model: plot, points, summary")
    c.add_argument("--model-dir", required=True, help="Marian's model folder (train.log, valid.log)")
    c.add_argument("--name", required=True)
    c.add_argument("--mode", default="train", help="how the model came about: train, continue, init")
    c.add_argument("--best-metric", help="the validation metric that picks the final model")
    c.add_argument("--plot", required=True)
    c.add_argument("--points", required=True, help="output CSV: kind,series,update,epoch,value")
    c.add_argument("--summary", required=True, help="output JSON")
    s = sub.add_parser("summary", help="many models' summaries as one HTML table")
    s.add_argument("--inputs", nargs="+", required=True)
    s.add_argument("--benchmarks", nargs="*", default=[],
                   help="the training jobs' Snakemake benchmark files, in the order of --inputs")
    s.add_argument("--output", required=True)
    args = p.parse_args(argv)
    if args.command == "curves":
        log.info("%s", json.dumps(curves(args)))
    else:
        summary_table(args.inputs, args.output, args.benchmarks)


if __name__ == "__main__":
    errors.run_main(main)
