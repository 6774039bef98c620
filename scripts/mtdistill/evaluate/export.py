#!/usr/bin/env python3
"""Export the student: model, vocab(s), a decoder config with relative paths, and a JSON
with its metrics and provenance, ready to copy to where it will translate."""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import logging
import os
import shutil
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

import yaml

from mtdistill.common import errors, marian
from mtdistill.common.textio import atomic_path, atomic_write

log = logging.getLogger("evaluate.export")


def sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def export(args) -> dict:
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model_name = "model.intgemm8.bin" if args.model.endswith(".bin") else "model.npz"
    files = {model_name: args.model}
    # Joint by content: a vocab from a model directory is two identical files.
    joint = marian.joint_vocab(args.src_vocab, args.trg_vocab)
    vocab_names = ["vocab.spm"] if joint else [f"vocab.{args.src}.spm", f"vocab.{args.trg}.spm"]
    files.update(zip(vocab_names, [args.src_vocab, args.trg_vocab]))
    for name, source in files.items():
        with atomic_path(out / name) as tmp:
            shutil.copyfile(source, tmp)
    decoder = {
        "relative-paths": True,
        "models": [model_name],
        "vocabs": [vocab_names[0], vocab_names[-1]],
        "beam-size": 1,
        "normalize": 1.0,
        "mini-batch": 32,
        "maxi-batch": 100,
        "maxi-batch-sort": "src",
    }
    with atomic_write(out / "decoder.yml") as handle:
        yaml.safe_dump(decoder, handle, sort_keys=False)
    metrics = []
    with open(args.metrics, encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            metrics.append({**row, "score": float(row["score"])})
    record = {
        "experiment": args.experiment,
        "src": args.src,
        "trg": args.trg,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "files": {name: {"sha256": sha256(str(out / name)), "bytes": os.path.getsize(out / name)} for name in files},
        "metrics": metrics,
        "provenance": json.loads(args.provenance),
        "versions": {pkg: version(pkg) for pkg in ("pymarian", "sentencepiece", "sacrebleu", "snakemake")},
        "config_sha256": args.config_sha256,
    }
    with atomic_write(out / "model.json") as handle:
        json.dump(record, handle, indent=1)
    return record


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", required=True)
    p.add_argument("--src-vocab", required=True)
    p.add_argument("--trg-vocab", required=True)
    p.add_argument("--metrics", required=True)
    p.add_argument("--out-dir", required=True)
    p.add_argument("--experiment", required=True)
    p.add_argument("--src", required=True)
    p.add_argument("--trg", required=True)
    p.add_argument("--provenance", default="{}", help="JSON: where each model came from")
    p.add_argument("--config-sha256", help="sha256 of the merged config that ran, for model.json")
    args = p.parse_args(argv)
    record = export(args)
    log.info("exported %s to %s", ", ".join(record["files"]), args.out_dir)


if __name__ == "__main__":
    errors.run_main(main)
