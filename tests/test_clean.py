"""mtdistill.data.clean: normalization, the cleaning filters, chunked cleaning, its CLI."""

from __future__ import annotations

import json

import pytest

from mtdistill.common.errors import PipelineError
from mtdistill.common import textio
from mtdistill.data import clean
from conftest import DEFAULT, REPO, TINY, lines, snakemake, write_config


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
def test_reject_pair_length_and_identity(src, trg, reason):
    side = clean.Side("und")
    opts = clean.Options(min_words=1, max_words=150, max_ratio=3.0)
    assert clean.reject_pair(src, trg, side, side, opts) == reason


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
    with pytest.raises(PipelineError, match="Klingon"):
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
    with pytest.raises(PipelineError, match="does not know the language 'xx'"):
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


def test_langid_required_for_an_unknown_language_stops_before_any_job(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    cfg = write_config(tmp_path / "c.yml", "cleaning: {langid: true}\n")
    result = snakemake(work, "-n", configfiles=[DEFAULT, TINY, cfg], check=False)
    assert result.returncode != 0 and "experiment.src 'xx'" in result.stdout + result.stderr


@pytest.mark.parametrize("workers", [1, 2])
def test_cleaning_uneven_sides_fails_and_leaves_nothing(tmp_path, workers):
    textio.write_lines(tmp_path / "s.zst", [f"line {i}" for i in range(100)])
    textio.write_lines(tmp_path / "t.zst", [f"Zeile {i}" for i in range(99)])
    with pytest.raises(PipelineError, match="line counts differ"):
        clean.clean_parallel(tmp_path / "s.zst", tmp_path / "t.zst", tmp_path / "o.s.zst", tmp_path / "o.t.zst",
                             workers=workers, block_lines=30)
    assert not (tmp_path / "o.s.zst").exists() and not (tmp_path / "o.t.zst").exists()
