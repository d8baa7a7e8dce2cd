"""One monitoring cycle as plain functions: the DAG calls them step by step, `make demo`,
the benchmarks and the tests call :func:`run_cycle` whole.

Each step reads what it needs from the store and writes its results and counts back, keyed by
the run id, so a retried or re-run step changes nothing twice and the summary can be rebuilt
from the store alone. A bad item fails alone: one feed, page, article, event or message that
cannot be processed is recorded with its reason and the step goes on; a step that fails whole is
recorded too, and the later steps still run (messages pending from earlier runs are delivered
whatever happened to this run's classification).
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiwatch import alerts, feed_health
from aiwatch.classify import classify_new
from aiwatch.config import Feed, Settings, load_feeds
from aiwatch.feeds import poll
from aiwatch.fetcher import Fetcher, FetchLimits, system_resolver
from aiwatch.pages import HostGate, iter_pages
from aiwatch.slack.gateway import SlackGateway
from aiwatch.store import Store, repo, upgrade
from aiwatch.store.lock import exclusive
from aiwatch.store.repo import PageOutcome
from aiwatch.urls import host_of, redact, shorten

log = logging.getLogger(__name__)

#: Steps after polling that every healthy cycle records; a missing one means the step failed.
CORE_STEPS = ("fetch", "classify", "group", "compose", "deliver")
#: Page outcomes stored per transaction while the rest of the cycle's pages are still being extracted.
SAVE_BATCH = 50


class FeedFailed(Exception):
    """A feed could not be polled this cycle; recorded in the store, other feeds unaffected."""


class FeedSkipped(Exception):
    """A feed is in back-off after failures (or its host asked us to wait) and was not polled."""


def open_store(settings: Settings) -> Store:
    return Store(settings.db_url)


def make_fetcher(settings: Settings, max_bytes: int) -> Fetcher:
    resolver = None
    if settings.static_hosts:
        static = dict(settings.static_hosts)

        def resolver(host: str, port: int) -> list[str]:
            return [static[host]] if host in static else system_resolver(host, port)

    return Fetcher(FetchLimits(
        timeout_s=settings.http_timeout_s, connect_timeout_s=settings.connect_timeout_s, max_bytes=max_bytes,
        max_redirects=settings.max_redirects, user_agent=settings.user_agent,
        allow_private=settings.allow_private_networks, private_allowlist=settings.private_allowlist,
    ), resolver=resolver)


@contextmanager
def _fetcher(settings: Settings, max_bytes: int, given: Fetcher | None) -> Iterator[Fetcher]:
    """The caller's fetcher (left open), or a new one closed when the step ends."""
    if given is not None:
        yield given
        return
    with make_fetcher(settings, max_bytes) as fetcher:
        yield fetcher


def new_run_id(now: datetime | None = None) -> str:
    return f"cycle__{(now or datetime.now(UTC)):%Y-%m-%dT%H:%M:%S.%f}"


# --- steps -------------------------------------------------------------------------------------


def prepare(settings: Settings) -> list[Feed]:
    """Migrate the store, read and validate the feeds file, and register the feeds."""
    feeds = load_feeds(settings.feeds_file)
    store = open_store(settings)
    store.check()
    upgrade(store)
    repo.sync_feeds(store, feeds)
    paused = repo.paused_feeds(store)
    for feed in feeds:
        if feed.name in paused:
            since, who = paused[feed.name]
            log.info("feed=%s paused by %s since %s: not polled until resumed in the Feeds view", feed.name,
                     who or "an operator", since.isoformat(timespec="minutes"))
    active = [feed for feed in feeds if feed.name not in paused]
    log.info("cycle prepared: %d feeds from %s (%d paused), store %s", len(active), settings.feeds_file,
             len(feeds) - len(active), store.engine.url.render_as_string(hide_password=True))
    return active


def feed_named(settings: Settings, name: str) -> Feed:
    """The configured feed ``name`` as ``prepare`` registered it (tasks pass names, never URLs:
    a feed URL may carry credentials, and XCom values are shown in the UI)."""
    feed = repo.feed_config(open_store(settings), name)
    if feed is None:
        raise FeedFailed(f"feed={name} is not registered in the store; is it still in {settings.feeds_file}?")
    return feed


def feed_groups(names: Sequence[str], per_task: int) -> list[list[str]]:
    """The feeds cut into consecutive groups of at most ``per_task`` (``WATCH_FEEDS_PER_TASK``), in the
    feed list's order: one task instance polls one group. With 1, each feed is its own group."""
    size = max(1, per_task)
    return [list(names[i:i + size]) for i in range(0, len(names), size)]


