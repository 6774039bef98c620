"""Foreign Marian models (continuation type opusmt): OPUS-MT releases as teacher or
backward model, with their own vocab and pre/post-processing.

The release fixture is a model of the tiny run packed in the layout of a real OPUS-MT
release zip (OPUS-MT-train's `dist` target: README.md, LICENSE, the best-perplexity .npz,
the YAML vocab, source.spm, target.spm, decoder.yml, pre/postprocess.sh...). Marian reads
a .spm vocab's ids directly, so a YAML vocab mapping every piece of that .spm to its id
makes the same weights decode pre-encoded pieces: test_yml_vocab_decodes_like_the_spm
checks that before the end-to-end run relies on it.
"""

from __future__ import annotations

import csv
import io
import json
import math
import zipfile
from pathlib import Path

import pytest
import yaml

from _http import serve
from conftest import DEFAULT, RESULTS, TINY, dry_run, planned_jobs, snakemake, write_config
from mtdistill.common import textio

BASE = "https://object.pouta.csc.fi/Tatoeba-MT-models"
TEACHER_ZIP = f"{BASE}/xx-yy/opus-2021-02-19.zip"
BACKWARD_ZIP = f"{BASE}/yy-xx/opus-2021-02-19.zip"
TRAININGS = {"train_backward", "train_teacher"}


def overlay(tmp_path, models, name="opusmt.yml", **top):
    data = {"continuation": {"models": models}, **top}
    return write_config(tmp_path / name, yaml.safe_dump(data))


def opusmt_models(teacher=TEACHER_ZIP, backward=BACKWARD_ZIP, **teacher_extra):
    return {
        "teacher": {"urls": [teacher], "mode": "use", "type": "opusmt", **teacher_extra},
        "backwards": {"url": backward, "mode": "use", "type": "opusmt"},
    }


ONE_TEACHER = {"experiment": {"teacher-ensemble": 1}}


# --- the DAG and the refusals before any job ---------------------------------------


def test_dag_downloads_the_releases_and_trains_the_vocab(workdir, tmp_path):
    cfg = overlay(tmp_path, opusmt_models(**{"target-token": ">>yy<<"}), **ONE_TEACHER)
    jobs = dry_run(workdir, configfiles=[DEFAULT, TINY, cfg])
    assert jobs["download_opusmt"] == 2 and "download_model" not in jobs
    assert not TRAININGS & set(jobs)
    # The student's vocab is trained here: an OPUS-MT model never provides it.
    assert {"train_vocab", "train_student", "score", "alignments"} <= set(jobs)
    printed = snakemake(workdir, "-n", "-p", f"{RESULTS}/evaluation/teacher0/toy_test.json",
                        configfiles=[DEFAULT, TINY, cfg]).stdout
    assert "--model-type opusmt" in printed and "--target-token '>>yy<<'" in printed


def test_plan_routes_each_model_to_its_own_vocab():
    from test_plan import config_of

    from mtdistill.plan import make_plan

    models = opusmt_models(**{"target-token": ">>yy<<"})
    plan = make_plan(config_of(ONE_TEACHER, {"continuation": {"models": models}}))
    assert plan.vocab.files == ["results/toy/vocab/vocab.spm"] and not plan.vocab.model
    teacher = plan.continued["teacher0"]
    assert (teacher.type, teacher.target_token) == ("opusmt", ">>yy<<")
    assert plan.model_vocab_files("teacher0") == [
        f"{teacher.dir}/source.spm", f"{teacher.dir}/target.spm", f"{teacher.dir}/vocab.yml"]
    assert plan.model_vocab_args("teacher0").endswith("--target-token '>>yy<<'")
    assert plan.model_vocab_args("backward").startswith("--model-type opusmt")
    assert "--target-token" not in plan.model_vocab_args("backward")
    assert plan.model_vocab_args("student") == "--vocabs " + " ".join(plan.vocabs("forward"))
    assert plan.download_keys(foreign=False) == []
    assert plan.provenance["teacher0"]["type"] == "opusmt"


BAD = [
    ({"teacher": {"urls": [TEACHER_ZIP], "mode": "continue", "type": "opusmt"}}, ONE_TEACHER,
     "type opusmt works with mode use only"),
    ({"backwards": {"url": BACKWARD_ZIP, "mode": "init", "type": "opusmt"}}, {},
     "type opusmt works with mode use only"),
    ({"teachers": {"urls": [TEACHER_ZIP, f"{BASE}/xx-yy/opus-2020-01-01.zip"], "mode": "use",
                   "type": "opusmt"}}, {}, "set experiment.teacher-ensemble: 1"),
    (opusmt_models(**{"target-token": "fin"}), ONE_TEACHER, "is not a target-language token"),
    (opusmt_models(**{"target-token": ">>fin<<;rm"}), ONE_TEACHER,
     "is not a target-language token"),
    ({"backwards": {"url": BACKWARD_ZIP, "mode": "use", "target-token": ">>xx<<"}}, {},
     "only read for type opusmt"),
    ({"student": {"url": TEACHER_ZIP, "mode": "use", "type": "opusmt"}}, {},
     "the student is trained, exported and evaluated with the experiment's vocab"),
]


