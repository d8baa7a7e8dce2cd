"""A local news web for the demo, the tests and the benchmarks (loopback only).

Serves a directory of feeds and pages (``{{BASE_URL}}`` in .xml/.html files becomes the server's
own address) with real ETag / Last-Modified / 304 behaviour, plus programmable routes that
misbehave the way real sites do: errors, Retry-After, slow or endless bodies, redirect loops,
wrong charsets. Every request is counted so tests can assert "fetched once" or "got a 304".
Optional added latency per request imitates a far-away site in benchmarks.
"""

from __future__ import annotations

import email.utils
import hashlib
import mimetypes
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

PLACEHOLDER = "{{BASE_URL}}"
_LAST_MODIFIED = email.utils.formatdate(1_757_000_000, usegmt=True)


@dataclass
class Route:
    """How one path answers. ``body`` may be a callable(handler) returning bytes (dynamic content)."""

    body: bytes | Callable[[BaseHTTPRequestHandler], bytes] = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "text/html; charset=utf-8"
    etag: str | None = None
    last_modified: str | None = None
    delay_s: float = 0.0
    drip_interval_s: float = 0.0  # send the body one byte at a time with this pause
    endless: bool = False  # never-ending body (stops after endless_cap_s on its own)
    endless_cap_s: float = 30.0
    redirect_to: str | None = None  # path or absolute URL; status defaults to 302
    declared_length: int | None = None  # lie about Content-Length


class _Handler(BaseHTTPRequestHandler):
    server: DevServer._HTTPServer  # type: ignore[name-defined]
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes; without this, Nagle + delayed ACK add ~40 ms.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - silence stderr noise
        return

    def do_GET(self) -> None:  # noqa: N802 - http.server API
        owner: DevServer = self.server.owner
        path = urlsplit(self.path).path
        owner._record(path, self)
        if owner.latency_s:
            time.sleep(owner.latency_s)
        route = owner.routes.get(path) or owner._static_route(path)
        if route is None:
            self._send(404, b"not found", {"Content-Type": "text/plain"})
            return
        try:
            self._answer(owner, route)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def do_POST(self) -> None:  # noqa: N802 - http.server API
        """POST: the request body is read into ``self.request_body`` for a callable route body to use."""
        length = self.headers.get("Content-Length", "0")
        self.request_body = self.rfile.read(min(int(length), 10_000_000)) if length.isdigit() else b""
        self.do_GET()

    def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        if "Content-Length" not in headers:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body and self.command != "HEAD":
            self.wfile.write(body)

    def _answer(self, owner: DevServer, route: Route) -> None:
        if route.delay_s:
            time.sleep(route.delay_s)
        if route.redirect_to is not None:
            target = route.redirect_to
            if target.startswith("/"):
                target = owner.url(target)
            status = route.status if route.status in (301, 302, 303, 307, 308) else 302
            self._send(status, b"", {"Location": target, **route.headers})
            return
        body = route.body(self) if callable(route.body) else route.body
        headers = {"Content-Type": route.content_type, **route.headers}
        if route.etag:
            headers["ETag"] = route.etag
        if route.last_modified:
            headers["Last-Modified"] = route.last_modified
        if route.status == 200 and (
            (route.etag and self.headers.get("If-None-Match") == route.etag)
            or (route.last_modified and not route.etag and self.headers.get("If-Modified-Since") == route.last_modified)
        ):
            owner._count("304", self.path)
            self._send(304, b"", {k: v for k, v in headers.items() if k in ("ETag", "Last-Modified")})
            return
        if route.endless or route.drip_interval_s:
            self._stream(route, body, headers)
            return
        if route.declared_length is not None:
            headers["Content-Length"] = str(route.declared_length)
        self._send(route.status, body, headers)

    def _stream(self, route: Route, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(route.status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        stop_at = time.monotonic() + route.endless_cap_s
        chunk = body or b"<p>" + b"x" * 8190 + b"</p>"
        if route.drip_interval_s:
            data = body or b"<html>" + b"." * 100_000
            for i in range(len(data)):
                if time.monotonic() > stop_at:
                    return
                self.wfile.write(data[i : i + 1])
                self.wfile.flush()
                time.sleep(route.drip_interval_s)
            return
        while time.monotonic() < stop_at:
            self.wfile.write(chunk)


class DevServer:
    """``with DevServer(root) as server: server.url('/feed.xml')``; threads, loopback, ephemeral port."""

    class _HTTPServer(ThreadingHTTPServer):
        daemon_threads = True
        allow_reuse_address = True
        owner: DevServer

    def __init__(self, root: Path | str | None = None, host: str = "127.0.0.1", port: int = 0,
                 latency_s: float = 0.0) -> None:
        self.root = Path(root) if root else None
        self.routes: dict[str, Route] = {}
        self.latency_s = latency_s
        self.hits: Counter[str] = Counter()
        self.not_modified: Counter[str] = Counter()
        self.request_headers: dict[str, list[dict[str, str]]] = {}
        self._lock = threading.Lock()
        self._httpd = self._HTTPServer((host, port), _Handler)
        self._httpd.owner = self
        self._thread: threading.Thread | None = None
        self._static_cache: dict[str, Route] = {}

    # -- lifecycle ------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def host_port(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"{host}:{port}"

    def url(self, path: str) -> str:
        return self.base_url + (path if path.startswith("/") else "/" + path)

    def start(self) -> DevServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="devserver", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> DevServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- routes ---------------------------------------------------------------------------------

    def add(self, path: str, route: Route | None = None, **kwargs: object) -> Route:
        route = route or Route(**kwargs)  # type: ignore[arg-type]
        self.routes[path] = route
        return route

    def _static_route(self, path: str) -> Route | None:
        if self.root is None:
            return None
        if path in self._static_cache:
            return self._static_cache[path]
        candidate = (self.root / path.lstrip("/")).resolve()
        if not candidate.is_file() or self.root.resolve() not in candidate.parents:
            return None
        body = candidate.read_bytes()
        if candidate.suffix in (".xml", ".html", ".htm", ".rss", ".atom"):
            body = body.replace(PLACEHOLDER.encode(), self.base_url.encode())
        kind = {".xml": "application/rss+xml; charset=utf-8", ".rss": "application/rss+xml; charset=utf-8",
                ".atom": "application/atom+xml; charset=utf-8", ".html": "text/html; charset=utf-8"}.get(
            candidate.suffix) or (mimetypes.guess_type(candidate.name)[0] or "application/octet-stream")
        if candidate.suffix == ".xml" and b"<feed" in body[:500]:
            kind = "application/atom+xml; charset=utf-8"
        route = Route(body=body, content_type=kind, etag=f'"{hashlib.sha1(body).hexdigest()[:16]}"',
                      last_modified=_LAST_MODIFIED)
        self._static_cache[path] = route
        return route

    # -- bookkeeping ----------------------------------------------------------------------------

    def _record(self, path: str, handler: BaseHTTPRequestHandler) -> None:
        with self._lock:
            self.hits[path] += 1
            self.request_headers.setdefault(path, []).append({k.lower(): v for k, v in handler.headers.items()})

    def _count(self, kind: str, path: str) -> None:
        with self._lock:
            self.not_modified[urlsplit(path).path] += 1
