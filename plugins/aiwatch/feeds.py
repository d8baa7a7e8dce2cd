"""Polling one feed: conditional GET, parsing, and turning entries into clean records.

``poll`` is the single place a feed is read. It never raises for a feed's own problems: a bad
feed yields a :class:`PollResult` with ``status="failed"`` and a reason an operator can act on,
so one broken feed cannot stop the others. feedparser's ``bozo`` flag marks feeds that are not
well formed; when such a feed still carries entries we use them and report the problem.

Bytes are decoded by us (:func:`aiwatch.decode.decode_feed`), never guessed by feedparser, and
character references XML forbids are repaired first. Parsing is bounded: a document nested deeper
than :data:`MAX_DEPTH` elements is refused before parsing, and a large document is parsed in a
short-lived child process with a deadline, so no feed can hold a task for minutes or gigabytes.
One bad entry costs that entry: a link that cannot be fetched keeps the entry, with its reason.
"""

from __future__ import annotations

import calendar
import logging
import os
import pickle
import re
import select
import signal
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import feedparser

from aiwatch.config import Feed
from aiwatch.decode import decode_feed
from aiwatch.fetcher import Fetcher, FetchError
from aiwatch.textutil import html_to_text, truncate_words
from aiwatch.urls import BadURL, clean_url, host_of, is_http_url, normalise_url, redact, shorten

log = logging.getLogger(__name__)

FEED_ACCEPT = "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
MAX_TITLE_CHARS = 500
MAX_SUMMARY_CHARS = 5000
MAX_ENTRIES = 500
_HTML_START_RE = re.compile(rb"^\s*(<!--.*?-->\s*)*<(!doctype\s+html|html)\b", re.I | re.S)

# feedparser flags this as "bozo" although the document itself is fine (a server's wrong header).
# (A charset override is not benign: we decode ourselves, so one would mean the text is misread.)
_BENIGN_BOZO = {"NonXMLContentType"}
#: Deepest element nesting accepted in a feed document (real feeds stay under 20, XHTML content included).
MAX_DEPTH = 100
#: Documents larger than this are parsed in a child process with a deadline.
PARSE_IN_CHILD_BYTES = 512 * 1024
#: Seconds a feed document may take to parse (WATCH_FEED_PARSE_TIMEOUT).
PARSE_TIMEOUT_S = 20.0
_TOKEN_RE = re.compile(rb"<!\[CDATA\[.*?\]\]>|<!--.*?-->|<[?!][^>]*>|<(/?)[^>]*?(/?)>", re.S)

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
    #: Why ``link`` cannot be fetched (``bad-url: ...``); the entry is kept with its title and summary.
    link_error: str | None = None


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
    #: The feed's own <title> ("Le Matin - Économie"): the outlet's name when the feed list gives none.
    title: str | None = None
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


def _link_candidates(entry: Any) -> list[str]:
    candidates = [entry.get("link")]
    candidates += [item.get("href") for item in entry.get("links") or []
                   if isinstance(item, dict) and item.get("rel", "alternate") == "alternate"]
    if entry.get("guidislink", True):
        candidates.append(entry.get("id"))
    return [c for c in candidates if isinstance(c, str) and c.strip()]


def _entry_link(entry: Any, base: str) -> tuple[str | None, str | None]:
    """(link, None) for the first candidate link we can fetch; (raw link, reason) when the entry has a
    link-like value none of which can be fetched; (None, None) when it has no link at all."""
    candidates = _link_candidates(entry)
    first_error: BadURL | None = None
    for candidate in candidates:
        if not _looks_like_link(candidate):
            continue
        try:
            return normalise_url(candidate, base=base), None
        except BadURL as exc:
            first_error = first_error or exc
    if first_error is not None:
        return first_error.url, str(first_error)
    return None, None


def _looks_like_link(value: str) -> bool:
    """A value meant as a link (absolute, or a path): not a GUID such as "tag:site,2025:42" or "123"."""
    value = value.strip()
    head = value[:12].lower()
    return "://" in value[:20] or head.startswith(("http:", "https:", "/", "javascript:", "data:")) \
        or bool(re.match(r"^[a-z][a-z0-9+.\-]*:", head) and not head.startswith(("tag:", "urn:")))


