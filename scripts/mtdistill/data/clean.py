#!/usr/bin/env python3
"""Clean a parallel (or monolingual) dataset, streaming, optionally on several processes.

Every line is Unicode-normalized (NFC or NFKC), stripped of non-printing characters and its
white space collapsed. A pair (or a monolingual line) is then dropped by the first filter
it fails, in this order (the names are the keys of the statistics):

  empty         a side is empty after normalization
  too-short     a side has fewer than --min-words words
  too-long      a side has more than --max-words words or --max-chars characters
  length-ratio  longer side / shorter side, in words, above --max-ratio
  identical     source and target are the same text
  numbers       the sides hold different sets of numbers (digit sequences)
  script        less than --min-script-share of a side's characters (spaces aside) are
                in the scripts of its language (SCRIPTS_OF, or --scripts): catches text in
                the wrong script and lines of digits, symbols or markup. For languages
                missing from the table the share is that of letters of any script.
  langid        py3langid names another language with a probability of at least
                --langid-threshold (short or ambiguous lines, where it is unsure, stay)

Languages written without spaces (CHARS_PER_WORD: Chinese, Japanese, Thai...) count words
as characters / characters-per-word, so the word bounds and the ratio mean the same there.
Monolingual data goes through empty, too-short, too-long, script and langid.

Memory: one block of --block-lines lines per process. With --workers N > 1 blocks are
cleaned by N worker processes (fork) while this process reads and writes, at most 2N
blocks in flight; the output keeps the input order and is identical to a serial run.
Statistics (lines in, dropped per filter, kept) are written as JSON.
"""

from __future__ import annotations

import argparse
import collections
import json
import logging
import math
import multiprocessing
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from itertools import islice
from typing import Iterator

from mtdistill.common import errors
from mtdistill.common.errors import ConfigError, ToolError, UsageError
from mtdistill.common.langs import (CHARS_PER_WORD, LANGID_ALIASES, LANGID_LANGUAGES,  # noqa: F401
                                    SCRIPT_RANGES, SCRIPTS_OF, base_language, langid_code)
from mtdistill.common.textio import LineCountMismatch, atomic_write, read_lines
from mtdistill.data.filters import MONO_FILTERS, PARALLEL_FILTERS

log = logging.getLogger("clean")


# Control and format characters (C0/C1, zero-width, BOM...) except tab; tabs become spaces.
_NON_PRINTING = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]")
_NUMBER = re.compile(r"\d+")
_ASCII_NON_LETTERS = bytes(c for c in range(128) if not chr(c).isalpha())


def parse_scripts(items: list[str] | None) -> dict[str, list[str]]:
    """`LANG=Script+Script` overrides of SCRIPTS_OF."""
    table = {}
    for item in items or []:
        lang, sep, names = item.partition("=")
        scripts = [s for s in names.split("+") if s]
        unknown = [s for s in scripts if s not in SCRIPT_RANGES]
        if not sep or not lang or not scripts or unknown:
            raise UsageError(
                f"clean: --scripts takes LANG=Script[+Script] with scripts among "
                f"{', '.join(SCRIPT_RANGES)}; got {item!r}"
            )
        table[base_language(lang)] = scripts
    return table


@dataclass
class Side:
    """What the filters need to know about one language."""

    lang: str
    scripts: list[str] | None = None  # None: any letter is fine
    chars_per_word: float = 0.0  # 0: words are separated by spaces
    langid: str | None = None  # py3langid code when language identification is on
    native: re.Pattern | None = field(default=None, repr=False)
    ascii_native: bool = field(default=True, repr=False)

    def __post_init__(self):
        # Runs of characters of the language's scripts (unknown language: of letters).
        ranges = "".join(SCRIPT_RANGES[s] for s in self.scripts) if self.scripts else None
        self.native = re.compile(f"[{ranges}]+" if ranges else r"[^\W\d_]+")
        # ASCII text is Latin: counted by a byte translation, much faster than a regex.
        self.ascii_native = not self.scripts or "Latin" in self.scripts

    def words(self, text: str) -> int:
        if self.chars_per_word:
            return math.ceil((len(text) - text.count(" ")) / self.chars_per_word)
        return text.count(" ") + 1  # normalized text: single spaces, stripped, non-empty

    def script_share(self, text: str) -> float:
        """Share of the characters of `text`, spaces aside, in the language's scripts."""
        chars = len(text) - text.count(" ")
        if not chars:
            return 0.0
        if text.isascii():
            if not self.ascii_native:
                return 0.0
            native = len(text.encode("ascii").translate(None, _ASCII_NON_LETTERS))
        else:
            native = len(text) - len(self.native.sub("", text))
        return native / chars


