"""From verdicts to Slack: group relevant articles into events, compose messages into the outbox,
deliver the outbox. Three steps, each a plain function over the store, so the DAG runs them as
tasks and a retry or re-run of any of them adds, posts or loses nothing.

- ``group_events``: every relevant article not yet placed joins an event (the same partnership: its
  parties, descriptions, figures and names agree within a time window; see aiwatch.events) or starts one.
- ``compose``: one alert per new event; one thread reply per other outlet covering it, plus an edit
  of the alert with the outlet count; once a day, a review digest of uncertain stories. Payloads
  are rendered here and stored, so what is sent (or dry-run) is exactly what was composed.
- ``deliver``: pending messages go to Slack through the gateway, or, without a Slack connection,
  to the task log and the outbox file (dry-run).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiwatch import events as grouping
from aiwatch import feed_health
from aiwatch.config import Settings
from aiwatch.evidence import Evidence, analyse
from aiwatch.gazetteer import Gazetteer
from aiwatch.slack import blocks
from aiwatch.slack.gateway import (
    SlackFatal,
    SlackGateway,
    SlackMethodUnsupported,
    SlackRejected,
    SlackUnavailable,
    is_channel_id,
)
from aiwatch.store import Store, outbox, repo
from aiwatch.store import events as event_store
from aiwatch.store.events import ScoredArticle
from aiwatch.summary import summarise

log = logging.getLogger(__name__)

#: Slack message metadata type carrying the outbox key: how a posted message is found again.
METADATA_TYPE = "aiwatch_outbox"
DIGEST_MAX_LINES = 25


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)


def _classify_stats(store: Store, run_id: str) -> dict[str, Any]:
    steps, _ = repo.run_record(store, run_id)
    return steps.get("classify", {})


def _model_version(store: Store, run_id: str, settings: Settings) -> tuple[str | None, float | None]:
    """The model version (and threshold) this run classified with, else the live one."""
    stats = _classify_stats(store, run_id)
    if stats.get("model_version"):
        return stats["model_version"], stats.get("threshold")
    from classifiers.registry import versions

    live = [v for v in versions(settings.models) if v.live]
    return (live[0].name, live[0].meta.get("threshold")) if live else (None, None)


# --- grouping --------------------------------------------------------------------------------


def _member_evidence(store: Store, gazetteer: Gazetteer, member: event_store.Member) -> Evidence:
    """A placed report's evidence: as stored, or read again (and stored) when it was kept under an
    older reading or not at all."""
    if member.evidence:
        try:
            return Evidence.from_json(member.evidence)
        except (ValueError, KeyError, TypeError):
            pass
    evidence = analyse(gazetteer, member.title, member.text, seen_at=member.seen_at, lang=member.lang,
                       outlet=member.outlet)
    event_store.save_evidence(store, member.article_id, evidence.to_json())
    return evidence


def _describe(store: Store, gazetteer: Gazetteer, event_id: int, members: list[Evidence],
              record: event_store.EventRecord) -> event_store.EventRecord:
    """Give an event the headline, kind and sides its reports now support, when they changed."""
    ours, theirs = grouping.sides(gazetteer, members)
    headline = grouping.headline(gazetteer, members)
    kind = grouping.most_specific(ev.kind for ev in members)
    if (headline, kind, list(theirs), list(ours)) == (record.headline, record.kind, list(record.partners),
                                                       list(record.moroccan)):
        return record
    log.info("event %d now reads %r (was %r)", event_id, headline, record.headline)
    return event_store.describe_event(store, event_id, headline=headline, kind=kind, partners=theirs, moroccan=ours)


def group_events(settings: Settings, run_id: str, *, now: datetime | None = None) -> dict[str, Any]:
    """Place every relevant, recent, unplaced article into a partnership event (aiwatch.events)."""
    now = _now(now)
    store = Store(settings.db_url)
    version, _ = _model_version(store, run_id, settings)
    stats: dict[str, Any] = {"model_version": version, "placed": 0, "new_events": 0, "followups": 0,
                             "same_outlet": 0, "errors": 0}
    if version is None:
        log.warning("no model version: nothing to group (did classify run?)")
        repo.record_step(store, run_id, "group", stats)
        return stats
    window = timedelta(days=settings.event_window_days)
    candidates = event_store.relevant_unplaced(store, version, now - timedelta(hours=settings.alert_max_age_h))
    gazetteer = Gazetteer.load(settings.gazetteer_path)
    reports: dict[int, tuple[ScoredArticle, grouping.Report]] = {}
    for article in candidates:
        try:
            text = article.text or article.summary
            evidence = analyse(gazetteer, article.title, text, seen_at=article.seen_at, lang=article.lang,
                               outlet=article.outlet_name)
            reports[article.article_id] = (article, grouping.Report(
                article.article_id, evidence, grouping.content_key(article.title, text, article.url)))
        except Exception:  # one article that cannot be read fails alone; it is tried again next run
            stats["errors"] += 1
            log.exception("article %d (%s) could not be read for grouping; left for the next run",
                          article.article_id, article.outlet)
    if not reports:
        repo.record_step(store, run_id, "group", stats)
        log.info("grouped 0 relevant articles (%d could not be read)", stats["errors"])
        return stats
    oldest = min(article.seen_at for article, _ in reports.values()) - window
    records = {r.event_id: r for r in event_store.recent_events(store, oldest)}
    members = event_store.event_members(store, list(records))
    evidence_of: dict[int, list[Evidence]] = {}
    states = []
    for event_id, record in records.items():
        evidence_of[event_id] = [_member_evidence(store, gazetteer, m) for m in members.get(event_id, [])]
        if evidence_of[event_id]:
            states.append(grouping.EventState(event_id, record.key, tuple(evidence_of[event_id]), record.first_seen,
                                              record.last_seen))
    decisions = grouping.resolve([report for _, report in reports.values()], states, gazetteer, window=window)
    group_members: dict[int, list[Evidence]] = {}
    for decision in decisions:
        if decision.event_id is None:
            group_members.setdefault(decision.group, []).append(reports[decision.article_id][1].evidence)
    group_event: dict[int, int] = {}
    touched: dict[int, event_store.EventRecord] = {}
    for decision in sorted(decisions, key=lambda d: (reports[d.article_id][1].evidence.seen_at,
                                                     reports[d.article_id][1].key)):
        article, report = reports[decision.article_id]
        try:
            target = decision.event_id if decision.event_id is not None else group_event.get(decision.group)
            new = None
            if target is None:
                group = group_members.get(decision.group) or [report.evidence]
                ours, theirs = grouping.sides(gazetteer, group)
                new = event_store.NewEvent(key=grouping.event_key(article.article_id), partners=theirs, moroccan=ours,
                                           kind=grouping.most_specific(ev.kind for ev in group),
                                           headline=grouping.headline(gazetteer, group),
                                           signature=report.evidence.signature)
            record, role = event_store.place_article(store, article, target, new, decision.reason, run_id, now,
                                                     evidence=report.evidence.to_json())
        except Exception:  # one article that cannot be placed fails alone; it is tried again next run
            stats["errors"] += 1
            log.exception("article %d (%s) could not be placed in an event; left for the next run",
                          article.article_id, article.outlet)
            continue
        if decision.event_id is None:
            group_event.setdefault(decision.group, record.event_id)
        if role != "first" or record.event_id in evidence_of:
            evidence_of.setdefault(record.event_id, []).append(report.evidence)
        else:
            evidence_of[record.event_id] = [report.evidence]
        touched[record.event_id] = record
        stats["placed"] += 1
        stats["new_events" if role == "first" else "followups" if role == "followup" else "same_outlet"] += 1
        log.info("article %d (%s) -> event %d %r as %s: %s", article.article_id, article.outlet_name,
                 record.event_id, record.headline, role, decision.reason)
    for event_id, record in touched.items():
        try:
            _describe(store, gazetteer, event_id, evidence_of[event_id], record)
        except Exception:
            stats["errors"] += 1
            log.exception("event %d: its headline could not be refreshed", event_id)
    repo.record_step(store, run_id, "group", stats)
    log.info("grouped %d relevant articles: %d new events, %d follow-ups, %d more from outlets already covering, "
             "%d errors", stats["placed"], stats["new_events"], stats["followups"], stats["same_outlet"],
             stats["errors"])
    return stats


# --- composing -------------------------------------------------------------------------------


def _ref(article: ScoredArticle) -> blocks.ArticleRef:
    return blocks.ArticleRef(article_id=article.article_id, title=article.title, url=article.url,
                             outlet=article.outlet_name, lang=article.lang, published=article.published_at,
                             score=article.score, explanation=article.explanation)


def _alert_view(store: Store, event: event_store.EventRecord, version: str | None) -> blocks.AlertView:
    first = event_store.scored_article(store, event.first_article_id, version)
    if first is None:
        raise LookupError(f"event {event.event_id}: its first article {event.first_article_id} has no verdict")
    return blocks.AlertView(
        event_id=event.event_id, headline=event.headline, kind_label=grouping.KIND_LABELS.get(event.kind, event.kind),
        summary=summarise(first.title, first.text, first.summary), article=_ref(first),
        outlets=tuple(event_store.event_outlets(store, event.event_id)))


def compose(settings: Settings, run_id: str, *, now: datetime | None = None) -> dict[str, Any]:
    """Write the messages the new placements and uncertain stories call for into the outbox."""
    now = _now(now)
    store = Store(settings.db_url)
    version, threshold = _model_version(store, run_id, settings)
    counts: Counter[str] = Counter()
    followed: dict[int, event_store.EventRecord] = {}
    for event_id, article_id, role in event_store.event_articles_without_message(store):
        try:
            event = _compose_one(settings, store, version, event_id, article_id, role, run_id, now, counts)
        except Exception:  # one message that cannot be built fails alone; it is tried again next run
            counts["errors"] += 1
            log.exception("event %d: the %s message for article %d could not be composed; left for the next run",
                          event_id, "alert" if role == "first" else "reply", article_id)
            continue
        if event is not None:
            followed[event_id] = event
    # One edit per event with new coverage, rendered once after all its replies (its outlet count).
    for event_id, event in followed.items():
        try:
            counts["updates"] += outbox.refresh(store, outbox.NewMessage(
                key=f"update:{event.key}", kind="update", channel=settings.slack_channel,
                payload=blocks.alert_message(_alert_view(store, event, version)), event_id=event_id,
                parent_key=f"alert:{event.key}"), run_id, now)
        except Exception:
            counts["errors"] += 1
            log.exception("event %d: the alert update could not be composed", event_id)
    if version is not None:
        try:
            counts["digest_lines"] = compose_digest(settings, store, version, threshold, run_id, now)
        except Exception:
            counts["errors"] += 1
            log.exception("the review digest could not be composed; it is tried again next run")
    try:
        counts["feed_outages"] = feed_health.compose_outage_notices(store, settings.ops_channel, run_id, now,
                                                                   settings.feed_outage_alert_h)
    except Exception:
        counts["errors"] += 1
        log.exception("the feed outage notices could not be composed; they are tried again next run")
    stats = dict(counts)
    repo.record_step(store, run_id, "compose", stats)
    log.info("composed %d alerts, %d thread replies, %d alert updates, %d review digest lines",
             counts["alerts"], counts["followups"], counts["updates"], counts["digest_lines"])
    return stats


def _compose_one(settings: Settings, store: Store, version: str | None, event_id: int, article_id: int, role: str,
                 run_id: str, now: datetime, counts: Counter[str]) -> event_store.EventRecord | None:
    """Enqueue the alert (first article) or thread reply of one placement; returns the event when a
    reply was added (its alert then needs an update)."""
    event = event_store.event_by_id(store, event_id)
    if event is None:
        raise LookupError(f"event {event_id} does not exist")
    alert_key = f"alert:{event.key}"
    if role == "first":
        view = _alert_view(store, event, version)
        counts["alerts"] += outbox.enqueue(store, [outbox.NewMessage(
            key=alert_key, kind="alert", channel=settings.slack_channel, payload=blocks.alert_message(view),
            event_id=event_id, article_id=article_id)], run_id, now)
        return None
    article = event_store.scored_article(store, article_id, version)
    if article is None:
        log.warning("article %d of event %d has no verdict of model %s; no reply", article_id, event_id, version)
        return None
    counts["followups"] += outbox.enqueue(store, [outbox.NewMessage(
        key=f"followup:{event.key}:{article_id}", kind="followup", channel=settings.slack_channel,
        payload=blocks.followup_message(_ref(article), summarise(article.title, article.text, article.summary)),
        event_id=event_id, article_id=article_id, parent_key=alert_key)], run_id, now)
    return event


def compose_digest(settings: Settings, store: Store, version: str, threshold: float | None, run_id: str,
                   now: datetime) -> int:
    """Once per UTC day: a digest of stories scored just below the alert threshold, one line each.

    Each line is its own message in the digest's thread, so a reader's ✅/❌ names one article.
    """
    day = now.date().isoformat()
    if outbox.latest_digest_day(store) == day:
        return 0
    since = now - timedelta(days=1, hours=settings.alert_max_age_h)
    stories = event_store.uncertain_undigested(store, version, settings.review_min_score, since, DIGEST_MAX_LINES)
    if not stories:
        return 0
    digest_key = f"digest:{day}"
    messages = [outbox.NewMessage(key=digest_key, kind="digest", channel=settings.digest_channel,
                                  payload=blocks.digest_header_message(now.date(), len(stories), threshold or 0.5))]
    messages += [outbox.NewMessage(key=f"digest_line:{day}:{story.article_id}", kind="digest_line",
                                   channel=settings.digest_channel, payload=blocks.digest_line_message(_ref(story)),
                                   article_id=story.article_id, parent_key=digest_key) for story in stories]
    outbox.enqueue(store, messages, run_id, now)
    log.info("review digest for %s: %d uncertain stories (scores %.2f-%.2f) to %s", day, len(stories),
             stories[-1].score, stories[0].score, settings.digest_channel)
    return len(stories)


# --- delivering ------------------------------------------------------------------------------


class DryRunSink:
    """Without Slack: the exact payloads go to the log and, one JSON object a line, to the outbox file.

    Idempotent by outbox key, like Slack itself (where the key travels in the message metadata): a run
    killed between writing a payload and marking it dry-run finds the key in the file and does not
    write it again. An update (``chat.update``) may be written again when its payload changed."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._written: set[tuple[str, str]] | None = None

    def _already(self) -> set[tuple[str, str]]:
        if self._written is None:
            self._written = set()
            try:
                with self.path.open(encoding="utf-8", errors="replace") as handle:
                    for line in handle:
                        try:
                            record = json.loads(line)
                            self._written.add((record["key"], _payload_digest(record.get("payload"))))
                        except (ValueError, KeyError, TypeError):
                            continue  # a torn last line from a killed run: its key is written again
            except FileNotFoundError:
                pass
        return self._written

    def write(self, row: outbox.OutboxRow, method: str, thread_of: str | None) -> bool:
        """Write ``row``; False when the file already holds this key (with this payload)."""
        identity = (row.key, _payload_digest(row.payload))
        if identity in self._already():
            log.info("dry-run %s %s: already in %s (an earlier run wrote it); not written again", method, row.key,
                     self.path)
            return False
        record = {"at": datetime.now(UTC).isoformat(timespec="seconds"), "key": row.key, "kind": row.kind,
                  "method": method, "channel": row.channel, "thread_of": thread_of, "payload": row.payload}
        line = json.dumps(record, ensure_ascii=False, sort_keys=True)
        log.info("dry-run %s %s to %s: %s", method, row.key, row.channel, line)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(line + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        self._already().add(identity)
        return True


def _payload_digest(payload: Any) -> str:
    return hashlib.sha1(json.dumps(payload, ensure_ascii=False, sort_keys=True).encode()).hexdigest()


def _metadata(row: outbox.OutboxRow) -> dict[str, Any]:
    return {"event_type": METADATA_TYPE, "event_payload": {"key": row.key, "outbox_id": row.id}}


def deliver(settings: Settings, run_id: str, gateway: SlackGateway | None, *,
            now: datetime | None = None) -> dict[str, Any]:
    """Send every pending message, oldest first; a reply waits for its alert.

    Transient trouble (outage, rate limit beyond what we wait for) stops this run's sending and
    leaves the rest pending for the next run; a message Slack refuses is marked failed with the
    reason; errors that will not heal (bad token, unknown channel) raise SlackFatal.
    """
    store = Store(settings.db_url)
    now = _now(now)
    sink = DryRunSink(settings.outbox_path)  # reads the file only if a message is dry-run
    counts: Counter[str] = Counter()
    stopped: str | None = None
    for _ in range(3):  # a reply whose alert goes out in this pass is sent in the next one
        delivered_parent = False
        for row in _in_sending_order(store, outbox.deliverable(store, now)):
            parent = outbox.by_key(store, row.parent_key) if row.parent_key else None
            if row.parent_key and (parent is None or parent.state not in outbox.DELIVERED):
                continue  # its alert is not out yet (pending, or failed: re-queue it)
            try:
                outcome = _deliver_one(settings, store, gateway, sink, row, parent, now, run_id, counts)
            except SlackFatal:
                raise
            except Exception as exc:  # one message we cannot handle fails alone, with its reason
                log.exception("outbox %s (%s) could not be delivered", row.key, row.kind)
                outbox.mark_failed(store, row, f"internal-error: {type(exc).__name__}: {exc}"[:500])
                outcome = "failed"
            counts[outcome] += 1
            delivered_parent |= outcome in ("sent", "dry_run") and row.kind in ("alert", "digest")
            if outcome == "unavailable":
                stopped = outbox.by_key(store, row.key).last_error or "unavailable"  # type: ignore[union-attr]
                break
        if stopped is not None or not delivered_parent:
            break
    left = outbox.deliverable(store, now + timedelta(days=365))
    keys_left = {r.key for r in left}
    waiting = sum(1 for r in left if r.parent_key and r.parent_key in keys_left)
    stats: dict[str, Any] = {
        "sent": counts["sent"], "updated": counts["updated"], "dry_run": counts["dry_run"],
        "failed": counts["failed"], "pending": len(left) - waiting, "waiting": waiting,
        "mode": "dry-run" if gateway is None else "slack",
        "outbox_file": str(settings.outbox_path) if gateway is None else None, "unavailable": stopped}
    repo.record_step(store, run_id, "deliver", stats)
    log.info("outbox delivered (%s): %d posted, %d updated, %d dry-run, %d failed; %d pending, %d waiting for "
             "their alert", stats["mode"], stats["sent"], stats["updated"], stats["dry_run"], stats["failed"],
             stats["pending"], stats["waiting"])
    if stopped:
        log.warning("Slack unavailable (%s): %d message(s) stay pending for the next run", stopped, len(left))
    return stats


def _deliver_one(settings: Settings, store: Store, gateway: SlackGateway | None, sink: DryRunSink,
                 row: outbox.OutboxRow, parent: outbox.OutboxRow | None, now: datetime, run_id: str,
                 counts: Counter[str]) -> str:
    """Deliver one message; returns sent | updated | dry_run | failed | unavailable. Raises SlackFatal."""
    outbox.note_delivery_run(store, row, run_id)
    try:
        blocks.validate_message(row.payload)
    except ValueError as exc:
        outbox.mark_failed(store, row, f"invalid payload: {exc}")
        log.error("outbox %s refused before sending: %s", row.key, exc)
        return "failed"
    method = "chat.update" if row.kind == "update" else "chat.postMessage"
    if gateway is None or (parent is not None and parent.state == "dry_run"):
        sink.write(row, method, row.parent_key)
        outbox.mark_dry_run(store, row, now)
        return "dry_run"
    assert gateway is not None
    try:
        _send(store, gateway, row, parent)
        return "updated" if row.kind == "update" else "sent"
    except SlackMethodUnsupported as exc:
        if row.kind != "update":
            raise
        # An edit is a nicety (the outlet count): a workspace or stand-in without chat.update loses nothing.
        outbox.mark_failed(store, row, str(exc))
        log.warning("alert update %s not possible: %s", row.key, exc)
        return "failed"
    except SlackRejected as exc:
        outbox.mark_failed(store, row, str(exc))
        log.error("Slack refused outbox %s (%s): %s", row.key, row.kind, exc)
        return "failed"
    except SlackUnavailable as exc:
        wait = exc.retry_after if exc.retry_after and exc.retry_after > settings.slack_max_wait_s else None
        state = "sending" if method == "chat.postMessage" and exc.ambiguous else "pending"
        outbox.mark_retry(store, row, str(exc), state, now + timedelta(seconds=wait) if wait else None)
        log.warning("Slack unavailable (%s); outbox %s and the rest stay pending for the next run", exc, row.key)
        return "unavailable"
    except SlackFatal as exc:
        outbox.mark_retry(store, row, str(exc), row.state)
        repo.record_step(store, run_id, "deliver", {**counts, "error": str(exc), "mode": "slack",
                                                    "pending": len(outbox.deliverable(store))})
        raise


def _channel_known(store: Store, row: outbox.OutboxRow) -> bool:
    return bool(row.parent_key or is_channel_id(row.channel) or outbox.channel_id_for(store, row.channel))


def _in_sending_order(store: Store, rows: list[outbox.OutboxRow]) -> list[outbox.OutboxRow]:
    """Oldest first, except that a maybe-posted top-level message whose channel ID we do not know yet
    goes last: another post of this run will tell us the ID, and then the channel can be searched."""
    blind = [r for r in rows if r.state == "sending" and not _channel_known(store, r)]
    return [r for r in rows if r not in blind] + blind


def _send(store: Store, gateway: SlackGateway, row: outbox.OutboxRow, parent: outbox.OutboxRow | None) -> None:
    if row.kind == "update":
        assert parent is not None and parent.slack_channel and parent.slack_ts
        gateway.update(parent.slack_channel, parent.slack_ts, row.payload)
        outbox.mark_sent(store, row, parent.slack_channel, parent.slack_ts)
        return
    thread_ts = parent.slack_ts if parent is not None else None
    if row.state == "sending":
        found = _reconcile(store, gateway, row, parent)
        if found is not None:
            outbox.mark_sent(store, row, found.channel, found.ts)
            log.info("outbox %s was already posted (ts %s): recorded, not posted again", row.key, found.ts)
            return
    outbox.mark_sending(store, row)
    started = time.monotonic()
    posted = gateway.post(row.channel, row.payload, thread_ts=thread_ts, metadata=_metadata(row))
    outbox.mark_sent(store, row, posted.channel, posted.ts)
    log.info("posted outbox %s (%s) to %s ts=%s%s in %.1fs", row.key, row.kind, posted.channel, posted.ts,
             f" in thread {thread_ts}" if thread_ts else "", time.monotonic() - started)


def _reconcile(store: Store, gateway: SlackGateway, row: outbox.OutboxRow,
               parent: outbox.OutboxRow | None):  # type: ignore[no-untyped-def]
    """A previous attempt may have posted this message: look for it by its outbox key."""
    channel = (parent.slack_channel if parent else None) or outbox.channel_id_for(store, row.channel)
    if channel is None and is_channel_id(row.channel):
        channel = row.channel
    if channel is None:
        log.warning("outbox %s may already be in %s, but that channel's ID is not known yet, so it cannot be "
                    "searched; posting it (set WATCH_SLACK_CHANNEL to the channel ID to rule this out)",
                    row.key, row.channel)
        return None
    oldest = (row.updated_at or row.created_at) - timedelta(minutes=10)
    try:
        return gateway.find_posted(channel, METADATA_TYPE, row.key, oldest=oldest.timestamp(),
                                   thread_ts=parent.slack_ts if parent else None)
    except SlackRejected as exc:
        log.warning("cannot check whether outbox %s was already posted (%s); posting it", row.key, exc)
        return None