@pytest.mark.parametrize("models,extra,message", BAD)
def test_refused_before_any_job(workdir, tmp_path, models, extra, message):
    cfg = overlay(tmp_path, models, **extra)
    result = snakemake(workdir, "-n", configfiles=[DEFAULT, TINY, cfg], check=False)
    assert result.returncode != 0
    assert message in result.stdout + result.stderr
    assert not (workdir / "results").exists() and not (workdir / "resources").exists()


# --- the release fixture ----------------------------------------------------------------

PREFIX = "opus.spm300-spm300"
MODEL_NAME = f"{PREFIX}.transformer-align.model1.npz.best-perplexity.npz"
VOCAB_NAME = f"{PREFIX}.vocab.yml"
DECODER = f"""models:
  - {MODEL_NAME}
vocabs:
  - {VOCAB_NAME}
  - {VOCAB_NAME}
beam-size: 6
normalize: 0.6
word-penalty: 0
mini-batch: 1
maxi-batch: 1
maxi-batch-sort: src
relative-paths: true
"""


def yml_vocab(spm_path: Path) -> str:
    """The Marian YAML vocab of a SentencePiece model: each piece with its spm id."""
    import sentencepiece

    sp = sentencepiece.SentencePieceProcessor(model_file=str(spm_path))
    pieces = {sp.id_to_piece(i): i for i in range(sp.get_piece_size())}
    return yaml.safe_dump(pieces, allow_unicode=True, sort_keys=False)


def release_files(model: Path, spm: Path) -> dict[str, bytes]:
    """Member name -> content of an OPUS-MT release of `model` (trained with `spm`)."""
    return {
        "README.md": b"# opus-2021-02-19.zip\n\n* model: transformer-align\n"
                     b"* pre-processing: normalization + SentencePiece (spm300,spm300)\n",
        "LICENSE": b"CC-BY 4.0\n",
        MODEL_NAME: model.read_bytes(),
        VOCAB_NAME: yml_vocab(spm).encode("utf-8"),
        f"{PREFIX}.transformer-align.train1.log": b"",
        f"{PREFIX}.transformer-align.valid1.log": b"",
        "source.spm": spm.read_bytes(),
        "target.spm": spm.read_bytes(),
        "source.tcmodel": b"",
        "decoder.yml": DECODER.encode("utf-8"),
        "preprocess.sh": b"#!/bin/bash\n",
        "postprocess.sh": b"#!/bin/bash\nsed 's/ //g;s/\xe2\x96\x81/ /g;s/^ *//;s/ *$//'\n",
    }


def write_zip(path: Path, files: dict[str, bytes]) -> Path:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buffer.getvalue())
    return path


@pytest.fixture(scope="module")
def releases(tiny_run, tmp_path_factory):
    """The tiny run's teacher0 (xx-yy) and backward model (yy-xx) as OPUS-MT release zips
    over HTTP, plus broken releases."""
    root = tmp_path_factory.mktemp("opusmt")
    run = tiny_run["workdir"] / RESULTS
    spm = run / "vocab/vocab.spm"
    teacher = release_files(run / "models/teacher0/final.npz", spm)
    write_zip(root / "xx-yy/opus-2021-02-19.zip", teacher)
    write_zip(root / "yy-xx/opus-2021-02-19.zip", release_files(run / "models/backward/final.npz", spm))
    write_zip(root / "broken/no-model.zip", {k: v for k, v in teacher.items() if k != MODEL_NAME})
    write_zip(root / "broken/no-vocab.zip",
              {k: v for k, v in teacher.items() if k not in (VOCAB_NAME, "decoder.yml")})
    with serve(root) as server:
        yield {"url": server.url, "root": root, "run": run, "spm": spm}


def test_yml_vocab_decodes_like_the_spm(releases, tmp_path, monkeypatch):
    """The same weights: text with the .spm vocab, and pieces with the YAML vocab."""
    import os
    import sys

    from mtdistill.distill import translate

    # pymarian is installed next to this Python, which may not be on PATH.
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")

    run, spm = releases["run"], releases["spm"]
    yml = tmp_path / "vocab.yml"
    yml.write_text(yml_vocab(spm), encoding="utf-8")
    source = tmp_path / "dev.xx"
    textio.write_lines(source, list(textio.read_lines(run / "corpus/devset.xx.zst"))[:30])
    model = str(run / "models/teacher0/final.npz")
    common = ["--models", model, "--input", str(source), "--devices", "cpu", "--nbest", "4"]
    translate.main(common + ["--vocabs", str(spm), str(spm), "--output", str(tmp_path / "a.txt")])
    translate.main(common + ["--model-type", "opusmt", "--spm-src", str(spm), "--vocab-yml",
                             str(yml), "--output", str(tmp_path / "b.txt")])
    a, b = (tmp_path / "a.txt").read_text(), (tmp_path / "b.txt").read_text()
    assert a == b and len(a.splitlines()) == 30


