"""The queries the pipeline runs against the store, as plain functions over a :class:`Store`.

Identity rules for articles live here, because they are the promises an operator cares about:
- the same canonical URL is the same article (a new headline on it is an *update*);
- from the same outlet, the same normalised headline, or a near-identical summary or body,
  is a *duplicate* of an earlier article (a changed GUID or a republished text);
- a GUID alone identifies nothing: two items sharing one but linking different stories are both kept.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from aiwatch.config import Feed
from aiwatch.feeds import FeedEntry, PollResult, next_attempt_delay
from aiwatch.store.engine import Store
from aiwatch.store.models import Article, CycleStep, FeedPoll, FeedState, HostBackoff
from aiwatch.textutil import near_duplicate, simhash, title_key
from aiwatch.urls import url_key

log = logging.getLogger(__name__)

DUPLICATE_WINDOW = timedelta(days=30)


def utcnow() -> datetime:
    return datetime.now(UTC)


def _insert(session: Session):  # type: ignore[no-untyped-def]
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


# --- feeds -----------------------------------------------------------------------------------


def sync_feeds(store: Store, feeds: Sequence[Feed]) -> None:
    """Make the feeds table know every configured feed (URL and language changes included)."""

    def work(session: Session) -> None:
        existing = {row.name: row for row in session.scalars(select(FeedState))}
        for feed in feeds:
            row = existing.get(feed.name)
            if row is None:
                session.add(FeedState(name=feed.name, url=feed.url, lang=feed.lang, consecutive_failures=0,
                                      entries_seen=0, articles_new=0))
            elif row.url != feed.url or row.lang != feed.lang:
                if row.url != feed.url:  # a new URL is a new resource: forget its cache validators
                    row.etag = row.last_modified = None
                    row.consecutive_failures, row.next_attempt_at = 0, None
                row.url, row.lang = feed.url, feed.lang

    store.write(work)


@dataclass(frozen=True)
class FeedSnapshot:
    name: str
    url: str
    etag: str | None
    last_modified: str | None
    consecutive_failures: int
    next_attempt_at: datetime | None
    last_error: str | None


def feed_snapshot(store: Store, name: str) -> FeedSnapshot | None:
    def work(session: Session) -> FeedSnapshot | None:
        row = session.get(FeedState, name)
        if row is None:
            return None
        return FeedSnapshot(row.name, row.url, row.etag, row.last_modified, row.consecutive_failures,
                            row.next_attempt_at, row.last_error)

    return store.read(work)


def host_not_before(store: Store, host: str, now: datetime | None = None) -> datetime | None:
    """When a host asked us to wait (Retry-After), the moment we may call again; None when free."""
    now = now or utcnow()

    def work(session: Session) -> datetime | None:
        row = session.get(HostBackoff, host)
        return row.not_before if row is not None and row.not_before > now else None

    return store.read(work)


def hosts_in_backoff(store: Store, now: datetime | None = None) -> dict[str, datetime]:
    now = now or utcnow()
    return store.read(lambda s: {r.host: r.not_before for r in s.scalars(
        select(HostBackoff).where(HostBackoff.not_before > now))})


def set_host_backoff(store: Store, host: str, seconds: float, reason: str, now: datetime | None = None) -> datetime:
    until = (now or utcnow()) + timedelta(seconds=seconds)

    def work(session: Session) -> None:
        row = session.get(HostBackoff, host)
        if row is None:
            session.add(HostBackoff(host=host, not_before=until, reason=reason))
        elif row.not_before < until:
            row.not_before, row.reason = until, reason

    store.write(work)
    log.warning("host %s asked us to wait %.0fs (%s): no requests to it before %s", host, seconds, reason,
                until.isoformat(timespec="seconds"))
    return until


# --- entries -> articles -----------------------------------------------------------------------


@dataclass
class IngestCounts:
    entries: int = 0
    new: int = 0
    updated: int = 0
    known: int = 0
    duplicates: int = 0
    new_ids: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("new_ids")
        return data


def _find_outlet_duplicate(session: Session, entry: FeedEntry, tkey: str | None, fp: int | None,
                           since: datetime) -> Article | None:
    conditions = []
    if tkey:
        conditions.append(Article.title_key == tkey)
    if fp is not None:
        conditions.append(Article.summary_fp.is_not(None))
    if not conditions:
        return None
    candidates = session.scalars(
        select(Article).where(Article.outlet == entry.outlet, Article.created_at >= since, or_(*conditions))
        .order_by(Article.id).limit(5000)
    )
    for candidate in candidates:
        if tkey and candidate.title_key == tkey:
            return candidate
        if near_duplicate(fp, candidate.summary_fp):
            return candidate
    return None


def add_entries(store: Store, feed: Feed, entries: Iterable[FeedEntry], run_id: str,
                now: datetime | None = None) -> IngestCounts:
    """Store new entries of one feed, recognising updates and duplicates; idempotent."""
    now = now or utcnow()
    entries = list(entries)

    def work(session: Session) -> IngestCounts:
        counts = IngestCounts(entries=len(entries))
        insert = _insert(session)
        for entry in entries:
            key = url_key(entry.link)
            existing = session.scalars(select(Article).where(Article.url_key == key)).first()
            if existing is not None:
                if existing.title != entry.title:
                    history = list(existing.title_history or [])
                    history.append({"title": existing.title, "until": now.isoformat(timespec="seconds")})
                    existing.title = entry.title
                    existing.title_key = title_key(entry.title)
                    existing.title_history = history[-10:]
                    existing.updated_at = now
                    if entry.summary and entry.summary != existing.summary:
                        existing.summary = entry.summary
                        existing.summary_fp = simhash(entry.summary)
                    counts.updated += 1
                    log.info("feed=%s updated headline of article %d: %r", feed.name, existing.id, entry.title[:120])
                else:
                    counts.known += 1
                continue
            tkey = title_key(entry.title)
            fp = simhash(entry.summary)
            duplicate = _find_outlet_duplicate(session, entry, tkey, fp, now - DUPLICATE_WINDOW)
            if duplicate is not None:
                counts.duplicates += 1
                log.info("feed=%s duplicate of article %d from %s (new URL or GUID, same story): %s",
                         feed.name, duplicate.id, entry.outlet, entry.link)
                continue
            values = dict(
                url=entry.link, url_key=key, guid=entry.guid, feed=feed.name, outlet=entry.outlet,
                title=entry.title, title_key=tkey, summary=entry.summary, summary_fp=fp,
                published_at=entry.published, date_source="feed" if entry.published else None,
                lang=feed.lang, fetch_status="pending", first_run_id=run_id, created_at=now,
            )
            result = session.execute(insert(Article).values(**values).on_conflict_do_nothing(
                index_elements=["url_key"]).returning(Article.id))
            new_id = result.scalar()
            if new_id is None:  # another feed's task stored it a moment ago
                counts.known += 1
            else:
                counts.new += 1
                counts.new_ids.append(new_id)
        return counts

    return store.write(work)


def record_poll(store: Store, run_id: str, feed: Feed, result: PollResult, counts: IngestCounts | None,
                *, backoff_base_s: float, backoff_cap_s: float, now: datetime | None = None) -> FeedState:
    """Write a poll's outcome to the feed's health row and the per-run poll log."""
    now = now or utcnow()
    counts = counts or IngestCounts()

    def work(session: Session) -> FeedState:
        row = session.get(FeedState, feed.name)
        if row is None:
            row = FeedState(name=feed.name, url=feed.url, lang=feed.lang, consecutive_failures=0,
                            entries_seen=0, articles_new=0)
            session.add(row)
        row.last_polled_at = now
        row.last_status = result.status
        if result.status == "failed":
            row.consecutive_failures = (row.consecutive_failures or 0) + 1
            row.last_error = result.error
            delay = next_attempt_delay(row.consecutive_failures, backoff_base_s, backoff_cap_s, result.retry_after)
            row.next_attempt_at = now + delay
        else:
            row.consecutive_failures = 0
            row.last_ok_at = now
            row.next_attempt_at = None
            row.etag, row.last_modified = result.etag, result.last_modified
            row.entries_seen = (row.entries_seen or 0) + len(result.entries)
            row.articles_new = (row.articles_new or 0) + counts.new
        values = dict(run_id=run_id, feed=feed.name, at=now, status=result.status, http_status=result.http_status,
                      entries=len(result.entries), new=counts.new, updated=counts.updated,
                      duplicates=counts.duplicates, reason=result.reason, error=result.error,
                      duration_ms=int(result.elapsed_s * 1000))
        _upsert_poll(session, values)
        session.flush()
        return row

    return store.write(work)


def record_skip(store: Store, run_id: str, feed: Feed, reason: str, now: datetime | None = None) -> None:
    now = now or utcnow()

    def work(session: Session) -> None:
        _upsert_poll(session, dict(run_id=run_id, feed=feed.name, at=now, status="skipped", entries=0, new=0,
                                   updated=0, duplicates=0, reason="backoff", error=reason))

    store.write(work)


def _upsert_poll(session: Session, values: dict[str, Any]) -> None:
    """One poll-log row per (run, feed): a retried task overwrites its own row."""
    session.execute(_insert(session)(FeedPoll).values(**values).on_conflict_do_update(
        index_elements=["run_id", "feed"], set_={k: v for k, v in values.items() if k not in ("run_id", "feed")}))


# --- pages -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PageJob:
    article_id: int
    url: str
    outlet: str
    lang: str | None


def pending_pages(store: Store, limit: int, skip_hosts: Iterable[str] = ()) -> list[PageJob]:
    """Articles whose page has not been fetched yet (oldest first), skipping hosts in back-off."""
    skip = list(skip_hosts)

    def work(session: Session) -> list[PageJob]:
        query = select(Article.id, Article.url, Article.outlet, Article.lang).where(
            Article.fetch_status.in_(("pending", "deferred")))
        if skip:
            query = query.where(Article.outlet.not_in(skip))
        rows = session.execute(query.order_by(Article.id).limit(limit)).all()
        return [PageJob(r.id, r.url, r.outlet, r.lang) for r in rows]

    return store.read(work)


@dataclass
class PageOutcome:
    article_id: int
    status: str  # ok | failed | deferred
    text: str | None = None
    page_title: str | None = None
    published: datetime | None = None
    lang: str | None = None
    site_name: str | None = None
    encoding: str | None = None
    http_status: int | None = None
    error: str | None = None
    final_url: str | None = None


def save_pages(store: Store, outcomes: Sequence[PageOutcome], now: datetime | None = None) -> dict[str, int]:
    """Store page results; a body near-identical to an earlier one from the same outlet is a duplicate."""
    now = now or utcnow()
    stats = {"ok": 0, "failed": 0, "deferred": 0, "duplicate": 0}

    def work(session: Session) -> None:
        for outcome in outcomes:
            article = session.get(Article, outcome.article_id)
            if article is None or article.fetch_status not in ("pending", "deferred"):
                continue  # already stored by an earlier attempt of this task
            article.fetched_at = now
            article.http_status = outcome.http_status
            if outcome.status == "deferred":
                article.fetch_status = "deferred"
                article.fetch_error = outcome.error
                stats["deferred"] += 1
                continue
            if outcome.status != "ok":
                article.fetch_status = "failed"
                article.fetch_error = outcome.error
                stats["failed"] += 1
                continue
            article.text = outcome.text
            article.text_fp = simhash(outcome.text or "")
            article.page_title = outcome.page_title
            article.site_name = outcome.site_name
            article.encoding = outcome.encoding
            article.lang = outcome.lang or article.lang
            if article.published_at is None and outcome.published is not None:
                article.published_at = min(outcome.published, now)
                article.date_source = "page"
            twin = _find_text_twin(session, article)
            if twin is not None:
                article.fetch_status = "duplicate"
                article.duplicate_of = twin.id
                stats["duplicate"] += 1
                log.info("article %d (%s) republishes the text of article %d; marked duplicate",
                         article.id, article.url, twin.id)
            else:
                article.fetch_status = "ok"
                stats["ok"] += 1

    store.write(work)
    return stats


def _find_text_twin(session: Session, article: Article) -> Article | None:
    if article.text_fp is None:
        return None
    candidates = session.scalars(select(Article).where(
        Article.outlet == article.outlet, Article.id != article.id, Article.text_fp.is_not(None),
        Article.fetch_status == "ok", Article.created_at >= article.created_at - DUPLICATE_WINDOW,
    ).limit(5000))
    return next((c for c in candidates if near_duplicate(article.text_fp, c.text_fp)), None)


# --- cycle bookkeeping ---------------------------------------------------------------------------


def record_step(store: Store, run_id: str, step: str, stats: dict[str, Any], now: datetime | None = None) -> None:
    now = now or utcnow()

    def work(session: Session) -> None:
        values = dict(run_id=run_id, step=step, at=now, stats=stats)
        session.execute(_insert(session)(CycleStep).values(**values).on_conflict_do_update(
            index_elements=["run_id", "step"], set_={"at": now, "stats": stats}))

    store.write(work)


def run_record(store: Store, run_id: str) -> tuple[dict[str, dict[str, Any]], list[FeedPoll]]:
    def work(session: Session) -> tuple[dict[str, dict[str, Any]], list[FeedPoll]]:
        steps = {s.step: s.stats for s in session.scalars(select(CycleStep).where(CycleStep.run_id == run_id))}
        polls = list(session.scalars(select(FeedPoll).where(FeedPoll.run_id == run_id).order_by(FeedPoll.feed)))
        return steps, polls

    return store.read(work)


def latest_run_id(store: Store) -> str | None:
    return store.read(lambda s: s.scalars(select(CycleStep.run_id).order_by(CycleStep.at.desc()).limit(1)).first())


def article_counts(store: Store) -> dict[str, int]:
    def work(session: Session) -> dict[str, int]:
        rows = session.execute(select(Article.fetch_status, func.count()).group_by(Article.fetch_status)).all()
        return {status: count for status, count in rows}

    return store.read(work)


# --- classification ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ToClassify:
    article_id: int
    title: str
    text: str
    lang: str | None


def unclassified(store: Store, model_version: str, limit: int) -> list[ToClassify]:
    """Articles ready to be judged (page fetched or failed for good) that this model has not scored."""
    from aiwatch.store.models import Classification

    def work(session: Session) -> list[ToClassify]:
        scored = select(Classification.article_id).where(Classification.model_version == model_version)
        rows = session.execute(
            select(Article.id, Article.title, Article.text, Article.summary, Article.lang)
            .where(Article.fetch_status.in_(("ok", "failed")), Article.id.not_in(scored))
            .order_by(Article.id).limit(limit)).all()
        # A failed page still has the feed's headline and summary: judge those.
        return [ToClassify(r.id, r.title, r.text or r.summary or "", r.lang) for r in rows]

    return store.read(work)


def save_classifications(store: Store, model_version: str, results: Sequence[tuple[int, float, int, str]],
                         now: datetime | None = None) -> int:
    """Store (article_id, score, label, explanation) verdicts; re-saving the same verdict is a no-op."""
    from aiwatch.store.models import Classification

    now = now or utcnow()

    def work(session: Session) -> int:
        insert = _insert(session)
        written = 0
        for article_id, score, label, explanation in results:
            result = session.execute(insert(Classification).values(
                article_id=article_id, model_version=model_version, score=score, label=label,
                explanation=explanation, at=now).on_conflict_do_nothing(index_elements=["article_id", "model_version"]))
            written += result.rowcount or 0
        return written

    return store.write(work)
