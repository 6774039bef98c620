#!/usr/bin/env python3
"""Generate the embedded toy language pair: deterministic, learnable, with reordering.

The source language is SVO with adjectives before nouns; the target language is SOV with
adjectives after nouns (in reverse order), a sentence-initial adverb and a plural suffix.
Every source word maps to exactly one target word, so a model can learn the mapping, but
word order differs, so a copy of the source scores poorly.

Writes `{out_dir}/{split}.{lang}.zst` for the parallel splits (train, dev, test) and the
monolingual splits (mono-src holds source text only, mono-trg target text only).
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

from mtdistill.common import errors
from mtdistill.common.textio import write_lines

CATEGORIES = {"det": 4, "adj": 30, "noun": 80, "verb": 40, "adv": 12}
SRC_SYLLABLES = ["ka", "lo", "mi", "ne", "pu", "ra", "si", "to", "ve", "zu", "ba", "de"]
TRG_SYLLABLES = ["ar", "ek", "ul", "om", "is", "ty", "gh", "yn", "ox", "aj", "ew", "iq"]
PLURAL_SRC = "s"  # a suffix on the source noun
PLURAL_TRG = "ien"  # the matching target suffix
SPLIT_SEEDS = {"train": 1, "dev": 2, "test": 3, "mono-src": 4, "mono-trg": 5}


def _words(rng: random.Random, syllables: list[str], count: int, taken: set[str]) -> list[str]:
    words = []
    while len(words) < count:
        word = "".join(rng.choice(syllables) for _ in range(rng.randint(2, 3)))
        if word not in taken:
            taken.add(word)
            words.append(word)
    return words


def make_lexicon(seed: int) -> dict[str, list[tuple[str, str]]]:
    """Return, per category, (source word, target word) pairs."""
    rng = random.Random(seed)
    src_taken: set[str] = set()
    trg_taken: set[str] = set()
    return {
        cat: list(
            zip(
                _words(rng, SRC_SYLLABLES, n, src_taken),
                _words(rng, TRG_SYLLABLES, n, trg_taken),
            )
        )
        for cat, n in CATEGORIES.items()
    }


def _noun_phrase(rng: random.Random, lex) -> tuple[list[str], list[str]]:
    det_s, det_t = rng.choice(lex["det"])
    adjs = [rng.choice(lex["adj"]) for _ in range(rng.choice([0, 0, 1, 1, 2]))]
    noun_s, noun_t = rng.choice(lex["noun"])
    if rng.random() < 0.3:
        noun_s, noun_t = noun_s + PLURAL_SRC, noun_t + PLURAL_TRG
    src = [det_s] + [a for a, _ in adjs] + [noun_s]
    trg = [det_t, noun_t] + [t for _, t in reversed(adjs)]
    return src, trg


def sentence_pair(rng: random.Random, lex) -> tuple[str, str]:
    """One clause or two joined ones; returns (source, target)."""
    src_all: list[str] = []
    trg_all: list[str] = []
    for clause in range(rng.choice([1, 1, 2])):
        subj_s, subj_t = _noun_phrase(rng, lex)
        obj_s, obj_t = _noun_phrase(rng, lex)
        verb_s, verb_t = rng.choice(lex["verb"])
        adv = rng.choice(lex["adv"]) if rng.random() < 0.4 else None
        src = subj_s + [verb_s] + obj_s + ([adv[0]] if adv else [])
        trg = ([adv[1]] if adv else []) + subj_t + obj_t + [verb_t]
        if clause:
            src_all.append("and")
            trg_all.append("u")
        src_all += src
        trg_all += trg
    return " ".join(src_all) + " .", " ".join(trg_all) + " ."


def generate(out_dir: str, src: str, trg: str, sizes: dict[str, int], seed: int) -> None:
    lex = make_lexicon(seed)
    out = Path(out_dir)
    for split, size in sizes.items():
        rng = random.Random(seed * 1000 + SPLIT_SEEDS[split])
        pairs = [sentence_pair(rng, lex) for _ in range(size)]
        if split == "mono-src":
            write_lines(out / f"{split}.{src}.zst", (s for s, _ in pairs))
        elif split == "mono-trg":
            write_lines(out / f"{split}.{trg}.zst", (t for _, t in pairs))
        else:
            write_lines(out / f"{split}.{src}.zst", (s for s, _ in pairs))
            write_lines(out / f"{split}.{trg}.zst", (t for _, t in pairs))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", required=True)
    parser.add_argument("--src", required=True)
    parser.add_argument("--trg", required=True)
    parser.add_argument("--seed", type=int, default=1)
    for split in SPLIT_SEEDS:
        parser.add_argument(f"--{split}", type=int, required=True, help=f"lines of {split}")
    args = parser.parse_args(argv)
    sizes = {split: getattr(args, split.replace("-", "_")) for split in SPLIT_SEEDS}
    generate(args.out_dir, args.src, args.trg, sizes, args.seed)


if __name__ == "__main__":
    errors.run_main(main)
