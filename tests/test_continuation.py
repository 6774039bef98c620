"""Continuation: reusing a vocab, corpora and models by URL.

Dry runs check which rules each recipe and mode puts in the DAG (no network needed: URLs
are only fetched by download jobs). End-to-end runs serve the artifacts of a real tiny run
over HTTP on 127.0.0.1 and run the recipes against them.
"""

from __future__ import annotations

import csv
import functools
import json
import re
import shutil
from pathlib import Path

import pytest
import yaml

from _http import serve
from mtdistill.common import textio
from mtdistill.plan import url_key
from conftest import DEFAULT, RESULTS, TINY, dry_run, planned_jobs, snakemake, write_config

BASE = "https://models.example.org/run"
VOCAB = {"src": f"{BASE}/vocab.spm", "trg": f"{BASE}/vocab.spm"}
TRAININGS = {"train_vocab", "train_backward", "train_teacher", "train_student", "finetune_student"}


def corpus(name, trio=False, base=BASE):
    """continuation.corpora.{name} for files named as this workflow names them."""
    spec = {"src": f"{base}/{name}.xx.zst", "trg": f"{base}/{name}.yy.zst"}
    if trio:
        spec |= {"tok-src": f"{base}/{name}.tok-xx.zst", "tok-trg": f"{base}/{name}.tok-yy.zst",
                 "alignments": f"{base}/{name}.aln.zst"}
    return spec


def overlay(tmp_path, continuation, name="cont.yml", **top):
    data = {"continuation": continuation, **top}
    return write_config(tmp_path / name, yaml.safe_dump(data))


NO_DATA = {"datasets": {"train": [], "mono-src": [], "mono-trg": []}}
RECIPE_TRAIN_TEACHER = {
    "vocab": VOCAB,
    "models": {"backwards": {"url": f"{BASE}/backward", "mode": "use", "type": "default"}},
    "corpora": {"backtranslations": corpus("backtranslations", trio=True), "parallel": corpus("parallel")},
}
RECIPE_DISTILL = {
    **RECIPE_TRAIN_TEACHER,
    "models": {**RECIPE_TRAIN_TEACHER["models"],
               "teachers": {"urls": [f"{BASE}/teacher0", f"{BASE}/teacher1"], "mode": "use", "type": "default"}},
}
RECIPE_STUDENT_ONLY = {"vocab": VOCAB, "corpora": {"distillation": corpus("distillation", trio=True)}}


# --- DAG per recipe and mode (dry runs) ------------------------------------------------


def test_recipe_train_new_teacher(workdir, tmp_path):
    cfg = overlay(tmp_path, RECIPE_TRAIN_TEACHER, datasets={"train": [], "mono-trg": []})
    jobs = dry_run(workdir, configfiles=[DEFAULT, TINY, cfg])
    assert {"download_vocab", "download_parallel", "download_backtranslations", "download_model"} <= set(jobs)
    # The back-translations' trio is unused (teachers train without guided alignment):
    # `snakemake corpora` checks it, a full run does not.
    assert "trio_backtranslations" not in jobs
    assert "trio_backtranslations" in dry_run(workdir, "corpora", configfiles=[DEFAULT, TINY, cfg])
    assert jobs["download_model"] == 1 and jobs["train_teacher"] == 2
    assert {"train_student", "score", "alignments", "merge_teacher_corpus"} <= set(jobs)
    for dropped in ("train_vocab", "train_backward", "merge_corpus", "collect_mono_trg"):
        assert dropped not in jobs, dropped
    assert jobs["merge_mono"] == 1  # source mono is still translated by the teachers


def test_recipe_distill_new_student(workdir, tmp_path):
    cfg = overlay(tmp_path, RECIPE_DISTILL, datasets={"train": [], "mono-trg": []})
    jobs = dry_run(workdir, configfiles=[DEFAULT, TINY, cfg])
    assert jobs["download_model"] == 3  # backward + two teachers
    assert {"split_corpus", "collect_translations", "score", "alignments", "train_student"} <= set(jobs)
    assert not {"train_vocab", "train_backward", "train_teacher"} & set(jobs)
    # The named target keeps its meaning: with teachers in use mode it only downloads them.
    teacher = dry_run(workdir, "teacher", configfiles=[DEFAULT, TINY, cfg])
    assert set(teacher) == {"download_vocab", "download_model", "teacher"}


