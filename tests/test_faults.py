"""Fault tests: SIGKILL scripts and the workflow mid-way, rerun, and check that nothing
half-written is used, nothing finished is redone, and the outputs are what an
uninterrupted run makes.

Kills are triggered by observable events (a temporary file, a job's log, Marian's
checkpoint, a local server having sent part of a throttled body), never by timers, and the
interrupted steps are made long enough (a repeated corpus, a throttled download) that the
kill lands inside them.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from _http import serve
from mtdistill.common import textio
from mtdistill.data import toy_corpus
from conftest import DEFAULT, REPO, SCRIPTS, snakemake

pytestmark = pytest.mark.timeout(900)

POLL = 0.02  # seconds between checks for the event that triggers a kill


# --- helpers ---------------------------------------------------------------------------


def start(cmd: list[str], log: Path, **kwargs) -> subprocess.Popen:
    """Start `cmd` in its own process group (so a kill reaches every child), output to `log`."""
    with open(log, "ab") as out:
        return subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, **kwargs)


def kill_when(proc: subprocess.Popen, event, what: str, timeout: float = 300) -> None:
    """SIGKILL `proc`'s whole process group as soon as `event()` is true."""
    deadline = time.monotonic() + timeout
    while not event():
        assert proc.poll() is None, f"the process ended (code {proc.returncode}) before {what}"
        assert time.monotonic() < deadline, f"no {what} within {timeout} s"
        time.sleep(POLL)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def leftovers(root: Path) -> list[str]:
    """Temporaries left anywhere under root: ours (.tmp-*), Marian's (*$$)."""
    return sorted(str(p.relative_to(root)) for p in root.rglob("*")
                  if p.name.startswith(".tmp-") or p.name.endswith("$$"))


def new_entries(directory: Path, before: set[str]):
    return lambda: directory.is_dir() and bool(set(os.listdir(directory)) - before)


def repeated_corpus(directory: Path, repeats: int) -> tuple[Path, Path]:
    """The toy training pairs repeated: slow to clean and merge, tiny once deduplicated."""
    toy = directory / "toy"
    toy_corpus.generate(toy, "xx", "yy", {"train": 3000, "dev": 10, "test": 10, "mono-src": 0,
                                          "mono-trg": 0}, 1)
    paths = []
    for lang in ("xx", "yy"):
        lines = list(textio.read_lines(toy / f"train.{lang}.zst"))
        paths.append(directory / f"big.{lang}.zst")
        textio.write_lines(paths[-1], (line for _ in range(repeats) for line in lines))
    return paths[0], paths[1]


# --- scripts killed mid-way ------------------------------------------------------------


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    """150k lines a side (3000 distinct pairs): seconds to clean and merge."""
    return repeated_corpus(tmp_path_factory.mktemp("big"), 50)


# The limits the download rules always pass (config `downloads`, here its schema defaults).
DOWNLOAD_LIMITS = ["--max-bytes", "50000000000", "--retries", "4", "--timeout", "60"]


def script(module: str, *args) -> list[str]:
    return [sys.executable, "-m", module, *map(str, args)]


def kill_and_rerun(tmp_path: Path, cmd, outputs: list[Path], reference: list[Path]):
    """Run `cmd`, SIGKILL it once it creates anything next to its outputs, check nothing
    named like an output exists, rerun it to the end, check the outputs equal `reference`
    byte for byte and no temporary is left."""
    out_dir = outputs[0].parent
    out_dir.mkdir(parents=True, exist_ok=True)
    before = set(os.listdir(out_dir))
    proc = start(cmd, tmp_path / "killed.log")
    kill_when(proc, new_entries(out_dir, before), "a temporary next to the outputs")
    assert not [p for p in outputs if p.exists()], "a killed run left an output"
    assert leftovers(out_dir), "nothing was being written when the kill landed"
    subprocess.run(cmd, check=True, capture_output=True, timeout=300)
    for out, ref in zip(outputs, reference, strict=True):
        assert out.read_bytes() == ref.read_bytes(), out
    # The killed run's temporaries are gone, whatever their kind.
    assert sorted(os.listdir(out_dir)) == sorted(p.name for p in outputs)


