"""The plan (mtdistill.plan): what each config runs and from where, checked without
Snakemake. A config is merged the way Snakemake merges --configfile files over the embedded
default (dicts deep-merged, everything else replaced), then guarded and given the schema's
defaults as rules/common.smk does before it calls make_plan."""

from __future__ import annotations

import copy
import hashlib
import re
from pathlib import Path

import jsonschema
import pytest
import yaml

from conftest import REPO
from mtdistill.common.errors import ConfigError
from mtdistill.config import guard
from mtdistill.plan import ContinuationError, make_plan, url_key

SCHEMA = guard.load_schema(REPO / "config/schema/config.schema.yml")
DEFAULT = yaml.safe_load((REPO / "config/config.yml").read_text(encoding="utf-8"))
EXAMPLES = {p.stem: p for p in sorted((REPO / "config/examples").glob("*.yml"))}
BASE = "https://models.example.org/run"
VOCAB = {"src": f"{BASE}/vocab.spm", "trg": f"{BASE}/vocab.spm"}
NO_DATA = {"train": [], "mono-src": [], "mono-trg": []}
SHA, SHA2 = "a" * 64, "b" * 64
MODELS_USE = {"urls": [f"{BASE}/t0", f"{BASE}/t1"], "mode": "use", "type": "default"}
BACKWARD_USE = {"url": f"{BASE}/backward", "mode": "use"}
STUDENT_INIT = {"url": f"{BASE}/student", "mode": "init"}


def merged(base: dict, override: dict) -> dict:
    """`override` over `base` as Snakemake's update_config merges config files."""
    for key, value in override.items():
        if isinstance(value, dict):
            base[key] = merged(base.get(key, {}), value)
        else:
            base[key] = value
    return base


def with_defaults(config: dict) -> dict:
    """Validate against the schema, setting its defaults (as snakemake.utils.validate)."""
    validator = jsonschema.Draft202012Validator
    check_properties = validator.VALIDATORS["properties"]

    def set_defaults(checker, properties, instance, schema):
        for name, subschema in properties.items():
            if "default" in subschema:
                instance.setdefault(name, copy.deepcopy(subschema["default"]))
        yield from check_properties(checker, properties, instance, schema)

    jsonschema.validators.extend(validator, {"properties": set_defaults})(SCHEMA).validate(config)
    return config


def config_of(*overrides) -> dict:
    """The embedded default with each override (a dict or a config file) merged over it."""
    config = copy.deepcopy(DEFAULT)
    for override in overrides:
        if isinstance(override, Path):
            override = yaml.safe_load(override.read_text(encoding="utf-8"))
        merged(config, copy.deepcopy(override))
    guard.guard(config, SCHEMA)
    return with_defaults(config)


def plan_of(*overrides):
    return make_plan(config_of(*overrides))


def model_dir(url: str) -> str:
    return f"resources/models/{url_key(url)}"


# --- the embedded default ------------------------------------------------------------------


def test_default_trains_everything_from_the_toy_datasets():
    plan = plan_of()
    assert (plan.exp, plan.src, plan.trg) == ("toy", "xx", "yy")
    assert plan.paths.results == "results/toy" and plan.paths.logs == "logs/toy"
    assert plan.teachers == ("teacher0", "teacher1") and plan.continued == {}
    assert plan.upstream_models == ["backward", "teacher0", "teacher1"]
    assert plan.trained_here == ["backward", "teacher0", "teacher1", "student", "student-finetuned"]
    assert plan.training_mode == {"backward": "train", "teacher0": "train", "teacher1": "train",
                                  "student": "train", "student-finetuned": "init from student"}
    assert plan.student_final == "student-finetuned"
    assert plan.eval_models == ["backward", "teacher0", "teacher1", "teacher-ensemble", "student",
                                "student-finetuned", "student-quantized"]
    assert plan.model_file("teacher1") == "results/toy/models/teacher1/final.npz"
    assert plan.pretrained_files("student") == [] and plan.pretrained_args("student") == ""
    assert plan.exported_model == plan.quantized == "results/toy/models/student-quantized/model.intgemm8.bin"


