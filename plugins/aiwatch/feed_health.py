"""Feed outages an operator must hear about, as data.

Two kinds, because they call for different answers. A cycle in which every feed (or more than
``WATCH_MAX_FAILED_FEEDS_SHARE`` of them) failed or sat in back-off has learnt nothing about the
news: it must not look green, so its summary names the outage and the run fails. A single feed that
keeps failing is worth one notice in the ops channel once it has been down for
``WATCH_FEED_OUTAGE_ALERT_HOURS``, and never a notice per cycle: the notice's outbox key names the
outage's first failed poll, so the outbox's uniqueness sends it once, and a new outage after a
recovery gets its own.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from aiwatch.store import Store, outbox
from aiwatch.store.models import FeedPoll, FeedState
from aiwatch.urls import redact, shorten

log = logging.getLogger(__name__)

#: Poll states that mean the feed answered.
HEALTHY = ("ok", "unchanged")


def cycle_outage(total: int, failed: int, skipped: int, max_share: float) -> str | None:
    """Why a cycle's feeds amount to an outage (every feed down, or more than ``max_share``), or None."""
    down = failed + skipped
    if total <= 0 or down <= 0:
        return None
    if down >= total:
        return (f"every feed is down: {failed} failed and {skipped} in back-off, of {total}; "
                "nothing new can have been seen (is this machine offline? see the reasons above)")
    if down / total > max_share:
        return (f"{down} of {total} feeds are down ({failed} failed, {skipped} in back-off), more than "
                f"WATCH_MAX_FAILED_FEEDS_SHARE={max_share:g}")
    return None


@dataclass(frozen=True)
class Outage:
    feed: str
    url: str
    since: datetime
    failures: int
    error: str | None


def long_outages(store: Store, now: datetime, hours: float) -> list[Outage]:
    """Feeds whose current run of failed polls began at least ``hours`` ago."""

    def work(session: Session) -> list[Outage]:
        found = []
        for state in session.scalars(select(FeedState).where(FeedState.consecutive_failures > 0)
                                     .order_by(FeedState.name)):
            last_ok = session.scalar(select(func.max(FeedPoll.at))
                                     .where(FeedPoll.feed == state.name, FeedPoll.status.in_(HEALTHY)))
            failed = select(func.min(FeedPoll.at)).where(FeedPoll.feed == state.name, FeedPoll.status == "failed")
            since = session.scalar(failed.where(FeedPoll.at > last_ok) if last_ok else failed)
            if since is not None and now - since >= timedelta(hours=hours):
                found.append(Outage(state.name, shorten(redact(state.url), 200), since, state.consecutive_failures,
                                    redact(state.last_error or "")[:500] or None))
        return found

    return store.read(work)


def compose_outage_notices(store: Store, ops_channel: str, run_id: str, now: datetime, hours: float) -> int:
    """Queue one ops notice per long outage; returns how many are new (0 on every later cycle)."""
    from aiwatch.slack import blocks

    outages = long_outages(store, now, hours)
    messages = [outbox.NewMessage(key=f"feed-outage:{o.feed}:{o.since:%Y%m%dT%H%M%S}", kind="ops",
                                  channel=ops_channel,
                                  payload=blocks.feed_outage_message(o.feed, o.url, o.since, o.failures, o.error, now))
                for o in outages]
    added = outbox.enqueue(store, messages, run_id, now) if messages else 0
    if added:
        log.warning("%d feed(s) down for more than %g h: %s; one notice each to %s", added, hours,
                    ", ".join(o.feed for o in outages), ops_channel)
    return added