def test_clean_killed_midway_leaves_nothing_and_reruns_identically(big, tmp_path):
    src, trg = big

    def cmd(out):
        return script("mtdistill.data.clean", "--src-in", src, "--trg-in", trg, "--src-out", out / "c.xx.zst",
                      "--trg-out", out / "c.yy.zst", "--stats", out / "c.json")

    subprocess.run(cmd(tmp_path / "ref"), check=True, capture_output=True, timeout=300)
    names = ["c.xx.zst", "c.yy.zst", "c.json"]
    kill_and_rerun(tmp_path, cmd(tmp_path / "out"), [tmp_path / "out" / n for n in names],
                   [tmp_path / "ref" / n for n in names])


def test_merge_killed_midway_leaves_nothing_and_reruns_identically(big, tmp_path):
    src, trg = big

    def cmd(out):
        return script("mtdistill.data.merge", "--src-in", src, src, "--trg-in", trg, trg,
                      "--src-out", out / "p.xx.zst", "--trg-out", out / "p.yy.zst")

    subprocess.run(cmd(tmp_path / "ref"), check=True, capture_output=True, timeout=300)
    names = ["p.xx.zst", "p.yy.zst"]
    kill_and_rerun(tmp_path, cmd(tmp_path / "out"), [tmp_path / "out" / n for n in names],
                   [tmp_path / "ref" / n for n in names])


def test_split_killed_midway_leaves_no_partial_chunk_dir(big, tmp_path):
    src, trg = big

    def cmd(out):
        return script("mtdistill.distill.chunks", "split", "--inputs", src, trg, "--suffixes", "in", "ref",
                      "--out-dir", out / "chunks", "--lines", 500)

    subprocess.run(cmd(tmp_path / "ref"), check=True, capture_output=True, timeout=300)
    (tmp_path / "out").mkdir()
    proc = start(cmd(tmp_path / "out"), tmp_path / "killed.log")
    kill_when(proc, lambda: any((tmp_path / "out").glob(".tmp-*/00003.in")), "the fourth chunk")
    # A chunk directory that exists is complete: the next step reads its listing.
    assert not (tmp_path / "out" / "chunks").exists()
    subprocess.run(cmd(tmp_path / "out"), check=True, capture_output=True, timeout=300)
    ref, out = tmp_path / "ref" / "chunks", tmp_path / "out" / "chunks"
    names = sorted(os.listdir(ref))
    assert len(names) == 600 and sorted(os.listdir(out)) == names
    for name in names:
        assert (out / name).read_bytes() == (ref / name).read_bytes(), name
    assert os.listdir(tmp_path / "out") == ["chunks"]


def test_download_killed_midway_restarts_cleanly(tmp_path, http_server):
    served = http_server.root
    payload = os.urandom(200_000)
    (served / "blob.bin").write_bytes(payload)
    server = http_server
    server.throttle()
    dest = tmp_path / "out" / "blob.bin"
    cmd = script("mtdistill.data.download", "file", *DOWNLOAD_LIMITS, "--url", f"{server.url}/blob.bin", "--out", dest)
    dest.parent.mkdir()
    proc = start(cmd, tmp_path / "killed.log")
    kill_when(proc, server.sent_part.is_set, "part of the body sent")
    assert not dest.exists() and leftovers(dest.parent)
    subprocess.run(cmd, check=True, capture_output=True, timeout=120)
    assert dest.read_bytes() == payload
    assert os.listdir(dest.parent) == ["blob.bin"] and server.hits() == 2


def test_corpus_download_killed_midway_leaves_nothing(tmp_path, http_server):
    """A parallel corpus is renamed into place only once both sides are in and agree."""
    served = http_server.root
    lines = [f"line {i} {os.urandom(8).hex()}" for i in range(4000)]
    for lang in ("xx", "yy"):
        textio.write_lines(served / f"c.{lang}.zst", lines)
    server = http_server
    server.throttle(slice_bytes=4096, pause=0.05)
    out = tmp_path / "out"
    out.mkdir()
    cmd = script("mtdistill.data.download", "corpus", *DOWNLOAD_LIMITS, "--src-url", f"{server.url}/c.xx.zst",
                 "--trg-url", f"{server.url}/c.yy.zst", "--out-src", out / "c.xx.zst",
                 "--out-trg", out / "c.yy.zst")
    proc = start(cmd, tmp_path / "killed.log")
    kill_when(proc, server.sent_part.is_set, "part of the body sent")
    assert not list(out.glob("c.*")) and leftovers(out)
    subprocess.run(cmd, check=True, capture_output=True, timeout=120)
    for lang in ("xx", "yy"):
        assert (out / f"c.{lang}.zst").read_bytes() == (served / f"c.{lang}.zst").read_bytes()
    assert sorted(os.listdir(out)) == ["c.xx.zst", "c.yy.zst"]


