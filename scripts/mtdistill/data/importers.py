#!/usr/bin/env python3
"""Import public corpora by dataset name into {stem}.{lang}.zst files.

Names, as MT pipelines spell them (see config/README.md):
  opus_{corpus}/{version}     OPUS moses zip: {base}/OPUS-{corpus}/{version}/moses/{l1}-{l2}.txt.zip
  mtdata_{id}                 an mtdata index entry (e.g. Statmt-news_commentary-16-deu-eng)
  sacrebleu_{test set}        a sacrebleu test set (e.g. wmt19), for the pairs it has
  flores_{dev|devtest}        FLORES-200: {base}/flores200_dataset.tar.gz
  news-crawl_news.{year}      {base}/news-crawl/{lang}/news.{year}.{lang}.shuffled.deduped.gz
  url_{URL}                   any URL with [LANG] standing for the language (.zst, .gz, .xz,
                              .bz2 or plain)

Every download goes through mtdistill.common.http.fetch (atomic, retried, size-bounded)
into a cache folder keyed by URL, shared between experiments. Members are streamed out of
archives by archives.py, which refuses unsafe members. Outputs are written to temporary
files and renamed into place only when every side is complete and the sides have equally
many lines: a failure leaves no output and no temporary file. A compressed download must
decompress to its end (a cut or damaged file fails, naming the dataset and URL), to at most
the download limit (--max-bytes: config downloads.max-bytes), in lines of at most MAX_LINE
characters: a decompression bomb stops at the bound instead of filling memory or disk.

The name grammar used while Snakemake builds its DAG (split_name, dataset_stem,
check_dataset...) is mtdistill.data.names: pure, no file or network access.

Usage:
  importers.py --dataset NAME --langs xx [yy] --outputs F [F] --cache-dir D
               --max-bytes N --retries N --timeout S [--mirrors JSON]
(the limits are config `downloads`, which the rules always pass)
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import hashlib
import io
import itertools
import json
import logging
import os
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

from mtdistill.common import errors, http, urls
from mtdistill.common.errors import DownloadError, ImporterError, PipelineError
from mtdistill.common.textio import (LimitExceeded, atomic_path, read_lines, scan, scratch_dir,
                                     stream_lines)
from mtdistill.data import archives
# The name grammar (mtdistill.data.names), re-exported: callers know these as importers.<name>.
from mtdistill.data.names import (FLORES_CODES, FLORES_SPLITS, IMPORTERS, MIRRORS,  # noqa: F401
                                  check_dataset, check_mirrors, check_name, dataset_stem,
                                  flores_code, sacrebleu_direction, sacrebleu_pairs, split_name)

log = logging.getLogger("importers")

# Longest line accepted from a download, in characters. A sentence corpus never comes close
# (Marian's max-length filters at a few hundred tokens); a longer one is a decompression bomb
# or not a line-per-sentence file, and would be held whole in memory.
MAX_LINE = 1 << 20


class CorruptDownload(ImporterError):
    """A downloaded file that cannot be read (cut, damaged, wrong checksum)."""


def mirrored(url: str, mirror: str | None) -> str:
    """The URL of a file on a mirror that keeps the original {host}/{path} layout."""
    if not mirror:
        return url
    parts = urlsplit(url)
    tail = parts.netloc + parts.path + (f"?{parts.query}" if parts.query else "")
    return urls.join(mirror, tail)


# ---------------------------------------------------------------------------------------
# Downloads and line sources


class Context:
    """Where and how one dataset is imported."""

    def __init__(self, name: str, cache_dir: str, mirrors: dict | None = None,
                 max_bytes: int | None = None, retries: int = http.RETRIES,
                 timeout: float = http.TIMEOUT, backoff: float = http.BACKOFF):
        check_mirrors(mirrors)
        self.name, self.cache_dir = name, cache_dir
        self.mirrors = {**MIRRORS, **(mirrors or {})}
        self.max_bytes = max_bytes
        self.net = dict(retries=retries, timeout=timeout, backoff=backoff)
        self.fetched: list[str] = []
        self.urls: dict[str, str] = {}  # downloaded path -> its URL, for messages

    def base(self, importer: str) -> str:
        return self.mirrors[importer]

    def fetch(self, url: str, filename: str | None = None) -> str:
        """Download `url` into the cache (once, shared by every experiment); return the path."""
        key = hashlib.sha256(url.encode("utf-8")).hexdigest()[:16]
        base = filename or urlsplit(url).path.rsplit("/", 1)[-1] or "download"
        base = re.sub(r"[^A-Za-z0-9_.-]+", "_", base).lstrip(".") or "download"
        dest = os.path.join(self.cache_dir, key, base)
        try:
            http.fetch(url, dest, max_bytes=self.max_bytes, **self.net)
        except DownloadError as err:
            raise ImporterError(f"dataset {self.name}: download failed: {err}") from None
        self.fetched.append(dest)
        self.urls[dest] = url
        return dest

    def what(self, path: str) -> str:
        """How messages name a file: its URL when it was downloaded."""
        return f"dataset {self.name}: " + urls.redact(self.urls.get(path, path))

    def unreadable(self, path: str, err: Exception) -> ImporterError:
        """The error for a file that cannot be read to its end within the bounds."""
        what = self.what(path)
        if isinstance(err, LimitExceeded):
            if err.bound == "bytes":
                return ImporterError(
                    f"{what} decompresses to more than {self.max_bytes} bytes, the download "
                    f"limit: a decompression bomb, or raise downloads.max-bytes if the file is "
                    "right")
            return ImporterError(
                f"{what} has a line longer than {MAX_LINE} characters ({err}): not a "
                "line-per-sentence text file (or a decompression bomb); check the URL")
        if isinstance(err, UnicodeDecodeError):
            return ImporterError(f"{what} is not UTF-8 text: {err}")
        reason = getattr(err, "reason", "") or err
        return CorruptDownload(
            f"{what} is corrupt or truncated ({reason}): the file is damaged or was cut short "
            "at the source, or compressed differently than its suffix says (.zst, .gz, .xz, "
            ".bz2 or none); check it there (e.g. zstd -t, gzip -t) or use another mirror. "
            "The bad download was removed: a rerun fetches it again")


def _member_lines(path: str, member: str, ctx: Context) -> Iterator[str]:
    with archives.Archive(path, ctx.what(path)) as arc:
        with arc.open(member, ctx.max_bytes) as stream:
            try:
                for line in stream_lines(stream, f"{ctx.what(path)}:{member}", MAX_LINE):
                    yield line.rstrip("\r")
            except LimitExceeded as err:
                raise ImporterError(
                    f"{err}: not a line-per-sentence text file (or a decompression bomb); "
                    "check the URL") from None
            except UnicodeDecodeError as err:
                raise ImporterError(f"{ctx.what(path)}:{member} is not UTF-8 text: {err}") from None


def _file_lines(path: str, ctx: Context) -> Iterator[str]:
    """The lines of a downloaded file, decompressed by suffix to its end, within the
    download limit and MAX_LINE."""
    try:
        yield from read_lines(path, max_bytes=ctx.max_bytes, max_line=MAX_LINE)
    except (OSError, LimitExceeded, UnicodeDecodeError) as err:  # OSError: CorruptInput too
        raise ctx.unreadable(path, err) from None


def opus_sources(rest: str, langs: list[str], ctx: Context) -> list[Iterator[str]]:
    corpus, version = rest.split("/", 1)
    l1, l2 = sorted(langs)  # OPUS names a pair in alphabetical order
    url = f"{ctx.base('opus').rstrip('/')}/OPUS-{corpus}/{version}/moses/{l1}-{l2}.txt.zip"
    path = ctx.fetch(url)
    return [_member_lines(path, f"{corpus}.{l1}-{l2}.{lang}", ctx) for lang in langs]


def flores_sources(split: str, langs: list[str], ctx: Context) -> list[Iterator[str]]:
    url = urls.join(ctx.base("flores"), "flores200_dataset.tar.gz")
    path = ctx.fetch(url)
    members = [f"flores200_dataset/{split}/{flores_code(lang, ctx.name)}.{split}" for lang in langs]
    return [_member_lines(path, member, ctx) for member in members]


def news_crawl_sources(rest: str, langs: list[str], ctx: Context) -> list[Iterator[str]]:
    year = rest.removeprefix("news.")
    base = ctx.base("news-crawl").rstrip("/")
    return [_file_lines(ctx.fetch(f"{base}/news-crawl/{lang}/news.{year}.{lang}.shuffled.deduped.gz"),
                        ctx) for lang in langs]


def url_sources(url: str, langs: list[str], ctx: Context) -> list[Iterator[str]]:
    sources = []
    for lang in langs:
        real = url.replace("[LANG]", lang)
        sources.append(_file_lines(ctx.fetch(real), ctx))
    return sources


def _one_line(text: str) -> str:
    """A segment as one line: inner newlines would break the line alignment."""
    return re.sub(r"[\r\n\u2028\u2029]+", " ", text)


def sacrebleu_sources(testset: str, langs: list[str], ctx: Context,
                      tmp: str) -> list[Iterator[str]]:
    """Run sacrebleu's own processing (SGML, XML, TSV...) on archives we fetched and
    unpacked safely: sacrebleu's download and extractall are never used."""
    from sacrebleu.dataset import DATASETS

    pair, swapped = sacrebleu_direction(testset, langs, ctx.name)
    dataset = copy.copy(DATASETS[testset])
    dataset._outdir = tmp
    dataset._rawdir = os.path.join(tmp, "raw")
    os.makedirs(dataset._rawdir)
    meta = dataset.langpairs[pair]
    rel = [meta["path"]] if isinstance(meta, dict) else [re.sub(r"^\d+:", "", p) for p in meta]
    rel = list(dict.fromkeys(archives.safe_name(p) for p in rel))
    mirror = ctx.base("sacrebleu")
    sums = dataset.md5 or [None] * len(dataset.data)
    found: set[str] = set()
    for url, md5 in zip(dataset.data, sums):
        path = ctx.fetch(mirrored(url, mirror))
        if md5 and not mirror:
            digest = hashlib.md5()
            with open(path, "rb") as handle:
                while chunk := handle.read(1 << 20):
                    digest.update(chunk)
            if digest.hexdigest() != md5:
                raise CorruptDownload(f"dataset {ctx.name}: {url} has md5 {digest.hexdigest()}"
                                      f", sacrebleu expects {md5}: the download is damaged "
                                      "or has changed upstream")
        if url.endswith((".tar.gz", ".tgz", ".zip")):
            with archives.Archive(path, f"dataset {ctx.name}: {path}") as arc:
                names = set(arc.members())
                for member in rel:
                    if member in names or f"./{member}" in names:
                        dest = os.path.join(dataset._rawdir, *member.split("/"))
                        os.makedirs(os.path.dirname(dest), exist_ok=True)
                        arc.extract(member, dest, ctx.max_bytes)
                        found.add(member)
        else:  # a plain file, named as sacrebleu names it
            local = dataset._get_tarball_filename(url)
            os.symlink(os.path.abspath(path), os.path.join(dataset._rawdir, local))
            found.add(local)
    missing = [m for m in rel if m not in found]
    if missing:
        raise ImporterError(f"dataset {ctx.name}: the downloaded archives lack "
                            f"{', '.join(missing)}: the download or mirror is not the file "
                            "sacrebleu expects")
    dataset.maybe_download = lambda: None  # everything is in _rawdir already
    try:
        dataset.process_to_text(pair)
        files = [dataset.get_source_file(pair), dataset.get_reference_files(pair)[0]]
    except Exception as err:  # sacrebleu's parsers raise anything on malformed input
        raise ImporterError(f"dataset {ctx.name}: sacrebleu could not read {testset} "
                            f"{pair}: {type(err).__name__}: {err}") from None
    if swapped:
        files.reverse()
    if len(langs) == 1:
        files = files[:1]
    return [(_one_line(line) for line in _file_lines(f, ctx)) for f in files]


