"""The safe HTTP fetcher: every byte the monitor downloads goes through here.

Feeds and pages are untrusted. A fetch is bounded in time (connect, per-read and whole-request
deadlines, so a server dripping one byte a second cannot hold a worker), in size (declared and
actual, after decompression), and in redirects (loops detected, hops capped).

The private-network guard sits where the socket is opened (:class:`GuardedBackend`): a host name is
resolved once, every address it resolves to is checked, and the connection goes to an address that
was checked, so a DNS answer that changes between a check and the connect (rebinding) cannot steer
us to loopback, the LAN or a cloud metadata endpoint. TLS still verifies and sends the original host
name (SNI), and the Host header is the URL's. Every URL, the first and each redirect's ``Location``,
goes through :func:`aiwatch.urls.normalise_url` before anything is sent, and any error below us
becomes a :class:`FetchError` with a reason: a fetch never raises anything else.
"""

from __future__ import annotations

import email.utils
import ipaddress
import logging
import socket
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx
from httpx._config import create_ssl_context

from aiwatch.urls import BadURL, normalise_url, redact, shorten

log = logging.getLogger(__name__)


class _RedactedRequestLog(logging.Filter):
    """httpx logs every request with its URL at INFO ("HTTP Request: GET http://user:pass@..."):
    credentials in a feed URL must not reach the task log, whatever logging the host set up."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redact(str(arg)) if isinstance(arg, (str, httpx.URL)) else arg
                                for arg in record.args)
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        return True


for _name in ("httpx", "httpcore"):
    if not any(isinstance(f, _RedactedRequestLog) for f in logging.getLogger(_name).filters):
        logging.getLogger(_name).addFilter(_RedactedRequestLog())

REDIRECT_CODES = {301, 302, 303, 307, 308}
Resolver = Callable[[str, int], Iterable[str]]


class FetchError(Exception):
    """A fetch that did not give a usable response; ``reason`` is a short code for logs and the store."""

    def __init__(self, reason: str, url: str, detail: str = "", *, status: int | None = None,
                 retry_after: float | None = None) -> None:
        self.reason = reason
        self.url = url
        self.detail = detail
        self.status = status
        self.retry_after = retry_after
        super().__init__(f"{reason}: {shorten(redact(url))}" + (f" ({redact(detail)})" if detail else ""))

    @property
    def transient(self) -> bool:
        """Worth trying again later (the server or network may recover)."""
        return self.reason in {"timeout", "connection", "dns"} or (self.status or 0) in {408, 425, 429, 500,
                                                                                          502, 503, 504}


@dataclass(frozen=True)
class FetchLimits:
    timeout_s: float = 20.0
    connect_timeout_s: float = 8.0
    max_bytes: int = 5 * 1024 * 1024
    max_redirects: int = 5
    user_agent: str = "MoroccoAIWatch/0.1"
    allow_private: bool = False
    private_allowlist: frozenset[str] = field(default_factory=frozenset)


@dataclass
class Response:
    url: str
    final_url: str
    status: int
    headers: dict[str, str]
    body: bytes
    elapsed_s: float
    #: The aggregator link (Google News) this response's URL was resolved from, if any.
    aggregator_url: str | None = None

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")


#: IPv6 ranges refused whatever Python's ``is_global`` says: NAT64 local-use (RFC 8215), deprecated
#: site-local, discard-only, and the IPv4-compatible block (handled by its embedded address below).
_REFUSED_V6 = tuple(ipaddress.ip_network(n) for n in ("64:ff9b:1::/48", "fec0::/10", "100::/64", "2001:db8::/32"))
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_V4_COMPATIBLE = ipaddress.ip_network("::/96")
#: SIIT IPv4-translated addresses (RFC 2765), ``::ffff:0:a.b.c.d``: judged by the IPv4 address.
_V4_TRANSLATED = ipaddress.ip_network("::ffff:0:0:0/96")
#: IETF-reserved block; whatever in it does not embed an IPv4 address is not a real destination.
_RESERVED_ZERO_V6 = ipaddress.ip_network("::/8")


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 form carries (mapped, compatible, NAT64, 6to4, Teredo client), if any."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in _NAT64 or ip in _V4_TRANSLATED or (ip in _V4_COMPATIBLE and int(ip) > 1):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    return None


def address_is_public(address: str) -> bool:
    """True only for globally routable unicast addresses (no loopback, private, link-local, metadata...).

    An IPv6 address that embeds an IPv4 address is judged by the embedded address, so
    ``::ffff:127.0.0.1``, ``::7f00:1`` and ``64:ff9b::a9fe:a9fe`` are all refused as what they reach."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0].strip("[]"))
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.is_multicast or any(ip in network for network in _REFUSED_V6):
            return False
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            return embedded.is_global and not embedded.is_multicast
        if ip in _RESERVED_ZERO_V6:
            return False
    return ip.is_global and not ip.is_multicast