def group_label(names: Sequence[str]) -> str:
    """How a group's task instance is named in Airflow's UI: its feeds, comma-separated (Airflow keeps
    250 characters of it; the operator's view reads the names back to link each feed to its log)."""
    label = ", ".join(names)
    return label if len(label) <= 250 else label[:248].rsplit(", ", 1)[0] + ", …"


@dataclass(frozen=True)
class GroupOutcome:
    """What polled feeds did (one task instance's group, or a whole cycle's): every feed's result, in order."""

    ok: dict[str, dict[str, Any]]
    failed: dict[str, str]
    skipped: dict[str, str]

    def as_dict(self) -> dict[str, Any]:
        return {"feeds": len(self.ok) + len(self.failed) + len(self.skipped), "ok": sorted(self.ok),
                "failed": self.failed, "skipped": self.skipped,
                "new": sum(int(stats.get("new", 0) or 0) for stats in self.ok.values())}


def poll_feeds(settings: Settings, names: Sequence[str], run_id: str,
               known: Mapping[str, Feed] | None = None) -> GroupOutcome:
    """Poll feeds in parallel threads (``WATCH_FETCH_WORKERS`` at most), each exactly as
    :func:`poll_feed` does alone: its own record, back-off and log line; a feed that fails fails
    alone. ``known`` holds the feeds already read (else each is read from the store by name)."""

    def one(name: str) -> tuple[str, str, Any]:
        try:
            feed = known[name] if known and name in known else feed_named(settings, name)
            return name, "ok", poll_feed(settings, feed, run_id)
        except FeedFailed as exc:
            return name, "failed", str(exc)
        except FeedSkipped as exc:
            return name, "skipped", str(exc)
        except Exception as exc:  # poll_feed records its own surprises; this is the store being unreachable
            log.exception("feed=%s: unexpected error while polling", name)
            return name, "failed", f"feed={name} internal-error: {type(exc).__name__}: {exc}"[:500]

    outcome = GroupOutcome({}, {}, {})
    with ThreadPoolExecutor(max_workers=max(1, min(settings.fetch_workers, len(names) or 1))) as pool:
        for name, kind, value in pool.map(one, names):   # in the given order
            getattr(outcome, kind)[name] = value
    return outcome


def poll_group(settings: Settings, names: Sequence[str], run_id: str) -> GroupOutcome:
    """One task instance's group of feeds (:func:`poll_feeds`), with one line saying how it went; the
    caller decides what the task shows (it fails, naming them, when any feed failed)."""
    outcome = poll_feeds(settings, names, run_id)
    log.info("polled %d feeds in this task: %d ok, %d failed (%s), %d skipped (%s)", len(names), len(outcome.ok),
             len(outcome.failed), ", ".join(outcome.failed) or "none", len(outcome.skipped),
             ", ".join(outcome.skipped) or "none")
    return outcome


def poll_feed(settings: Settings, feed: Feed, run_id: str, *, now: datetime | None = None,
              fetcher: Fetcher | None = None) -> dict[str, Any]:
    """Poll one feed and store its new entries. Raises FeedFailed / FeedSkipped after recording them.

    Anything unexpected (a bug, an entry the store refuses) fails this feed alone: it is recorded as
    the feed's failure with its reason, like an HTTP error, and raised as FeedFailed."""
    now = now or datetime.now(UTC)
    try:
        return _poll_feed(settings, feed, run_id, now, fetcher)
    except (FeedFailed, FeedSkipped):
        raise
    except Exception as exc:
        from aiwatch.feeds import PollResult

        error = f"internal-error: {type(exc).__name__} while polling {shorten(redact(feed.url), 150)}: {exc}"[:500]
        log.exception("feed=%s: %s", feed.name, error)
        try:
            state = repo.record_poll(open_store(settings), run_id, feed,
                                     PollResult(feed.name, "failed", reason="internal-error", error=error), None,
                                     backoff_base_s=settings.feed_backoff_base_s,
                                     backoff_cap_s=settings.feed_backoff_cap_s, now=now)
            error += f"; {state.consecutive_failures} consecutive failure(s)"
        except Exception:  # the store itself is the problem: the task log has both tracebacks
            log.exception("feed=%s: the failure could not be recorded in the store either", feed.name)
        raise FeedFailed(f"feed={feed.name} failed ({error})") from None