def mtdata_entry(did_text: str, name: str):
    """The mtdata index entry of an id. mtdata builds its index on first import (~30 s,
    ~150 MB in $MTDATA, resources/mtdata/ in the workflow) and loads it after (~9 s)."""
    from mtdata.entry import DatasetId

    try:
        did = DatasetId.parse(did_text)
    except Exception as err:  # mtdata raises plain Exception/AssertionError on bad ids
        raise ImporterError(f"dataset {name}: not an mtdata id: {err}") from None
    from mtdata.index import INDEX

    if did not in INDEX.entries:
        raise ImporterError(f"dataset {name}: mtdata has no dataset {did_text}: find the id "
                            "with `mtdata list -id`")
    return INDEX.entries[did]


def mtdata_sources(did_text: str, langs: list[str], ctx: Context,
                   tmp: str) -> list[Iterator[str]]:
    """Resolve through mtdata's index, fetch through http.fetch, parse with mtdata's
    parsers (tsv, tmx, sgm, ...) on safely extracted members."""
    from mtdata.iso.bcp47 import bcp47
    from mtdata.parser import Parser

    entry = mtdata_entry(did_text, ctx.name)
    if not isinstance(entry.url, str):
        raise ImporterError(f"dataset {ctx.name}: mtdata entries made of several downloads "
                            f"({type(entry).__name__}) are not supported: use url_ or local_")
    path = ctx.fetch(mirrored(entry.url, ctx.base("mtdata")), entry.filename)
    if entry.is_archive:
        paths = archives.extract(path, entry.in_paths, tmp, ctx.max_bytes,
                                 f"dataset {ctx.name}: {path}")
    else:
        paths = [path]
    ext = entry.in_ext or entry.ext
    # mtdata's parsers decompress and read on their own, without bounds: each file is first
    # read to its end here, checked for damage, size and (line formats) line length.
    for local in paths:
        try:
            scan(local, ctx.max_bytes, None if re.search("xml|tmx", str(ext)) else MAX_LINE * 4)
        except (OSError, LimitExceeded) as err:
            raise ctx.unreadable(local, err) from None
    dlangs = [str(lang) for lang in entry.did.langs]
    order = []
    for lang in langs:
        tag = bcp47(lang)
        matches = [i for i, d in enumerate(entry.did.langs) if d.is_compatible(tag)]
        if not matches:
            raise ImporterError(f"dataset {ctx.name}: holds {'-'.join(dlangs)}, not {lang}")
        order.append(matches[0])

    def segments() -> Iterator[tuple]:
        parser = Parser([Path(p) for p in paths], ext=ext, ent=entry)
        try:
            for seg in parser.read_segs(show_pbar=False):
                yield (seg,) if isinstance(seg, str) else tuple(seg)
        except ImporterError:
            raise
        except (EOFError, OSError) as err:  # a cut or damaged .gz/.xz
            raise CorruptDownload(f"dataset {ctx.name}: {path} is corrupt or truncated: "
                                  f"{err}") from None
        except Exception as err:  # mtdata's parsers raise plain exceptions
            raise ImporterError(f"dataset {ctx.name}: mtdata could not parse {path}: "
                                f"{type(err).__name__}: {err}") from None

    rows = segments()
    return [_Column(rows, order)]


