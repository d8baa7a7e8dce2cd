"""What the operator's view shows, read from the article store and the model registry.

Plain functions taking a Store (or a registry path) and returning frozen dataclasses, so the JSON
API, the HTML pages, the tests and the benchmark all read the same thing. Every query is bounded by
a page size and served by an index (migration 0004), so pages stay fast on a store with 100,000
articles and 1,000 events.
"""

from __future__ import annotations

import http
import json
import logging
import re
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiwatch.store import outbox
from aiwatch.store.engine import Store
from aiwatch.store.models import (
    Article,
    Classification,
    Event,
    EventArticle,
    FeedPoll,
    FeedState,
    Label,
    OutboxMessage,
)
from aiwatch.store.repo import poll_pending
from aiwatch.urls import redact
from sqlalchemy import func, select
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

#: A feed whose last success is older than this (and that is not failing) is shown as stale.
STALE_AFTER = timedelta(hours=24)
MAX_PAGE_SIZE = 200
#: Articles listed per event on a page (the rest are counted).
ARTICLES_PER_EVENT = 20
FEED_SORTS = ("status", "name", "last_ok_at", "consecutive_failures", "entries_seen", "extracted_share")
_STATUS_ORDER = {"failing": 0, "stale": 1, "ok": 2}
_PLOT_RE = re.compile(r"^[a-z0-9_-]+\.(pr_curve|confusion)\.png$")
_VERSION_RE = re.compile(r"^v\d{4,}$")


class QueryError(ValueError):
    """A request parameter the view cannot honour; the message names it."""


def page_bounds(limit: int, offset: int) -> tuple[int, int]:
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise QueryError(f"limit={limit} must be between 1 and {MAX_PAGE_SIZE}")
    if offset < 0:
        raise QueryError(f"offset={offset} must not be negative")
    return limit, offset


# --- feeds -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FeedRow:
    name: str
    url: str
    lang: str | None
    status: str  # ok | failing | stale
    last_status: str | None
    last_polled_at: datetime | None
    last_ok_at: datetime | None
    last_error: str | None
    last_error_words: str | None
    consecutive_failures: int
    next_attempt_at: datetime | None
    entries_seen: int
    articles: int
    pages_extracted: int
    pages_failed: int
    pages_waiting: int
    extracted_share: float | None  # of the pages tried (not the ones still waiting)
    failed_run_id: str | None  # the run of the latest failed poll (its poll_feed task log)
    failed_at: datetime | None
    pages_given_up: int = 0  # failed repeatedly and gave up (judged on the feed's text)
    given_up_reasons: tuple[str, ...] = ()  # the latest few, as stored
    paused_at: datetime | None = None  # paused by an operator: prepare leaves it out until resumed
    paused_by: str | None = None
    poll_requested_at: datetime | None = None  # "poll now" not yet served by a poll
    next_poll_at: datetime | None = None  # the scheduled run that will really poll it (after any back-off)
    next_poll_note: str = ""  # why then, in words
    history: list[PollMark] = field(default_factory=list)  # the latest polls, oldest first


@dataclass(frozen=True)
class PollMark:
    """One poll in a feed's history strip."""

    at: datetime
    status: str  # ok | not_modified | failed | skipped
    detail: str


@dataclass(frozen=True)
class FeedPage:
    items: list[FeedRow]
    total: int
    sort: str
    descending: bool
    limit: int
    offset: int
    counts: dict[str, int] = field(default_factory=dict)  # feeds per status


_REASON_WORDS = {
    "dns": "the host name could not be resolved",
    "timeout": "the server did not answer in time",
    "connection": "the connection to the server failed",
    "blocked-address": "the address is a private or local network address, which is refused",
    "redirect-loop": "the server's redirects go round in a loop",
    "too-many-redirects": "the server redirected too many times",
    "too-large": "the document is larger than the size limit",
    "bad-encoding": "the server's compression could not be decoded",
    "bad-url": "the feed's address is not a valid http(s) URL",
    "http-error": "the HTTP exchange with the server broke off",
    "parse-error": "the feed could not be parsed",
    "not-a-feed": "the address serves a web page or another document, not an RSS/Atom feed",
    "broken-feed": "the document is not a readable feed",
    "no-usable-entries": "the feed has entries but none with a usable link",
    "backoff": "skipped: the feed is waiting after earlier failures",
    "too-deep": "the document nests elements too deeply to be parsed safely",
    "parse-timeout": "the document took too long to parse",
    "internal-error": "an unexpected error while reading this feed (see the task log)",
    "fetch-error": "an unexpected error while downloading (see the task log)",
}