@dataclass
class Options:
    normalization: str = "NFC"
    min_words: int = 1
    max_words: int = 150
    max_chars: int = 0  # 0: no bound
    max_ratio: float = 3.0
    drop_identical: bool = True
    numbers: bool = False
    min_script_share: float = 0.0  # 0: the script filter is off
    langid_threshold: float = 0.5


def make_side(lang: str, langid: str, overrides: dict[str, list[str]] | None = None) -> Side:
    """langid: `auto` (on when py3langid knows the language), `on` (it must) or `off`."""
    base = base_language(lang)
    scripts = (overrides or {}).get(base, SCRIPTS_OF.get(base))
    code = langid_code(lang)
    if langid == "on" and code is None:
        raise ConfigError(
            f"clean: language identification is on but py3langid does not know the language "
            f"'{lang}': set cleaning.langid to auto or false"
        )
    return Side(lang, scripts, CHARS_PER_WORD.get(base, 0.0), code if langid != "off" else None)


def normalize(line: str, form: str = "NFC") -> str:
    """Unicode form, non-printing characters removed, white space collapsed to one space."""
    if not line.isascii():  # ASCII is its own NFC and NFKC
        line = unicodedata.normalize(form, line)
    if not line.isprintable():  # the cheap test; the regex only when there is work
        line = _NON_PRINTING.sub("", line)
    return " ".join(line.split())  # str.split: the same white space as the regex \s


def _ascii_number(digits: str) -> str:
    if not digits.isascii():  # "٣" and "3" are the same number
        digits = "".join(str(unicodedata.decimal(c)) for c in digits)
    return digits.lstrip("0") or "0"


def numbers(text: str | list[str]) -> set[str]:
    """The numbers of a text (or its digit sequences): any script, leading zeros dropped."""
    found = _NUMBER.findall(text) if isinstance(text, str) else text
    return {_ascii_number(n) for n in found}


# --- language identification ------------------------------------------------------------

_IDENTIFIER = None


def identifier():
    """py3langid's identifier (the model ships with the package: nothing is downloaded).
    Loaded once per process; forked workers inherit it."""
    global _IDENTIFIER
    if _IDENTIFIER is None:
        try:
            from py3langid.langid import MODEL_FILE, LanguageIdentifier
        except ImportError:
            raise ToolError(
                "clean: language identification needs py3langid (pip install py3langid==0.4.0, "
                "see requirements.txt), or set cleaning.langid: false"
            ) from None
        _IDENTIFIER = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    return _IDENTIFIER


def wrong_language(text: str, side: Side, threshold: float) -> bool:
    """True when the identifier names another language with probability >= threshold."""
    lang, prob = identifier().classify(text)
    return lang != side.langid and prob >= threshold


# --- filters ----------------------------------------------------------------------------


def length_reason(text: str, side: Side, opts: Options) -> str | None:
    words = side.words(text)
    if words < opts.min_words:
        return "too-short"
    if words > opts.max_words or (opts.max_chars and len(text) > opts.max_chars):
        return "too-long"
    return None


def reject_pair(src: str, trg: str, s: Side, t: Side, opts: Options) -> str | None:
    """Why a normalized pair is dropped (the first filter it fails), or None to keep it."""
    if not src or not trg:
        return "empty"
    n_src, n_trg = s.words(src), t.words(trg)
    if min(n_src, n_trg) < opts.min_words:
        return "too-short"
    if max(n_src, n_trg) > opts.max_words or (
        opts.max_chars and max(len(src), len(trg)) > opts.max_chars
    ):
        return "too-long"
    if max(n_src, n_trg) > opts.max_ratio * max(1, min(n_src, n_trg)):
        return "length-ratio"
    if opts.drop_identical and src == trg:
        return "identical"
    if opts.numbers:
        in_src, in_trg = _NUMBER.findall(src), _NUMBER.findall(trg)
        if (in_src or in_trg) and numbers(in_src) != numbers(in_trg):
            return "numbers"
    if opts.min_script_share and (
        s.script_share(src) < opts.min_script_share or t.script_share(trg) < opts.min_script_share
    ):
        return "script"
    if (s.langid and wrong_language(src, s, opts.langid_threshold)) or (
        t.langid and wrong_language(trg, t, opts.langid_threshold)
    ):
        return "langid"
    return None