def test_recipe_student_from_distillation(workdir, tmp_path):
    cfg = overlay(tmp_path, RECIPE_STUDENT_ONLY, **NO_DATA)
    jobs = dry_run(workdir, "student", configfiles=[DEFAULT, TINY, cfg])
    assert {"download_distillation", "download_vocab", "train_student", "merge_devset"} <= set(jobs)
    # The downloaded trio is checked and converted to the run's pieces before training.
    assert jobs["trio_distillation"] == 1
    for dropped in ("train_teacher", "train_backward", "translate", "split_corpus", "score",
                    "alignments", "train_vocab", "merge_corpus", "download_model"):
        assert dropped not in jobs, dropped
    # Evaluation covers only the models this run has.
    assert dry_run(workdir, "evaluate", configfiles=[DEFAULT, TINY, cfg])["evaluate_model"] == 3


def test_distillation_without_trio_computes_alignments(workdir, tmp_path):
    cfg = overlay(tmp_path, {"vocab": VOCAB, "corpora": {"distillation": corpus("distillation")}}, **NO_DATA)
    assert "alignments" in dry_run(workdir, "student", configfiles=[DEFAULT, TINY, cfg])


@pytest.mark.parametrize("mode", ["continue", "init"])
def test_teacher_modes_keep_training(workdir, tmp_path, mode):
    cont = {"vocab": VOCAB, "models": {"teacher": {"urls": [f"{BASE}/t0", f"{BASE}/t1"], "mode": mode}}}
    jobs = dry_run(workdir, "teacher", configfiles=[DEFAULT, TINY, overlay(tmp_path, cont)])
    assert jobs["train_teacher"] == 2 and jobs["download_model"] == 2
    assert "train_vocab" not in jobs


@pytest.mark.parametrize("mode,trained", [("use", set()), ("continue", {"train_student"}), ("init", {"train_student"})])
def test_student_modes(workdir, tmp_path, mode, trained):
    cont = {**RECIPE_DISTILL, "models": {**RECIPE_DISTILL["models"],
                                         "student": {"url": f"{BASE}/student", "mode": mode}}}
    # A used student cannot be fine-tuned (refused otherwise, see tests/test_config_checks.py).
    cfg = overlay(tmp_path, cont, datasets={"train": [], "mono-trg": []},
                  experiment={"finetune-student": mode != "use"})
    jobs = set(dry_run(workdir, "student", configfiles=[DEFAULT, TINY, cfg]))
    assert jobs & {"train_student", "finetune_student"} == (trained | ({"finetune_student"} if trained else set()))
    if mode == "use":
        assert "quantize" in jobs and "alignments" not in jobs


@pytest.mark.parametrize("mode", ["use", "continue", "init"])
def test_backward_modes(workdir, tmp_path, mode):
    cont = {"vocab": VOCAB, "models": {"backwards": {"url": f"{BASE}/backward", "mode": mode}}}
    jobs = dry_run(workdir, "backwards", configfiles=[DEFAULT, TINY, overlay(tmp_path, cont)])
    assert {"download_vocab", "download_model", "backwards"} <= set(jobs)
    assert ("train_backward" in jobs) == (mode != "use")
    assert "train_vocab" not in jobs


def test_gs_and_taskcluster_urls_are_accepted(workdir, tmp_path):
    tc = "https://firefox-ci-tc.services.mozilla.com/api/queue/v1/task/abc/artifacts/public/build"
    cont = {"vocab": {"src": "gs://bucket/vocab.spm", "trg": "gs://bucket/vocab.spm"},
            "models": {"teacher": {"urls": [tc, "file:///models/t1"], "mode": "use", "type": "default"}}}
    assert dry_run(workdir, "teacher", configfiles=[DEFAULT, TINY, overlay(tmp_path, cont)])["download_model"] == 2


