#!/usr/bin/env python3
"""Score translations against references with sacrebleu (BLEU and chrF).

`score`: one system output -> a JSON of metrics. `collect`: many such JSONs -> metrics.csv
with columns model,dataset,metric,score.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from mtdistill.common import errors
from mtdistill.common.textio import LineCountMismatch, atomic_write, read_lines

log = logging.getLogger("evaluate")


def score(hyps_path: str, refs_path: str) -> dict[str, float]:
    from sacrebleu.metrics import BLEU, CHRF

    hyps, refs = list(read_lines(hyps_path)), list(read_lines(refs_path))
    if len(hyps) != len(refs):
        raise LineCountMismatch(f"{hyps_path} has {len(hyps)} lines but {refs_path} has {len(refs)}")
    return {
        "bleu": round(BLEU().corpus_score(hyps, [refs]).score, 2),
        "chrf": round(CHRF().corpus_score(hyps, [refs]).score, 2),
    }


def collect(paths: list[str], output: str) -> None:
    import pandas as pd

    rows = []
    for path in paths:
        record = json.loads(Path(path).read_text(encoding="utf-8"))
        for metric, value in record["metrics"].items():
            rows.append({"model": record["model"], "dataset": record["dataset"], "metric": metric, "score": value})
    table = pd.DataFrame(rows, columns=["model", "dataset", "metric", "score"])
    with atomic_write(output) as out:
        table.to_csv(out, index=False)
    log.info("%s", table.pivot_table(index=["model"], columns=["dataset", "metric"], values="score").to_string())


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("score")
    s.add_argument("--hyps", required=True)
    s.add_argument("--refs", required=True)
    s.add_argument("--model", required=True)
    s.add_argument("--dataset", required=True)
    s.add_argument("--output", required=True)
    c = sub.add_parser("collect")
    c.add_argument("--inputs", nargs="+", required=True)
    c.add_argument("--output", required=True)
    args = p.parse_args(argv)
    if args.command == "score":
        record = {"model": args.model, "dataset": args.dataset, "metrics": score(args.hyps, args.refs)}
        with atomic_write(args.output) as out:
            json.dump(record, out, indent=1)
        log.info("%s", json.dumps(record))
    else:
        collect(args.inputs, args.output)


if __name__ == "__main__":
    errors.run_main(main)
