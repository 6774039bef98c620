"""scripts/diskspace.py: the low-disk warning before merges, splits and trainings.

A nearly full filesystem is faked with the `free` parameter (`--free-bytes` on the command
line), never by filling the disk.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from mtdistill.common import diskspace
from mtdistill.common import textio
from conftest import SCRIPTS


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


def test_nearly_full_filesystem_warns_on_stderr_and_in_the_log(corpus, tmp_path, capsys):
    paths, text = corpus
    log = tmp_path / "logs" / "merge.log"
    target = tmp_path / "results" / "not-yet" / "parallel.xx.zst"
    assert not diskspace.check("merge", paths, str(target), free=text // 2, log=str(log))
    err = capsys.readouterr().err
    assert "WARNING: low disk space for merge" in err and str(target) in err
    assert "needed" in err and "free" in err and "bigger filesystem" in err
    assert log.read_text(encoding="utf-8") == err
    assert not target.parent.exists()  # a check writes nothing but the log


def test_enough_space_says_nothing(corpus, tmp_path, capsys):
    paths, text = corpus
    log = tmp_path / "x.log"
    assert diskspace.check("split", paths, str(tmp_path / "chunks"), free=text, log=str(log))
    assert capsys.readouterr().err == "" and not log.exists()
    # The real filesystem of the test's temp dir has room for a few kB.
    assert diskspace.check("split", paths, str(tmp_path / "a" / "b" / "chunks"))


def test_free_bytes_of_a_path_that_does_not_exist_yet(tmp_path):
    assert diskspace.free_bytes(str(tmp_path / "no" / "such" / "dir")) > 0


def test_cli_warns_but_never_fails(corpus, tmp_path):
    paths, _ = corpus
    log = tmp_path / "train.log"
    result = subprocess.run(
        [sys.executable, "-m", "mtdistill.common.diskspace", "train", "--inputs", *paths,
         "--target", str(tmp_path / "models" / "teacher0"), "--log", str(log), "--free-bytes", "10"],
        capture_output=True, text=True,
    )
    assert result.returncode == 0
    assert "WARNING: low disk space for train" in result.stderr and "10 B free" in result.stderr
    assert "WARNING" in log.read_text(encoding="utf-8")