class _Column:
    """Marker: one iterator yielding whole rows, to pick columns from."""

    def __init__(self, rows: Iterator[tuple], order: list[int]):
        self.rows, self.order = rows, order


def sources(name: str, langs: list[str], ctx: Context, tmp: str):
    importer, rest = split_name(name)
    if importer == "opus":
        return opus_sources(rest, langs, ctx)
    if importer == "flores":
        return flores_sources(rest, langs, ctx)
    if importer == "news-crawl":
        return news_crawl_sources(rest, langs, ctx)
    if importer == "url":
        return url_sources(rest, langs, ctx)
    if importer == "sacrebleu":
        return sacrebleu_sources(rest, langs, ctx, tmp)
    if importer == "mtdata":
        return mtdata_sources(rest, langs, ctx, tmp)
    raise ImporterError(f"dataset {name}: {importer}_ datasets are not downloaded")


def rows_of(srcs, name: str, langs: list[str]) -> Iterator[tuple[str, ...]]:
    """Aligned rows from per-language line sources; raise when their lengths differ."""
    if len(srcs) == 1 and isinstance(srcs[0], _Column):
        column = srcs[0]
        for row in column.rows:
            yield tuple(_one_line(str(row[i])) for i in column.order)
        return
    missing = object()
    done = 0
    for row in itertools.zip_longest(*srcs, fillvalue=missing):
        if missing in row:  # one side ended early: count what the others still hold
            counts = [done + (x is not missing) + (sum(1 for _ in src) if x is not missing else 0)
                      for x, src in zip(row, srcs)]
            listing = ", ".join(f"{lang} has {n}" for lang, n in zip(langs, counts))
            raise ImporterError(f"dataset {name}: line counts differ between the languages "
                                f"({listing} lines): the download is damaged or not parallel")
        done += 1
        yield row