def test_model_directory_download_killed_midway(tmp_path, http_server):
    """A model directory (mode continue: weights, decoder config, vocab, checkpoint) killed
    while its optimizer state arrives: the files already there are whole, the rerun (after
    Snakemake removed the job's declared outputs) completes it; no temporary remains."""
    served = http_server.root
    files = {"model.npz.best-chrf.npz": os.urandom(30_000), "model.npz": os.urandom(30_000),
             "model.npz.optimizer.npz": os.urandom(90_000), "vocab.spm": os.urandom(20_000),
             "model.npz.best-chrf.npz.decoder.yml": b"models: [model.npz.best-chrf.npz]\n",
             "model.npz.progress.yml": b"batches: 10\n"}
    for name, data in files.items():
        (served / name).write_bytes(data)
    server = http_server
    server.throttle(slice_bytes=8192, pause=0.05)
    out = tmp_path / "out"
    cmd = script("mtdistill.data.download", "model", *DOWNLOAD_LIMITS, "--url", server.url, "--out-dir", out,
                 "--mode", "continue", "--metrics", "chrf")
    proc = start(cmd, tmp_path / "killed.log")
    kill_when(proc, lambda: "/model.npz.optimizer.npz" in server.partial, "part of the optimizer")
    assert not (out / "model.npz.optimizer.npz").exists() and leftovers(out)
    for name in os.listdir(out):  # whatever is there is whole
        if not name.startswith(".tmp-"):
            source = {"final.npz": "model.npz.best-chrf.npz",
                      "final.npz.decoder.yml": "model.npz.best-chrf.npz.decoder.yml"}.get(name, name)
            assert (out / name).read_bytes() == files[source], name
    for declared in ("final.npz", "final.npz.decoder.yml"):  # as Snakemake does
        (out / declared).unlink(missing_ok=True)
    subprocess.run(cmd, check=True, capture_output=True, timeout=120)
    assert (out / "final.npz").read_bytes() == files["model.npz.best-chrf.npz"]
    for name in ("model.npz", "model.npz.optimizer.npz", "model.npz.progress.yml", "vocab.spm"):
        assert (out / name).read_bytes() == files[name], name
    assert leftovers(out) == [] and (out / "download.json").is_file()


def test_train_final_npz_only_once_training_finished(tmp_path, monkeypatch):
    """select_final writes the decoder config first and final.npz (the rule's output) last;
    a progress file cut short by a kill is dropped, not fed to Marian."""
    from mtdistill.train import train

    model_dir = tmp_path / "m"
    model_dir.mkdir()
    (model_dir / "model.npz").write_bytes(b"weights")
    (model_dir / "model.npz.decoder.yml").write_text("models: [model.npz]\n")
    order = []
    real_replace = os.replace

    def spy(src, dst):
        order.append(Path(dst).name)
        real_replace(src, dst)

    messages = []
    with monkeypatch.context() as patch:
        patch.setattr(os, "replace", spy)
        train.select_final(model_dir, "chrf", messages.append)
    assert order == ["final.npz.decoder.yml", "final.npz"]
    (model_dir / "model.npz.progress.yml").write_text("")  # killed while Marian rewrote it
    (model_dir / "model.npz$$").write_bytes(b"half a save")
    train.repair_checkpoint(model_dir, messages.append)
    assert not (model_dir / "model.npz.progress.yml").exists()
    assert not (model_dir / "model.npz$$").exists() and (model_dir / "model.npz").exists()
    assert any("cut short" in m for m in messages)
    progress = model_dir / "model.npz.progress.yml"
    whole = 'epochs: 1\nbatches: 20\nseed-batch: "12 34"\nseed-corpus: ""'
    # Cut inside the seeds: still valid YAML; the optimizer state was not saved after it.
    progress.write_text(whole[:whole.index("34")])
    train.repair_checkpoint(model_dir, messages.append)
    assert not progress.exists()
    progress.write_text(whole)  # whole, even if the kill came before the optimizer state
    train.repair_checkpoint(model_dir, messages.append)
    assert progress.exists()
    progress.write_text("epochs: 1\nbatches: 20\n")  # another Marian's format...
    (model_dir / "model.npz.optimizer.npz").write_bytes(b"state")  # ...saved after it
    train.repair_checkpoint(model_dir, messages.append)
    assert progress.exists()


