"""Dry runs: which rules each named target plans, and errors raised before any job runs."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time

import pytest

from conftest import DEFAULT, REPO, TINY, dry_run, planned_jobs, snakemake, write_config

DATA_RULES = {"generate_toy_corpus", "import_dataset", "clean_corpus", "merge_corpus"}
TRAINING = {"train_vocab", "train_backward", "train_teacher", "train_student", "finetune_student"}


@pytest.mark.parametrize(
    "target,present,absent",
    [
        ("vocab", DATA_RULES | {"train_vocab"}, {"train_backward", "train_teacher", "merge_mono"}),
        ("backward", {"train_vocab", "merge_devset", "train_backward"}, {"train_teacher", "split_corpus"}),
        ("backwards", {"train_vocab", "merge_devset", "train_backward"}, {"train_teacher", "split_corpus"}),
        (
            "teacher",
            {"train_backward", "split_corpus", "collect_mono_trg", "merge_teacher_corpus", "train_teacher"},
            {"train_student", "score", "alignments"},
        ),
        (
            "corpora",
            {"merge_corpus", "merge_devset", "collect_mono_trg", "split_corpus", "train_teacher",
             "merge_distillation", "score", "filter_distillation", "collect_translations"},
            {"train_student", "alignments", "evaluate_model"},
        ),
        (
            "student",
            {"train_teacher", "score", "filter_distillation", "alignments", "train_student",
             "finetune_student", "quantize"},
            {"evaluate_model", "export_student", "collect_metrics"},
        ),
        ("evaluate", TRAINING | {"evaluate_model", "evaluate_baseline", "collect_metrics"}, {"export_student"}),
        ("export", TRAINING | {"collect_metrics", "export_student"}, set()),
        ("all", TRAINING | {"collect_metrics", "export_student", "quantize"}, set()),
    ],
)
def test_named_targets(workdir, target, present, absent):
    jobs = dry_run(workdir, target)
    assert present <= set(jobs), f"missing from {target}: {present - set(jobs)}"
    assert not absent & set(jobs), f"unexpected in {target}: {absent & set(jobs)}"


def test_default_target_trains_the_ensemble_and_evaluates_every_model(workdir):
    jobs = dry_run(workdir)
    assert jobs["train_teacher"] == 2
    # backward, 2 teachers, ensemble, student, finetuned, quantized on one test set.
    assert jobs["evaluate_model"] == 7 and jobs["evaluate_baseline"] == 1


def test_ensemble_size_and_options_follow_config(workdir, tmp_path):
    cfg = write_config(tmp_path / "c.yml", "experiment: {teacher-ensemble: 3, finetune-student: false, quantize: false}\n")
    jobs = dry_run(workdir, configfiles=[DEFAULT, TINY, cfg])
    assert jobs["train_teacher"] == 3
    assert "finetune_student" not in jobs and "quantize" not in jobs


def test_split_vocab_trains_one_per_language(workdir, tmp_path):
    cfg = write_config(tmp_path / "c.yml", "experiment: {spm-vocab-split: true}\n")
    assert dry_run(workdir, "vocab", configfiles=[DEFAULT, TINY, cfg])["train_vocab"] == 2


def test_without_monolingual_data_no_back_translation(workdir, tmp_path):
    cfg = write_config(tmp_path / "c.yml", "datasets: {mono-src: [], mono-trg: []}\n")
    jobs = dry_run(workdir, configfiles=[DEFAULT, TINY, cfg])
    assert "merge_teacher_corpus" not in jobs and "collect_mono_trg" not in jobs
    assert "merge_mono" not in jobs and jobs["train_teacher"] == 2


@pytest.mark.parametrize(
    "override,message",
    [
        ("experiment: {teacher-ensemble: 0}\n", "teacher-ensemble"),
        ("experiment: {src: 'x;rm -rf /'}\n", "src"),
        ("experiment: {best-model: accuracy}\n", "best-model"),
        ("datasets: {train: ['../../etc/passwd']}\n", "train"),
        ("no-such-key: 1\n", "no-such-key"),
        ("experiment: {spm-vocab-sise: 10}\n", "spm-vocab-sise"),
        ("marian: {devices: tpu}\n", "devices"),
    ],
)
def test_bad_config_is_rejected_before_any_job(workdir, tmp_path, override, message):
    cfg = write_config(tmp_path / "bad.yml", override)
    result = snakemake(workdir, "-n", configfiles=[DEFAULT, TINY, cfg], check=False)
    assert result.returncode != 0
    assert message in result.stdout + result.stderr
    assert not (workdir / "results").exists()


def test_same_source_and_target_language(workdir, tmp_path):
    cfg = write_config(tmp_path / "bad.yml", "experiment: {src: yy}\n")
    result = snakemake(workdir, "-n", configfiles=[DEFAULT, TINY, cfg], check=False)
    assert result.returncode != 0 and "must differ" in result.stdout + result.stderr


def test_missing_local_dataset_names_the_file(workdir, tmp_path):
    cfg = write_config(tmp_path / "c.yml", "datasets: {train: [local_mycorpus], local-dir: corpora}\n")
    result = snakemake(workdir, "-n", configfiles=[DEFAULT, TINY, cfg], check=False)
    assert result.returncode != 0
    assert "corpora/mycorpus.xx.zst" in result.stdout + result.stderr


def test_local_dataset_found_in_any_format(workdir, tmp_path):
    from mtdistill.common import textio

    (workdir / "corpora").mkdir()
    textio.write_lines(workdir / "corpora" / "mine.xx.gz", ["a"])
    (workdir / "corpora" / "mine.yy").write_text("b\n")
    cfg = write_config(tmp_path / "c.yml", "datasets: {train: [local_mine], local-dir: corpora}\n")
    assert dry_run(workdir, "vocab", configfiles=[DEFAULT, TINY, cfg])["import_dataset"] >= 2


@pytest.mark.parametrize("example", sorted((REPO / "config" / "examples").glob("*.yml")), ids=lambda p: p.stem)
def test_every_example_config_plans(workdir, example):
    # real-pair is a complete config; the continuation recipes are overlays of the toy.
    configfiles = [example] if example.stem == "real-pair" else [DEFAULT, example]
    jobs = dry_run(workdir, configfiles=configfiles)
    assert jobs["export_student"] == 1
    if example.stem == "real-pair":  # trains from scratch on downloaded datasets
        assert jobs["train_vocab"] == 1 and jobs["import_parallel"] >= 5
        assert not (workdir / "resources").exists()  # planning downloads nothing
    else:  # the continuation recipes reuse a vocab
        assert jobs["download_vocab"] == 1 and "train_vocab" not in jobs


def test_export_records_the_merged_config(workdir, tmp_path):
    """model.json gets the sha256 of the config that ran: every file merged, schema defaults
    set (tests/test_plan.py builds configs the same way, and so finds the same digest)."""
    from mtdistill.plan import make_plan
    from test_plan import config_of

    cfg = write_config(tmp_path / "c.yml", "downloads: {retries: 1}\n")
    result = snakemake(workdir, "-n", "-p", "export_student", configfiles=[DEFAULT, TINY, cfg])
    shown = re.search(r"--config-sha256 ([0-9a-f]{64}) ", result.stdout + result.stderr)
    assert shown, result.stdout[-3000:]
    assert shown.group(1) == make_plan(config_of(TINY, cfg)).config_sha256
    assert shown.group(1) != make_plan(config_of(TINY)).config_sha256


def test_local_profile_as_documented(workdir):
    result = snakemake(workdir, "-n", "--profile", str(REPO / "profiles" / "local"))
    assert "train_teacher" in planned_jobs(result.stdout + result.stderr)


# Snakemake's main with every import of the job scripts' dependencies refused while code of
# the workflow (Snakefile, rules/, scripts/) is on the stack. Snakemake itself may import
# them (its SLURM plugin imports pandas), so sys.modules cannot simply block them.
NO_JOB_MODULES = """
import builtins, sys
own = tuple(sys.argv.pop(1) + p for p in ("/Snakefile", "/rules/", "/scripts/"))
blocked = {"zstandard", "requests", "numpy", "sentencepiece", "sacrebleu", "pandas", "matplotlib"}
real_import = builtins.__import__

