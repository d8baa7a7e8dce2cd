"""The queries the pipeline runs against the store, as plain functions over a :class:`Store`.

Identity rules for articles live here, because they are the promises an operator cares about:
- the same canonical URL is the same article (a new headline on it is an *update*);
- from the same outlet, the same normalised headline, or a near-identical summary or body,
  is a *duplicate* of an earlier article (a changed GUID or a republished text);
- a GUID alone identifies nothing: two items sharing one but linking different stories are both kept.
"""

from __future__ import annotations

import logging
from collections import Counter
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
from aiwatch.store.models import Article, CycleStep, FeedPoll, FeedState, HostBackoff, UrlAlias
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
    poll_requested_at: datetime | None = None
    last_polled_at: datetime | None = None

    @property
    def poll_requested(self) -> bool:
        """An operator asked for a poll since the last one ("poll now"): back-off does not apply."""
        return poll_pending(self.poll_requested_at, self.last_polled_at)


def poll_pending(requested_at: datetime | None, last_polled_at: datetime | None) -> bool:
    """Whether a "poll now" is still to be served: asked for after the feed's last poll."""
    return requested_at is not None and (last_polled_at is None or requested_at > last_polled_at)


def feed_config(store: Store, name: str) -> Feed | None:
    """The feed ``name`` as registered by the last ``sync_feeds`` (its URL and language)."""
    def work(session: Session) -> Feed | None:
        row = session.get(FeedState, name)
        return Feed(name=row.name, url=row.url, lang=row.lang) if row is not None else None

    return store.read(work)


def feed_snapshot(store: Store, name: str) -> FeedSnapshot | None:
    def work(session: Session) -> FeedSnapshot | None:
        row = session.get(FeedState, name)
        if row is None:
            return None
        return FeedSnapshot(row.name, row.url, row.etag, row.last_modified, row.consecutive_failures,
                            row.next_attempt_at, row.last_error, row.poll_requested_at, row.last_polled_at)

    return store.read(work)


def paused_feeds(store: Store) -> dict[str, tuple[datetime, str]]:
    """Feeds an operator paused: name -> (since, by whom)."""
    return store.read(lambda s: {r.name: (r.paused_at, r.paused_by or "") for r in s.scalars(
        select(FeedState).where(FeedState.paused_at.is_not(None)))})


def set_paused(store: Store, name: str, paused: bool, who: str, now: datetime | None = None) -> bool:
    """Pause or resume a feed; False when no such feed is registered."""
    now = now or utcnow()

    def work(session: Session) -> bool:
        row = session.get(FeedState, name)
        if row is None:
            return False
        if paused and row.paused_at is None:
            row.paused_at, row.paused_by = now, who[:255]
        elif not paused:
            row.paused_at, row.paused_by = None, None
        return True

    return store.write(work)


def request_poll(store: Store, name: str, now: datetime | None = None) -> bool:
    """Ask for a poll of the feed on the next run, back-off or not; False when no such feed."""
    now = now or utcnow()

    def work(session: Session) -> bool:
        row = session.get(FeedState, name)
        if row is None:
            return False
        row.poll_requested_at = now
        return True

    return store.write(work)


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
            if existing is None:
                existing = session.scalars(select(Article).join(UrlAlias, UrlAlias.article_id == Article.id)
                                           .where(UrlAlias.alias_key == key)).first()
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
                    existing.content_rev = (existing.content_rev or 0) + 1  # judge the new wording again
                    counts.updated += 1
                    log.info("feed=%s updated headline of article %d: %r", feed.name, existing.id, entry.title[:120])
                elif entry.summary and entry.summary != existing.summary and not existing.text:
                    # Judged on the feed's text alone (no page): a corrected summary is a new text to judge.
                    existing.summary, existing.summary_fp = entry.summary, simhash(entry.summary)
                    existing.content_rev = (existing.content_rev or 0) + 1
                    existing.updated_at = now
                    counts.updated += 1
                    log.info("feed=%s updated summary of article %d (judged on feed text)", feed.name, existing.id)
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
                lang=feed.lang, fetch_status="pending" if entry.link_error is None else "failed",
                source_name=(entry.source_name or None) and entry.source_name[:255],
                fetch_error=entry.link_error, first_run_id=run_id, created_at=now,
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
        row.display_name = feed.title
        if result.title:
            row.title = result.title[:255]
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
    attempt: int = 1


#: Attempts at one page (WATCH_MAX_PAGE_ATTEMPTS) before it is given up and judged on its feed text.
MAX_PAGE_ATTEMPTS = 4


