"""Human labels on articles: recorded from Slack reactions or imported files, read back as
training rows. The newest label of an article wins when people disagree over time."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import Float, func, literal, select
from sqlalchemy.orm import Session

from aiwatch.store.engine import Store
from aiwatch.store.events import OUTLET_COLUMNS, outlet_of
from aiwatch.store.models import Article, Classification, FeedState, Label
from aiwatch.store.repo import _insert

log = logging.getLogger(__name__)

#: Ids and URL keys looked up per query, well under SQLite's and PostgreSQL's parameter limits.
LOOKUP_CHUNK = 500

Outcome = Literal["new", "updated", "unchanged"]


def add_label(store: Store, article_id: int, label: int, source: str, who: str = "",
              at: datetime | None = None, note: str | None = None, category: str | None = None) -> Outcome:
    """Record one person's label on an article from one source, and say whether it was new,
    changed (their mind or note changed: the label takes the new time) or unchanged (nothing is
    written, so the same vote read again never counts as new for retraining)."""
    if label not in (0, 1):
        raise ValueError(f"label must be 0 or 1, got {label!r}")
    at = at or datetime.now(UTC)

    def work(session: Session) -> Outcome:
        before = session.execute(select(Label.label, Label.note, Label.category).where(
            Label.article_id == article_id, Label.source == source, Label.who == who)).first()
        if before is not None and (int(before.label), before.note, before.category) == (label, note, category):
            return "unchanged"
        _upsert_label(session, article_id, label, source, who, at, note, category)
        return "new" if before is None else "updated"

    return store.write(work)


def _upsert_label(session: Session, article_id: int, label: int, source: str, who: str, at: datetime,
                  note: str | None, category: str | None = None) -> None:
    values = dict(article_id=article_id, label=label, source=source, who=who, at=at, note=note, category=category)
    session.execute(_insert(session)(Label).values(**values).on_conflict_do_update(
        index_elements=["article_id", "source", "who"],
        set_={"label": label, "at": at, "note": note, "category": category}))


def labelled_articles(store: Store) -> list[dict[str, Any]]:
    """One training row per labelled article (its newest label), text or feed summary included."""

    def work(session: Session) -> list[dict[str, Any]]:
        rows = session.execute(select(Label.article_id, Label.label, Label.category, Label.at, Article.title,
                                      Article.text, Article.summary, Article.lang).join(Article, Article.id == Label.article_id)
                               .order_by(Label.at)).all()
        newest: dict[int, dict[str, Any]] = {}
        for row in rows:
            newest[row.article_id] = {"id": f"article:{row.article_id}", "title": row.title,
                                      "text": row.text or row.summary or "", "label": int(row.label),
                                      "lang": row.lang, "category": row.category, "event": None}
        return list(newest.values())

    return store.read(work)


def label_count_since(store: Store, since: datetime | None) -> int:
    def work(session: Session) -> int:
        query = select(Label.id)
        if since is not None:
            query = query.where(Label.at > since)
        return len(session.scalars(query).all())

    return store.read(work)


# --- imported label files ----------------------------------------------------------------------


@dataclass(frozen=True)
class LabelInput:
    """One person's label on one article, as read from a file."""

    article_id: int
    label: int
    who: str = ""
    note: str | None = None
    category: str | None = None


def record_labels(store: Store, labels: Sequence[LabelInput], source: str, dry_run: bool = False,
                  at: datetime | None = None) -> list[Outcome]:
    """Record many labels in one transaction and say, for each, whether it was new, changed an
    earlier label of the same person and source, or was already there.

    Unlike calling :func:`add_label` in a loop, an identical label is not rewritten (its time is
    kept), so importing the same file twice changes nothing. With ``dry_run`` nothing is written.
    Later items win over earlier ones for the same (article, who), as in the file.
    """
    for item in labels:
        if item.label not in (0, 1):
            raise ValueError(f"label must be 0 or 1, got {item.label!r} for article {item.article_id}")
    at = at or datetime.now(UTC)

    def work(session: Session) -> list[Outcome]:
        known: dict[tuple[int, str], tuple[int, str | None, str | None]] = {}
        ids = sorted({item.article_id for item in labels})
        for start in range(0, len(ids), LOOKUP_CHUNK):
            rows = session.execute(select(Label.article_id, Label.who, Label.label, Label.note, Label.category).where(
                Label.source == source, Label.article_id.in_(ids[start:start + LOOKUP_CHUNK]))).all()
            known.update({(r.article_id, r.who): (int(r.label), r.note, r.category) for r in rows})
        outcomes: list[Outcome] = []
        for item in labels:
            key = (item.article_id, item.who)
            before = known.get(key)
            if before == (item.label, item.note, item.category):
                outcomes.append("unchanged")
                continue
            outcomes.append("new" if before is None else "updated")
            known[key] = (item.label, item.note, item.category)
            if not dry_run:
                _upsert_label(session, item.article_id, item.label, source, item.who, at, item.note, item.category)
        return outcomes

    outcomes = store.write(work)
    log.info("labels from %s%s: %d new, %d updated, %d unchanged", source, " (dry run)" if dry_run else "",
             outcomes.count("new"), outcomes.count("updated"), outcomes.count("unchanged"))
    return outcomes


