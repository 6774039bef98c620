"""Streaming text I/O shared by the scripts: zstd/gzip/plain by suffix, atomic writes.

Every corpus is streamed, line by line or in blocks of whole lines; nothing here loads a
whole file. The readers have the zstd command line decompress big .zst files in a process of
its own, in parallel with Python's decoding (benchmarks/data_path.py).
"""

from __future__ import annotations

import codecs
import contextlib
import fcntl
import gzip
import io
import itertools
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import IO, Iterator

import zstandard

ZSTD_LEVEL = 6
# Bytes decompressed per read by the block readers below (read_lines, count_lines,
# read_text_blocks): big enough that per-block costs vanish, small enough that a block, its
# text and its lines stay in a core's cache (1 MB blocks made decode + split ~2x slower).
BLOCK_SIZE = 1 << 18
# The zstd command line decompresses .zst files of ZSTD_CLI_MIN_BYTES or more for the readers
# when installed (see _zstd_blocks); smaller ones are not worth starting a process (a few ms).
ZSTD_CLI = shutil.which("zstd")
ZSTD_CLI_MIN_BYTES = 1 << 20


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


def _zstd_blocks(path: str | os.PathLike) -> Iterator[bytes]:
    """Yield a .zst's decompressed bytes in blocks of at most BLOCK_SIZE from `zstd -dc`.

    The decompression runs in another process, in parallel with the consumer's decoding and
    splitting, without the GIL: a read of 2M lines then costs about the larger of the two
    instead of their sum. (A read-ahead thread running python-zstandard was no faster than
    reading in line: it waits up to 5 ms for the GIL each time it needs it while the consumer
    works.) zstd's errors (corrupt, truncated: python-zstandard accepts a cut file silently)
    raise ZstdError at the end. Closing this generator, or dropping it, kills the process
    and waits for it. Memory: the pipe (1 MB) and a block.
    """
    with open(path, "rb") as source:  # a missing file raises here, in the caller
        if os.fstat(source.fileno()).st_size == 0:
            return  # no text, as python-zstandard reads it (zstd -d rejects it from stdin)
        proc = subprocess.Popen([ZSTD_CLI, "-dcq"], stdin=source, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, bufsize=0)
    try:
        with contextlib.suppress(AttributeError, OSError):  # Linux only; a bigger buffer
            fcntl.fcntl(proc.stdout.fileno(), fcntl.F_SETPIPE_SZ, 1 << 20)
        while data := proc.stdout.read(BLOCK_SIZE):
            yield data
        error = proc.stderr.read().decode(errors="replace").strip()
        if proc.wait():
            raise zstandard.ZstdError(f"{path}: zstd -d failed: {error}")
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stdout.close()
        proc.stderr.close()
        proc.wait()


def _blocks(path: str | os.PathLike) -> Iterator[bytes]:
    """A corpus's decompressed bytes in blocks of at most BLOCK_SIZE."""
    if ZSTD_CLI and str(path).endswith(".zst") and os.path.getsize(path) >= ZSTD_CLI_MIN_BYTES:
        yield from _zstd_blocks(path)
    else:
        with _open_read_binary(path) as handle:
            while data := handle.read(BLOCK_SIZE):
                yield data


def read_text_blocks(path: str | os.PathLike) -> Iterator[str]:
    """Yield the text of a corpus in blocks of whole lines, decompressing by suffix.

    Every block but the last ends with a newline; the blocks joined are the file's text
    (UTF-8, newlines untranslated, as open_read gives it). Memory: about 2 MB.
    """
    decoder = codecs.getincrementaldecoder("utf-8")()
    rest = ""
    for data in _blocks(path):
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


# Temporaries sit next to their destination as `.tmp-XXXXXXXX{name}` (files) or
# `.tmp-XXXXXXXX{name}.d` (directories), each flock()ed by its writer while it lives. A
# writer killed outright (SIGKILL, a node lost) cannot delete its temporary, but the kernel
# drops its lock: the next writer of the same destination removes such orphans, and never
# a live writer's temporary.


def _try_lock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError:  # held by a live writer, or a filesystem without locks
        return False


def remove_orphans(path: str | os.PathLike) -> list[str]:
    """Delete the temporaries of `path` that killed writers left behind; return them."""
    directory, name = os.path.split(os.path.abspath(path))
    pattern = re.compile(r"\.tmp-[a-z0-9_]{8}" + re.escape(name) + r"(\.d)?")
    removed = []
    try:
        entries = [e for e in os.scandir(directory) if pattern.fullmatch(e.name)]
    except FileNotFoundError:
        return removed
    for entry in entries:
        try:
            fd = os.open(entry.path, os.O_RDONLY)
        except OSError:
            continue
        try:
            # Unlocked, and still the same file: nobody is writing it.
            if _try_lock(fd) and os.path.samestat(os.fstat(fd), os.lstat(entry.path)):
                if entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(entry.path, ignore_errors=True)
                else:
                    os.unlink(entry.path)
                removed.append(entry.path)
        except OSError:
            pass
        finally:
            os.close(fd)
    return removed


