"""mtdistill.distill.chunks: splitting corpora into chunks and joining them."""

from __future__ import annotations

import pytest

from mtdistill.common.errors import PipelineError
from mtdistill.common import textio
from mtdistill.distill import chunks
from conftest import lines


def test_split_and_join_roundtrip(tmp_path):
    textio.write_lines(tmp_path / "s.zst", [f"s{i}" for i in range(10)])
    textio.write_lines(tmp_path / "r.zst", [f"r{i}" for i in range(10)])
    n = chunks.split([str(tmp_path / "s.zst"), str(tmp_path / "r.zst")], ["in", "ref"], str(tmp_path / "c"), 4)
    assert n == 3
    assert lines(tmp_path / "c" / "00002.ref") == ["r8", "r9"]
    ins = sorted(str(p) for p in (tmp_path / "c").glob("*.in"))
    assert chunks.join(ins, str(tmp_path / "j.zst")) == 10
    assert lines(tmp_path / "j.zst") == [f"s{i}" for i in range(10)]


def test_split_empty_input_makes_no_chunk(tmp_path):
    textio.write_lines(tmp_path / "e.zst", [])
    assert chunks.split([str(tmp_path / "e.zst")], ["in"], str(tmp_path / "c"), 5) == 0
    chunks.main(["join", "--output", str(tmp_path / "j.zst")])
    assert lines(tmp_path / "j.zst") == []


def test_split_rejects_uneven_inputs(tmp_path):
    textio.write_lines(tmp_path / "a.zst", ["1", "2", "3"])
    textio.write_lines(tmp_path / "b.zst", ["1", "2"])
    with pytest.raises(PipelineError, match="line counts differ"):
        chunks.split([str(tmp_path / "a.zst"), str(tmp_path / "b.zst")], ["in", "ref"], str(tmp_path / "c"), 2)
