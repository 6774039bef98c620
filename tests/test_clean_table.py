"""mtdistill.data.clean_table: the cleaning table of all datasets."""

from __future__ import annotations

import json

from mtdistill.data import clean_table


def test_cleaning_table_rows_and_total(tmp_path):
    (tmp_path / "a.stats.json").write_text(json.dumps({"input": 10, "empty": 2, "script": 3, "kept": 5}))
    (tmp_path / "b.xx.stats.json").write_text(json.dumps({"input": 30, "langid": 1, "bicleaner": 4, "kept": 25}))
    clean_table.main(["--stats", str(tmp_path / "a.stats.json"), str(tmp_path / "b.xx.stats.json"),
                      "--output", str(tmp_path / "t.tsv")])
    rows = [r.split("\t") for r in (tmp_path / "t.tsv").read_text().splitlines()]
    header = rows[0]
    assert header[:3] == ["dataset", "input", "empty"] and header[-2:] == ["kept", "kept-share"]
    table = {r[0]: dict(zip(header, r)) for r in rows[1:]}
    assert table["a"]["script"] == "3" and table["a"]["kept-share"] == "0.5000"
    assert table["b.xx"]["bicleaner"] == "4"
    assert table["total"]["input"] == "40" and table["total"]["kept"] == "30"
    assert [r[0] for r in rows[1:]] == ["a", "b.xx", "total"]
