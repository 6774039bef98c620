"""The training page's table of Snakemake benchmarks (mtdistill.report.training): reading
the benchmark files the heavy rules write (`benchmark:`) and showing the training jobs'."""

from __future__ import annotations

import json

import pytest

from mtdistill.report import training

HEADER = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"


def test_a_benchmark_row_is_read(tmp_path):
    path = tmp_path / "train_backward.tsv"
    path.write_text(HEADER + "65.43\t0:01:05\t1234.56\t5000.00\t1100.00\t1150.00\t1.50\t20.25\t180.00\t117.80\n")
    assert training.read_benchmark(str(path)) == {
        "seconds": 65.43, "max_rss_mb": 1234.56, "cpu_seconds": 117.8, "mean_load": 180.0}


def test_unmeasured_values_are_none_and_the_last_run_counts(tmp_path):
    """A job shorter than Snakemake's sampling interval has NA memory; a rule benchmarked
    with `repeat` writes several rows: the last one is the run that made the outputs."""
    path = tmp_path / "b.tsv"
    path.write_text(HEADER + "9.0\t0:00:09\t1.0\t1\t1\t1\t0\t0\t1\t1\n"
                    "0.31\t0:00:00\tNA\tNA\tNA\tNA\tNA\tNA\tNA\t-\n")
    assert training.read_benchmark(str(path)) == {
        "seconds": 0.31, "max_rss_mb": None, "cpu_seconds": None, "mean_load": None}
    empty = tmp_path / "empty.tsv"
    empty.write_text(HEADER)
    with pytest.raises(ValueError, match="no benchmark row"):
        training.read_benchmark(str(empty))


def test_snakemakes_own_benchmark_format_is_read(tmp_path):
    """The file as the installed Snakemake writes it."""
    from snakemake.benchmark import BenchmarkRecord, write_benchmark_records

    record = BenchmarkRecord(running_time=125.5, max_rss=2048.25, max_vms=4096, max_uss=2000,
                             max_pss=2010, io_in=1.0, io_out=2.0, cpu_usage=250.0, cpu_time=240.5)
    record.data_collected = True
    path = tmp_path / "bench.tsv"
    write_benchmark_records([record], str(path), False)
    assert training.read_benchmark(str(path)) == {
        "seconds": 125.5, "max_rss_mb": 2048.25, "cpu_seconds": 240.5, "mean_load": pytest.approx(1.99, abs=0.01)}


def test_training_page_shows_each_jobs_time_and_memory(tmp_path):
    summaries, benchmarks = [], []
    for i, (model, seconds, rss) in enumerate([("backward", 65.4, 1234.6), ("teacher0", 3725.0, "NA")]):
        summary = tmp_path / f"{model}.json"
        summary.write_text(json.dumps({
            "model": model, "mode": "trained here", "updates": 100, "epochs": 2,
            "first_update": 1, "final_cost": 1.5, "words_per_second": 900.0, "wall_seconds": 60.0,
            "starts": 1, "best_metric": "chrf", "best": {"chrf": {"value": 50.0, "update": 100, "last": 49.0}}}))
        bench = tmp_path / f"{model}.tsv"
        bench.write_text(HEADER + f"{seconds}\t-\t{rss}\t1\t1\t1\t0\t0\t1.5\t{seconds * 1.5}\n")
        summaries.append(str(summary))
        benchmarks.append(str(bench))
    page = tmp_path / "training.html"
    training.main(["summary", "--inputs", *summaries, "--benchmarks", *benchmarks, "--output", str(page)])
    html = page.read_text(encoding="utf-8")
    jobs = html[html.index("<h2>Training jobs</h2>"):]
    assert "<th>backward</th>" in jobs and "<th>teacher0</th>" in jobs
    assert "1m05s" in jobs and "1h02m" in jobs  # wall time
    assert "<td>1,235</td>" in jobs  # peak memory (MB), rounded
    # Without benchmarks (an older call), the page has the summary only.
    training.main(["summary", "--inputs", *summaries, "--output", str(page)])
    assert "Training jobs" not in page.read_text(encoding="utf-8")
