"""Unit tests of the Marian-facing scripts: options, devices, training, n-best, alignments,
evaluation and export. The slow ones call the real Marian (pymarian) on a few sentences."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from mtdistill.common.errors import ConfigError, PipelineError
from mtdistill.distill import alignments
from mtdistill.evaluate import evaluate
from mtdistill.evaluate import export
from mtdistill.common import marian
from mtdistill.common import textio
from mtdistill.data import toy_corpus
from mtdistill.train import train
from mtdistill.distill import translate
from mtdistill.train import vocab
from conftest import SCRIPTS as REPO_SCRIPTS


def test_options_to_args():
    args = marian.options_to_args({"after": "10u", "tied-embeddings-all": True, "x": False,
                                   "y": None, "valid-metrics": ["chrf", "bleu"], "lr": 0.1})
    assert args == ["--after", "10u", "--tied-embeddings-all", "--valid-metrics", "chrf", "bleu", "--lr", "0.1"]


def test_split_preset(tmp_path):
    (tmp_path / "p.yml").write_text("dim-emb: 8\n")
    preset, options = marian.split_preset(json.dumps({"preset": "p", "after": "5u"}), str(tmp_path))
    assert preset == ["-c", str(tmp_path / "p.yml")] and options == {"after": "5u"}
    with pytest.raises(ConfigError, match="preset 'nope' not found"):
        marian.split_preset(json.dumps({"preset": "nope"}), str(tmp_path))


def test_command_spec():
    assert marian.command("pymarian train") == ["pymarian", "train"]
    assert marian.command("'/opt/my marian/marian'") == ["/opt/my marian/marian"]


def test_granted_but_unusable_gpu_falls_back_to_cpu(monkeypatch, tmp_path):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0")
    monkeypatch.setenv("PATH", str(tmp_path))  # no nvidia-smi
    messages = []
    args = marian.device_args("auto", 3, 5000, log=messages.append)
    assert args[:2] == ["--cpu-threads", "3"]
    assert "no CUDA device is usable here; running on CPU" in messages[0]
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    assert marian.cuda_device_count() == 0


def test_read_nbest_and_select_best(tmp_path):
    path = tmp_path / "nbest.txt"
    path.write_text(
        "0 ||| a b c ||| F0= -1 ||| -1\n0 ||| a b d ||| F0= -2 ||| -2\n"
        "1 ||| x y ||| F0= -1 ||| -1\n1 ||| x z ||| F0= -3 ||| -3\n"
    )
    groups = list(translate.read_nbest(str(path)))
    assert groups == [["a b c", "a b d"], ["x y", "x z"]]
    assert list(translate.select_best(iter(groups), iter(["a b d", "x y"]))) == ["a b d", "x y"]


def test_grow_diag_final_and():
    fwd = {(0, 0), (1, 1), (2, 1)}
    rev = {(0, 0), (1, 1), (2, 2)}
    assert alignments.grow_diag_final_and(fwd, rev) == {(0, 0), (1, 1), (2, 1), (2, 2)}
    assert alignments.grow_diag_final_and(set(), {(0, 1)}) == {(0, 1)}


def test_word_alignments_map_onto_pieces():
    src_words = alignments.word_of_piece(["\u2581ab", "c", "\u2581d"])
    trg_words = alignments.word_of_piece(["\u2581", "x", "\u2581y"])
    assert src_words == [0, 0, 1] and trg_words == [0, 0, 1]
    assert alignments.to_pieces({(0, 1), (1, 0)}, src_words, trg_words) == [
        (0, 2), (1, 2), (2, 0), (2, 1)
    ]


def test_evaluate_score_and_collect(tmp_path):
    textio.write_lines(tmp_path / "ref.zst", ["the cat sat", "a dog"])
    textio.write_lines(tmp_path / "hyp.zst", ["the cat sat", "a dog"])
    textio.write_lines(tmp_path / "bad.zst", ["zzz", "qqq"])
    good = evaluate.score(str(tmp_path / "hyp.zst"), str(tmp_path / "ref.zst"))
    bad = evaluate.score(str(tmp_path / "bad.zst"), str(tmp_path / "ref.zst"))
    assert good["chrf"] == 100.0 and bad["chrf"] < 10
    for name, metrics in (("good", good), ("bad", bad)):
        (tmp_path / f"{name}.json").write_text(json.dumps({"model": name, "dataset": "d", "metrics": metrics}))
    evaluate.collect([str(tmp_path / "good.json"), str(tmp_path / "bad.json")], str(tmp_path / "m.csv"))
    rows = (tmp_path / "m.csv").read_text().splitlines()
    assert rows[0] == "model,dataset,metric,score" and "good,d,chrf,100.0" in rows and len(rows) == 5
    textio.write_lines(tmp_path / "short.zst", ["one"])
    with pytest.raises(PipelineError, match="has 1 lines"):
        evaluate.score(str(tmp_path / "short.zst"), str(tmp_path / "ref.zst"))


def test_export_writes_relative_decoder_config_and_provenance(tmp_path):
    (tmp_path / "model.intgemm8.bin").write_bytes(b"model")
    (tmp_path / "v.spm").write_bytes(b"vocab")
    (tmp_path / "metrics.csv").write_text("model,dataset,metric,score\nstudent,t,chrf,50.5\n")
    export.main(["--model", str(tmp_path / "model.intgemm8.bin"), "--src-vocab", str(tmp_path / "v.spm"),
                 "--trg-vocab", str(tmp_path / "v.spm"), "--metrics", str(tmp_path / "metrics.csv"),
                 "--out-dir", str(tmp_path / "out"), "--experiment", "e", "--src", "xx", "--trg", "yy",
                 "--provenance", '{"teacher0": "trained"}', "--config-sha256", "c" * 64])
    record = json.loads((tmp_path / "out" / "model.json").read_text())
    assert record["metrics"][0]["score"] == 50.5
    assert record["provenance"] == {"teacher0": "trained"}
    assert record["config_sha256"] == "c" * 64  # the merged config's, from rules/student.smk
    assert set(record["files"]) == {"model.intgemm8.bin", "vocab.spm"}
    decoder = (tmp_path / "out" / "decoder.yml").read_text()
    assert "relative-paths: true" in decoder and str(tmp_path) not in decoder


def test_build_command_modes(tmp_path):
    args = train.main.__globals__["argparse"].Namespace(
        marian="pymarian train", model_dir=str(tmp_path), options=json.dumps({"after": "5u"}),
        preset_dir=str(tmp_path), src_vocab="v", trg_vocab="v", best_model="bleu-detok",
        alignments="aln", alignments_plain="aln.txt", mode="init", pretrained=str(tmp_path / "pre"),
        seed=7, devices="cpu", threads=2, workspace=100,
    )
    cmd = train.build_command(args, ["s", "t"], ["vs", "vt"], "tmp", log=lambda m: None)
    assert cmd[:2] == ["pymarian", "train"]
    assert cmd[cmd.index("--guided-alignment") + 1] == "aln.txt"
    assert cmd[cmd.index("--valid-metrics") + 1] == "bleu-detok"
    assert cmd[cmd.index("--pretrained-model") + 1] == str(tmp_path / "pre" / "final.npz")
    assert cmd[cmd.index("--sigterm") + 1] == "save-and-exit"
    assert cmd[-2:] == ["--after", "5u"]  # config options come last and win


def test_seed_checkpoint_without_optimizer(tmp_path, capsys):
    pre = tmp_path / "pre"
    pre.mkdir()
    (pre / "final.npz").write_bytes(b"w")
    model_dir = tmp_path / "m"
    model_dir.mkdir()
    messages = []
    train.seed_checkpoint(str(pre), model_dir, messages.append)
    assert (model_dir / "model.npz").read_bytes() == b"w"
    assert any("optimizer state absent" in m for m in messages)
    (model_dir / "model.npz").write_bytes(b"newer")
    train.seed_checkpoint(str(pre), model_dir, messages.append)
    assert (model_dir / "model.npz").read_bytes() == b"newer"  # own progress is never replaced


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    """A few hundred toy pairs and a SentencePiece vocab trained on them."""
    root = tmp_path_factory.mktemp("toy")
    toy_corpus.generate(root, "xx", "yy", {"train": 400, "dev": 20, "test": 20, "mono-src": 0, "mono-trg": 0}, 1)
    vocab.train([str(root / "train.xx.zst"), str(root / "train.yy.zst")], str(root / "vocab.spm"), 200, 1000, 1, 1.0)
    return root


TINY_MODEL = {"type": "transformer", "dim-emb": 16, "transformer-dim-ffn": 32, "enc-depth": 1,
              "dec-depth": 1, "transformer-heads": 2, "mini-batch": 16, "disp-freq": 5,
              "valid-freq": 10, "save-freq": 10, "valid-mini-batch": 16, "beam-size": 2}


def run_train(toy, model_dir, after, *extra):
    train.main([
        "--model-dir", str(model_dir), "--train-src", str(toy / "train.xx.zst"),
        "--train-trg", str(toy / "train.yy.zst"), "--valid-src", str(toy / "dev.xx.zst"),
        "--valid-trg", str(toy / "dev.yy.zst"), "--src-vocab", str(toy / "vocab.spm"),
        "--trg-vocab", str(toy / "vocab.spm"), "--options", json.dumps({**TINY_MODEL, "after": after}),
        "--devices", "cpu", "--threads", "1", *extra,
    ])


def test_vocab_is_sized_to_the_data(toy):
    import sentencepiece

    sp = sentencepiece.SentencePieceProcessor(model_file=str(toy / "vocab.spm"))
    assert 50 < sp.get_piece_size() <= 200


def test_real_training_resumes_and_translates(toy, tmp_path):
    model_dir = tmp_path / "m"
    run_train(toy, model_dir, "10u")
    assert (model_dir / "final.npz").exists() and (model_dir / "model.npz.optimizer.npz").exists()
    # A second, longer run resumes from the checkpoint instead of starting over.
    run_train(toy, model_dir, "20u")
    progress = (model_dir / "model.npz.progress.yml").read_text()
    assert "batches: 20" in progress
    assert "Loading model from" in (model_dir / "train.log").read_text()
    out = tmp_path / "hyp.zst"
    translate.main(["--marian", "pymarian decode", "--models", str(model_dir / "final.npz"),
                    str(model_dir / "final.npz"), "--vocabs", str(toy / "vocab.spm"), str(toy / "vocab.spm"),
                    "--input", str(toy / "test.xx.zst"), "--output", str(out), "--nbest", "2",
                    "--reference", str(toy / "test.yy.zst"), "--devices", "cpu"])
    assert textio.count_lines(out) == 20
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tmp-")]  # no scratch left


def test_init_mode_starts_fresh_from_weights(toy, tmp_path):
    run_train(toy, tmp_path / "a", "10u")
    run_train(toy, tmp_path / "b", "10u", "--mode", "init", "--pretrained", str(tmp_path / "a"))
    log = (tmp_path / "b" / "train.log").read_text()
    assert "pretrained-model" in log and "batches: 10" in (tmp_path / "b" / "model.npz.progress.yml").read_text()


def test_marian_failure_names_the_command(toy, tmp_path):
    with pytest.raises(PipelineError, match="Marian failed"):
        run_train(toy, tmp_path / "m", "10u", "--options", json.dumps({"no-such-option": 1}))


def test_marian_that_writes_no_model_fails(toy, tmp_path):
    """Marian can end with exit code 0 without training (here --version): no final.npz."""
    model_dir = tmp_path / "m"
    with pytest.raises(PipelineError, match=f"Marian ended without writing a model in {model_dir}"):
        run_train(toy, model_dir, "10u", "--options", json.dumps({**TINY_MODEL, "version": True}))
    assert not (model_dir / "final.npz").exists()


DIVERGING = {**TINY_MODEL, "learn-rate": 1e30, "clip-norm": 0, "disp-freq": 1}


def test_training_that_diverges_fails(toy, tmp_path):
    """A learning rate of 1e30 makes every cost nan from the second update on (real Marian):
    a short training ends, then fails on its log; no final.npz is handed on."""
    model_dir = tmp_path / "m"
    with pytest.raises(PipelineError, match=r"training diverged: Marian logged a cost of -?nan") as err:
        run_train(toy, model_dir, "20u", "--options", json.dumps({**DIVERGING, "after": "20u"}))
    assert "Lower the learning rate" in str(err.value) and str(model_dir) in str(err.value)
    assert not (model_dir / "final.npz").exists()


@pytest.mark.timeout(300)
def test_training_that_diverges_is_stopped(toy, tmp_path):
    """A long training is stopped once it diverged, not run to its end (hours, here)."""
    model_dir = tmp_path / "m"
    with pytest.raises(PipelineError, match=r"Marian stopped: training diverged") as err:
        run_train(toy, model_dir, "1000000u", "--options",
                  json.dumps({**DIVERGING, "after": "1000000u", "valid-freq": 100000,
                              "save-freq": 100000}))
    assert "update line(s) in a row" in str(err.value)
    assert not (model_dir / "final.npz").exists()


def test_divergence_counts_only_this_runs_log_lines(tmp_path):
    log = tmp_path / "train.log"
    line = "[2026-01-01 00:00:00] Ep. 1 : Up. {} : Sen. 16 : Cost {} * 209 @ 209 after 209 : Time 0.1s\n"
    log.write_text("".join(line.format(u, "nan") for u in range(1, 6)))  # an earlier run
    watch = train.Divergence(log, tmp_path)
    with open(log, "a") as out:
        out.write(line.format(6, "5.1") + line.format(7, "inf") + line.format(8, "-nan"))
    assert watch() is None  # two in a row: not yet
    with open(log, "a") as out:
        out.write(line.format(9, "-inf"))
    assert "updates 7 to 9" in watch() and "-inf / -nan / inf" in watch.message()
    with open(log, "a") as out:
        out.write(line.format(10, "4.2"))
    watch.after_exit()  # recovered: the last cost is finite


def test_score_gives_one_finite_score_per_line(toy, tmp_path):
    from mtdistill.distill import score

    run_train(toy, tmp_path / "m", "10u")
    out = tmp_path / "scores.txt"
    score.main(["--marian", "pymarian score", "--model", str(tmp_path / "m" / "final.npz"),
                "--vocabs", str(toy / "vocab.spm"), str(toy / "vocab.spm"),
                "--src", str(toy / "test.xx.zst"), "--trg", str(toy / "test.yy.zst"),
                "--output", str(out), "--devices", "cpu"])
    values = [float(line.split()[0]) for line in out.read_text().splitlines()]
    assert len(values) == 20 and all(v < 0 for v in values)


def test_align_writes_piece_links_and_tokens(toy, tmp_path):
    import sentencepiece

    out, toks = tmp_path / "a.aln.zst", (str(tmp_path / "a.tok-xx.zst"), str(tmp_path / "a.tok-yy.zst"))
    n = alignments.align(str(toy / "train.xx.zst"), str(toy / "train.yy.zst"), str(toy / "vocab.spm"),
                         str(toy / "vocab.spm"), str(out), str(tmp_path), toks)
    assert n == 400
    sp = sentencepiece.SentencePieceProcessor(model_file=str(toy / "vocab.spm"))
    rows = zip(textio.read_lines(out), textio.read_lines(toy / "train.xx.zst"),
               textio.read_lines(toy / "train.yy.zst"), textio.read_lines(toks[0]))
    linked = 0
    for links, src, trg, tok_src in rows:
        n_src, n_trg = len(sp.encode(src)), len(sp.encode(trg))
        assert tok_src.split() == sp.encode(src, out_type=str)
        for link in links.split():
            i, j = map(int, link.split("-"))
            assert 0 <= i < n_src and 0 <= j < n_trg
            linked += 1
    assert linked > 400 * 3  # every sentence has several links


def test_sigterm_is_passed_on_and_waited_for(tmp_path):
    """marian.run forwards SIGTERM to the child and waits for it (here: a child that
    traps TERM, writes a file, and exits non-zero, as Marian's save-and-exit does)."""
    import signal
    import subprocess
    import sys as _sys
    import textwrap

    child = textwrap.dedent(f"""
        import signal, sys, time
        def stop(*_):
            time.sleep(0.5)
            open({str(tmp_path / 'saved')!r}, 'w').write('ok')
            sys.exit(143)
        signal.signal(signal.SIGTERM, stop)
        open({str(tmp_path / 'started')!r}, 'w').write('1')
        time.sleep(30)
    """)
    runner = textwrap.dedent(f"""
        import sys; sys.path.insert(0, {str(REPO_SCRIPTS)!r})
        from mtdistill.common import marian
        marian.run([sys.executable, "-c", {child!r}])
    """)
    proc = subprocess.Popen([_sys.executable, "-c", runner], stderr=subprocess.PIPE, text=True)
    import time
    deadline = time.time() + 20
    while not (tmp_path / "started").exists() and time.time() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=20)
    assert (tmp_path / "saved").read_text() == "ok"
    assert proc.returncode != 0 and "exit code 143" in err
