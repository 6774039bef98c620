"""Tests for scripts/mtdistill/data/download.py against a real local HTTP server (no mocked requests)."""

from __future__ import annotations

import hashlib
import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest
import zstandard

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"

from mtdistill.common import marian
from mtdistill.data import download
from mtdistill.data.download import DownloadError

NET = dict(retries=3, backoff=0.01, timeout=5)
# The limits the rules always pass to the CLI (config `downloads`, here its schema defaults).
CLI_LIMITS = ["--max-bytes", "50000000000", "--retries", "4", "--timeout", "60"]
TC = "api/queue/v1/task/abc/artifacts/public/build"


# The local server: conftest's http_server (tests/_http.py), its faults set per test.


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    monkeypatch.delenv(download.TOKEN_ENV, raising=False)


@pytest.fixture
def server(http_server):
    return http_server


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def zst(text: str) -> bytes:
    return zstandard.ZstdCompressor().compress(text.encode())


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.startswith(".tmp-"))


# ---------------------------------------------------------------------------------------
# resolve


def test_resolve_schemes():
    assert download.resolve("gs://bucket/a/b.zst") == "https://storage.googleapis.com/bucket/a/b.zst"
    assert download.resolve("file:///data/x.npz") == "/data/x.npz"
    assert download.resolve("file:///data/with%20space") == "/data/with space"
    assert download.resolve("/abs/path") == "/abs/path"
    assert download.resolve("rel/path:odd") == "rel/path:odd"
    assert download.resolve("https://h/x") == "https://h/x"
    assert download.resolve("http://h/x") == "http://h/x"


@pytest.mark.parametrize("url", ["ftp://h/x", "s3://b/x", "javascript:alert(1)", "", "  ",
                                 "gs://", "file://otherhost/x"])
def test_resolve_refuses(url):
    with pytest.raises(DownloadError) as err:
        download.resolve(url)
    assert url.strip() in str(err.value)


def test_resolve_message_lists_schemes():
    with pytest.raises(DownloadError, match=r"'s3://b/x'.*http://, https://, gs://, file://"):
        download.resolve("s3://b/x")


# ---------------------------------------------------------------------------------------
# fetch


def test_http_download_and_sha(server, tmp_path, caplog):
    data = b"payload" * 1000
    server.put("dir/f.bin", data)
    dest = tmp_path / "out" / "f.bin"
    with caplog.at_level(logging.INFO, "download"):
        digest = download.fetch(f"{server.url}/dir/f.bin", dest, sha256=sha(data).upper(), **NET)
    assert dest.read_bytes() == data and digest == sha(data)
    assert f"downloading {server.url}/dir/f.bin -> {dest}" in caplog.text
    assert leftovers(dest.parent) == []


def test_sha_mismatch_leaves_nothing(server, tmp_path):
    data = b"abc"
    server.put("f", data)
    dest = tmp_path / "f"
    with pytest.raises(DownloadError) as err:
        download.fetch(f"{server.url}/f", dest, sha256="0" * 64, **NET)
    message = str(err.value)
    assert f"{server.url}/f" in message and "0" * 64 in message and sha(data) in message
    assert not dest.exists() and leftovers(tmp_path) == []


def test_local_path_and_file_url(tmp_path):
    src = tmp_path / "src.bin"
    src.write_bytes(b"local")
    download.fetch(str(src), tmp_path / "a" / "copy1", **NET)
    download.fetch(src.as_uri(), tmp_path / "a" / "copy2", **NET)
    assert (tmp_path / "a" / "copy1").read_bytes() == b"local"
    assert (tmp_path / "a" / "copy2").read_bytes() == b"local"
    with pytest.raises(DownloadError, match="no such file"):
        download.fetch(str(tmp_path / "missing"), tmp_path / "a" / "copy3")


def test_retry_then_success(server, tmp_path, caplog):
    server.put("flaky", b"ok")
    server.route("/flaky", fail=2)
    with caplog.at_level(logging.WARNING, "download"):
        download.fetch(f"{server.url}/flaky", tmp_path / "flaky", **NET)
    assert (tmp_path / "flaky").read_bytes() == b"ok"
    assert server.hits("flaky") == 3
    assert "retry 1/3" in caplog.text and "retry 2/3" in caplog.text


