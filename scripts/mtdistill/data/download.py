#!/usr/bin/env python3
"""Download artifacts for continuation: a vocabulary, corpora or Marian models given by URL.

Supported URLs: http(s)://, gs://bucket/path (public objects, read through
storage.googleapis.com), file:///path and plain local paths.

Every file is written to a temporary name next to its destination, fsynced, verified and
only then renamed into place, so an interrupted or failed run never leaves a partial file
that a resumed run would mistake for finished work. A destination that already exists is
kept as is.

If DOWNLOAD_BEARER_TOKEN is set, it is sent as `Authorization: Bearer ...` to the host of
each URL (never to a host a redirect leads to) and never logged; the query of a redirect
(a signed URL) is shown as `?<redacted>`, in error texts too. A local source must be a
regular file outside /proc, /sys and /dev (links followed): /proc/self/environ would hand
over the token, a FIFO or /dev/zero would never end.

Usage:
  download.py file   --url U --out F [--sha256 H] [--zst]
  download.py model  --url U --out-dir D --mode use|continue|init [--src xx --trg yy] [--no-vocab]
  download.py vocab  --src-url U --trg-url U --out-dir D --src xx --trg yy
  download.py corpus --src-url U --trg-url U --out-src F --out-trg F
                     [--tok-src-url U --out-tok-src F --tok-trg-url U --out-tok-trg F]
                     [--aln-url U --out-aln F]
All subcommands take --log FILE, --retries N, --timeout S and --max-bytes N (config
`downloads`). URLs with user:password@ are refused: credentials come from the environment.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import logging
import os
import re
import stat
import sys
import time
import zipfile
import zlib
from collections.abc import Callable, Iterable
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit, urlunsplit

import requests

from mtdistill.common.textio import CorruptInput, LimitExceeded, atomic_path, count_lines, scan, scratch_dir

log = logging.getLogger("download")

CHUNK = 1 << 20  # 1 MiB: large enough for throughput, small enough to never hold a file
TOKEN_ENV = "DOWNLOAD_BEARER_TOKEN"
MAX_REDIRECTS = 10
RAISE_LIMIT = "check the URL, or raise downloads.max-bytes in the config if the file is right"
SCHEMES = "http://, https://, gs://, file:// or a local path"
MODES = ("use", "continue", "init")
METRICS = ("chrf", "bleu-detok", "ce-mean-words")
# The kernel's and the system's files, never a download: /proc/self/environ holds the
# environment (DOWNLOAD_BEARER_TOKEN), /dev/zero never ends.
SYSTEM_DIRS = ("/proc", "/sys", "/dev")
# Parts of a Marian training checkpoint besides model.npz; each one is optional.
CHECKPOINT_EXTRAS = ("model.npz.optimizer.npz", "model.npz.progress.yml", "model.npz.yml")


class DownloadError(Exception):
    """A download failed; the message says which URL and what to check."""


class _Transient(Exception):
    """A failure worth retrying (server error, throttling, dropped connection)."""


# ---------------------------------------------------------------------------------------
# URLs


def resolve(url: str) -> str:
    """Return an http(s) URL or a local path for `url`; refuse unsupported schemes.

    Pure: nothing is opened (it also runs while Snakemake builds its DAG)."""
    url = str(url).strip()
    if not url:
        raise DownloadError(f"empty URL: use {SCHEMES}")
    match = re.match(r"([A-Za-z][A-Za-z0-9+.-]*):", url)
    if not match:  # no scheme: a local path, absolute or relative
        return _local(url, url)
    scheme = match.group(1).lower()
    try:
        parts = urlsplit(url)
    except ValueError as err:  # "Invalid IPv6 URL": an unbalanced '[' in the host
        raise DownloadError(
            f"{redact(url)} is not a valid URL ({err}): check the host part (an IPv6 address "
            "goes in brackets, like http://[::1]/path)"
        ) from None
    if scheme in ("http", "https", "gs") and "@" in parts.netloc:
        # user:password@host would be written to every log and to model.json.
        raise DownloadError(
            f"{redact(url)}: credentials in URLs are refused (they would end up in logs "
            f"and reports); remove them and put a token in the environment variable {TOKEN_ENV}"
        )
    if scheme in ("http", "https"):
        return url
    if scheme == "gs":
        rest = url[len("gs://"):] if url[:5].lower() == "gs://" else ""
        if not rest or rest.startswith("/"):
            raise DownloadError(f"{url}: a gs:// URL needs a bucket, like gs://bucket/path")
        return "https://storage.googleapis.com/" + rest
    if scheme == "file":
        if parts.netloc not in ("", "localhost") or not parts.path:
            raise DownloadError(f"{url}: only local file:///absolute/path URLs are supported")
        return _local(url, unquote(parts.path))
    raise DownloadError(f"unsupported URL {url!r}: use {SCHEMES}")


def _system_path(path: str) -> bool:
    path = "/" + os.path.normpath(os.path.abspath(path)).lstrip("/")  # "//proc" is /proc too
    return any(path == top or path.startswith(top + "/") for top in SYSTEM_DIRS)


def _local(url: str, path: str) -> str:
    if _system_path(path):
        raise DownloadError(
            f"{url}: files under {', '.join(SYSTEM_DIRS)} are refused as downloads (they are "
            "the system's, not data, and may hold secrets): give the path of a data file"
        )
    return path


def redact(url: str) -> str:
    """`url` without user info or query: what may be shown of a URL that could carry a secret
    (a redirect target's signed query, a user:password the user should not have given)."""
    try:
        parts = urlsplit(url)
    except ValueError:  # not parseable: cut the same parts out by hand
        head = re.split(r"[?#]", url, maxsplit=1)[0]
        head = re.sub(r"^([A-Za-z][A-Za-z0-9+.-]*://)[^/]*@", r"\1", head)
        return head + ("?<redacted>" if "?" in url else "")
    query = "<redacted>" if parts.query else ""
    return urlunsplit((parts.scheme, parts.netloc.rsplit("@", 1)[-1], parts.path, query, ""))


def _scrub(text: object) -> str:
    """An error text without the queries it may quote: requests' messages name the URL of
    the request that failed, which after a redirect is a signed one."""
    return re.sub(r"\?[^\s'\")]+", "?<redacted>", str(text))


def _is_http(resolved: str) -> bool:
    return resolved.lower().startswith(("http://", "https://"))


def join(base: str, name: str) -> str:
    """Join a file name onto a directory URL or path with a single '/'."""
    return base.rstrip("/") + "/" + name


# ---------------------------------------------------------------------------------------
# HTTP


class _Session(requests.Session):
    """requests parses a redirect's Location even when told not to follow it, and an invalid
    one ("http://[bad/") escapes as a bare ValueError: here _open alone reads it."""

    def get_redirect_target(self, resp):
        return None


def _open(method: str, url: str, timeout: float) -> requests.Response:
    """Send one request, following redirects by hand so each hop can be vetted.

    requests would follow a redirect to ftp:// or similar into an obscure error; here it
    is refused by name. The token only goes to the origin the user named: storage
    redirects (Taskcluster -> S3/GCS signed URLs) must not receive it.
    """
    token = os.environ.get(TOKEN_ENV)
    origin = urlsplit(url)[:2]
    for _ in range(MAX_REDIRECTS + 1):
        headers = {}
        if token and urlsplit(url)[:2] == origin:
            headers["Authorization"] = f"Bearer {token}"
        with _Session() as session:  # as requests.request does, with one change
            resp = session.request(method, url, headers=headers, stream=True, timeout=timeout,
                                   allow_redirects=False)
        if not resp.is_redirect:
            return resp
        resp.close()
        try:
            target = urljoin(url, resp.headers["Location"])
            urlsplit(target)
        except ValueError as err:  # e.g. "Invalid IPv6 URL"; the target is not shown
            raise DownloadError(
                f"{redact(url)} redirected to an invalid URL ({err}): the server is "
                "misconfigured; check the URL or ask its owner"
            ) from None
        if urlsplit(target).scheme.lower() not in ("http", "https"):
            raise DownloadError(
                f"{redact(url)} redirected to {redact(target)}: only http(s) redirects "
                "are followed"
            )
        # Storage redirects carry signatures in their query: never logged.
        log.info("%s redirected to %s", redact(url), redact(target))
        url = target
    raise DownloadError(f"{redact(url)}: more than {MAX_REDIRECTS} redirects")


def _status_error(url: str, resp: requests.Response) -> Exception:
    """Classify a non-200 answer: retryable, or a DownloadError saying what to check."""
    code = resp.status_code
    if code == 429 or code >= 500:
        return _Transient(f"HTTP {code}")
    if code in (404, 410):
        hint = "check the URL (bucket, task id, artifact path) and that the file exists there"
    elif code in (401, 403):
        hint = (f"the server refused access: check the URL, and that the file is public or "
                f"{TOKEN_ENV} holds a token allowed to read it")
    else:
        hint = "check the URL"
    return DownloadError(f"{url} answered HTTP {code} {resp.reason or ''}".rstrip() + f": {hint}")


def _retrying(url: str, attempt: Callable[[], object], retries: int, backoff: float):
    """Run `attempt`, retrying transient failures with exponential backoff."""
    for n in range(retries + 1):
        try:
            return attempt()
        except (_Transient, requests.ConnectionError, requests.Timeout,
                requests.exceptions.ChunkedEncodingError) as err:
            # Exception texts never contain headers, but name the URL requested, which may
            # be a redirect's signed one: their queries are scrubbed.
            if n == retries:
                message = f"{url}: {_scrub(err)} (gave up after {retries + 1} attempts)"
                raise DownloadError(message) from None
            delay = backoff * 2**n
            log.warning("%s: %s; retry %d/%d in %.2fs", url, _scrub(err), n + 1, retries, delay)
            time.sleep(delay)
        except requests.RequestException as err:
            raise DownloadError(f"{url}: {_scrub(err)}") from None


def exists(url: str, retries: int = 4, backoff: float = 1.0, timeout: float = 60) -> bool:
    """Whether `url` names an existing file. 404 is False; other failures raise."""
    source = resolve(url)
    if not _is_http(source):
        _local(url, os.path.realpath(source))  # a link into /proc is refused, not probed
        return os.path.isfile(source)  # a FIFO or a device is no file (fetch refuses them)

    def attempt() -> bool:
        # HEAD first; some servers (signed storage URLs, 405s) only answer GET properly,
        # so anything but a clear 200/404 is asked again with a GET whose body is not read.
        with _open("HEAD", source, timeout) as resp:
            if resp.status_code in (200, 404):
                return resp.status_code == 200
        with _open("GET", source, timeout) as resp:
            if resp.status_code in (200, 404):
                return resp.status_code == 200
            raise _status_error(url, resp)

    return _retrying(url, attempt, retries, backoff)


# ---------------------------------------------------------------------------------------
# Files


def file_sha256(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _write(chunks: Iterable[bytes], path: str, url: str, max_bytes: int | None) -> tuple[str, int]:
    """Write chunks to `path` durably; return (sha256, size)."""
    digest, size = hashlib.sha256(), 0
    with open(path, "wb") as out:
        for chunk in chunks:
            size += len(chunk)
            if max_bytes is not None and size > max_bytes:
                raise DownloadError(f"{url} is larger than the limit of {max_bytes} bytes: "
                                    f"{RAISE_LIMIT}")
            digest.update(chunk)
            out.write(chunk)
        out.flush()
        os.fsync(out.fileno())
    return digest.hexdigest(), size


def _open_local(url: str, path: str) -> int:
    """A read-only descriptor of a local source, which must be a regular file outside the
    system's directories, symlinks followed; nothing else is ever read."""
    real = os.path.realpath(path)
    _local(url if real == os.path.abspath(path) else f"{url} (a link to {real})", real)
    try:
        info = os.stat(real)
    except FileNotFoundError:
        raise DownloadError(f"{url}: no such file") from None
    except OSError as err:
        raise DownloadError(f"{url}: cannot be read ({err.strerror})") from None
    if not stat.S_ISREG(info.st_mode):
        raise DownloadError(
            f"{url} is not a regular file (a directory, FIFO, socket or device): refused; "
            "give the path of the file itself"
        )
    # O_NONBLOCK: should it have become a FIFO meanwhile, opening it does not wait.
    fd = os.open(real, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
    opened = os.fstat(fd)
    system = {os.stat(top).st_dev for top in SYSTEM_DIRS if os.path.isdir(top)}
    if not stat.S_ISREG(opened.st_mode) or opened.st_dev in system:
        os.close(fd)
        raise DownloadError(f"{url} is not a regular file of data: refused")
    os.set_blocking(fd, True)
    return fd


def _fsync_dir(path: str) -> None:
    """Make a rename durable: fsync the directory holding `path`."""
    fd = os.open(os.path.dirname(os.path.abspath(path)), os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _content_length(url: str, value: str | None) -> int | None:
    """The Content-Length header as a number (None when absent); refuse anything else."""
    if value is None:
        return None
    # Repeated headers arrive joined ("5, 5"): legal when every copy agrees.
    copies = {part.strip() for part in value.split(",")}
    if len(copies) != 1 or not re.fullmatch(r"[0-9]{1,20}", next(iter(copies))):
        raise DownloadError(
            f"{url} answered with an invalid Content-Length {value[:40]!r}: the server or a "
            "proxy in between is broken; check the URL, or try again later"
        )
    return int(next(iter(copies)))


def _get(url: str, source: str, tmp: str, timeout: float, max_bytes: int | None) -> str:
    """One HTTP download attempt into `tmp`; return its sha256."""
    with _open("GET", source, timeout) as resp:
        if resp.status_code != 200:
            raise _status_error(url, resp)
        length = _content_length(url, resp.headers.get("Content-Length"))
        if max_bytes is not None and length is not None and length > max_bytes:
            raise DownloadError(f"{url} is {length} bytes, over the limit of {max_bytes} bytes: "
                                f"{RAISE_LIMIT}")
        digest, size = _write(resp.iter_content(CHUNK), tmp, url, max_bytes)
    # urllib3 usually catches a short body itself; this makes sure a dropped connection is
    # retried rather than accepted (skipped when the body was content-encoded in transit).
    if length is not None and "Content-Encoding" not in resp.headers and size != length:
        raise _Transient(f"body truncated: got {size} of {length} bytes")
    return digest


def fetch(
    url: str,
    dest: str | os.PathLike,
    sha256: str | None = None,
    retries: int = 4,
    backoff: float = 1.0,
    timeout: float = 60,
    max_bytes: int | None = None,
    check: Callable[[str], object] | None = None,
) -> str:
    """Download (or copy) one file to `dest` atomically; return its sha256.

    Retries connection errors, timeouts, truncated bodies and HTTP 5xx/429 with
    exponential backoff; other HTTP errors fail at once. `check(tmp_path)` may validate
    the content before it is renamed into place. An existing `dest` is kept (if its
    sha256 matches, when given).
    """
    source, dest = resolve(url), str(dest)
    expected = sha256.lower() if sha256 else None
    if os.path.isfile(dest):
        actual = file_sha256(dest)
        if expected in (None, actual):
            log.info("%s exists: not downloading %s again", dest, url)
            return actual
        log.warning("%s exists but its sha256 is %s, not %s: downloading again",
                    dest, actual, expected)

    log.info("downloading %s -> %s", url, dest)
    with atomic_path(dest) as tmp:
        if _is_http(source):
            def attempt() -> str:
                return _get(url, source, tmp, timeout, max_bytes)

            digest = _retrying(url, attempt, retries, backoff)
        else:
            with open(_open_local(url, source), "rb") as handle:
                digest, _ = _write(iter(lambda: handle.read(CHUNK), b""), tmp, url, max_bytes)
        if expected and digest != expected:
            raise DownloadError(f"{url}: sha256 mismatch: expected {expected}, got {digest}")
        if check:
            check(tmp)
    _fsync_dir(dest)
    return digest


def check_zst(path: str | os.PathLike, name: str | None = None,
              max_bytes: int | None = None) -> int:
    """Decompress `path` fully as a stream; return its line count. Raise if corrupt, cut,
    or (given `max_bytes`) decompressing to more than that.

    python-zstandard's stream reader accepts a truncated file silently; textio's readers
    follow the frames and fail unless the file ends exactly at the end of one. `name` is
    what error messages call the file (default: the path).
    """
    name = name or str(path)
    if os.path.getsize(path) == 0:
        raise DownloadError(f"{name} is not a valid zstd file: it is empty or truncated")
    try:
        return scan(str(path), max_bytes)[1]
    except CorruptInput as err:
        what = "it is empty or truncated" if err.truncated else "it is damaged"
        raise DownloadError(f"{name} is not a valid zstd file: {what} ({err.reason})") from None
    except LimitExceeded:
        raise DownloadError(f"{name} decompresses to more than {max_bytes} bytes (a "
                            f"decompression bomb?): {RAISE_LIMIT}") from None


# ---------------------------------------------------------------------------------------
# Models, vocabularies, corpora


def _copy_hint(url: str, name: str) -> str:
    if url.startswith("gs://"):
        return f"e.g. gsutil cp gs://<training output>/{name} {join(url, name)}"
    if _is_http(url):
        return f"upload it as {join(url, name)}"
    return f"e.g. cp <training output>/{name} {join(url, name)}"


def fetch_model(
    url: str,
    out_dir: str | os.PathLike,
    mode: str,
    metrics: Iterable[str] = METRICS,
    src: str | None = None,
    trg: str | None = None,
    require_vocab: bool = True,
    sha256: str | None = None,
    *,
    retries: int = 4,
    backoff: float = 1.0,
    timeout: float = 60,
    max_bytes: int | None = None,
) -> dict:
    """Fetch a Marian model directory; return the manifest also written to download.json.

    Saves out_dir/final.npz (+ .decoder.yml), the vocab, and for mode 'continue' the
    training checkpoint (model.npz, optimizer state, progress, config). Everything is
    probed before anything is downloaded, so a missing piece costs no transfer.
    """
    if mode not in MODES:
        raise DownloadError(f"unknown mode {mode!r}: use one of {', '.join(MODES)}")
    metrics = tuple(metrics)
    if not all(re.fullmatch(r"[A-Za-z0-9-]+", m) for m in metrics):
        raise DownloadError(f"invalid metric names {metrics}: use names like {', '.join(METRICS)}")
    net = dict(retries=retries, backoff=backoff, timeout=timeout)
    out_dir = str(out_dir)

    def there(name: str) -> bool:
        return exists(join(url, name), **net)

    # Best checkpoints first; the plain names are fixed, so an optimizer state or a
    # progress file can never be picked as the model.
    candidates = [f"final.model.npz.best-{m}.npz" for m in metrics]
    candidates += [f"model.npz.best-{m}.npz" for m in metrics] + ["final.npz", "model.npz"]
    model = next((name for name in candidates if there(name)), None)
    if model is None:
        raise DownloadError(
            f"no model found under {url}: tried {', '.join(candidates)}. "
            "Put the model's .npz (and its .decoder.yml) in that directory."
        )
    decoder = model + ".decoder.yml"
    if not there(decoder):
        raise DownloadError(
            f"model {join(url, model)} found but its decoder config {decoder} is missing: "
            f"copy it next to the model, {_copy_hint(url, decoder)}"
        )
    plan = {"final.npz": model, "final.npz.decoder.yml": decoder}

    split = [f"vocab.{src}.spm", f"vocab.{trg}.spm"] if src and trg else []
    if split and all(there(name) for name in split):
        plan.update({name: name for name in split})
    elif there("vocab.spm"):
        plan["vocab.spm"] = "vocab.spm"
    elif require_vocab:
        expected = "vocab.spm" + (f" or {split[0]} + {split[1]}" if split else "")
        raise DownloadError(
            f"no vocabulary under {url}: expected {expected}; copy the vocab used to train "
            f"the model there, {_copy_hint(url, 'vocab.spm')}, or set continuation.vocab"
        )

    checkpoint = {}
    if mode == "continue":
        if model != "model.npz" and not there("model.npz"):
            raise DownloadError(
                f"mode continue needs the training checkpoint model.npz under {url}: "
                f"{_copy_hint(url, 'model.npz')}, or use mode init to train from {model}"
            )
        checkpoint = {"model.npz": True} | {name: there(name) for name in CHECKPOINT_EXTRAS}
        plan.update({name: name for name, found in checkpoint.items() if found})
        if not checkpoint["model.npz.optimizer.npz"]:
            log.warning("%s: optimizer state absent: training continues from the weights "
                        "with a fresh optimizer", url)

    manifest = {"url": url, "mode": mode, "model": model, "files": {}, "sha256": {}}
    for saved, name in plan.items():
        source = join(url, name)
        dest = os.path.join(out_dir, saved)
        if saved == "model.npz" and name == model:
            # The checkpoint is the model just saved: copy it locally, not over the network.
            manifest["sha256"][saved] = fetch(os.path.join(out_dir, "final.npz"), dest)
        else:
            digest = sha256 if saved == "final.npz" else None
            manifest["sha256"][saved] = fetch(source, dest, sha256=digest, max_bytes=max_bytes, **net)
        manifest["files"][saved] = source
    if checkpoint:
        manifest["checkpoint"] = checkpoint
    with atomic_path(os.path.join(out_dir, "download.json")) as tmp:
        with open(tmp, "w", encoding="utf-8") as out:
            json.dump(manifest, out, indent=2, sort_keys=True)
            out.write("\n")
    return manifest


def vocab_size(path: str | os.PathLike, name: str | None = None) -> int:
    """Pieces of a SentencePiece model; `name` is what errors call it (default: the path)."""
    import sentencepiece

    try:
        return sentencepiece.SentencePieceProcessor(model_file=str(path)).get_piece_size()
    except (RuntimeError, OSError) as err:
        raise DownloadError(
            f"{name or path} is not a SentencePiece model ({err}): check that the URL "
            "names the vocab file (.spm) the models were trained with"
        ) from None


def check_npz(path: str | os.PathLike, name: str) -> None:
    """Refuse a 'model' that is not an .npz archive (an error page, a truncated file) or
    has a member that does not read back (checked against its CRC)."""
    if not zipfile.is_zipfile(path):
        raise DownloadError(
            f"{name} is not a Marian .npz model (not a zip archive): check the URL, or that "
            "the server did not answer with an error page"
        )
    member = None
    try:
        with zipfile.ZipFile(path) as archive:
            for member in archive.infolist():
                with archive.open(member) as stream:
                    while stream.read(CHUNK):
                        pass
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, RuntimeError,
            NotImplementedError) as err:  # RuntimeError: encrypted; NotImplementedError: method
        where = f" (member {member.filename})" if member else ""
        raise DownloadError(
            f"{name} is a damaged .npz model{where}: {err}; download it again or check the "
            "file at its source"
        ) from None


def check_vocab_fit(out_dir: str | os.PathLike, src_vocab: str, trg_vocab: str) -> None:
    """Fail when the configured vocab cannot be the one the downloaded model was trained
    with: its size differs from the model's embeddings, or the model directory ships a
    different vocab file."""
    import numpy as np

    out_dir = Path(out_dir)
    manifest = out_dir / "download.json"
    files = json.loads(manifest.read_text())["files"] if manifest.exists() else {}
    source = files.get("final.npz")
    # Every downloaded .npz is read back member by member (CRC-checked) before Marian or
    # numpy meets it; a damaged one is removed, so that a rerun downloads it again.
    for name in ("final.npz", "model.npz", "model.npz.optimizer.npz"):
        path = out_dir / name
        if path.exists():
            try:
                check_npz(path, files.get(name) or str(path))
            except DownloadError:
                path.unlink()
                raise
    sizes = {"source": vocab_size(src_vocab), "target": vocab_size(trg_vocab)}
    # Marian parameter names: tied (Wemb), or per side; the output layer follows the target.
    expect = {"Wemb": ("source", 0), "encoder_Wemb": ("source", 0),
              "decoder_Wemb": ("target", 0), "decoder_ff_logit_out_b": ("target", -1)}
    try:
        with np.load(out_dir / "final.npz") as weights:
            shapes = {name: weights[name].shape for name in expect if name in weights.files}
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError) as err:
        raise DownloadError(f"{source or out_dir / 'final.npz'} is a damaged .npz model: "
                            f"{err}; download it again or check the file at its source") from None
    for name, (side, axis) in expect.items():
        if name in shapes and shapes[name][axis] != sizes[side]:
            raise DownloadError(
                f"the {side} vocab ({src_vocab if side == 'source' else trg_vocab}, "
                f"{sizes[side]} pieces) does not fit the model in {out_dir} ({name} has "
                f"{shapes[name][axis]} rows): set continuation.vocab to the vocab "
                "the model was trained with"
            )
    shipped = sorted(out_dir.glob("vocab*.spm"))
    configured = {file_sha256(src_vocab), file_sha256(trg_vocab)}
    for path in shipped:
        if file_sha256(path) not in configured:
            raise DownloadError(
                f"the model directory ships {path.name}, which differs from continuation.vocab "
                f"({src_vocab}, {trg_vocab}): use the vocab the model was trained with"
            )


def fetch_vocab(
    src_url: str,
    trg_url: str,
    out_dir: str | os.PathLike,
    src: str,
    trg: str,
    *,
    retries: int = 4,
    backoff: float = 1.0,
    timeout: float = 60,
    max_bytes: int | None = None,
) -> list[str]:
    """Fetch a joint vocab (same URL twice) as vocab.spm, else vocab.{src,trg}.spm."""
    net = dict(retries=retries, backoff=backoff, timeout=timeout)
    out_dir = str(out_dir)
    if resolve(src_url) == resolve(trg_url):
        pairs = [(src_url, "vocab.spm")]
    else:
        pairs = [(src_url, f"vocab.{src}.spm"), (trg_url, f"vocab.{trg}.spm")]
    paths = []
    for url, name in pairs:
        paths.append(os.path.join(out_dir, name))
        fetch(url, paths[-1], max_bytes=max_bytes, **net)
    return paths


def fetch_corpus(
    src_url: str,
    trg_url: str,
    out_src: str | os.PathLike,
    out_trg: str | os.PathLike,
    tok_src: str | None = None,
    tok_trg: str | None = None,
    alignments: str | None = None,
    out_tok_src: str | os.PathLike | None = None,
    out_tok_trg: str | os.PathLike | None = None,
    out_aln: str | os.PathLike | None = None,
    *,
    retries: int = 4,
    backoff: float = 1.0,
    timeout: float = 60,
    max_bytes: int | None = None,
) -> int | None:
    """Fetch parallel files that must agree line by line; return their line count.

    If every output exists already nothing is done and None is returned. Each file goes to
    a hidden temporary name next to its output and is checked (.zst outputs are fully
    decompressed). Only when every file is valid and all line counts agree are they
    renamed into place; otherwise nothing is left behind.
    """
    jobs = [(src_url, out_src), (trg_url, out_trg)]
    for url, out, what in [(tok_src, out_tok_src, "tok_src"), (tok_trg, out_tok_trg, "tok_trg"),
                           (alignments, out_aln, "alignments")]:
        if url is None:
            continue
        if out is None:
            raise DownloadError(f"{what} URL {url} given without an output path")
        jobs.append((url, out))
    jobs = [(url, str(out)) for url, out in jobs]
    if all(os.path.isfile(out) for _, out in jobs):
        log.info("%s exist: not downloading again", ", ".join(out for _, out in jobs))
        return None

    net = dict(retries=retries, backoff=backoff, timeout=timeout)
    # Each file in a scratch directory next to its output (same filesystem, for the rename);
    # the ones a killed run leaves behind are removed by the next run (textio.scratch_dir).
    scratch = contextlib.ExitStack()
    temps = [os.path.join(scratch.enter_context(scratch_dir(out)), Path(out).name) for _, out in jobs]
    try:
        counts = []
        for (url, out), tmp in zip(jobs, temps, strict=True):
            fetch(url, tmp, max_bytes=max_bytes, **net)
            try:
                counts.append(check_zst(tmp, url, max_bytes) if out.endswith(".zst")
                              else count_lines(tmp))
            except (CorruptInput, UnicodeDecodeError) as err:  # a .gz or plain output
                raise DownloadError(f"{url} cannot be read: {getattr(err, 'reason', err)}") from None
        if len(set(counts)) > 1:
            listing = ", ".join(f"{url} has {n}" for (url, _), n in zip(jobs, counts, strict=True))
            raise DownloadError(f"line counts differ in a parallel corpus: {listing} lines")
        for (_, out), tmp in zip(jobs, temps, strict=True):
            os.replace(tmp, out)
            _fsync_dir(out)
        log.info("%d parallel lines in %s", counts[0], ", ".join(out for _, out in jobs))
    finally:
        for tmp in temps:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        scratch.close()
    return counts[0]


# ---------------------------------------------------------------------------------------
# CLI


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--log", help="also append the log to this file")
    common.add_argument("--retries", type=int, default=4)
    common.add_argument("--timeout", type=float, default=60, help="seconds per network read")
    common.add_argument("--max-bytes", type=int, help="refuse any file larger than this")

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("file", parents=[common], help="one file")
    p.add_argument("--url", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--sha256")
    p.add_argument("--zst", action="store_true", help="check that the file is valid zstd")
    p.add_argument("--spm", action="store_true", help="check that the file is a SentencePiece model")

    p = sub.add_parser("model", parents=[common], help="a Marian model directory")
    p.add_argument("--url", required=True)
    p.add_argument("--out-dir", required=True)
    p.add_argument("--mode", required=True, choices=MODES)
    p.add_argument("--src")
    p.add_argument("--trg")
    p.add_argument("--metrics", default=",".join(METRICS), help="best-checkpoint preference")
    p.add_argument("--no-vocab", action="store_true", help="do not require a vocab")
    p.add_argument("--sha256", help="checksum of the model .npz")
    p.add_argument("--check-vocabs", nargs=2, metavar=("SRC_VOCAB", "TRG_VOCAB"),
                   help="fail unless these vocabs fit the model")

    p = sub.add_parser("vocab", parents=[common], help="a joint or split SentencePiece vocab")
    for name in ("--src-url", "--trg-url", "--out-dir", "--src", "--trg"):
        p.add_argument(name, required=True)

    p = sub.add_parser("corpus", parents=[common], help="a parallel corpus, checked line by line")
    for name in ("--src-url", "--trg-url", "--out-src", "--out-trg"):
        p.add_argument(name, required=True)
    for name in ("--tok-src-url", "--tok-trg-url", "--aln-url",
                 "--out-tok-src", "--out-tok-trg", "--out-aln"):
        p.add_argument(name)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    handlers: list[logging.Handler] = [logging.StreamHandler()]
    if args.log:
        Path(args.log).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(args.log))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s",
                        handlers=handlers, force=True)
    net = dict(retries=args.retries, timeout=args.timeout, max_bytes=args.max_bytes)
    try:
        if args.command == "file":
            checks = ([lambda tmp: check_zst(tmp, args.url, args.max_bytes)] if args.zst else []) + (
                [lambda tmp: vocab_size(tmp, args.url)] if args.spm else [])
            fetch(args.url, args.out, sha256=args.sha256,
                  check=lambda tmp: [check(tmp) for check in checks], **net)
        elif args.command == "model":
            fetch_model(args.url, args.out_dir, args.mode, metrics=args.metrics.split(","),
                        src=args.src, trg=args.trg, require_vocab=not args.no_vocab,
                        sha256=args.sha256, **net)
            if args.check_vocabs:
                check_vocab_fit(args.out_dir, *args.check_vocabs)
        elif args.command == "vocab":
            fetch_vocab(args.src_url, args.trg_url, args.out_dir, args.src, args.trg, **net)
        else:
            fetch_corpus(args.src_url, args.trg_url, args.out_src, args.out_trg,
                         tok_src=args.tok_src_url, tok_trg=args.tok_trg_url,
                         alignments=args.aln_url, out_tok_src=args.out_tok_src,
                         out_tok_trg=args.out_tok_trg, out_aln=args.out_aln, **net)
    except DownloadError as err:
        log.error("%s", err)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