def test_marian_resumes_after_a_progress_file_cut_short(tmp_path):
    """Killed while Marian rewrote model.npz.progress.yml (in place, unlike its .npz files):
    Marian alone would refuse to resume ("bad conversion"); train.py drops the file."""
    from mtdistill.train import train
    from mtdistill.train import vocab

    toy = tmp_path / "toy"
    toy_corpus.generate(toy, "xx", "yy", {"train": 300, "dev": 10, "test": 10, "mono-src": 0,
                                          "mono-trg": 0}, 1)
    vocab.train([str(toy / "train.xx.zst"), str(toy / "train.yy.zst")], str(toy / "vocab.spm"), 150,
                1000, 1, 1.0)
    options = {"type": "transformer", "dim-emb": 16, "transformer-dim-ffn": 32, "enc-depth": 1,
               "dec-depth": 1, "transformer-heads": 2, "mini-batch": 16, "valid-freq": 5,
               "save-freq": 5, "valid-mini-batch": 16, "beam-size": 2}

    def run(after):
        train.main(["--model-dir", str(tmp_path / "m"), "--train-src", str(toy / "train.xx.zst"),
                    "--train-trg", str(toy / "train.yy.zst"), "--valid-src", str(toy / "dev.xx.zst"),
                    "--valid-trg", str(toy / "dev.yy.zst"), "--src-vocab", str(toy / "vocab.spm"),
                    "--trg-vocab", str(toy / "vocab.spm"), "--devices", "cpu",
                    "--options", json.dumps({**options, "after": after})])

    run("5u")
    progress = tmp_path / "m" / "model.npz.progress.yml"
    text = progress.read_text()
    progress.write_text(text[:text.index("seed-corpus:")])  # cut short, yet valid YAML
    (tmp_path / "m" / "model.npz.optimizer.npz").unlink()  # the kill came before its save
    (tmp_path / "m" / "final.npz").unlink()  # as Snakemake does for an incomplete job
    run("10u")
    assert (tmp_path / "m" / "final.npz").exists()
    log = (tmp_path / "m" / "train.log").read_text()
    assert log.count("Loading model from") == 1  # the second run resumed the weights
    assert [p.name for p in (tmp_path / "m").iterdir() if p.name.startswith(".tmp-")] == []


def test_orphans_of_live_writers_are_kept(tmp_path):
    """Only temporaries whose writer died are removed: a live writer holds a lock."""
    ready = tmp_path / "ready"
    code = (f"import sys, time; sys.path.insert(0, {str(SCRIPTS)!r}); from mtdistill.common import textio\n"
            f"with textio.atomic_write({str(tmp_path / 'out.zst')!r}) as out:\n"
            f"    open({str(ready)!r}, 'w').close(); time.sleep(60)\n")
    proc = start([sys.executable, "-c", code], tmp_path / "writer.log")
    try:
        deadline = time.monotonic() + 30
        while not ready.exists():
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(POLL)
        assert textio.remove_orphans(tmp_path / "out.zst") == []
        assert leftovers(tmp_path)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert len(textio.remove_orphans(tmp_path / "out.zst")) == 1 and leftovers(tmp_path) == []


# --- the workflow killed at several points ----------------------------------------------

EXP = "faults"
RESULTS = f"results/{EXP}"
# What the interrupted run builds: data (a slow repeated corpus), a downloaded vocab, the
# backward model (trained, evaluated) and back-translation of target mono in 3 chunks.
TARGETS = [f"{RESULTS}/corpus/backtranslations.xx.zst", f"{RESULTS}/evaluation/backward/toy_test.json"]
# Deterministic data: byte-identical to an uninterrupted run's.
DATA = ["corpus/parallel.xx.zst", "corpus/parallel.yy.zst", "corpus/devset.xx.zst",
        "corpus/devset.yy.zst", "corpus/mono.yy.zst", "data/clean/local_big.stats.json"]


def config(path: Path, local_dir: Path, vocab_url: str | None) -> Path:
    text = f"""
experiment: {{name: {EXP}, split-length: 200, spm-vocab-size: 300}}
toy: {{train: 3000, dev: 100, test: 100, mono-src: 0, mono-trg: 600}}
datasets:
  train: [local_big]
  devtest: [toy_dev]
  test: [toy_test]
  mono-src: []
  mono-trg: [toy_mono-trg]
  local-dir: {local_dir}
marian-args:
  training-backward: {{preset: transformer-toy, dim-emb: 32, transformer-dim-ffn: 64, enc-depth: 1,
                      dec-depth: 1, after: 150u, valid-freq: 50u, save-freq: 50u, disp-freq: 25u}}
  decoding-backward: {{beam-size: 2}}
"""
    if vocab_url:
        text += f"continuation:\n  vocab: {{src: {vocab_url}, trg: {vocab_url}}}\n"
    path.write_text(text, encoding="utf-8")
    return path