def _poll_feed(settings: Settings, feed: Feed, run_id: str, now: datetime, fetcher: Fetcher | None
               ) -> dict[str, Any]:
    store = open_store(settings)
    snapshot = repo.feed_snapshot(store, feed.name)
    if snapshot and snapshot.next_attempt_at and snapshot.next_attempt_at > now and not snapshot.poll_requested:
        reason = (f"feed={feed.name} in back-off after {snapshot.consecutive_failures} failures; next attempt "
                  f"{snapshot.next_attempt_at.isoformat(timespec='seconds')} (last error: {snapshot.last_error})")
        repo.record_skip(store, run_id, feed, reason, now)
        log.warning(reason)
        raise FeedSkipped(reason)
    host = host_of(feed.url)
    wait_until = repo.host_not_before(store, host, now)
    if wait_until is not None:
        reason = f"feed={feed.name} host {host} asked us to wait until {wait_until.isoformat(timespec='seconds')}"
        repo.record_skip(store, run_id, feed, reason, now)
        log.warning(reason)
        raise FeedSkipped(reason)

    with _fetcher(settings, settings.max_feed_bytes, fetcher) as client:
        result = poll(feed, client, etag=snapshot.etag if snapshot else None,
                      last_modified=snapshot.last_modified if snapshot else None,
                      max_bytes=settings.max_feed_bytes, now=now, parse_timeout_s=settings.feed_parse_timeout_s)
    counts = repo.add_entries(store, feed, result.entries, run_id, now) if result.status == "ok" else None
    if result.status == "failed" and result.retry_after and result.http_status in (429, 503):
        repo.set_host_backoff(store, host, result.retry_after, f"HTTP {result.http_status} on {redact(feed.url)}", now)
    state = repo.record_poll(store, run_id, feed, result, counts, backoff_base_s=settings.feed_backoff_base_s,
                             backoff_cap_s=settings.feed_backoff_cap_s, now=now)
    for warning in result.warnings:
        log.warning("feed=%s url=%s: %s", feed.name, shorten(redact(feed.url), 150), warning)
    stats = {"feed": feed.name, "status": result.status, "http_status": result.http_status,
             "entries": len(result.entries), **(counts.as_dict() if counts else {})}
    if result.status == "failed":
        message = (f"feed={feed.name} url={shorten(redact(feed.url), 150)} failed ({result.reason}): {result.error}; "
                   f"{state.consecutive_failures} consecutive failure(s), next attempt "
                   f"{(state.next_attempt_at or now).isoformat(timespec='seconds')}")
        log.error(message)
        raise FeedFailed(message)
    log.info("feed=%s status=%s http=%s entries=%d new=%d updated=%d duplicates=%d known=%d 304=%s",
             feed.name, result.status, result.http_status, len(result.entries), counts.new if counts else 0,
             counts.updated if counts else 0, counts.duplicates if counts else 0, counts.known if counts else 0,
             "yes" if result.status == "unchanged" else "no")
    return stats


def _dated_articles(store: Store, ids: list[int]) -> set[int]:
    """Articles the feed already dated: the page's date would be ignored (see repo.save_pages), so
    their pages skip the date search (about 13% of the extraction time)."""
    from sqlalchemy import select

    from aiwatch.store.models import Article

    def work(session: Any) -> set[int]:
        dated: set[int] = set()
        for start in range(0, len(ids), 500):
            dated.update(session.scalars(select(Article.id).where(
                Article.id.in_(ids[start:start + 500]), Article.published_at.is_not(None))))
        return dated

    return store.read(work) if ids else set()