def reject_mono(line: str, side: Side, opts: Options) -> str | None:
    if not line:
        return "empty"
    reason = length_reason(line, side, opts)
    if reason:
        return reason
    if opts.min_script_share and side.script_share(line) < opts.min_script_share:
        return "script"
    if side.langid and wrong_language(line, side, opts.langid_threshold):
        return "langid"
    return None


# --- blocks, serial or on worker processes ----------------------------------------------

# Set in each process before the blocks are cleaned (inherited by forked workers).
_JOB: tuple | None = None


# A block travels between processes as one string per file (its lines joined by "\n"):
# pickling two strings is ~20x cheaper than pickling the lines one by one.
Block = tuple[int, list[str]]  # (lines, [text of each file])


def _clean_pairs_block(block: Block) -> tuple[list[str], int, Counter]:
    s, t, opts = _JOB
    form = opts.normalization
    kept_src, kept_trg, stats = [], [], Counter()
    for src, trg in zip(block[1][0].split("\n"), block[1][1].split("\n")):
        src, trg = normalize(src, form), normalize(trg, form)
        reason = reject_pair(src, trg, s, t, opts)
        if reason:
            stats[reason] += 1
        else:
            kept_src.append(src)
            kept_trg.append(trg)
    return [_text(kept_src), _text(kept_trg)], len(kept_src), stats


def _clean_mono_block(block: Block) -> tuple[list[str], int, Counter]:
    side, _, opts = _JOB
    form = opts.normalization
    kept, stats = [], Counter()
    for line in block[1][0].split("\n"):
        line = normalize(line, form)
        reason = reject_mono(line, side, opts)
        if reason:
            stats[reason] += 1
        else:
            kept.append(line)
    return [_text(kept)], len(kept), stats


def _text(lines: list[str]) -> str:
    return "\n".join(lines) + "\n" if lines else ""


def _blocks(paths: list, size: int) -> Iterator[Block]:
    """Blocks of `size` lines of line-parallel files; their line counts must agree."""
    readers = [read_lines(p) for p in paths]
    while True:
        parts = [list(islice(r, size)) for r in readers]
        if len({len(p) for p in parts}) > 1:
            raise LineCountMismatch(
                f"clean: line counts differ between {' and '.join(map(str, paths))}: the two "
                "sides of a parallel corpus must have one line per sentence"
            )
        if not parts[0]:
            return
        yield len(parts[0]), ["\n".join(p) for p in parts]


def _run_blocks(function, blocks: Iterator[list], workers: int) -> Iterator[tuple]:
    """function(block) for every block, in order; on `workers` processes when there are
    several blocks (a small input is not worth starting processes for)."""
    first = next(blocks, None)
    if first is None:
        return
    second = next(blocks, None)
    if workers <= 1 or second is None:
        yield function(first)
        if second is not None:
            yield function(second)
            for block in blocks:
                yield function(block)
        return
    pending: collections.deque = collections.deque()
    # fork: the workers inherit the job and the loaded language identifier.
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        for block in _chain(first, second, blocks):
            pending.append(pool.apply_async(function, (block,)))
            if len(pending) >= 2 * workers:  # bounded read-ahead: memory stays bounded
                yield pending.popleft().get()
        while pending:
            yield pending.popleft().get()


def _chain(*parts):
    yield parts[0]
    yield parts[1]
    yield from parts[2]


def _prepare(job: tuple) -> None:
    global _JOB
    _JOB = job
    sides = [side for side in job[:2] if side is not None]
    if any(side.langid for side in sides):
        identifier()  # load before forking


