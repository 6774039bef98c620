"""mtdistill.data.merge: dedup, shuffle, sampling, mono against parallel."""

from __future__ import annotations

import os
from collections import Counter

import pytest

from mtdistill.common.errors import PipelineError
from mtdistill.common import textio
from mtdistill.data import merge
from conftest import lines


def test_merge_dedups_pairs_across_files_and_buckets(tmp_path):
    textio.write_lines(tmp_path / "a.s.zst", [f"s{i}" for i in range(100)] + ["s1"])
    textio.write_lines(tmp_path / "a.t.zst", [f"t{i}" for i in range(100)] + ["t1"])
    textio.write_lines(tmp_path / "b.s.zst", ["s2", "s2"])
    textio.write_lines(tmp_path / "b.t.zst", ["t2", "other"])  # a new pair: kept
    merge.main(["--src-in", str(tmp_path / "a.s.zst"), str(tmp_path / "b.s.zst"),
                "--trg-in", str(tmp_path / "a.t.zst"), str(tmp_path / "b.t.zst"),
                "--src-out", str(tmp_path / "o.s.zst"), "--trg-out", str(tmp_path / "o.t.zst"),
                "--bucket-mb", "1"])
    pairs = list(zip(lines(tmp_path / "o.s.zst"), lines(tmp_path / "o.t.zst")))
    assert len(pairs) == 101 == len(set(pairs))
    assert ("s2", "other") in pairs and ("s1", "t1") in pairs


def test_merge_many_buckets_and_cap(tmp_path):
    items = [f"line {i % 500}" for i in range(2000)]
    unique = []
    stats = merge.merge([[f"{x}\n".encode() for x in items]], unique.extend, tmp_dir=str(tmp_path), n_buckets=7)
    assert sorted(unique) == sorted({f"{x}\n".encode() for x in items})
    assert stats == {"input": 2000, "duplicates": 1500, "excluded": 0, "sampled-out": 0, "output": 500}
    assert list(tmp_path.iterdir()) == []  # bucket files are removed
    textio.write_lines(tmp_path / "m.zst", items)
    merge.main(["--src-in", str(tmp_path / "m.zst"), "--src-out", str(tmp_path / "o.zst"), "--max-lines", "10"])
    assert len(set(lines(tmp_path / "o.zst"))) == 10


def test_bucket_count_grows_with_input(tmp_path):
    small = tmp_path / "s.txt"
    small.write_text("x\n" * 10)
    big = tmp_path / "b.txt"
    big.write_bytes(b"y\n" * (3 * 2**20))
    assert merge.bucket_count([str(small)], 1) == 1
    assert merge.bucket_count([str(big)], 1) == 6


def run_merge(items, tmp_path, **kwargs):
    out: list[bytes] = []
    kwargs.setdefault("n_buckets", 5)
    batches = [[f"{x}\n".encode() for x in items[i : i + 1000]] for i in range(0, len(items), 1000)]
    stats = merge.merge(batches, out.extend, tmp_dir=str(tmp_path), **kwargs)
    return [r.decode().rstrip("\n") for r in out], stats


def test_shuffle_is_a_seeded_permutation(tmp_path):
    items = [f"line {i}" for i in range(3000)]
    first, _ = run_merge(items, tmp_path, seed=1)
    again, _ = run_merge(items, tmp_path, seed=1)
    other, _ = run_merge(items, tmp_path, seed=2)
    assert sorted(first) == sorted(items) and first == again and other != first
    # Mixed, not just cut into bucket-sized runs: neighbours are rarely neighbours again.
    position = {x: i for i, x in enumerate(first)}
    adjacent = sum(abs(position[items[i]] - position[items[i + 1]]) == 1 for i in range(2999))
    assert adjacent < 30
    unshuffled, _ = run_merge(items, tmp_path, n_buckets=1, shuffle=False)
    assert unshuffled == items


def test_dedup_pairs_or_source_side(tmp_path):
    pairs = ["a\tx", "a\tx", "a\ty", "b\tz", "b\tz", "c\tw"]
    out, stats = run_merge(pairs, tmp_path, seed=3)
    assert sorted(out) == ["a\tx", "a\ty", "b\tz", "c\tw"] and stats["duplicates"] == 2
    out, stats = run_merge(pairs, tmp_path, seed=3, by_source=True)
    # One pair per source side: the first seen.
    assert sorted(out) == ["a\tx", "b\tz", "c\tw"] and stats["duplicates"] == 3


