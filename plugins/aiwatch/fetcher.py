"""The safe HTTP fetcher: every byte the monitor downloads goes through here.

Feeds and pages are untrusted. A fetch is bounded in time (connect, per-read and whole-request
deadlines, so a server dripping one byte a second cannot hold a worker), in size (declared and
actual, after decompression), and in redirects (loops detected, hops capped). Each hop is checked
against the private-network guard before connecting and the connected peer is checked again, so
neither a redirect nor a DNS answer can steer us to loopback, the LAN or a cloud metadata endpoint.
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
from urllib.parse import urljoin, urlsplit

import httpx

log = logging.getLogger(__name__)

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
        super().__init__(f"{reason}: {url}" + (f" ({detail})" if detail else ""))

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

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")


def address_is_public(address: str) -> bool:
    """True only for globally routable unicast addresses (no loopback, private, link-local, metadata...)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        mapped = ip.ipv4_mapped or ip.sixtofour
        if mapped is not None:
            ip = mapped
        elif ip in ipaddress.ip_network("64:ff9b::/96"):  # NAT64 embeds an IPv4 address
            ip = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip.is_global and not ip.is_multicast


def _system_resolver(host: str, port: int) -> list[str]:
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


class Fetcher:
    """A reusable, thread-safe client applying :class:`FetchLimits` to every request."""

    def __init__(self, limits: FetchLimits, resolver: Resolver | None = None,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.limits = limits
        self._resolve = resolver or _system_resolver
        self._client = httpx.Client(
            follow_redirects=False,
            timeout=httpx.Timeout(limits.timeout_s, connect=limits.connect_timeout_s),
            headers={"User-Agent": limits.user_agent, "Accept-Encoding": "gzip, deflate"},
            transport=transport,
            trust_env=False,
            limits=httpx.Limits(max_connections=64, max_keepalive_connections=32),
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

    def check_url(self, url: str) -> None:
        """Refuse non-HTTP schemes and hosts resolving to non-public addresses (unless allowed)."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise FetchError("bad-url", url, "only http(s) URLs with a host are fetched")
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            raise FetchError("bad-url", url, "invalid port") from None
        host = parts.hostname
        if self._allowed_private(host, port):
            return
        addresses = list(self._resolve(host, port))
        if not addresses:
            raise FetchError("dns", url, "no address")
        blocked = [a for a in addresses if not address_is_public(a)]
        if blocked:
            raise FetchError("blocked-address", url,
                             f"{host} resolves to non-public {', '.join(blocked)}; "
                             "set WATCH_ALLOW_PRIVATE_NETWORKS=1 to allow")

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
        max_bytes = max_bytes or self.limits.max_bytes
        started = time.monotonic()
        deadline = started + self.limits.timeout_s
        request_headers = dict(headers or {})
        if accept:
            request_headers.setdefault("Accept", accept)
        seen: set[str] = set()
        current = url
        for _hop in range(self.limits.max_redirects + 1):
            if current in seen:
                raise FetchError("redirect-loop", url, f"came back to {current}")
            seen.add(current)
            self.check_url(current)
            status, resp_headers, body, location = self._get_once(current, request_headers, max_bytes, deadline)
            if location is not None:
                current = urljoin(current, location)
                continue
            return Response(url=url, final_url=current, status=status, headers=resp_headers, body=body,
                            elapsed_s=time.monotonic() - started)
        raise FetchError("too-many-redirects", url, f"more than {self.limits.max_redirects} redirects")

    def _get_once(self, url: str, headers: Mapping[str, str], max_bytes: int,
                  deadline: float) -> tuple[int, dict[str, str], bytes, str | None]:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise FetchError("timeout", url, f"no answer within {self.limits.timeout_s:.0f}s")
        timeout = httpx.Timeout(min(remaining, self.limits.timeout_s),
                                connect=min(remaining, self.limits.connect_timeout_s))
        try:
            with self._client.stream("GET", url, headers=headers, timeout=timeout) as response:
                self._check_peer(url, response)
                status = response.status_code
                resp_headers = {k.lower(): v for k, v in response.headers.items()}
                if status in REDIRECT_CODES:
                    location = resp_headers.get("location")
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
        except FetchError:
            raise
        except httpx.TimeoutException as exc:
            raise FetchError("timeout", url, type(exc).__name__) from None
        except httpx.DecodingError as exc:
            raise FetchError("bad-encoding", url, f"content-encoding: {exc}") from None
        except (httpx.TransportError, OSError) as exc:
            raise FetchError("connection", url, f"{type(exc).__name__}: {exc}"[:300]) from None
        except httpx.HTTPError as exc:  # pragma: no cover - defensive: any other protocol error
            raise FetchError("http-error", url, f"{type(exc).__name__}: {exc}"[:300]) from None