def test_vocab_from_the_model_directories(workdir, tmp_path):
    """Without continuation.vocab the first model directory (teachers, backward, student)
    provides the vocab: its download writes it, the others are checked against it, and no
    vocab is trained or downloaded on its own."""
    models = {"backwards": {"url": f"{BASE}/backward/", "mode": "use"},
              "teachers": {"urls": [f"{BASE}/t0", f"{BASE}/t1"], "mode": "init"}}
    cfg = overlay(tmp_path, {"models": models})
    result = snakemake(workdir, "-n", "-p", "teacher", configfiles=[DEFAULT, TINY, cfg])
    jobs = planned_jobs(result.stdout + result.stderr)
    assert jobs["download_model_with_vocab"] == 1 and jobs["download_model"] == 2
    assert jobs["train_teacher"] == 2
    assert not {"train_vocab", "download_vocab"} & set(jobs)
    # The provider (teacher0) must find a vocab; the others are checked against its files.
    commands = [line for line in result.stdout.splitlines() if " model --url " in line]
    provider = [c for c in commands if f"--url {BASE}/t0 " in c]
    assert len(commands) == 3 and len(provider) == 1 and "--no-vocab" not in provider[0]
    assert f"--vocab-origin {BASE}/t0" in provider[0]
    backward = next(c for c in commands if f"{BASE}/backward/" in c)
    # The backward model's languages and vocabs in its direction (yy -> xx).
    assert "--src yy --trg xx --no-vocab" in backward
    key = url_key(f"{BASE}/t0")
    assert f"--check-vocabs resources/models/{key}/vocab.yy.spm resources/models/{key}/vocab.xx.spm" in backward


def test_seed_example_backward_model_alone(workdir, tmp_path):
    cont = {"models": {"backwards": {"url": f"{BASE}/backward/", "mode": "use"}}}
    jobs = dry_run(workdir, "corpora", configfiles=[DEFAULT, TINY, overlay(tmp_path, cont)])
    assert jobs["download_model_with_vocab"] == 1 and "download_model" not in jobs
    assert "train_vocab" not in jobs and "train_backward" not in jobs


# --- errors before any job runs -------------------------------------------------------


BAD = [
    ({"vocab": VOCAB, "models": {"teachers": {"urls": [f"{BASE}/t0"], "mode": "use"}}}, {},
     "lists 1 URL(s) but experiment.teacher-ensemble is 2"),
    ({"corpora": {"distillation": corpus("distillation")}}, NO_DATA, "needs continuation.vocab"),
    ({"vocab": VOCAB, "corpora": {"parallel": {**corpus("parallel"), "alignments": f"{BASE}/a.zst"}}},
     {"datasets": {"train": []}}, "come all three or none"),
    ({"vocab": VOCAB, "models": {"backwards": {"url": f"{BASE}/b", "mode": "reuse"}}}, {}, "reuse"),
    ({"vocab": VOCAB, "models": {"backwards": {"url": f"{BASE}/b", "mode": "use", "type": "onnx"}}}, {}, "onnx"),
    ({"vocab": VOCAB, "modles": {}}, {}, "modles"),
    ({"vocab": VOCAB, "models": {"teacher": {"urls": ["a", "b"], "mode": "use"},
                                 "teachers": {"urls": ["a", "b"], "mode": "use"}}}, {}, "both `teacher` and `teachers`"),
    ({"vocab": {"src": "ftp://host/v.spm", "trg": "ftp://host/v.spm"}}, {}, "ftp://host/v.spm"),
    ({"vocab": VOCAB, "models": {"teachers": {"urls": [f"{BASE}/t", f"{BASE}/t"], "mode": "use"}}}, {},
     "repeats a URL"),
]


@pytest.mark.parametrize("cont,extra,message", BAD)
def test_bad_continuation_is_rejected_before_any_job(workdir, tmp_path, cont, extra, message):
    result = snakemake(workdir, "-n", configfiles=[DEFAULT, TINY, overlay(tmp_path, cont, **extra)], check=False)
    assert result.returncode != 0
    assert message in result.stdout + result.stderr
    assert not (workdir / "results").exists() and not (workdir / "resources").exists()


# --- end to end against a local HTTP server ------------------------------------------