def fetch_and_extract(settings: Settings, run_id: str, *, fetcher: Fetcher | None = None) -> dict[str, Any]:
    """Fetch and extract every page not yet fetched (bounded per cycle), storing text or the reason."""
    store = open_store(settings)
    started = time.monotonic()
    waiting = repo.hosts_in_backoff(store)
    gate = HostGate(settings.per_host_limit, {h: t.timestamp() for h, t in waiting.items()})
    claim = repo.claim_pages(store, settings.max_pages_per_cycle, skip_hosts=waiting,
                             max_attempts=settings.max_page_attempts)
    jobs = claim.jobs
    dated = _dated_articles(store, [job.article_id for job in jobs])
    outcomes: list[PageOutcome] = []
    saved = {"ok": 0, "failed": 0, "deferred": 0, "duplicate": 0, "given_up": claim.given_up}

    def save(batch: list[PageOutcome]) -> None:
        for key, count in repo.save_pages(store, batch, max_attempts=settings.max_page_attempts).items():
            saved[key] = saved.get(key, 0) + count

    # Pages are stored in order, a batch at a time, while later pages are still being extracted:
    # storing (and fingerprinting) overlaps extraction, and a crash loses at most one batch.
    with _fetcher(settings, settings.max_page_bytes, fetcher) as client:
        for outcome in iter_pages(jobs, client, workers=settings.fetch_workers, per_host=settings.per_host_limit,
                                  max_bytes=settings.max_page_bytes, gate=gate, dated=dated):
            outcomes.append(outcome)
            if len(outcomes) % SAVE_BATCH == 0:
                save(outcomes[-SAVE_BATCH:])
        if len(outcomes) % SAVE_BATCH:
            save(outcomes[-(len(outcomes) % SAVE_BATCH):])
    for host, until in gate.not_before.items():
        if host not in waiting and until > time.time():
            repo.set_host_backoff(store, host, until - time.time(), "Retry-After on an article page")
    reasons = Counter((o.error or "unknown").split(":", 1)[0] for o in outcomes if o.status == "failed")
    refused = repo.refused_at_ingest(store, run_id)  # links that could not even be tried (bad-url)
    reasons.update(refused)
    saved["failed"] += sum(refused.values())
    retry_reasons = Counter((o.error or "unknown").split(":", 1)[0] for o in outcomes
                            if o.status == "deferred" and o.attempted)
    stats = {"attempted": len(jobs), "extracted": saved["ok"], "partial": saved["failed"],
             "deferred": saved["deferred"], "duplicates": saved["duplicate"], "given_up": saved["given_up"],
             "failure_reasons": dict(reasons), "retry_reasons": dict(retry_reasons),
             "hosts_waiting": sorted(waiting), "seconds": round(time.monotonic() - started, 2)}
    repo.record_step(store, run_id, "fetch", stats)
    log.info("pages attempted=%d extracted=%d partial=%d deferred=%d given-up=%d duplicates=%d in %.1fs",
             len(jobs), saved["ok"], saved["failed"], saved["deferred"], saved["given_up"], saved["duplicate"],
             stats["seconds"])
    return stats


# --- summary -----------------------------------------------------------------------------------


