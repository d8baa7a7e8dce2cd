"""The Slack outbox: every message is written here before it is sent, and marked sent after.

Why a table and not a call: a run that dies between posting and recording, a retried task, or a
re-run of the same DAG run must never post twice, and a Slack outage must never drop an alert.
Unique keys make composing idempotent; the state machine (pending -> sending -> sent) makes sending
resumable: a row left in ``sending`` was maybe posted, so the sender looks for it in the channel
(by the outbox key in the message metadata) before posting again.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from aiwatch.store.engine import Store
from aiwatch.store.models import OutboxMessage
from aiwatch.store.repo import _insert, utcnow

STATES = ("pending", "sending", "sent", "dry_run", "failed")
#: States after which a message's thread exists (in Slack, or in the dry-run file).
DELIVERED = ("sent", "dry_run")


@dataclass(frozen=True)
class OutboxRow:
    id: int
    key: str
    kind: str
    event_id: int | None
    article_id: int | None
    parent_key: str | None
    channel: str
    payload: dict[str, Any]
    state: str
    attempts: int
    last_error: str | None
    slack_channel: str | None
    slack_ts: str | None
    created_at: datetime
    updated_at: datetime | None
    sent_at: datetime | None


def _row(row: OutboxMessage) -> OutboxRow:
    return OutboxRow(id=row.id, key=row.key, kind=row.kind, event_id=row.event_id, article_id=row.article_id,
                     parent_key=row.parent_key, channel=row.channel, payload=row.payload, state=row.state,
                     attempts=row.attempts, last_error=row.last_error, slack_channel=row.slack_channel,
                     slack_ts=row.slack_ts, created_at=row.created_at, updated_at=row.updated_at,
                     sent_at=row.sent_at)


@dataclass(frozen=True)
class NewMessage:
    key: str
    kind: str
    channel: str
    payload: dict[str, Any]
    event_id: int | None = None
    article_id: int | None = None
    parent_key: str | None = None


def enqueue(store: Store, messages: list[NewMessage], run_id: str, now: datetime | None = None) -> int:
    """Add messages as pending; a key already in the outbox is left as it is. Returns how many were new."""
    now = now or utcnow()
    if not messages:
        return 0

    def work(session: Session) -> int:
        added = 0
        for message in messages:
            # RETURNING, not rowcount: PostgreSQL drivers report -1 rows for this statement.
            result = session.execute(_insert(session)(OutboxMessage).values(
                key=message.key, kind=message.kind, event_id=message.event_id, article_id=message.article_id,
                parent_key=message.parent_key, channel=message.channel, payload=message.payload, state="pending",
                attempts=0, created_at=now, run_id=run_id,
            ).on_conflict_do_nothing(index_elements=["key"]).returning(OutboxMessage.id))
            added += len(result.all())
        return added

    return store.write(work)


def refresh(store: Store, message: NewMessage, run_id: str, now: datetime | None = None) -> bool:
    """Make an edit message (chat.update) carry ``payload``: new, or back to pending if it changed."""
    now = now or utcnow()

    def work(session: Session) -> bool:
        row = session.scalars(select(OutboxMessage).where(OutboxMessage.key == message.key)).first()
        if row is None:
            session.add(OutboxMessage(key=message.key, kind=message.kind, event_id=message.event_id,
                                      article_id=message.article_id, parent_key=message.parent_key,
                                      channel=message.channel, payload=message.payload, state="pending", attempts=0,
                                      created_at=now, run_id=run_id))
            return True
        if row.payload == message.payload:
            return False
        row.payload, row.state, row.attempts, row.last_error = message.payload, "pending", 0, None
        row.updated_at, row.run_id = now, run_id
        return True

    return store.write(work)


def deliverable(store: Store, now: datetime | None = None) -> list[OutboxRow]:
    """Messages to (re)try now, oldest first so an alert always goes before its replies."""
    now = now or utcnow()

    def work(session: Session) -> list[OutboxRow]:
        rows = session.scalars(select(OutboxMessage)
                               .where(OutboxMessage.state.in_(("pending", "sending")),
                                      or_(OutboxMessage.next_attempt_at.is_(None),
                                          OutboxMessage.next_attempt_at <= now))
                               .order_by(OutboxMessage.id))
        return [_row(r) for r in rows]

    return store.read(work)


def by_key(store: Store, key: str) -> OutboxRow | None:
    def work(session: Session) -> OutboxRow | None:
        row = session.scalars(select(OutboxMessage).where(OutboxMessage.key == key)).first()
        return _row(row) if row else None

    return store.read(work)


def _update(store: Store, message_id: int, **values: Any) -> None:
    values.setdefault("updated_at", utcnow())

    def work(session: Session) -> None:
        row = session.get(OutboxMessage, message_id)
        if row is None:
            raise LookupError(f"outbox message {message_id} does not exist")
        for name, value in values.items():
            setattr(row, name, value)

    store.write(work)


def note_delivery_run(store: Store, row: OutboxRow, run_id: str) -> None:
    """The run now trying to deliver the message (the operator's view links to it)."""
    _update(store, row.id, delivery_run_id=run_id[:250])


def mark_sending(store: Store, row: OutboxRow) -> None:
    """Recorded *before* the post: if we die now, the next attempt reconciles instead of re-posting."""
    _update(store, row.id, state="sending", attempts=row.attempts + 1)


def mark_sent(store: Store, row: OutboxRow, channel: str | None, ts: str | None,
              now: datetime | None = None) -> None:
    now = now or utcnow()
    _update(store, row.id, state="sent", slack_channel=channel, slack_ts=ts, sent_at=now, last_error=None,
            next_attempt_at=None, updated_at=now)


def mark_dry_run(store: Store, row: OutboxRow, now: datetime | None = None) -> None:
    now = now or utcnow()
    _update(store, row.id, state="dry_run", sent_at=now, updated_at=now)


def mark_failed(store: Store, row: OutboxRow, error: str) -> None:
    _update(store, row.id, state="failed", last_error=error[:2000])


def mark_retry(store: Store, row: OutboxRow, error: str, state: str,
               next_attempt_at: datetime | None = None) -> None:
    """Still to deliver (``pending``, or ``sending`` when Slack may have it already): the next run retries."""
    _update(store, row.id, state=state, last_error=error[:2000], next_attempt_at=next_attempt_at)


def requeue(store: Store, key: str) -> bool:
    """An operator's second chance for a failed message; True if it was failed and is pending again."""

    def work(session: Session) -> bool:
        row = session.scalars(select(OutboxMessage).where(OutboxMessage.key == key)).first()
        if row is None or row.state != "failed":
            return False
        row.state, row.attempts, row.next_attempt_at, row.updated_at = "pending", 0, None, utcnow()
        return True

    return store.write(work)


def channel_id_for(store: Store, channel: str) -> str | None:
    """The Slack channel ID a channel name resolved to on an earlier post (conversations.* need IDs)."""

    def work(session: Session) -> str | None:
        return session.scalars(select(OutboxMessage.slack_channel)
                               .where(OutboxMessage.channel == channel, OutboxMessage.slack_channel.is_not(None))
                               .order_by(OutboxMessage.id.desc()).limit(1)).first()

    return store.read(work)


def state_counts(store: Store) -> dict[str, int]:
    def work(session: Session) -> dict[str, int]:
        return dict(Counter(session.scalars(select(OutboxMessage.state))))

    return store.read(work)


def latest_digest_day(store: Store) -> str | None:
    def work(session: Session) -> str | None:
        key = session.scalars(select(OutboxMessage.key).where(OutboxMessage.kind == "digest")
                              .order_by(OutboxMessage.id.desc()).limit(1)).first()
        return key.split(":", 1)[1] if key else None

    return store.read(work)


def feedback_targets(store: Store, since: datetime) -> list[OutboxRow]:
    """Posted messages about one article (alerts, replies, digest lines) whose reactions are feedback."""

    def work(session: Session) -> list[OutboxRow]:
        rows = session.scalars(select(OutboxMessage)
                               .where(OutboxMessage.state == "sent", OutboxMessage.article_id.is_not(None),
                                      OutboxMessage.kind.in_(("alert", "followup", "digest_line")),
                                      OutboxMessage.sent_at >= since, OutboxMessage.slack_ts.is_not(None))
                               .order_by(OutboxMessage.id))
        return [_row(r) for r in rows]

    return store.read(work)


def mark_feedback_checked(store: Store, message_ids: list[int], now: datetime | None = None) -> None:
    now = now or utcnow()

    def work(session: Session) -> None:
        for message_id in message_ids:
            row = session.get(OutboxMessage, message_id)
            if row is not None:
                row.feedback_checked_at = now

    store.write(work)