def test_default_vocab_corpora_and_datasets():
    plan = plan_of()
    assert plan.vocab.files == ["results/toy/vocab/vocab.spm"] and plan.vocab.urls == {}
    assert plan.vocabs("backward") == ["results/toy/vocab/vocab.spm"] * 2
    assert plan.corpus_kinds == ["parallel", "backtranslations", "distillation"]
    assert plan.corpus_file("parallel", "xx") == "results/toy/corpus/parallel.xx.zst"
    assert plan.alignments_file() == "results/toy/corpus/distillation.aln.zst"
    assert plan.teacher_corpus("yy") == "results/toy/corpus/teacher.yy.zst"
    # toy_ datasets are generated, none is downloaded.
    assert plan.stems == {n: n for n in ("toy_train", "toy_dev", "toy_test", "toy_mono-src", "toy_mono-trg")}
    assert plan.download_parallel == [] and plan.download_mono == []
    assert plan.toy_files()[:2] == ["results/toy/data/toy/train.xx.zst", "results/toy/data/toy/train.yy.zst"]
    assert plan.mono_datasets("yy") == ["toy_mono-trg"]
    assert plan.clean_stats_files("mono-src") == ["results/toy/data/clean/mono/toy_mono-src.xx.stats.json"]
    # py3langid knows neither xx nor yy: auto means off for them.
    assert plan.langid == "auto" and not plan.uses_langid
    assert plan.clean_rules == "results/toy/data/clean"


def test_default_report_sees_every_stage():
    plan = plan_of()
    assert plan.uses_parallel and plan.uses_backtranslations and plan.makes_backtranslations
    assert plan.makes_distillation and plan.uses_mono_src and plan.uses_devset
    assert plan.data_stats == [
        ("train", "results/toy/data/clean/toy_train.stats.json"),
        ("devtest", "results/toy/data/clean/toy_dev.stats.json"),
        ("mono-src", "results/toy/data/clean/mono/toy_mono-src.xx.stats.json"),
        ("mono-trg", "results/toy/data/clean/mono/toy_mono-trg.yy.stats.json"),
    ]
    assert [name for name, _ in plan.data_corpora] == [
        "parallel", "backtranslations", "teacher", "mono.xx", "mono.yy", "devset", "distillation"]
    assert plan.distill_filter == ["results/toy/corpus/distillation.filter.json"]
    assert len(plan.metrics_files()) == 7 + 1  # every model and the copy baseline, one test set
    assert plan.provenance == dict.fromkeys(["backward", "teacher0", "teacher1", "student"], "trained")
    assert plan.provenance_inputs == {"vocab": "trained here", "parallel corpus": "made here",
                                      "backtranslations corpus": "made here",
                                      "distillation corpus": "made here"}
    assert plan.derived_models == {
        "student-finetuned": {"origin": "finetuned here from student"},
        "student-quantized": {"origin": "converted here from student-finetuned (intgemm8)"},
    }


def test_config_sha256_is_the_merged_config():
    config = config_of()
    plan = make_plan(config)
    assert re.fullmatch(r"[0-9a-f]{64}", plan.config_sha256)
    # Any value of any file or default counts; the order of keys does not.
    assert plan_of({"marian-args": {"decoding-student": {"beam-size": 2}}}).config_sha256 != plan.config_sha256
    reordered = dict(reversed(list(config.items())))
    assert make_plan(reordered).config_sha256 == plan.config_sha256


def test_download_limits_come_from_the_schema_defaults():
    config = copy.deepcopy(DEFAULT)
    del config["downloads"]
    assert with_defaults(config)["downloads"] == {"max-bytes": 50 * 10**9, "retries": 4, "timeout": 60}
    partial = merged(copy.deepcopy(DEFAULT), {"downloads": {"retries": 1}})
    del partial["downloads"]["max-bytes"], partial["downloads"]["timeout"]
    assert with_defaults(partial)["downloads"] == {"max-bytes": 50 * 10**9, "retries": 1, "timeout": 60}


def test_options_shape_the_plan():
    plan = plan_of({"experiment": {"teacher-ensemble": 1, "finetune-student": False, "quantize": False,
                                   "spm-vocab-split": True},
                    "datasets": {"mono-src": [], "mono-trg": []}})
    assert plan.eval_models == ["backward", "teacher0", "student"]  # no ensemble of one
    assert plan.trained_here == ["backward", "teacher0", "student"]
    assert plan.exported_model == "results/toy/models/student/final.npz"
    assert plan.vocab.files == ["results/toy/vocab/vocab.xx.spm", "results/toy/vocab/vocab.yy.spm"]
    assert plan.vocabs("backward") == ["results/toy/vocab/vocab.yy.spm", "results/toy/vocab/vocab.xx.spm"]
    assert plan.corpus_kinds == ["parallel", "distillation"]
    assert plan.teacher_corpus("xx") == "results/toy/corpus/parallel.xx.zst"
    assert not plan.uses_backtranslations and not plan.uses_mono_src
    assert [name for name, _ in plan.data_corpora] == ["parallel", "devset", "distillation"]
    assert plan.derived_models == {}