# ---------------------------------------------------------------------------------------
# Import


def _batches(rows: Iterator[tuple], size: int = 10000) -> Iterator[list[tuple]]:
    batch = list(itertools.islice(rows, size))
    while batch:
        yield batch
        batch = list(itertools.islice(rows, size))


def import_dataset(name: str, langs: list[str], outputs: list[str], cache_dir: str,
                   mirrors: dict | None = None, max_bytes: int | None = None,
                   retries: int = http.RETRIES, timeout: float = http.TIMEOUT,
                   backoff: float = http.BACKOFF) -> int:
    """Import `name` in `langs` to `outputs` (.zst); return the line count. Downloads,
    extracted members and decompressed files are bounded by `max_bytes` (None: unbounded;
    the workflow passes downloads.max-bytes)."""
    import zstandard

    if len(langs) != len(outputs) or len(langs) not in (1, 2):
        raise ImporterError(f"dataset {name}: give one output per language (1 or 2)")
    check_dataset(name, langs)
    ctx = Context(name, cache_dir, mirrors, max_bytes, retries, timeout, backoff)
    lines = 0
    try:
        with contextlib.ExitStack() as stack:
            tmp = stack.enter_context(scratch_dir(outputs[0]))
            # Both sides are renamed into place only once both are complete.
            temps = [stack.enter_context(atomic_path(out)) for out in outputs]
            writers = []
            for temp in temps:
                raw = stack.enter_context(open(temp, "wb"))
                # Level 3: twice as fast as 6 for ~6% more bytes; cleaning rewrites them.
                # The checksum lets every later reader catch damage on disk.
                zst = zstandard.ZstdCompressor(level=3, write_checksum=True).stream_writer(
                    raw, closefd=False)
                writers.append(stack.enter_context(
                    io.TextIOWrapper(zst, encoding="utf-8", newline="\n")))
            # Rows are written in batches: one write per line costs more than the reading.
            for batch in _batches(rows_of(sources(name, langs, ctx, tmp), name, langs)):
                for writer, column in zip(writers, zip(*batch)):
                    writer.write("\n".join(column))
                    writer.write("\n")
                lines += len(batch)
            for writer in writers:
                writer.close()  # ends the zstd frame; the raw file closes with the stack
            if lines == 0:
                raise ImporterError(f"dataset {name}: the download holds no lines")
    except BaseException:
        # Downloads that gave no valid import are dropped too: a retry (say after a
        # mirror was fixed) must fetch them again rather than reuse them.
        if ctx.fetched:
            log.warning("dataset %s: removing its downloads %s", name, ", ".join(ctx.fetched))
        for fetched in ctx.fetched:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(fetched)
        raise
    log.info("dataset %s: %d lines in %s", name, lines, ", ".join(outputs))
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--langs", nargs="+", required=True)
    parser.add_argument("--outputs", nargs="+", required=True)
    parser.add_argument("--cache-dir", required=True)
    parser.add_argument("--mtdata-dir", help="where mtdata keeps its index ($MTDATA)")
    parser.add_argument("--mirrors", default="{}", help="JSON: importer -> base URL")
    # The limits of config `downloads`: required, the schema holds their defaults.
    parser.add_argument("--max-bytes", type=int, required=True)
    parser.add_argument("--retries", type=int, required=True)
    parser.add_argument("--timeout", type=float, required=True)
    args = parser.parse_args(argv)
    if args.mtdata_dir:
        os.environ["MTDATA"] = os.path.abspath(args.mtdata_dir)
    try:
        import_dataset(args.dataset, args.langs, args.outputs, args.cache_dir,
                       json.loads(args.mirrors), args.max_bytes, args.retries, args.timeout)
    except PipelineError as err:  # every message names the dataset
        if args.dataset in str(err):
            raise
        raise ImporterError(f"dataset {args.dataset}: {err}") from None
    return 0


if __name__ == "__main__":
    errors.run_main(main)