def error_in_words(reason: str | None, http_status: int | None, error: str | None) -> str | None:
    """The last error as an operator reads it: what went wrong, then the technical detail."""
    if not reason and not error:
        return None
    reason = reason or (error or "").split(":", 1)[0]
    words = _REASON_WORDS.get(reason)
    status = http_status
    if status is None and (match := re.match(r"http-(\d{3})$", reason)):
        status = int(match.group(1))
    if words is None and status is not None:
        try:
            phrase = http.HTTPStatus(status).phrase
        except ValueError:
            phrase = "unknown status"
        words = f"the server answered HTTP {status} ({phrase})"
    return words or reason


def _feed_status(row: FeedState, now: datetime, stale_after: timedelta) -> str:
    if (row.consecutive_failures or 0) > 0 or row.last_status == "failed":
        return "failing"
    if row.last_ok_at is None or now - row.last_ok_at > stale_after:
        return "stale"
    return "ok"


def _sort_key(sort: str):  # type: ignore[no-untyped-def]
    if sort == "status":
        return lambda r: (_STATUS_ORDER[r.status], -r.consecutive_failures, r.name)
    if sort == "name":
        return lambda r: r.name
    if sort == "last_ok_at":
        return lambda r: (r.last_ok_at is not None, r.last_ok_at.timestamp() if r.last_ok_at else 0.0, r.name)
    if sort == "extracted_share":
        return lambda r: (r.extracted_share is not None, r.extracted_share or 0.0, r.name)
    return lambda r: (getattr(r, sort), r.name)


HISTORY_POLLS = 20


def next_poll(schedule: str | None, now: datetime, not_before: datetime | None, paused: bool,
              requested: bool) -> tuple[datetime | None, str]:
    """When the feed will really be polled: the first scheduled run at or after its back-off ends
    (a "poll now" ignores the back-off); None when paused or when the DAG has no schedule."""
    if paused:
        return None, "paused: not polled until resumed"
    backoff = not_before is not None and not_before > now and not requested
    if schedule is None:
        return None, "at the next triggered run (the DAG has no schedule)" + (
            f", once the back-off ends at {not_before:%Y-%m-%d %H:%M} UTC" if backoff and not_before else "")
    from croniter import croniter

    base = not_before if backoff and not_before else now
    try:
        at = croniter(schedule, base).get_next(datetime)
    except (ValueError, KeyError) as exc:
        return None, f"schedule {schedule!r} unreadable ({exc})"
    at = at if at.tzinfo else at.replace(tzinfo=UTC)
    if backoff:
        return at, f"the first scheduled run after its back-off ends ({not_before:%H:%M} UTC)"
    return at, "the next scheduled run" + (" (poll now requested)" if requested else "")


def _history(session: Session, names: list[str]) -> dict[str, list[PollMark]]:
    """The latest polls of these feeds, oldest first (one windowed query, served by the feed index)."""
    if not names:
        return {}
    ranked = (select(FeedPoll.feed, FeedPoll.at, FeedPoll.status, FeedPoll.http_status, FeedPoll.reason,
                     FeedPoll.error, FeedPoll.new,
                     func.row_number().over(partition_by=FeedPoll.feed,
                                            order_by=(FeedPoll.at.desc(), FeedPoll.id.desc())).label("n"))
              .where(FeedPoll.feed.in_(names)).subquery())
    out: dict[str, list[PollMark]] = defaultdict(list)
    for row in session.execute(select(ranked).where(ranked.c.n <= HISTORY_POLLS)
                               .order_by(ranked.c.feed, ranked.c.at, ranked.c.n.desc())):
        status = "not_modified" if row.status == "ok" and row.http_status == 304 else row.status
        if status == "failed":
            detail = error_in_words(row.reason, row.http_status, row.error) or "failed"
        elif status == "not_modified":
            detail = "unchanged (304)"
        elif status == "ok":
            detail = f"ok, {row.new or 0} new"
        else:
            detail = redact(row.error or status)[:200]
        out[row.feed].append(PollMark(row.at, status, detail))
    return out


