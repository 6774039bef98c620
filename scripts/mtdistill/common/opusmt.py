"""Pre- and post-processing of foreign Marian models (continuation type `opusmt`).

An OPUS-MT release decodes pieces, not text: its source.spm splits the source text into
SentencePiece pieces, a target-language label (`>>fin<<`) goes first on every line of a
multilingual model, and Marian maps the pieces to ids with the release's YAML vocab
(piece: id) on both sides; the output pieces are joined back into text (the release's
postprocess.sh). translate.py and score.py use these helpers, one line at a time, so a
chunk never sits in memory whole.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator

from mtdistill.common.textio import read_lines

# SentencePiece's word-boundary mark, the space of the joined text.
WORD_MARK = "\u2581"


def encoder(spm_path: str | os.PathLike, target_token: str | None = None):
    """A function turning one line of text into the space-separated pieces Marian reads."""
    import sentencepiece

    processor = sentencepiece.SentencePieceProcessor(model_file=str(spm_path))
    prefix = [target_token] if target_token else []

    def encode(line: str) -> str:
        return " ".join(prefix + processor.encode(line, out_type=str))

    return encode


def encode_file(path: str | os.PathLike, dest: str | os.PathLike, spm_path: str | os.PathLike,
                target_token: str | None = None) -> str:
    """Write the pieces of every line of `path` (plain or .zst) to `dest`; return dest."""
    encode = encoder(spm_path, target_token)
    with open(dest, "w", encoding="utf-8") as out:
        for line in read_lines(path):
            out.write(encode(line) + "\n")
    return str(dest)


def join_pieces(line: str) -> str:
    """Marian's output pieces as text: what OPUS-MT's postprocess.sh does."""
    return "".join(line.split()).replace(WORD_MARK, " ").strip()


def join_all(lines: Iterable[str]) -> Iterator[str]:
    return (join_pieces(line) for line in lines)


def add_model_arguments(parser) -> None:
    """The vocab arguments of translate.py and score.py: --vocabs (type default) or a
    foreign model's files."""
    parser.add_argument("--vocabs", nargs=2, help="source and target vocab (type default)")
    parser.add_argument("--model-type", choices=["default", "opusmt"], default="default")
    parser.add_argument("--spm-src", help="opusmt: the model's source.spm")
    parser.add_argument("--spm-trg", help="opusmt: the model's target.spm")
    parser.add_argument("--vocab-yml", help="opusmt: the model's Marian YAML vocab")
    parser.add_argument("--target-token",
                        help="opusmt: a label like >>fin<< put first on each line")


def check_model_arguments(parser, args, needs=("spm_src", "vocab_yml")) -> None:
    """--vocabs for a model of the experiment's vocab; the release's files for opusmt."""
    if args.model_type == "opusmt":
        missing = ["--" + name.replace("_", "-") for name in needs if not getattr(args, name)]
        if missing:
            parser.error(f"--model-type opusmt needs {' and '.join(missing)}")
    elif not args.vocabs:
        parser.error("--vocabs is required (or --model-type opusmt with the model's files)")