def structure_problem(body: bytes) -> str | None:
    """Why a document is refused before parsing (nested deeper than MAX_DEPTH), or None."""
    depth = 0
    for match in _TOKEN_RE.finditer(body):
        closing, self_closing = match.group(1), match.group(2)
        if closing is None:  # CDATA, comment, declaration or processing instruction
            continue
        if closing:
            depth = max(0, depth - 1)
        elif not self_closing:
            depth += 1
            if depth > MAX_DEPTH:
                return f"elements nested deeper than {MAX_DEPTH} levels (at byte {match.start():,})"
    return None


def _source_suffix_free(title: str, source_name: str | None) -> str:
    """Aggregators append the outlet to the headline ("Le Maroc signe ... - Le360"): drop it, so the
    story is recognised as the outlet's own item."""
    if source_name:
        for dash in (" - ", " – ", " — ", " | "):
            suffix = dash + source_name
            if title.endswith(suffix) and len(title) > len(suffix) + 10:
                return title[: -len(suffix)].rstrip()
    return title


def _media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip() or "application/xml"


def _where(feed: Feed) -> str:
    """The feed's URL as messages show it: credentials redacted, cut to a readable length."""
    return shorten(redact(feed.url), 150)


def parse_entries(body: bytes, feed: Feed, *, content_type: str | None = None, base_url: str | None = None,
                  now: datetime | None = None, timeout_s: float = PARSE_TIMEOUT_S) -> PollResult:
    """Parse feed bytes into a :class:`PollResult` (status ok or failed); no network access; never raises."""
    now = now or datetime.now(UTC)
    where = _where(feed)
    decoded = decode_feed(body, content_type)
    problems = [f"encoding: {problem}" for problem in decoded.problems]
    too_deep = structure_problem(decoded.body)
    if too_deep:
        return PollResult(feed.name, "failed", reason="too-deep", warnings=problems,
                          error=f"too-deep: {where} refused before parsing: {too_deep}")
    headers = {"content-location": base_url or feed.url, "content-type": f"{_media_type(content_type)}; charset=utf-8"}
    args = (decoded.body, headers, feed, now)
    if len(decoded.body) > PARSE_IN_CHILD_BYTES and hasattr(os, "fork"):
        result = _in_child(_parse_document, args, timeout_s, where)
    else:
        result = _parse_document(*args)
    result.warnings[:0] = problems
    return result