@pytest.fixture(scope="module")
def served(tiny_run, tmp_path_factory):
    """The tiny run's results over HTTP on 127.0.0.1, plus a folder for broken artifacts."""
    root = tmp_path_factory.mktemp("served")
    shutil.copytree(tiny_run["workdir"] / RESULTS, root / "run", symlinks=False)
    with serve(root) as server:  # the tests' local HTTP server (tests/_http.py)
        yield {"root": root, "url": server.url, "run": tiny_run}


def http_recipes(url):
    run = f"{url}/run"
    vocab = {"src": f"{run}/vocab/vocab.spm", "trg": f"{run}/vocab/vocab.spm"}

    files = functools.partial(corpus, base=f"{run}/corpus")
    backwards = {"url": f"{run}/models/backward", "mode": "use", "type": "default"}
    teachers = {"urls": [f"{run}/models/teacher0", f"{run}/models/teacher1"], "mode": "use", "type": "default"}
    corpora = {"backtranslations": files("backtranslations"), "parallel": files("parallel")}
    return {
        "vocab": vocab,
        "train-teacher": {"vocab": vocab, "models": {"backwards": backwards}, "corpora": corpora},
        "distill": {"vocab": vocab, "models": {"backwards": backwards, "teachers": teachers}, "corpora": corpora},
        "student-only": {"vocab": vocab, "corpora": {"distillation": files("distillation", trio=True)}},
        "teachers": teachers,
    }


def scores(workdir, experiment):
    with open(workdir / f"results/{experiment}/evaluation/metrics.csv", encoding="utf-8") as handle:
        return {(r["model"], r["metric"]): float(r["score"]) for r in csv.DictReader(handle)}


def run_recipe(workdir, tmp_path, cont, name, *targets, experiment=None, output=None, **top):
    cfg = overlay(tmp_path, cont, experiment={"name": name, **(experiment or {})}, **top)
    result = snakemake(workdir, "--cores", "2", *targets, configfiles=[DEFAULT, TINY, cfg], timeout=1200)
    if output is not None:  # the run's console, for its warnings
        output.append(result.stdout + result.stderr)
    return planned_jobs(result.stdout + result.stderr)


def assert_replaced(workdir, experiment, console, replaced):
    """A seed recipe added to a complete config: each dataset the reused corpora replace
    is named in a warning and never imported."""
    for key, stem in replaced.items():
        assert re.search(rf"WARNING: .*{key}.*{stem}", console), (key, console[-3000:])
        assert not list((workdir / f"results/{experiment}/data").glob(f"*/{stem}.*")), stem


def test_served_use_mode_trains_nothing_and_evaluates_the_download(served, workdir, tmp_path):
    recipes = http_recipes(served["url"])
    cont = {"vocab": recipes["vocab"], "models": {"teachers": recipes["teachers"]}}
    target = "results/use/evaluation/teacher0/toy_test.json"
    jobs = run_recipe(workdir, tmp_path, cont, "use", target)
    assert not TRAININGS & set(jobs)
    assert jobs["download_model"] == 1 and jobs["download_vocab"] == 1
    original = json.loads((served["run"]["workdir"] / RESULTS / "evaluation/teacher0/toy_test.json").read_text())
    assert json.loads((workdir / target).read_text())["metrics"] == original["metrics"]
    # Cached by URL under resources/, with a manifest of what was fetched.
    manifest = json.loads(next((workdir / "resources/models").glob("*/download.json")).read_text())
    assert manifest["mode"] == "use" and manifest["files"]["final.npz"].startswith(served["url"])


