#!/usr/bin/env python3
"""Word alignments for Marian's guided alignment, in SentencePiece token positions.

eflomal aligns whitespace words in both directions; the links are symmetrized with
grow-diag-final-and and then mapped onto the SentencePiece pieces Marian sees: every piece
of a source word links to every piece of the target words it is aligned to.
Memory: eflomal holds the corpus it aligns (as integer ids).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import tempfile
from typing import Iterable

from mtdistill.common import errors
from mtdistill.common.textio import atomic_write, read_lines, read_pairs, scratch_dir

log = logging.getLogger("alignments")

Links = set[tuple[int, int]]
NEIGHBOURS = [(-1, 0), (0, -1), (1, 0), (0, 1), (-1, -1), (-1, 1), (1, -1), (1, 1)]


def parse_links(line: str) -> Links:
    links = set()
    for pair in line.split():
        i, j = map(int, pair.split("-"))
        links.add((i, j))
    return links


def grow_diag_final_and(fwd: Links, rev: Links) -> Links:
    """The usual symmetrization of two directional alignments (Koehn et al.)."""
    union = fwd | rev
    result = set(fwd & rev)
    aligned_s = {i for i, _ in result}
    aligned_t = {j for _, j in result}
    added = True
    while added:
        added = False
        for i, j in sorted(result):
            for di, dj in NEIGHBOURS:
                cand = (i + di, j + dj)
                if cand in union and cand not in result and (cand[0] not in aligned_s or cand[1] not in aligned_t):
                    result.add(cand)
                    aligned_s.add(cand[0])
                    aligned_t.add(cand[1])
                    added = True
    for directional in (fwd, rev):  # final-and: only links whose both words are unaligned
        for i, j in sorted(directional):
            if i not in aligned_s and j not in aligned_t:
                result.add((i, j))
                aligned_s.add(i)
                aligned_t.add(j)
    return result


def word_of_piece(pieces: Iterable[str]) -> list[int]:
    """For each SentencePiece piece, the index of the whitespace word it belongs to."""
    words, index = [], -1
    for piece in pieces:
        if piece.startswith("\u2581") or index < 0:
            index += 1
        words.append(index)
    return words


def to_pieces(links: Links, src_words: list[int], trg_words: list[int]) -> list[tuple[int, int]]:
    by_src: dict[int, list[int]] = {}
    for t_pos, t_word in enumerate(trg_words):
        by_src.setdefault(t_word, []).append(t_pos)
    src_pieces: dict[int, list[int]] = {}
    for s_pos, s_word in enumerate(src_words):
        src_pieces.setdefault(s_word, []).append(s_pos)
    out = {(s, t) for i, j in links for s in src_pieces.get(i, []) for t in by_src.get(j, [])}
    return sorted(out)


def align(src_path: str, trg_path: str, src_spm: str, trg_spm: str, output: str, tmp_dir: str | None = None,
          tok_outputs: tuple[str, str] | None = None) -> int:
    """Align a corpus; with `tok_outputs`, also write the piece-tokenized text the
    alignments index (the tok-src/tok-trg/alignments trio continuation can reuse)."""
    import eflomal
    import sentencepiece

    # Plain copies and eflomal's links: corpus-sized, so a killed run's are removed by the
    # next (scratch_dir); an explicit --tmp-dir is used as given.
    if tmp_dir is None:
        scratch = scratch_dir(output)
    else:
        scratch = tempfile.TemporaryDirectory(prefix="align-", dir=tmp_dir)
    with scratch as tmp:
        src_txt, trg_txt = os.path.join(tmp, "src.txt"), os.path.join(tmp, "trg.txt")
        fwd_path, rev_path = os.path.join(tmp, "fwd"), os.path.join(tmp, "rev")
        n = 0
        with open(src_txt, "w", encoding="utf-8") as s, open(trg_txt, "w", encoding="utf-8") as t:
            for src, trg in read_pairs(src_path, trg_path):
                s.write(src + "\n")
                t.write(trg + "\n")
                n += 1
        if n:
            with open(src_txt, encoding="utf-8") as s, open(trg_txt, encoding="utf-8") as t:
                eflomal.Aligner().align(s, t, links_filename_fwd=fwd_path, links_filename_rev=rev_path, quiet=True)
        sp_src = sentencepiece.SentencePieceProcessor(model_file=src_spm)
        sp_trg = sentencepiece.SentencePieceProcessor(model_file=trg_spm)
        with contextlib.ExitStack() as stack:
            out = stack.enter_context(atomic_write(output))
            toks = [stack.enter_context(atomic_write(p)) for p in tok_outputs or ()]
            if not n:
                return 0
            rows = zip(read_lines(src_txt), read_lines(trg_txt), read_lines(fwd_path), read_lines(rev_path))
            for src, trg, fwd, rev in rows:
                links = grow_diag_final_and(parse_links(fwd), parse_links(rev))
                src_pieces = sp_src.encode(src, out_type=str)
                trg_pieces = sp_trg.encode(trg, out_type=str)
                pieces = to_pieces(links, word_of_piece(src_pieces), word_of_piece(trg_pieces))
                out.write(" ".join(f"{i}-{j}" for i, j in pieces) + "\n")
                if toks:
                    toks[0].write(" ".join(src_pieces) + "\n")
                    toks[1].write(" ".join(trg_pieces) + "\n")
    return n


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--src", required=True)
    p.add_argument("--trg", required=True)
    p.add_argument("--src-vocab", required=True)
    p.add_argument("--trg-vocab", required=True)
    p.add_argument("--output", required=True)
    p.add_argument("--tok-outputs", nargs=2, help="also write the piece-tokenized sides here")
    p.add_argument("--tmp-dir")
    args = p.parse_args(argv)
    n = align(args.src, args.trg, args.src_vocab, args.trg_vocab, args.output, args.tmp_dir, args.tok_outputs)
    log.info("%d sentence pairs aligned", n)


if __name__ == "__main__":
    errors.run_main(main)