def test_downloaded_datasets_and_neural_cleaning():
    plan = plan_of({
        "experiment": {"src": "en", "trg": "de"},
        "cleaning": {"bicleaner": {"enabled": True}},
        # Local files, not toy_ sets: generated toy text never reaches a real pair.
        "datasets": {"train": ["local_mine", "opus_ELRC-3075/v1", "url_https://example.org/c.[LANG].gz"],
                     "devtest": ["flores_dev"], "test": ["flores_devtest"],
                     "mono-src": ["local_mono", "url_https://example.org/c.[LANG].gz"],
                     "mono-trg": ["news-crawl_news.2021"]},
    })
    url_stem = "url_" + hashlib.sha256(b"https://example.org/c.[LANG].gz").hexdigest()[:12] + "_c.LANG"
    assert plan.stems[url_stem] == "url_https://example.org/c.[LANG].gz"
    assert plan.stems["opus_ELRC-3075_v1"] == "opus_ELRC-3075/v1"
    # Parallel data: both languages in one job; a dataset also used as mono is not
    # downloaded twice; a mono-only dataset one language per job.
    assert plan.download_parallel == sorted(["flores_dev", "flores_devtest", "opus_ELRC-3075_v1", url_stem])
    assert plan.download_mono == ["news-crawl_news.2021"]
    assert plan.langid == "auto" and plan.uses_langid  # py3langid knows en and de
    assert plan.clean_rules == "results/toy/data/clean-rules"
    assert plan.clean_parallel_files(["opus_ELRC-3075/v1"], "de") == [
        "results/toy/data/clean/opus_ELRC-3075_v1.de.zst"]


# --- the examples (config/examples/), each over the default -----------------------------------


def test_every_example_is_covered_below():
    assert set(EXAMPLES) == {"continue-teachers", "distill-student", "init-student", "real-pair",
                             "student-from-distillation", "train-teacher"}


def test_example_continue_teachers():
    plan = plan_of(EXAMPLES["continue-teachers"])
    urls = ["results/toy/models/teacher0", "results/toy/models/teacher1"]
    assert {n: (c.url, c.mode, c.dir) for n, c in plan.continued.items()} == {
        f"teacher{i}": (url, "continue", model_dir(url)) for i, url in enumerate(urls)}
    assert plan.trained_here == ["backward", "teacher0", "teacher1", "student", "student-finetuned"]
    assert plan.training_mode["teacher0"] == "continue" and plan.training_mode["backward"] == "train"
    # Trained here, starting from the download.
    assert plan.model_file("teacher0") == "results/toy-continue/models/teacher0/final.npz"
    assert plan.pretrained_files("teacher1") == [f"{model_dir(urls[1])}/final.npz"]
    assert plan.vocab.files == [f"resources/vocab/{url_key('results/toy/vocab/vocab.spm')}/vocab.spm"]
    assert list(plan.vocab.urls.values()) == ["results/toy/vocab/vocab.spm"]  # joint: one download
    assert plan.corpus_kinds == ["parallel", "backtranslations", "distillation"] and plan.corpora == {}
    assert plan.provenance["teacher0"] == {"url": urls[0], "mode": "continue"}
    assert plan.provenance_inputs["vocab"] == {"joint": "results/toy/vocab/vocab.spm"}


def test_example_distill_student():
    plan = plan_of(EXAMPLES["distill-student"])
    assert {n: c.mode for n, c in plan.continued.items()} == {
        "teacher0": "use", "teacher1": "use", "backward": "use"}
    assert plan.upstream_models == ["backward", "teacher0", "teacher1"]
    assert plan.trained_here == ["student", "student-finetuned"]
    assert plan.model_file("backward") == f"{model_dir('results/toy/models/backward')}/final.npz"
    assert plan.model_by_key == {url_key(c.url): n for n, c in plan.continued.items()}
    assert plan.continued_at(url_key("results/toy/models/teacher1")) == plan.continued["teacher1"]
    assert set(plan.corpora) == {"parallel", "backtranslations"}
    assert plan.corpus_file("parallel", "yy").startswith(plan.corpus_dir("parallel") + "/")
    assert plan.corpus_file("parallel", "yy").endswith("/parallel.yy.zst")
    assert plan.corpus_dir("parallel").startswith("resources/corpora/")
    # The teachers translate the downloaded corpus and the source mono; nothing trains on
    # the back-translations.
    assert plan.makes_distillation and plan.uses_parallel and plan.uses_mono_src
    assert not plan.teachers_trained and not plan.uses_backtranslations
    assert [use for use, _ in plan.data_stats] == ["devtest", "mono-src"]
    assert "teacher-ensemble" in plan.eval_models
    assert plan.provenance["backward"] == {"url": "results/toy/models/backward", "mode": "use"}