@dataclass(frozen=True)
class PageClaim:
    jobs: list[PageJob]
    given_up: int = 0


def pending_pages(store: Store, limit: int, skip_hosts: Iterable[str] = (), *,
                  max_attempts: int = MAX_PAGE_ATTEMPTS, now: datetime | None = None) -> list[PageJob]:
    """The pages :func:`claim_pages` claims (its jobs only)."""
    return claim_pages(store, limit, skip_hosts, max_attempts=max_attempts, now=now).jobs


def claim_pages(store: Store, limit: int, skip_hosts: Iterable[str] = (), *,
                max_attempts: int = MAX_PAGE_ATTEMPTS, now: datetime | None = None) -> PageClaim:
    """Claim the pages to fetch this cycle (oldest first), skipping hosts in back-off.

    Each claim counts as an attempt *before* the page is fetched, so a page that crashes or kills the
    process is counted too; a page whose attempts are used up is marked ``given-up`` with its last
    reason instead (visible in the store, the summary and the operator's view) and is judged on the
    feed's title and summary like any other partial article: never retried forever, never dropped.
    """
    skip = list(skip_hosts)
    now = now or utcnow()

    def work(session: Session) -> PageClaim:
        query = select(Article).where(Article.fetch_status.in_(("pending", "deferred")))
        if skip:
            query = query.where(Article.outlet.not_in(skip))
        jobs: list[PageJob] = []
        given_up = 0
        for article in session.scalars(query.order_by(Article.id).limit(limit)):
            if (article.fetch_attempts or 0) >= max_attempts:
                _give_up(article, now)
                given_up += 1
                continue
            article.fetch_attempts = (article.fetch_attempts or 0) + 1
            jobs.append(PageJob(article.id, article.url, article.outlet, article.lang, article.fetch_attempts))
        return PageClaim(jobs, given_up)

    return store.write(work)


def refused_at_ingest(store: Store, run_id: str) -> Counter[str]:
    """Reasons of this run's new articles whose link could not be fetched at all (kept as partials
    from the start, never claimed as pages), counted by reason (``bad-url``...)."""
    def work(session: Session) -> Counter[str]:
        rows = session.execute(select(Article.fetch_error).where(
            Article.first_run_id == run_id, Article.fetch_status == "failed", Article.fetched_at.is_(None)))
        return Counter((error or "unknown").split(":", 1)[0] for (error,) in rows)

    return store.read(work)


def _give_up(article: Article, now: datetime) -> None:
    last = article.fetch_error or "the page never finished fetching (the process stopped while it was fetched)"
    article.fetch_status = "given-up"
    article.fetch_error = f"given-up after {article.fetch_attempts} attempts: {last}"[:1000]
    article.fetched_at = now
    log.warning("article %d (%s): page given up after %d attempts (%s); judged on the feed's title and summary",
                article.id, article.url[:200], article.fetch_attempts, last[:200])


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
    #: False when no request was made (the host asked us to wait): the claim is not an attempt.
    attempted: bool = True
    #: The publisher's URL an aggregator link (Google News) resolved to: the article's real identity.
    resolved_url: str | None = None
    #: ``simhash(text)`` when the extraction worker computed it (``fingerprinted``): the store's
    #: writer then skips it, off the cycle's main thread. Without it, ``save_pages`` computes it.
    text_fp: int | None = None
    fingerprinted: bool = False


def save_pages(store: Store, outcomes: Sequence[PageOutcome], now: datetime | None = None,
               max_attempts: int = MAX_PAGE_ATTEMPTS) -> dict[str, int]:
    """Store page results; a body near-identical to an earlier one from the same outlet is a duplicate."""
    now = now or utcnow()
    stats = {"ok": 0, "failed": 0, "deferred": 0, "duplicate": 0, "given_up": 0}

    def work(session: Session) -> None:
        for outcome in outcomes:
            article = session.get(Article, outcome.article_id)
            if article is None or article.fetch_status not in ("pending", "deferred"):
                continue  # already stored by an earlier attempt of this task
            article.fetched_at = now
            article.http_status = outcome.http_status
            if outcome.resolved_url and _take_resolved_url(session, article, outcome.resolved_url, now):
                stats["duplicate"] += 1
                continue
            if outcome.status == "deferred":
                article.fetch_error = outcome.error
                if not outcome.attempted:
                    article.fetch_attempts = max(0, (article.fetch_attempts or 0) - 1)
                if outcome.attempted and (article.fetch_attempts or 0) >= max_attempts:
                    _give_up(article, now)
                    stats["given_up"] += 1
                    continue
                article.fetch_status = "deferred"
                stats["deferred"] += 1
                continue
            if outcome.status != "ok":
                article.fetch_status = "failed"
                article.fetch_error = outcome.error
                stats["failed"] += 1
                continue
            article.text = outcome.text
            article.content_rev = (article.content_rev or 0) + 1
            article.text_fp = outcome.text_fp if outcome.fingerprinted else simhash(outcome.text or "")
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


