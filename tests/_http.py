"""A real HTTP server on 127.0.0.1 for the tests, with faults on chosen paths.

The `http_server` fixture (conftest.py) gives each test one, serving a fresh folder;
`serve(root)` is the same server as a context manager, for module-scoped fixtures and
for serving a folder that exists already (a finished run's results).

    server.put("dir/f.bin", b"data")            # a file under server.root
    url = f"{server.url}/dir/f.bin"
    server.route("/f", fail=2)                   # the first 2 requests answer 500, then the file
    server.route("/f", status=429)               # always this status (an error page)
    server.route("/f", truncate=1)               # the first GET sends half the file under its full
                                                 # Content-Length and hangs up (True: every GET)
    server.route("/old", redirect="/new")        # 302 to a Location (status=301 ... to change it)
    server.route("/c", body=b"hello\\n", headers={"Content-Length": "abc"})  # a made-up answer: the
                                                 # headers replace the real ones (a wrong length)
    server.route("/s", chunks=[block] * 64)      # chunked, no Content-Length at all
    server.routes.clear()                        # back to serving files as they are
    server.require_token("tok", under="/private/")  # 403 without `Authorization: Bearer tok`
    server.no_head = True                        # HEAD answers 405 (servers that refuse it)
    server.throttle(8192, 0.1)                   # every body in 8 KiB slices, 0.1 s apart;
    server.sent_part.wait()                      # set once part (not all) of a body went out,
    server.partial                               # ... and the paths it happened to
    server.requests                              # every Request(method, path, target, authorization)
    server.hits("/f") / server.hits("f", method=None) / server.paths()   # counts, GET paths in order
    dead_url()                                   # a URL where nothing listens (refused connections)

Answers are HTTP/1.0, one connection per request, as http.server's. Proxies are bypassed
for the server's whole life: NO_PROXY/no_proxy name 127.0.0.1 and localhost and the
*_PROXY variables are unset in os.environ (so Snakemake and the job scripts it starts
inherit it); DOWNLOAD_BEARER_TOKEN is unset too, so only a test that sets it sends one.
"""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import NamedTuple
from urllib.parse import urlsplit

import pytest

LOCAL = "127.0.0.1,localhost"
PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


def bypass_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    """Requests to 127.0.0.1/localhost never go through a proxy, in this process and in
    the processes it starts."""
    for var in ("NO_PROXY", "no_proxy"):
        monkeypatch.setenv(var, LOCAL)
    for var in PROXY_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.delenv("DOWNLOAD_BEARER_TOKEN", raising=False)


class Request(NamedTuple):
    method: str  # GET, HEAD
    path: str  # without the query: "/dir/f.bin"
    target: str  # as sent, query included
    authorization: str | None


@dataclass
class Route:
    """How one path misbehaves (see the module docstring)."""

    status: int | None = None
    fail: int = 0
    truncate: int | bool = 0
    redirect: str | None = None
    body: bytes | None = None
    headers: dict = field(default_factory=dict)
    chunks: list | None = None

    def answers(self) -> bool:
        """Whether this route makes up the whole answer (no file is served)."""
        return self.status is not None or self.redirect is not None or self.body is not None \
            or self.chunks is not None


