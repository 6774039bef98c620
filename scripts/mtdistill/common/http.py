"""Fetching files over HTTP(S) or from local paths: atomic, retried, size-bounded.

Every file is written to a temporary name next to its destination, fsynced, verified and
only then renamed into place, so an interrupted or failed run never leaves a partial file
that a resumed run would mistake for finished work. A destination that already exists is
kept as is.

If DOWNLOAD_BEARER_TOKEN is set, it is sent as `Authorization: Bearer ...` to the host of
each URL (never to a host a redirect leads to) and never logged; the query of a redirect
(a signed URL) is shown as `?<redacted>`, in error texts too. A local source must be a
regular file outside /proc, /sys and /dev (links followed): /proc/self/environ would hand
over the token, a FIFO or /dev/zero would never end. URLs: mtdistill.common.urls.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import stat
import time
from collections.abc import Callable, Iterable
from urllib.parse import urljoin, urlsplit

import requests

from mtdistill.common.errors import DownloadError
from mtdistill.common.textio import atomic_path
from mtdistill.common.urls import SYSTEM_DIRS, TOKEN_ENV, is_http, local, redact, resolve, scrub

log = logging.getLogger("download")

CHUNK = 1 << 20  # 1 MiB: large enough for throughput, small enough to never hold a file
MAX_REDIRECTS = 10
RAISE_LIMIT = "check the URL, or raise downloads.max-bytes in the config if the file is right"
# Defaults of the library functions, for callers outside the workflow (tests, a shell): the
# job scripts require --retries/--timeout/--max-bytes, which the rules take from config
# `downloads` (defaults in config/schema/config.schema.yml). max_bytes defaults to None: no bound.
RETRIES = 4
TIMEOUT = 60.0  # seconds per network read
BACKOFF = 1.0  # seconds before the first retry, doubled for each next one


class Transient(Exception):
    """A failure worth retrying (server error, throttling, dropped connection)."""


class _Session(requests.Session):
    """requests parses a redirect's Location even when told not to follow it, and an invalid
    one ("http://[bad/") escapes as a bare ValueError: here request alone reads it."""

    def get_redirect_target(self, resp):
        return None


def request(method: str, url: str, timeout: float) -> requests.Response:
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


def status_error(url: str, resp: requests.Response) -> Exception:
    """Classify a non-200 answer: retryable, or a DownloadError saying what to check."""
    code = resp.status_code
    if code == 429 or code >= 500:
        return Transient(f"HTTP {code}")
    if code in (404, 410):
        hint = "check the URL (bucket, task id, artifact path) and that the file exists there"
    elif code in (401, 403):
        hint = (f"the server refused access: check the URL, and that the file is public or "
                f"{TOKEN_ENV} holds a token allowed to read it")
    else:
        hint = "check the URL"
    return DownloadError(f"{url} answered HTTP {code} {resp.reason or ''}".rstrip() + f": {hint}")


def retrying(url: str, attempt: Callable[[], object], retries: int, backoff: float):
    """Run `attempt`, retrying transient failures with exponential backoff."""
    for n in range(retries + 1):
        try:
            return attempt()
        except (Transient, requests.ConnectionError, requests.Timeout,
                requests.exceptions.ChunkedEncodingError) as err:
            # Exception texts never contain headers, but name the URL requested, which may
            # be a redirect's signed one: their queries are scrubbed.
            if n == retries:
                message = f"{url}: {scrub(err)} (gave up after {retries + 1} attempts)"
                raise DownloadError(message) from None
            delay = backoff * 2**n
            log.warning("%s: %s; retry %d/%d in %.2fs", url, scrub(err), n + 1, retries, delay)
            time.sleep(delay)
        except requests.RequestException as err:
            raise DownloadError(f"{url}: {scrub(err)}") from None


def exists(url: str, retries: int = RETRIES, backoff: float = BACKOFF,
           timeout: float = TIMEOUT) -> bool:
    """Whether `url` names an existing file. 404 is False; other failures raise."""
    source = resolve(url)
    if not is_http(source):
        local(url, os.path.realpath(source))  # a link into /proc is refused, not probed
        return os.path.isfile(source)  # a FIFO or a device is no file (fetch refuses them)

    def attempt() -> bool:
        # HEAD first; some servers (signed storage URLs, 405s) only answer GET properly,
        # so anything but a clear 200/404 is asked again with a GET whose body is not read.
        with request("HEAD", source, timeout) as resp:
            if resp.status_code in (200, 404):
                return resp.status_code == 200
        with request("GET", source, timeout) as resp:
            if resp.status_code in (200, 404):
                return resp.status_code == 200
            raise status_error(url, resp)

    return retrying(url, attempt, retries, backoff)


def file_sha256(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def write(chunks: Iterable[bytes], path: str, url: str, max_bytes: int | None) -> tuple[str, int]:
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


def openlocal(url: str, path: str) -> int:
    """A read-only descriptor of a local source, which must be a regular file outside the
    system's directories, symlinks followed; nothing else is ever read."""
    real = os.path.realpath(path)
    local(url if real == os.path.abspath(path) else f"{url} (a link to {real})", real)
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


def fsync_dir(path: str) -> None:
    """Make a rename durable: fsync the directory holding `path`."""
    fd = os.open(os.path.dirname(os.path.abspath(path)), os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def content_length(url: str, value: str | None) -> int | None:
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
    with request("GET", source, timeout) as resp:
        if resp.status_code != 200:
            raise status_error(url, resp)
        length = content_length(url, resp.headers.get("Content-Length"))
        if max_bytes is not None and length is not None and length > max_bytes:
            raise DownloadError(f"{url} is {length} bytes, over the limit of {max_bytes} bytes: "
                                f"{RAISE_LIMIT}")
        digest, size = write(resp.iter_content(CHUNK), tmp, url, max_bytes)
    # urllib3 usually catches a short body itself; this makes sure a dropped connection is
    # retried rather than accepted (skipped when the body was content-encoded in transit).
    if length is not None and "Content-Encoding" not in resp.headers and size != length:
        raise Transient(f"body truncated: got {size} of {length} bytes")
    return digest


def fetch(
    url: str,
    dest: str | os.PathLike,
    sha256: str | None = None,
    retries: int = RETRIES,
    backoff: float = BACKOFF,
    timeout: float = TIMEOUT,
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
        if is_http(source):
            def attempt() -> str:
                return _get(url, source, tmp, timeout, max_bytes)

            digest = retrying(url, attempt, retries, backoff)
        else:
            with open(openlocal(url, source), "rb") as handle:
                digest, _ = write(iter(lambda: handle.read(CHUNK), b""), tmp, url, max_bytes)
        if expected and digest != expected:
            raise DownloadError(f"{url}: sha256 mismatch: expected {expected}, got {digest}")
        if check:
            check(tmp)
    fsync_dir(dest)
    return digest
