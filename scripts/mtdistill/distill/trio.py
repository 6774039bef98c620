#!/usr/bin/env python3
"""Check a reused corpus's trio (tok-src, tok-trg, alignments) and give its alignments in
the SentencePiece piece positions Marian's guided alignment indexes.

A trio comes in one of these tokenizations, detected on a sample of lines and then
verified on every line against the corpus it was made from:

  icu     upstream (mozilla/translations since Dec 2024, pipeline/alignments/align.py
          --tokenization=icu --output_tokenized: corpus.tok-icu.{lang}.zst, corpus.aln.zst):
          ICU word tokens with every space kept as a `▁` token, so the tokens joined with
          ▁ read as a space rebuild the line; eflomal links between token positions.
  pieces  the pieces of the run's vocab, as this workflow writes its own trio
          (mtdistill.distill.alignments), and as the older Snakemake-era pipeline did
          (fast_align links, gzip: corpus.aln.gz): each token line is the vocab's encoding
          of the corpus line.

icu links are remapped to pieces by character spans, as OpusTrainer's Retokenize does at
training time with spm_vocab: each piece links to every token whose characters it
overlaps; `▁` (whitespace) tokens cover no character, so their links are dropped; pieces
without characters of their own (byte fallback) take those of the next piece. pieces
links pass through once checked. A trio that is neither (tokens that do not rebuild the
line, a link past a line's tokens, files of different lengths) stops the job before any
training, naming the URL and the first bad line. Streaming: memory is a few lines.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import logging
from urllib.parse import urlsplit

from mtdistill.common import errors
from mtdistill.common.errors import InputError
from mtdistill.common.textio import atomic_write, read_lines

log = logging.getLogger("trio")

SPACE = "\u2581"
SAMPLE = 200  # lines the format is decided on; every line is verified after
FORMATS = ("icu", "pieces")
FILES = ("src", "trg", "tok-src", "tok-trg", "alignments")
Span = tuple[int, int]


class TrioError(InputError):
    """A trio that does not fit its corpus or the run's vocab."""


def icu_spans(line: str, tokens: list[str]) -> list[Span | None] | str:
    """Each token's character span in `line` (None for a ▁ token), or what is wrong.

    The tokens must rebuild the line with ▁ read as a space. Whitespace other than the
    space (a tab, a no-break space) cannot survive the token file, whose tokens are split
    on whitespace as eflomal splits them: it may be missing between tokens."""
    text = line.replace(" ", SPACE)  # a ▁ in the text itself matches a ▁ too
    spans: list[Span | None] = []
    pos = 0
    for k, token in enumerate(tokens):
        while not text.startswith(token, pos) and pos < len(text) and text[pos].isspace():
            pos += 1
        if not text.startswith(token, pos):
            return (f"token {k + 1} {token!r} is not the text at character {pos + 1} "
                    f"({line[pos:pos + 20]!r})")
        spans.append(None if token.strip(SPACE) == "" else (pos, pos + len(token)))
        pos += len(token)
    # Upstream's tokenizer strips the end of each line (str.rstrip) before tokenizing.
    while pos < len(line) and line[pos].isspace():
        pos += 1
    if pos < len(text):
        return f"the tokens end at character {pos + 1}; the line goes on with {line[pos:pos + 20]!r}"
    return spans


def pieces_differ(line: str, tokens: list[str], pieces: list[str]) -> str | None:
    """What differs between a token line and the vocab's pieces of the corpus line."""
    if tokens == pieces:
        return None
    k = next((i for i, (a, b) in enumerate(zip(tokens, pieces)) if a != b), min(len(tokens), len(pieces)))
    got = repr(tokens[k]) if k < len(tokens) else "the end of the line"
    want = repr(pieces[k]) if k < len(pieces) else "the end of the line"
    return f"token {k + 1} is {got} where the vocab's encoding of the line has {want}"


def piece_spans(offsets: list[Span]) -> list[Span]:
    """Character spans of pieces: a piece without characters (byte fallback, a leading
    ▁) takes the span of the next piece that has some (or keeps its empty one)."""
    spans = list(offsets)
    for j in range(len(spans) - 2, -1, -1):
        if spans[j][0] == spans[j][1]:
            spans[j] = spans[j + 1]
    return spans