def test_429_is_retried(server, tmp_path):
    server.route("/busy", status=429)
    with pytest.raises(DownloadError, match="gave up after 3 attempts"):
        download.fetch(f"{server.url}/busy", tmp_path / "busy", retries=2, backoff=0.01)
    assert server.hits("busy") == 3


def test_retry_gives_up(server, tmp_path):
    server.put("down", b"x")
    server.route("/down", fail=100)
    with pytest.raises(DownloadError, match=r"HTTP 500 \(gave up after 3 attempts\)"):
        download.fetch(f"{server.url}/down", tmp_path / "down", retries=2, backoff=0.01)
    assert not (tmp_path / "down").exists() and leftovers(tmp_path) == []


def test_404_fails_at_once(server, tmp_path):
    url = f"{server.url}/nope.npz"
    with pytest.raises(DownloadError) as err:
        download.fetch(url, tmp_path / "nope.npz", **NET)
    assert f"{url} answered HTTP 404" in str(err.value) and "check the URL" in str(err.value)
    assert server.hits("nope.npz") == 1
    assert not (tmp_path / "nope.npz").exists()


def test_403_mentions_token(server, tmp_path):
    server.route("/private", status=403)
    with pytest.raises(DownloadError, match=f"HTTP 403.*{download.TOKEN_ENV}"):
        download.fetch(f"{server.url}/private", tmp_path / "p", **NET)
    assert server.hits("private") == 1


def test_redirects(server, tmp_path):
    server.put("real", b"moved")
    server.route("/old", redirect="/real")
    download.fetch(f"{server.url}/old", tmp_path / "r", **NET)
    assert (tmp_path / "r").read_bytes() == b"moved"

    server.route("/evil", redirect="ftp://example.com/x")
    with pytest.raises(DownloadError, match="redirected to ftp://example.com/x"):
        download.fetch(f"{server.url}/evil", tmp_path / "e", **NET)
    assert not (tmp_path / "e").exists()


def test_max_bytes(server, tmp_path):
    server.put("big", b"x" * 5000)
    with pytest.raises(DownloadError, match="over the limit of 100 bytes"):
        download.fetch(f"{server.url}/big", tmp_path / "big", max_bytes=100, **NET)
    assert server.hits("big") == 1  # not retried
    local = server.root / "big"
    with pytest.raises(DownloadError, match="larger than the limit of 100 bytes"):
        download.fetch(str(local), tmp_path / "big", max_bytes=100)
    assert not (tmp_path / "big").exists() and leftovers(tmp_path) == []
    download.fetch(f"{server.url}/big", tmp_path / "big", max_bytes=5000, **NET)


def test_truncated_body(server, tmp_path):
    server.put("cut", b"0123456789" * 1000)
    server.route("/cut", truncate=1)
    download.fetch(f"{server.url}/cut", tmp_path / "cut", **NET)
    assert (tmp_path / "cut").read_bytes() == b"0123456789" * 1000
    assert server.hits("cut") == 2

    server.route("/cut", truncate=100)
    with pytest.raises(DownloadError, match="gave up"):
        download.fetch(f"{server.url}/cut", tmp_path / "cut2", **NET)
    assert not (tmp_path / "cut2").exists() and leftovers(tmp_path) == []


def test_existing_dest_is_kept(server, tmp_path):
    server.put("f", b"remote")
    dest = tmp_path / "f"
    dest.write_bytes(b"already here")
    assert download.fetch(f"{server.url}/f", dest, **NET) == sha(b"already here")
    assert download.fetch(f"{server.url}/f", dest, sha256=sha(b"already here"), **NET)
    assert server.hits("f") == 0
    # A wrong existing file (sha given) is replaced.
    download.fetch(f"{server.url}/f", dest, sha256=sha(b"remote"), **NET)
    assert dest.read_bytes() == b"remote" and server.hits("f") == 1


