#!/usr/bin/env python3
"""Report the data: lines left after each cleaning filter per dataset, corpus sizes, and the
share of the distillation corpus the backward-model score filter dropped.

Inputs are the cleaning statistics (clean.py's {dataset}.stats.json), the distillation
filter statistics (filter_scores.py's distillation.filter.json) and the corpora themselves,
whose lines are counted streaming (compressed blocks, constant memory). Every input is
optional: a run that reused its corpora has no cleaning statistics of them.
"""

from __future__ import annotations

import argparse
import gzip
import json
import logging
from pathlib import Path

from mtdistill.common import errors
from mtdistill.common.errors import UsageError
from mtdistill.data.filters import MONO_FILTERS, PARALLEL_FILTERS
from mtdistill.report import html as report_html

log = logging.getLogger("report.data")

BLOCK = 1 << 20


def count_lines(path: str) -> int:
    """Lines of a plain, .gz or .zst text file, counted in 1 MiB blocks (a last line
    without a newline counts)."""
    if path.endswith(".zst"):
        import zstandard

        raw = open(path, "rb")
        handle = zstandard.ZstdDecompressor().stream_reader(raw, closefd=True)
    elif path.endswith(".gz"):
        handle = gzip.open(path, "rb")
    else:
        handle = open(path, "rb")
    lines, last = 0, b"\n"
    with handle:
        while True:
            block = handle.read(BLOCK)
            if not block:
                break
            lines += block.count(b"\n")
            last = block[-1:]
    return lines + (last != b"\n")


def parse_pairs(items: list[str] | None, what: str) -> list[tuple[str, str]]:
    pairs = []
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key or not value:
            raise UsageError(f"{what} takes NAME=PATH, got {item!r}")
        pairs.append((key, value))
    return pairs


def dataset_name(path: str) -> str:
    name = Path(path).name
    return name[: -len(".stats.json")] if name.endswith(".stats.json") else Path(path).stem


def cleaning_rows(stats: list[tuple[str, str]]) -> list[dict]:
    """One row per dataset: lines in, left after each filter, kept."""
    rows = []
    for kind, path in stats:
        counts = json.loads(Path(path).read_text(encoding="utf-8"))
        filters = MONO_FILTERS if kind.startswith("mono") else PARALLEL_FILTERS
        # The cleaning applies its filters in this order (a line dropped by one never
        # reaches the next); others (bicleaner) follow in the order the statistics list them.
        unknown = [k for k in counts if k not in {"input", "kept", *filters}]
        left = counts.get("input", 0)
        row = {"dataset": dataset_name(path), "kind": kind, "input": left, "after": {}, "dropped": {}}
        for name in filters + unknown:
            dropped = counts.get(name, 0)
            left -= dropped
            row["after"][name] = left
            row["dropped"][name] = dropped
        row["kept"] = counts.get("kept", left)
        rows.append(row)
    return rows


def build(args) -> dict:
    stats = parse_pairs(args.stats, "--stats")
    corpora = [(name, path, count_lines(path)) for name, path in parse_pairs(args.corpus, "--corpus")]
    distill = json.loads(Path(args.filter).read_text(encoding="utf-8")) if args.filter else None
    return {"cleaning": cleaning_rows(stats), "corpora": corpora, "filter": distill}


def write_table(data: dict, path: str, filter_share: float | None) -> None:
    import pandas as pd

    parts = []
    if data["cleaning"]:
        for label, want in (("Parallel datasets", False), ("Monolingual datasets", True)):
            rows = [r for r in data["cleaning"] if r["kind"].startswith("mono") == want]
            if not rows:
                continue
            filters = list(dict.fromkeys(f for r in rows for f in r["after"]))
            table = pd.DataFrame(
                [
                    {
                        "dataset": r["dataset"],
                        "use": r["kind"],
                        "input": r["input"],
                        **{f"after {f}": r["after"].get(f) for f in filters},
                        "kept %": 100.0 * r["kept"] / r["input"] if r["input"] else None,
                    }
                    for r in rows
                ]
            ).set_index("dataset")
            parts.append(f"<h2>{label}: lines left after each cleaning filter</h2>\n" + report_html.table(table))
        parts.append(
            '<p class="note">Filters apply in this order (<code>scripts/mtdistill/data/clean.py</code>): empty '
            "side, fewer than <code>cleaning.min-words</code> words, more than "
            "<code>cleaning.max-words</code>, length ratio above "
            "<code>cleaning.max-length-ratio</code>, source identical to target (the last two "
            "for parallel data only). Test sets are not cleaned.</p>"
        )
    else:
        parts.append('<p class="note">No datasets were cleaned in this run (its corpora were reused).</p>')
    if data["corpora"]:
        table = pd.DataFrame([{"corpus": n, "lines": c} for n, _, c in data["corpora"]]).set_index("corpus")
        parts.append(
            "<h2>Corpora (after merging and deduplication)</h2>\n" + report_html.table(table)
            + '\n<p class="note">Files: '
            + ", ".join(f"<code>{report_html.escape(p)}</code>" for _, p, _ in data["corpora"]) + "</p>"
        )
    if data["filter"]:
        f = data["filter"]
        share = f["dropped"] / f["input"] if f.get("input") else 0.0
        table = pd.DataFrame(
            [{"input": f["input"], "kept": f["kept"], "dropped": f["dropped"], "dropped %": 100 * share,
              "score threshold": f.get("threshold")}],
            index=pd.Index(["distillation"], name="corpus"),
        )
        configured = f" (configured: {100 * filter_share:g} %)" if filter_share is not None else ""
        parts.append(
            "<h2>Distillation corpus: backward-model score filter</h2>\n" + report_html.table(table, float_format="{:.3f}")
            + f'\n<p class="note">Pairs whose backward-model cross-entropy score is below the '
            f"threshold are dropped{configured}.</p>"
        )
    report_html.write_page(path, "Data", "\n".join(parts))


