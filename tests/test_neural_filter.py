"""mtdistill.data.neural_filter: the neural filter hook (bicleaner-style scorer)."""

from __future__ import annotations

import json
import os
import sys

import pytest

from mtdistill.common.errors import PipelineError
from mtdistill.common import textio
from mtdistill.data import neural_filter
from conftest import DEFAULT, TINY, lines, snakemake, write_config


SCORER = """#!{python}
import sys
# --first N: answer for the first N pairs only (a scorer that breaks down).
first = int(sys.argv[sys.argv.index("--first") + 1]) if "--first" in sys.argv else None
for n, line in enumerate(sys.stdin):
    if n == first:
        break
    src, trg = line.rstrip("\\n").split("\\t")
    # bicleaner-ai-classify's layout without --score_only: the input, then the score.
    print(f"{{src}}\\t{{trg}}\\t{{0.9 if len(src.split()) == len(trg.split()) else 0.2}}")
"""


def test_neural_filter_keeps_pairs_scoring_above_threshold(tmp_path):
    scorer = tmp_path / "scorer"
    scorer.write_text(SCORER.format(python=sys.executable))
    scorer.chmod(0o755)
    textio.write_lines(tmp_path / "s.zst", ["a b", "c", "d e f"] * 5)
    textio.write_lines(tmp_path / "t.zst", ["x y", "z w", "u v w"] * 5)
    (tmp_path / "in.json").write_text(json.dumps({"input": 20, "empty": 5, "kept": 15}))
    args = ["--src-in", str(tmp_path / "s.zst"), "--trg-in", str(tmp_path / "t.zst"),
            "--src-out", str(tmp_path / "o.s.zst"), "--trg-out", str(tmp_path / "o.t.zst"),
            "--stats-in", str(tmp_path / "in.json"), "--stats-out", str(tmp_path / "out.json")]
    neural_filter.main(args + ["--command", f"{scorer} --model m", "--threshold", "0.5"])
    assert lines(tmp_path / "o.s.zst") == ["a b", "d e f"] * 5
    assert lines(tmp_path / "o.t.zst") == ["x y", "u v w"] * 5
    assert json.loads((tmp_path / "out.json").read_text()) == {"input": 20, "empty": 5, "bicleaner": 5, "kept": 10}
    # A command that fails, or answers for fewer pairs than it was given: no output left.
    for command, message in (("false", "exited with status 1"), (f"{scorer} --first 2", "fewer score lines"),
                             ("no-such-bicleaner", "not on PATH")):
        for name in ("o.s.zst", "o.t.zst"):
            (tmp_path / name).unlink(missing_ok=True)
        with pytest.raises(PipelineError, match=message):
            neural_filter.main(args + ["--command", command, "--threshold", "0.5"])
        assert not (tmp_path / "o.s.zst").exists() and not (tmp_path / "o.t.zst").exists()


def test_bicleaner_enabled_without_the_tool_stops_before_any_job(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    cfg = write_config(tmp_path / "c.yml", "cleaning: {bicleaner: {enabled: true, model: /models/en-de, "
                       "command: no-such-bicleaner-classify -}}\n")
    result = snakemake(work, "-n", configfiles=[DEFAULT, TINY, cfg], check=False)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "cleaning.bicleaner.enabled" in output and "no-such-bicleaner-classify" in output
    # With the classifier on PATH the neural filter sits between cleaning and merging.
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "bicleaner-ai-classify").write_text(SCORER.format(python=sys.executable))
    (tmp_path / "bin" / "bicleaner-ai-classify").chmod(0o755)
    cfg = write_config(tmp_path / "c.yml", "cleaning: {bicleaner: {enabled: true, model: m, "
                       "command: bicleaner-ai-classify - -}}\n")
    env = {**os.environ, "PATH": f"{tmp_path / 'bin'}:{os.environ['PATH']}"}
    result = snakemake(work, "-n", "vocab", configfiles=[DEFAULT, TINY, cfg], env=env)
    assert "bicleaner_corpus" in result.stdout and "clean-rules/toy_train.xx.zst" in result.stdout
