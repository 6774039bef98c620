#!/usr/bin/env python3
"""Train the SentencePiece vocabulary (joint, or one per language) on a corpus sample.

The corpus is already deduplicated and hash-shuffled by merge.py, so its first lines are a
fair sample; at most --sample-size lines per side are read. The size is an upper bound
(hard_vocab_limit off): small corpora get a smaller vocab instead of an abort.
"""

from __future__ import annotations

import argparse
import itertools
import os
import shutil

from mtdistill.common import errors
from mtdistill.common.textio import atomic_path, read_lines, scratch_dir


def train(corpora: list[str], output: str, vocab_size: int, sample_size: int, threads: int, coverage: float) -> None:
    import sentencepiece

    out_dir = os.path.dirname(os.path.abspath(output))
    os.makedirs(out_dir, exist_ok=True)
    with scratch_dir(output) as tmp:  # the sample: a killed run's goes with the next run
        sample = os.path.join(tmp, "sample.txt")
        with open(sample, "w", encoding="utf-8") as handle:
            for path in corpora:
                for line in itertools.islice(read_lines(path), sample_size):
                    handle.write(line + "\n")
        prefix = os.path.join(tmp, "vocab")
        sentencepiece.SentencePieceTrainer.train(
            input=sample,
            model_prefix=prefix,
            vocab_size=vocab_size,
            hard_vocab_limit=False,
            character_coverage=coverage,
            input_sentence_size=sample_size * len(corpora),
            shuffle_input_sentence=True,
            num_threads=threads,
            minloglevel=1,
        )
        with atomic_path(output) as dest:
            shutil.copyfile(prefix + ".model", dest)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--corpora", nargs="+", required=True, help="text the vocab is trained on")
    p.add_argument("--output", required=True)
    p.add_argument("--vocab-size", type=int, required=True)
    p.add_argument("--sample-size", type=int, default=1_000_000)
    p.add_argument("--character-coverage", type=float, default=1.0)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    train(args.corpora, args.output, args.vocab_size, args.sample_size, args.threads, args.character_coverage)


if __name__ == "__main__":
    errors.run_main(main)
