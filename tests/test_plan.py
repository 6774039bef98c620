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
from mtdistill.config import guard
from mtdistill.plan import ContinuationError, make_plan, url_key

SCHEMA = guard.load_schema(REPO / "config/schema/config.schema.yml")
DEFAULT = yaml.safe_load((REPO / "config/config.yml").read_text(encoding="utf-8"))
EXAMPLES = {p.stem: p for p in sorted((REPO / "config/examples").glob("*.yml"))}
BASE = "https://models.example.org/run"
VOCAB = {"src": f"{BASE}/vocab.spm", "trg": f"{BASE}/vocab.spm"}
NO_DATA = {"train": [], "mono-src": [], "mono-trg": []}
SHA, SHA2 = "a" * 64, "b" * 64


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
        "datasets": {"train": ["toy_train", "opus_ELRC-3075/v1", "url_https://example.org/c.[LANG].gz"],
                     "devtest": ["flores_dev"], "test": ["flores_devtest"],
                     "mono-src": ["toy_mono-src", "url_https://example.org/c.[LANG].gz"],
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
    assert plan.alignments_file() == f"{plan.corpus_dir('distillation')}/distillation.aln.zst"
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
    # Without the trio the alignments are computed here.
    assert plan.alignments_file() == (
        f"resources/corpora/{key}/distillation.aln.zst" if trio else "results/toy/corpus/distillation.aln.zst")
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
        ({"continuation": {"corpora": {"parallel": CORPUS}}},
         ContinuationError, "continuation.corpora.parallel replaces the training datasets, but "
         "datasets.train lists toy_train: remove one of them"),
        ({"continuation": {"corpora": {"backtranslations": CORPUS}}},
         ContinuationError, "continuation.corpora.backtranslations replaces back-translating "
         "datasets.mono-trg (toy_mono-trg): remove one of them"),
        ({"datasets": NO_DATA, "continuation": {"corpora": {"distillation": CORPUS}}},
         ContinuationError, "continuation.corpora.distillation needs continuation.vocab: the student "
         "must use the vocab the distillation corpus was made with"),
        ({"datasets": {"train": [], "mono-src": []}, "continuation": {
            "vocab": VOCAB, "corpora": {"distillation": CORPUS, "parallel": CORPUS},
            "models": {"backwards": {"url": f"{BASE}/bw", "mode": "use", "type": "default"}}}},
         ContinuationError, "continuation.corpora.distillation replaces the teachers and the data they "
         "translate, so datasets.mono-trg, continuation.corpora.parallel, "
         "continuation.models.backwards would not be used: remove them"),
        ({"datasets": {"train": []}},
         ContinuationError, "no training data: list datasets.train or set continuation.corpora.parallel "
         "(or continuation.corpora.distillation to train only a student)"),
        ({"continuation": {"models": {"teachers": MODELS,
                                      "backwards": {"url": f"{BASE}/bw", "mode": "use", "type": "default"}}}},
         ContinuationError, "continuation.models (teacher0, teacher1, backward) needs continuation.vocab: "
         "a model only works with the vocab it was trained with"),
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
         "same-model", "partial-trio", "parallel-and-train", "backtranslations-and-mono",
         "distillation-without-vocab", "distillation-replaces", "no-training-data",
         "models-without-vocab", "student-use-finetuned", "same-language", "mirror-credentials",
         "dataset-use", "stem-collision", "test-overlap", "langid-unknown"],
)
def test_settings_that_cannot_work(override, error, message):
    with pytest.raises(error) as raised:
        plan_of(override)
    assert str(raised.value).startswith(message), str(raised.value)