def test_example_init_student():
    plan = plan_of(EXAMPLES["init-student"])
    url = "results/toy/models/student"
    assert plan.mode_of("student") == "init" and not plan.is_downloaded("student")
    assert plan.trained_here == ["backward", "teacher0", "teacher1", "student", "student-finetuned"]
    assert plan.model_file("student") == "results/toy-init-student/models/student/final.npz"
    assert plan.pretrained_args("student") == f"--pretrained {model_dir(url)}"
    assert plan.training_mode["student"] == "init"
    assert plan.provenance["student"] == {"url": url, "mode": "init"}


def test_example_real_pair():
    plan = plan_of(EXAMPLES["real-pair"])
    assert (plan.exp, plan.src, plan.trg) == ("en-de", "en", "de")
    assert plan.download_parallel == sorted([
        "opus_Europarl_v8", "opus_News-Commentary_v16", "mtdata_Statmt-commoncrawl_wmt13-1-deu-eng",
        "flores_dev", "sacrebleu_wmt19", "flores_devtest", "sacrebleu_wmt20", "sacrebleu_wmt21"])
    assert plan.download_mono == ["news-crawl_news.2021", "news-crawl_news.2022"]
    assert plan.stems["opus_Europarl_v8"] == "opus_Europarl/v8"
    assert plan.uses_langid and plan.continued == {}
    assert len(plan.metrics_files()) == (7 + 1) * 3  # every model and the baseline, 3 test sets


def test_example_student_from_distillation():
    plan = plan_of(EXAMPLES["student-from-distillation"])
    assert plan.distillation_given and plan.upstream_models == []
    assert plan.trained_here == ["student", "student-finetuned"]
    assert plan.corpus_kinds == ["distillation"]
    # The downloaded trio is checked and converted to this run's pieces (rule trio_distillation).
    assert plan.alignments_file() == "results/toy-student-only/corpus/distillation.aln.zst"
    assert plan.trio_kinds == ["distillation"]
    assert plan.eval_models == ["student", "student-finetuned", "student-quantized"]
    assert not plan.makes_distillation and not plan.uses_parallel and plan.distill_filter == []
    assert [use for use, _ in plan.data_stats] == ["devtest"]
    assert [name for name, _ in plan.data_corpora] == ["devset", "distillation"]
    assert plan.provenance == {"student": "trained"}
    given = yaml.safe_load(EXAMPLES["student-from-distillation"].read_text())
    assert plan.provenance_inputs["distillation corpus"] == given["continuation"]["corpora"]["distillation"]


def test_example_train_teacher():
    plan = plan_of(EXAMPLES["train-teacher"])
    assert plan.trained_here == ["teacher0", "teacher1", "student", "student-finetuned"]
    assert plan.is_downloaded("backward") and plan.teachers_trained
    # The downloaded back-translations feed the teachers; none are made here.
    assert plan.uses_backtranslations and not plan.makes_backtranslations
    assert plan.teacher_corpus("xx") == "results/toy-new-teacher/corpus/teacher.xx.zst"
    corpora = dict(plan.data_corpora)
    assert corpora["backtranslations"] == plan.corpus_file("backtranslations", "xx")
    assert corpora["backtranslations"].startswith("resources/corpora/")
    assert "train" not in dict(plan.data_stats)  # the parallel corpus was downloaded


# --- continuation modes ------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["use", "continue", "init"])
@pytest.mark.parametrize("key", ["teacher", "teachers"])
def test_teacher_modes(key, mode):
    urls = [f"{BASE}/t0", f"{BASE}/t1"]
    plan = plan_of({"continuation": {"vocab": VOCAB, "models": {
        key: {"urls": urls, "mode": mode, "type": "default", "sha256": [SHA, SHA2]}}}})
    assert [(c.url, c.sha256) for c in plan.continued.values()] == [(urls[0], SHA), (urls[1], SHA2)]
    assert plan.is_downloaded("teacher0") == (mode == "use")
    assert plan.teachers_trained == (mode != "use")
    assert plan.model_file("teacher0") == (
        f"{model_dir(urls[0])}/final.npz" if mode == "use" else "results/toy/models/teacher0/final.npz")
    assert plan.pretrained_files("teacher1") == ([] if mode == "use" else [f"{model_dir(urls[1])}/final.npz"])
    assert plan.provenance["teacher1"] == {"url": urls[1], "mode": mode}
    assert "backward" in plan.trained_here