def test_mono_sample_is_uniform_and_exact(tmp_path):
    items = [f"{i}" for i in range(20000)] + [f"{i}" for i in range(0, 20000, 2)]  # 10k duplicates
    sample, stats = run_merge(items, tmp_path, max_lines=2000, seed=5, n_buckets=4)
    assert len(sample) == len(set(sample)) == 2000
    assert stats == {"input": 30000, "duplicates": 10000, "excluded": 0, "sampled-out": 18000, "output": 2000}
    # Uniform over the input, not its start: each tenth of the lines gets about a tenth.
    deciles = Counter(int(x) * 10 // 20000 for x in sample)
    assert all(150 < deciles[d] < 250 for d in range(10)), deciles
    assert run_merge(items, tmp_path, max_lines=2000, seed=5, n_buckets=4)[0] == sample
    assert run_merge(items, tmp_path, max_lines=2000, seed=6, n_buckets=4)[0] != sample
    # A cap above the unique count keeps everything.
    everything, stats = run_merge(items, tmp_path, max_lines=25000, n_buckets=4)
    assert len(everything) == 20000 and stats["sampled-out"] == 0


def test_mono_dedup_against_parallel_side(tmp_path):
    textio.write_lines(tmp_path / "mono.xx.zst", ["m1", "p1", "m2", "m1", "p2", "m3"])
    textio.write_lines(tmp_path / "parallel.xx.zst", ["p1", "p2", "p3"])
    merge.main(["--src-in", str(tmp_path / "mono.xx.zst"), "--src-out", str(tmp_path / "o.zst"),
                "--exclude", str(tmp_path / "parallel.xx.zst"), "--max-lines", "2", "--bucket-mb", "1"])
    out = lines(tmp_path / "o.zst")
    assert len(out) == 2 and set(out) < {"m1", "m2", "m3"}
    merge.main(["--src-in", str(tmp_path / "mono.xx.zst"), "--src-out", str(tmp_path / "o.zst"),
                "--exclude", str(tmp_path / "parallel.xx.zst")])
    assert sorted(lines(tmp_path / "o.zst")) == ["m1", "m2", "m3"]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(("merge-", ".tmp"))] == []


def test_merge_refuses_uneven_or_tabbed_pairs(tmp_path):
    textio.write_lines(tmp_path / "s.zst", ["a", "b"])
    textio.write_lines(tmp_path / "t.zst", ["x"])
    textio.write_lines(tmp_path / "tab.zst", ["x\ty", "z"])
    base = ["--src-out", str(tmp_path / "o.s.zst"), "--trg-out", str(tmp_path / "o.t.zst")]
    with pytest.raises(PipelineError, match="line counts differ"):
        merge.main(["--src-in", str(tmp_path / "s.zst"), "--trg-in", str(tmp_path / "t.zst"), *base])
    with pytest.raises(PipelineError, match="holds a tab"):
        merge.main(["--src-in", str(tmp_path / "s.zst"), "--trg-in", str(tmp_path / "tab.zst"), *base])
    assert not (tmp_path / "o.s.zst").exists() and not (tmp_path / "o.t.zst").exists()


def test_a_bucket_bigger_than_planned_is_split_before_loading(tmp_path, monkeypatch):
    items = [f"line {i % 4000}" for i in range(10000)]
    loaded = []
    real = merge.unique_bucket
    monkeypatch.setattr(merge, "unique_bucket", lambda path, *a: loaded.append(os.path.getsize(path)) or real(path, *a))
    # One bucket planned for ~100 kB of text, at most 1.5x that may be loaded at once.
    out, stats = run_merge(items, tmp_path, n_buckets=1, bucket_bytes=2000)
    assert sorted(out) == sorted(set(items)) and stats["duplicates"] == 6000
    assert len(loaded) > 20 and max(loaded) <= 3000, loaded
    assert run_merge(items, tmp_path, n_buckets=1, bucket_bytes=2000)[0] == out