def test_served_continue_mode_resumes_the_checkpoint(served, workdir, tmp_path):
    recipes = http_recipes(served["url"])
    cont = {"vocab": recipes["vocab"], "models": {"teachers": {**recipes["teachers"], "mode": "continue"}}}
    args = {"marian-args": {"training-teacher": {"preset": "transformer-toy", "after": "240u",
                                                  "valid-freq": "20u", "save-freq": "20u"}}}
    # Without target mono the teachers train on the parallel corpus alone: no backward model.
    jobs = run_recipe(workdir, tmp_path, cont, "cont", "teacher", datasets={"mono-trg": []}, **args)
    assert jobs["train_teacher"] == 2 and "train_backward" not in jobs
    model_dir = workdir / "results/cont/models/teacher0"
    progress = yaml.safe_load((model_dir / "model.npz.progress.yml").read_text())
    assert 240 <= progress["batches"] < 260  # 200 downloaded + ~40 here, not 240 from zero
    log = (model_dir / "train.log").read_text()
    # Marian picked up the downloaded progress: the first update logged is past 200.
    first_update = int(log.split("Up. ", 1)[1].split()[0])
    assert 200 < first_update <= 240
    assert "seeded" in (workdir / "logs/cont/train_teacher/teacher0.log").read_text()


def test_served_recipe_distill_with_student_init(served, workdir, tmp_path):
    recipes = http_recipes(served["url"])
    student = {"url": f"{served['url']}/run/models/student", "mode": "init", "type": "default"}
    cont = {**recipes["distill"], "models": {**recipes["distill"]["models"], "student": student}}
    # As the seed writes it, on top of a complete training config (the tiny toy's datasets).
    console = []
    jobs = run_recipe(workdir, tmp_path, cont, "distill", experiment={"finetune-student": False},
                      output=console)
    assert_replaced(workdir, "distill", console[0],
                    {"datasets.train": "toy_train", "datasets.mono-trg": "toy_mono-trg"})
    assert not {"train_teacher", "train_backward", "train_vocab"} & set(jobs)
    assert {"train_student", "score", "alignments", "export_student"} <= set(jobs)
    log = (workdir / "results/distill/models/student/train.log").read_text()
    assert "pretrained-model" in log or "Initialize model weights with the pre-trained model" in log
    got = scores(workdir, "distill")
    assert got[("teacher0", "chrf")] == scores(served["run"]["workdir"], "tiny")[("teacher0", "chrf")]
    provenance = json.loads((workdir / "results/distill/exported/model.json").read_text())["provenance"]
    assert provenance["teacher1"]["mode"] == "use" and provenance["student"]["mode"] == "init"


def test_served_recipe_student_from_distillation(served, workdir, tmp_path):
    recipes = http_recipes(served["url"])
    args = {"marian-args": {"training-student": {"preset": "student-toy", "enc-depth": 1, "after": "100u"}}}
    console = []
    jobs = run_recipe(workdir, tmp_path, recipes["student-only"], "only",
                      experiment={"finetune-student": False}, output=console, **args)
    assert_replaced(workdir, "only", console[0], {"datasets.train": "toy_train",
                    "datasets.mono-src": "toy_mono-src", "datasets.mono-trg": "toy_mono-trg"})
    assert set(jobs) & TRAININGS == {"train_student"}
    assert "alignments" not in jobs and "download_distillation" in jobs
    assert set(m for m, _ in scores(workdir, "only")) == {"student", "student-quantized", "baseline-copy"}


def test_served_recipe_train_new_teacher(served, workdir, tmp_path):
    recipes = http_recipes(served["url"])
    console = []
    jobs = run_recipe(workdir, tmp_path, recipes["train-teacher"], "newteacher",
                      experiment={"finetune-student": False, "quantize": False}, output=console)
    assert_replaced(workdir, "newteacher", console[0],
                    {"datasets.train": "toy_train", "datasets.mono-trg": "toy_mono-trg"})
    assert jobs["train_teacher"] == 2 and "train_backward" not in jobs and "train_vocab" not in jobs
    assert (workdir / "results/newteacher/exported/model.json").exists()


# --- errors at download time ----------------------------------------------------------


def broken(served, name, make):
    """A copy of a served model or file, damaged by `make`, with its URL."""
    target = served["root"] / name
    if not target.exists():
        make(target)
    return f"{served['url']}/{name}"


def download_error(workdir, tmp_path, cont, target, **top):
    cfg = overlay(tmp_path, cont, experiment={"name": "err"}, **top)
    result = snakemake(workdir, "--cores", "1", target, configfiles=[DEFAULT, TINY, cfg], check=False)
    assert result.returncode != 0
    return result.stdout + result.stderr + "".join(
        p.read_text() for p in (workdir / "logs/resources").rglob("*.log"))


