"""Configs written for mozilla/translations (mtdistill.config.upstream): each upstream key
accepted, translated with a warning or dropped with a warning naming it; this workflow's
own configs pass unchanged. The dry run of upstream's production config: tests/test_dryrun.py."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from conftest import DEFAULT, REPO
from mtdistill.common.errors import ConfigError
from mtdistill.config import guard
from mtdistill.config.upstream import translate
from mtdistill.plan import make_plan

PROD = REPO / "tests" / "configs" / "upstream" / "config.prod.yml"
BASE = {"experiment": {"name": "x", "src": "en", "trg": "ru"},
        "datasets": {"devtest": ["flores_dev"], "test": ["flores_devtest"]}}


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def with_(**sections) -> dict:
    config = copy.deepcopy(BASE)
    for key, value in sections.items():
        if isinstance(value, dict) and isinstance(config.get(key), dict):
            config[key] = {**config[key], **value}
        else:
            config[key] = value
    return config


def test_own_configs_pass_unchanged_and_silently():
    for path in [DEFAULT, *sorted((REPO / "config" / "examples").glob("*.yml")),
                 REPO / "tests" / "configs" / "tiny.yml"]:
        config = load(path)
        assert translate(config) == (config, []), path


def test_translate_does_not_touch_its_argument():
    config = load(PROD)
    before = copy.deepcopy(config)
    translate(config)
    assert config == before


def test_upstream_prod_config_passes_the_schema_and_plans():
    from test_plan import with_defaults

    config, warnings = translate(load(PROD))
    guard.guard(config, guard.load_schema(REPO / "config/schema/config.schema.yml"))
    plan = make_plan(with_defaults(config))
    assert plan.src == "en" and plan.trg == "ru" and plan.teachers == ("teacher0",)
    assert plan.continued["backward"].mode == "use"
    assert config["marian-args"]["training-student"] == {"early-stopping": "15", "preset": "student-base-memory"}
    assert config["mono-max-sentences-src"] == 100_000_000 and config["cleaning"]["bicleaner"]["threshold"] == 0.5
    assert "flores_aug-mix_dev" not in config["datasets"]["devtest"] and "flores_dev" in config["datasets"]["devtest"]
    assert config["datasets"]["test"].count("sacrebleu_wmt20") == 1
    assert config["datasets"]["test"].count("flores_devtest") == 1
    dropped = ["taskcluster", "wandb-publication", "target-stage", "experiment.opuscleaner-mode",
               "experiment.archive-corpora", "experiment.monocleaner", "experiment.hplt-min-doc-score",
               "experiment.dev-max-sentences", "experiment.spm-norm-rule", "experiment.teacher-mode",
               "experiment.teacher-decoder", "experiment.bicleaner.dataset-thresholds",
               "experiment.mono-max-sentences-src.per-dataset"]
    for key in dropped:
        assert any(f"config key `{key}`" in w or f"config {key} " in w for w in warnings), key
    assert all("ignored" in w or "taken as" in w or "augmented" in w or "more than once" in w
               for w in warnings), warnings


@pytest.mark.parametrize("key,value,hint", [
    ("taskcluster", {"split-chunks": 20}, "`resources` and a profile"),
    ("wandb-publication", True, "--report report.html"),
    ("target-stage", "evaluate-teacher", "snakemake student"),
    ("previous-group-ids", ["abc"], "results/"),
    ("start-task-prefix", "train-teacher", "--forcerun"),
])
def test_taskcluster_keys_are_dropped_with_a_hint(key, value, hint):
    config, warnings = translate(with_(**{key: value}))
    assert key not in config and config == BASE
    assert warnings == [w for w in warnings if f"config key `{key}` only means something on Taskcluster" in w]
    assert hint in warnings[0]


@pytest.mark.parametrize("value,total,per_dataset", [
    ({"total": 500_000_000, "per-dataset": 200_000_000}, 500_000_000, True),
    ({"total": 1000}, 1000, False),
    (3000, 3000, False),
])
def test_mono_max_sentences_under_experiment(value, total, per_dataset):
    config, warnings = translate(with_(experiment={"mono-max-sentences-trg": value}))
    assert config["mono-max-sentences-trg"] == total and "mono-max-sentences-trg" not in config["experiment"]
    assert any("taken as the top-level mono-max-sentences-trg" in w for w in warnings)
    assert any("per-dataset is ignored" in w for w in warnings) == per_dataset


@pytest.mark.parametrize("best,taken", [
    ("perplexity", "ce-mean-words"), ("cross-entropy", "ce-mean-words"), ("bleu", "bleu-detok"),
    ("bleu-segmented", "bleu-detok"), ("chrf", "chrf"), ("translation", None), ("valid-script", None),
    ("accuracy", "accuracy"),  # no metric anywhere: left to the schema, which refuses it
])
def test_best_model(best, taken):
    config, warnings = translate(with_(experiment={"best-model": best}))
    assert config["experiment"].get("best-model") == taken
    assert bool(warnings) == (best not in ("chrf", "accuracy"))


@pytest.mark.parametrize("student,preset", [
    ("tiny", "student-tiny"), ("base", "student-base"), ("base-memory", "student-base-memory")])
def test_student_model_is_a_preset(student, preset):
    config, warnings = translate(with_(experiment={"student-model": student},
                                       **{"marian-args": {"training-student": {"early-stopping": "15"}}}))
    assert config["marian-args"]["training-student"] == {"early-stopping": "15", "preset": preset}
    assert config["marian-args"]["training-student-finetuned"] == {"preset": preset}
    assert (REPO / "config" / "marian" / f"{preset}.yml").is_file()
    assert len(warnings) == 1 and f"taken as preset {preset}" in warnings[0]


def test_student_model_yields_to_a_preset_given():
    config, warnings = translate(with_(experiment={"student-model": "base"},
                                       **{"marian-args": {"training-student": {"preset": "student-toy"}}}))
    assert config["marian-args"]["training-student"] == {"preset": "student-toy"}
    assert any("ignored where marian-args.training-student.preset is student-toy" in w for w in warnings)


def test_bicleaner_thresholds():
    config, warnings = translate(with_(experiment={"bicleaner": {
        "default-threshold": 0.6, "dataset-thresholds": {"opus_ParaCrawl_v9": 0.7}}}))
    assert config["cleaning"] == {"bicleaner": {"threshold": 0.6}}
    assert "bicleaner" not in config["experiment"]
    assert len(warnings) == 2 and "cleaning.bicleaner.enabled: true" in warnings[0]


@pytest.mark.parametrize("where", ["top", "experiment"])
def test_old_pretrained_models_become_continuation_models(where):
    old = {"train-teacher": {"urls": ["https://x.org/t"], "mode": "continue", "type": "default"},
           "train-backwards": {"urls": ["https://x.org/b"], "mode": "use", "type": "default"}}
    config = with_(experiment={"pretrained-models": old}) if where == "experiment" else \
        with_(**{"pretrained-models": old})
    config, warnings = translate(config)
    assert config["continuation"]["models"] == {
        "teachers": {"urls": ["https://x.org/t"], "mode": "continue", "type": "default"},
        "backwards": {"url": "https://x.org/b", "mode": "use", "type": "default"}}
    assert "pretrained-models" not in config and "pretrained-models" not in config["experiment"]
    assert len(warnings) == 2 and all("old spelling of continuation.models" in w for w in warnings)


def test_old_pretrained_models_clashing_with_continuation_is_an_error():
    config = with_(**{"pretrained-models": {"train-backwards": {"urls": ["https://x.org/b"], "mode": "use"}},
                      "continuation": {"models": {"backwards": {"url": "https://y.org/b", "mode": "use"}}}})
    with pytest.raises(ConfigError, match="pretrained-models.train-backwards and continuation.models.backwards"):
        translate(config)


def test_empty_old_pretrained_models_is_dropped_silently():
    assert translate(with_(**{"pretrained-models": {}})) == (BASE, [])


def test_datasets_of_importers_not_here_are_dropped_with_a_hint():
    config, warnings = translate(with_(datasets={
        "mono-src": ["news-crawl_news.2021", "hplt_mono/v2.0"], "test": ["flores_devtest", "ntrex_devtest"]}))
    assert config["datasets"]["mono-src"] == ["news-crawl_news.2021"]
    assert config["datasets"]["test"] == ["flores_devtest"]
    assert any("hplt_mono/v2.0 dropped: no hplt_ importer here" in w and "url_" in w for w in warnings)
    assert any("ntrex_devtest dropped: no ntrex_ importer here" in w for w in warnings)


def test_opus_monolingual_datasets_are_opus_mono_files():
    config, warnings = translate(with_(datasets={"mono-trg": ["opus_NLLB/v1"], "train": ["opus_NLLB/v1"]}))
    assert config["datasets"]["mono-trg"] == ["url_https://object.pouta.csc.fi/OPUS-NLLB/v1/mono/ru.txt.gz"]
    assert config["datasets"]["train"] == ["opus_NLLB/v1"]  # parallel: the moses zip, as before
    assert len(warnings) == 1 and "OPUS's monolingual files" in warnings[0]


def test_augmented_and_repeated_datasets():
    config, warnings = translate(with_(datasets={
        "devtest": ["flores_aug-mix_dev", "sacrebleu_aug-inline-noise_wmt19"],
        "test": ["flores_devtest", "flores_aug-title_devtest", "sacrebleu_wmt20", "sacrebleu_wmt20"]}))
    assert config["datasets"]["devtest"] == ["flores_dev", "sacrebleu_wmt19"]
    assert config["datasets"]["test"] == ["flores_devtest", "sacrebleu_wmt20"]
    assert len(warnings) == 3 and "more than once" in warnings[2]


def test_unknown_keys_are_left_for_the_schema():
    config, warnings = translate(with_(experiment={"no-such-key": 1}))
    assert config["experiment"]["no-such-key"] == 1 and warnings == []
