#!/usr/bin/env python3
"""One TSV table of the cleaning statistics of several datasets (clean.py's and
neural_filter.py's {dataset}.stats.json): lines in, dropped by each filter, kept, and the
share kept, a row per dataset and a `total` row.

Filters apply in the order of the columns; a line dropped by one never reaches the next.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

from mtdistill.common import errors
from mtdistill.common.textio import atomic_write
from mtdistill.data.filters import NEURAL, PARALLEL_FILTERS

FILTERS = PARALLEL_FILTERS + [NEURAL]


def dataset_name(path: str) -> str:
    name = Path(path).name
    return name[: -len(".stats.json")] if name.endswith(".stats.json") else Path(path).stem


def table(paths: list[str]) -> list[list[str]]:
    rows, total = [], Counter()
    counts = [(dataset_name(p), json.loads(Path(p).read_text(encoding="utf-8"))) for p in paths]
    extra = sorted({k for _, c in counts for k in c} - {"input", "kept"} - set(FILTERS))
    columns = FILTERS + extra

    def row(name: str, c) -> list[str]:
        share = f"{c.get('kept', 0) / c['input']:.4f}" if c.get("input") else ""
        return [name, str(c.get("input", 0))] + [str(c.get(k, 0)) for k in columns] + [
            str(c.get("kept", 0)), share]

    for name, c in counts:
        rows.append(row(name, c))
        total.update(c)
    rows.append(row("total", total))
    return [["dataset", "input", *columns, "kept", "kept-share"], *rows]


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--stats", nargs="*", default=[], help="{dataset}.stats.json files")
    p.add_argument("--output", required=True, help="the .tsv table")
    args = p.parse_args(argv)
    with atomic_write(args.output) as out:
        for cells in table(args.stats):
            out.write("\t".join(cells) + "\n")


if __name__ == "__main__":
    errors.run_main(main)