def _take_resolved_url(session: Session, article: Article, resolved: str, now: datetime) -> bool:
    """Give an aggregator's article the publisher's URL as its identity, keeping the aggregator link as
    an alias (so the next poll of the aggregator knows it). True when another stored article already
    has that URL: this one is then a duplicate of it, and nothing else is stored."""
    key = url_key(resolved)
    if key == article.url_key:
        return False
    other = session.scalars(select(Article).where(Article.url_key == key, Article.id != article.id)).first()
    if other is None:
        other = session.scalars(select(Article).join(UrlAlias, UrlAlias.article_id == Article.id)
                                .where(UrlAlias.alias_key == key, Article.id != article.id)).first()
    if other is not None:
        article.fetch_status = "duplicate"
        article.duplicate_of = other.id
        article.fetch_error = f"same article as {other.id} ({resolved[:300]}), reached through an aggregator link"
        log.info("article %d (%s) resolves to %s, already stored as article %d; marked duplicate", article.id,
                 article.url[:200], resolved[:200], other.id)
        return True
    session.add(UrlAlias(alias_key=article.url_key, alias_url=article.url, article_id=article.id, created_at=now))
    log.info("article %d: aggregator link %s resolved to %s", article.id, article.url[:200], resolved[:200])
    article.url, article.url_key = resolved, key
    session.flush()
    return False


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


#: Page states in which an article is ready to be judged (its page is in, or will never be).
JUDGEABLE = ("ok", "failed", "given-up")


@dataclass(frozen=True)
class ToClassify:
    article_id: int
    title: str
    text: str
    lang: str | None
    content_rev: int = 0
    rescored: bool = False


def unclassified(store: Store, model_version: str, limit: int) -> list[ToClassify]:
    """Articles ready to be judged that this model has not scored in their current wording: never
    scored, or scored before their title, summary or text changed (``rescored``)."""
    from aiwatch.store.models import Classification

    def work(session: Session) -> list[ToClassify]:
        verdict = (select(Classification.content_rev)
                   .where(Classification.article_id == Article.id, Classification.model_version == model_version)
                   .limit(1).scalar_subquery())
        rows = session.execute(
            select(Article.id, Article.title, Article.text, Article.summary, Article.lang, Article.content_rev,
                   verdict.label("judged_rev"))
            .where(Article.fetch_status.in_(JUDGEABLE))
            .where(or_(verdict.is_(None), verdict != Article.content_rev))
            .order_by(Article.id).limit(limit)).all()
        # A failed page still has the feed's headline and summary: judge those.
        return [ToClassify(r.id, r.title, r.text or r.summary or "", r.lang, r.content_rev or 0,
                           rescored=r.judged_rev is not None) for r in rows]

    return store.read(work)


@dataclass(frozen=True)
class Verdict:
    article_id: int
    score: float
    label: int
    explanation: str
    content_rev: int = 0
    error: str | None = None


def save_classifications(store: Store, model_version: str, verdicts: Sequence[Verdict | tuple],
                         now: datetime | None = None) -> int:
    """Store verdicts, one per (article, model): a verdict on a newer wording replaces the older one;
    re-saving the same revision's verdict is a no-op. Returns how many rows were written."""
    from aiwatch.store.models import Classification

    now = now or utcnow()

    def work(session: Session) -> int:
        insert = _insert(session)
        written = 0
        for item in verdicts:
            verdict = item if isinstance(item, Verdict) else Verdict(*item)
            values = dict(article_id=verdict.article_id, model_version=model_version, score=verdict.score,
                          label=verdict.label, explanation=verdict.explanation, at=now,
                          content_rev=verdict.content_rev, error=verdict.error)
            statement = insert(Classification).values(**values)
            statement = statement.on_conflict_do_update(
                index_elements=["article_id", "model_version"],
                set_={k: v for k, v in values.items() if k not in ("article_id", "model_version")},
                where=statement.excluded.content_rev != Classification.content_rev,
            ).returning(Classification.id)
            written += len(session.execute(statement).all())
        return written

    return store.write(work)
