"""Unit tests of the data scripts: text I/O, toy corpus, cleaning, merging, chunks, filter."""

from __future__ import annotations

import json

import pytest

from mtdistill.distill import chunks
from mtdistill.data import clean
from mtdistill.distill import filter_scores
from mtdistill.data import merge
from mtdistill.common import textio
from mtdistill.data import toy_corpus


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


# --- textio's readers: exact text, zstd in a process or in-process, errors ---------------


@pytest.fixture(params=["zstd-cli", "in-process"])
def zstd_reader(request, monkeypatch):
    """.zst read through the zstd command line, then by python-zstandard."""
    if request.param == "in-process":
        monkeypatch.setattr(textio, "ZSTD_CLI", None)
    elif not textio.ZSTD_CLI:
        pytest.skip("the zstd command line is not installed")
    else:
        monkeypatch.setattr(textio, "ZSTD_CLI_MIN_BYTES", 0)  # small test files too
    return request.param


def _raw_corpus(path, data: bytes):
    """Write `data` to `path`, compressed as its suffix says (not through textio)."""
    import gzip

    import zstandard

    if path.suffix == ".zst":
        data = zstandard.ZstdCompressor().compress(data)
    elif path.suffix == ".gz":
        data = gzip.compress(data)
    path.write_bytes(data)
    return path


def _readers_alive() -> list[str]:
    """This process's zstd child processes (zombies included)."""
    import os
    import pathlib

    alive = []
    for stat in pathlib.Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue  # ended meanwhile
        comm, fields = text[text.index("(") + 1 : text.rindex(")")], text[text.rindex(")") + 2 :].split()
        if comm == "zstd" and int(fields[1]) == os.getpid():
            alive.append(f"zstd process {stat.parent.name} ({fields[0]})")
    return alive


@pytest.mark.parametrize("block_size", [1, 5, textio.BLOCK_SIZE])
@pytest.mark.parametrize("suffix", [".zst", ".gz", ".txt"])
def test_readers_keep_the_text_as_is(tmp_path, monkeypatch, zstd_reader, suffix, block_size):
    # Tiny blocks cut multi-byte characters and `\r\n` between blocks.
    monkeypatch.setattr(textio, "BLOCK_SIZE", block_size)
    text = "\ufeffbom\r\nα\u2028β\x85\n\n\rlast é without newline"
    path = _raw_corpus(tmp_path / f"c{suffix}", text.encode())
    assert lines(path) == ["\ufeffbom\r", "α\u2028β\x85", "", "\rlast é without newline"]
    assert textio.count_lines(path) == 4
    assert "".join(textio.read_text_blocks(path)) == text
    empty = _raw_corpus(tmp_path / f"e{suffix}", b"")
    assert lines(empty) == [] and textio.count_lines(empty) == 0
    assert list(textio.read_text_blocks(empty)) == []
    assert not _readers_alive()


def test_readers_read_every_frame_of_a_zst(tmp_path, zstd_reader):
    import zstandard

    frames = [zstandard.ZstdCompressor().compress(part) for part in (b"a\nb", b"c\nd\n", b"")]
    path = tmp_path / "m.zst"
    path.write_bytes(b"".join(frames))
    assert lines(path) == ["a", "bc", "d"] and textio.count_lines(path) == 3
    (tmp_path / "empty.zst").write_bytes(b"")
    assert lines(tmp_path / "empty.zst") == [] and textio.count_lines(tmp_path / "empty.zst") == 0


@pytest.mark.parametrize("data", [b"ok\n\xff\nnext\n", b"ok\n\xc3"])
def test_readers_reject_invalid_utf8(tmp_path, monkeypatch, zstd_reader, data):
    monkeypatch.setattr(textio, "BLOCK_SIZE", 2)
    path = _raw_corpus(tmp_path / "bad.zst", data)
    with pytest.raises(UnicodeDecodeError):
        lines(path)
    with pytest.raises(UnicodeDecodeError):
        textio.count_lines(path)
    with pytest.raises(UnicodeDecodeError):
        list(textio.read_text_blocks(path))
    assert not _readers_alive()


def test_small_zst_is_read_without_a_process(tmp_path):
    textio.write_lines(tmp_path / "s.zst", ["a", "b"])
    reader = textio.read_lines(tmp_path / "s.zst")
    assert next(reader) == "a" and not _readers_alive()
    assert list(reader) == ["b"]