def feeds(store: Store, now: datetime, *, sort: str = "status", descending: bool = False, limit: int = 50,
          offset: int = 0, stale_after: timedelta = STALE_AFTER, schedule: str | None = None) -> FeedPage:
    """Every feed with its health, article counts, the run of its latest failed poll, its recent
    polls, when it will really be polled next under ``schedule`` (the DAG's cron), and whether an
    operator paused it."""
    if sort not in FEED_SORTS:
        raise QueryError(f"sort={sort!r} is not one of {', '.join(FEED_SORTS)}")
    limit, offset = page_bounds(limit, offset)

    def work(session: Session) -> list[FeedRow]:
        states = list(session.scalars(select(FeedState)))
        pages: dict[str, dict[str, int]] = defaultdict(dict)
        # One index-only pass over (feed, fetch_status): per feed, how many pages in each state.
        for feed, status, count in session.execute(
                select(Article.feed, Article.fetch_status, func.count()).group_by(Article.feed, Article.fetch_status)):
            pages[feed][status] = count
        latest = (select(FeedPoll.feed, func.max(FeedPoll.at).label("at"))
                  .where(FeedPoll.status == "failed").group_by(FeedPoll.feed).subquery())
        failed = {row.feed: row for row in session.execute(
            select(FeedPoll.feed, FeedPoll.run_id, FeedPoll.at, FeedPoll.reason, FeedPoll.http_status)
            .join(latest, (latest.c.feed == FeedPoll.feed) & (latest.c.at == FeedPoll.at)))}
        given_up: dict[str, list[str]] = defaultdict(list)
        for feed, error in session.execute(select(Article.feed, Article.fetch_error)
                                           .where(Article.fetch_status == "given-up")
                                           .order_by(Article.id.desc()).limit(500)):
            if len(given_up[feed]) < 3:
                given_up[feed].append(redact(error or "")[:300])
        rows = []
        for state in states:
            counts = pages.get(state.name, {})
            ok, bad = counts.get("ok", 0), counts.get("failed", 0) + counts.get("given-up", 0)
            waiting = counts.get("pending", 0) + counts.get("deferred", 0)
            poll = failed.get(state.name)
            status = _feed_status(state, now, stale_after)
            rows.append(FeedRow(
                name=state.name, url=redact(state.url), lang=state.lang, status=status,
                last_status=state.last_status, last_polled_at=state.last_polled_at, last_ok_at=state.last_ok_at,
                last_error=redact(state.last_error) if state.last_error else None,
                last_error_words=error_in_words(poll.reason if poll else None, poll.http_status if poll else None,
                                                state.last_error) if state.last_error else None,
                consecutive_failures=state.consecutive_failures or 0, next_attempt_at=state.next_attempt_at,
                entries_seen=state.entries_seen or 0, articles=sum(counts.values()), pages_extracted=ok,
                pages_failed=bad, pages_waiting=waiting, extracted_share=round(ok / (ok + bad), 4) if ok + bad else None,
                failed_run_id=poll.run_id if poll and status == "failing" else None,
                failed_at=poll.at if poll else None, pages_given_up=counts.get("given-up", 0),
                given_up_reasons=tuple(given_up.get(state.name, ())), paused_at=state.paused_at,
                paused_by=state.paused_by,
                poll_requested_at=state.poll_requested_at
                if poll_pending(state.poll_requested_at, state.last_polled_at) else None))
        return rows

    rows = store.read(work)
    rows.sort(key=_sort_key(sort), reverse=descending)
    counts = {s: sum(1 for r in rows if r.status == s) for s in _STATUS_ORDER}
    counts["paused"] = sum(1 for r in rows if r.paused_at)
    shown = rows[offset:offset + limit]
    history = store.read(lambda session: _history(session, [r.name for r in shown]))
    items = []
    for row in shown:
        at, note = next_poll(schedule, now, row.next_attempt_at, row.paused_at is not None,
                             row.poll_requested_at is not None)
        items.append(replace(row, next_poll_at=at, next_poll_note=note, history=history.get(row.name, [])))
    return FeedPage(items=items, total=len(rows), sort=sort, descending=descending,
                    limit=limit, offset=offset, counts=counts)


# --- events and their alerts -------------------------------------------------------------------


@dataclass(frozen=True)
class EventArticleRow:
    article_id: int
    title: str
    url: str
    outlet: str
    lang: str | None
    score: float | None
    model_version: str | None
    role: str
    published_at: datetime | None
    reason: str  # why the grouping step placed the article in this event, in words (up to 1000 chars)
    explanation: str = ""  # why the classifier judged it relevant (its newest verdict)
    seen_at: datetime | None = None  # when the monitor first stored it


