"""Read members out of downloaded zip and tar archives without trusting them.

Corpus archives come from third parties and mirrors. A member is only ever read when it
was asked for by name (or by a glob pattern), its name must be a plain relative path (no
absolute path, no `..`, no backslash tricks) and it must be a regular file: symlinks,
hardlinks, devices and FIFOs are refused rather than followed. Every byte read is counted,
so a member that decompresses past `max_bytes` (a zip bomb, a lying header) stops with an
error instead of filling the disk. Members are streamed straight out of the archive;
`extract` writes only the named members, each through a temporary file.
"""

from __future__ import annotations

import contextlib
import fnmatch
import io
import lzma
import os
import posixpath
import stat
import tarfile
import zipfile
import zlib
from collections.abc import Iterator
from typing import IO

from mtdistill.common.errors import InputError

CHUNK = 1 << 20
# Errors the archive libraries raise on cut or corrupt input (lzma's for .tar.xz and xz
# zip members, which are no OSError).
CORRUPT = (zipfile.BadZipFile, tarfile.TarError, EOFError, zlib.error, lzma.LZMAError, OSError,
           ValueError)
# Zip compression methods Python reads; others (zstd, deflate64, PPMd...) raise
# NotImplementedError deep in zipfile.
ZIP_METHODS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate",
               zipfile.ZIP_BZIP2: "bzip2", zipfile.ZIP_LZMA: "lzma"}


class ArchiveError(InputError):
    """An archive that is corrupt, unsafe, or lacks a member; the message names it."""


def safe_name(name: str) -> str:
    """`name` normalized ('./a/b' -> 'a/b'); raise for names that could leave a folder."""
    if not name or "\\" in name or "\0" in name:
        raise ArchiveError(f"unsafe member name {name!r}")
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        raise ArchiveError(f"unsafe member name {name!r}: absolute path")
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise ArchiveError(f"unsafe member name {name!r}: '..' component")
    if not parts:
        raise ArchiveError(f"unsafe member name {name!r}")
    return "/".join(parts)


class _Bounded(io.RawIOBase):
    """A read-only stream that raises once more than `limit` bytes came through."""

    def __init__(self, raw: IO[bytes], limit: int | None, what: str):
        self._raw, self._limit, self._what, self._seen = raw, limit, what, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        try:
            data = self._raw.read(len(buffer))
        except CORRUPT as err:
            raise ArchiveError(f"{self._what} cannot be read (corrupt or truncated archive): "
                               f"{err}") from None
        self._seen += len(data)
        if self._limit is not None and self._seen > self._limit:
            raise ArchiveError(f"{self._what} is larger than the limit of {self._limit} bytes")
        buffer[: len(data)] = data
        return len(data)


