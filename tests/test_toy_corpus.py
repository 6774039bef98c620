"""mtdistill.data.toy_corpus: the generated toy language pair."""

from __future__ import annotations

from mtdistill.data import toy_corpus
from conftest import lines


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
