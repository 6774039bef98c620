#!/usr/bin/env python3
"""Report the scores: metrics.csv (model,dataset,metric,score) as an HTML table and a bar chart.

Models keep the order of metrics.csv (the order the pipeline makes them), the copy baseline
first as the floor every model must beat.
"""

from __future__ import annotations

import argparse
import logging

from mtdistill.common import errors
from mtdistill.common.errors import InputError
from mtdistill.report import html as report_html

log = logging.getLogger("report.metrics")

METRIC_NAMES = {"bleu": "BLEU", "chrf": "chrF"}


def read_metrics(path: str):
    """metrics.csv as a long table with `model` an ordered categorical."""
    import pandas as pd

    frame = pd.read_csv(path)
    missing = {"model", "dataset", "metric", "score"} - set(frame.columns)
    if missing:
        raise InputError(f"{path}: missing column(s) {', '.join(sorted(missing))}")
    order = list(dict.fromkeys(frame["model"]))
    if "baseline-copy" in order:
        order = ["baseline-copy"] + [m for m in order if m != "baseline-copy"]
    frame["model"] = pd.Categorical(frame["model"], categories=order, ordered=True)
    return frame


def wide(frame):
    """model x (dataset, metric) table of scores."""
    table = frame.pivot_table(index="model", columns=["dataset", "metric"], values="score", observed=True)
    table.columns = [(d, METRIC_NAMES.get(m, m)) for d, m in table.columns]
    table.index = table.index.astype(str)
    return table


def write_table(frame, path: str, source: str) -> None:
    body = (
        '<p class="note">BLEU and chrF (sacrebleu, default settings) of every model on every '
        "test set; <code>baseline-copy</code> is the source copied as the translation. "
        f"From <code>{report_html.escape(source)}</code>.</p>\n" + report_html.table(wide(frame))
    )
    report_html.write_page(path, "Scores", body)


def plot(frame, path: str) -> None:
    plt = report_html.pyplot()
    import numpy as np

    datasets = list(dict.fromkeys(frame["dataset"]))
    metrics = list(dict.fromkeys(frame["metric"]))
    models = [m for m in frame["model"].cat.categories if m in set(frame["model"])]
    fig, axes = plt.subplots(
        len(datasets), 1, figsize=(max(6.0, 1.1 * len(models) + 2), 3.6 * len(datasets)), squeeze=False
    )
    width = 0.8 / max(1, len(metrics))
    x = np.arange(len(models))
    for ax, dataset in zip(axes[:, 0], datasets):
        part = frame[frame["dataset"] == dataset]
        for i, metric in enumerate(metrics):
            scores = part[part["metric"] == metric].set_index("model")["score"]
            values = [float(scores.get(m, np.nan)) for m in models]
            bars = ax.bar(x + (i - (len(metrics) - 1) / 2) * width, values, width, label=METRIC_NAMES.get(metric, metric))
            ax.bar_label(bars, fmt="%.1f", fontsize=7, padding=1)
        ax.set_xticks(x, models, rotation=25, ha="right")
        ax.set_ylim(0, 105)
        ax.set_ylabel("score")
        ax.set_title(f"test set {dataset}")
        ax.grid(axis="y", alpha=0.3)
        ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    report_html.save_figure(fig, path)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--metrics", required=True, help="metrics.csv of the evaluation")
    p.add_argument("--table", required=True, help="output: HTML table")
    p.add_argument("--plot", required=True, help="output: bar chart (.svg or .png)")
    args = p.parse_args(argv)
    frame = read_metrics(args.metrics)
    write_table(frame, args.table, args.metrics)
    plot(frame, args.plot)
    log.info("%s", wide(frame).to_string())


if __name__ == "__main__":
    errors.run_main(main)