@pytest.mark.parametrize("mode", ["use", "continue", "init"])
def test_backward_modes(mode):
    url = f"{BASE}/backward"
    plan = plan_of({"continuation": {"vocab": VOCAB, "models": {
        "backwards": {"url": url, "mode": mode, "type": "default"}}}})
    assert ("backward" in plan.trained_here) == (mode != "use")
    assert plan.model_file("backward").startswith(model_dir(url) if mode == "use" else "results/toy/")
    assert plan.pretrained_args("backward") == ("" if mode == "use" else f"--pretrained {model_dir(url)}")
    assert plan.makes_backtranslations  # with the downloaded or the trained backward model
    assert plan.vocabs("backward") == plan.vocabs("forward")[::-1]


@pytest.mark.parametrize("mode", ["continue", "init"])
def test_student_trained_from_a_download(mode):
    url = f"{BASE}/student"
    plan = plan_of({"continuation": {"vocab": VOCAB, "models": {
        "student": {"url": url, "mode": mode, "type": "default"}}}})
    assert plan.upstream_models == ["backward", "teacher0", "teacher1"]
    assert plan.training_mode["student"] == mode
    assert plan.pretrained_files("student") == [f"{model_dir(url)}/final.npz"]
    assert plan.model_file("student") == "results/toy/models/student/final.npz"


def test_student_used_as_downloaded_keeps_only_downloaded_models():
    """Training teachers just to evaluate them would cost more than the rest of the run."""
    plan = plan_of({
        "experiment": {"finetune-student": False},
        "continuation": {"vocab": VOCAB, "models": {
            "student": {"url": f"{BASE}/student", "mode": "use", "type": "default"},
            "teachers": {"urls": [f"{BASE}/t0", f"{BASE}/t1"], "mode": "use", "type": "default"},
            "backwards": {"url": f"{BASE}/backward", "mode": "continue", "type": "default"}}},
    })
    assert plan.upstream_models == ["teacher0", "teacher1"]
    assert plan.trained_here == [] and not plan.uses_devset and not plan.uses_parallel
    assert plan.eval_models == ["teacher0", "teacher1", "teacher-ensemble", "student", "student-quantized"]
    assert plan.exported_model == "results/toy/models/student-quantized/model.intgemm8.bin"
    assert plan.model_file("student") == f"{model_dir(BASE + '/student')}/final.npz"
    assert plan.data_stats == [] and plan.data_corpora == []
    assert plan.derived_models == {"student-quantized": {"origin": "converted here from student (intgemm8)"}}


def test_vocab_by_url_with_checksums():
    plan = plan_of({"continuation": {"vocab": {
        "src": f"{BASE}/xx.spm", "trg": f"{BASE}/yy.spm", "sha256": {"trg": SHA}}}})
    src_key, trg_key = url_key(f"{BASE}/xx.spm"), url_key(f"{BASE}/yy.spm")
    assert plan.vocabs("forward") == [f"resources/vocab/{src_key}/vocab.spm", f"resources/vocab/{trg_key}/vocab.spm"]
    assert plan.vocab.urls == {src_key: f"{BASE}/xx.spm", trg_key: f"{BASE}/yy.spm"}
    assert plan.vocab.sha256 == {src_key: None, trg_key: SHA}
    assert plan.provenance_inputs["vocab"] == {"src": f"{BASE}/xx.spm", "trg": f"{BASE}/yy.spm"}


# --- the vocab from a model directory (no continuation.vocab) -----------------------------


def test_vocab_from_the_backward_model_directory():
    """The seed example: a backward model reused as it is, and no continuation.vocab."""
    url = f"{BASE}/backward/"
    plan = plan_of({"continuation": {"models": {"backwards": {"url": url, "mode": "use"}}}})
    folder = model_dir(url)
    assert (plan.vocab.model, plan.vocab.model_url, plan.vocab.model_key) == ("backward", url, url_key(url))
    # Two files whatever the directory holds: its download copies a joint vocab.spm to both.
    assert plan.vocab.files == [f"{folder}/vocab.xx.spm", f"{folder}/vocab.yy.spm"]
    assert plan.vocabs("backward") == [f"{folder}/vocab.yy.spm", f"{folder}/vocab.xx.spm"]
    assert plan.vocab.urls == {} and plan.vocab.origin == url
    assert plan.model_langs("backward") == ("yy", "xx") and plan.model_langs("teacher0") == ("xx", "yy")
    assert plan.provenance_inputs["vocab"] == {"model directory": url}