def test_readers_raise_what_decompression_hits(tmp_path, zstd_reader):
    """Damage raises CorruptInput naming the file, whichever reader meets it: a .zst cut
    short included, which python-zstandard's own reader ends silently (a corpus imported
    short with exit 0)."""
    import bz2
    import gzip
    import lzma

    import zstandard

    data = "".join(f"line {i} {i * 7919 % 10007}\n" for i in range(20000)).encode()
    packed = zstandard.ZstdCompressor(write_checksum=True).compress(data)
    middle = len(packed) // 2
    broken = {
        "corrupt.zst": packed[:middle] + bytes(64) + packed[middle + 64 :],
        "not.zst": b"plain text, not zstd\n",
        "cut.zst": packed[:middle],
        "cut-at-block.zst": packed[:-4],  # only the checksum missing
        "cut-in-header.zst": packed[:3],
        "cut-after-a-frame.zst": packed + packed[:middle],
        "cut.gz": gzip.compress(data)[:-100],
        "flipped.gz": gzip.compress(data)[:-12] + b"\xff" + gzip.compress(data)[-11:],
        "cut.xz": lzma.compress(data)[:-100],
        "cut.bz2": bz2.compress(data)[:-100],
    }
    for name, damaged in broken.items():
        (tmp_path / name).write_bytes(damaged)
        for read in (lines, textio.count_lines, lambda p: list(textio.read_text_blocks(p)),
                     lambda p: p.is_file() and textio.open_read(p).read(), textio.scan):
            with pytest.raises(textio.CorruptInput, match=f"{name} is corrupt or truncated"):
                read(tmp_path / name)
    with pytest.raises(FileNotFoundError):
        lines(tmp_path / "missing.zst")
    assert not _readers_alive()


def test_readers_decompress_xz_and_bz2(tmp_path):
    import bz2
    import lzma

    for suffix, compress in ((".xz", lzma.compress), (".bz2", bz2.compress)):
        path = tmp_path / f"c{suffix}"
        path.write_bytes(compress("a\nb é\n".encode()))
        assert lines(path) == ["a", "b é"] and textio.count_lines(path) == 2


def test_readers_bound_decompressed_bytes_and_line_length(tmp_path, zstd_reader):
    """A decompression bomb stops at the bound, without being held in memory."""
    import gzip

    import zstandard

    one_line = b"x" * (8 << 20)
    for name, packed in (("bomb.gz", gzip.compress(one_line, 1)),
                         ("bomb.zst", zstandard.ZstdCompressor().compress(one_line))):
        path = tmp_path / name
        path.write_bytes(packed)
        with pytest.raises(textio.LimitExceeded, match=f"{name}: line 1 is longer than 100000"):
            list(textio.read_lines(path, max_line=100_000))
        with pytest.raises(textio.LimitExceeded, match=f"{name} decompresses to more than 1000000"):
            list(textio.read_lines(path, max_bytes=1_000_000))
        with pytest.raises(textio.LimitExceeded, match=f"{name} has a line longer than 100000"):
            textio.scan(path, max_line=100_000)
    ok = tmp_path / "ok.gz"
    ok.write_bytes(gzip.compress(b"short\n" + b"y" * 1000 + b"\nz"))
    assert len(list(textio.read_lines(ok, max_bytes=2000, max_line=1000))) == 3
    assert textio.scan(ok, max_bytes=2000, max_line=1000) == (1008, 3)
    with pytest.raises(textio.LimitExceeded, match="line 2 is longer than 999"):
        list(textio.read_lines(ok, max_line=999))
    with pytest.raises(textio.LimitExceeded):
        textio.scan(ok, max_line=999)
    assert not _readers_alive()


def test_readers_stopped_early_leave_nothing_running(tmp_path, monkeypatch, zstd_reader):
    import itertools

    import zstandard

    # Small blocks, more text than a pipe holds: zstd still runs when the consumer stops.
    monkeypatch.setattr(textio, "BLOCK_SIZE", 64)
    n = 200_000
    path = tmp_path / "c.zst"
    path.write_bytes(zstandard.ZstdCompressor().compress(b"".join(b"line %d\n" % i for i in range(n))))
    reader = textio.read_lines(path)
    assert not _readers_alive()  # nothing starts before the first line is asked for
    assert next(reader) == "line 0"
    assert len(_readers_alive()) == (zstd_reader == "zstd-cli")  # waiting for the consumer
    reader.close()
    assert not _readers_alive()
    assert list(reader) == []
    # Dropped unfinished (vocab.py's islice), or left by an exception in the consumer.
    assert list(itertools.islice(textio.read_lines(path), 3)) == ["line 0", "line 1", "line 2"]
    assert not _readers_alive()
    with pytest.raises(ZeroDivisionError):
        for line in textio.read_lines(path):
            if line == "line 100":
                raise ZeroDivisionError
    assert not _readers_alive()
    blocks = textio.read_text_blocks(path)
    assert next(blocks).startswith("line 0\n")
    blocks.close()
    assert not _readers_alive()
    # Two readers side by side (read_pairs, chunks.py), read to the end.
    monkeypatch.setattr(textio, "BLOCK_SIZE", 1 << 16)
    assert sum(1 for _ in textio.read_pairs(path, path)) == n
    assert not _readers_alive()