def token_pieces(tokens: list[Span | None], pieces: list[Span]) -> list[list[int]]:
    """For each token span, the pieces whose span overlaps it (both lists in text order)."""
    out: list[list[int]] = [[] for _ in tokens]
    first = 0
    for k, span in enumerate(tokens):
        if span is None:
            continue
        start, end = span
        while first < len(pieces) and pieces[first][1] <= start:
            first += 1
        j = first
        while j < len(pieces) and pieces[j][0] < end:
            if pieces[j][0] < pieces[j][1]:
                out[k].append(j)
            j += 1
    return out


def parse_links(text: str, n_src: int, n_trg: int) -> list[tuple[int, int]] | str:
    """The links of an alignment line, or what is wrong with them."""
    links = []
    for pair in text.split():
        i, sep, j = pair.partition("-")
        if not (sep and i.isdigit() and j.isdigit()):
            return f"{pair!r} is not a link i-j (source position - target position)"
        i, j = int(i), int(j)
        if i >= n_src:
            return f"link {pair} points to source token {i}, but the line has {n_src} tokens (0-{n_src - 1})"
        if j >= n_trg:
            return f"link {pair} points to target token {j}, but the line has {n_trg} tokens (0-{n_trg - 1})"
        links.append((i, j))
    return links


def remap(links, src_map: list[list[int]], trg_map: list[list[int]]) -> list[tuple[int, int]]:
    return sorted({(s, t) for i, j in links for s in src_map[i] for t in trg_map[j]})


def is_gzip_url(url: str) -> bool:
    return urlsplit(url).path.endswith(".gz")


class Trio:
    """Checks (and remaps) one line after another; `urls` name the files in errors."""

    def __init__(self, src_vocab: str, trg_vocab: str, urls: dict):
        import sentencepiece

        self.sp = [sentencepiece.SentencePieceProcessor(model_file=v) for v in (src_vocab, trg_vocab)]
        self.vocabs = (src_vocab, trg_vocab)
        self.urls = urls
        self.stats = {"lines": 0, "links": 0, "links_out": 0, "links_dropped": 0}

    def fail(self, number: int, key: str, what: str):
        raise TrioError(f"{self.urls[key]}: line {number}: {what}. The trio (tok-src, tok-trg, "
                        "alignments) must be ICU tokens (upstream's corpus.tok-icu.*) or the pieces "
                        f"of the run's vocab ({self.vocabs[0]}), with alignments between their "
                        "positions, line by line with the corpus; fix or drop them in the config")

    def fits(self, fmt: str, side: int, line: str, tokens: list[str]) -> str | None:
        """None if the token line is `fmt` for this corpus line, else what is wrong."""
        if fmt == "icu":
            found = icu_spans(line, tokens)
            return found if isinstance(found, str) else None
        return pieces_differ(line, tokens, self.sp[side].encode(line, out_type=str))

    def decide(self, sample: list[tuple]) -> str:
        """The format every sample line fits, else the one most lines fit (the check of
        every line then names the first that does not)."""
        score = dict.fromkeys(FORMATS, 0)
        for src, trg, tok_src, tok_trg, _ in sample:
            if src or trg:  # an empty pair fits any format
                for fmt in FORMATS:
                    score[fmt] += not (self.fits(fmt, 0, src, tok_src.split())
                                       or self.fits(fmt, 1, trg, tok_trg.split()))
        best = max(FORMATS, key=lambda f: score[f])
        if score[best] == 0:
            for number, (src, trg, tok_src, tok_trg, _) in enumerate(sample, 1):
                for side, key, line, tokens in ((0, "tok-src", src, tok_src), (1, "tok-trg", trg, tok_trg)):
                    icu, pieces = (self.fits(fmt, side, line, tokens.split()) for fmt in FORMATS)
                    if icu and pieces:
                        self.fail(number, key, f"the tokens are neither ICU tokens of the corpus "
                                  f"line ({icu}) nor its pieces in the vocab ({pieces})")
        return best

    def line(self, fmt: str, number: int, row: tuple) -> str:
        """The checked alignment line in piece positions."""
        src, trg, tok_src, tok_trg, aln = row
        sides = ((0, "tok-src", src, tok_src.split()), (1, "tok-trg", trg, tok_trg.split()))
        if fmt == "pieces":
            for side, key, line, tokens in sides:
                wrong = self.fits(fmt, side, line, tokens)
                if wrong:
                    self.fail(number, key, f"not the pieces of the vocab: {wrong}")
        else:
            spans = []
            for side, key, line, tokens in sides:
                found = icu_spans(line, tokens)
                if isinstance(found, str):
                    self.fail(number, key, f"the ICU tokens do not rebuild the corpus line: {found}")
                spans.append(found)
        links = parse_links(aln, len(sides[0][3]), len(sides[1][3]))
        if isinstance(links, str):
            self.fail(number, "alignments", links)
        out = links
        if fmt == "icu":
            maps = [token_pieces(spans[side], piece_spans(self.sp[side].encode_as_offset_mapping(line)["offsets"]))
                    for side, _, line, _ in sides]
            out = remap(links, *maps)
            self.stats["links_dropped"] += sum(1 for i, j in links if not (maps[0][i] and maps[1][j]))
        self.stats["lines"] += 1
        self.stats["links"] += len(links)
        self.stats["links_out"] += len(out)
        return " ".join(f"{i}-{j}" for i, j in out)