def test_missing_model_url(served, workdir, tmp_path):
    recipes = http_recipes(served["url"])
    cont = {"vocab": recipes["vocab"], "models": {"backwards": {"url": f"{served['url']}/nothing", "mode": "use"}}}
    text = download_error(workdir, tmp_path, cont, "backwards")
    assert f"no model found under {served['url']}/nothing" in text


def test_model_without_decoder_config(served, workdir, tmp_path):
    def make(target):
        target.mkdir()
        shutil.copy(served["root"] / "run/models/backward/final.npz", target / "model.npz")

    url = broken(served, "no-decoder", make)
    cont = {"vocab": http_recipes(served["url"])["vocab"], "models": {"backwards": {"url": url, "mode": "use"}}}
    text = download_error(workdir, tmp_path, cont, "backwards")
    assert "model.npz.decoder.yml is missing" in text


def test_vocab_that_does_not_fit_the_model(served, workdir, tmp_path):
    from mtdistill.train import vocab

    def make(target):
        target.mkdir()
        vocab.train([str(served["root"] / "run/corpus/parallel.xx.zst")], str(target / "vocab.spm"), 150, 500, 1, 1.0)

    other = broken(served, "other-vocab", make)
    cont = {"vocab": {"src": f"{other}/vocab.spm", "trg": f"{other}/vocab.spm"},
            "models": {"backwards": {"url": f"{served['url']}/run/models/backward", "mode": "use"}}}
    text = download_error(workdir, tmp_path, cont, "backwards")
    assert "does not fit the model" in text
    # The vocab downloaded before the failure is kept.
    assert list((workdir / "resources/vocab").glob("*/vocab.spm"))


def test_corrupt_corpus_and_line_mismatch(served, workdir, tmp_path):
    def corrupt(target):
        target.write_bytes((served["root"] / "run/corpus/parallel.xx.zst").read_bytes()[:-20])

    def short(target):
        textio.write_lines(target, ["only one line"])

    run = f"{served['url']}/run/corpus"
    bad = broken(served, "corrupt.xx.zst", corrupt)
    cont = {"vocab": http_recipes(served["url"])["vocab"],
            "corpora": {"parallel": {"src": bad, "trg": f"{run}/parallel.yy.zst"}}}
    text = download_error(workdir, tmp_path, cont, "corpora", datasets={"train": []})
    assert "corrupt.xx.zst is not a valid zstd file" in text
    cont["corpora"]["parallel"]["src"] = broken(served, "short.xx.zst", short)
    text = download_error(workdir, tmp_path, cont, "corpora", datasets={"train": []})
    assert "line counts differ" in text
    assert not list((workdir / "resources/corpora").rglob("parallel.*.zst"))


def test_checksum_mismatch(served, workdir, tmp_path):
    recipes = http_recipes(served["url"])
    cont = {"vocab": {**recipes["vocab"], "sha256": {"src": "0" * 64, "trg": "0" * 64}}}
    text = download_error(workdir, tmp_path, cont, "vocab")
    assert "sha256" in text.lower() and "0" * 64 in text
    assert not list((workdir / "resources").rglob("vocab.spm"))


# --- the vocab from a model directory, served (no continuation.vocab) -------------------

SEED_MODEL = {"type": "transformer", "dim-emb": 16, "transformer-dim-ffn": 32, "enc-depth": 1,
              "dec-depth": 1, "transformer-heads": 2, "tied-embeddings-all": True,
              "mini-batch": 16, "disp-freq": 5, "save-freq": 10, "beam-size": 1}


def spm_vocab(out, corpus, size):
    from mtdistill.data import toy_corpus
    from mtdistill.train import vocab

    toy_corpus.generate(corpus, "xx", "yy", {"train": 300}, 1)
    vocab.train([str(corpus / "train.xx.zst"), str(corpus / "train.yy.zst")], str(out), size, 600, 1, 1.0)
    return out