# --- cleaning filters (scripts/clean.py) ------------------------------------------------

import os  # noqa: E402
import sys  # noqa: E402
from collections import Counter  # noqa: E402

from mtdistill.data import clean_table
from mtdistill.data import neural_filter
from conftest import REPO, TINY, snakemake, write_config  # noqa: E402


def sides(src="en", trg="de", langid="off"):
    return clean.make_side(src, langid), clean.make_side(trg, langid)


def reason(src, trg, langs=("en", "de"), langid="off", **options):
    s, t = sides(*langs, langid)
    return clean.reject_pair(clean.normalize(src), clean.normalize(trg), s, t, clean.Options(**options))


def test_normalization_nfc_or_nfkc():
    assert clean.normalize("ﬁ² Ｆ e\u0301", "NFC") == "ﬁ² Ｆ \u00e9"
    assert clean.normalize("ﬁ² Ｆ e\u0301", "NFKC") == "fi2 F \u00e9"
    # Non-breaking and ideographic spaces, line separators: one plain space.
    assert clean.normalize("a\u00a0\u3000b\u2028c\r\n") == "a bc"


@pytest.mark.parametrize(
    "src,trg,options,expected",
    [
        (" ", "Haus", {}, "empty"),
        ("house", "Haus", {"min_words": 2}, "too-short"),
        ("a " * 20, "b " * 20, {"max_words": 19}, "too-long"),
        ("long" * 30, "lang" * 30, {"max_chars": 100}, "too-long"),
        ("long" * 30, "lang" * 30, {"max_chars": 0}, None),
        ("one two three four", "eins", {}, "length-ratio"),
        ("one two three", "eins", {}, None),  # exactly 3x
        ("Tor", "Tor", {}, "identical"),
        ("Tor", "Tor", {"drop_identical": False}, None),
    ],
)
def test_length_and_identity_filters(src, trg, options, expected):
    assert reason(src, trg, **options) == expected


@pytest.mark.parametrize(
    "src,trg,expected",
    [
        ("It costs 1,000.50 euros in 2024", "Es kostet 1.000,50 Euro im Jahr 2024", None),
        ("Page 7 of 10", "Seite 07 von 10", None),  # leading zeros do not matter
        ("Chapter 3", "الفصل ٣", None),  # Arabic-Indic digits are the same number
        ("It costs 1,000 euros", "Es kostet 2.000 Euro", "numbers"),
        ("In 1999 we met", "Wir trafen uns", "numbers"),
        ("No numbers here", "Keine Zahlen hier", None),
    ],
)
def test_numbers_filter(src, trg, expected):
    langs = ("en", "ar") if "٣" in trg else ("en", "de")
    assert reason(src, trg, langs, numbers=True) == expected
    assert reason(src, trg, langs, numbers=False) is None


@pytest.mark.parametrize(
    "lang,text,share",
    [
        ("de", "Die Straße ist schön", 1.0),
        ("de", "Это не немецкий", 0.0),
        ("ru", "Это русский текст", 1.0),
        ("ru", "This is English", 0.0),
        ("ru", "Я люблю Linux", 6 / 11),  # 6 Cyrillic letters of 11 characters
        ("sr", "Ово је ћирилица и ovo je latinica", 1.0),  # both scripts are Serbian
        ("ja", "東京はとても大きいです", 1.0),
        ("ko", "서울은 大韓民國의 수도", 1.0),
        ("hi", "यह हिंदी है", 1.0),
        ("de", "12345 678", 0.0),  # no letters
        ("xx", "kalo mizu", 1.0),  # not in the table: letters of any script
        ("xx", "!!! 123", 0.0),
    ],
)
def test_script_share_by_language(lang, text, share):
    assert clean.make_side(lang, "off").script_share(text) == pytest.approx(share)