def guarded(name, globals=None, locals=None, fromlist=(), level=0):
    if not level and name.partition(".")[0] in blocked:
        frame = sys._getframe(1)
        while frame:
            if frame.f_code.co_filename.startswith(own):
                raise ImportError(f"{name} imported while the DAG is built: {frame.f_code.co_filename}")
            frame = frame.f_back
    return real_import(name, globals, locals, fromlist, level)

builtins.__import__ = guarded
from snakemake.cli import main
main()
"""


@pytest.mark.parametrize("example", [None, "distill-student", "student-from-distillation"])
def test_dag_is_built_without_the_job_scripts_dependencies(workdir, example):
    """Planning (rules/common.smk, mtdistill.plan) imports no job script, so none of
    zstandard, requests, numpy, sentencepiece, sacrebleu, pandas, matplotlib."""
    configfiles = ["--configfile", str(DEFAULT), str(REPO / "config/examples" / f"{example}.yml")] if example else []
    cmd = [sys.executable, "-c", NO_JOB_MODULES, str(REPO), "-s", str(REPO / "Snakefile"),
           "-d", str(workdir), "-n", *configfiles]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    jobs = planned_jobs(output)
    assert jobs["train_student"] == 1 and jobs["export_student"] == 1, jobs


# --- a config file alone; configs from mozilla/translations (issue 15 §2) ---------------------

UPSTREAM_PROD = REPO / "tests" / "configs" / "upstream" / "config.prod.yml"
EN_RU = """experiment: {name: en-ru, src: en, trg: ru}
datasets:
  train: [opus_Books/v1]
  devtest: [flores_dev]
  test: [flores_devtest]