@dataclass(frozen=True)
class MessageRow:
    key: str
    kind: str
    state: str
    last_error: str | None
    slack_channel: str | None
    slack_ts: str | None
    slack_url: str | None
    attempts: int
    sent_at: datetime | None
    channel: str = ""                 # where it goes, as configured (#morocco-ai-watch)
    parent_key: str | None = None     # the alert a reply is threaded under, or an update edits
    created_at: datetime | None = None
    composed_run_id: str | None = None  # the DAG run whose compose step wrote it
    delivery_run_id: str | None = None  # the DAG run whose send_alerts last tried it
    state_words: str = ""             # the state as an operator reads it
    preview: list[Any] = field(default_factory=list)  # aiwatch.slack.preview.Block: as Slack shows it


@dataclass(frozen=True)
class EventRow:
    id: int
    headline: str
    kind: str
    partners: list[str]
    moroccan: list[str]
    first_seen: datetime
    last_seen: datetime
    article_count: int
    outlets: int
    articles: list[EventArticleRow]
    alert_state: str  # none | pending | sent | dry_run | failed
    alert: MessageRow | None
    failed: list[MessageRow]  # every failed message of the event (alert, replies, edits): re-queueable
    messages: list[MessageRow] = field(default_factory=list)  # the alert, then its replies and edits, in order
    published_at: datetime | None = None  # the earliest publication date of its articles
    seen_by_monitor: datetime | None = None  # when the monitor first stored one of its articles


@dataclass(frozen=True)
class EventPage:
    items: list[EventRow]
    total: int
    limit: int
    offset: int
    alert_counts: dict[str, int]  # outbox messages per state
    state: str | None = None  # the filters applied
    since: str | None = None
    until: str | None = None


def slack_url(channel: str | None, ts: str | None) -> str | None:
    """A link to a posted message (Slack's permalink shape; Slack sends the reader to their workspace)."""
    if not channel or not ts or not re.fullmatch(r"[A-Z0-9]+", channel) or not re.fullmatch(r"\d+\.\d+", ts):
        return None
    return f"https://slack.com/archives/{channel}/p{ts.replace('.', '')}"


#: Outbox states in an operator's words (the page never shows "9 dry_run").
STATE_WORDS = {
    "pending": "waiting to be sent",
    "sending": "sent, Slack's answer unconfirmed (checked before any retry)",
    "sent": "sent to Slack",
    "dry_run": "dry-run: written to the outbox file, not sent (no Slack connection)",
    "failed": "failed",
}
KIND_WORDS = {"alert": "alert", "followup": "reply in the alert's thread", "update": "edit of the alert",
              "digest": "review digest", "digest_line": "review digest line", "ops": "ops notice"}


def state_words(row: OutboxMessage) -> str:
    """A message's state as a sentence: when it went, why it failed, when it is retried."""
    words = STATE_WORDS.get(row.state, row.state)
    if row.state == "failed" and row.last_error:
        return f"failed ({row.last_error})"
    if row.state in ("pending", "sending") and row.last_error:
        retry = f", retried after {row.next_attempt_at:%Y-%m-%d %H:%M} UTC" if row.next_attempt_at else \
            ", retried by the next send_alerts"
        return f"{words} (attempt {row.attempts or 0} failed: {row.last_error}{retry})"
    return words


def _message(row: OutboxMessage, with_preview: bool = False) -> MessageRow:
    preview: list[Any] = []
    if with_preview:
        from aiwatch.slack.preview import render

        preview = render(row.payload)
    return MessageRow(key=row.key, kind=row.kind, state=row.state, last_error=row.last_error,
                      slack_channel=row.slack_channel, slack_ts=row.slack_ts,
                      slack_url=slack_url(row.slack_channel, row.slack_ts) if row.state == "sent" else None,
                      attempts=row.attempts or 0, sent_at=row.sent_at, channel=row.channel,
                      parent_key=row.parent_key, created_at=row.created_at, composed_run_id=row.run_id,
                      delivery_run_id=row.delivery_run_id, state_words=state_words(row), preview=preview)


def _alert_state(alert: MessageRow | None) -> str:
    if alert is None:
        return "none"
    return "pending" if alert.state == "sending" else alert.state


EVENT_STATES = ("none", "pending", "sent", "dry_run", "failed")


def _with_parents(rows: list[MessageRow]) -> list[MessageRow]:
    """A reply or edit waits for its alert: say so instead of a bare "waiting to be sent"."""
    by_key = {m.key: m for m in rows}
    out = []
    for m in rows:
        parent = by_key.get(m.parent_key or "")
        if m.state == "pending" and parent is not None and parent.state not in ("sent", "dry_run"):
            m = replace(m, state_words=f"waiting for its alert ({parent.state_words})")
        out.append(m)
    return out