def test_script_filter_threshold_and_overrides():
    assert reason("This is English", "Это не немецкий", min_script_share=0.5) == "script"
    assert reason("This is English", "Das ist Deutsch", min_script_share=0.5) is None
    assert reason("This is English", "Das ist Deutsch", min_script_share=0) is None
    assert reason("abc def", "Это текст", ("en", "de"), min_script_share=0.0) is None
    table = clean.parse_scripts(["sr=Latin"])
    assert clean.make_side("sr", "off", table).script_share("Ово је ћирилица") == 0.0
    with pytest.raises(SystemExit, match="Klingon"):
        clean.parse_scripts(["tlh=Klingon"])


def test_schema_lists_the_scripts_clean_knows():
    import yaml

    schema = yaml.safe_load((REPO / "config/schema/config.schema.yml").read_text())
    scripts = schema["properties"]["cleaning"]["properties"]["scripts"]
    assert scripts["additionalProperties"]["items"]["enum"] == list(clean.SCRIPT_RANGES)


def test_unspaced_languages_count_words_by_characters():
    zh = "这是一个很好的例子，我们都很喜欢它"  # 17 characters: ~11 words
    assert clean.make_side("zh", "off").words(zh) == 12
    assert reason("This is a very good example and we all like it", zh, ("en", "zh")) is None
    assert reason("This is a very good example and we all like it", "好", ("en", "zh")) == "length-ratio"


def test_langid_languages_match_the_model():
    pytest.importorskip("py3langid")
    assert set(clean.identifier().labels) == clean.LANGID_LANGUAGES


def test_langid_filter_drops_other_languages():
    pytest.importorskip("py3langid")
    en = "The committee will meet again next week to discuss the budget."
    de = "Der Ausschuss wird sich nächste Woche wieder treffen, um den Haushalt zu beraten."
    fr = "Le comité se réunira à nouveau la semaine prochaine pour discuter du budget."
    assert reason(en, de, langid="auto", langid_threshold=0.5) is None
    assert reason(en, fr, langid="auto", langid_threshold=0.5) == "langid"
    assert reason(fr, de, langid="on", langid_threshold=0.5) == "langid"
    assert reason(en, fr, langid="off") is None
    # Unsure identifications stay: no language reaches probability 1.
    assert reason(en, fr, langid="auto", langid_threshold=1.0) is None
    # A language py3langid does not know: off under auto, an error when required.
    assert clean.make_side("xx", "auto").langid is None
    assert clean.make_side("nb", "auto").langid == "no"
    with pytest.raises(SystemExit, match="does not know the language 'xx'"):
        clean.make_side("xx", "on")


def test_mono_filters():
    side = clean.make_side("de", "off")
    opts = clean.Options(min_words=2, max_words=5, min_script_share=0.5)
    assert clean.reject_mono("", side, opts) == "empty"
    assert clean.reject_mono("Haus", side, opts) == "too-short"
    assert clean.reject_mono("a b c d e f", side, opts) == "too-long"
    assert clean.reject_mono("Это не немецкий", side, opts) == "script"
    assert clean.reject_mono("Das ist gut", side, opts) is None


def dirty_corpus(tmp_path, n=1000):
    """n pairs, about half of them failing some filter, in a deterministic mix."""
    src, trg = [], []
    for i in range(n):
        kind = i % 7
        src.append([f"sentence number {i} here", "", "same text", "a b c d e f g h", f"page {i}",
                    f"Это русский {i}", f"line\u200b {i}\tok"][kind])
        trg.append([f"Satz Nummer {i} hier", "leer", "same text", "kurz", f"Seite {i + 1}",
                    f"Text {i}", f"Zeile {i} gut"][kind])
    textio.write_lines(tmp_path / "d.en.zst", src)
    textio.write_lines(tmp_path / "d.de.zst", trg)
    return tmp_path / "d.en.zst", tmp_path / "d.de.zst"


def test_chunked_parallel_cleaning_equals_serial(tmp_path):
    src, trg = dirty_corpus(tmp_path)
    opts = clean.Options(numbers=True, min_script_share=0.5)
    s, t = sides()
    results = {}
    for workers, block in ((1, 20000), (2, 37), (3, 10)):
        out = tmp_path / f"w{workers}"
        stats = clean.clean_parallel(src, trg, out / "o.en.zst", out / "o.de.zst", src_side=s, trg_side=t,
                                     opts=opts, workers=workers, block_lines=block)
        results[workers] = (stats, lines(out / "o.en.zst"), lines(out / "o.de.zst"))
    assert results[1] == results[2] == results[3]
    stats, kept_src, _ = results[1]
    assert stats["input"] == 1000 and stats["kept"] == len(kept_src) == 143 + 142
    assert {k for k in stats if stats[k]} == {"input", "kept", "empty", "identical", "length-ratio",
                                              "numbers", "script"}
    assert "line 6 ok" in kept_src  # zero-width space and tab normalized away


