"""The run report: the report_* scripts on small inputs, `snakemake --report` on the tiny
run (finished, and as a partial run after a named target) and on a continuation run, the
report in headless Chromium, and the rule-graph pictures in docs/."""

from __future__ import annotations

import base64
import csv
import json
import re
import shutil
import sys
from pathlib import Path

import pytest
import yaml

from _http import serve
from conftest import DEFAULT, REPO, RESULTS, TINY, planned_jobs, snakemake, write_config
from mtdistill.common import textio
from mtdistill.report import data as report_data
from mtdistill.report import metrics as report_metrics
from mtdistill.report import training as report_training

sys.path.insert(0, str(REPO / "docs" / "tools"))  # the dev tools drawing and checking docs/
import draw_dags  # noqa: E402
import report_screenshot  # noqa: E402

pytestmark = pytest.mark.timeout(1500)


def report_results(path: Path) -> dict[str, dict]:
    """The results embedded in a Snakemake HTML report: path -> entry, with `data` (bytes)."""
    html = path.read_text(encoding="utf-8")
    match = re.search(r'<script id="results">\s*var results = (.*?);\s*</script>', html, re.S)
    assert match, "no results in the report"
    results = json.loads(match.group(1))
    for entry in results.values():
        entry["data"] = base64.b64decode(entry["data_uri"].split("base64,", 1)[1])
    return results


def result(results: dict, suffix: str) -> dict:
    found = [entry for path, entry in results.items() if path.endswith(suffix)]
    assert len(found) == 1, f"{suffix}: {len(found)} results in {sorted(results)}"
    return found[0]