_UMASK = os.umask(0o022)
os.umask(_UMASK)


def _locked_temp(path: str, directory: bool = False) -> tuple[int, str]:
    """A new temporary next to `path`, locked through the returned fd (caller closes)."""
    parent = os.path.dirname(os.path.abspath(path))
    os.makedirs(parent, exist_ok=True)
    remove_orphans(path)
    name = os.path.basename(path)
    while True:
        if directory:
            tmp = tempfile.mkdtemp(prefix=".tmp-", suffix=name + ".d", dir=parent)
            fd = os.open(tmp, os.O_RDONLY)
        else:
            fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=name, dir=parent)
        _try_lock(fd)
        # mkstemp/mkdtemp make it private; outputs are shared data, as with open().
        os.fchmod(fd, (0o777 if directory else 0o666) & ~_UMASK)
        # Between creating and locking, another writer's cleanup could have taken it.
        with contextlib.suppress(FileNotFoundError):
            if os.path.samestat(os.fstat(fd), os.lstat(tmp)):
                return fd, tmp
        os.close(fd)


@contextlib.contextmanager
def scratch_dir(path: str | os.PathLike) -> Iterator[str]:
    """A working directory next to `path` (same filesystem), removed on exit; one a killed
    run left behind is removed by the next run writing `path`."""
    fd, tmp = _locked_temp(str(path), directory=True)
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        os.close(fd)


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike) -> Iterator[str]:
    """Fill a temporary directory, renamed to `path` (replacing it) on success: `path`
    never exists half-filled."""
    path = str(path)
    fd, tmp = _locked_temp(path, directory=True)
    try:
        yield tmp
        if os.path.isfile(path) or os.path.islink(path):
            os.unlink(path)
        if os.path.lexists(path):
            # Renamed aside first (an unlocked name: an orphan if we die before rmtree).
            old = tempfile.mkdtemp(prefix=".tmp-", suffix=os.path.basename(path) + ".d",
                                   dir=os.path.dirname(os.path.abspath(path)))
            os.replace(path, old)
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike) -> Iterator[IO[str]]:
    """Write text to `path` through a temporary file renamed into place on success.

    A crash or an exception leaves no half-written `path` behind.
    """
    path = str(path)
    fd, tmp = _locked_temp(path)
    try:
        with os.fdopen(os.dup(fd), "wb") as raw:
            text = _open_write_raw(path, raw)
            yield text
            # Closing the wrapper ends the compressed frame; the raw file closes after.
            text.close()
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    finally:
        os.close(fd)  # releases the lock


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[str]:
    """Yield a temporary path next to `path`; rename it into place on success."""
    path = str(path)
    fd, tmp = _locked_temp(path)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    finally:
        os.close(fd)  # releases the lock


def _line_lists(path: str | os.PathLike) -> Iterator[list[str]]:
    """The lines of a corpus (without their newline), a list per block read."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    rest, lines = "", []
    try:
        for data in _blocks(path):
            lines = decoder.decode(data).split("\n")
            lines[0] = rest + lines[0]  # the line the block before left unfinished
            rest = lines.pop()
            yield lines
        rest += decoder.decode(b"", final=True)
        if rest:
            yield [rest]  # a last line without a newline
    finally:
        # Closed early (Lines.close): the chain would still hand out the rest of the list
        # it is in. Otherwise the list was used up before this generator ran again.
        lines.clear()


class Lines(itertools.chain):
    """The iterator read_lines returns: an itertools.chain of _line_lists (its C next() per
    line costs half of a generator's `yield from`), plus close() to stop its reading early."""

    __slots__ = ("_source",)

    def close(self) -> None:
        self._source.close()


def read_lines(path: str | os.PathLike) -> Lines:
    """Iterate over the lines of a corpus, without their newline.

    Only `\n` ends a line (`\r`, U+2028 and the like stay in it); a last line without a
    newline is a line; a BOM is kept; invalid UTF-8 raises UnicodeDecodeError. Reading is
    lazy: nothing is opened before the first line is asked for. Drop the iterator or call
    close() to stop early (benchmarks/data_path.py measures it against the zstd CLI).
    """
    source = _line_lists(path)
    lines = Lines.from_iterable(source)
    lines._source = source
    return lines


def count_lines(path: str | os.PathLike) -> int:
    """Number of lines (a last line without a newline counts); the text must be UTF-8."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    n, last = 0, b"\n"
    for data in _blocks(path):
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
