"""Streaming text I/O shared by the scripts: zstd/gzip/xz/bz2/plain by suffix, atomic writes.

Every corpus is streamed, line by line or in blocks of whole lines; nothing here loads a
whole file. The readers have the zstd command line decompress big .zst files in a process of
its own, in parallel with Python's decoding (benchmarks/data_path.py).

A compressed file that is cut short or damaged raises CorruptInput (an OSError) naming the
file, whichever decompressor reads it: a reader never hands out the first part of a cut file
as if it were all of it. Readers given `max_bytes` / `max_line` raise LimitExceeded once the
decompressed text passes them (a decompression bomb), without holding more than a block.
"""

from __future__ import annotations

import bz2
import codecs
import contextlib
import fcntl
import gzip
import io
import itertools
import lzma
import os
import re
import shutil
import subprocess
import tempfile
import zlib
from typing import IO, Iterator

import zstandard

from mtdistill.common.errors import InputError

ZSTD_LEVEL = 6
# Bytes decompressed per read by the block readers below (read_lines, count_lines,
# read_text_blocks): big enough that per-block costs vanish, small enough that a block, its
# text and its lines stay in a core's cache (1 MB blocks made decode + split ~2x slower).
BLOCK_SIZE = 1 << 18
# The zstd command line decompresses .zst files of ZSTD_CLI_MIN_BYTES or more for the readers
# when installed (see _zstd_blocks); smaller ones are not worth starting a process (a few ms).
ZSTD_CLI = shutil.which("zstd")
ZSTD_CLI_MIN_BYTES = 1 << 20


class CorruptInput(InputError, OSError):
    """A compressed file that is cut short or damaged; the message names the file, `reason`
    says what the decompressor found and `truncated` whether the file ends too early."""

    reason: str = ""
    truncated: bool = False


class LimitExceeded(InputError, ValueError):
    """Text that decompresses past a bound given to a reader; the message names the file,
    `bound` which bound: "bytes" (max_bytes) or "line" (max_line)."""

    def __init__(self, message: str, bound: str):
        super().__init__(message)
        self.bound = bound


SUFFIXES = ".zst, .gz, .xz, .bz2 or none"
# What the decompressors raise on damaged input: zstandard's errors (by class: their module is
# zstandard.backend_c), a cut gzip/xz/bz2 stream (EOFError), deflate, xz and bz2 errors, and
# gzip's BadGzipFile (an OSError, like bz2's "Invalid data stream").
_DAMAGE = (zstandard.ZstdError, EOFError, zlib.error, lzma.LZMAError, OSError)


def _corrupt(path, err: BaseException | str, truncated: bool | None = None) -> CorruptInput:
    error = CorruptInput(
        f"{path} is corrupt or truncated ({err}): check that the file is complete and that "
        f"its suffix ({SUFFIXES}) matches its compression"
    )
    error.reason = str(err)
    error.truncated = isinstance(err, EOFError) if truncated is None else truncated
    return error


