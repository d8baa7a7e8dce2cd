"""Human labels on articles: recorded from Slack reactions or imported files, read back as
training rows. The newest label of an article wins when people disagree over time."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from aiwatch.store.engine import Store
from aiwatch.store.models import Article, Label
from aiwatch.store.repo import _insert


def add_label(store: Store, article_id: int, label: int, source: str, who: str = "",
              at: datetime | None = None, note: str | None = None) -> None:
    """Record (or update) one person's label on an article from one source; idempotent."""
    if label not in (0, 1):
        raise ValueError(f"label must be 0 or 1, got {label!r}")
    at = at or datetime.now(UTC)

    def work(session: Session) -> None:
        values = dict(article_id=article_id, label=label, source=source, who=who, at=at, note=note)
        session.execute(_insert(session)(Label).values(**values).on_conflict_do_update(
            index_elements=["article_id", "source", "who"], set_={"label": label, "at": at, "note": note}))

    store.write(work)


def labelled_articles(store: Store) -> list[dict[str, Any]]:
    """One training row per labelled article (its newest label), text or feed summary included."""

    def work(session: Session) -> list[dict[str, Any]]:
        rows = session.execute(select(Label.article_id, Label.label, Label.at, Article.title, Article.text,
                                      Article.summary, Article.lang).join(Article, Article.id == Label.article_id)
                               .order_by(Label.at)).all()
        newest: dict[int, dict[str, Any]] = {}
        for row in rows:
            newest[row.article_id] = {"id": f"article:{row.article_id}", "title": row.title,
                                      "text": row.text or row.summary or "", "label": int(row.label),
                                      "lang": row.lang, "category": None, "event": None}
        return list(newest.values())

    return store.read(work)


def label_count_since(store: Store, since: datetime | None) -> int:
    def work(session: Session) -> int:
        query = select(Label.id)
        if since is not None:
            query = query.where(Label.at > since)
        return len(session.scalars(query).all())

    return store.read(work)