def clean_parallel(src_in, trg_in, src_out, trg_out, min_words=1, max_words=150, max_ratio=3.0,
                   *, src_side: Side | None = None, trg_side: Side | None = None,
                   opts: Options | None = None, workers: int = 1, block_lines: int = 20000) -> Counter:
    opts = opts or Options(min_words=min_words, max_words=max_words, max_ratio=max_ratio)
    _prepare((src_side or Side("und"), trg_side or Side("und"), opts))
    stats: Counter = Counter({"input": 0, "kept": 0})
    with atomic_write(src_out) as out_s, atomic_write(trg_out) as out_t:
        blocks = _counted(_blocks([src_in, trg_in], block_lines), stats)
        for (src, trg), kept, counts in _run_blocks(_clean_pairs_block, blocks, workers):
            out_s.write(src)
            out_t.write(trg)
            stats.update(counts)
            stats["kept"] += kept
    return _nonzero(stats)


def clean_mono(src_in, src_out, min_words=1, max_words=150, *, side: Side | None = None,
               opts: Options | None = None, workers: int = 1, block_lines: int = 20000) -> Counter:
    opts = opts or Options(min_words=min_words, max_words=max_words)
    _prepare((side or Side("und"), None, opts))
    stats: Counter = Counter({"input": 0, "kept": 0})
    with atomic_write(src_out) as out:
        blocks = _counted(_blocks([src_in], block_lines), stats)
        for (text,), kept, counts in _run_blocks(_clean_mono_block, blocks, workers):
            out.write(text)
            stats.update(counts)
            stats["kept"] += kept
    return _nonzero(stats)


def _nonzero(stats: Counter) -> Counter:
    """The statistics without filters that dropped nothing (input and kept always stay)."""
    return Counter({k: v for k, v in stats.items() if v or k in ("input", "kept")})


def _counted(blocks: Iterator[Block], stats: Counter) -> Iterator[Block]:
    for block in blocks:
        stats["input"] += block[0]
        yield block


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--src-in", required=True)
    p.add_argument("--trg-in")
    p.add_argument("--src-out", required=True)
    p.add_argument("--trg-out")
    p.add_argument("--stats", required=True)
    p.add_argument("--src-lang", default="und", help="language of --src-in (mono: of the text)")
    p.add_argument("--trg-lang", default="und")
    p.add_argument("--normalization", choices=["NFC", "NFKC"], default="NFC")
    p.add_argument("--min-words", type=int, default=1)
    p.add_argument("--max-words", type=int, default=150)
    p.add_argument("--max-chars", type=int, default=0, help="0: no bound")
    p.add_argument("--max-ratio", type=float, default=3.0)
    p.add_argument("--drop-identical", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument("--numbers", action=argparse.BooleanOptionalAction, default=False,
                   help="drop pairs whose sides hold different numbers")
    p.add_argument("--min-script-share", type=float, default=0.0, help="0: no script filter")
    p.add_argument("--scripts", nargs="*", help="LANG=Script[+Script]: overrides the table")
    p.add_argument("--langid", choices=["auto", "on", "off"], default="off")
    p.add_argument("--langid-threshold", type=float, default=0.5)
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--block-lines", type=int, default=20000)
    args = p.parse_args(argv)
    if bool(args.trg_in) != bool(args.trg_out):
        p.error("--trg-in and --trg-out go together")
    opts = Options(args.normalization, args.min_words, args.max_words, args.max_chars,
                   args.max_ratio, args.drop_identical, args.numbers, args.min_script_share,
                   args.langid_threshold)
    overrides = parse_scripts(args.scripts)
    src_side = make_side(args.src_lang, args.langid, overrides)
    common = dict(opts=opts, workers=args.workers, block_lines=args.block_lines)
    if args.trg_in:
        trg_side = make_side(args.trg_lang, args.langid, overrides)
        stats = clean_parallel(args.src_in, args.trg_in, args.src_out, args.trg_out,
                               src_side=src_side, trg_side=trg_side, **common)
    else:
        stats = clean_mono(args.src_in, args.src_out, side=src_side, **common)
    # Filters in the order they apply: the report lists them so.
    filters = PARALLEL_FILTERS if args.trg_in else MONO_FILTERS
    ordered = {"input": stats["input"], **{f: stats[f] for f in filters if stats[f]}, "kept": stats["kept"]}
    with atomic_write(args.stats) as out:
        json.dump(ordered, out, indent=1)
    log.info("%s", json.dumps(dict(stats), sort_keys=True))


if __name__ == "__main__":
    errors.run_main(main)