class _ZstdFrames:
    """Follows the zstd frame layout (RFC 8878) over the compressed bytes, to tell a file
    that ends between two frames from one cut inside a frame: python-zstandard's reader ends
    a cut file silently. Only headers are read; block contents are skipped by their size."""

    MAGIC, SKIPPABLE = 0xFD2FB528, 0x184D2A50

    def __init__(self):
        self._state, self._want, self._skip, self._head = "magic", 4, 0, b""
        self._checksum = False

    def feed(self, data: bytes) -> None:
        pos, end = 0, len(data)
        while pos < end:
            if self._skip:
                step = min(self._skip, end - pos)
                self._skip -= step
                pos += step
                continue
            take = min(self._want - len(self._head), end - pos)
            self._head += data[pos : pos + take]
            pos += take
            if len(self._head) == self._want:
                head, self._head = self._head, b""
                self._advance(head)

    def _advance(self, head: bytes) -> None:
        """A header is complete: set the next state, and what to skip before it."""
        value = int.from_bytes(head, "little")
        if self._state == "magic":
            if value == self.MAGIC:
                self._state, self._want = "descriptor", 1
            elif value & 0xFFFFFFF0 == self.SKIPPABLE:
                self._state, self._want = "skippable", 4
            else:
                raise ValueError("not a zstd frame where one should start")
        elif self._state == "skippable":  # a frame of metadata: its size, then its bytes
            self._state, self._want, self._skip = "magic", 4, value
        elif self._state == "descriptor":
            fcs, single = value >> 6, value >> 5 & 1
            if value >> 3 & 1:
                raise ValueError("reserved bit set in a zstd frame header")
            self._checksum = bool(value >> 2 & 1)
            rest = (0 if single else 1) + (0, 1, 2, 4)[value & 3]
            rest += (single, 2, 4, 8)[fcs]  # content size: 1 byte only in single segment
            self._state, self._want, self._skip = "block", 3, rest
        else:  # a block header: last flag, type, size
            last, kind, size = value & 1, value >> 1 & 3, value >> 3
            if kind == 3:
                raise ValueError("reserved zstd block type")
            self._skip = 1 if kind == 1 else size  # an RLE block holds one byte
            if last:
                self._skip += 4 if self._checksum else 0
                self._state, self._want = "magic", 4

    def finish(self) -> None:
        if self._state != "magic" or self._head or self._skip:
            raise ValueError("the data ends inside a zstd frame: the file was cut short")


class _Tee:
    """A source for python-zstandard's reader that shows every byte read to `seen`."""

    def __init__(self, raw: IO[bytes], seen):
        self._raw, self._seen = raw, seen

    def read(self, size: int = -1) -> bytes:
        data = self._raw.read(size)
        self._seen(data)
        return data

    def close(self) -> None:
        self._raw.close()


class _Decompressed(io.RawIOBase):
    """The decompressed bytes of a file, by suffix; any damage raises CorruptInput naming
    the file, a .zst cut between two blocks included."""

    def __init__(self, path: str):
        self._path, self._frames, self._stream = path, None, None
        if path.endswith(".zst"):
            self._frames = _ZstdFrames()
            raw = _Tee(open(path, "rb"), self._frames_feed)
            self._stream = zstandard.ZstdDecompressor().stream_reader(
                raw, read_across_frames=True, closefd=True)
        elif path.endswith(".gz"):
            self._stream = gzip.open(path, "rb")
        elif path.endswith(".xz"):
            self._stream = lzma.open(path, "rb")
        elif path.endswith(".bz2"):
            self._stream = bz2.open(path, "rb")
        else:
            self._stream = open(path, "rb")

    def _frames_feed(self, data: bytes) -> None:
        try:
            self._frames.feed(data)
        except ValueError as err:
            raise _corrupt(self._path, err) from None

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            return self.readall()
        try:
            data = self._stream.read(size)
        except CorruptInput:
            raise
        except _DAMAGE as err:
            raise _corrupt(self._path, err) from None
        if not data and size and self._frames is not None:
            try:
                self._frames.finish()
            except ValueError as err:
                raise _corrupt(self._path, err, truncated=True) from None
        return data

    def readinto(self, buffer) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if self._stream is not None and not self.closed:
            self._stream.close()
        super().close()


def open_read(path: str | os.PathLike) -> IO[str]:
    """Open a corpus for reading text, decompressing by suffix (damage: CorruptInput)."""
    stream = io.BufferedReader(_Decompressed(str(path)), BLOCK_SIZE)
    return io.TextIOWrapper(stream, encoding="utf-8", newline="\n")


def _open_read_binary(path: str | os.PathLike) -> IO[bytes]:
    return _Decompressed(str(path))