class Archive:
    """A zip or tar (optionally gzip/bz2/xz-compressed) file, opened by content."""

    def __init__(self, path: str | os.PathLike, name: str | None = None):
        self.path, self.name = str(path), name or str(path)
        try:
            if zipfile.is_zipfile(self.path):
                self._zip: zipfile.ZipFile | None = zipfile.ZipFile(self.path)
                self._tar: tarfile.TarFile | None = None
            else:
                self._zip = None
                self._tar = tarfile.open(self.path, "r:*")
        except CORRUPT as err:
            raise ArchiveError(f"{self.name} is not a readable zip or tar archive: {err}") from None

    def close(self) -> None:
        (self._zip or self._tar).close()

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _entries(self) -> Iterator[tuple[str, object, str]]:
        """(raw name, info, kind) for every member; kind is file, dir or other."""
        try:
            if self._zip is not None:
                for info in self._zip.infolist():
                    mode = info.external_attr >> 16
                    if info.is_dir():
                        kind = "dir"
                    elif stat.S_IFMT(mode) and not stat.S_ISREG(mode):
                        kind = "other"  # symlink, device or FIFO stored with Unix mode bits
                    else:
                        kind = "file"
                    yield info.filename, info, kind
            else:
                for info in self._tar:
                    kind = "file" if info.isreg() else "dir" if info.isdir() else "other"
                    yield info.name, info, kind
        except CORRUPT as err:
            raise ArchiveError(f"{self.name} is corrupt or truncated: {err}") from None

    def members(self) -> list[str]:
        """Names of the regular files (unsafe names are listed raw, never opened)."""
        return [name for name, _, kind in self._entries() if kind == "file"]

    def _find(self, wanted: str) -> tuple[str, object]:
        wanted = safe_name(wanted)
        for name, info, kind in self._entries():
            if name.rstrip("/") and _normal(name) == wanted:
                if kind != "file":
                    raise ArchiveError(
                        f"{self.name}: member {name!r} is not a regular file (a symlink, "
                        "hardlink or device): refused"
                    )
                safe_name(name)
                return name, info
        raise ArchiveError(f"{self.name} has no member {wanted}")

    def match(self, pattern: str) -> list[str]:
        """Regular members whose name matches a glob pattern; refuse unsafe matches."""
        found = []
        for name, _, kind in self._entries():
            if fnmatch.fnmatch(_normal(name), pattern) or fnmatch.fnmatch(name, pattern):
                if kind == "dir":
                    continue
                if kind != "file":
                    raise ArchiveError(f"{self.name}: member {name!r} is not a regular file: refused")
                found.append(safe_name(name))
        return found

    @contextlib.contextmanager
    def open(self, member: str, max_bytes: int | None = None) -> Iterator[IO[bytes]]:
        """A binary stream of one member, counted against `max_bytes`."""
        name, info = self._find(member)
        what = f"{self.name}:{name}"
        if self._zip is not None:
            if info.flag_bits & 0x1:
                raise ArchiveError(f"{what} is encrypted: encrypted archives are not supported; "
                                   "use an unencrypted copy of the file")
            if info.compress_type not in ZIP_METHODS:
                raise ArchiveError(
                    f"{what} is compressed with zip method {info.compress_type}, which cannot "
                    f"be read here (only {', '.join(ZIP_METHODS.values())}): repack it, e.g. "
                    "with `zip -Z deflate`, or use another copy"
                )
        try:
            raw = self._zip.open(info) if self._zip is not None else self._tar.extractfile(info)
        except (*CORRUPT, RuntimeError, NotImplementedError) as err:
            raise ArchiveError(f"{what} cannot be read (corrupt archive): {err}") from None
        with raw, io.BufferedReader(_Bounded(raw, max_bytes, what), CHUNK) as stream:
            yield stream

    def extract(self, member: str, dest: str | os.PathLike, max_bytes: int | None = None) -> int:
        """Copy one member to `dest` through a temporary file; return its size."""
        dest = str(dest)
        tmp = f"{dest}.part"
        size = 0
        try:
            with self.open(member, max_bytes) as stream, open(tmp, "wb") as out:
                while chunk := stream.read(CHUNK):
                    out.write(chunk)
                    size += len(chunk)
            os.replace(tmp, dest)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        return size


def _normal(name: str) -> str:
    """'./a//b' -> 'a/b', for comparing names; never used to build a path."""
    while name.startswith("./"):
        name = name[2:]
    return posixpath.normpath(name) if name else name


def extract(archive: str | os.PathLike, members: list[str], dest_dir: str | os.PathLike,
            max_bytes: int | None = None, name: str | None = None) -> list[str]:
    """Extract the named members (glob patterns allowed) under dest_dir, keeping their
    relative paths; the total is bounded by max_bytes. Return the written paths."""
    written, left = [], max_bytes
    with Archive(archive, name) as arc:
        for wanted in members:
            names = arc.match(wanted) if any(c in wanted for c in "*?[") else [safe_name(wanted)]
            if not names:
                raise ArchiveError(f"{arc.name} has no member matching {wanted}")
            for member in names:
                path = os.path.join(str(dest_dir), *member.split("/"))
                os.makedirs(os.path.dirname(path), exist_ok=True)
                size = arc.extract(member, path, left)
                left = None if left is None else left - size
                written.append(path)
    return written
