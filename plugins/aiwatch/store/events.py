"""Queries behind partnership events: which relevant articles still need a place, the recent events
they may join, and the one-transaction write that puts an article into an event.

An article belongs to at most one event (unique ``article_id``), and an event's key is derived
from its first article, so re-running the grouping step after a crash adds nothing twice.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from aiwatch.store.engine import Store
from aiwatch.store.models import Article, Classification, Event, EventArticle, Label, OutboxMessage
from aiwatch.store.repo import _insert, utcnow

_IP_RE = re.compile(r"^[\d.]+$|^\[?[0-9a-f:]+\]?$", re.IGNORECASE)


@dataclass(frozen=True)
class ScoredArticle:
    """An article with the verdict of one model version, as alerts and the digest need it."""

    article_id: int
    title: str
    text: str
    summary: str
    url: str
    feed: str
    outlet: str
    site_name: str | None
    lang: str | None
    published_at: datetime | None
    created_at: datetime
    score: float
    label: int
    explanation: str

    @property
    def seen_at(self) -> datetime:
        """When the story happened as far as we know: its publication date, else when we first saw it."""
        return self.published_at or self.created_at

    @property
    def coverage(self) -> str:
        """Who reported it, for "at most one thread reply per outlet": the feed, and within an aggregator
        feed (Google News) the source's host and the page's site name. Hosts alone would merge every feed
        served by one machine; one outlet's pages share their site name, so it splits nothing real."""
        return f"{self.feed}|{self.outlet}|{(self.site_name or '').strip()}"[:255]

    @property
    def outlet_name(self) -> str:
        """The outlet as a reader knows it: the page's site name, else its host, else (a bare IP) the feed."""
        return outlet_name(self.site_name, self.outlet, self.feed)


def outlet_name(site_name: str | None, host: str, feed: str) -> str:
    name = (site_name or "").strip()
    if name:
        return name
    return feed if not host or _IP_RE.match(host) or host == "localhost" else host


def _scored_columns():  # type: ignore[no-untyped-def]
    return (select(Article.id, Article.title, Article.text, Article.summary, Article.url, Article.feed,
                   Article.outlet, Article.site_name, Article.lang, Article.published_at, Article.created_at,
                   Classification.score, Classification.label, Classification.explanation)
            .join(Classification, Classification.article_id == Article.id))


def _scored(session: Session, model_version: str):  # type: ignore[no-untyped-def]
    return _scored_columns().where(Classification.model_version == model_version, Article.duplicate_of.is_(None))


def _row(row) -> ScoredArticle:  # type: ignore[no-untyped-def]
    return ScoredArticle(article_id=row.id, title=row.title or "", text=row.text or "", summary=row.summary or "",
                         url=row.url, feed=row.feed, outlet=row.outlet, site_name=row.site_name, lang=row.lang,
                         published_at=row.published_at, created_at=row.created_at, score=float(row.score),
                         label=int(row.label), explanation=row.explanation or "")


def relevant_unplaced(store: Store, model_version: str, since: datetime) -> list[ScoredArticle]:
    """Relevant articles first seen since ``since`` and not yet in an event, oldest story first."""

    def work(session: Session) -> list[ScoredArticle]:
        placed = select(EventArticle.article_id)
        query = (_scored(session, model_version)
                 .where(Classification.label == 1, Article.created_at >= since, Article.id.not_in(placed))
                 .order_by(func.coalesce(Article.published_at, Article.created_at), Article.id))
        return [_row(r) for r in session.execute(query)]

    return store.read(work)


def uncertain_undigested(store: Store, model_version: str, min_score: float, since: datetime,
                         limit: int) -> list[ScoredArticle]:
    """Articles scored below the alert threshold but inside the review band, not yet in a digest,
    not in an event and not labelled by a person: what the model may be missing."""

    def work(session: Session) -> list[ScoredArticle]:
        digested = select(OutboxMessage.article_id).where(OutboxMessage.kind == "digest_line",
                                                          OutboxMessage.article_id.is_not(None))
        query = (_scored(session, model_version)
                 .where(Classification.label == 0, Classification.score >= min_score,
                        Article.created_at >= since, Article.id.not_in(digested),
                        Article.id.not_in(select(EventArticle.article_id)),
                        Article.id.not_in(select(Label.article_id)))
                 .order_by(Classification.score.desc(), Article.id).limit(limit))
        return [_row(r) for r in session.execute(query)]

    return store.read(work)


@dataclass(frozen=True)
class EventRecord:
    event_id: int
    key: str
    partners: tuple[str, ...]
    moroccan: tuple[str, ...]
    kind: str
    headline: str
    signature: str
    first_article_id: int
    first_seen: datetime
    last_seen: datetime