def test_chunked_mono_cleaning_equals_serial(tmp_path):
    textio.write_lines(tmp_path / "m.de.zst", [["Ein Satz", "", "Это", "12"][i % 4] for i in range(500)])
    outputs = []
    for workers in (1, 2):
        stats = clean.clean_mono(tmp_path / "m.de.zst", tmp_path / f"o{workers}.zst", side=clean.make_side("de", "off"),
                                 opts=clean.Options(min_script_share=0.5), workers=workers, block_lines=30)
        outputs.append((stats, lines(tmp_path / f"o{workers}.zst")))
    assert outputs[0] == outputs[1]
    assert outputs[0][0] == {"input": 500, "kept": 125, "empty": 125, "script": 250}


def test_clean_cli_options_and_ordered_stats(tmp_path):
    src, trg = dirty_corpus(tmp_path, 70)
    clean.main(["--src-in", str(src), "--trg-in", str(trg), "--src-out", str(tmp_path / "o.en.zst"),
                "--trg-out", str(tmp_path / "o.de.zst"), "--stats", str(tmp_path / "s.json"),
                "--src-lang", "en", "--trg-lang", "de", "--numbers", "--min-script-share", "0.5",
                "--langid", "off", "--workers", "2", "--block-lines", "16"])
    stats = json.loads((tmp_path / "s.json").read_text())
    # Written in the order the filters apply (the report lists them so).
    assert list(stats) == ["input", "empty", "length-ratio", "identical", "numbers", "script", "kept"]
    assert stats["kept"] == textio.count_lines(tmp_path / "o.de.zst") == 20


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


# --- neural filter hook (scripts/neural_filter.py) --------------------------------------

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
        with pytest.raises(SystemExit, match=message):
            neural_filter.main(args + ["--command", command, "--threshold", "0.5"])
        assert not (tmp_path / "o.s.zst").exists() and not (tmp_path / "o.t.zst").exists()


def test_bicleaner_enabled_without_the_tool_stops_before_any_job(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    cfg = write_config(tmp_path / "c.yml", "cleaning: {bicleaner: {enabled: true, model: /models/en-de, "
                       "command: no-such-bicleaner-classify -}}\n")
    result = snakemake(work, "-n", configfiles=[TINY, cfg], check=False)
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
    result = snakemake(work, "-n", "vocab", configfiles=[TINY, cfg], env=env)
    assert "bicleaner_corpus" in result.stdout and "clean-rules/toy_train.xx.zst" in result.stdout


def test_langid_required_for_an_unknown_language_stops_before_any_job(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    cfg = write_config(tmp_path / "c.yml", "cleaning: {langid: true}\n")
    result = snakemake(work, "-n", configfiles=[TINY, cfg], check=False)
    assert result.returncode != 0 and "experiment.src 'xx'" in result.stdout + result.stderr


# --- merge: dedup, shuffle, sampling, mono against parallel (scripts/merge.py) -----------


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
    with pytest.raises(SystemExit, match="line counts differ"):
        merge.main(["--src-in", str(tmp_path / "s.zst"), "--trg-in", str(tmp_path / "t.zst"), *base])
    with pytest.raises(SystemExit, match="holds a tab"):
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


@pytest.mark.parametrize("workers", [1, 2])
def test_cleaning_uneven_sides_fails_and_leaves_nothing(tmp_path, workers):
    textio.write_lines(tmp_path / "s.zst", [f"line {i}" for i in range(100)])
    textio.write_lines(tmp_path / "t.zst", [f"Zeile {i}" for i in range(99)])
    with pytest.raises(SystemExit, match="line counts differ"):
        clean.clean_parallel(tmp_path / "s.zst", tmp_path / "t.zst", tmp_path / "o.s.zst", tmp_path / "o.t.zst",
                             workers=workers, block_lines=30)
    assert not (tmp_path / "o.s.zst").exists() and not (tmp_path / "o.t.zst").exists()


def test_atomic_outputs_get_ordinary_permissions(tmp_path):
    """Temporaries are private while written; the renamed output follows the umask."""
    import stat

    from mtdistill.common import textio

    umask = os.umask(0o022)
    os.umask(umask)
    out = tmp_path / "c.zst"
    textio.write_lines(out, ["a"])
    assert stat.S_IMODE(out.stat().st_mode) == 0o666 & ~umask
    with textio.atomic_dir(tmp_path / "d") as tmp:
        open(os.path.join(tmp, "x"), "w").close()
    assert stat.S_IMODE((tmp_path / "d").stat().st_mode) == 0o777 & ~umask