@pytest.mark.parametrize("models,provider", [
    ({"teachers": MODELS_USE, "backwards": BACKWARD_USE, "student": STUDENT_INIT}, "teacher0"),
    ({"student": STUDENT_INIT, "backwards": BACKWARD_USE}, "backward"),  # config order is not it
    ({"student": STUDENT_INIT}, "student"),
])
def test_vocab_provider_order(models, provider):
    """The first in the order teacher0..N-1, backward, student provides the vocab."""
    plan = plan_of({"continuation": {"models": models}})
    spec = plan.continued[provider]
    assert plan.vocab.model == provider and plan.vocab.model_url == spec.url
    assert plan.vocab.src == f"{spec.dir}/vocab.xx.spm" and plan.vocab.trg == f"{spec.dir}/vocab.yy.spm"


def test_continuation_vocab_wins_over_model_directories():
    plan = plan_of({"continuation": {"vocab": VOCAB, "models": {"backwards": BACKWARD_USE}}})
    assert plan.vocab.model is None and plan.vocab.files == [f"resources/vocab/{url_key(VOCAB['src'])}/vocab.spm"]
    assert plan.vocab.origin == VOCAB["src"]


def test_distillation_corpus_with_the_vocab_of_a_continued_student():
    spec = {"src": f"{BASE}/d.xx.zst", "trg": f"{BASE}/d.yy.zst"}
    plan = plan_of({"datasets": NO_DATA, "experiment": {"finetune-student": False},
                    "continuation": {"corpora": {"distillation": spec}, "models": {"student": STUDENT_INIT}}})
    assert plan.vocab.model == "student"
    assert plan.vocab.files == [f"{model_dir(STUDENT_INIT['url'])}/vocab.{lang}.spm" for lang in ("xx", "yy")]


# --- the distillation-corpus recipe --------------------------------------------------------


@pytest.mark.parametrize("trio", [True, False])
def test_distillation_corpus_recipe(trio):
    spec = {"src": f"{BASE}/d.xx.zst", "trg": f"{BASE}/d.yy.zst"}
    if trio:
        spec |= {"tok-src": f"{BASE}/d.tok-xx.zst", "tok-trg": f"{BASE}/d.tok-yy.zst",
                 "alignments": f"{BASE}/d.aln.zst"}
    plan = plan_of({"datasets": NO_DATA,
                    "continuation": {"vocab": VOCAB, "corpora": {"distillation": spec}}})
    key = url_key(*spec.values())
    assert plan.corpus_key("distillation") == key
    assert plan.corpus_file("distillation", "xx") == f"resources/corpora/{key}/distillation.xx.zst"
    # With the trio the alignments are converted from it here (rule trio_distillation),
    # without it they are computed here (rule alignments): the same file.
    assert plan.alignments_file() == "results/toy/corpus/distillation.aln.zst"
    assert plan.trio_file("distillation", "aln") == f"resources/corpora/{key}/distillation.aln.zst"
    assert plan.trio_kinds == (["distillation"] if trio else [])
    assert plan.upstream_models == [] and plan.corpus_kinds == ["distillation"]


# --- settings that cannot work: the messages rules/common.smk stops with -----------------------

MODELS = {"urls": [f"{BASE}/t0", f"{BASE}/t1"], "mode": "use", "type": "default"}
CORPUS = {"src": f"{BASE}/c.xx.zst", "trg": f"{BASE}/c.yy.zst"}


