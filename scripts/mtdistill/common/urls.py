"""The URLs the workflow reads (stdlib only: pure, also run while Snakemake builds its DAG).

Supported: http(s)://, gs://bucket/path (public objects, read through
storage.googleapis.com), file:///path and plain local paths. URLs with user:password@ are
refused (credentials come from the environment, TOKEN_ENV), and so are local files under
/proc, /sys and /dev: /proc/self/environ would hand over the token, /dev/zero never ends.
"""

from __future__ import annotations

import os
import re
from urllib.parse import unquote, urlsplit, urlunsplit

from mtdistill.common.errors import DownloadError

__all__ = ["DownloadError", "SCHEMES", "SYSTEM_DIRS", "TOKEN_ENV", "is_http", "join",
           "local", "redact", "resolve", "scrub", "system_path"]

TOKEN_ENV = "DOWNLOAD_BEARER_TOKEN"
SCHEMES = "http://, https://, gs://, file:// or a local path"
# The kernel's and the system's files, never a download: /proc/self/environ holds the
# environment (DOWNLOAD_BEARER_TOKEN), /dev/zero never ends.
SYSTEM_DIRS = ("/proc", "/sys", "/dev")


def resolve(url: str) -> str:
    """Return an http(s) URL or a local path for `url`; refuse unsupported schemes.

    Pure: nothing is opened (it also runs while Snakemake builds its DAG)."""
    url = str(url).strip()
    if not url:
        raise DownloadError(f"empty URL: use {SCHEMES}")
    match = re.match(r"([A-Za-z][A-Za-z0-9+.-]*):", url)
    if not match:  # no scheme: a local path, absolute or relative
        return local(url, url)
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
        return local(url, unquote(parts.path))
    raise DownloadError(f"unsupported URL {url!r}: use {SCHEMES}")


def system_path(path: str) -> bool:
    """Whether `path` lies under one of SYSTEM_DIRS (lexically; links are not followed)."""
    path = "/" + os.path.normpath(os.path.abspath(path)).lstrip("/")  # "//proc" is /proc too
    return any(path == top or path.startswith(top + "/") for top in SYSTEM_DIRS)


def local(url: str, path: str) -> str:
    """`path`, the local file `url` names, unless it is one of the system's files."""
    if system_path(path):
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


def scrub(text: object) -> str:
    """An error text without the queries it may quote: requests' messages name the URL of
    the request that failed, which after a redirect is a signed one."""
    return re.sub(r"\?[^\s'\")]+", "?<redacted>", str(text))


def is_http(resolved: str) -> bool:
    return resolved.lower().startswith(("http://", "https://"))


def join(base: str, name: str) -> str:
    """Join a file name onto a directory URL or path with a single '/'."""
    return base.rstrip("/") + "/" + name