def system_resolver(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise FetchError("dns", host, str(exc)) from None
    return sorted({info[4][0] for info in infos})


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP date), capped at a day."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), 86400.0)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    now = time.time() if now is None else now
    return max(0.0, min((when - datetime.fromtimestamp(now, UTC)).total_seconds(), 86400.0))


class GuardedBackend(httpcore.NetworkBackend):
    """httpcore's socket layer with the private-network guard in it: resolve once, check every
    address, connect only to a checked one. What is checked is what is connected."""

    def __init__(self, resolver: Resolver, allowed_private: Callable[[str, int], bool]) -> None:
        self._resolve = resolver
        self._allowed_private = allowed_private
        self._inner = httpcore.SyncBackend()

    def addresses(self, host: str, port: int) -> list[str]:
        """The addresses a connection to ``host:port`` may use; FetchError if any is refused."""
        bare = host.strip("[]")
        try:
            addresses = [str(ipaddress.ip_address(bare.split("%", 1)[0]))]
        except ValueError:
            addresses = list(self._resolve(bare, port))
        if not addresses:
            raise FetchError("dns", f"{host}:{port}", "no address")
        if not self._allowed_private(bare, port):
            blocked = [a for a in addresses if not address_is_public(a)]
            if blocked:
                raise FetchError("blocked-address", f"{host}:{port}",
                                 f"{bare} resolves to non-public {', '.join(blocked[:5])}; "
                                 "set WATCH_ALLOW_PRIVATE_NETWORKS=1 to allow")
        return addresses

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: Iterable[Any] | None = None) -> httpcore.NetworkStream:
        last: Exception | None = None
        for address in self.addresses(host, port):
            try:
                return self._inner.connect_tcp(address, port, timeout=timeout, local_address=local_address,
                                               socket_options=socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
        assert last is not None
        raise last

    def connect_unix_socket(self, *args: Any, **kwargs: Any) -> httpcore.NetworkStream:  # pragma: no cover
        raise FetchError("blocked-address", "unix socket", "unix sockets are never used")

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class GuardedTransport(httpx.HTTPTransport):
    """httpx's default transport on a :class:`GuardedBackend` (no proxies, no environment)."""

    def __init__(self, backend: GuardedBackend, limits: httpx.Limits) -> None:
        super().__init__(trust_env=False, limits=limits)
        self._pool = httpcore.ConnectionPool(
            ssl_context=create_ssl_context(trust_env=False), max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections, keepalive_expiry=limits.keepalive_expiry,
            network_backend=backend)


def _hide_location(response: httpx.Response) -> None:
    """Keep httpx from building the redirect request itself: it would parse a hostile ``Location``
    (``javascript:``, a bad IDNA host, 100 kB) and raise before our own checks. We follow redirects
    ourselves, from this header."""
    if "location" in response.headers:
        response.headers[_LOCATION] = response.headers.pop("location")


_LOCATION = "x-aiwatch-location"


class Fetcher:
    """A reusable, thread-safe client applying :class:`FetchLimits` to every request."""

    def __init__(self, limits: FetchLimits, resolver: Resolver | None = None,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.limits = limits
        self._resolve = resolver or system_resolver
        pool_limits = httpx.Limits(max_connections=64, max_keepalive_connections=32)
        self.backend = GuardedBackend(self._resolve, self._allowed_private)
        self._client = httpx.Client(
            follow_redirects=False,
            timeout=httpx.Timeout(limits.timeout_s, connect=limits.connect_timeout_s),
            headers={"User-Agent": limits.user_agent, "Accept-Encoding": "gzip, deflate"},
            transport=transport or GuardedTransport(self.backend, pool_limits),
            trust_env=False,
            limits=pool_limits,
            event_hooks={"response": [_hide_location]},
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- guard -----------------------------------------------------------------------------

    def _allowed_private(self, host: str, port: int) -> bool:
        return self.limits.allow_private or f"{host}:{port}" in self.limits.private_allowlist

    def check_url(self, url: str) -> str:
        """The normalised URL, or FetchError("bad-url") saying why it cannot be fetched. Addresses are
        checked where the connection is made (:class:`GuardedBackend`), never here."""
        try:
            return normalise_url(url)
        except BadURL as exc:
            raise FetchError("bad-url", url, exc.why) from None

    def _check_peer(self, url: str, response: httpx.Response) -> None:
        stream = response.extensions.get("network_stream")
        if stream is None:
            return
        peer = stream.get_extra_info("server_addr")
        if not peer:
            return
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        if not self._allowed_private(parts.hostname or "", port) and not address_is_public(str(peer[0])):
            raise FetchError("blocked-address", url, f"connected to non-public {peer[0]}")

    # -- fetch -----------------------------------------------------------------------------

    def get(self, url: str, headers: Mapping[str, str] | None = None, *, max_bytes: int | None = None,
            accept: str | None = None) -> Response:
        """GET ``url`` following redirects safely; 2xx and 304 are returned, anything else raises."""
        return self._request("GET", url, headers, None, max_bytes=max_bytes, accept=accept)

    def post_form(self, url: str, form: Mapping[str, str], headers: Mapping[str, str] | None = None, *,
                  max_bytes: int | None = None) -> Response:
        """POST a form to ``url`` (same limits and guard as GET); a redirect is not followed (it raises)."""
        from urllib.parse import urlencode

        request_headers = {"Content-Type": "application/x-www-form-urlencoded;charset=utf-8", **(headers or {})}
        return self._request("POST", url, request_headers, urlencode(form).encode("utf-8"),
                             max_bytes=max_bytes, follow=False)

    def _request(self, method: str, url: str, headers: Mapping[str, str] | None, content: bytes | None, *,
                 max_bytes: int | None = None, accept: str | None = None, follow: bool = True) -> Response:
        max_bytes = max_bytes or self.limits.max_bytes
        started = time.monotonic()
        deadline = started + self.limits.timeout_s
        request_headers = dict(headers or {})
        if accept:
            request_headers.setdefault("Accept", accept)
        seen: set[str] = set()
        current = self.check_url(url)
        for _hop in range(self.limits.max_redirects + 1):
            if current in seen:
                raise FetchError("redirect-loop", url, f"came back to {current}")
            seen.add(current)
            status, resp_headers, body, location = self._get_once(current, request_headers, max_bytes, deadline,
                                                                  method, content)
            if location is not None:
                if not follow:
                    raise FetchError(f"http-{status}", url, f"unexpected redirect of a {method}", status=status)
                try:
                    current = normalise_url(location, base=current)
                except BadURL as exc:
                    raise FetchError("bad-url", url, f"redirect to an unusable URL: {exc.why}: "
                                     f"{shorten(redact(location), 120)}", status=status) from None
                continue
            return Response(url=url, final_url=current, status=status, headers=resp_headers, body=body,
                            elapsed_s=time.monotonic() - started)
        raise FetchError("too-many-redirects", url, f"more than {self.limits.max_redirects} redirects")

    def _get_once(self, url: str, headers: Mapping[str, str], max_bytes: int, deadline: float,
                  method: str = "GET", content: bytes | None = None) -> tuple[int, dict[str, str], bytes, str | None]:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise FetchError("timeout", url, f"no answer within {self.limits.timeout_s:.0f}s")
        timeout = httpx.Timeout(min(remaining, self.limits.timeout_s),
                                connect=min(remaining, self.limits.connect_timeout_s))
        try:
            with self._client.stream(method, url, headers=headers, content=content, timeout=timeout) as response:
                self._check_peer(url, response)
                status = response.status_code
                resp_headers = {k.lower(): v for k, v in response.headers.items()}
                if status in REDIRECT_CODES:
                    location = resp_headers.get(_LOCATION)
                    if not location:
                        raise FetchError(f"http-{status}", url, "redirect without Location", status=status)
                    return status, resp_headers, b"", location
                if status == 304:
                    return status, resp_headers, b"", None
                if not 200 <= status < 300:
                    raise FetchError(f"http-{status}", url, response.reason_phrase or "", status=status,
                                     retry_after=parse_retry_after(resp_headers.get("retry-after")))
                declared = resp_headers.get("content-length", "")
                if declared.isdigit() and int(declared) > max_bytes:
                    raise FetchError("too-large", url, f"Content-Length {declared} > {max_bytes} bytes")
                chunks: list[bytes] = []
                size = 0
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > max_bytes:
                        raise FetchError("too-large", url, f"body over {max_bytes} bytes")
                    if time.monotonic() > deadline:
                        raise FetchError("timeout", url, f"body not complete within {self.limits.timeout_s:.0f}s")
                    chunks.append(chunk)
                return status, resp_headers, b"".join(chunks), None
        except FetchError as exc:
            if exc.url != url and exc.reason in ("blocked-address", "dns"):  # raised by the socket layer
                raise FetchError(exc.reason, url, exc.detail) from None
            raise
        except httpx.TimeoutException as exc:
            raise FetchError("timeout", url, type(exc).__name__) from None
        except httpx.DecodingError as exc:
            raise FetchError("bad-encoding", url, f"content-encoding: {exc}") from None
        except (httpx.TransportError, OSError) as exc:
            raise FetchError("connection", url, f"{type(exc).__name__}: {exc}"[:300]) from None
        except (httpx.HTTPError, httpx.InvalidURL, httpx.CookieConflict, httpx.StreamError) as exc:
            raise FetchError("http-error", url, f"{type(exc).__name__}: {exc}"[:300]) from None
        except Exception as exc:  # a bug below us must cost this URL, never the caller's loop
            log.warning("unexpected %s while fetching %s: %s", type(exc).__name__, shorten(redact(url)), exc)
            raise FetchError("fetch-error", url, f"{type(exc).__name__}: {exc}"[:300]) from None