@pytest.mark.parametrize(
    "override,error,message",
    [
        ({"continuation": {"vocab": VOCAB, "models": {"teacher": MODELS, "teachers": MODELS}}},
         ContinuationError, "continuation.models has both `teacher` and `teachers`: they are two "
         "spellings of the same setting, keep one"),
        ({"continuation": {"vocab": VOCAB, "models": {"teachers": {**MODELS, "urls": [f"{BASE}/t0"]}}}},
         ContinuationError, "continuation.models.teachers.urls lists 1 URL(s) but "
         "experiment.teacher-ensemble is 2: give one URL per ensemble member or change teacher-ensemble"),
        ({"continuation": {"vocab": VOCAB, "models": {"teacher": {**MODELS, "sha256": [SHA]}}}},
         ContinuationError, "continuation.models.teacher.sha256 needs one checksum per URL"),
        ({"continuation": {"vocab": VOCAB, "models": {"backwards": {
            "url": "https://user:pw@example.org/bw", "mode": "use", "type": "default"}}}},
         ContinuationError, "continuation.models.backwards.url: https://example.org/bw: credentials "
         "in URLs are refused"),
        ({"continuation": {"vocab": {"src": "/proc/self/environ", "trg": f"{BASE}/v"}}},
         ContinuationError, "continuation.vocab.src: /proc/self/environ: files under /proc, /sys, "
         "/dev are refused as downloads"),
        ({"continuation": {"vocab": VOCAB, "models": {"teachers": {**MODELS, "urls": [f"{BASE}/t0", f"{BASE}/t0/"]}}}},
         ValueError, "config continuation.models.teachers.urls[0] and continuation.models.teachers.urls[1] "
         "name the same model (https://models.example.org/run/t0): the list repeats a URL"),
        ({"datasets": {"train": []}, "continuation": {"vocab": VOCAB, "corpora": {
            "parallel": {**CORPUS, "tok-src": f"{BASE}/x"}}}},
         ContinuationError, "continuation.corpora.parallel has tok-src but not tok-trg, alignments: "
         "tok-src, tok-trg and alignments come all three or none"),
        ({"datasets": NO_DATA, "continuation": {"corpora": {"distillation": CORPUS}}},
         ContinuationError, "continuation.corpora.distillation needs continuation.vocab (or a model in "
         "continuation.models, whose directory provides it): the student must use the vocab the "
         "distillation corpus was made with"),
        ({"datasets": {"train": []}},
         ContinuationError, "no training data: list datasets.train or set continuation.corpora.parallel "
         "(or continuation.corpora.distillation to train only a student)"),
        ({"continuation": {"vocab": VOCAB, "models": {
            "student": {"url": f"{BASE}/s", "mode": "use", "type": "default"}}}},
         ValueError, "config continuation.models.student.mode is `use` (the student is used as "
         "downloaded, nothing is trained) but experiment.finetune-student is true"),
        ({"experiment": {"src": "en", "trg": "eng"}},
         ValueError, "config experiment.src and experiment.trg are 'en' and 'eng', the same language: "
         "they must differ"),
        ({"datasets": {"mirrors": {"opus": "https://user:pw@mirror.example.org"}}},
         ValueError, "config datasets.mirrors.opus: https://mirror.example.org: credentials in URLs are refused"),
        ({"datasets": {"train": ["toy_train", "news-crawl_news.2021"]}},
         ValueError, "config datasets.train: dataset news-crawl_news.2021: news-crawl is monolingual: "
         "list it under datasets.mono-src or datasets.mono-trg"),
        ({"datasets": {"train": ["mtdata_A+b-c-1-eng", "mtdata_A_b-c-1-eng"]}},
         ValueError, "config datasets: 'mtdata_A+b-c-1-eng' and 'mtdata_A_b-c-1-eng' map to the same "
         "file name mtdata_A_b-c-1-eng: keep one of them"),
        ({"datasets": {"devtest": ["toy_dev", "toy_test"]}},
         ValueError, "config datasets.test lists 'toy_test', which datasets.devtest lists too "
         "('toy_test'): scores on data the models were selected on say nothing"),
        ({"cleaning": {"langid": True}},
         ValueError, "config cleaning.langid is true but py3langid does not know experiment.src 'xx': "
         "set cleaning.langid to auto (on only for the languages it knows) or false"),
    ],
    ids=["teacher-and-teachers", "url-count", "sha256-count", "credentials", "system-file",
         "same-model", "partial-trio",
         "distillation-without-vocab", "no-training-data",
         "student-use-finetuned", "same-language", "mirror-credentials",
         "dataset-use", "stem-collision", "test-overlap", "langid-unknown"],
)
def test_settings_that_cannot_work(override, error, message):
    with pytest.raises(error) as raised:
        plan_of(override)
    assert str(raised.value).startswith(message), str(raised.value)


# --- a config file alone, toy data, reused corpora on top of a full config (issue 15 §2) ------

EN_RU = {"experiment": {"name": "en-ru", "src": "en", "trg": "ru"},
         "datasets": {"train": ["opus_Books/v1"], "devtest": ["flores_dev"], "test": ["flores_devtest"]}}


def alone(config: dict) -> dict:
    """A config given as the only --configfile: no embedded default under it."""
    config = copy.deepcopy(config)
    guard.guard(config, SCHEMA)
    return with_defaults(config)


def test_a_config_alone_takes_the_production_defaults_not_the_toys():
    config = alone(EN_RU)
    plan = make_plan(config)
    assert not any(name.startswith("toy_") for name in plan.stems.values())
    assert plan.datasets["mono-src"] == [] and plan.datasets["mono-trg"] == []
    presets = {stage: config["marian-args"][stage]["preset"] for stage in
               ("training-backward", "training-teacher", "training-student", "training-student-finetuned")}
    assert presets == {"training-backward": "transformer-base", "training-teacher": "transformer-big",
                       "training-student": "student-tiny", "training-student-finetuned": "student-tiny"}
    assert "after" not in config["marian-args"]["training-teacher"]  # until early stopping
    assert config["marian"]["train"] == "pymarian train" and config["toy"]["train"] == 20000
    # A stage given without a preset gets the stage's production preset, not the toy's.
    given = alone({**EN_RU, "marian-args": {"training-teacher": {"early-stopping": 20}}})
    assert given["marian-args"]["training-teacher"] == {"early-stopping": 20, "preset": "transformer-big"}
    # The embedded default keeps its toy values explicitly.
    assert config_of()["marian-args"]["training-teacher"] == {"preset": "transformer-toy", "after": "1500u"}


