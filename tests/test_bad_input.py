"""Bad input: hostile or broken configs, URLs, downloads, archives and corpora (issue 9).

Every case asserts a clear error that names the key, URL, file or dataset and says what
to do — or, for input that is legal but hostile (a shell command inside a path), that it
is handled as plain data — and that nothing outside the results tree changed: the test's
whole temp dir (work dir, a sentinel folder the hostile commands aim at, the config files)
is snapshotted before and after; only results/, resources/, logs/ and .snakemake/ of the
work dir may change, and no `pwned` file may appear anywhere.

Most cases are dry runs (`snakemake -n`: the config is refused while the DAG is built) or
direct calls of the scripts; a few run one or two cheap jobs (imports, downloads).

Cases kept next to the feature they test (not repeated here; this list is the index):
- tests/test_dryrun.py: teacher-ensemble 0, `x;rm -rf /` as src, unknown best-model,
  `../../etc/passwd` as a dataset, unknown keys (2), unknown device, src == trg,
  a missing local dataset file (names the file).
- tests/test_continuation.py (BAD, checked before any job): teacher URL count !=
  teacher-ensemble, distillation corpus without vocab / with the datasets it replaces,
  a partial tok/alignments trio, parallel corpus plus datasets.train, back-translations
  plus datasets.mono-trg, models without vocab, unknown mode, unknown type, unknown key,
  teacher and teachers both, ftp:// URL, a repeated teacher URL; at download time: a
  404 model, a model without decoder config, a vocab that does not fit the model, a
  corrupt .zst corpus and a line-count mismatch, a checksum mismatch.
- tests/test_config_guard.py (hardening): config files re-read strictly (duplicate keys,
  alias bombs, empty/list/several-document/non-UTF-8 files, YTE), every string key of the
  schema fuzzed with line breaks, NUL, NBSP and 10,000 characters, braces, YAML booleans
  as language codes, whole-number floats, over-long dataset names.
- tests/test_config_checks.py (hardening): option-looking Marian values (list items,
  `--model=`), programs a config may run (marian.*, bicleaner command), missing presets,
  language codes that collide with file names or name one language twice, test sets in
  train/devtest, one model under two URL spellings, a used student with finetuning.
- tests/test_corrupt_input.py (hardening): truncated/corrupt zst, gz, xz, bz2 at any size,
  decompression bombs and endless lines, /proc, /sys, /dev and non-regular sources,
  credentials in mirrors, signed redirects, bad Content-Length and URLs, encrypted zip
  members, damaged .npz; tests/test_marian_scripts.py: trainings that write no model or
  diverge (nan cost).
- tests/test_paths.py: a finished run moved to a path with a space and run by another
  interpreter reruns nothing; a checkout under a path with a space runs jobs.
- tests/test_download.py: unsupported schemes (ftp, s3, javascript, file://otherhost,
  gs:// without bucket, empty), sha256 mismatch, 404, 403, redirect to ftp://, bodies over
  the limit (Content-Length and local files), truncated bodies, corrupt/truncated/empty
  .zst, model directories lacking model/decoder/vocab/checkpoint, line-count mismatch.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
import zstandard

from _http import serve
from mtdistill.data import archives
from mtdistill.common import textio
from conftest import DEFAULT, REPO, SCRIPTS, TINY, planned_jobs, snakemake

DOWNLOAD = [sys.executable, "-m", "mtdistill.data.download"]
# What a run may write in its work dir; everything else must stay as it was.
RESULTS_TREE = ("results", "resources", "logs", ".snakemake")


# ---------------------------------------------------------------------------------------
# The sandbox: a work dir, a sentinel folder, and a snapshot of both


@dataclass
class Sandbox:
    root: Path
    work: Path
    sentinel: Path

    def pwn(self, name: str = "pwned") -> str:
        """A command that leaves a trace if any shell ever runs it."""
        return f"touch {self.sentinel}/{name}"

    def config(self, data: dict, name: str = "bad.yml") -> Path:
        path = self.root / name
        path.write_text(yaml.safe_dump(data), encoding="utf-8")
        return path

    def snapshot(self) -> dict[str, tuple]:
        state = {}
        for dirpath, dirnames, filenames in os.walk(self.root):
            rel = Path(dirpath).relative_to(self.root)
            if rel == Path("work"):
                dirnames[:] = [d for d in dirnames if d not in RESULTS_TREE]
            for name in dirnames + filenames:
                path = Path(dirpath) / name
                info = path.lstat()
                # A folder's own mtime follows its entries, which are compared themselves.
                seen = (info.st_mode,) if name in dirnames else (info.st_mode, info.st_size, info.st_mtime_ns)
                state[str(path.relative_to(self.root))] = seen
        return state

    def assert_untouched(self, before: dict[str, tuple]) -> None:
        after = self.snapshot()
        assert after == before, f"changed outside the results tree: {sorted(set(after.items()) ^ set(before.items()))}"
        pwned = [p for top in (self.root, REPO) for p in top.rglob("pwned*")
                 if p.is_file() and re.fullmatch(r"pwned\d*", p.name)]
        assert not pwned, f"a hostile command ran: {pwned}"


@pytest.fixture
def box(tmp_path) -> Sandbox:
    work, sentinel = tmp_path / "work", tmp_path / "sentinel"
    work.mkdir()
    sentinel.mkdir()
    (sentinel / "keep.txt").write_text("untouched\n")
    return Sandbox(tmp_path, work, sentinel)


def run(box: Sandbox, *args: str, config: Path | None = None, env=None, timeout=300):
    configs = [DEFAULT, TINY] + ([config] if config else [])
    full_env = None if env is None else {**os.environ, **env}
    result = snakemake(box.work, *args, configfiles=configs, check=False, cwd=box.root,
                       env=full_env, timeout=timeout)
    return result, result.stdout + result.stderr


# ---------------------------------------------------------------------------------------
# Hostile config values: refused while the DAG is built, before any job


def config_cases(sentinel: str) -> list:
    pwn = f"touch {sentinel}/pwned"
    secret = "https://me:hunter2@models.example.org/vocab.spm"
    return [
        ("name-dotdot", {"experiment": {"name": "../../x"}}, ["'../../x' does not match", "instance['experiment']['name']"]),
        ("name-semicolon", {"experiment": {"name": f"x;{pwn}"}}, ["instance['experiment']['name']", "Letters, digits"]),
        ("name-empty", {"experiment": {"name": ""}}, ["instance['experiment']['name']"]),
        ("src-subshell", {"experiment": {"src": f"$({pwn})"}}, ["instance['experiment']['src']", "language code"]),
        ("trg-quote", {"experiment": {"trg": "yy'"}}, ["instance['experiment']['trg']"]),
        ("dataset-semicolon", {"datasets": {"train": [f"local_a;{pwn}"]}}, ["instance['datasets']['train'][0]", "local_a;"]),
        ("dataset-backticks", {"datasets": {"test": [f"local_`{pwn}`"]}}, ["instance['datasets']['test'][0]"]),
        ("dataset-subshell", {"datasets": {"devtest": [f"local_$({pwn})"]}}, ["instance['datasets']['devtest'][0]"]),
        ("dataset-dotdot", {"datasets": {"mono-src": ["local_../../x"]}}, ["instance['datasets']['mono-src'][0]"]),
        ("dataset-space", {"datasets": {"mono-trg": ["toy_a b"]}}, ["instance['datasets']['mono-trg'][0]"]),
        ("marian-cmd-semicolon", {"marian": {"train": f"pymarian train; {pwn}"}}, ["instance['marian']['train']", "no shell syntax"]),
        ("marian-cmd-subshell", {"marian": {"convert": f"$({pwn})"}}, ["instance['marian']['convert']"]),
        ("marian-option-name", {"marian-args": {"training-teacher": {f"after;{pwn}": 1}}}, ["instance['marian-args']['training-teacher']", "propertyNames"]),
        ("marian-option-log", {"marian-args": {"training-teacher": {"log": "../../x.log"}}}, ["marian-args.training-teacher sets log", "remove them"]),
        ("marian-option-script", {"marian-args": {"training-student": {"valid-script-path": f"{sentinel}/x.sh"}}}, ["marian-args.training-student sets valid-script-path"]),
        ("marian-option-model", {"marian-args": {"decoding-teacher": {"models": "/tmp/m.npz", "output": "/tmp/o"}}}, ["marian-args.decoding-teacher sets models, output"]),
        ("preset-path", {"marian-args": {"training-backward": {"preset": "../../../etc/passwd"}}}, ["instance['marian-args']['training-backward']['preset']"]),
        ("url-password", {"continuation": {"vocab": {"src": secret, "trg": secret}}}, ["continuation.vocab.src", "credentials in URLs are refused", "DOWNLOAD_BEARER_TOKEN"]),
        ("url-token-user", {"continuation": {"vocab": {"src": "v.spm", "trg": "v.spm"}, "models": {"teachers": {"urls": ["https://ghp_s3cret@host.example/t0", "https://host.example/t1"], "mode": "use"}}}},
         ["continuation.models.teachers.urls[0]", "DOWNLOAD_BEARER_TOKEN"]),
        ("dataset-url-password", {"datasets": {"train": ["url_https://me:hunter2@data.example.org/c.[LANG].zst"]}},
         ["config datasets.train", "credentials in URLs are refused", "DOWNLOAD_BEARER_TOKEN"]),
        ("url-s3", {"continuation": {"vocab": {"src": "v.spm", "trg": "v.spm"}, "models": {"backwards": {"url": "s3://bucket/backward", "mode": "use"}}}},
         ["instance['continuation']['models']['backwards']['url']", "'s3://bucket/backward' does not match", "gs://bucket/path"]),
        ("sha256-injection", {"continuation": {"vocab": {"src": "v.spm", "trg": "v.spm", "sha256": {"src": f"ab;{pwn}"}}}}, ["instance['continuation']['vocab']['sha256']['src']"]),
        ("downloads-negative", {"downloads": {"max-bytes": -1}}, ["instance['downloads']['max-bytes']"]),
        ("downloads-unknown", {"downloads": {"max_bytes": 5}}, ["'max_bytes' was unexpected"]),
        ("resources-string", {"resources": {"gpu": f"1; {pwn}"}}, ["instance['resources']['gpu']"]),
    ]


CONFIG_IDS = [case[0] for case in config_cases("S")]


@pytest.mark.parametrize("case", CONFIG_IDS)
def test_hostile_config_is_refused_before_any_job(box, case):
    _, overlay, messages = next(c for c in config_cases(str(box.sentinel)) if c[0] == case)
    cfg = box.config(overlay)
    before = box.snapshot()
    result, out = run(box, "-n", config=cfg)
    assert result.returncode != 0
    for message in messages:
        assert message in out
    assert "hunter2" not in out and "ghp_s3cret" not in out  # secrets are not echoed
    assert not (box.work / "results").exists() and not (box.work / "resources").exists()
    box.assert_untouched(before)


@pytest.mark.parametrize("key,value,hint", [
    ("taskcluster", {"worker-classes": {"default": "gcp-spot"}}, "profile"),
    ("wandb-publication", True, "--report"),
    ("target-stage", "train-student", "snakemake student"),
])
def test_taskcluster_only_keys_warn_and_are_ignored(box, key, value, hint):
    cfg = box.config({key: value})
    before = box.snapshot()
    result, out = run(box, "-n", config=cfg)
    assert result.returncode == 0, out
    assert f"config key `{key}` only means something on Taskcluster and is ignored" in out
    assert hint in out
    assert planned_jobs(out)["train_student"] == 1  # the run itself is unchanged
    box.assert_untouched(before)


# ---------------------------------------------------------------------------------------
# Legal but hostile values: they reach jobs, and stay data


def test_local_dir_with_shell_syntax_is_only_a_path(box):
    """datasets.local-dir is free text: quoted wherever it reaches a command."""
    local = f"in;{box.pwn('pwned1')};$({box.pwn('pwned2')})`{box.pwn('pwned3')}`'\""
    folder = box.work / local
    folder.mkdir(parents=True)
    (folder / "mine.xx").write_text("a b\nc d\n", encoding="utf-8")
    (folder / "mine.yy").write_text("e f\ng h\n", encoding="utf-8")
    cfg = box.config({"datasets": {"train": ["local_mine"], "local-dir": local}})
    before = box.snapshot()
    result, out = run(box, "--cores", "1", "vocab", "--until", "import_dataset", config=cfg)
    assert result.returncode == 0, out
    imported = box.work / "results/tiny/data/original"
    assert list(textio.read_lines(imported / "local_mine.xx.zst")) == ["a b", "c d"]
    assert list(textio.read_lines(imported / "local_mine.yy.zst")) == ["e f", "g h"]
    box.assert_untouched(before)


def test_url_with_command_substitution_is_only_a_path(box):
    url = f"v$({box.pwn()}).spm"
    cfg = box.config({"continuation": {"vocab": {"src": url, "trg": url}}})
    before = box.snapshot()
    result, out = run(box, "--cores", "1", "vocab", config=cfg)
    assert result.returncode != 0
    logs = "".join(p.read_text() for p in (box.work / "logs").rglob("*.log"))
    assert f"{url}: no such file" in logs
    assert not list((box.work / "resources").rglob("*.spm"))
    box.assert_untouched(before)


# ---------------------------------------------------------------------------------------
# Broken corpora given as local datasets: the job that reads them fails, naming the file


# The test set may not be a training dataset (refused before any job): the toy one.
LOCAL_ONLY = {"train": ["local_bad"], "devtest": ["local_bad"], "test": ["toy_test"],
              "mono-src": [], "mono-trg": [], "local-dir": "corpora"}
GOOD = zstandard.ZstdCompressor().compress(b"a b\nc d\n")
BROKEN_CORPORA = {
    "truncated-zst": ("bad.xx.zst", GOOD[:-6], "import_dataset", "is not a valid zstd file: it is empty or truncated"),
    "zst-that-is-text": ("bad.xx.zst", b"plain text\n", "import_dataset", "is not a valid zstd file"),
    "corrupt-gz": ("bad.xx.gz", b"\x1f\x8b\x08junk", "import_dataset", "cannot be read"),
    "not-utf8": ("bad.xx", "caf\u00e9\n".encode("latin-1"), "import_dataset", "is not UTF-8 text"),
    # Named by the dataset's imported copies: the sides are only compared after import.
    "line-counts": ("bad.xx.zst", zstandard.ZstdCompressor().compress(b"a b\nc d\ne f\n"), "clean_corpus",
                    "line counts differ between results/tiny/data/original/local_bad"),
}


@pytest.mark.parametrize("case", list(BROKEN_CORPORA))
def test_broken_local_corpus_names_the_file(box, case):
    name, data, rule, message = BROKEN_CORPORA[case]
    corpora = box.work / "corpora"
    corpora.mkdir()
    (corpora / name).write_bytes(data)
    (corpora / "bad.yy.zst").write_bytes(GOOD)
    cfg = box.config({"datasets": LOCAL_ONLY})
    before = box.snapshot()
    result, out = run(box, "--cores", "1", "vocab", "--until", rule, config=cfg)
    assert result.returncode != 0
    logs = "".join(p.read_text(errors="replace") for p in (box.work / "logs").rglob("*.log"))
    assert message in logs and (f"corpora/{name}" in logs or case == "line-counts")
    assert "Traceback" not in logs
    # Data products only: benchmarks/ holds Snakemake's time and memory record of each job
    # that ran, the failed one included.
    made = [p for p in (box.work / "results").rglob("local_bad*") if p.is_file() and "benchmarks" not in p.parts]
    if rule == "import_dataset":  # no output of the failed job
        assert not [p for p in made if p.name == "local_bad.xx.zst"]
    else:
        assert made and not [p for p in made if "original" not in p.parts]
    box.assert_untouched(before)


# ---------------------------------------------------------------------------------------
# A local HTTP server that misbehaves on purpose: conftest's http_server (tests/_http.py)


@pytest.fixture
def www(http_server):
    return http_server


def download(*args: str, env=None):
    # The limits the rules always pass (config `downloads`); a test may give its own.
    cmd = [*DOWNLOAD, args[0], "--max-bytes", "50000000000", "--timeout", "60", *args[1:], "--retries", "1"]
    result = subprocess.run(cmd, capture_output=True, text=True,
                            timeout=60, env=None if env is None else {**os.environ, **env})
    return result, result.stdout + result.stderr


def spm_model(path: Path) -> Path:
    import sentencepiece

    text = path.with_suffix(".txt")
    text.write_text("".join(f"word{i} other{i % 7} thing\n" for i in range(200)), encoding="utf-8")
    prefix = path.with_suffix("")
    sentencepiece.SentencePieceTrainer.train(input=str(text), model_prefix=str(prefix),
                                             vocab_size=30, minloglevel=2)
    prefix.with_suffix(".model").rename(path)
    for leftover in (text, prefix.with_suffix(".vocab")):
        leftover.unlink()
    return path


def nothing_in(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


# ---------------------------------------------------------------------------------------
# Hostile downloads (scripts/mtdistill/data/download.py, run as the download rules run it)


def test_content_length_over_the_limit_is_refused_unread(box, www):
    # Claims 10 GB, sends a little, then hangs up.
    www.route("/huge.zst", body=b"x" * 1000, headers={"Content-Length": str(10 * 2**30)})
    before = box.snapshot()
    out_file = box.work / "resources" / "huge.zst"
    result, out = download("file", "--url", f"{www.url}/huge.zst", "--out", str(out_file),
                           "--max-bytes", str(10**9))
    assert result.returncode == 1
    assert f"{www.url}/huge.zst is {10 * 2**30} bytes, over the limit of {10**9} bytes" in out
    assert "raise downloads.max-bytes" in out
    assert www.hits("/huge.zst", method=None) == 1  # not retried
    assert nothing_in(box.work) == []
    box.assert_untouched(before)


def test_streamed_body_over_the_limit_stops(box, www):
    # Chunked, no Content-Length: only counting can stop it.
    www.route("/stream", chunks=[b"y" * 65536] * 64)
    before = box.snapshot()
    result, out = download("file", "--url", f"{www.url}/stream", "--out", str(box.work / "resources/s"),
                           "--max-bytes", "1000000")
    assert result.returncode == 1
    assert f"{www.url}/stream is larger than the limit of 1000000 bytes" in out
    assert nothing_in(box.work) == []
    box.assert_untouched(before)


@pytest.mark.parametrize("target", ["file:///etc/passwd", "gopher://127.0.0.1/x", "data:text/plain,x"])
def test_redirect_to_another_scheme_is_refused(box, www, target):
    www.route("/v.spm", redirect=target)
    before = box.snapshot()
    result, out = download("file", "--url", f"{www.url}/v.spm", "--out", str(box.work / "resources/v.spm"))
    assert result.returncode == 1
    assert f"redirected to {target.split(',')[0]}" in out and "only http(s) redirects are followed" in out
    assert nothing_in(box.work) == []
    box.assert_untouched(before)


def test_redirect_loop_gives_up(box, www):
    www.route("/a", redirect="/b")
    www.route("/b", redirect="/a")
    before = box.snapshot()
    result, out = download("file", "--url", f"{www.url}/a", "--out", str(box.work / "resources/a"))
    assert result.returncode == 1 and "more than 10 redirects" in out
    assert nothing_in(box.work) == []
    box.assert_untouched(before)


@pytest.mark.parametrize("userinfo", ["me:hunter2@", "hunter2@", "me:@"])
def test_credentials_in_a_url_are_refused_and_not_shown(box, www, userinfo):
    (www.root / "v.spm").write_bytes(b"x")
    log = box.work / "logs" / "d.log"
    url = www.url.replace("://", f"://{userinfo}") + "/v.spm"
    before = box.snapshot()
    result, out = download("file", "--url", url, "--out", str(box.work / "resources/v.spm"), "--log", str(log))
    assert result.returncode == 1
    assert "credentials in URLs are refused" in out and "DOWNLOAD_BEARER_TOKEN" in out
    assert "hunter2" not in out and "hunter2" not in log.read_text()
    assert www.requests == []  # nothing was sent
    box.assert_untouched(before)


def test_passwd_as_a_corpus_is_not_a_zst(box):
    before = box.snapshot()
    res = box.work / "resources"
    result, out = download("corpus", "--src-url", "file:///etc/passwd", "--trg-url", "/etc/passwd",
                           "--out-src", str(res / "c.xx.zst"), "--out-trg", str(res / "c.yy.zst"))
    assert result.returncode == 1
    assert "file:///etc/passwd is not a valid zstd file" in out
    assert nothing_in(box.work) == []
    box.assert_untouched(before)


def test_error_page_as_a_vocab(box, www):
    (www.root / "vocab.spm").write_text("<html><body>Access denied</body></html>")
    before = box.snapshot()
    result, out = download("file", "--url", f"{www.url}/vocab.spm", "--out", str(box.work / "resources/v.spm"), "--spm")
    assert result.returncode == 1
    assert f"{www.url}/vocab.spm is not a SentencePiece model" in out and "vocab file (.spm)" in out
    assert nothing_in(box.work) == []
    box.assert_untouched(before)


def test_error_page_as_a_model(box, www, tmp_path):
    model = www.root / "teacher"
    model.mkdir()
    (model / "final.npz").write_text("<html>502 Bad Gateway</html>")
    (model / "final.npz.decoder.yml").write_text("models: [final.npz]\n")
    vocab = spm_model(tmp_path / "v.spm")
    out_dir = box.work / "resources" / "models" / "k"
    before = box.snapshot()
    result, out = download("model", "--url", f"{www.url}/teacher", "--out-dir", str(out_dir), "--mode", "use",
                           "--no-vocab", "--check-vocabs", str(vocab), str(vocab))
    assert result.returncode == 1 and "Traceback" not in out
    assert f"{www.url}/teacher/final.npz is not a Marian .npz model" in out
    box.assert_untouched(before)


def test_signed_redirect_query_is_not_logged(box, www, tmp_path):
    (www.root / "store").mkdir()
    (www.root / "store" / "v.spm").write_bytes(b"vocab")
    port = www.url.rsplit(":", 1)[1]
    www.route("/v.spm", redirect=f"http://localhost:{port}/store/v.spm?X-Amz-Signature=SIGSECRET")
    log = box.work / "logs" / "d.log"
    before = box.snapshot()
    result, out = download("file", "--url", f"{www.url}/v.spm", "--out", str(box.work / "resources/v.spm"),
                           "--log", str(log))
    assert result.returncode == 0, out
    assert "redirected to http://localhost" in out and "?<redacted>" in out
    assert "SIGSECRET" not in out + log.read_text()
    box.assert_untouched(before)


def test_bearer_token_never_reaches_logs_or_outputs(box, www, tmp_path):
    """A private vocab over HTTP through a real download job; then every file of the run
    (logs/, resources/, results/, .snakemake/) and Snakemake's output is searched."""
    token = "tok-5f3a9c-private"
    www.require_token(token, under="/private/")
    (www.root / "private").mkdir()
    spm_model(www.root / "private" / "vocab.spm")
    # The token must not follow a redirect to another origin either.
    port = www.url.rsplit(":", 1)[1]
    www.route("/private/hop.spm", redirect=f"http://localhost:{port}/public.spm")
    spm_model(www.root / "public.spm")
    cont = {"vocab": {"src": f"{www.url}/private/vocab.spm", "trg": f"{www.url}/private/hop.spm"}}
    cfg = box.config({"continuation": cont, "experiment": {"spm-vocab-split": True}})
    before = box.snapshot()
    result, out = run(box, "--cores", "1", "vocab", config=cfg, env={"DOWNLOAD_BEARER_TOKEN": token})
    assert result.returncode == 0, out
    seen = [(r.path, r.authorization, r.target) for r in www.requests]
    assert ("/private/vocab.spm", f"Bearer {token}", "/private/vocab.spm") in seen
    assert ("/public.spm", None, "/public.spm") in seen
    assert len(list((box.work / "resources" / "vocab").rglob("vocab.spm"))) == 2
    leaks = [str(p) for p in box.work.rglob("*") if p.is_file() and token.encode() in p.read_bytes()]
    assert leaks == [] and token not in out
    box.assert_untouched(before)


