"""mtdistill.common.diskspace: the low-disk warning at the start of merges, splits and
trainings, on stderr (the job's log) and on Snakemake's console (the descriptor the rule
opens as 3).

A nearly full filesystem is faked with the `free` parameter, or by replacing free_bytes in
the job scripts' tests, never by filling the disk.
"""

from __future__ import annotations

import os

import pytest

from mtdistill.common import diskspace
from mtdistill.common import textio
from mtdistill.data import merge
from mtdistill.distill import chunks
from mtdistill.train import train


@pytest.fixture
def corpus(tmp_path):
    """A compressed and a plain corpus file; returns (paths, plain-text size estimate)."""
    zst, plain = tmp_path / "c.xx.zst", tmp_path / "c.yy"
    textio.write_lines(zst, [f"line {i}" for i in range(2000)])
    plain.write_text("word\n" * 1000, encoding="utf-8")
    text = zst.stat().st_size * diskspace.EXPANSION + plain.stat().st_size
    return [str(zst), str(plain)], text


def test_estimates_follow_the_inputs(corpus, tmp_path):
    paths, text = corpus
    assert diskspace.estimate("split", paths) == text
    assert diskspace.estimate("merge", paths) == text + text // diskspace.EXPANSION
    model = tmp_path / "final.npz"
    model.write_bytes(b"\0" * 1000)
    assert diskspace.estimate("train", [*paths, str(model)]) == 2 * text + 4000
    assert diskspace.estimate("split", [str(tmp_path / "missing.zst")]) == 0
    with pytest.raises(ValueError, match="unknown step"):
        diskspace.estimate("dance", paths)


@pytest.fixture
def console():
    """A pipe standing for Snakemake's console: (write descriptor, read() -> its text)."""
    read_fd, write_fd = os.pipe()

    def read() -> str:
        try:
            os.close(write_fd)
        except OSError:
            pass  # closed by the code under test
        with os.fdopen(read_fd, encoding="utf-8") as handle:
            return handle.read()

    return write_fd, read


def test_nearly_full_filesystem_warns_on_stderr_and_the_console(corpus, tmp_path, capsys, console):
    paths, text = corpus
    target = tmp_path / "results" / "not-yet" / "parallel.xx.zst"
    fd, read = console
    assert not diskspace.check("merge", paths, str(target), free=text // 2, console_fd=fd)
    err = capsys.readouterr().err
    assert "WARNING: low disk space for merge" in err and str(target) in err
    assert "needed" in err and "free" in err and "bigger filesystem" in err
    assert read() == err
    assert not target.parent.exists()  # a check writes nothing


def test_enough_space_says_nothing(corpus, tmp_path, capsys, console):
    paths, text = corpus
    fd, read = console
    assert diskspace.check("split", paths, str(tmp_path / "chunks"), free=text, console_fd=fd)
    assert capsys.readouterr().err == "" and read() == ""
    # The real filesystem of the test's temp dir has room for a few kB.
    assert diskspace.check("split", paths, str(tmp_path / "a" / "b" / "chunks"))


def test_a_closed_console_loses_nothing_but_the_console(corpus, tmp_path, capsys):
    paths, _ = corpus
    read_fd, write_fd = os.pipe()
    os.close(read_fd)
    os.close(write_fd)
    assert not diskspace.check("train", paths, str(tmp_path / "m"), free=10, console_fd=write_fd)
    assert "10 B free" in capsys.readouterr().err


def test_free_bytes_of_a_path_that_does_not_exist_yet(tmp_path):
    assert diskspace.free_bytes(str(tmp_path / "no" / "such" / "dir")) > 0


@pytest.fixture
def nearly_full(monkeypatch):
    """Every filesystem has 10 bytes free."""
    monkeypatch.setattr(diskspace, "free_bytes", lambda path: 10)


def test_merge_warns_first_then_merges(corpus, tmp_path, capsys, console, nearly_full):
    """The rule's `--console-fd 3 3>&2 >>{log} 2>&1`: the warning on the log (stderr) and on
    the console; a warning, never a failure."""
    paths, _ = corpus
    fd, read = console
    out = tmp_path / "merged.xx.zst"
    merge.main(["--src-in", paths[0], "--src-out", str(out), "--console-fd", str(fd)])
    err = capsys.readouterr().err
    assert "WARNING: low disk space for merge" in err and "10 B free" in err
    assert "WARNING: low disk space for merge" in read()
    assert textio.count_lines(out) == 2000
    with pytest.raises(OSError):  # the console is closed once the check is done
        os.fstat(fd)


def test_split_warns_first_then_splits(corpus, tmp_path, capsys, console, nearly_full):
    paths, _ = corpus
    fd, read = console
    out = tmp_path / "chunks"
    chunks.main(["split", "--inputs", paths[0], "--suffixes", "in", "--out-dir", str(out),
                 "--lines", "1000", "--console-fd", str(fd)])
    assert "WARNING: low disk space for split" in capsys.readouterr().err
    assert f"split -> {out}" in read()
    assert sorted(p.name for p in out.iterdir()) == ["00000.in", "00001.in"]


def test_training_warns_before_it_writes_anything(corpus, tmp_path, monkeypatch):
    """train.py checks first: nothing of the model folder exists yet."""
    paths, _ = corpus
    seen = []

    def check(step, inputs, target, console_fd):
        seen.append((step, inputs, target, console_fd, os.path.exists(target)))
        raise SystemExit(0)

    monkeypatch.setattr(diskspace, "job_check", check)
    model_dir = tmp_path / "models" / "teacher0"
    pretrained = tmp_path / "start"
    with pytest.raises(SystemExit):
        train.main(["--model-dir", str(model_dir), "--train-src", paths[0], "--train-trg", paths[1],
                    "--src-vocab", "v.spm", "--trg-vocab", "v.spm", "--mode", "init",
                    "--pretrained", str(pretrained), "--console-fd", "7"])
    step, inputs, target, fd, existed = seen[0]
    assert (step, target, fd, existed) == ("train", str(model_dir), 7, False)
    assert paths[0] in inputs and paths[1] in inputs and str(pretrained / "final.npz") in inputs
