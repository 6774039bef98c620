"""mtdistill.common.textio: compressed text I/O, atomic outputs, and its readers (exact text,
zstd in a process or in-process, errors)."""

from __future__ import annotations

import os

import pytest

from mtdistill.common.errors import PipelineError
from mtdistill.common import textio
from conftest import lines


def test_roundtrip_zst_gz_plain(tmp_path):
    for suffix in (".zst", ".gz", ".txt"):
        path = tmp_path / f"a{suffix}"
        assert textio.write_lines(path, ["α", "", "b c"]) == 3
        assert lines(path) == ["α", "", "b c"]
        assert textio.count_lines(path) == 3


def test_atomic_write_leaves_nothing_on_error(tmp_path):
    path = tmp_path / "out.zst"
    with pytest.raises(RuntimeError):
        with textio.atomic_write(path) as out:
            out.write("partial\n")
            raise RuntimeError("boom")
    assert not path.exists()
    assert list(tmp_path.iterdir()) == []


def test_read_pairs_rejects_different_line_counts(tmp_path):
    textio.write_lines(tmp_path / "a.zst", ["1", "2"])
    textio.write_lines(tmp_path / "b.zst", ["1"])
    with pytest.raises(PipelineError, match="line counts differ"):
        list(textio.read_pairs(tmp_path / "a.zst", tmp_path / "b.zst"))


@pytest.fixture(params=["zstd-cli", "in-process"])
def zstd_reader(request, monkeypatch):
    """.zst read through the zstd command line, then by python-zstandard."""
    if request.param == "in-process":
        monkeypatch.setattr(textio, "ZSTD_CLI", None)
    elif not textio.ZSTD_CLI:
        pytest.skip("the zstd command line is not installed")
    else:
        monkeypatch.setattr(textio, "ZSTD_CLI_MIN_BYTES", 0)  # small test files too
    return request.param


def _raw_corpus(path, data: bytes):
    """Write `data` to `path`, compressed as its suffix says (not through textio)."""
    import gzip

    import zstandard

    if path.suffix == ".zst":
        data = zstandard.ZstdCompressor().compress(data)
    elif path.suffix == ".gz":
        data = gzip.compress(data)
    path.write_bytes(data)
    return path


def _readers_alive() -> list[str]:
    """This process's zstd child processes (zombies included)."""
    import os
    import pathlib

    alive = []
    for stat in pathlib.Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue  # ended meanwhile
        comm, fields = text[text.index("(") + 1 : text.rindex(")")], text[text.rindex(")") + 2 :].split()
        if comm == "zstd" and int(fields[1]) == os.getpid():
            alive.append(f"zstd process {stat.parent.name} ({fields[0]})")
    return alive


@pytest.mark.parametrize("block_size", [1, 5, textio.BLOCK_SIZE])
@pytest.mark.parametrize("suffix", [".zst", ".gz", ".txt"])
def test_readers_keep_the_text_as_is(tmp_path, monkeypatch, zstd_reader, suffix, block_size):
    # Tiny blocks cut multi-byte characters and `\r\n` between blocks.
    monkeypatch.setattr(textio, "BLOCK_SIZE", block_size)
    text = "\ufeffbom\r\nα\u2028β\x85\n\n\rlast é without newline"
    path = _raw_corpus(tmp_path / f"c{suffix}", text.encode())
    assert lines(path) == ["\ufeffbom\r", "α\u2028β\x85", "", "\rlast é without newline"]
    assert textio.count_lines(path) == 4
    assert "".join(textio.read_text_blocks(path)) == text
    empty = _raw_corpus(tmp_path / f"e{suffix}", b"")
    assert lines(empty) == [] and textio.count_lines(empty) == 0
    assert list(textio.read_text_blocks(empty)) == []
    assert not _readers_alive()


def test_readers_read_every_frame_of_a_zst(tmp_path, zstd_reader):
    import zstandard

    frames = [zstandard.ZstdCompressor().compress(part) for part in (b"a\nb", b"c\nd\n", b"")]
    path = tmp_path / "m.zst"
    path.write_bytes(b"".join(frames))
    assert lines(path) == ["a", "bc", "d"] and textio.count_lines(path) == 3
    (tmp_path / "empty.zst").write_bytes(b"")
    assert lines(tmp_path / "empty.zst") == [] and textio.count_lines(tmp_path / "empty.zst") == 0


@pytest.mark.parametrize("data", [b"ok\n\xff\nnext\n", b"ok\n\xc3"])
def test_readers_reject_invalid_utf8(tmp_path, monkeypatch, zstd_reader, data):
    monkeypatch.setattr(textio, "BLOCK_SIZE", 2)
    path = _raw_corpus(tmp_path / "bad.zst", data)
    with pytest.raises(UnicodeDecodeError):
        lines(path)
    with pytest.raises(UnicodeDecodeError):
        textio.count_lines(path)
    with pytest.raises(UnicodeDecodeError):
        list(textio.read_text_blocks(path))
    assert not _readers_alive()


def test_small_zst_is_read_without_a_process(tmp_path):
    textio.write_lines(tmp_path / "s.zst", ["a", "b"])
    reader = textio.read_lines(tmp_path / "s.zst")
    assert next(reader) == "a" and not _readers_alive()
    assert list(reader) == ["b"]