@pytest.mark.parametrize("name,message", [
    ("no-model.zip", "no Marian model (.npz) in {url}"),
    ("no-vocab.zip", "no Marian YAML vocab in {url}"),
])
def test_broken_release_fails_at_download(releases, tmp_path, name, message):
    from mtdistill.data import download

    url = f"{releases['url']}/broken/{name}"
    with pytest.raises(download.DownloadError) as raised:
        download.main(["opusmt", "--url", url, "--out-dir", str(tmp_path / "out"),
                       "--retries", "0", "--timeout", "10", "--max-bytes", "100000000"])
    assert message.format(url=url) in str(raised.value)
    assert not (tmp_path / "out/final.npz").exists()


def test_release_is_normalised_and_checked_against_its_own_vocab(releases, tmp_path):
    from mtdistill.data import download

    url = f"{releases['url']}/xx-yy/opus-2021-02-19.zip"
    manifest = download.fetch_opusmt(url, tmp_path / "out", retries=0)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "download.json", "final.npz", "source.spm", "target.spm", "vocab.yml"]
    assert manifest["model"] == MODEL_NAME and manifest["type"] == "opusmt"
    # A YAML vocab with fewer ids than the embeddings' rows is refused.
    pieces = yaml.safe_load((tmp_path / "out/vocab.yml").read_text(encoding="utf-8"))
    short = {p: i for p, i in pieces.items() if i < len(pieces) - 5}
    files = release_files(releases["run"] / "models/teacher0/final.npz", releases["spm"])
    files[VOCAB_NAME] = yaml.safe_dump(short, allow_unicode=True).encode("utf-8")
    write_zip(releases["root"] / "broken/short-vocab.zip", files)
    with pytest.raises(download.DownloadError, match="does not fit its vocab"):
        download.fetch_opusmt(f"{releases['url']}/broken/short-vocab.zip", tmp_path / "out2",
                              retries=0)


# --- end to end ---------------------------------------------------------------------


def test_opusmt_teacher_and_backward_distill_a_student(releases, workdir, tmp_path):
    """Teacher and backward model from OPUS-MT zips over HTTP; the run trains its own
    vocab, of another size, so every translation and score goes text to text."""
    url = releases["url"]
    models = opusmt_models(teacher=f"{url}/xx-yy/opus-2021-02-19.zip",
                           backward=f"{url}/yy-xx/opus-2021-02-19.zip")
    cfg = overlay(tmp_path, models, experiment={
        "name": "opusmt", "teacher-ensemble": 1, "spm-vocab-size": 150,
        "finetune-student": False, "quantize": False})
    result = snakemake(workdir, "--cores", "2", configfiles=[DEFAULT, TINY, cfg], timeout=1500)
    jobs = planned_jobs(result.stdout + result.stderr)
    assert jobs["download_opusmt"] == 2 and not TRAININGS & set(jobs)
    assert {"train_vocab", "train_student", "score"} <= set(jobs)

    import sentencepiece

    own = sentencepiece.SentencePieceProcessor(
        model_file=str(workdir / "results/opusmt/vocab/vocab.spm")).get_piece_size()
    foreign = sentencepiece.SentencePieceProcessor(model_file=str(releases["spm"])).get_piece_size()
    assert own != foreign  # the student's vocab is not the teachers'
    # The backward model scored every pair (finite scores): only the configured share went.
    stats = json.loads((workdir / "results/opusmt/corpus/distillation.filter.json").read_text())
    assert stats["threshold"] is not None and stats["kept"] >= 0.9 * stats["input"] > 0
    with open(workdir / "results/opusmt/evaluation/metrics.csv", encoding="utf-8") as handle:
        got = {(r["model"], r["metric"]): float(r["score"]) for r in csv.DictReader(handle)}
    assert all(math.isfinite(v) for v in got.values())
    # The OPUS-MT teacher translates text: as well as the same weights with the .spm vocab.
    with open(releases["run"] / "evaluation/metrics.csv", encoding="utf-8") as handle:
        tiny = {(r["model"], r["metric"]): float(r["score"]) for r in csv.DictReader(handle)}
    assert got[("teacher0", "chrf")] == pytest.approx(tiny[("teacher0", "chrf")], abs=0.5)
    assert got[("backward", "chrf")] == pytest.approx(tiny[("backward", "chrf")], abs=0.5)
    assert ("student", "chrf") in got
    provenance = json.loads((workdir / "results/opusmt/exported/model.json").read_text())["provenance"]
    assert provenance["teacher0"] == {"url": models["teacher"]["urls"][0], "mode": "use",
                                      "type": "opusmt"}