def test_bearer_token_sent_to_origin_only_and_never_logged(server, tmp_path, monkeypatch, caplog):
    monkeypatch.setenv(download.TOKEN_ENV, "s3cr3t-token")
    server.put("real", b"data")
    port = server.url.rsplit(":", 1)[1]
    server.route("/hop", redirect=f"http://localhost:{port}/real")  # another origin
    with caplog.at_level(logging.DEBUG):
        download.fetch(f"{server.url}/hop", tmp_path / "t", **NET)
        assert download.exists(f"{server.url}/real", **NET)
    sent = [(r.path, r.authorization) for r in server.requests]
    assert ("/hop", "Bearer s3cr3t-token") in sent
    assert ("/real", None) in sent  # after the cross-origin redirect
    assert "s3cr3t" not in caplog.text


# ---------------------------------------------------------------------------------------
# exists


def test_exists(server, tmp_path):
    server.put("here", b"1")
    assert download.exists(f"{server.url}/here", **NET)
    assert not download.exists(f"{server.url}/missing", **NET)
    server.route("/forbidden", status=403)
    with pytest.raises(DownloadError, match="HTTP 403"):
        download.exists(f"{server.url}/forbidden", **NET)
    server.no_head = True
    assert download.exists(f"{server.url}/here", **NET)
    assert not download.exists(f"{server.url}/missing", **NET)
    assert server.hits("here", "GET") == 1
    assert download.exists(str(server.root / "here"))
    assert not download.exists(str(server.root))  # a directory is not a file


# ---------------------------------------------------------------------------------------
# check_zst


