"""Streaming text I/O shared by the scripts: zstd/gzip/plain by suffix, atomic writes.

Every corpus is streamed, line by line or in blocks of whole lines; nothing here loads a
whole file.
"""

from __future__ import annotations

import codecs
import contextlib
import gzip
import io
import itertools
import os
import tempfile
from pathlib import Path
from typing import IO, Iterator

import zstandard

ZSTD_LEVEL = 6
# Bytes decompressed per read by the block readers below (read_lines, count_lines,
# read_text_blocks): big enough that per-block costs vanish, small enough to stay streaming.
BLOCK_SIZE = 1 << 20


def open_read(path: str | os.PathLike) -> IO[str]:
    """Open a corpus for reading text, decompressing by suffix."""
    path = str(path)
    if path.endswith(".zst"):
        raw = open(path, "rb")
        stream = zstandard.ZstdDecompressor().stream_reader(raw, closefd=True)
        return io.TextIOWrapper(stream, encoding="utf-8", newline="\n")
    if path.endswith(".gz"):
        return gzip.open(path, "rt", encoding="utf-8", newline="\n")
    return open(path, encoding="utf-8", newline="\n")


def _open_read_binary(path: str | os.PathLike) -> IO[bytes]:
    path = str(path)
    if path.endswith(".zst"):
        return zstandard.ZstdDecompressor().stream_reader(open(path, "rb"), closefd=True)
    if path.endswith(".gz"):
        return gzip.open(path, "rb")
    return open(path, "rb")


def read_text_blocks(path: str | os.PathLike) -> Iterator[str]:
    """Yield the text of a corpus in blocks of whole lines, decompressing by suffix.

    Every block but the last ends with a newline; the blocks joined are the file's text
    (UTF-8, newlines untranslated, as open_read gives it). Memory: about BLOCK_SIZE.
    """
    decoder = codecs.getincrementaldecoder("utf-8")()
    rest = ""
    with _open_read_binary(path) as handle:
        while data := handle.read(BLOCK_SIZE):
            text = rest + decoder.decode(data)
            cut = text.rfind("\n") + 1
            if cut:
                yield text[:cut]
                rest = text[cut:]
            else:
                rest = text
    rest += decoder.decode(b"", final=True)
    if rest:
        yield rest


def _open_write_raw(path: str, handle: IO[bytes]) -> IO[str]:
    if path.endswith(".zst"):
        cctx = zstandard.ZstdCompressor(level=ZSTD_LEVEL, threads=0)
        stream = cctx.stream_writer(handle, closefd=False)
        return io.TextIOWrapper(stream, encoding="utf-8", newline="\n")
    if path.endswith(".gz"):
        return io.TextIOWrapper(
            gzip.GzipFile(fileobj=handle, mode="wb"), encoding="utf-8", newline="\n"
        )
    return io.TextIOWrapper(handle, encoding="utf-8", newline="\n", write_through=False)


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike) -> Iterator[IO[str]]:
    """Write text to `path` through a temporary file renamed into place on success.

    A crash or an exception leaves no half-written `path` behind.
    """
    path = str(path)
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=os.path.basename(path), dir=directory)
    try:
        with os.fdopen(fd, "wb") as raw:
            text = _open_write_raw(path, raw)
            yield text
            # Closing the wrapper ends the compressed frame; the raw file closes after.
            text.close()
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[str]:
    """Yield a temporary path next to `path`; rename it into place on success."""
    path = str(path)
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=os.path.basename(path), dir=directory)
    os.close(fd)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def read_lines(path: str | os.PathLike) -> Iterator[str]:
    """Yield lines without their newline."""
    # Splitting blocks of whole lines: ~10% less time than a readline per line through
    # TextIOWrapper, and close to the cost of making the str objects at all
    # (benchmarks/data_path.py).
    for block in read_text_blocks(path):
        lines = block.split("\n")
        if lines[-1] == "":
            lines.pop()  # the block ended with a newline
        yield from lines


def count_lines(path: str | os.PathLike) -> int:
    """Number of lines (a last line without a newline counts); the text must be UTF-8."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    n, last = 0, b"\n"
    with _open_read_binary(path) as handle:
        while data := handle.read(BLOCK_SIZE):
            decoder.decode(data)  # raises on invalid UTF-8, as reading the lines would
            n += data.count(b"\n")
            last = data[-1:]
    decoder.decode(b"", final=True)
    return n + (last != b"\n")


def write_lines(path: str | os.PathLike, lines) -> int:
    """Write an iterable of lines atomically; return how many were written."""
    n = 0
    with atomic_write(path) as out:
        for line in lines:
            out.write(line)
            out.write("\n")
            n += 1
    return n


def ensure_parent(path: str | os.PathLike) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)


class LineCountMismatch(SystemExit):
    """Two files that must be line-parallel are not."""


def read_pairs(path_a: str | os.PathLike, path_b: str | os.PathLike) -> Iterator[tuple[str, str]]:
    """Yield line pairs of two parallel files; raise if their line counts differ."""
    missing = object()
    for a, b in itertools.zip_longest(read_lines(path_a), read_lines(path_b), fillvalue=missing):
        if a is missing or b is missing:
            raise LineCountMismatch(
                f"line counts differ between {path_a} and {path_b}: "
                "the two sides of a parallel corpus must have one line per sentence"
            )
        yield a, b
