"""End to end: the whole pipeline on the tiny toy pair with the real Marian, interrupted by
SIGKILL mid-training and resumed; then its outputs, metrics and export are checked."""

from __future__ import annotations

import csv
import json
import subprocess
from pathlib import Path

import pytest

from conftest import DEFAULT, RESULTS, TINY, planned_jobs, snakemake

pytestmark = pytest.mark.timeout(1500)


def metrics(workdir: Path) -> dict[tuple[str, str], float]:
    with open(workdir / RESULTS / "evaluation/metrics.csv", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["model", "dataset", "metric", "score"]
    return {(r["model"], r["metric"]): float(r["score"]) for r in rows if r["dataset"] == "toy_test"}


def test_resume_does_not_redo_finished_jobs(tiny_run):
    jobs = planned_jobs(tiny_run["resumed"])
    assert "train_backward" in jobs  # the interrupted job
    for finished in ("generate_toy_corpus", "merge_corpus", "train_vocab", "merge_devset"):
        assert finished not in jobs, f"{finished} ran again after the interruption"
    assert (tiny_run["workdir"] / RESULTS / "vocab/vocab.spm").stat().st_mtime == tiny_run["vocab_mtime"]
    log = (tiny_run["workdir"] / f"logs/tiny/train_backward.log").read_text()
    assert "resuming the checkpoint" in log


def test_nothing_left_to_do(tiny_run):
    result = snakemake(tiny_run["workdir"], "-n", configfiles=[DEFAULT, TINY])
    assert "Nothing to be done" in result.stdout + result.stderr


def test_every_model_is_scored_and_beats_copying(tiny_run):
    scores = metrics(tiny_run["workdir"])
    models = {m for m, _ in scores}
    assert models == {"backward", "teacher0", "teacher1", "teacher-ensemble", "student",
                      "student-finetuned", "student-quantized", "baseline-copy"}
    assert all(metric in ("bleu", "chrf") for _, metric in scores)
    baseline = scores[("baseline-copy", "chrf")]
    for model in ("teacher0", "teacher-ensemble", "student-finetuned", "student-quantized"):
        assert scores[(model, "chrf")] > baseline + 3, (model, scores[(model, "chrf")], baseline)


def test_outputs_and_layout(tiny_run):
    root = tiny_run["workdir"] / RESULTS
    for path in ["corpus/parallel.xx.zst", "corpus/devset.yy.zst", "corpus/backtranslations.xx.zst",
                 "corpus/distillation.xx.zst", "corpus/distillation.aln.zst", "vocab/vocab.spm",
                 "models/backward/final.npz", "models/teacher1/final.npz",
                 "models/student-finetuned/final.npz", "models/student-quantized/model.intgemm8.bin",
                 "data/clean/toy_train.stats.json", "corpus/distillation.filter.json"]:
        assert (root / path).is_file(), path
    from mtdistill.common import textio

    n_distill = textio.count_lines(root / "corpus/distillation.xx.zst")
    assert n_distill == textio.count_lines(root / "corpus/distillation.yy.zst")
    assert n_distill == textio.count_lines(root / "corpus/distillation.aln.zst")
    stats = json.loads((root / "corpus/distillation.filter.json").read_text())
    assert stats["kept"] == n_distill and 0 < stats["dropped"] < stats["input"] * 0.1
    # Several translation chunks ran as separate jobs (one log each); their outputs are
    # temp() and gone once collected.
    assert len(list((tiny_run["workdir"] / "logs/tiny/translate/corpus").glob("*.log"))) >= 4
    assert not list((root / "translated/corpus/out").glob("*.zst"))


def test_export_is_self_contained_and_decodes(tiny_run, tmp_path):
    export = tiny_run["workdir"] / RESULTS / "exported"
    record = json.loads((export / "model.json").read_text())
    assert record["src"] == "xx" and record["files"]["model.intgemm8.bin"]["bytes"] > 0
    assert {m["model"] for m in record["metrics"]} >= {"student-quantized"}
    moved = tmp_path / "moved"
    moved.mkdir()
    for name in ("model.intgemm8.bin", "vocab.spm", "decoder.yml"):
        (moved / name).write_bytes((export / name).read_bytes())
    out = subprocess.run(["pymarian", "decode", "-c", str(moved / "decoder.yml"), "--cpu-threads", "1",
                          "--quiet"], input="toka raka rabara .\n", capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip()