def _day(value: str | None, name: str) -> datetime | None:
    if not value:
        return None
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        try:
            return datetime.fromisoformat(value).replace(tzinfo=UTC)
        except ValueError:
            pass
    raise QueryError(f"{name} must be a date like 2026-01-31, got {value!r}")


def events(store: Store, *, limit: int = 20, offset: int = 0, state: str | None = None, since: str | None = None,
           until: str | None = None) -> EventPage:
    """Recent events (newest coverage first), each with its articles, its Slack messages as Slack shows
    them and the state of its alert. ``state`` keeps the events whose alert is in that state (``none``:
    no alert); ``since``/``until`` (dates, inclusive) keep the events covered on those days."""
    limit, offset = page_bounds(limit, offset)
    if state is not None and state not in EVENT_STATES:
        raise QueryError(f"state must be one of {', '.join(EVENT_STATES)}, got {state!r}")
    start, end = _day(since, "since"), _day(until, "until")

    def work(session: Session) -> EventPage:
        from aiwatch.store.events import OUTLET_COLUMNS, outlet_of

        query = select(Event)
        if state is not None:
            alerts = select(OutboxMessage.event_id).where(OutboxMessage.kind == "alert",
                                                          OutboxMessage.event_id.is_not(None))
            if state == "none":
                query = query.where(Event.id.not_in(alerts))
            else:
                states = ("pending", "sending") if state == "pending" else (state,)
                query = query.where(Event.id.in_(alerts.where(OutboxMessage.state.in_(states))))
        if start is not None:
            query = query.where(Event.last_seen >= start)
        if end is not None:
            query = query.where(Event.first_seen < end + timedelta(days=1))
        total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
        page = list(session.scalars(query.order_by(Event.last_seen.desc(), Event.id.desc())
                                    .limit(limit).offset(offset)))
        ids = [e.id for e in page]
        members: dict[int, list[Any]] = defaultdict(list)
        sizes: dict[int, tuple[int, int]] = {}
        messages: dict[int, list[OutboxMessage]] = defaultdict(list)
        scores: dict[int, tuple[float, str, str]] = {}
        dates: dict[int, tuple[datetime | None, datetime | None]] = {}
        if ids:
            # Outlets counted by name, as the alert counts them (two feeds of one outlet are one).
            named: dict[int, set[str]] = defaultdict(set)
            counted: dict[int, int] = defaultdict(int)
            for row in session.execute(
                    select(EventArticle.event_id, *OUTLET_COLUMNS)
                    .join(Article, Article.id == EventArticle.article_id)
                    .outerjoin(FeedState, FeedState.name == Article.feed)
                    .where(EventArticle.event_id.in_(ids))):
                counted[row.event_id] += 1
                named[row.event_id].add(outlet_of(row))
            sizes = {event_id: (n, len(named[event_id])) for event_id, n in counted.items()}
            ranked = (select(EventArticle.event_id, EventArticle.article_id, EventArticle.role, EventArticle.reason,
                             func.row_number().over(partition_by=EventArticle.event_id,
                                                    order_by=EventArticle.id).label("n"))
                      .where(EventArticle.event_id.in_(ids)).subquery())
            for row in session.execute(
                    select(ranked.c.event_id, ranked.c.role, ranked.c.reason, Article.id, Article.title, Article.url,
                           Article.lang, Article.published_at, Article.created_at, *OUTLET_COLUMNS)
                    .join(Article, Article.id == ranked.c.article_id)
                    .outerjoin(FeedState, FeedState.name == Article.feed)
                    .where(ranked.c.n <= ARTICLES_PER_EVENT).order_by(ranked.c.event_id, ranked.c.n)):
                members[row.event_id].append(row)
            article_ids = [row.id for rows in members.values() for row in rows]
            if article_ids:
                # The newest verdict per article (a new model re-scores articles; the latest is the one in force).
                for cls in session.execute(select(Classification.article_id, Classification.score,
                                                  Classification.model_version, Classification.explanation)
                                           .where(Classification.article_id.in_(article_ids))
                                           .order_by(Classification.at, Classification.id)):
                    scores[cls.article_id] = (float(cls.score), cls.model_version, cls.explanation or "")
            # The dates over all of an event's articles (not only the ones listed).
            for row in session.execute(
                    select(EventArticle.event_id, func.min(Article.published_at), func.min(Article.created_at))
                    .join(Article, Article.id == EventArticle.article_id)
                    .where(EventArticle.event_id.in_(ids)).group_by(EventArticle.event_id)):
                dates[row[0]] = (row[1], row[2])
            for message in session.scalars(select(OutboxMessage).where(OutboxMessage.event_id.in_(ids))
                                           .order_by(OutboxMessage.id)):
                messages[message.event_id].append(message)

        items = []
        for event in page:
            rows = [EventArticleRow(article_id=r.id, title=r.title or "", url=r.url,
                                    # Named as the Slack alerts name it (aiwatch.store.events.event_outlets).
                                    outlet=outlet_of(r),
                                    lang=r.lang, score=scores.get(r.id, (None, None, ""))[0],
                                    model_version=scores.get(r.id, (None, None, ""))[1], role=r.role,
                                    published_at=r.published_at, reason=r.reason or "",
                                    explanation=scores.get(r.id, (None, None, ""))[2], seen_at=r.created_at)
                    for r in members.get(event.id, [])]
            event_messages = _with_parents([_message(m, with_preview=True) for m in messages.get(event.id, [])])
            alert = next((m for m in event_messages if m.kind == "alert"), None)
            count, outlets = sizes.get(event.id, (0, 0))
            published, seen = dates.get(event.id, (None, None))
            items.append(EventRow(id=event.id, headline=event.headline, kind=event.kind,
                                  partners=list(event.partners or []), moroccan=list(event.moroccan or []),
                                  first_seen=event.first_seen, last_seen=event.last_seen, article_count=count,
                                  outlets=outlets, articles=rows, alert_state=_alert_state(alert), alert=alert,
                                  failed=[m for m in event_messages if m.state == "failed"],
                                  messages=event_messages, published_at=published, seen_by_monitor=seen))
        counts = dict(session.execute(select(OutboxMessage.state, func.count()).group_by(OutboxMessage.state)).all())
        return EventPage(items=items, total=total, limit=limit, offset=offset, alert_counts=counts, state=state,
                         since=since or None, until=until or None)

    return store.read(work)


