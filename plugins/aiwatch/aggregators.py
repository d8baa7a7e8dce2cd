"""Aggregator links resolved to the publisher's article: Google News.

Since 2024 the items of a Google News RSS search link to opaque ``news.google.com/rss/articles/<id>``
URLs that no longer redirect to the publisher over HTTP: they answer a JavaScript page (or, in some
countries, a consent page). Fetched as they are, Google's page would be stored as the article, and
the story would never be recognised as the one the outlet's own feed brings. So such a link is
resolved first, the way Google's own page does it:

1. ids of the older format are base64 protobufs that carry the publisher's URL: decoded locally;
2. otherwise the article page gives a signature and a timestamp (``data-n-a-sg``, ``data-n-a-ts``),
   and Google's ``batchexecute`` endpoint (RPC ``Fbv4je``, ``garturlreq``) answers the URL.

Every request goes through our :class:`~aiwatch.fetcher.Fetcher` (timeouts, size caps, the address
guard); nothing here opens a connection of its own. A resolution that fails raises
:class:`ResolveError` with a reason; the caller keeps the feed's title and summary.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from urllib.parse import quote, urlsplit

from aiwatch.fetcher import Fetcher, FetchError
from aiwatch.urls import BadURL, normalise_url

#: Hosts whose article links are not the article (and whose pages are never extracted as one).
GOOGLE_NEWS_HOSTS = frozenset({"news.google.com"})
#: Pages of these hosts are interstitials (consent, sign-in, redirect notices), never articles.
INTERSTITIAL_HOSTS = frozenset({"news.google.com", "consent.google.com", "accounts.google.com", "www.google.com",
                                "google.com", "consent.youtube.com"})
_ARTICLE_PATH_RE = re.compile(r"^/(?:rss/)?(?:articles|read)/([A-Za-z0-9_\-]{8,2000})$")
_SIGNATURE_RE = re.compile(r"""data-n-a-sg=["']([^"']{1,500})["']""")
_TIMESTAMP_RE = re.compile(r"""data-n-a-ts=["'](\d{1,20})["']""")
_URL_IN_BYTES_RE = re.compile(rb"https?://[\x21-\x7e]{4,2000}")
PAGE_MAX_BYTES = 2 * 1024 * 1024


class ResolveError(Exception):
    """An aggregator link that could not be resolved; ``reason`` is a short code, ``transient`` says
    whether a later attempt may succeed (Google unreachable or rate-limiting)."""

    def __init__(self, reason: str, detail: str, *, transient: bool = False) -> None:
        self.reason = reason
        self.detail = detail
        self.transient = transient
        super().__init__(f"{reason}: {detail}")


def _host(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


def article_id(url: str, hosts: frozenset[str] = GOOGLE_NEWS_HOSTS) -> str | None:
    """The Google News article id of ``url``, or None when it is not such a link."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    host = (parts.hostname or "").lower()
    if host not in hosts and f"{host}:{parts.port}" not in hosts:
        return None
    match = _ARTICLE_PATH_RE.match(parts.path)
    return match.group(1) if match else None


def is_interstitial(url: str) -> bool:
    """A page of an aggregator or consent host: never an article's text."""
    return _host(url) in INTERSTITIAL_HOSTS


def decode_legacy_id(identifier: str) -> str | None:
    """The publisher URL inside an old-format id (a base64 protobuf), or None (new format, or not one)."""
    padded = identifier + "=" * (-len(identifier) % 4)
    try:
        raw = base64.urlsafe_b64decode(padded)
    except (binascii.Error, ValueError):
        return None
    if raw.startswith(b"\x08\x13\x22"):
        raw = raw[3:]
    if raw[1:7] == b"AU_yqL" or raw.startswith(b"AU_yqL"):
        return None  # the new format: only Google can resolve it
    match = _URL_IN_BYTES_RE.search(raw)
    if match is None:
        return None
    candidate = match.group(0).decode("ascii", "replace")
    return None if _host(candidate) in INTERSTITIAL_HOSTS else candidate


def _request_body(identifier: str, timestamp: str, signature: str) -> str:
    inner = ["garturlreq",
             [["X", "X", ["X", "X"], None, None, 1, 1, "US:en", None, 1, None, None, None, None, None, 0, 1],
              "X", "X", 1, [1, 1, 1], 1, 1, None, 0, 0, None, 0],
             identifier, int(timestamp), signature]
    return json.dumps([[["Fbv4je", json.dumps(inner, separators=(",", ":"))]]], separators=(",", ":"))


def parse_batchexecute(text: str) -> str | None:
    """The URL in a batchexecute answer (``)]}'`` prefix, then JSON frames), or None."""
    body = text.split("\n\n", 1)[1] if "\n\n" in text else text.removeprefix(")]}'").lstrip()
    try:
        frames = json.loads(body)
    except ValueError:
        return None
    for frame in frames if isinstance(frames, list) else []:
        if isinstance(frame, list) and len(frame) > 2 and frame[:2] == ["wrb.fr", "Fbv4je"] \
                and isinstance(frame[2], str):
            try:
                payload = json.loads(frame[2])
            except ValueError:
                return None
            if isinstance(payload, list) and len(payload) > 1 and isinstance(payload[1], str):
                return payload[1]
    return None


def resolve(url: str, fetcher: Fetcher) -> str:
    """The publisher's URL behind an aggregator link (normalised), or :class:`ResolveError`."""
    identifier = article_id(url)
    if identifier is None:
        raise ResolveError("unresolved-aggregator", f"not a Google News article link: {url[:200]}")
    found = decode_legacy_id(identifier)
    if found is None:
        found = _ask_google(url, identifier, fetcher)
    try:
        resolved = normalise_url(found)
    except BadURL as exc:
        raise ResolveError("unresolved-aggregator", f"Google News gave an unusable URL ({exc.why})") from None
    if is_interstitial(resolved):
        raise ResolveError("unresolved-aggregator", f"Google News pointed to another Google page: {resolved[:200]}")
    return resolved


def _ask_google(url: str, identifier: str, fetcher: Fetcher) -> str:
    parts = urlsplit(url)
    origin = f"{parts.scheme}://{parts.netloc}"
    try:
        page = fetcher.get(f"{origin}/rss/articles/{identifier}", max_bytes=PAGE_MAX_BYTES,
                           accept="text/html,application/xhtml+xml")
    except FetchError as exc:
        raise ResolveError("unresolved-aggregator", f"the Google News page did not load ({exc})",
                           transient=exc.transient) from None
    if is_interstitial(page.final_url) and _host(page.final_url) != parts.hostname:
        raise ResolveError("unresolved-aggregator", f"Google News answered a consent or sign-in page "
                           f"({_host(page.final_url)}) instead of the article")
    html = page.body.decode("utf-8", "replace")
    signature, timestamp = _SIGNATURE_RE.search(html), _TIMESTAMP_RE.search(html)
    if signature is None or timestamp is None:
        raise ResolveError("unresolved-aggregator", "the Google News page carries no decoding parameters "
                           "(consent page, or the protocol changed)")
    try:
        answer = fetcher.post_form(
            f"{origin}/_/DotsSplashUi/data/batchexecute?rpcids=Fbv4je&source-path={quote('/rss/articles/' + identifier)}",
            {"f.req": _request_body(identifier, timestamp.group(1), signature.group(1))},
            headers={"Referer": f"{origin}/"}, max_bytes=PAGE_MAX_BYTES)
    except FetchError as exc:
        raise ResolveError("unresolved-aggregator", f"Google News did not resolve the link ({exc})",
                           transient=exc.transient) from None
    found = parse_batchexecute(answer.body.decode("utf-8", "replace"))
    if not found:
        raise ResolveError("unresolved-aggregator", "Google News answered without a publisher URL")
    return found