def test_a_real_pair_layered_over_the_toy_is_refused_naming_the_inherited_key():
    with pytest.raises(ConfigError) as raised:
        plan_of(EN_RU)  # config/config.yml under it: mono-src/mono-trg inherit the toy's
    message = str(raised.value)
    assert message.startswith("config datasets.mono-src lists toy_mono-src, but toy_ datasets are "
                              "generated text"), message
    assert "not en (experiment.src)" in message
    assert "applies only when no --configfile is given" in message


@pytest.mark.parametrize("override,key", [
    ({"experiment": {"src": "de"}}, "datasets.train lists toy_train"),  # one real language
    ({"experiment": {"src": "xx", "trg": "eng"}}, "not eng (experiment.trg)"),
    ({"datasets": {"train": ["toy_train", "opus_Books/v1"]}}, "datasets.train lists toy_train and "
     "datasets.train lists opus_Books/v1: toy_ datasets are generated text and cannot be mixed"),
    ({"datasets": {"mono-trg": ["news-crawl_news.2021"]}}, "and datasets.mono-trg lists news-crawl_news.2021"),
])
def test_toy_data_never_reaches_real_data(override, key):
    with pytest.raises(ConfigError, match="toy_ datasets are generated text") as raised:
        plan_of(override)
    assert key in str(raised.value)


def test_toy_languages_keep_their_own_files_beside_toy_sets():
    """local_ and url_ name the user's own files, in any language: tests and toy experiments
    mix them with toy sets."""
    plan = plan_of({"datasets": {"train": ["local_mine", "toy_train"]}})
    assert {"local_mine", "toy_train"} <= set(plan.stems.values()) and plan.warnings == ()


def test_known_languages():
    from mtdistill.config.checks import known_language

    assert all(known_language(c) for c in ("en", "eng", "ru", "zh_Hant", "eng_Latn", "fil", "yue"))
    assert not any(known_language(c) for c in ("xx", "yy", "qq", "zzz"))


@pytest.mark.parametrize("cont,extra,dropped,kept,message", [
    ({"corpora": {"parallel": CORPUS}}, {}, ["train"], ["mono-src", "mono-trg"],
     "continuation.corpora.parallel replaces the training datasets: datasets.train (toy_train) "
     "not used and not imported"),
    ({"corpora": {"backtranslations": CORPUS}}, {}, ["mono-trg"], ["train", "mono-src"],
     "continuation.corpora.backtranslations replaces back-translating: datasets.mono-trg "
     "(toy_mono-trg) not used and not imported"),
    ({"vocab": VOCAB, "corpora": {"distillation": CORPUS, "parallel": CORPUS},
      "models": {"backwards": BACKWARD_USE, "teachers": MODELS_USE}}, {},
     ["train", "mono-src", "mono-trg"], [],
     "continuation.corpora.distillation replaces the teachers, the backward model and the data "
     "they learn from or translate: datasets.train (toy_train); datasets.mono-src (toy_mono-src); "
     "datasets.mono-trg (toy_mono-trg); continuation.corpora.parallel; "
     "continuation.models.teachers; continuation.models.backwards not used"),
])
def test_reused_corpora_over_a_full_config_warn_and_leave_the_replaced_aside(cont, extra, dropped, kept, message):
    """Upstream adds a continuation block to a full config: a warning, and nothing imported
    that is not used."""
    plan = plan_of({"continuation": cont, **extra})
    assert len(plan.warnings) == 1 and plan.warnings[0].startswith(message), plan.warnings
    for kind in dropped:
        assert plan.datasets[kind] == []
    for kind in kept:
        assert plan.datasets[kind]
    assert plan.datasets["devtest"] == ["toy_dev"] and plan.datasets["test"] == ["toy_test"]
    # Their stems are gone: no import, cleaning or merge of them is planned.
    assert not {n for k in dropped for n in DEFAULT["datasets"][k]} & set(plan.stems.values())
    if "distillation" in cont:
        assert set(plan.corpora) == {"distillation"} and set(plan.continued) == set()
        assert plan.upstream_models == [] and plan.corpus_kinds == ["distillation"]


def test_no_warning_when_the_replaced_lists_are_empty():
    plan = plan_of({"datasets": {"train": []}, "continuation": {"corpora": {"parallel": CORPUS}}})
    assert plan.warnings == ()
    assert plan_of().warnings == ()