@dataclass(frozen=True)
class RequeueResult:
    key: str
    requeued: bool
    state: str | None  # the message's state after the request (None: no such message)


def requeue(store: Store, key: str) -> RequeueResult:
    """An operator's second chance for a failed message: back to pending for the next send_alerts."""
    done = outbox.requeue(store, key)
    row = outbox.by_key(store, key)
    log.info("re-queue of outbox message %s: %s", key, "pending again" if done else
             f"not re-queued (state {row.state if row else 'unknown: no such message'})")
    return RequeueResult(key=key, requeued=done, state=row.state if row else None)


# --- model -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VersionRow:
    name: str
    live: bool
    created_at: str | None
    threshold: float | None
    metrics: dict[str, Any]  # cross-validated (from training)
    validation: dict[str, Any] | None  # on the validation split (kept at training, else the retraining's)
    promotion: dict[str, Any] | None  # {"promoted", "reason", "live", "candidate", "live_metrics"} of the retraining
    data_counts: dict[str, Any]
    plots: list[str]  # PNG file names in the version directory
    #: The validation split in detail: {"per_language": {lang: metrics}, "by_category": {category: counts},
    #: "misclassified": [{title, lang, label, score, category, explanation}]}.
    evaluation: dict[str, Any] | None = None


@dataclass(frozen=True)
class ModelView:
    registry: str
    live: str | None
    versions: list[VersionRow]
    newest: str | None
    labels_total: int
    labels_since_training: int
    #: The newest retraining decision (a version with promotion.json): the candidate beside the live model.
    last_decision: str | None = None


_METRIC_KEYS = ("precision", "recall", "f1", "average_precision", "n", "positives", "threshold")


def _metrics(raw: dict[str, Any] | None) -> dict[str, Any]:
    return {k: raw[k] for k in _METRIC_KEYS if isinstance(raw, dict) and k in raw}