def plot(data: dict, path: str) -> None:
    plt = report_html.pyplot()
    panels = [p for p in ("cleaning", "corpora") if data[p] or (p == "corpora" and data["filter"])]
    fig, axes = plt.subplots(1, max(1, len(panels)), figsize=(6.2 * max(1, len(panels)), 0.5 + 0.45 * max(
        [len(data["cleaning"]), len(data["corpora"]) + 2, 4])), squeeze=False)
    axes = list(axes[0])
    if not panels:
        axes[0].text(0.5, 0.5, "no data statistics in this run", ha="center", va="center")
        axes[0].axis("off")
    if "cleaning" in panels:
        ax = axes[panels.index("cleaning")]
        rows = data["cleaning"]
        labels = [f"{r['dataset']} ({r['kind']})" for r in rows]
        reasons = list(dict.fromkeys(f for r in rows for f in r["dropped"]))
        kept = [100 * r["kept"] / r["input"] if r["input"] else 0 for r in rows]
        ax.barh(labels, kept, color="tab:green", label="kept")
        left = kept
        for reason in reasons:
            share = [100 * r["dropped"].get(reason, 0) / r["input"] if r["input"] else 0 for r in rows]
            if any(share):
                ax.barh(labels, share, left=left, label=f"dropped: {reason}")
                left = [a + b for a, b in zip(left, share)]
        for y, r in enumerate(rows):
            ax.text(1, y, f"{r['kept']:,} of {r['input']:,} kept", va="center", fontsize=8, color="white")
        ax.set_xlim(0, 100)
        ax.set_xlabel("% of the dataset's lines")
        ax.set_title("cleaning")
        ax.invert_yaxis()
        ax.legend(fontsize=7, loc="lower right")
    if "corpora" in panels:
        ax = axes[panels.index("corpora")]
        names = [n for n, _, _ in data["corpora"]]
        counts = [c for _, _, c in data["corpora"]]
        colors = ["tab:blue"] * len(names)
        if data["filter"]:
            at = names.index("distillation") if "distillation" in names else len(names)
            names.insert(at, "distillation, before the score filter")
            counts.insert(at, data["filter"]["input"])
            colors.insert(at, "tab:gray")
        bars = ax.barh(names, counts, color=colors)
        ax.bar_label(bars, labels=[f"{c:,}" for c in counts], fontsize=8, padding=2)
        ax.set_xlabel("lines")
        ax.set_title("corpora")
        ax.set_xlim(0, max(counts + [1]) * 1.2)
        ax.invert_yaxis()
    for ax in axes:
        ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    report_html.save_figure(fig, path)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--stats", nargs="*", help="KIND=PATH of clean.py statistics (kind: train, devtest, mono-src, mono-trg)")
    p.add_argument("--corpus", nargs="*", help="NAME=PATH of a corpus whose lines are counted")
    p.add_argument("--filter", help="distillation.filter.json of filter_scores.py")
    p.add_argument("--filter-share", type=float, help="the configured score-filter-share")
    p.add_argument("--table", required=True, help="output: HTML tables")
    p.add_argument("--plot", required=True, help="output: chart (.svg or .png)")
    p.add_argument("--json", help="output: every number as JSON")
    args = p.parse_args(argv)
    data = build(args)
    write_table(data, args.table, args.filter_share)
    plot(data, args.plot)
    if args.json:
        from mtdistill.common.textio import atomic_write

        with atomic_write(args.json) as out:
            json.dump(data, out, indent=1)
    log.info("%s", json.dumps({"corpora": data["corpora"], "filter": data["filter"]}))


if __name__ == "__main__":
    errors.run_main(main)