def _event(row: Event) -> EventRecord:
    return EventRecord(event_id=row.id, key=row.key, partners=tuple(row.partners or ()),
                       moroccan=tuple(row.moroccan or ()), kind=row.kind, headline=row.headline,
                       signature=row.signature or "", first_article_id=row.first_article_id,
                       first_seen=row.first_seen, last_seen=row.last_seen)


def recent_events(store: Store, since: datetime) -> list[EventRecord]:
    def work(session: Session) -> list[EventRecord]:
        rows = session.scalars(select(Event).where(Event.last_seen >= since).order_by(Event.last_seen.desc()))
        return [_event(row) for row in rows]

    return store.read(work)


def event_by_id(store: Store, event_id: int) -> EventRecord | None:
    def work(session: Session) -> EventRecord | None:
        row = session.get(Event, event_id)
        return _event(row) if row else None

    return store.read(work)


@dataclass(frozen=True)
class NewEvent:
    key: str
    partners: Sequence[str]
    moroccan: Sequence[str]
    kind: str
    headline: str
    signature: str


def place_article(store: Store, article: ScoredArticle, event_id: int | None, new: NewEvent | None,
                  reason: str, run_id: str, now: datetime | None = None) -> tuple[EventRecord, str]:
    """Put ``article`` into event ``event_id``, or into a new event made from ``new``; one transaction.

    Returns the event and the article's role in it: ``first`` (the alert), ``followup`` (first report
    from another outlet: a thread reply) or ``same-outlet`` (more from an outlet already in the thread).
    Idempotent: an article already placed keeps its event and role.
    """
    now = now or utcnow()

    def work(session: Session) -> tuple[EventRecord, str]:
        existing = session.scalars(select(EventArticle).where(EventArticle.article_id == article.article_id)).first()
        if existing is not None:
            return _event(session.get(Event, existing.event_id)), existing.role
        if event_id is None:
            assert new is not None, "a new event needs its description"
            session.execute(_insert(session)(Event).values(
                key=new.key, topic="morocco_ai", partners=list(new.partners), moroccan=list(new.moroccan),
                kind=new.kind, headline=new.headline, signature=new.signature, first_article_id=article.article_id,
                first_seen=article.seen_at, last_seen=article.seen_at, created_at=now,
            ).on_conflict_do_nothing(index_elements=["key"]))
            event = session.scalars(select(Event).where(Event.key == new.key)).one()
        else:
            event = session.get(Event, event_id)
            if event is None:
                raise LookupError(f"event {event_id} vanished while placing article {article.article_id}")
        if event.first_article_id == article.article_id:
            role = "first"
        else:
            outlets = set(session.scalars(select(EventArticle.outlet).where(EventArticle.event_id == event.id)))
            role = "same-outlet" if article.coverage in outlets else "followup"
        session.add(EventArticle(event_id=event.id, article_id=article.article_id, outlet=article.coverage, role=role,
                                 reason=reason[:500], added_at=now, run_id=run_id))
        if article.seen_at > event.last_seen:
            event.last_seen = article.seen_at
        session.flush()
        return _event(event), role

    return store.write(work)


def event_outlets(store: Store, event_id: int) -> list[str]:
    """Outlets covering an event, in the order they reported it (the first article's outlet first)."""

    def work(session: Session) -> list[str]:
        rows = session.execute(select(Article.site_name, Article.outlet, Article.feed)
                               .join(EventArticle, Article.id == EventArticle.article_id)
                               .where(EventArticle.event_id == event_id).order_by(EventArticle.id))
        names: list[str] = []
        for site_name, host, feed in rows:
            name = outlet_name(site_name, host, feed)
            if name not in names:
                names.append(name)
        return names

    return store.read(work)


def event_articles_without_message(store: Store) -> list[tuple[int, int, str]]:
    """(event id, article id, role) of placed articles that have no outbox message yet, in order."""

    def work(session: Session) -> list[tuple[int, int, str]]:
        sent = select(OutboxMessage.article_id).where(OutboxMessage.kind.in_(("alert", "followup")),
                                                      OutboxMessage.article_id.is_not(None))
        rows = session.execute(select(EventArticle.event_id, EventArticle.article_id, EventArticle.role)
                               .where(EventArticle.role.in_(("first", "followup")),
                                      EventArticle.article_id.not_in(sent))
                               .order_by(EventArticle.id))
        return [(r.event_id, r.article_id, r.role) for r in rows]

    return store.read(work)


def scored_article(store: Store, article_id: int, model_version: str | None = None) -> ScoredArticle | None:
    """One article with its newest verdict (of ``model_version`` when given)."""

    def work(session: Session) -> ScoredArticle | None:
        query = _scored_columns().where(Article.id == article_id)
        if model_version:
            query = query.where(Classification.model_version == model_version)
        row = session.execute(query.order_by(Classification.at.desc()).limit(1)).first()
        return _row(row) if row else None

    return store.read(work)
