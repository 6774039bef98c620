"""Unit tests of the data scripts: text I/O, toy corpus, cleaning, merging, chunks, filter."""

from __future__ import annotations

import json

import pytest

import chunks
import clean
import filter_scores
import merge
import textio
import toy_corpus


def lines(path):
    return list(textio.read_lines(path))


def test_roundtrip_zst_gz_plain(tmp_path):
    for suffix in (".zst", ".gz", ".txt"):
        path = tmp_path / f"a{suffix}"
        assert textio.write_lines(path, ["α", "", "b c"]) == 3
        assert lines(path) == ["α", "", "b c"]
        assert textio.count_lines(path) == 3


def test_atomic_write_leaves_nothing_on_error(tmp_path):
    path = tmp_path / "out.zst"
    with pytest.raises(RuntimeError):
        with textio.atomic_write(path) as out:
            out.write("partial\n")
            raise RuntimeError("boom")
    assert not path.exists()
    assert list(tmp_path.iterdir()) == []


def test_read_pairs_rejects_different_line_counts(tmp_path):
    textio.write_lines(tmp_path / "a.zst", ["1", "2"])
    textio.write_lines(tmp_path / "b.zst", ["1"])
    with pytest.raises(SystemExit, match="line counts differ"):
        list(textio.read_pairs(tmp_path / "a.zst", tmp_path / "b.zst"))


def test_toy_corpus_is_deterministic_and_reordered(tmp_path):
    sizes = {"train": 50, "dev": 5, "test": 5, "mono-src": 7, "mono-trg": 9}
    toy_corpus.generate(tmp_path / "a", "xx", "yy", sizes, seed=3)
    toy_corpus.generate(tmp_path / "b", "xx", "yy", sizes, seed=3)
    for name in ("train.xx.zst", "train.yy.zst", "mono-src.xx.zst", "mono-trg.yy.zst"):
        assert lines(tmp_path / "a" / name) == lines(tmp_path / "b" / name)
    assert len(lines(tmp_path / "a" / "mono-trg.yy.zst")) == 9
    assert not (tmp_path / "a" / "mono-src.yy.zst").exists()
    src, trg = lines(tmp_path / "a" / "train.xx.zst"), lines(tmp_path / "a" / "train.yy.zst")
    # Same number of words (one-to-one lexicon) but a different order: not a copy task.
    assert all(len(s.split()) == len(t.split()) for s, t in zip(src, trg))
    assert src != trg
    # The vocabularies of the two languages do not overlap (except punctuation).
    src_words = {w for s in src for w in s.split()} - {"."}
    trg_words = {w for t in trg for w in t.split()} - {"."}
    assert not src_words & trg_words


def test_toy_lexicon_maps_each_word_once():
    lex = toy_corpus.make_lexicon(1)
    pairs = [p for cat in lex.values() for p in cat]
    assert len({s for s, _ in pairs}) == len(pairs) == len({t for _, t in pairs})


@pytest.mark.parametrize(
    "src,trg,reason",
    [
        ("", "a", "empty"),
        ("a b c d", "a", "length-ratio"),
        ("same words", "same words", "identical"),
        (" ".join(["w"] * 200), " ".join(["v"] * 200), "too-long"),
        ("a b", "c d", None),
    ],
)
def test_reject_reason(src, trg, reason):
    assert clean.reject_reason(src, trg, 1, 150, 3.0) == reason


def test_normalize_strips_non_printing_and_composes():
    assert clean.normalize("a\u200b b\x07\tc  ") == "a b c"
    assert clean.normalize("e\u0301") == "\u00e9"


def test_clean_parallel_counts(tmp_path):
    textio.write_lines(tmp_path / "s.zst", ["hello world", "", "x y", "same"])
    textio.write_lines(tmp_path / "t.zst", ["hallo welt", "b", "x y", "same"])
    stats = clean.clean_parallel(
        tmp_path / "s.zst", tmp_path / "t.zst", tmp_path / "o.s.zst", tmp_path / "o.t.zst", 1, 10, 3
    )
    assert stats == {"input": 4, "kept": 1, "empty": 1, "identical": 2}
    assert lines(tmp_path / "o.s.zst") == ["hello world"]


def test_clean_cli_writes_stats(tmp_path):
    textio.write_lines(tmp_path / "m.zst", ["one", "", "two three"])
    clean.main(["--src-in", str(tmp_path / "m.zst"), "--src-out", str(tmp_path / "o.zst"),
                "--stats", str(tmp_path / "s.json"), "--max-words", "1"])
    assert json.loads((tmp_path / "s.json").read_text()) == {"input": 3, "kept": 1, "empty": 1, "too-long": 1}


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
    unique = list(merge.dedup(iter(items), 7, str(tmp_path)))
    assert sorted(unique) == sorted(set(items))
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
    with pytest.raises(SystemExit, match="line counts differ"):
        chunks.split([str(tmp_path / "a.zst"), str(tmp_path / "b.zst")], ["in", "ref"], str(tmp_path / "c"), 2)


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