@dataclass
class CycleSummary:
    run_id: str
    feeds_total: int = 0
    feeds_ok: int = 0
    feeds_unchanged: int = 0
    feeds_failed: dict[str, str] = field(default_factory=dict)
    feeds_skipped: dict[str, str] = field(default_factory=dict)
    new_articles: int = 0
    updated_articles: int = 0
    duplicate_articles: int = 0
    extracted: int = 0
    partial: int = 0
    deferred: int = 0
    given_up: int = 0
    partial_reasons: dict[str, int] = field(default_factory=dict)
    retry_reasons: dict[str, int] = field(default_factory=dict)
    classified: int = 0
    rescored: int = 0
    classify_errors: int = 0
    relevant: int = 0
    model_version: str | None = None
    alerts: int | None = None
    new_events: int = 0
    followup_articles: int = 0
    alerts_composed: int = 0
    replies_composed: int = 0
    updates_composed: int = 0
    digest_lines: int = 0
    delivery_mode: str | None = None
    posted: int = 0
    updated: int = 0
    dry_run: int = 0
    pending: int = 0
    failed: int = 0
    slack_unavailable: str | None = None
    slack_error: str | None = None
    outbox_file: str | None = None
    compose_errors: int = 0
    group_errors: int = 0
    #: Ops notices queued this cycle for feeds down longer than WATCH_FEED_OUTAGE_ALERT_HOURS.
    feed_outages: int = 0
    #: Why this cycle's feeds amount to an outage (the run fails), or None.
    feeds_down: str | None = None
    missing_steps: list[str] = field(default_factory=list)
    step_errors: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def text(self) -> str:
        lines = [f"Morocco AI Watch: cycle {self.run_id}"]
        polled = self.feeds_total - len(self.feeds_skipped)
        lines.append(
            f"feeds: {polled} polled: {self.feeds_ok} ok, {self.feeds_unchanged} unchanged (304), "
            f"{len(self.feeds_failed)} failed; {len(self.feeds_skipped)} skipped (back-off)")
        if self.feeds_down:
            lines.append(f"  FEEDS DOWN: {self.feeds_down}")
        for name, error in sorted(self.feeds_failed.items()):
            lines.append(f"  failed  {name}: {error}")
        for name, reason in sorted(self.feeds_skipped.items()):
            lines.append(f"  skipped {name}: {reason}")
        lines.append(f"articles: {self.new_articles} new, {self.updated_articles} updated headlines, "
                     f"{self.duplicate_articles} duplicates ignored")
        reasons = ", ".join(f"{count} {reason}" for reason, count in sorted(self.partial_reasons.items()))
        retries = ", ".join(f"{count} {reason}" for reason, count in sorted(self.retry_reasons.items()))
        lines.append(f"pages: {self.extracted} extracted, {self.partial} partial (feed title and summary kept"
                     + (f": {reasons}" if reasons else "") + f"), {self.deferred} deferred to a later cycle"
                     + (f" ({retries})" if retries else "")
                     + (f", {self.given_up} given up after repeated failures (judged on feed text)"
                        if self.given_up else ""))
        lines.append(f"classified: {self.classified} articles with model {self.model_version or '-'}"
                     + (f" ({self.rescored} re-scored after their text changed)" if self.rescored else "")
                     + f", {self.relevant} relevant (new Moroccan AI partnership)"
                     + (f"; {self.classify_errors} could not be scored (see the classify log)"
                        if self.classify_errors else ""))
        lines.append(f"events: {self.new_events} new partnership events, {self.followup_articles} follow-up "
                     f"articles; composed {self.alerts_composed} alerts, {self.replies_composed} thread replies, "
                     f"{self.updates_composed} alert updates, {self.digest_lines} review digest lines"
                     + (f"; {self.group_errors + self.compose_errors} item(s) failed alone (see the logs)"
                        if self.group_errors + self.compose_errors else "")
                     + (f"; {self.feed_outages} feed outage notice(s) for the ops channel" if self.feed_outages else ""))
        lines.append(self._alerts_line())
        if self.missing_steps:
            lines.append(f"INCOMPLETE: step(s) {', '.join(self.missing_steps)} did not finish; see their task logs")
            for step, error in sorted(self.step_errors.items()):
                lines.append(f"  {step}: {error[:700]}")
        return "\n".join(lines)

    def _alerts_line(self) -> str:
        if self.delivery_mode is None:
            return "alerts: not delivered (the send step did not run)"
        if self.slack_error:
            return (f"alerts: NOT SENT: Slack refused us ({self.slack_error[:200]}); {self.pending} message(s) "
                    "wait in the outbox until the token or channel is fixed")
        if self.delivery_mode == "dry-run":
            line = (f"alerts: dry-run (no Slack connection): {self.dry_run} message(s) written to the log and "
                    f"{self.outbox_file}")
        else:
            line = f"alerts: {self.posted} posted to Slack, {self.updated} alert(s) updated"
        if self.pending:
            line += f"; {self.pending} pending for the next run"
            if self.slack_unavailable:
                line += f" (Slack unavailable: {self.slack_unavailable[:200]})"
        if self.failed:
            line += f"; {self.failed} refused by Slack (see the outbox and the send_alerts log)"
        return line