def test_bearer_token_never_reaches_a_whole_runs_outputs(box, tiny_run, monkeypatch):
    """End to end: the tiny run's vocab and student served privately, used as downloaded
    (mode use: nothing trains), evaluated, quantized, exported and reported. Then every file
    of the run — logs/, results/ (model.json, reports), resources/, .snakemake/ — and
    Snakemake's own output are searched for the token."""
    token = "tok-e2e-93c1d7"
    with serve(tiny_run["workdir"] / "results" / "tiny", monkeypatch) as httpd:
        httpd.require_token(token)
        corpus = f"{httpd.url}/corpus/distillation"
        cont = {"vocab": {"src": f"{httpd.url}/vocab/vocab.spm", "trg": f"{httpd.url}/vocab/vocab.spm"},
                "corpora": {"distillation": {"src": f"{corpus}.xx.zst", "trg": f"{corpus}.yy.zst"}},
                "models": {"student": {"url": f"{httpd.url}/models/student", "mode": "use"}}}
        cfg = box.config({"continuation": cont, "experiment": {"name": "private", "finetune-student": False},
                          "datasets": {"train": [], "mono-src": [], "mono-trg": []}})
        before = box.snapshot()
        result, out = run(box, "--cores", "2", config=cfg, env={"DOWNLOAD_BEARER_TOKEN": token},
                          timeout=900)
    assert result.returncode == 0, out
    jobs = planned_jobs(out)
    assert not {j for j in jobs if j.startswith("train")} and jobs["download_model"] == 1
    assert jobs["export_student"] == 1 and jobs["evaluate_model"] == 2  # student, int8 student
    assert (box.work / "results/private/exported/model.json").is_file()
    assert httpd.requests and all(r.authorization == f"Bearer {token}" for r in httpd.requests)
    files = [p for p in box.work.rglob("*") if p.is_file()]
    assert len(files) > 50
    assert [str(p) for p in files if token.encode() in p.read_bytes()] == [] and token not in out
    box.assert_untouched(before)