class _Handler(SimpleHTTPRequestHandler):
    server: _HTTPD

    def do_GET(self):
        self._serve()

    def do_HEAD(self):
        self._serve()

    def log_message(self, *args):
        pass

    def _serve(self):
        owner = self.server.owner
        path = urlsplit(self.path).path
        self._truncate = False
        with owner.lock:
            owner.requests.append(Request(self.command, path, self.path, self.headers.get("Authorization")))
            route = owner.routes.get(path)
            failing = route is not None and route.fail > 0
            if failing:
                route.fail -= 1
            elif route is not None and self.command == "GET" and route.truncate and not route.answers():
                self._truncate = True
                if route.truncate is not True:
                    route.truncate -= 1
        if failing:
            self.send_error(500)
        elif route is not None and route.answers():
            self._answer(route)
        elif owner.token is not None and path.startswith(owner.private) and \
                self.headers.get("Authorization") != f"Bearer {owner.token}":
            self.send_error(403)
        elif self.command == "HEAD" and owner.no_head:
            self.send_error(405)
        elif self.command == "HEAD":
            super().do_HEAD()
        else:
            super().do_GET()

    def _answer(self, route: Route):
        if route.redirect is not None:
            status, headers, body = route.status or 302, {"Location": route.redirect, "Content-Length": "0"}, b""
        elif route.body is None and route.chunks is None and route.status >= 400:
            self.send_error(route.status)
            return
        else:
            status, headers, body = route.status or 200, {}, route.body or b""
        headers.update(route.headers)
        names = {name.lower() for name in headers}
        if route.chunks is not None and "transfer-encoding" not in names:
            headers["Transfer-Encoding"] = "chunked"
        elif route.chunks is None and "content-length" not in names:
            headers["Content-Length"] = str(len(body))
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.close_connection = True
        if self.command == "HEAD":
            return
        try:
            if route.chunks is None:
                self.server.owner.send_body(self, body)
            else:
                for chunk in route.chunks:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                self.wfile.write(b"0\r\n\r\n")
        except ConnectionError:
            pass  # the client stopped reading

    def copyfile(self, source, outputfile):
        """The body of a served file: whole, cut in half, or throttled."""
        data = source.read()
        if self._truncate:
            data = data[: len(data) // 2]
            self.close_connection = True
        try:
            self.server.owner.send_body(self, data)
        except ConnectionError:
            pass  # the client was killed or gave up


class _HTTPD(ThreadingHTTPServer):
    daemon_threads = True
    owner: LocalServer

    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class LocalServer:
    """Serves the files under `root` on 127.0.0.1 at `url`, with the faults the test sets."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.routes: dict[str, Route] = {}
        self.requests: list[Request] = []
        self.token: str | None = None
        self.private = "/"
        self.no_head = False
        self.slice_bytes: int | None = None
        self.pause = 0.0
        self.sent_part = threading.Event()
        self.partial: set[str] = set()
        self.lock = threading.Lock()
        self._httpd = _HTTPD(("127.0.0.1", 0), lambda *a: _Handler(*a, directory=str(self.root)))
        self._httpd.owner = self
        self.port = self._httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self._httpd.serve_forever, args=(0.01,), daemon=True).start()

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    # --- what is served -------------------------------------------------------------

    def put(self, rel: str, data: bytes | str = b"x") -> Path:
        """Write a file the server serves at /rel."""
        path = self.root / rel.lstrip("/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data.encode() if isinstance(data, str) else data)
        return path

    def route(self, path: str, **options) -> Route:
        """Make `path` (with or without its leading /) misbehave: see Route's fields."""
        route = Route(**options)
        with self.lock:
            self.routes[_slash(path)] = route
        return route

    def require_token(self, token: str, under: str = "/") -> None:
        self.token, self.private = token, _slash(under)

    def throttle(self, slice_bytes: int = 8192, pause: float = 0.1) -> None:
        """Send every body in slices of `slice_bytes`, `pause` seconds apart."""
        self.slice_bytes, self.pause = slice_bytes, pause

    def send_body(self, handler: _Handler, data: bytes) -> None:
        if self.slice_bytes is None:
            handler.wfile.write(data)
            return
        path = urlsplit(handler.path).path
        for start in range(0, len(data), self.slice_bytes):
            handler.wfile.write(data[start:start + self.slice_bytes])
            handler.wfile.flush()
            if start + self.slice_bytes < len(data):
                self.partial.add(path)
                self.sent_part.set()
            time.sleep(self.pause)

    # --- what was asked -------------------------------------------------------------

    def hits(self, path: str | None = None, method: str | None = "GET") -> int:
        """How many requests (of `method`; None: any) asked for `path` (None: any path)."""
        with self.lock:
            return sum((path is None or r.path == _slash(path)) and (method is None or r.method == method)
                       for r in self.requests)

    def paths(self, method: str | None = "GET") -> list[str]:
        """The paths asked for, in order."""
        with self.lock:
            return [r.path for r in self.requests if method is None or r.method == method]


def _slash(path: str) -> str:
    return path if path.startswith("/") else "/" + path


@contextlib.contextmanager
def serve(root: Path, monkeypatch: pytest.MonkeyPatch | None = None):
    """A LocalServer on `root` (created if missing) while the block runs, proxies bypassed
    (through `monkeypatch` when given, else undone when the block ends)."""
    Path(root).mkdir(parents=True, exist_ok=True)
    with contextlib.ExitStack() as stack:
        if monkeypatch is None:
            monkeypatch = stack.enter_context(pytest.MonkeyPatch.context())
        bypass_proxies(monkeypatch)
        server = LocalServer(root)
        stack.callback(server.close)
        yield server


def dead_url() -> str:
    """http://127.0.0.1:<port> where nothing listens: connections are refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"