def backward_model_dir(root):
    """A Marian backward model (yy -> xx) of a few updates and the joint vocab.spm it was
    trained with: all a model directory of upstream's holds besides its checkpoints."""
    from mtdistill.train import train

    corpus, model = root / "corpus", root / "train"
    spm = spm_vocab(root / "backward/vocab.spm", corpus, 120)
    train.main(["--model-dir", str(model), "--train-src", str(corpus / "train.yy.zst"),
                "--train-trg", str(corpus / "train.xx.zst"), "--src-vocab", str(spm),
                "--trg-vocab", str(spm), "--options", json.dumps({**SEED_MODEL, "after": "10u"}),
                "--devices", "cpu", "--threads", "1"])
    for name in ("final.npz", "final.npz.decoder.yml"):
        shutil.copy(model / name, root / "backward" / name)
    return root / "backward"


def test_served_vocab_from_the_backward_model_directory(http_server, workdir, tmp_path):
    """The seed example: `continuation.models.backwards: {url: <dir>/, mode: use}` and no
    continuation.vocab; the directory holds vocab.spm only. Its download writes the run's
    vocab, and the backward model back-translates the target mono with it."""
    served = backward_model_dir(http_server.root)
    url = f"{http_server.url}/backward/"
    cfg = overlay(tmp_path, {"models": {"backwards": {"url": url, "mode": "use"}}},
                  experiment={"name": "seed"}, toy={"mono-trg": 40})
    target = "results/seed/corpus/backtranslations.xx.zst"
    result = snakemake(workdir, "--cores", "2", target, configfiles=[DEFAULT, TINY, cfg], timeout=900)
    jobs = planned_jobs(result.stdout + result.stderr)
    assert jobs["download_model_with_vocab"] == 1 and {"split_corpus", "collect_mono_trg"} <= set(jobs)
    assert not {"train_vocab", "download_vocab", "train_backward"} & set(jobs)
    folder = workdir / "resources/models" / url_key(url)
    for lang in ("xx", "yy"):  # vocab.spm under both names, as upstream writes a joint vocab
        assert (folder / f"vocab.{lang}.spm").read_bytes() == (served / "vocab.spm").read_bytes()
    manifest = json.loads((folder / "download.json").read_text())
    assert manifest["vocab"] == "joint" and manifest["files"]["vocab.xx.spm"] == f"{url}vocab.spm"
    assert textio.count_lines(workdir / target) == textio.count_lines(workdir / "results/seed/corpus/mono.yy.zst")


def test_model_directories_with_different_vocabs_are_refused(http_server, workdir, tmp_path):
    """teacher0 provides the vocab; the backward model's directory ships another one: its
    download stops, naming both directories."""
    import numpy as np

    from mtdistill.data import download

    root = http_server.root
    spm = spm_vocab(root / "t0/vocab.spm", root / "corpus", 120)
    # Weights that fit the vocab (tied embeddings): only the vocab check may refuse.
    np.savez(root / "t0/final.npz", Wemb=np.zeros((download.vocab_size(spm), 4), "float32"))
    spm_vocab(root / "bw/vocab.spm", root / "corpus", 100)
    for name in ("t0", "bw"):
        (root / name / "final.npz.decoder.yml").write_text("models: [final.npz]\n")
    shutil.copy(root / "t0/final.npz", root / "bw/final.npz")
    t0, bw = f"{http_server.url}/t0", f"{http_server.url}/bw"
    cont = {"models": {"teachers": {"urls": [t0], "mode": "use"}, "backwards": {"url": bw, "mode": "use"}}}
    cfg = overlay(tmp_path, cont, experiment={"name": "err", "teacher-ensemble": 1})
    result = snakemake(workdir, "--cores", "1", "backwards", configfiles=[DEFAULT, TINY, cfg], check=False)
    assert result.returncode != 0
    text = result.stdout + result.stderr + "".join(
        p.read_text() for p in (workdir / "logs/resources").rglob("*.log"))
    # The backward model's target side is xx.
    assert f"the model directory {bw} ships vocab.xx.spm, which differs from the target vocab" in text
    assert f"from {t0})" in text
    # The provider's download went through; the refused one left no model behind.
    assert (workdir / "resources/models" / url_key(t0) / "vocab.xx.spm").exists()
    assert not (workdir / "resources/models" / url_key(bw) / "final.npz").exists()