def _zstd_blocks(path: str | os.PathLike) -> Iterator[bytes]:
    """Yield a .zst's decompressed bytes in blocks of at most BLOCK_SIZE from `zstd -dc`.

    The decompression runs in another process, in parallel with the consumer's decoding and
    splitting, without the GIL: a read of 2M lines then costs about the larger of the two
    instead of their sum. (A read-ahead thread running python-zstandard was no faster than
    reading in line: it waits up to 5 ms for the GIL each time it needs it while the consumer
    works.) zstd's errors (corrupt, truncated) raise CorruptInput at the end. Closing this
    generator, or dropping it, kills the process and waits for it. Memory: the pipe (1 MB)
    and a block.
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
            raise _corrupt(path, f"zstd -d: {error}", truncated="premature end" in error)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stdout.close()
        proc.stderr.close()
        proc.wait()


def _blocks(path: str | os.PathLike, max_bytes: int | None = None) -> Iterator[bytes]:
    """A corpus's decompressed bytes in blocks of at most BLOCK_SIZE; more than `max_bytes`
    of them raise LimitExceeded."""
    if ZSTD_CLI and str(path).endswith(".zst") and os.path.getsize(path) >= ZSTD_CLI_MIN_BYTES:
        blocks = _zstd_blocks(path)
    else:
        blocks = _stream_blocks(path)
    if max_bytes is None:
        yield from blocks
        return
    seen = 0
    with contextlib.closing(blocks):
        for data in blocks:
            seen += len(data)
            if seen > max_bytes:
                raise LimitExceeded(f"{path} decompresses to more than {max_bytes} bytes", "bytes")
            yield data


def _stream_blocks(path: str | os.PathLike) -> Iterator[bytes]:
    with _open_read_binary(path) as handle:
        while data := handle.read(BLOCK_SIZE):
            yield data


def scan(path: str | os.PathLike, max_bytes: int | None = None,
         max_line: int | None = None) -> tuple[int, int]:
    """Decompress `path` to the end without keeping it or decoding it; return its size in
    bytes and its number of lines (a last line without a newline counts). Raise
    CorruptInput if it is damaged, LimitExceeded past `max_bytes` or for a line (in bytes)
    longer than `max_line`."""
    size, lines, run, last = 0, 0, 0, b"\n"  # run: bytes since the last newline
    for data in _blocks(path, max_bytes):
        size += len(data)
        lines += data.count(b"\n")
        last = data[-1:]
        if max_line is None:
            continue
        first = data.find(b"\n")
        if first < 0:
            run += len(data)
            longest = run
        else:
            longest = run + first
            end = data.rfind(b"\n")
            if end - first > max_line:  # whole lines inside the block may be too long
                longest = max(longest, *map(len, data[first + 1 : end].split(b"\n")))
            run = len(data) - end - 1
            longest = max(longest, run)
        if longest > max_line:
            raise LimitExceeded(f"{path} has a line longer than {max_line} bytes", "line")
    return size, lines + (last != b"\n")


def check_zst(path: str | os.PathLike, name: str | None = None,
              max_bytes: int | None = None) -> int:
    """Decompress `path` fully as a stream; return its line count. Raise InputError if it is
    not a complete zstd file (empty, cut, damaged), LimitExceeded if (given `max_bytes`) it
    decompresses to more than that.

    python-zstandard's stream reader accepts a truncated file silently; the readers here
    follow the frames and fail unless the file ends exactly at the end of one. `name` is
    what error messages call the file (default: the path).
    """
    name = name or str(path)
    if os.path.getsize(path) == 0:
        raise InputError(f"{name} is not a valid zstd file: it is empty or truncated")
    try:
        return scan(str(path), max_bytes)[1]
    except CorruptInput as err:
        what = "it is empty or truncated" if err.truncated else "it is damaged"
        raise InputError(f"{name} is not a valid zstd file: {what} ({err.reason})") from None


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
        # With a checksum, a byte damaged later on disk is caught by every reader.
        cctx = zstandard.ZstdCompressor(level=ZSTD_LEVEL, threads=0, write_checksum=True)
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


def _line_lists(path: str | os.PathLike, max_bytes: int | None = None,
                max_line: int | None = None) -> Iterator[list[str]]:
    """The lines of a corpus (without their newline), a list per block read."""
    return _split(_blocks(path, max_bytes), path, max_line)


def _split(blocks: Iterator[bytes], name, max_line: int | None) -> Iterator[list[str]]:
    """Lines (without their newline) of UTF-8 blocks, a list per block."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    rest, lines, count = "", [], 0
    try:
        for data in blocks:
            lines = decoder.decode(data).split("\n")
            lines[0] = rest + lines[0]  # the line the block before left unfinished
            rest = lines.pop()
            if max_line is not None:
                # Checked per block: a line without end (a bomb) stops within a block of
                # the bound instead of growing in memory. A line inside one block is no
                # longer than the block: only the first and the unfinished one can be long.
                inner = lines if max_line < len(data) else lines[:1]
                longest = max(len(rest), max(map(len, inner), default=0))
                if longest > max_line:
                    at = count + next((i for i, line in enumerate(lines) if len(line) > max_line),
                                      len(lines)) + 1
                    raise LimitExceeded(f"{name}: line {at} is longer than {max_line} characters", "line")
                count += len(lines)
            yield lines
        rest += decoder.decode(b"", final=True)
        if rest:
            yield [rest]  # a last line without a newline
    finally:
        # Closed early (Lines.close): the chain would still hand out the rest of the list
        # it is in. Otherwise the list was used up before this generator ran again.
        lines.clear()
        if hasattr(blocks, "close"):
            blocks.close()