"""


def test_upstream_prod_config_plans_offline_with_warnings_only(workdir):
    """taskcluster/configs/config.prod.yml of mozilla/translations, given alone, plans in
    seconds: every key it has is accepted, translated or dropped with a warning."""
    # No proxy can be reached: a lookup while the DAG is built would fail the run.
    env = {**os.environ, **{k: "http://127.0.0.1:9" for k in ("http_proxy", "https_proxy",
                                                                "HTTP_PROXY", "HTTPS_PROXY")}}
    start = time.monotonic()
    result = snakemake(workdir, "-n", configfiles=[UPSTREAM_PROD], env=env, timeout=300)
    elapsed = time.monotonic() - start
    out = result.stdout + result.stderr
    jobs = planned_jobs(out)
    assert elapsed < 60, elapsed
    for rule in ("download_model_with_vocab", "import_parallel", "import_mono", "merge_corpus",
                 "train_teacher", "train_student", "finetune_student", "quantize", "export_student"):
        assert jobs.get(rule), (rule, jobs)
    # The backward model is reused (continuation.models.backwards, mode use): not trained.
    assert "train_backward" not in jobs and "generate_toy_corpus" not in jobs and "train_vocab" not in jobs
    assert jobs["train_teacher"] == 1  # experiment.teacher-ensemble: 1
    warnings = [line for line in out.splitlines() if line.startswith("WARNING: ")]
    for key in ("config key `taskcluster`", "config key `target-stage`", "config key `wandb-publication`",
                "config experiment.opuscleaner-mode", "config experiment.student-model base-memory",
                "config experiment.mono-max-sentences-src", "config datasets.test: flores_aug-mix_devtest"):
        assert any(key in w for w in warnings), key
    assert "error" not in out.lower().replace("stderr", ""), out[-3000:]
    assert not (workdir / "resources").exists() and not (workdir / "results").exists()


def test_a_real_pair_file_alone_plans_no_toy_rule(workdir, tmp_path):
    cfg = write_config(tmp_path / "en-ru.yml", EN_RU)
    result = snakemake(workdir, "-n", "-p", configfiles=[cfg])
    out = result.stdout + result.stderr
    jobs = planned_jobs(out)
    assert "generate_toy_corpus" not in jobs and "import_mono" not in jobs and "toy_" not in out
    assert jobs["import_parallel"] == 3 and "WARNING" not in out
    # Production presets, not the toy's.
    assert '"preset": "transformer-big"' in out and "transformer-toy" not in out


def test_a_real_pair_layered_over_the_toy_is_refused(workdir, tmp_path):
    cfg = write_config(tmp_path / "en-ru.yml", EN_RU)
    result = snakemake(workdir, "-n", configfiles=[DEFAULT, cfg], check=False)
    out = result.stdout + result.stderr
    assert result.returncode != 0
    assert "config datasets.mono-src lists toy_mono-src, but toy_ datasets are generated text" in out
    assert "applies only when no --configfile is given" in out
    assert not (workdir / "results").exists()


def test_reused_corpora_over_a_full_config_import_nothing_they_replace(workdir, tmp_path):
    """Upstream's way: a continuation block added to a full config. A warning, and the
    datasets it replaces are not imported."""
    cfg = write_config(tmp_path / "c.yml", """
continuation:
  vocab: {src: https://x.example.org/vocab.spm, trg: https://x.example.org/vocab.spm}
  corpora:
    parallel: {src: https://x.example.org/p.xx.zst, trg: https://x.example.org/p.yy.zst}
    backtranslations: {src: https://x.example.org/b.xx.zst, trg: https://x.example.org/b.yy.zst}
""")
    result = snakemake(workdir, "-n", configfiles=[DEFAULT, TINY, cfg])
    out = result.stdout + result.stderr
    assert ("WARNING: continuation.corpora.parallel replaces the training datasets: datasets.train "
            "(toy_train) not used and not imported") in out
    assert ("WARNING: continuation.corpora.backtranslations replaces back-translating: "
            "datasets.mono-trg (toy_mono-trg) not used and not imported") in out
    assert "original/toy_train." not in out and "original/toy_mono-trg." not in out
    assert "original/toy_mono-src." in out  # still distilled from
    jobs = planned_jobs(out)
    assert jobs["download_parallel"] == 1 and jobs["download_backtranslations"] == 1
    assert "merge_corpus" not in jobs and "collect_mono_trg" not in jobs