def parse_jobs(log: str) -> tuple[list[dict], set[int]]:
    """Jobs Snakemake started ({rule, output, jobid}) and the ids of those it finished."""
    jobs, current = [], None
    for line in log.splitlines():
        header = re.match(r"^(?:local)?(?:rule|checkpoint) (\S+):$", line)
        if header:
            current = {"rule": header.group(1), "output": []}
            continue
        field = re.match(r"^\s+(\w+): (.*)$", line) if current else None
        if not field:
            current = None
        elif field.group(1) == "output":
            current["output"] = [p.strip() for p in field.group(2).split(",")]
        elif field.group(1) == "jobid":
            current["jobid"] = int(field.group(2))
            jobs.append(current)
    finished = {int(m) for m in re.findall(r"Finished jobid: (\d+)", log)}
    return jobs, finished


def stat_of(path: Path):
    st = path.stat()
    return st.st_ino, st.st_mtime_ns


@pytest.fixture(scope="module")
def slow_server(tmp_path_factory):
    """The tests' local HTTP server (tests/_http.py), throttled: ~3 s for the vocab."""
    with serve(tmp_path_factory.mktemp("served")) as server:
        server.throttle(slice_bytes=16384, pause=0.2)
        yield server


@pytest.fixture(scope="module")
def fault_run(tmp_path_factory, slow_server):
    """One run killed during a download, a merge, a training and a translation, resumed
    after each kill with `snakemake --unlock` and the same command (README)."""
    root = tmp_path_factory.mktemp("faults")
    local = root / "local"
    repeated_corpus(local, 50)
    # The uninterrupted reference: the data (vocab trained here, then served to the
    # interrupted run as a continuation URL).
    ref = root / "ref"
    snakemake(ref, "--cores", "2", f"{RESULTS}/vocab/vocab.spm", *[f"{RESULTS}/{p}" for p in DATA],
              f"{RESULTS}/translated/mono-trg/chunks", configfiles=[DEFAULT, config(root / "ref.yml", local, None)])
    server = slow_server
    (server.root / "vocab.spm").write_bytes((ref / RESULTS / "vocab/vocab.spm").read_bytes())
    work = root / "work"
    cfg = config(root / "faults.yml", local, f"{server.url}/vocab.spm")
    # The documented command; resuming is the same command after `snakemake --unlock`.
    cmd = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "-d", str(work),
           "--configfile", str(DEFAULT), str(cfg), "--profile", str(REPO / "profiles/local"), "--cores", "2", *TARGETS]
    res = work / RESULTS
    chunks_out = res / "translated/mono-trg/out"

    def written_since(path: Path, since: int) -> bool:
        """`path` was (re)written by the current run (a job's log, a checkpoint)."""
        try:
            return path.stat().st_mtime_ns >= since
        except FileNotFoundError:
            return False

    def translating(since: int) -> bool:
        """A chunk translated and another one being translated."""
        done = {p.name.split(".")[0] for p in chunks_out.glob("*.zst")}
        logs = (work / f"logs/{EXP}/translate/mono-trg").glob("*.log")
        running = {p.name.split(".")[0] for p in logs if written_since(p, since)} - done
        return bool(done) and bool(running)

    # (kill point, event that triggers the kill, check that the step had not finished)
    points = [
        ("download", lambda since: server.sent_part.is_set(),
         lambda: not any((work / "resources/vocab").glob("*/vocab.spm"))),
        ("merge", lambda since: written_since(work / f"logs/{EXP}/merge_corpus.log", since),
         lambda: not (res / "corpus/parallel.xx.zst").exists()),
        ("training", lambda since: written_since(res / "models/backward/model.npz", since),
         lambda: not (res / "models/backward/final.npz").exists()),
        ("translation", translating, lambda: len(list(chunks_out.glob("*.zst"))) < 3),
    ]
    finished: dict[str, tuple] = {}  # output -> (inode, mtime) of jobs finished before a kill
    runs = []
    work.mkdir()
    t0 = time.monotonic()
    for i, (point, event, interrupted) in enumerate(points):
        log_path = root / f"run{i}.log"
        since = time.time_ns() - 10**9  # file times may lag the clock by a tick
        proc = start(cmd, log_path)
        kill_when(proc, lambda: event(since), f"the {point} event")
        assert interrupted(), f"the {point} had finished when the kill landed"
        log = log_path.read_text()
        jobs, done = parse_jobs(log)
        outputs = {out: stat_of(work / out) for job in jobs if job["jobid"] in done for out in job["output"]}
        runs.append({"point": point, "log": log, "jobs": jobs, "finished": outputs})
        finished.update(outputs)
        # A killed Snakemake leaves its lock: the documented way back.
        snakemake(work, "--unlock", configfiles=[DEFAULT, cfg])
    final_log = root / "final.log"
    proc = start(cmd, final_log)
    assert proc.wait(timeout=600) == 0, final_log.read_text()[-5000:]
    elapsed = time.monotonic() - t0
    runs.append({"point": "end", "log": final_log.read_text(), "jobs": parse_jobs(final_log.read_text())[0]})
    print(f"fault run: {len(points)} kills and the final run took {elapsed:.0f} s")
    return {"work": work, "ref": ref, "runs": runs, "finished": finished, "cfg": cfg}


