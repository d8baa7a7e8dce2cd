"""Polling one feed: conditional GET, parsing, and turning entries into clean records.

``poll`` is the single place a feed is read. It never raises for a feed's own problems: a bad
feed yields a :class:`PollResult` with ``status="failed"`` and a reason an operator can act on,
so one broken feed cannot stop the others. feedparser's ``bozo`` flag marks feeds that are not
well formed; when such a feed still carries entries we use them and report the problem.
"""

from __future__ import annotations

import calendar
import logging
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import feedparser

from aiwatch.config import Feed
from aiwatch.fetcher import Fetcher, FetchError
from aiwatch.textutil import html_to_text, truncate_words
from aiwatch.urls import clean_url, host_of, is_http_url

log = logging.getLogger(__name__)

FEED_ACCEPT = "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
MAX_TITLE_CHARS = 500
MAX_SUMMARY_CHARS = 5000
MAX_ENTRIES = 500
_HTML_START_RE = re.compile(rb"^\s*(<!--.*?-->\s*)*<(!doctype\s+html|html)\b", re.I | re.S)

# feedparser flags these as "bozo" although the document itself is fine (a server's wrong header).
_BENIGN_BOZO = {"NonXMLContentType", "CharacterEncodingOverride"}

PollStatus = Literal["ok", "unchanged", "failed"]


@dataclass(frozen=True)
class FeedEntry:
    """One item of a feed, cleaned: plain-text title and summary, http(s) link, UTC date."""

    link: str
    guid: str | None
    title: str
    summary: str
    published: datetime | None
    outlet: str
    source_name: str | None = None


@dataclass
class PollResult:
    feed: str
    status: PollStatus
    entries: list[FeedEntry] = field(default_factory=list)
    etag: str | None = None
    last_modified: str | None = None
    http_status: int | None = None
    error: str | None = None
    reason: str | None = None
    warnings: list[str] = field(default_factory=list)
    retry_after: float | None = None
    skipped_entries: int = 0
    elapsed_s: float = 0.0


def _entry_date(entry: Any, now: datetime) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        value = entry.get(key)
        if value:
            try:
                when = datetime.fromtimestamp(calendar.timegm(value), UTC)
            except (OverflowError, ValueError, TypeError):
                continue
            # A date in the future is a feed's clock or timezone error, never a scoop from tomorrow.
            return min(when, now)
    return None


def _entry_link(entry: Any) -> str | None:
    link = entry.get("link")
    if is_http_url(link):
        return link
    for item in entry.get("links") or []:
        href = item.get("href")
        if item.get("rel", "alternate") == "alternate" and is_http_url(href):
            return href
    guid = entry.get("id")
    if is_http_url(guid) and entry.get("guidislink", True):
        return guid
    return None


