#!/usr/bin/env python3
"""Download artifacts for continuation: a vocabulary, corpora or Marian models given by URL.

Supported URLs: http(s)://, gs://bucket/path (public objects, read through
storage.googleapis.com), file:///path and plain local paths.

Every file is written to a temporary name next to its destination, fsynced, verified and
only then renamed into place, so an interrupted or failed run never leaves a partial file
that a resumed run would mistake for finished work. A destination that already exists is
kept as is.

If DOWNLOAD_BEARER_TOKEN is set, it is sent as `Authorization: Bearer ...` to the host of
each URL (never to a host a redirect leads to) and never logged.

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
import sys
import time
import zipfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit, urlunsplit

import requests
import zstandard

sys.path.insert(0, str(Path(__file__).resolve().parent))
from textio import atomic_path, count_lines, scratch_dir  # noqa: E402

log = logging.getLogger("download")

CHUNK = 1 << 20  # 1 MiB: large enough for throughput, small enough to never hold a file
ZST_CHUNK = 1 << 17  # compressed bytes per step when checking: bounds the decompressed burst
TOKEN_ENV = "DOWNLOAD_BEARER_TOKEN"
MAX_REDIRECTS = 10
RAISE_LIMIT = "check the URL, or raise downloads.max-bytes in the config if the file is right"
SCHEMES = "http://, https://, gs://, file:// or a local path"
MODES = ("use", "continue", "init")
METRICS = ("chrf", "bleu-detok", "ce-mean-words")
# Parts of a Marian training checkpoint besides model.npz; each one is optional.
CHECKPOINT_EXTRAS = ("model.npz.optimizer.npz", "model.npz.progress.yml", "model.npz.yml")


class DownloadError(Exception):
    """A download failed; the message says which URL and what to check."""


class _Transient(Exception):
    """A failure worth retrying (server error, throttling, dropped connection)."""


# ---------------------------------------------------------------------------------------
# URLs


def resolve(url: str) -> str:
    """Return an http(s) URL or a local path for `url`; refuse unsupported schemes."""
    url = str(url).strip()
    if not url:
        raise DownloadError(f"empty URL: use {SCHEMES}")
    match = re.match(r"([A-Za-z][A-Za-z0-9+.-]*):", url)
    if not match:  # no scheme: a local path, absolute or relative
        return url
    scheme = match.group(1).lower()
    if scheme in ("http", "https", "gs") and "@" in urlsplit(url).netloc:
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
        parts = urlsplit(url)
        if parts.netloc not in ("", "localhost") or not parts.path:
            raise DownloadError(f"{url}: only local file:///absolute/path URLs are supported")
        return unquote(parts.path)
    raise DownloadError(f"unsupported URL {url!r}: use {SCHEMES}")


def redact(url: str) -> str:
    """`url` without user info or query: what may be shown of a URL that could carry a secret
    (a redirect target's signed query, a user:password the user should not have given)."""
    parts = urlsplit(url)
    query = "<redacted>" if parts.query else ""
    return urlunsplit((parts.scheme, parts.netloc.rsplit("@", 1)[-1], parts.path, query, ""))


def _is_http(resolved: str) -> bool:
    return resolved.lower().startswith(("http://", "https://"))


def join(base: str, name: str) -> str:
    """Join a file name onto a directory URL or path with a single '/'."""
    return base.rstrip("/") + "/" + name


# ---------------------------------------------------------------------------------------
# HTTP


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
        resp = requests.request(
            method, url, headers=headers, stream=True, timeout=timeout, allow_redirects=False
        )
        if not resp.is_redirect:
            return resp
        target = urljoin(url, resp.headers["Location"])
        resp.close()
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
            # Messages name the URL only: exception texts never contain headers.
            if n == retries:
                message = f"{url}: {err} (gave up after {retries + 1} attempts)"
                raise DownloadError(message) from None
            delay = backoff * 2**n
            log.warning("%s: %s; retry %d/%d in %.2fs", url, err, n + 1, retries, delay)
            time.sleep(delay)
        except requests.RequestException as err:
            raise DownloadError(f"{url}: {err}") from None


def exists(url: str, retries: int = 4, backoff: float = 1.0, timeout: float = 60) -> bool:
    """Whether `url` names an existing file. 404 is False; other failures raise."""
    source = resolve(url)
    if not _is_http(source):
        return os.path.isfile(source)

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


def _read_chunks(path: str) -> Iterator[bytes]:
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            yield chunk


def _fsync_dir(path: str) -> None:
    """Make a rename durable: fsync the directory holding `path`."""
    fd = os.open(os.path.dirname(os.path.abspath(path)), os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _get(url: str, source: str, tmp: str, timeout: float, max_bytes: int | None) -> str:
    """One HTTP download attempt into `tmp`; return its sha256."""
    with _open("GET", source, timeout) as resp:
        if resp.status_code != 200:
            raise _status_error(url, resp)
        length = resp.headers.get("Content-Length")
        if max_bytes is not None and length and int(length) > max_bytes:
            raise DownloadError(f"{url} is {length} bytes, over the limit of {max_bytes} bytes: "
                                f"{RAISE_LIMIT}")
        digest, size = _write(resp.iter_content(CHUNK), tmp, url, max_bytes)
    # urllib3 usually catches a short body itself; this makes sure a dropped connection is
    # retried rather than accepted (skipped when the body was content-encoded in transit).
    if length and "Content-Encoding" not in resp.headers and size != int(length):
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
        elif os.path.isfile(source):
            digest, _ = _write(_read_chunks(source), tmp, url, max_bytes)
        else:
            raise DownloadError(f"{url}: no such file")
        if expected and digest != expected:
            raise DownloadError(f"{url}: sha256 mismatch: expected {expected}, got {digest}")
        if check:
            check(tmp)
    _fsync_dir(dest)
    return digest


def check_zst(path: str | os.PathLike, name: str | None = None) -> int:
    """Decompress `path` fully as a stream; return its line count. Raise if corrupt or cut.

    zstandard's stream_reader accepts a truncated file silently, so frames are decoded one
    by one and the file must end exactly at the end of a frame. `name` is what error
    messages call the file (default: the path).
    """
    name = name or str(path)
    lines, last, frame, seen = 0, b"\n", None, False
    try:
        with open(path, "rb") as handle:
            while chunk := handle.read(ZST_CHUNK):
                seen = True
                while chunk:
                    if frame is None or frame.eof:
                        frame = zstandard.ZstdDecompressor().decompressobj()
                    out = frame.decompress(chunk)
                    chunk = frame.unused_data if frame.eof else b""
                    if out:
                        lines += out.count(b"\n")
                        last = out[-1:]
    except zstandard.ZstdError as err:
        raise DownloadError(f"{name} is not a valid zstd file: {err}") from None
    if not seen or not frame.eof:
        raise DownloadError(f"{name} is not a valid zstd file: it is empty or truncated")
    return lines + (last != b"\n")  # a final line without a newline still counts


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
    """Refuse a 'model' that is not an .npz archive (an error page, a truncated file)."""
    if not zipfile.is_zipfile(path):
        raise DownloadError(
            f"{name} is not a Marian .npz model (not a zip archive): check the URL, or that "
            "the server did not answer with an error page"
        )


def check_vocab_fit(out_dir: str | os.PathLike, src_vocab: str, trg_vocab: str) -> None:
    """Fail when the configured vocab cannot be the one the downloaded model was trained
    with: its size differs from the model's embeddings, or the model directory ships a
    different vocab file."""
    import numpy as np

    out_dir = Path(out_dir)
    manifest = out_dir / "download.json"
    source = json.loads(manifest.read_text())["files"]["final.npz"] if manifest.exists() else None
    check_npz(out_dir / "final.npz", source or str(out_dir / "final.npz"))
    sizes = {"source": vocab_size(src_vocab), "target": vocab_size(trg_vocab)}
    # Marian parameter names: tied (Wemb), or per side; the output layer follows the target.
    expect = {"Wemb": ("source", 0), "encoder_Wemb": ("source", 0),
              "decoder_Wemb": ("target", 0), "decoder_ff_logit_out_b": ("target", -1)}
    with np.load(out_dir / "final.npz") as weights:
        for name, (side, axis) in expect.items():
            if name in weights.files and weights[name].shape[axis] != sizes[side]:
                raise DownloadError(
                    f"the {side} vocab ({src_vocab if side == 'source' else trg_vocab}, "
                    f"{sizes[side]} pieces) does not fit the model in {out_dir} ({name} has "
                    f"{weights[name].shape[axis]} rows): set continuation.vocab to the vocab "
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
            counts.append(check_zst(tmp, url) if out.endswith(".zst") else count_lines(tmp))
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
            checks = ([lambda tmp: check_zst(tmp, args.url)] if args.zst else []) + (
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