def article_url_keys(store: Store, ids: Iterable[int]) -> dict[int, str]:
    """The stored articles among ``ids``, with their canonical URL key (id -> url_key)."""
    wanted = sorted(set(ids))

    def work(session: Session) -> dict[int, str]:
        found: dict[int, str] = {}
        for start in range(0, len(wanted), LOOKUP_CHUNK):
            found.update(session.execute(select(Article.id, Article.url_key).where(
                Article.id.in_(wanted[start:start + LOOKUP_CHUNK]))).tuples().all())
        return found

    return store.read(work)


def article_ids_by_url_key(store: Store, keys: Iterable[str]) -> dict[str, int]:
    """The stored articles whose canonical URL key is among ``keys`` (url_key -> id)."""
    wanted = sorted(set(keys))

    def work(session: Session) -> dict[str, int]:
        found: dict[str, int] = {}
        for start in range(0, len(wanted), LOOKUP_CHUNK):
            found.update(session.execute(select(Article.url_key, Article.id).where(
                Article.url_key.in_(wanted[start:start + LOOKUP_CHUNK]))).tuples().all())
        return found

    return store.read(work)


# --- articles to label -------------------------------------------------------------------------


@dataclass(frozen=True)
class ScoredArticle:
    """An unlabelled article with the classification it is judged by."""

    article_id: int
    url: str
    outlet: str          # the outlet's name as readers know it (see aiwatch.store.events.outlet_name)
    lang: str | None
    published: datetime | None
    title: str
    text: str
    score: float
    model_version: str
    margin: float


def classification_count(store: Store, model_version: str) -> int:
    """How many articles ``model_version`` has scored (0 tells the caller to fall back)."""
    return store.read(lambda s: s.scalar(select(func.count()).select_from(Classification)
                                         .where(Classification.model_version == model_version)) or 0)


def _candidates(model_version: str | None):  # type: ignore[no-untyped-def]
    """One classification per unlabelled, non-duplicate article: ``model_version``'s, or the newest."""
    query = select(Classification.article_id, Classification.score, Classification.model_version)
    if model_version is not None:
        query = query.where(Classification.model_version == model_version)
    else:
        newest = func.row_number().over(partition_by=Classification.article_id,
                                        order_by=(Classification.at.desc(), Classification.id.desc()))
        ranked = query.add_columns(newest.label("rank")).subquery()
        query = select(ranked.c.article_id, ranked.c.score, ranked.c.model_version).where(ranked.c.rank == 1)
    chosen = query.subquery()
    labelled = select(Label.article_id)
    return chosen, (chosen.c.article_id.not_in(labelled), Article.duplicate_of.is_(None))


def least_certain(store: Store, threshold: float, limit: int, model_version: str | None = None,
                  ) -> tuple[list[ScoredArticle], int]:
    """The ``limit`` unlabelled articles whose score is nearest ``threshold``, nearest first, and
    how many unlabelled classified articles there are in all.

    ``model_version`` restricts to that model's verdicts; None takes each article's newest
    verdict, whichever model gave it. Articles already labelled (any source) and duplicates of
    another article (the original is the one to label) are left out. Sorting and limiting happen
    in the database, so a large store does not travel to Python.
    """

    def work(session: Session) -> tuple[list[ScoredArticle], int]:
        chosen, conditions = _candidates(model_version)
        margin = func.abs(chosen.c.score - literal(threshold, Float())).label("margin")
        joined = (select(Article.id, Article.url, *OUTLET_COLUMNS, Article.lang, Article.published_at, Article.title,
                         Article.text, Article.summary, chosen.c.score, chosen.c.model_version, margin)
                  .join(chosen, chosen.c.article_id == Article.id)
                  .outerjoin(FeedState, FeedState.name == Article.feed).where(*conditions))
        order = (margin, Article.published_at.desc().nulls_last(), Article.id)
        rows = session.execute(joined.order_by(*order).limit(limit)).all()
        total = session.scalar(select(func.count()).select_from(
            select(Article.id).join(chosen, chosen.c.article_id == Article.id).where(*conditions).subquery()))
        found = [ScoredArticle(r.id, r.url, outlet_of(r), r.lang, r.published_at, r.title,
                               r.text or r.summary or "", float(r.score), r.model_version, float(r.margin))
                 for r in rows]
        return found, int(total or 0)

    return store.read(work)
