"""mtdistill.distill.filter_scores: dropping the worst-scored share of a corpus."""

from __future__ import annotations

import json

from mtdistill.common import textio
from mtdistill.distill import filter_scores
from conftest import lines


def test_filter_drops_worst_share(tmp_path):
    n = 1000
    textio.write_lines(tmp_path / "s.zst", [f"s{i}" for i in range(n)])
    textio.write_lines(tmp_path / "t.zst", [f"t{i}" for i in range(n)])
    # Line i scores -i/100: the worst lines are the last ones.
    (tmp_path / "scores.txt").write_text("".join(f"{-i / 100}\n" for i in range(n - 1)) + "nan\n")
    filter_scores.main(["--src-in", str(tmp_path / "s.zst"), "--trg-in", str(tmp_path / "t.zst"),
                        "--scores", str(tmp_path / "scores.txt"), "--src-out", str(tmp_path / "o.s.zst"),
                        "--trg-out", str(tmp_path / "o.t.zst"), "--drop-share", "0.1",
                        "--stats", str(tmp_path / "f.json")])
    kept = lines(tmp_path / "o.s.zst")
    stats = json.loads((tmp_path / "f.json").read_text())
    assert abs(len(kept) - 900) <= 2 and stats["kept"] == len(kept)
    assert kept[:3] == ["s0", "s1", "s2"] and "s999" not in kept
    assert lines(tmp_path / "o.t.zst")[len(kept) - 1] == f"t{len(kept) - 1}"


def test_filter_share_zero_keeps_all_finite(tmp_path):
    (tmp_path / "scores.txt").write_text("-1\n-2\n")
    assert filter_scores.threshold(str(tmp_path / "scores.txt"), 0) == float("-inf")