class Lines(itertools.chain):
    """The iterator read_lines returns: an itertools.chain of _line_lists (its C next() per
    line costs half of a generator's `yield from`), plus close() to stop its reading early."""

    __slots__ = ("_source",)

    def close(self) -> None:
        self._source.close()


def read_lines(path: str | os.PathLike, *, max_bytes: int | None = None,
               max_line: int | None = None) -> Lines:
    """Iterate over the lines of a corpus, without their newline.

    Only `\n` ends a line (`\r`, U+2028 and the like stay in it); a last line without a
    newline is a line; a BOM is kept; invalid UTF-8 raises UnicodeDecodeError, a damaged
    compressed file CorruptInput. Reading is lazy: nothing is opened before the first line
    is asked for. Drop the iterator or call close() to stop early
    (benchmarks/data_path.py measures it against the zstd CLI). Given `max_bytes` (of
    decompressed text) or `max_line` (characters in a line), passing them raises
    LimitExceeded: for input from elsewhere, which may be a decompression bomb.
    """
    source = _line_lists(path, max_bytes, max_line)
    lines = Lines.from_iterable(source)
    lines._source = source
    return lines


def stream_lines(stream: IO[bytes], name: str, max_line: int | None = None) -> Lines:
    """The lines of an open binary UTF-8 stream (an archive member), as read_lines reads a
    file; `name` is what errors call it."""
    source = _split(iter(lambda: stream.read(BLOCK_SIZE), b""), name, max_line)
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


def plain_copy(path: str | os.PathLike, tmp_dir: str | os.PathLike) -> str:
    """`path` as Marian can read it (plain or gzip text): a .zst file is decompressed to a
    plain copy in `tmp_dir` (named like it, less .zst), other files are used as they are."""
    path = str(path)
    if not path.endswith(".zst"):
        return path
    base = os.path.basename(path)[: -len(".zst")]
    out, n = os.path.join(tmp_dir, base), 1
    while os.path.exists(out):  # two inputs of the same name from different folders
        out, n = os.path.join(tmp_dir, f"{n}.{base}"), n + 1
    with open_read(path) as src, open(out, "w", encoding="utf-8") as dst:
        shutil.copyfileobj(src, dst, 1 << 20)
    return out


def write_lines(path: str | os.PathLike, lines) -> int:
    """Write an iterable of lines atomically; return how many were written."""
    n = 0
    with atomic_write(path) as out:
        for line in lines:
            out.write(line)
            out.write("\n")
            n += 1
    return n


class LineCountMismatch(InputError):
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
