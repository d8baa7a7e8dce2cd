"""Tables of the article store. Schema changes go through Alembic migrations in ``migrations/``.

The store is the single source of truth: Airflow tasks pass only ids and counts, so any task can
be retried or re-run and read what it needs from here. Unique keys make every write idempotent.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite drops the zone; we put it back)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):  # type: ignore[no-untyped-def]
        if value is not None:
            if value.tzinfo is None:
                raise ValueError(f"naive datetime {value!r} given to the store; use UTC-aware datetimes")
            value = value.astimezone(UTC)
            if dialect.name == "sqlite":
                value = value.replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):  # type: ignore[no-untyped-def]
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC) if value is not None else None


class FeedState(Base):
    """Health and HTTP cache state of one configured feed."""

    __tablename__ = "feeds"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    lang: Mapped[str | None] = mapped_column(String(8))
    etag: Mapped[str | None] = mapped_column(Text)
    last_modified: Mapped[str | None] = mapped_column(Text)
    last_polled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_ok_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_status: Mapped[str | None] = mapped_column(String(16))
    last_error: Mapped[str | None] = mapped_column(Text)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    entries_seen: Mapped[int] = mapped_column(BigInteger, default=0)
    articles_new: Mapped[int] = mapped_column(BigInteger, default=0)
    #: The feed's own <title>, and the outlet name the feed list gives (``title:``): outlet names.
    title: Mapped[str | None] = mapped_column(String(255))
    display_name: Mapped[str | None] = mapped_column(String(255))
    #: Paused by an operator (left out by ``prepare`` until resumed), and "poll now" (the next poll
    #: ignores the feed's back-off).
    paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    paused_by: Mapped[str | None] = mapped_column(String(255))
    poll_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class FeedPoll(Base):
    """One poll of one feed in one cycle (run); a retried task overwrites its own row."""

    __tablename__ = "feed_polls"
    __table_args__ = (UniqueConstraint("run_id", "feed", name="uq_feed_polls_run_feed"),
                      Index("ix_feed_polls_feed_status_at", "feed", "status", "at"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(String(250))
    feed: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(16))
    http_status: Mapped[int | None] = mapped_column(Integer)
    entries: Mapped[int] = mapped_column(Integer, default=0)
    new: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    duplicates: Mapped[int] = mapped_column(Integer, default=0)
    reason: Mapped[str | None] = mapped_column(String(64))
    error: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[int | None] = mapped_column(Integer)


class HostBackoff(Base):
    """A host that asked us (429/503 + Retry-After) to come back later; honoured by feeds and pages."""

    __tablename__ = "host_backoff"
    host: Mapped[str] = mapped_column(String(255), primary_key=True)
    not_before: Mapped[datetime] = mapped_column(UTCDateTime())
    reason: Mapped[str | None] = mapped_column(Text)


class Article(Base):
    __tablename__ = "articles"
    __table_args__ = (
        Index("ix_articles_outlet_title_key", "outlet", "title_key"),
        Index("ix_articles_fetch_status", "fetch_status"),
        Index("ix_articles_outlet_created", "outlet", "created_at"),
        Index("ix_articles_feed_fetch_status", "feed", "fetch_status"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    url: Mapped[str] = mapped_column(Text)
    url_key: Mapped[str] = mapped_column(String(2000), unique=True)
    guid: Mapped[str | None] = mapped_column(Text)
    feed: Mapped[str] = mapped_column(String(64), index=True)
    outlet: Mapped[str] = mapped_column(String(255))
    title: Mapped[str] = mapped_column(Text)
    title_key: Mapped[str | None] = mapped_column(String(40))
    summary: Mapped[str] = mapped_column(Text, default="")
    summary_fp: Mapped[int | None] = mapped_column(BigInteger)
    text: Mapped[str | None] = mapped_column(Text)
    text_fp: Mapped[int | None] = mapped_column(BigInteger)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    date_source: Mapped[str | None] = mapped_column(String(8))
    lang: Mapped[str | None] = mapped_column(String(8))
    site_name: Mapped[str | None] = mapped_column(String(255))
    #: The outlet an aggregator entry names (Google News' <source>): its outlet name.
    source_name: Mapped[str | None] = mapped_column(String(255))
    page_title: Mapped[str | None] = mapped_column(Text)
    fetch_status: Mapped[str] = mapped_column(String(16), default="pending")
    fetch_error: Mapped[str | None] = mapped_column(Text)
    #: Claims of the page so far (counted before fetching): bounded, then the page is given up.
    fetch_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    #: Bumped whenever title, summary or text change: a verdict on an older revision is stale.
    content_rev: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    http_status: Mapped[int | None] = mapped_column(Integer)
    encoding: Mapped[str | None] = mapped_column(String(32))
    duplicate_of: Mapped[int | None] = mapped_column(ForeignKey("articles.id"))
    first_run_id: Mapped[str | None] = mapped_column(String(250))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    fetched_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    title_history: Mapped[list | None] = mapped_column(JSON)


class UrlAlias(Base):
    """Another URL of a stored article (an aggregator's link resolved to the publisher's page)."""

    __tablename__ = "url_aliases"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    alias_key: Mapped[str] = mapped_column(String(2000), unique=True)
    alias_url: Mapped[str] = mapped_column(Text)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CycleStep(Base):
    """Counts reported by each step of a cycle, so the run summary can be rebuilt from the store."""

    __tablename__ = "cycle_steps"
    __table_args__ = (UniqueConstraint("run_id", "step", name="uq_cycle_steps_run_step"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(String(250), index=True)
    step: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    stats: Mapped[dict] = mapped_column(JSON)


class Classification(Base):
    """A model's verdict on an article; one row per (article, model version), so re-scoring with a
    new model keeps the history and a retried task does not duplicate."""

    __tablename__ = "classifications"
    __table_args__ = (UniqueConstraint("article_id", "model_version", name="uq_classifications_article_model"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), index=True)
    model_version: Mapped[str] = mapped_column(String(32))
    score: Mapped[float] = mapped_column(Float)
    label: Mapped[int] = mapped_column(Integer)
    explanation: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: The article's content revision this verdict judged (see Article.content_rev).
    content_rev: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    #: Why the model could not judge the article (label 0, score 0): it failed alone.
    error: Mapped[str | None] = mapped_column(Text)


class Label(Base):
    """A human label on an article (Slack reaction, imported file): training data for the model."""

    __tablename__ = "labels"
    __table_args__ = (UniqueConstraint("article_id", "source", "who", name="uq_labels_article_source_who"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), index=True)
    label: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(16))
    who: Mapped[str] = mapped_column(String(255), default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    note: Mapped[str | None] = mapped_column(Text)
    #: The guideline's category (pos, or a hard-negative kind) when the labeller gave one.
    category: Mapped[str | None] = mapped_column(String(32))


class Event(Base):
    """A partnership event: every report of one partnership (outlets, languages, days) is one event,
    hence one Slack alert. ``key`` is deterministic for the first article, so re-running the grouping
    step finds the event it made before instead of making another."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_last_seen", "last_seen"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(255), unique=True)
    topic: Mapped[str] = mapped_column(String(32), default="morocco_ai")
    partners: Mapped[list] = mapped_column(JSON, default=list)
    moroccan: Mapped[list] = mapped_column(JSON, default=list)
    kind: Mapped[str] = mapped_column(String(16))
    headline: Mapped[str] = mapped_column(Text)
    signature: Mapped[str] = mapped_column(Text, default="")
    first_article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"))
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class EventArticle(Base):
    """An article placed in an event; an article belongs to at most one event."""

    __tablename__ = "event_articles"
    __table_args__ = (Index("ix_event_articles_event_outlet", "event_id", "outlet"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), unique=True)
    outlet: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))  # first | followup | same-outlet
    reason: Mapped[str] = mapped_column(Text, default="")
    added_at: Mapped[datetime] = mapped_column(UTCDateTime())
    run_id: Mapped[str | None] = mapped_column(String(250))
    #: What the report says about its partnership (aiwatch.evidence.Evidence.to_json), for later placements.
    evidence: Mapped[dict | None] = mapped_column(JSON)


class OutboxMessage(Base):
    """One Slack message to deliver, written before it is sent (pending -> sending -> sent(ts)).

    ``key`` is unique, so composing the same alert twice (a retried task, a re-run) adds nothing;
    ``parent_key`` names the message whose thread a reply goes into (or which an update edits).
    States: pending (to send), sending (a post was attempted and its outcome is unknown: reconcile
    with the channel before posting again), sent, dry_run (no Slack connection: payload logged and
    written to the outbox file), failed (Slack refused this message; ``last_error`` says why).
    """

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_state", "state"), Index("ix_outbox_event", "event_id"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(255), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # alert | followup | update | digest | digest_line
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    article_id: Mapped[int | None] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"))
    parent_key: Mapped[str | None] = mapped_column(String(255))
    channel: Mapped[str] = mapped_column(String(255))
    payload: Mapped[dict] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    slack_channel: Mapped[str | None] = mapped_column(String(64))
    slack_ts: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    run_id: Mapped[str | None] = mapped_column(String(250))  # the run that composed it
    delivery_run_id: Mapped[str | None] = mapped_column(String(250))  # the run that last tried to deliver it
    feedback_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