def cells(html: bytes) -> list[str]:
    return [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", html.decode())]


# --- the scripts ------------------------------------------------------------------------

TRAIN_LOG = """\
[2026-01-01 10:00:00] [marian] Marian v1.12.42 b7be0e964 2025-05-24 22:34:42 -0700
[2026-01-01 10:00:10] Ep. 1 : Up. 25 : Sen. 1,600 : Cost 5.00000000 * 20,000 @ 900 after 20,000 : Time 10.00s : 2000.00 words/s : gNorm 0.0000
[2026-01-01 10:00:20] Ep. 1 : Up. 50 : Sen. 3,200 : Cost 4.00000000 * 20,000 @ 900 after 40,000 : Time 10.00s : 2000.00 words/s : gNorm 0.0000
[2026-01-01 10:00:25] [valid] Ep. 1 : Up. 50 : chrf : 20.5 : new best
[2026-01-01 10:00:30] Ep. 1 : Up. 75 : Sen. 4,800 : Cost 3.50000000 * 20,000 @ 900 after 60,000 : Time 10.00s : 2000.00 words/s : gNorm 0.0000
[2026-01-01 11:00:00] [marian] Marian v1.12.42 b7be0e964 2025-05-24 22:34:42 -0700
[2026-01-01 11:00:10] Ep. 1 : Up. 75 : Sen. 4,800 : Cost 3.25000000 * 20,000 @ 900 after 60,000 : Time 10.00s : 4000.00 words/s : gNorm 0.0000
[2026-01-01 11:00:20] Ep. 2 : Up. 100 : Sen. 1,600 : Cost 3.00000000 * 20,000 @ 900 after 80,000 : Time 10.00s : 4000.00 words/s : gNorm 0.0000
[2026-01-01 11:00:25] [valid] Ep. 2 : Up. 100 : chrf : 30.25 : new best
[2026-01-01 11:00:26] [valid] Ep. 2 : Up. 100 : ce-mean-words : 2.5 : new best
"""
VALID_LOG = """\
[2026-01-01 10:00:25] [valid] Ep. 1 : Up. 50 : chrf : 20.5 : new best
[2026-01-01 11:00:25] [valid] Ep. 2 : Up. 100 : chrf : 30.25 : new best
[2026-01-01 11:00:26] [valid] Ep. 2 : Up. 100 : ce-mean-words : 2.5 : new best
[2026-01-01 11:00:40] [valid] Ep. 2 : Up. 150 : chrf : 29.0 : stalled 1 times (last best: 30.25)
"""


def test_training_curves_from_a_resumed_log(tmp_path):
    (tmp_path / "train.log").write_text(TRAIN_LOG)
    (tmp_path / "valid.log").write_text(VALID_LOG)
    out = {k: str(tmp_path / f"out.{k}") for k in ("svg", "csv", "json")}
    report_training.main(["curves", "--model-dir", str(tmp_path), "--name", "teacher0", "--mode", "continue",
                          "--best-metric", "chrf", "--plot", out["svg"], "--points", out["csv"],
                          "--summary", out["json"]])
    summary = json.loads(Path(out["json"]).read_text())
    assert summary["starts"] == 2 and summary["updates"] == 150 and summary["epochs"] == 2
    assert summary["final_cost"] == 3.0 and summary["wall_seconds"] == 30 + 26
    assert summary["best"]["chrf"] == {"value": 30.25, "update": 100, "last": 29.0}
    assert summary["best"]["ce-mean-words"]["value"] == 2.5
    with open(out["csv"]) as handle:
        rows = list(csv.DictReader(handle))
    costs = {int(r["update"]): float(r["value"]) for r in rows if r["series"] == "cost"}
    assert costs == {25: 5.0, 50: 4.0, 75: 3.25, 100: 3.0}  # the resumed run's update 75 wins
    assert report_training.parse_logs(str(tmp_path / "train.log"))["restarts"] == [75]
    svg = Path(out["svg"]).read_text()
    assert "<svg" in svg and "resumed 1x" in svg and "validation chrf" in svg
    report_training.main(["summary", "--inputs", out["json"], "--output", str(tmp_path / "t.html")])
    table = cells((tmp_path / "t.html").read_bytes())
    assert "teacher0" in table and "30.25 @ 100" in table and "150" in table


def test_training_curves_without_logs(tmp_path):
    parsed = report_training.parse_logs(str(tmp_path / "train.log"), str(tmp_path / "valid.log"))
    summary = report_training.summarize("student", "train", parsed, "chrf")
    assert summary["updates"] == 0 and summary["best"] == {}
    report_training.plot(parsed, summary, str(tmp_path / "empty.svg"))
    assert (tmp_path / "empty.svg").stat().st_size > 0


def test_cleaning_statistics_and_line_counts(tmp_path):
    stats = tmp_path / "web.stats.json"
    stats.write_text(json.dumps({"input": 100, "empty": 3, "too-long": 10, "identical": 7, "kept": 80}))
    mono = tmp_path / "news.xx.stats.json"
    mono.write_text(json.dumps({"input": 50, "too-short": 5, "kept": 45}))
    rows = report_data.cleaning_rows([("train", str(stats)), ("mono-src", str(mono))])
    # Every filter the cleaning applies, in its order, a filter absent from the statistics dropping nothing.
    assert list(rows[0]["after"].items()) == [("empty", 97), ("too-short", 97), ("too-long", 87), ("length-ratio", 87),
                                              ("identical", 80), ("numbers", 80), ("script", 80), ("langid", 80)]
    assert rows[1]["dataset"] == "news.xx"
    assert rows[1]["after"] == {"empty": 50, "too-short": 45, "too-long": 45, "script": 45, "langid": 45}
    textio.write_lines(tmp_path / "c.xx.zst", (f"line {i}" for i in range(12345)))
    (tmp_path / "no-newline.txt").write_text("a\nb")
    assert report_data.count_lines(str(tmp_path / "c.xx.zst")) == 12345
    assert report_data.count_lines(str(tmp_path / "no-newline.txt")) == 2
    filt = tmp_path / "f.json"
    filt.write_text(json.dumps({"input": 200, "kept": 190, "dropped": 10, "threshold": -1.5}))
    report_data.main(["--stats", f"train={stats}", f"mono-src={mono}", "--corpus", f"parallel={tmp_path / 'c.xx.zst'}",
                      "--filter", str(filt), "--filter-share", "0.05", "--table", str(tmp_path / "d.html"),
                      "--plot", str(tmp_path / "d.svg")])
    table = cells((tmp_path / "d.html").read_bytes())
    assert {"87", "80", "80.00", "12,345", "190", "5.000"} <= set(table)
    assert (tmp_path / "d.svg").stat().st_size > 0


def test_metrics_table_and_chart(tmp_path):
    metrics = tmp_path / "metrics.csv"
    metrics.write_text("model,dataset,metric,score\nstudent,t1,bleu,30.5\nstudent,t1,chrf,55.25\n"
                       "baseline-copy,t1,bleu,1.0\nbaseline-copy,t1,chrf,12.0\nstudent,t2,bleu,20.0\n")
    report_metrics.main(["--metrics", str(metrics), "--table", str(tmp_path / "s.html"), "--plot", str(tmp_path / "s.svg")])
    table = cells((tmp_path / "s.html").read_bytes())
    # baseline-copy first; one column per (test set, metric); a missing score is an empty cell.
    assert table[:4] == ["model", "t1 / BLEU", "t1 / chrF", "t2 / BLEU"]
    assert table[4:12] == ["baseline-copy", "1.00", "12.00", "", "student", "30.50", "55.25", "20.00"]
    assert "test set t2" in (tmp_path / "s.svg").read_text()


# --- the report of the tiny run -------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_report(tiny_run, tmp_path_factory):
    path = tmp_path_factory.mktemp("report") / "report.html"
    snakemake(tiny_run["workdir"], "--report", str(path), configfiles=[DEFAULT, TINY])
    return path


def test_normal_run_makes_the_report_files(tiny_run):
    jobs = planned_jobs(tiny_run["resumed"])
    assert jobs["report_training"] == 5 and jobs["measure_speed"] == 1 and jobs["report_scores"] == 1
    logs = tiny_run["workdir"] / "logs/tiny/report"
    assert (logs / "speed.log").stat().st_size > 0 and (logs / "training/teacher0.log").exists()


def test_report_has_scores_curves_data_speed_and_provenance(tiny_run, tiny_report):
    results = report_results(tiny_report)
    root = tiny_run["workdir"] / RESULTS
    # Every score of metrics.csv, as the table shows it.
    table = cells(result(results, "report/scores.html")["data"])
    with open(root / "evaluation/metrics.csv", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        assert f"{float(row['score']):.2f}" in table, row
    assert {"baseline-copy", "student-quantized", "teacher-ensemble"} <= set(table)
    chart = result(results, "report/scores.svg")
    assert chart["mime_type"] == "image/svg+xml" and b"student-quantized" in chart["data"]
    # Training curves of every model trained here; the backward model was killed and resumed.
    for model in ("backward", "teacher0", "teacher1", "student", "student-finetuned"):
        curve = result(results, f"training/{model}.svg")
        assert curve["labels"] == {"model": model} and b"training cost" in curve["data"]
        assert model in curve["caption"]
    assert b"resumed 1x" in result(results, "training/backward.svg")["data"]
    summary = cells(result(results, "report/training.html")["data"])
    assert {"backward", "teacher0", "student-finetuned"} <= set(summary)
    # Data: lines after each filter, corpus sizes, the distillation filter.
    data = cells(result(results, "report/data.html")["data"])
    stats = json.loads((root / "data/clean/toy_train.stats.json").read_text())
    filt = json.loads((root / "corpus/distillation.filter.json").read_text())
    assert {"toy_train", "toy_dev", "toy_mono-src.xx", "toy_mono-trg.yy", "distillation"} <= set(data)
    assert {f"{stats['input']:,}", f"{stats['kept']:,}", f"{filt['kept']:,}", f"{filt['dropped']:,}"} <= set(data)
    assert f"{textio.count_lines(root / 'corpus/parallel.xx.zst'):,}" in data
    assert b"<svg" in result(results, "report/data.svg")["data"]
    # The export: sizes from model.json, a measured speed.
    record = json.loads((root / "exported/model.json").read_text())
    export = cells(result(results, "report/export.html")["data"])
    assert f"{record['files']['model.intgemm8.bin']['bytes']:,}" in export
    speed = json.loads((root / "report/speed.json").read_text())["speed"][0]
    assert speed["test set"] == "toy_test" and speed["sentences"] == 100 and speed["source words/s"] > 0
    assert f"{speed['source words/s']:,}" in export
    # Provenance: everything trained here.
    provenance = cells(result(results, "report/provenance.html")["data"])
    assert provenance.count("trained here") >= 5 and "student-quantized" in provenance
    assert {r["model"] for r in json.loads((root / "report/provenance.json").read_text())["models"]} == {
        "backward", "teacher0", "teacher1", "student", "student-finetuned", "student-quantized"}


def test_report_after_a_named_target(tiny_run, tmp_path):
    """A run stopped after a stage: the report of what that stage ran."""
    path = tmp_path / "partial.html"
    snakemake(tiny_run["workdir"], "--report", str(path), "backwards", configfiles=[DEFAULT, TINY])
    assert [p.rsplit("/", 1)[1] for p in report_results(path)] == ["backward.svg"]


# --- a continuation run ---------------------------------------------------------------


@pytest.fixture(scope="module")
def continued_run(tiny_run, tmp_path_factory):
    """A student from the tiny run's distillation corpus, initialised from its student,
    both downloaded over HTTP; the whole default target, then its report."""
    with serve(tiny_run["workdir"] / RESULTS) as server:  # the tests' local HTTP server (tests/_http.py)
        url = server.url
        work = tmp_path_factory.mktemp("continued")
        corpus = {k: f"{url}/corpus/distillation.{s}.zst" for k, s in
                  (("src", "xx"), ("trg", "yy"), ("tok-src", "tok-xx"), ("tok-trg", "tok-yy"), ("alignments", "aln"))}
        cfg = {
            "experiment": {"name": "rep", "finetune-student": False},
            "datasets": {"train": [], "mono-src": [], "mono-trg": []},
            "marian-args": {"training-student": {"preset": "student-toy", "after": "30u", "valid-freq": "15u",
                                                 "save-freq": "15u", "disp-freq": "5u"}},
            "continuation": {
                "vocab": {"src": f"{url}/vocab/vocab.spm", "trg": f"{url}/vocab/vocab.spm"},
                "corpora": {"distillation": corpus},
                "models": {"student": {"url": f"{url}/models/student", "mode": "init", "type": "default"}},
            },
        }
        configfile = write_config(work / "cont.yml", yaml.safe_dump(cfg))
        run = snakemake(work, "--cores", "2", configfiles=[DEFAULT, TINY, configfile], timeout=600)
        path = work / "report.html"
        snakemake(work, "--report", str(path), configfiles=[DEFAULT, TINY, configfile])
    return {"workdir": work, "url": url, "report": path, "jobs": planned_jobs(run.stdout + run.stderr)}


def test_report_of_a_continuation_run(continued_run):
    jobs, url = continued_run["jobs"], continued_run["url"]
    assert "train_teacher" not in jobs and jobs["train_student"] == 1 and jobs["report_training"] == 1
    results = report_results(continued_run["report"])
    names = sorted(p.split("/report/", 1)[1] for p in results)
    assert names == ["data.html", "data.svg", "export.html", "provenance.html", "scores.html", "scores.svg",
                     "training.html", "training/student.svg"]
    # Provenance: the student's URL and mode, the downloaded vocab and corpus.
    provenance = cells(result(results, "provenance.html")["data"])
    row = provenance[provenance.index("student"):][:6]
    assert row[1:4] == ["trained here from downloaded weights", "init", f"{url}/models/student"]
    assert f"{url}/vocab/vocab.spm" in provenance and f"{url}/corpus/distillation.aln.zst" in provenance
    assert not [c for c in provenance if c.startswith("teacher") or c == "backward"]
    record = json.loads((continued_run["workdir"] / "results/rep/exported/model.json").read_text())
    assert record["provenance"]["student"] == {"url": f"{url}/models/student", "mode": "init"}
    # Only what this run has: no teachers scored, no cleaning of training data, no filter.
    scores = cells(result(results, "scores.html")["data"])
    assert {"student", "student-quantized", "baseline-copy"} <= set(scores) and "teacher0" not in scores
    data = cells(result(results, "data.html")["data"])
    assert "toy_dev" in data and "toy_train" not in data and "distillation" in data
    assert b"score filter" not in result(results, "data.html")["data"]
    assert b"trained from downloaded weights" in result(results, "training/student.svg")["data"]


# --- the report in a browser ------------------------------------------------------------


def test_report_renders_in_headless_chromium(tiny_report, tmp_path):
    if not report_screenshot.find_browser():
        pytest.skip("no Chromium to render the report in (Debian: apt-get install chromium)")
    page = report_screenshot.check(str(tiny_report))
    assert page["errors"] == [], page["errors"]
    # The report's app rendered: its menu, our categories and the workflow description.
    for text in ("Workflow", "1. Scores", "2. Training", "3. Data", "4. Exported student", "5. Provenance",
                 "experiment tiny"):
        assert text in page["text"], text
    shot = tmp_path / "shot.png"
    report_screenshot.screenshot(str(tiny_report), str(shot), show="scores.svg")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 5000


# --- rule-graph pictures ---------------------------------------------------------------


@pytest.mark.skipif(not shutil.which("dot"), reason="graphviz (dot) is not installed")
def test_rulegraph_pictures_are_up_to_date():
    assert draw_dags.check() == [], "redraw with: python3 docs/tools/draw_dags.py"
    assert {p.name for p in (REPO / "docs").glob("rulegraph-*.svg")} == {
        f"rulegraph-{name}.svg" for name in draw_dags.recipes()}


@pytest.mark.skipif(not shutil.which("dot"), reason="graphviz (dot) is not installed")
def test_rulegraph_normalisation_round_trips_through_svg():
    dot = ('digraph snakemake_dag {\n\t2[label = "all", color = "0.1 0.6 0.85"];\n'
           '\t0[label = "train_student", color = "0.5 0.6 0.85"];\n\t1[label = "report_scores"];\n'
           "\t0 -> 2\n\t1 -> 2\n\t0 -> 1\n}\n")
    normal = draw_dags.normalise(dot, "t")
    assert normal == draw_dags.normalise(dot.replace("2[", "7[").replace("-> 2", "-> 7"), "t")
    assert draw_dags.graph_of_svg(draw_dags.to_svg(normal)) == draw_dags.graph_of(dot)