def test_every_kill_point_was_hit_and_the_run_completed(fault_run):
    assert [r["point"] for r in fault_run["runs"]] == ["download", "merge", "training", "translation", "end"]
    after = {r["point"]: {j["rule"] for j in r["jobs"]} for r in fault_run["runs"]}
    # Each interrupted step is redone by the next run.
    assert "download_vocab" in after["merge"]
    assert "merge_corpus" in after["training"]
    assert "train_backward" in after["translation"]
    assert "translate" in after["end"]
    result = snakemake(fault_run["work"], "-n", *TARGETS, configfiles=[DEFAULT, fault_run["cfg"]])
    assert "Nothing to be done" in result.stdout + result.stderr


def test_no_finished_job_reran(fault_run):
    finished = fault_run["finished"]
    assert len(finished) >= 10  # the kills did land after real progress
    runs = fault_run["runs"]
    for i, run in enumerate(runs[1:], 1):
        assert run["jobs"], "no job found in the run's log"
        done_before = {out for r in runs[:i] for out in r["finished"]}
        rerun = [out for job in run["jobs"] for out in job["output"] if out in done_before]
        assert rerun == [], f"the run after the {runs[i - 1]['point']} kill redid {rerun}"
    work = fault_run["work"]
    logs = "".join(run["log"] for run in runs)
    removed = set(re.findall(r"Removing temporary output (\S+)\.$", logs, re.M))
    for out, before in finished.items():
        if out in removed:  # temp(): deleted once used (and not remade, see above)
            assert not (work / out).exists()
            continue
        assert stat_of(work / out) == before, f"{out} was rewritten"


def test_outputs_equal_an_uninterrupted_run(fault_run):
    work, ref = fault_run["work"] / RESULTS, fault_run["ref"] / RESULTS
    for path in DATA:
        assert (work / path).read_bytes() == (ref / path).read_bytes(), path
    [vocab] = (fault_run["work"] / "resources/vocab").glob("*/vocab.spm")
    assert vocab.read_bytes() == (ref / "vocab/vocab.spm").read_bytes()
    chunks = sorted(os.listdir(ref / "translated/mono-trg/chunks"))
    assert sorted(os.listdir(work / "translated/mono-trg/chunks")) == chunks
    for name in chunks:
        assert (work / "translated/mono-trg/chunks" / name).read_bytes() == \
            (ref / "translated/mono-trg/chunks" / name).read_bytes()
    # The model: trained to the end (resumed), evaluated, used for every chunk.
    log = (fault_run["work"] / f"logs/{EXP}/train_backward.log").read_text()
    assert "resuming the checkpoint" in log
    assert "Loading model from" in (work / "models/backward/train.log").read_text()
    progress = yaml.safe_load((work / "models/backward/model.npz.progress.yml").read_text())
    assert progress["batches"] >= 150  # trained to its whole `after` budget
    metrics = json.loads((work / "evaluation/backward/toy_test.json").read_text())
    assert metrics["metrics"]["chrf"] > 0
    n = textio.count_lines(work / "corpus/mono.yy.zst")
    assert textio.count_lines(work / "corpus/backtranslations.xx.zst") == n
    assert textio.count_lines(work / "corpus/backtranslations.yy.zst") == n


def test_no_temporaries_left(fault_run):
    assert leftovers(fault_run["work"] / "results") == []
    assert leftovers(fault_run["work"] / "resources") == []