def rows(paths: dict, urls: dict):
    """Lines of the five files side by side; files of different lengths raise."""
    missing = object()
    readers = [read_lines(paths[key]) for key in FILES]
    for number, row in enumerate(itertools.zip_longest(*readers, fillvalue=missing), 1):
        if missing in row:
            ended = next(key for key, value in zip(FILES, row) if value is missing)
            goes_on = next(key for key, value in zip(FILES, row) if value is not missing)
            raise TrioError(
                f"{urls[ended]} ends after line {number - 1}, but {urls[goes_on]} has a line "
                f"{number}: line count mismatch; the corpus and its trio must have one line "
                "per sentence pair: fix or drop the trio in the config")
        yield row


def convert(paths: dict, src_vocab: str, trg_vocab: str, output: str | None = None,
            urls: dict | None = None) -> dict:
    """Check the trio against its corpus (paths by FILES key); write its alignments in
    piece positions to `output` (None: only check). Return what was found."""
    urls = {key: (urls or {}).get(key) or str(paths[key]) for key in FILES}
    trio = Trio(src_vocab, trg_vocab, urls)
    with contextlib.ExitStack() as stack:
        out = stack.enter_context(atomic_write(output)) if output else None
        source = rows(paths, urls)
        sample = list(itertools.islice(source, SAMPLE))
        fmt = trio.decide(sample)
        for number, row in enumerate(itertools.chain(sample, source), 1):
            aln = trio.line(fmt, number, row)
            if out:
                out.write(aln + "\n")
    origin = {"icu": "ICU tokens (upstream's tok-icu), remapped to pieces",
              "pieces": "pieces of the vocab" + (
                  " (gzip alignments: the older pipeline's fast_align)" if is_gzip_url(urls["alignments"]) else "")}
    report = {"format": fmt, "described": origin[fmt], "urls": urls, **trio.stats}
    log.info("%s: %s; %d lines, %d links in, %d out (%d dropped: on a ▁ token)", urls["alignments"],
             origin[fmt], trio.stats["lines"], trio.stats["links"], trio.stats["links_out"],
             trio.stats["links_dropped"])
    return report


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for key in FILES:
        p.add_argument(f"--{key}", required=True, help="the downloaded file")
        p.add_argument(f"--{key}-url", help="its URL, for errors (default: the path)")
    p.add_argument("--src-vocab", required=True)
    p.add_argument("--trg-vocab", required=True)
    p.add_argument("--output", help="the alignments in piece positions (default: only check)")
    p.add_argument("--report", help="write what was found (format, counts) here as JSON")
    args = p.parse_args(argv)
    paths = {key: getattr(args, key.replace("-", "_")) for key in FILES}
    urls = {key: getattr(args, f"{key.replace('-', '_')}_url") for key in FILES}
    report = convert(paths, args.src_vocab, args.trg_vocab, args.output, urls)
    if args.report:
        with atomic_write(args.report) as handle:
            json.dump(report, handle, indent=2, sort_keys=True, ensure_ascii=False)
            handle.write("\n")


if __name__ == "__main__":
    errors.run_main(main)