def parse_entries(body: bytes, feed: Feed, *, content_type: str | None = None, base_url: str | None = None,
                  now: datetime | None = None) -> PollResult:
    """Parse feed bytes into a :class:`PollResult` (status ok or failed); no network access."""
    now = now or datetime.now(UTC)
    headers = {"content-location": base_url or feed.url}
    if content_type:
        headers["content-type"] = content_type
    try:
        parsed = feedparser.parse(body, response_headers=headers, sanitize_html=True, resolve_relative_uris=True)
    except Exception as exc:  # feedparser is robust, but hostile input has found crashes before
        return PollResult(feed.name, "failed", reason="parse-error", error=f"parse-error: feedparser crashed on {feed.url}: {exc!r}"[:500])

    raw_entries = parsed.get("entries") or []
    warnings: list[str] = []
    if parsed.get("bozo"):
        problem = parsed.get("bozo_exception")
        message = f"{type(problem).__name__}: {problem}"[:300] if problem else "not well formed"
        benign = type(problem).__name__ in _BENIGN_BOZO
        if not raw_entries:
            if not parsed.get("version") and _HTML_START_RE.match(body[:2048]):
                return PollResult(feed.name, "failed", reason="not-a-feed",
                                  error=f"not-a-feed: {feed.url} returned an HTML page, not RSS/Atom")
            return PollResult(feed.name, "failed", reason="broken-feed", error=f"broken-feed: {feed.url} is not a readable feed ({message})")
        elif benign:
            warnings.append(f"feed parsed with a minor problem ({message})")
        else:
            warnings.append(f"feed is not well formed but has {len(raw_entries)} entries; using them ({message})")
    elif not raw_entries and not parsed.get("version"):
        reason = "not-a-feed"
        what = "an HTML page" if _HTML_START_RE.match(body[:2048]) else "no RSS/Atom document"
        return PollResult(feed.name, "failed", reason=reason, error=f"not-a-feed: {feed.url} returned {what}")

    entries: list[FeedEntry] = []
    skipped = 0
    for raw in raw_entries[:MAX_ENTRIES]:
        link = _entry_link(raw)
        title = truncate_words(html_to_text(raw.get("title")), MAX_TITLE_CHARS)
        summary = truncate_words(html_to_text(raw.get("summary") or raw.get("description")), MAX_SUMMARY_CHARS)
        if link is None:
            skipped += 1
            continue
        if not title:
            title = truncate_words(summary, 200) if summary else ""
        if not title:
            skipped += 1
            continue
        source = raw.get("source") or {}
        source_href = source.get("href") if isinstance(source, dict) else None
        link = clean_url(link)
        entries.append(FeedEntry(
            link=link,
            guid=(str(raw.get("id"))[:1000] if raw.get("id") else None),
            title=title,
            summary=summary,
            published=_entry_date(raw, now),
            outlet=host_of(source_href) if is_http_url(source_href) else host_of(link),
            source_name=html_to_text(source.get("title"))[:200] or None if isinstance(source, dict) else None,
        ))
    if raw_entries and not entries:
        return PollResult(feed.name, "failed", reason="no-usable-entries", warnings=warnings, skipped_entries=skipped,
                          error=f"no-usable-entries: {feed.url} has {len(raw_entries)} entries but none with "
                                "an http(s) link and a title")
    if skipped:
        warnings.append(f"{skipped} entries without a usable link or title were skipped")
    if len(raw_entries) > MAX_ENTRIES:
        warnings.append(f"feed has {len(raw_entries)} entries; only the first {MAX_ENTRIES} are read")
    return PollResult(feed.name, "ok", entries=entries, warnings=warnings, skipped_entries=skipped)


def poll(feed: Feed, fetcher: Fetcher, *, etag: str | None = None, last_modified: str | None = None,
         max_bytes: int | None = None, now: datetime | None = None) -> PollResult:
    """Fetch and parse one feed with a conditional GET; never raises for the feed's own faults."""
    headers: dict[str, str] = {}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    try:
        response = fetcher.get(feed.url, headers, max_bytes=max_bytes, accept=FEED_ACCEPT)
    except FetchError as exc:
        return PollResult(feed.name, "failed", reason=exc.reason, error=str(exc), http_status=exc.status,
                          retry_after=exc.retry_after, etag=etag, last_modified=last_modified)
    if response.status == 304:
        return PollResult(feed.name, "unchanged", etag=etag, last_modified=last_modified, http_status=304,
                          elapsed_s=response.elapsed_s)
    result = parse_entries(response.body, feed, content_type=response.content_type,
                           base_url=response.final_url, now=now)
    result.http_status = response.status
    result.elapsed_s = response.elapsed_s
    if result.status == "ok":
        result.etag = response.headers.get("etag") or None
        result.last_modified = response.headers.get("last-modified") or None
    else:
        result.etag, result.last_modified = etag, last_modified
    return result


def next_attempt_delay(consecutive_failures: int, base_s: float, cap_s: float,
                       retry_after: float | None = None) -> timedelta:
    """Back-off after failures: the next cycle after one failure, then doubling, capped; never gives up."""
    delay = 0.0 if consecutive_failures <= 1 else min(base_s * 2 ** (consecutive_failures - 2), cap_s)
    if retry_after:
        delay = max(delay, retry_after)
    return timedelta(seconds=delay)