def test_readers_raise_what_decompression_hits(tmp_path, zstd_reader):
    """Damage raises CorruptInput naming the file, whichever reader meets it: a .zst cut
    short included, which python-zstandard's own reader ends silently (a corpus imported
    short with exit 0)."""
    import bz2
    import gzip
    import lzma

    import zstandard

    data = "".join(f"line {i} {i * 7919 % 10007}\n" for i in range(20000)).encode()
    packed = zstandard.ZstdCompressor(write_checksum=True).compress(data)
    middle = len(packed) // 2
    broken = {
        "corrupt.zst": packed[:middle] + bytes(64) + packed[middle + 64 :],
        "not.zst": b"plain text, not zstd\n",
        "cut.zst": packed[:middle],
        "cut-at-block.zst": packed[:-4],  # only the checksum missing
        "cut-in-header.zst": packed[:3],
        "cut-after-a-frame.zst": packed + packed[:middle],
        "cut.gz": gzip.compress(data)[:-100],
        "flipped.gz": gzip.compress(data)[:-12] + b"\xff" + gzip.compress(data)[-11:],
        "cut.xz": lzma.compress(data)[:-100],
        "cut.bz2": bz2.compress(data)[:-100],
    }
    for name, damaged in broken.items():
        (tmp_path / name).write_bytes(damaged)
        for read in (lines, textio.count_lines, lambda p: list(textio.read_text_blocks(p)),
                     lambda p: p.is_file() and textio.open_read(p).read(), textio.scan):
            with pytest.raises(textio.CorruptInput, match=f"{name} is corrupt or truncated"):
                read(tmp_path / name)
    with pytest.raises(FileNotFoundError):
        lines(tmp_path / "missing.zst")
    assert not _readers_alive()


def test_readers_decompress_xz_and_bz2(tmp_path):
    import bz2
    import lzma

    for suffix, compress in ((".xz", lzma.compress), (".bz2", bz2.compress)):
        path = tmp_path / f"c{suffix}"
        path.write_bytes(compress("a\nb é\n".encode()))
        assert lines(path) == ["a", "b é"] and textio.count_lines(path) == 2


def test_readers_bound_decompressed_bytes_and_line_length(tmp_path, zstd_reader):
    """A decompression bomb stops at the bound, without being held in memory."""
    import gzip

    import zstandard

    one_line = b"x" * (8 << 20)
    for name, packed in (("bomb.gz", gzip.compress(one_line, 1)),
                         ("bomb.zst", zstandard.ZstdCompressor().compress(one_line))):
        path = tmp_path / name
        path.write_bytes(packed)
        with pytest.raises(textio.LimitExceeded, match=f"{name}: line 1 is longer than 100000"):
            list(textio.read_lines(path, max_line=100_000))
        with pytest.raises(textio.LimitExceeded, match=f"{name} decompresses to more than 1000000"):
            list(textio.read_lines(path, max_bytes=1_000_000))
        with pytest.raises(textio.LimitExceeded, match=f"{name} has a line longer than 100000"):
            textio.scan(path, max_line=100_000)
    ok = tmp_path / "ok.gz"
    ok.write_bytes(gzip.compress(b"short\n" + b"y" * 1000 + b"\nz"))
    assert len(list(textio.read_lines(ok, max_bytes=2000, max_line=1000))) == 3
    assert textio.scan(ok, max_bytes=2000, max_line=1000) == (1008, 3)
    with pytest.raises(textio.LimitExceeded, match="line 2 is longer than 999"):
        list(textio.read_lines(ok, max_line=999))
    with pytest.raises(textio.LimitExceeded):
        textio.scan(ok, max_line=999)
    assert not _readers_alive()


def test_readers_stopped_early_leave_nothing_running(tmp_path, monkeypatch, zstd_reader):
    import itertools

    import zstandard

    # Small blocks, more text than a pipe holds: zstd still runs when the consumer stops.
    monkeypatch.setattr(textio, "BLOCK_SIZE", 64)
    n = 200_000
    path = tmp_path / "c.zst"
    path.write_bytes(zstandard.ZstdCompressor().compress(b"".join(b"line %d\n" % i for i in range(n))))
    reader = textio.read_lines(path)
    assert not _readers_alive()  # nothing starts before the first line is asked for
    assert next(reader) == "line 0"
    assert len(_readers_alive()) == (zstd_reader == "zstd-cli")  # waiting for the consumer
    reader.close()
    assert not _readers_alive()
    assert list(reader) == []
    # Dropped unfinished (vocab.py's islice), or left by an exception in the consumer.
    assert list(itertools.islice(textio.read_lines(path), 3)) == ["line 0", "line 1", "line 2"]
    assert not _readers_alive()
    with pytest.raises(ZeroDivisionError):
        for line in textio.read_lines(path):
            if line == "line 100":
                raise ZeroDivisionError
    assert not _readers_alive()
    blocks = textio.read_text_blocks(path)
    assert next(blocks).startswith("line 0\n")
    blocks.close()
    assert not _readers_alive()
    # Two readers side by side (read_pairs, chunks.py), read to the end.
    monkeypatch.setattr(textio, "BLOCK_SIZE", 1 << 16)
    assert sum(1 for _ in textio.read_pairs(path, path)) == n
    assert not _readers_alive()


def test_atomic_outputs_get_ordinary_permissions(tmp_path):
    """Temporaries are private while written; the renamed output follows the umask."""
    import stat

    from mtdistill.common import textio

    umask = os.umask(0o022)
    os.umask(umask)
    out = tmp_path / "c.zst"
    textio.write_lines(out, ["a"])
    assert stat.S_IMODE(out.stat().st_mode) == 0o666 & ~umask
    with textio.atomic_dir(tmp_path / "d") as tmp:
        open(os.path.join(tmp, "x"), "w").close()
    assert stat.S_IMODE((tmp_path / "d").stat().st_mode) == 0o777 & ~umask