def summarise(settings: Settings, run_id: str, feed_names: list[str] | None = None) -> CycleSummary:
    """Rebuild the cycle's summary from the store and record it.

    ``feed_names`` are the feeds the cycle meant to poll: one with no record crashed before it
    could write one, and is reported as failed rather than silently left out.
    """
    store = open_store(settings)
    steps, polls = repo.run_record(store, run_id)
    names = list(feed_names) if feed_names is not None else [p.feed for p in polls]
    summary = CycleSummary(run_id=run_id, feeds_total=len(set(names) | {p.feed for p in polls}))
    for name in sorted(set(names) - {p.feed for p in polls}):
        summary.feeds_failed[name] = "no poll recorded: the task crashed or was killed; see its log"
    for entry in polls:
        if entry.status == "ok":
            summary.feeds_ok += 1
        elif entry.status == "unchanged":
            summary.feeds_unchanged += 1
        elif entry.status == "failed":
            summary.feeds_failed[entry.feed] = (entry.error or entry.reason or "unknown error")[:300]
        elif entry.status == "skipped":
            summary.feeds_skipped[entry.feed] = (entry.error or "back-off")[:300]
        summary.new_articles += entry.new
        summary.updated_articles += entry.updated
        summary.duplicate_articles += entry.duplicates
    fetch = steps.get("fetch", {})
    summary.extracted = fetch.get("extracted", 0)
    summary.partial = fetch.get("partial", 0)
    summary.deferred = fetch.get("deferred", 0)
    summary.given_up = fetch.get("given_up", 0)
    summary.partial_reasons = fetch.get("failure_reasons", {})
    summary.retry_reasons = fetch.get("retry_reasons", {})
    summary.duplicate_articles += fetch.get("duplicates", 0)
    classify = steps.get("classify", {})
    summary.classified = classify.get("classified", 0)
    summary.rescored = classify.get("rescored", 0)
    summary.classify_errors = classify.get("errors", 0)
    summary.relevant = classify.get("relevant", 0)
    summary.model_version = classify.get("model_version")
    group = steps.get("group", {})
    summary.new_events = group.get("new_events", 0)
    summary.followup_articles = group.get("followups", 0) + group.get("same_outlet", 0)
    summary.group_errors = group.get("errors", 0)
    compose = steps.get("compose", {})
    summary.alerts_composed = compose.get("alerts", 0)
    summary.replies_composed = compose.get("followups", 0)
    summary.updates_composed = compose.get("updates", 0)
    summary.digest_lines = compose.get("digest_lines", 0)
    summary.compose_errors = compose.get("errors", 0)
    summary.feed_outages = compose.get("feed_outages", 0)
    summary.feeds_down = feed_health.cycle_outage(summary.feeds_total, len(summary.feeds_failed),
                                                  len(summary.feeds_skipped), settings.max_failed_feeds_share)
    if "deliver" in steps:
        deliver = steps["deliver"]
        summary.delivery_mode = deliver.get("mode")
        summary.posted, summary.updated = deliver.get("sent", 0), deliver.get("updated", 0)
        summary.dry_run, summary.failed = deliver.get("dry_run", 0), deliver.get("failed", 0)
        summary.pending = deliver.get("pending", 0) + deliver.get("waiting", 0)
        summary.slack_unavailable = deliver.get("unavailable")
        summary.slack_error = deliver.get("error")
        summary.outbox_file = deliver.get("outbox_file")
        summary.alerts = summary.posted + summary.dry_run
    summary.missing_steps = [step for step in CORE_STEPS if step not in steps]
    summary.step_errors = {step: error for step, error in (steps.get("errors") or {}).items()
                           if step in summary.missing_steps}
    repo.record_step(store, run_id, "summary", summary.as_dict())
    return summary


def record_step_error(settings: Settings, run_id: str, step: str, exc: BaseException) -> None:
    """Keep why a whole step failed, for the summary (the traceback is in the log)."""
    try:
        store = open_store(settings)
        steps, _ = repo.run_record(store, run_id)
        errors = dict(steps.get("errors") or {})
        errors[step] = redact(f"{type(exc).__name__}: {exc}")[:1000]
        repo.record_step(store, run_id, "errors", errors)
    except Exception:
        log.exception("could not record the failure of step %s", step)


def run_cycle(settings: Settings, run_id: str | None = None, gateway: SlackGateway | None = None,
              *, lock_wait_s: float = 0.0) -> CycleSummary:
    """A whole cycle in one process (no Airflow): polls in parallel threads, then pages, classification,
    events and alerts (to ``gateway``, or dry-run without one), then the summary.

    One cycle at a time per store (:func:`aiwatch.store.lock.exclusive`; a second one raises
    StoreBusy). Every step runs whatever happened to the one before: delivery in particular sends
    messages pending from earlier runs even when this run's classification failed."""
    run_id = run_id or new_run_id()
    feeds = prepare(settings)
    with exclusive(open_store(settings), "cycle", wait_s=lock_wait_s):
        return _run_steps(settings, run_id, gateway, feeds)


def _run_steps(settings: Settings, run_id: str, gateway: SlackGateway | None, feeds: list[Feed]) -> CycleSummary:
    # Failures are recorded in the store and logged per feed; the summary reports them.
    poll_feeds(settings, [f.name for f in feeds], run_id, {f.name: f for f in feeds})
    steps = (("fetch", lambda: fetch_and_extract(settings, run_id)),
             ("classify", lambda: classify_new(settings, run_id)),
             ("group", lambda: alerts.group_events(settings, run_id)),
             ("compose", lambda: alerts.compose(settings, run_id)),
             ("deliver", lambda: alerts.deliver(settings, run_id, gateway)))
    for name, step in steps:
        try:
            step()
        except Exception as exc:
            log.exception("step %s failed; the later steps still run and the summary says the cycle is incomplete",
                          name)
            record_step_error(settings, run_id, name, exc)
    summary = summarise(settings, run_id, [f.name for f in feeds])
    log.info("%s", summary.text())
    return summary