def test_check_zst(tmp_path):
    good = tmp_path / "good.zst"
    good.write_bytes(zst("a\nb\nc\n") + zst("d\ne"))  # two frames, last line unterminated
    assert download.check_zst(good) == 5
    empty_text = tmp_path / "empty-text.zst"
    empty_text.write_bytes(zst(""))
    assert download.check_zst(empty_text) == 0

    blob = zst("line\n" * 100000 + "".join(chr(65 + i % 26) for i in range(50000)))
    for name, data in [("cut.zst", blob[: len(blob) // 2]), ("tail.zst", blob[:-4]),
                       ("junk.zst", b"not zstd at all"), ("empty.zst", b"")]:
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(DownloadError, match=f"{name} is not a valid zstd file"):
            download.check_zst(path)


def test_cli_file_zst_corrupt(server, tmp_path):
    server.put("c.zst", zst("x\n" * 1000)[:-5])
    out = tmp_path / "c.zst"
    proc = subprocess.run(
        [sys.executable, "-m", "mtdistill.data.download", "file", "--url", f"{server.url}/c.zst",
         "--out", str(out), "--zst", *CLI_LIMITS, "--retries", "0"],
        capture_output=True, text=True, timeout=30,
    )
    assert proc.returncode == 1
    assert f"{server.url}/c.zst is not a valid zstd file" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not out.exists() and leftovers(tmp_path) == []


# ---------------------------------------------------------------------------------------
# fetch_model


def put_model(server, base: str, names: list[str]) -> None:
    for name in names:
        server.put(f"{base}/{name}", name)  # content = its own name, to tell files apart


def test_model_probe_order_and_manifest(server, tmp_path):
    put_model(server, "m", ["model.npz", "model.npz.decoder.yml", "model.npz.best-chrf.npz",
                            "model.npz.best-chrf.npz.decoder.yml", "model.npz.best-bleu-detok.npz",
                            "model.npz.best-bleu-detok.npz.decoder.yml", "vocab.spm"])
    out = tmp_path / "out"
    url = f"{server.url}/m/"  # a trailing slash must not double up
    manifest = download.fetch_model(url, out, "use", **NET)
    assert manifest["model"] == "model.npz.best-chrf.npz"
    assert (out / "final.npz").read_text() == "model.npz.best-chrf.npz"
    assert (out / "final.npz.decoder.yml").read_text() == "model.npz.best-chrf.npz.decoder.yml"
    assert (out / "vocab.spm").read_text() == "vocab.spm"
    assert not (out / "model.npz").exists()
    assert manifest["files"]["final.npz"] == f"{server.url}/m/model.npz.best-chrf.npz"
    assert manifest["sha256"]["vocab.spm"] == sha(b"vocab.spm")
    assert json.loads((out / "download.json").read_text()) == manifest
    assert not any("//" in r.path for r in server.requests)

    # final.model.* outranks model.*; only the metrics asked for are probed.
    put_model(server, "m", ["final.model.npz.best-ce-mean-words.npz",
                            "final.model.npz.best-ce-mean-words.npz.decoder.yml"])
    manifest = download.fetch_model(url, tmp_path / "out2", "init", **NET)
    assert manifest["model"] == "final.model.npz.best-ce-mean-words.npz"
    manifest = download.fetch_model(url, tmp_path / "out3", "init", metrics=["bleu-detok"], **NET)
    assert manifest["model"] == "model.npz.best-bleu-detok.npz"


def test_optimizer_never_taken_as_model(server, tmp_path):
    put_model(server, "m", ["model.npz.optimizer.npz", "model.npz.progress.yml", "vocab.spm"])
    with pytest.raises(DownloadError) as err:
        download.fetch_model(f"{server.url}/m", tmp_path / "out", "continue", **NET)
    message = str(err.value)
    assert f"no model found under {server.url}/m: tried final.model.npz.best-chrf.npz" in message
    assert message.count(".npz,") >= 6 and "model.npz." in message
    assert "Put the model's .npz (and its .decoder.yml) in that directory" in message
    assert not (tmp_path / "out").exists()


def test_missing_decoder_config(server, tmp_path):
    put_model(server, "m", ["final.npz", "vocab.spm"])
    with pytest.raises(DownloadError) as err:
        download.fetch_model(f"{server.url}/m", tmp_path / "out", "use", **NET)
    assert (f"model {server.url}/m/final.npz found but its decoder config "
            "final.npz.decoder.yml is missing: copy it next to the model") in str(err.value)
    assert not (tmp_path / "out").exists()  # probing fails before any transfer


def test_missing_vocab(tmp_path):
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    for name in ["final.npz", "final.npz.decoder.yml", "vocab.en.spm"]:
        (model_dir / name).write_text(name)
    with pytest.raises(DownloadError) as err:
        download.fetch_model(str(model_dir), tmp_path / "out", "use", src="en", trg="de")
    message = str(err.value)
    expected = "expected vocab.spm or vocab.en.spm + vocab.de.spm"
    assert f"no vocabulary under {model_dir}: {expected}" in message
    assert "set continuation.vocab" in message and f"{model_dir}/vocab.spm" in message
    manifest = download.fetch_model(model_dir.as_uri(), tmp_path / "out", "use", src="en", trg="de",
                                    require_vocab=False)
    assert sorted(manifest["files"]) == ["final.npz", "final.npz.decoder.yml"]


def test_gs_hint_in_messages():
    # Message text only: the decoder probe of a gs:// URL would need the network, so the
    # hint helper is checked directly.
    hint = download._copy_hint("gs://bucket/models/teacher", "vocab.spm")
    assert hint == "e.g. gsutil cp gs://<training output>/vocab.spm gs://bucket/models/teacher/vocab.spm"


def test_split_vocab_preferred(server, tmp_path):
    put_model(server, "m", ["final.npz", "final.npz.decoder.yml", "vocab.spm",
                            "vocab.en.spm", "vocab.de.spm"])
    out = tmp_path / "out"
    manifest = download.fetch_model(f"{server.url}/m", out, "use", src="en", trg="de", **NET)
    assert {"vocab.en.spm", "vocab.de.spm"} <= set(manifest["files"])
    assert (out / "vocab.de.spm").read_text() == "vocab.de.spm" and not (out / "vocab.spm").exists()
    assert manifest["vocab"] == "split"


def test_joint_vocab_saved_under_both_names(server, tmp_path):
    """As upstream: vocab.spm alone is the joint vocab, written as vocab.{src,trg}.spm."""
    put_model(server, "m", ["final.npz", "final.npz.decoder.yml", "vocab.spm"])
    out = tmp_path / "out"
    manifest = download.fetch_model(f"{server.url}/m", out, "use", src="en", trg="de", **NET)
    assert (out / "vocab.en.spm").read_text() == (out / "vocab.de.spm").read_text() == "vocab.spm"
    assert manifest["files"]["vocab.de.spm"] == manifest["files"]["vocab.en.spm"] == f"{server.url}/m/vocab.spm"
    assert manifest["vocab"] == "joint" and not (out / "vocab.spm").exists()
    assert [r.path for r in server.requests if r.method == "GET"].count("/m/vocab.spm") == 1
    assert marian.joint_vocab(str(out / "vocab.en.spm"), str(out / "vocab.de.spm"))


def test_identical_pair_is_a_joint_vocab(tmp_path):
    """Upstream writes identical copies for a joint vocab: one by content, whatever the names."""
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    for name, text in [("final.npz", "m"), ("final.npz.decoder.yml", "d"), ("vocab.spm", "other"),
                       ("vocab.en.spm", "joint"), ("vocab.de.spm", "joint")]:
        (model_dir / name).write_text(text)
    out = tmp_path / "out"
    manifest = download.fetch_model(str(model_dir), out, "use", src="en", trg="de")
    assert manifest["vocab"] == "joint" and (out / "vocab.de.spm").read_text() == "joint"
    assert marian.joint_vocab(str(out / "vocab.en.spm"), str(out / "vocab.de.spm"))
    assert marian.vocab_pair(str(out / "vocab.en.spm"), str(out / "vocab.de.spm")) == [str(out / "vocab.en.spm")] * 2
    (out / "vocab.de.spm").write_text("split")
    assert marian.vocab_pair(str(out / "vocab.en.spm"), str(out / "vocab.de.spm")) == [
        str(out / "vocab.en.spm"), str(out / "vocab.de.spm")]


@pytest.mark.parametrize("shipped,differs", [
    ({"vocab.en.spm": "A", "vocab.de.spm": "B"}, None),
    ({"vocab.en.spm": "A", "vocab.de.spm": "A"}, ("vocab.de.spm", "target")),  # joint, run split
    ({"vocab.en.spm": "B", "vocab.de.spm": "B"}, ("vocab.en.spm", "source")),
    ({"vocab.spm": "A"}, ("vocab.spm", "target")),  # saved as it is (no languages known)
    ({"vocab.spm": "C"}, ("vocab.spm", "source and target")),
    ({"vocab.zz.spm": "C"}, ("vocab.zz.spm", "source or target")),
])
def test_shipped_vocabs_must_be_the_runs(tmp_path, shipped, differs):
    run = tmp_path / "run"
    run.mkdir()
    (run / "src.spm").write_text("A")
    (run / "trg.spm").write_text("B")
    out = tmp_path / "model"
    out.mkdir()
    for name, text in shipped.items():
        (out / name).write_text(text)
    check = lambda: download.check_shipped_vocabs(  # noqa: E731
        out, str(run / "src.spm"), str(run / "trg.spm"), "en", "de",
        "https://host/teacher1", "https://host/teacher0/")
    if differs is None:
        check()
        return
    with pytest.raises(DownloadError) as err:
        check()
    message = str(err.value)
    # Both URLs: the directory that ships the other vocab, and where the run's came from.
    assert message.startswith(f"the model directory https://host/teacher1 ships {differs[0]}, "
                              f"which differs from the {differs[1]} vocab this run uses")
    assert "from https://host/teacher0/" in message and "set continuation.vocab" in message


def test_continue_mode_checkpoint(server, tmp_path, caplog):
    put_model(server, "m", ["model.npz.best-chrf.npz", "model.npz.best-chrf.npz.decoder.yml",
                            "vocab.spm", "model.npz", "model.npz.optimizer.npz",
                            "model.npz.progress.yml", "model.npz.yml"])
    out = tmp_path / "out"
    with caplog.at_level(logging.WARNING, "download"):
        manifest = download.fetch_model(f"{server.url}/m", out, "continue", **NET)
    assert "optimizer state absent" not in caplog.text
    assert all(manifest["checkpoint"].values())
    assert (out / "model.npz").read_text() == "model.npz"
    assert (out / "final.npz").read_text() == "model.npz.best-chrf.npz"
    for name in ["model.npz.optimizer.npz", "model.npz.progress.yml", "model.npz.yml"]:
        assert (out / name).read_text() == name


def test_continue_without_optimizer_warns(server, tmp_path, caplog):
    put_model(server, "m", ["model.npz", "model.npz.decoder.yml", "vocab.spm"])
    out = tmp_path / "out"
    with caplog.at_level(logging.WARNING, "download"):
        manifest = download.fetch_model(f"{server.url}/m", out, "continue", **NET)
    assert ("optimizer state absent: training continues from the weights with a fresh "
            "optimizer") in caplog.text
    assert manifest["checkpoint"] == {"model.npz": True, "model.npz.optimizer.npz": False,
                                      "model.npz.progress.yml": False, "model.npz.yml": False}
    assert (out / "model.npz").read_text() == (out / "final.npz").read_text() == "model.npz"
    assert server.hits("m/model.npz") == 1  # the checkpoint copy is local


def test_continue_needs_checkpoint(server, tmp_path):
    put_model(server, "m", ["final.npz", "final.npz.decoder.yml", "vocab.spm"])
    with pytest.raises(DownloadError, match="continue needs the training checkpoint model.npz"):
        download.fetch_model(f"{server.url}/m", tmp_path / "out", "continue", **NET)
    with pytest.raises(DownloadError, match="unknown mode"):
        download.fetch_model(f"{server.url}/m", tmp_path / "out", "resume", **NET)


def test_taskcluster_nested_url(server, tmp_path):
    put_model(server, TC, ["final.model.npz.best-chrf.npz",
                           "final.model.npz.best-chrf.npz.decoder.yml", "vocab.spm"])
    manifest = download.fetch_model(f"{server.url}/{TC}", tmp_path / "out", "use", **NET)
    assert manifest["files"]["final.npz"] == f"{server.url}/{TC}/final.model.npz.best-chrf.npz"
    assert (tmp_path / "out" / "final.npz").read_text() == "final.model.npz.best-chrf.npz"


def test_model_failure_keeps_finished_files(server, tmp_path):
    put_model(server, "m", ["final.npz", "final.npz.decoder.yml", "vocab.spm"])
    server.route("/m/final.npz.decoder.yml", truncate=100)
    out = tmp_path / "out"
    with pytest.raises(DownloadError):
        download.fetch_model(f"{server.url}/m", out, "use", **NET)
    assert (out / "final.npz").read_text() == "final.npz"
    assert not (out / "final.npz.decoder.yml").exists() and not (out / "download.json").exists()
    assert leftovers(out) == []
    server.routes.clear()
    download.fetch_model(f"{server.url}/m", out, "use", **NET)
    assert server.hits("m/final.npz") == 1  # not downloaded again
    assert (out / "download.json").exists()


# ---------------------------------------------------------------------------------------
# fetch_corpus


def test_corpus_ok_with_tok_and_alignments(server, tmp_path):
    for name in ["c.en.zst", "c.de.zst", "c.tok-en.zst", "c.tok-de.zst", "c.aln.zst"]:
        server.put(name, zst("l\n" * 7))
    out = tmp_path / "out"
    u = server.url
    n = download.fetch_corpus(
        f"{u}/c.en.zst", f"{u}/c.de.zst", out / "en.zst", out / "de.zst",
        tok_src=f"{u}/c.tok-en.zst", tok_trg=f"{u}/c.tok-de.zst", alignments=f"{u}/c.aln.zst",
        out_tok_src=out / "tok.en.zst", out_tok_trg=out / "tok.de.zst", out_aln=out / "aln.zst",
        **NET,
    )
    assert n == 7
    assert sorted(p.name for p in out.iterdir()) == ["aln.zst", "de.zst", "en.zst",
                                                     "tok.de.zst", "tok.en.zst"]
    assert download.fetch_corpus(f"{u}/c.en.zst", f"{u}/c.de.zst", out / "en.zst",
                                 out / "de.zst", **NET) is None  # finished work is kept


def test_corpus_line_mismatch_leaves_nothing(server, tmp_path):
    server.put("a.en.zst", zst("x\n" * 5))
    server.put("a.de.zst", zst("y\n" * 4))
    out = tmp_path / "out"
    with pytest.raises(DownloadError) as err:
        download.fetch_corpus(f"{server.url}/a.en.zst", f"{server.url}/a.de.zst",
                              out / "en.zst", out / "de.zst", **NET)
    message = str(err.value)
    assert (f"line counts differ in a parallel corpus: {server.url}/a.en.zst has 5, "
            f"{server.url}/a.de.zst has 4 lines") in message
    assert list(out.iterdir()) == []


def test_corpus_corrupt_zst_leaves_nothing(server, tmp_path):
    server.put("b.en.zst", zst("x\n" * 5))
    server.put("b.de.zst", zst("y\n" * 5)[:-3])
    out = tmp_path / "out"
    with pytest.raises(DownloadError, match=f"{server.url}/b.de.zst is not a valid zstd file"):
        download.fetch_corpus(f"{server.url}/b.en.zst", f"{server.url}/b.de.zst",
                              out / "en.zst", out / "de.zst", **NET)
    assert list(out.iterdir()) == []


# ---------------------------------------------------------------------------------------
# CLI


@pytest.fixture
def root_logging():
    """main() configures the root logger; put it back as pytest had it."""
    root = logging.getLogger()
    saved, level = root.handlers[:], root.level
    yield
    for handler in root.handlers:
        if handler not in saved:
            handler.close()
    root.handlers[:] = saved
    root.setLevel(level)


def test_cli_model_and_log_file(server, tmp_path, root_logging):
    put_model(server, "m", ["final.npz", "final.npz.decoder.yml", "vocab.en.spm", "vocab.de.spm"])
    log_file = tmp_path / "logs" / "dl.log"
    out = tmp_path / "out"
    rc = download.main(["model", "--url", f"{server.url}/m", "--out-dir", str(out),
                        "--mode", "use", "--src", "en", "--trg", "de", "--log", str(log_file),
                        *CLI_LIMITS])
    assert rc == 0
    assert f"downloading {server.url}/m/final.npz -> {out / 'final.npz'}" in log_file.read_text()
    assert sorted(p.name for p in out.iterdir()) == ["download.json", "final.npz",
                                                     "final.npz.decoder.yml", "vocab.de.spm",
                                                     "vocab.en.spm"]
    with pytest.raises(DownloadError, match="no model found under"):  # run_main: error: ..., 1
        download.main(["model", "--url", f"{server.url}/none", "--out-dir", str(tmp_path / "x"),
                       "--mode", "use", *CLI_LIMITS, "--retries", "0"])


def test_cli_corpus_alignment_mismatch(server, tmp_path, root_logging):
    for name, n in [("en.zst", 3), ("de.zst", 3), ("aln.zst", 2)]:
        server.put(name, zst("z\n" * n))
    out = tmp_path / "out"
    with pytest.raises(DownloadError, match="line counts differ"):
        download.main(["corpus", "--src-url", f"{server.url}/en.zst",
                       "--trg-url", f"{server.url}/de.zst", "--out-src", str(out / "en.zst"),
                       "--out-trg", str(out / "de.zst"), "--aln-url", f"{server.url}/aln.zst",
                       "--out-aln", str(out / "aln.zst"), *CLI_LIMITS, "--retries", "0"])
    assert list(out.iterdir()) == []
    with pytest.raises(DownloadError, match="without an output path"):
        download.fetch_corpus(f"{server.url}/en.zst", f"{server.url}/de.zst", out / "en.zst",
                              out / "de.zst", alignments=f"{server.url}/aln.zst")