def model_view(models_dir: Path, store: Store) -> ModelView:
    """The registry's versions (newest first), which is live, and the labels gathered since the newest one."""
    from classifiers.promotion import VALIDATION_RESULT
    from classifiers.registry import versions as registry_versions

    found = registry_versions(models_dir)
    rows = []
    decided: list[tuple[str, str]] = []
    for version in found:
        promotion = None
        validation = None
        evaluation = None
        kept = _json_file(version.path / VALIDATION_RESULT)
        if isinstance(kept, dict):
            validation, evaluation = _metrics(kept), _evaluation(kept)
        decision_file = version.path / "promotion.json"
        if decision_file.is_file():
            decision = _json_file(decision_file)
            if isinstance(decision, dict):
                promotion = {"promoted": bool(decision.get("promoted")), "reason": str(decision.get("reason", "")),
                             "live": decision.get("live"), "candidate": _metrics(decision.get("candidate_metrics")),
                             "live_metrics": _metrics(decision.get("live_metrics")) or None}
                if validation is None:
                    validation = promotion["candidate"]
                    evaluation = _evaluation(decision.get("candidate_metrics") or {})
                decided.append((str(version.meta.get("created_at") or ""), version.name))
            else:
                promotion = {"promoted": False, "reason": f"promotion.json unreadable: {decision}"}
        rows.append(VersionRow(
            name=version.name, live=version.live, created_at=version.meta.get("created_at"),
            threshold=version.meta.get("threshold"), metrics=_metrics(version.meta.get("metrics")),
            validation=validation or None, promotion=promotion, data_counts=dict(version.meta.get("data_counts") or {}),
            plots=sorted(p.name for p in version.path.glob("*.png") if _PLOT_RE.match(p.name)), evaluation=evaluation))
    rows.reverse()
    dated = [v for v in found if v.meta.get("created_at")]
    newest = max(dated, key=lambda v: v.meta["created_at"]) if dated else None
    since = datetime.fromisoformat(newest.meta["created_at"]) if newest else None

    def work(session: Session) -> tuple[int, int]:
        total = session.scalar(select(func.count()).select_from(Label)) or 0
        query = select(func.count()).select_from(Label)
        if since is not None:
            query = query.where(Label.at > since)
        return total, session.scalar(query) or 0

    total, fresh = store.read(work)
    return ModelView(registry=str(models_dir), live=next((v.name for v in found if v.live), None), versions=rows,
                     newest=newest.name if newest else None, labels_total=total, labels_since_training=fresh,
                     last_decision=max(decided)[1] if decided else None)


#: Misclassified validation items shown per version (the worst first, as evaluate sorts them).
MISCLASSIFIED_SHOWN = 40


def _json_file(path: Path) -> Any:
    """A JSON file's content, None when absent, or the error's words when unreadable."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        return f"{path.name}: {exc}"


def _evaluation(result: dict[str, Any]) -> dict[str, Any]:
    return {"per_language": {k: _metrics(v) for k, v in (result.get("per_language") or {}).items()},
            "by_category": dict(result.get("by_category") or {}),
            "misclassified": list(result.get("misclassified") or [])[:MISCLASSIFIED_SHOWN],
            "misclassified_total": len(result.get("misclassified") or [])}


def plot_path(models_dir: Path, version: str, name: str) -> Path:
    """A plot of a version, refusing anything but a PNG named like evaluate's output (no path tricks)."""
    if not _VERSION_RE.match(version) or not _PLOT_RE.match(name):
        raise QueryError(f"no plot {name!r} for version {version!r}")
    path = models_dir / version / name
    if not path.is_file():
        raise FileNotFoundError(f"no plot {name} in {models_dir / version}")
    return path


# --- review: labelling in the view ------------------------------------------------------------

#: Stories listed per section of the Review page.
REVIEW_SIZE = 25
#: Characters of an article's text shown for judging it (the whole text stays one click away: its URL).
REVIEW_TEXT_CHARS = 1500
UI_LABEL_SOURCE = "ui"


@dataclass(frozen=True)
class LabelRow:
    who: str
    label: int
    source: str
    category: str | None
    at: datetime


@dataclass(frozen=True)
class ReviewItem:
    article_id: int
    title: str
    url: str
    outlet: str
    lang: str | None
    published_at: datetime | None
    score: float | None
    model_version: str | None
    explanation: str
    text: str
    labels: list[LabelRow]
    event_id: int | None = None
    alert_state: str | None = None


@dataclass(frozen=True)
class ReviewPage:
    threshold: float
    threshold_from: str
    model_version: str | None  # the version whose verdicts rank the unsure stories (None: each one's newest)
    band: float
    uncertain: list[ReviewItem]  # unlabelled, nearest the threshold first
    candidates: int  # unlabelled scored stories in all
    alerted: list[ReviewItem]  # the first story of each recently alerted event, labelled or not