# ---------------------------------------------------------------------------------------
# Hostile archives (scripts/mtdistill/data/archives.py, used by the dataset importers)


def tar_with(path: Path, name: str, data: bytes = b"evil\n", kind=tarfile.REGTYPE, link: str = "") -> Path:
    with tarfile.open(path, "w:gz") as tar:
        good = tarfile.TarInfo("corpus/ok.txt")
        good.size = 3
        tar.addfile(good, io.BytesIO(b"ok\n"))
        info = tarfile.TarInfo(name)
        info.type, info.linkname = kind, link
        info.size = len(data) if kind == tarfile.REGTYPE else 0
        tar.addfile(info, io.BytesIO(data) if kind == tarfile.REGTYPE else None)
    return path


def zip_with(path: Path, name: str, data: bytes = b"evil\n") -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("corpus/ok.txt", b"ok\n")
        archive.writestr(name, data)
    return path


ARCHIVES = {
    "tar-dotdot": (lambda p, s: tar_with(p / "a.tgz", "corpus/../../sentinel/pwned"), "corpus/../../sentinel/pwned", "'..' component"),
    "zip-dotdot": (lambda p, s: zip_with(p / "a.zip", "../sentinel/pwned"), "../sentinel/pwned", "'..' component"),
    "tar-absolute": (lambda p, s: tar_with(p / "a.tgz", f"{s}/pwned"), "*", "absolute path"),
    "tar-symlink": (lambda p, s: tar_with(p / "a.tgz", "corpus/data.txt", kind=tarfile.SYMTYPE, link="/etc/passwd"),
                    "corpus/data.txt", "not a regular file"),
    "tar-hardlink": (lambda p, s: tar_with(p / "a.tgz", "corpus/data.txt", kind=tarfile.LNKTYPE, link="/etc/passwd"),
                     "corpus/*", "not a regular file"),
    "zip-bomb": (lambda p, s: zip_with(p / "a.zip", "corpus/big.txt", b"\0" * 5_000_000), "corpus/big.txt",
                 "larger than the limit of 1000000 bytes"),
    "not-an-archive": (lambda p, s: (p / "a.tgz").write_bytes(os.urandom(4096)) and p / "a.tgz", "x", "not a readable zip or tar archive"),
}


@pytest.mark.parametrize("case", list(ARCHIVES))
def test_hostile_archive_writes_nothing_outside(box, case):
    make, member, message = ARCHIVES[case]
    archive = make(box.root, str(box.sentinel))
    dest = box.work / "results" / "extract"
    dest.mkdir(parents=True)
    before = box.snapshot()
    with pytest.raises(archives.ArchiveError, match=message) as err:
        archives.extract(archive, [member], dest, max_bytes=1_000_000, name="corpus.tgz")
    assert "corpus.tgz" in str(err.value) or "member name" in str(err.value)
    assert not [p for p in dest.rglob("*") if p.is_file() and p.name != "ok.txt"]
    box.assert_untouched(before)