def _in_child(function: Any, args: tuple[Any, ...], timeout_s: float, where: str) -> PollResult:
    """``function(*args)`` in a forked child that is killed after ``timeout_s``: a document that would
    take minutes or gigabytes to parse costs one feed, never the task."""
    feed = args[2]
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: parse, send the pickled result, leave without cleanup handlers
        code = 1
        try:
            os.close(read_fd)
            from aiwatch.procutil import die_with_parent

            die_with_parent()
            payload = pickle.dumps(function(*args), protocol=pickle.HIGHEST_PROTOCOL)
            view = memoryview(payload)
            while view:
                view = view[os.write(write_fd, view):]
            code = 0
        finally:
            os._exit(code)
    os.close(write_fd)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout_s
    timed_out = False
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                timed_out = True
                break
            ready, _, _ = select.select([read_fd], [], [], remaining)
            if not ready:
                continue
            chunk = os.read(read_fd, 1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(read_fd)
        if timed_out:
            os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
    if timed_out:
        return PollResult(feed.name, "failed", reason="parse-timeout",
                          error=f"parse-timeout: {where} took more than {timeout_s:.0f}s to parse; refused")
    try:
        return pickle.loads(b"".join(chunks))
    except Exception:
        return PollResult(feed.name, "failed", reason="parse-error",
                          error=f"parse-error: the parser died on {where} (exit status {status})")


def _parse_document(data: bytes, headers: dict[str, str], feed: Feed, now: datetime) -> PollResult:
    where = _where(feed)
    try:
        parsed = feedparser.parse(data, response_headers=headers, sanitize_html=True, resolve_relative_uris=True)
    except Exception as exc:  # feedparser is robust, but hostile input has found crashes before
        return PollResult(feed.name, "failed", reason="parse-error",
                          error=f"parse-error: feedparser crashed on {where}: {exc!r}"[:500])
    try:
        return _entries_of(parsed, data, feed, now)
    except Exception as exc:  # a bug reading one odd document must fail this feed, with its reason
        log.exception("feed=%s: unexpected error reading the parsed document", feed.name)
        return PollResult(feed.name, "failed", reason="parse-error",
                          error=f"parse-error: cannot read the entries of {where}: {type(exc).__name__}: {exc}"[:500])


def _entries_of(parsed: Any, body: bytes, feed: Feed, now: datetime) -> PollResult:
    raw_entries = parsed.get("entries") or []
    where = _where(feed)
    warnings: list[str] = []
    if parsed.get("bozo"):
        problem = parsed.get("bozo_exception")
        message = f"{type(problem).__name__}: {problem}"[:300] if problem else "not well formed"
        benign = type(problem).__name__ in _BENIGN_BOZO
        if not raw_entries:
            if not parsed.get("version") and _HTML_START_RE.match(body[:2048]):
                return PollResult(feed.name, "failed", reason="not-a-feed",
                                  error=f"not-a-feed: {where} returned an HTML page, not RSS/Atom")
            return PollResult(feed.name, "failed", reason="broken-feed", error=f"broken-feed: {where} is not a readable feed ({message})")
        elif benign:
            warnings.append(f"feed parsed with a minor problem ({message})")
        else:
            warnings.append(f"feed is not well formed but has {len(raw_entries)} entries; using them ({message})")
    elif not raw_entries and not parsed.get("version"):
        reason = "not-a-feed"
        what = "an HTML page" if _HTML_START_RE.match(body[:2048]) else "no RSS/Atom document"
        return PollResult(feed.name, "failed", reason=reason, error=f"not-a-feed: {where} returned {what}")

    entries: list[FeedEntry] = []
    skipped = bad_links = 0
    base = parsed.get("href") or feed.url
    for raw in raw_entries[:MAX_ENTRIES]:
        link, link_error = _entry_link(raw, base)
        source = raw.get("source") or {}
        source_name = (html_to_text(source.get("title"))[:200] or None) if isinstance(source, dict) else None
        title = truncate_words(_source_suffix_free(html_to_text(raw.get("title")), source_name), MAX_TITLE_CHARS)
        summary = truncate_words(html_to_text(raw.get("summary") or raw.get("description")), MAX_SUMMARY_CHARS)
        if link is None:
            skipped += 1
            continue
        if not title:
            title = truncate_words(summary, 200) if summary else ""
        if not title:
            skipped += 1
            continue
        source_href = source.get("href") if isinstance(source, dict) else None
        if link_error is None:
            link = clean_url(link)
        else:
            bad_links += 1
            log.warning("feed=%s: entry %r kept without its page: %s", feed.name, title[:80], link_error)
        entries.append(FeedEntry(
            link=link[:4000],
            guid=(html_to_text(str(raw.get("id")))[:1000] or None) if raw.get("id") else None,
            title=title,
            summary=summary,
            published=_entry_date(raw, now),
            outlet=host_of(source_href) if is_http_url(source_href) else (host_of(link) if link_error is None else
                                                                          host_of(feed.url)),
            source_name=source_name,
            link_error=link_error,
        ))
    if raw_entries and not entries:
        return PollResult(feed.name, "failed", reason="no-usable-entries", warnings=warnings, skipped_entries=skipped,
                          error=f"no-usable-entries: {where} has {len(raw_entries)} entries but none with "
                                "an http(s) link and a title")
    if skipped:
        warnings.append(f"{skipped} entries without a usable link or title were skipped")
    if bad_links:
        warnings.append(f"{bad_links} entries have a link that cannot be fetched; kept with their feed text")
    if len(raw_entries) > MAX_ENTRIES:
        warnings.append(f"feed has {len(raw_entries)} entries; only the first {MAX_ENTRIES} are read")
    channel = parsed.get("feed") or {}
    title = html_to_text(channel.get("title"))[:200] if isinstance(channel, dict) else ""
    return PollResult(feed.name, "ok", entries=entries, warnings=warnings, skipped_entries=skipped,
                      title=" ".join(title.split()) or None)


def poll(feed: Feed, fetcher: Fetcher, *, etag: str | None = None, last_modified: str | None = None,
         max_bytes: int | None = None, now: datetime | None = None, parse_timeout_s: float = PARSE_TIMEOUT_S
         ) -> PollResult:
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
                           base_url=response.final_url, now=now, timeout_s=parse_timeout_s)
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