def review(store: Store, models_dir: Path, *, limit: int = REVIEW_SIZE, band: float = 0.2) -> ReviewPage:
    """What an analyst labels: the unlabelled stories the live model is least sure of (as
    ``label export-uncertain`` ranks them) and the stories that were alerted, each with its text,
    score, the classifier's explanation and the labels already given."""
    from aiwatch.store.events import OUTLET_COLUMNS, outlet_of
    from aiwatch.store.labels import least_certain
    from aiwatch.textutil import truncate_words

    from classifiers.labelling import classification_count, live_model

    limit, _ = page_bounds(limit, 0)
    live = live_model(models_dir)
    version = live.name if live.name and classification_count(store, live.name) else None
    alerted_ids = store.read(lambda s: set(s.scalars(select(OutboxMessage.article_id).where(
        OutboxMessage.kind == "alert", OutboxMessage.article_id.is_not(None)))))
    # Alerted stories have their own section: the unsure list is of the others.
    unsure, candidates = least_certain(store, live.threshold, limit + len(alerted_ids), version)
    unsure = [a for a in unsure if a.article_id not in alerted_ids][:limit]

    def work(session: Session) -> tuple[list[Any], dict[int, str], dict[int, tuple[float, str, str]],
                                         dict[int, list[LabelRow]]]:
        alerted = session.execute(
            select(Event.id.label("event_id"), OutboxMessage.state, Article.id, Article.title, Article.url,
                   Article.lang, Article.published_at, Article.text, Article.summary, *OUTLET_COLUMNS)
            .join(OutboxMessage, (OutboxMessage.event_id == Event.id) & (OutboxMessage.kind == "alert"))
            .join(Article, Article.id == OutboxMessage.article_id)
            .outerjoin(FeedState, FeedState.name == Article.feed)
            .order_by(Event.first_seen.desc(), Event.id.desc()).limit(limit)).all()
        ids = [a.article_id for a in unsure] + [row.id for row in alerted]
        verdicts: dict[int, tuple[float, str, str]] = {}
        labels: dict[int, list[LabelRow]] = defaultdict(list)
        if ids:
            # The ranking model's verdict when it gave one, else the article's newest.
            of_version: dict[int, tuple[float, str, str]] = {}
            for row in session.execute(
                    select(Classification.article_id, Classification.score, Classification.model_version,
                           Classification.explanation).where(Classification.article_id.in_(ids))
                    .order_by(Classification.at, Classification.id)):
                verdicts[row.article_id] = (float(row.score), row.model_version, row.explanation or "")
                if row.model_version == version:
                    of_version[row.article_id] = verdicts[row.article_id]
            verdicts.update(of_version)
            for row in session.scalars(select(Label).where(Label.article_id.in_(ids)).order_by(Label.at, Label.id)):
                labels[row.article_id].append(LabelRow(row.who, int(row.label), row.source, row.category, row.at))
        outlets = {row.id: outlet_of(row) for row in alerted}
        return alerted, outlets, verdicts, labels

    alerted, outlets, verdicts, labels = store.read(work)
    uncertain = [ReviewItem(article_id=a.article_id, title=a.title or "", url=a.url, outlet=a.outlet, lang=a.lang,
                            published_at=a.published, score=a.score, model_version=a.model_version,
                            explanation=verdicts.get(a.article_id, (0.0, "", ""))[2],
                            text=truncate_words(a.text or "", REVIEW_TEXT_CHARS), labels=labels.get(a.article_id, []))
                 for a in unsure]
    shown = []
    for row in alerted:
        score, model, explanation = verdicts.get(row.id, (None, None, ""))
        shown.append(ReviewItem(article_id=row.id, title=row.title or "", url=row.url, outlet=outlets[row.id],
                                lang=row.lang, published_at=row.published_at, score=score, model_version=model,
                                explanation=explanation,
                                text=truncate_words(row.text or row.summary or "", REVIEW_TEXT_CHARS),
                                labels=labels.get(row.id, []), event_id=row.event_id,
                                alert_state="pending" if row.state == "sending" else row.state))
    return ReviewPage(threshold=live.threshold, threshold_from=live.threshold_from, model_version=version, band=band,
                      uncertain=uncertain, candidates=candidates, alerted=shown)


@dataclass(frozen=True)
class LabelResult:
    article_id: int
    label: int
    who: str
    outcome: str  # new | updated | unchanged


def record_label(store: Store, article_id: int, label: int, who: str, category: str | None = None) -> LabelResult:
    """One analyst's ✅/❌ from the view, as a label of source ``ui`` (QueryError for an unknown
    article or a category that contradicts the label)."""
    from aiwatch.store.labels import add_label

    from classifiers.data import CATEGORIES

    if category is not None and (category not in CATEGORIES or (category == "pos") != (label == 1)):
        raise QueryError(f"category {category!r} does not fit label {label} (known: {', '.join(sorted(CATEGORIES))})")
    if store.read(lambda s: s.get(Article, article_id)) is None:
        raise LookupError(f"no stored article with id {article_id}")
    outcome = add_label(store, article_id, label, UI_LABEL_SOURCE, who=who, category=category)
    return LabelResult(article_id, label, who, outcome)
