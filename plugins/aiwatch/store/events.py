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
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from aiwatch.store.engine import Store
from aiwatch.store.models import Article, Classification, Event, EventArticle, FeedState, Label, OutboxMessage
from aiwatch.store.repo import _insert, utcnow

_IP_RE = re.compile(r"^\d{1,3}(?:\.\d{1,3}){3}$|^\[?(?=[0-9a-f:]*:)[0-9a-f:.]+\]?$")


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
    source_name: str | None = None
    feed_title: str | None = None
    feed_display: str | None = None

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
        """The outlet as a reader knows it (see :func:`outlet_name`)."""
        return outlet_name(self.site_name, self.outlet, self.feed, source_name=self.source_name,
                           feed_title=self.feed_title, feed_display=self.feed_display)


def outlet_name(site_name: str | None, host: str, feed: str, *, source_name: str | None = None,
                feed_title: str | None = None, feed_display: str | None = None) -> str:
    """An outlet's name for readers, best known first: the outlet an aggregator entry names (Google
    News' source), the name the feed list gives the feed (``title:``), the page's site name, the
    feed's own title, the feed's name. A host stands in only when none is known, and a bare address
    (127.0.0.1:45201, localhost) never does: the feed's name is then the better label."""
    names = [" ".join((name or "").split()) for name in (source_name, feed_display, site_name, feed_title)]
    for name in names:
        if name and not _looks_like_host(name):
            return name
    for name in names:   # "Le360.ma" names an outlet too; an address never does
        if name and not _looks_like_host(name, addresses_only=True):
            return name.removeprefix("www.")
    host = (host or "").strip()
    if host and not _looks_like_host(host, addresses_only=True):
        return host.removeprefix("www.")
    return feed or host or "unknown outlet"


def _looks_like_host(name: str, *, addresses_only: bool = False) -> bool:
    bare = re.sub(r":\d+$", "", name.strip().lower()).strip("[]")
    if _IP_RE.match(bare) or bare == "localhost" or bare.endswith(".localhost"):
        return True
    return not addresses_only and bool(re.fullmatch(r"(?:[a-z0-9-]+\.)+[a-z]{2,}(?::\d+)?", name.strip().lower()))


#: What :func:`outlet_of` reads from a row: select these with ``FeedState`` outer-joined on ``Article.feed``.
OUTLET_COLUMNS = (Article.outlet, Article.site_name, Article.feed, Article.source_name,
                  FeedState.title.label("feed_title"), FeedState.display_name.label("feed_display"))


def outlet_of(row: Any) -> str:
    """:func:`outlet_name` of a row selected with :data:`OUTLET_COLUMNS` (the Slack thread's, the
    operator's view's and the label export's name for one outlet are the same)."""
    return outlet_name(row.site_name, row.outlet, row.feed, source_name=row.source_name, feed_title=row.feed_title,
                       feed_display=row.feed_display)


def _scored_columns():  # type: ignore[no-untyped-def]
    return (select(Article.id, Article.title, Article.text, Article.summary, Article.url, Article.lang,
                   Article.published_at, Article.created_at, Classification.score, Classification.label,
                   Classification.explanation, *OUTLET_COLUMNS)
            .join(Classification, Classification.article_id == Article.id)
            .outerjoin(FeedState, FeedState.name == Article.feed))


def _scored(session: Session, model_version: str):  # type: ignore[no-untyped-def]
    return _scored_columns().where(Classification.model_version == model_version, Article.duplicate_of.is_(None))


def _row(row) -> ScoredArticle:  # type: ignore[no-untyped-def]
    return ScoredArticle(article_id=row.id, title=row.title or "", text=row.text or "", summary=row.summary or "",
                         url=row.url, feed=row.feed, outlet=row.outlet, site_name=row.site_name, lang=row.lang,
                         published_at=row.published_at, created_at=row.created_at, score=float(row.score),
                         label=int(row.label), explanation=row.explanation or "", source_name=row.source_name,
                         feed_title=row.feed_title, feed_display=row.feed_display)


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
                  reason: str, run_id: str, now: datetime | None = None,
                  evidence: dict | None = None) -> tuple[EventRecord, str]:
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
                                 reason=reason[:1000], added_at=now, run_id=run_id, evidence=evidence))
        if article.seen_at > event.last_seen:
            event.last_seen = article.seen_at
        session.flush()
        return _event(event), role

    return store.write(work)


@dataclass(frozen=True)
class Member:
    """A report placed in an event, with its stored evidence (None when placed before evidence
    was kept) and what is needed to read it again."""

    event_id: int
    article_id: int
    evidence: dict | None
    title: str
    text: str
    lang: str | None
    outlet: str
    seen_at: datetime


def event_members(store: Store, event_ids: Sequence[int]) -> dict[int, list[Member]]:
    """The reports of each event, in placement order (the first report first)."""
    if not event_ids:
        return {}

    def work(session: Session) -> dict[int, list[Member]]:
        out: dict[int, list[Member]] = {}
        ids = list(event_ids)
        for start in range(0, len(ids), 500):
            rows = session.execute(
                select(EventArticle.event_id, EventArticle.article_id, EventArticle.evidence, Article.title,
                       Article.text, Article.summary, Article.lang, Article.outlet, Article.published_at,
                       Article.created_at)
                .join(Article, Article.id == EventArticle.article_id)
                .where(EventArticle.event_id.in_(ids[start:start + 500])).order_by(EventArticle.id))
            for row in rows:
                out.setdefault(row.event_id, []).append(Member(
                    event_id=row.event_id, article_id=row.article_id, evidence=row.evidence, title=row.title or "",
                    text=row.text or row.summary or "", lang=row.lang, outlet=row.outlet or "",
                    seen_at=row.published_at or row.created_at))
        return out

    return store.read(work)


def save_evidence(store: Store, article_id: int, evidence: dict) -> None:
    """Keep the evidence of a placed report read again under a newer reading."""

    def work(session: Session) -> None:
        row = session.scalars(select(EventArticle).where(EventArticle.article_id == article_id)).first()
        if row is not None:
            row.evidence = evidence

    store.write(work)


def describe_event(store: Store, event_id: int, *, headline: str, kind: str, partners: Sequence[str],
                   moroccan: Sequence[str]) -> EventRecord:
    """Refresh what an event says about itself as its reports accumulate (the headline names a
    party the first report only described); the next alert update carries it to Slack."""

    def work(session: Session) -> EventRecord:
        event = session.get(Event, event_id)
        if event is None:
            raise LookupError(f"event {event_id} does not exist")
        event.headline, event.kind = headline, kind
        event.partners, event.moroccan = list(partners), list(moroccan)
        session.flush()
        return _event(event)

    return store.write(work)


def event_outlets(store: Store, event_id: int) -> list[str]:
    """Outlets covering an event, in the order they reported it (the first article's outlet first)."""

    def work(session: Session) -> list[str]:
        rows = session.execute(select(*OUTLET_COLUMNS)
                               .join(EventArticle, Article.id == EventArticle.article_id)
                               .outerjoin(FeedState, FeedState.name == Article.feed)
                               .where(EventArticle.event_id == event_id).order_by(EventArticle.id))
        names: list[str] = []
        for row in rows:
            name = outlet_of(row)
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
