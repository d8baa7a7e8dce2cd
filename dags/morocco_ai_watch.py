"""morocco_ai_watch: poll news feeds, extract new articles, classify them, group the relevant ones
into partnership events and alert Slack once per event (follow-up coverage in the alert's thread).

Thin by design: every task is a few lines calling :mod:`aiwatch.cycle`. Feed polling is mapped,
one task instance per feed named after it, so an operator sees which feed fails; a failed feed
does not stop the cycle (downstream steps run with ``all_done`` and process what healthy feeds
brought). Tasks pass only names and counts through XCom: the store holds the data, and the Slack
outbox in it makes re-runs and retries post nothing twice. A failed task notifies the ops channel.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta

from airflow.sdk import dag, get_current_context, task
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException
from aiwatch.airflow_bridge import notify_failure

DAG_ID = "morocco_ai_watch"


def _schedule() -> str | None:
    value = os.environ.get("WATCH_SCHEDULE", "*/20 * * * *").strip()
    return None if value.lower() in {"", "none", "off"} else value


DEFAULT_ARGS = {
    "owner": "morocco-ai-watch",
    "retries": 2,
    "retry_delay": timedelta(seconds=30),
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(minutes=10),
    "execution_timeout": timedelta(minutes=30),
    "on_failure_callback": notify_failure,
}


@dag(
    dag_id=DAG_ID,
    schedule=_schedule(),
    start_date=datetime(2025, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["morocco-ai-watch", "news"],
    doc_md=__doc__,
)
def morocco_ai_watch():
    @task
    def prepare() -> list:
        """Migrate the store, validate the feeds file, and hand the mapper one feed name per task
        instance, or groups of WATCH_FEEDS_PER_TASK names (names only: a feed URL may carry
        credentials, and XCom values are shown in the UI). Paused feeds are left out."""
        from aiwatch import cycle
        from aiwatch.config import Settings

        settings = Settings.from_env()
        names = [feed.name for feed in cycle.prepare(settings)]
        return names if settings.feeds_per_task <= 1 else cycle.feed_groups(names, settings.feeds_per_task)

    @task(map_index_template="{{ feed_name }}", max_active_tis_per_dag=8)
    def poll_feed(feed: str | list[str]) -> dict:
        """Poll one feed (conditional GET) and store its new entries; or a group of feeds, each alone
        (one log line and one health record per feed), failing the task when any of them failed."""
        from aiwatch import cycle
        from aiwatch.config import Settings

        context = get_current_context()
        settings = Settings.from_env()
        if isinstance(feed, list):
            context["feed_name"] = cycle.group_label(feed)  # type: ignore[typeddict-unknown-key]
            outcome = cycle.poll_group(settings, feed, context["run_id"])
            if outcome.failed:  # each feed's own fault, recorded with its back-off: retrying would not help
                raise AirflowFailException(f"{len(outcome.failed)} of {len(feed)} feeds failed (the others are "
                                           f"stored): " + "; ".join(outcome.failed.values()))
            if outcome.skipped and not outcome.ok:
                raise AirflowSkipException("every feed of this task is waiting: " + "; ".join(outcome.skipped.values()))
            return outcome.as_dict()
        context["feed_name"] = feed  # type: ignore[typeddict-unknown-key]
        try:
            return cycle.poll_feed(settings, cycle.feed_named(settings, feed), context["run_id"])
        except cycle.FeedFailed as exc:
            # The feed's own fault: recorded with back-off in the store; retrying now would not help.
            raise AirflowFailException(str(exc)) from None
        except cycle.FeedSkipped as exc:
            raise AirflowSkipException(str(exc)) from None

    @task(trigger_rule="all_done")
    def fetch_pages() -> dict:
        """Fetch and extract the pages of new articles, whatever happened to individual feeds."""
        from aiwatch import cycle
        from aiwatch.config import Settings

        return cycle.fetch_and_extract(Settings.from_env(), get_current_context()["run_id"])

    @task
    def classify() -> dict:
        """Score new articles with the live model (training the default one on first use)."""
        from aiwatch.classify import ModelUnavailable, classify_new
        from aiwatch.config import Settings

        try:
            return classify_new(Settings.from_env(), get_current_context()["run_id"])
        except ModelUnavailable as exc:  # a broken registry does not heal by retrying: say what to do
            raise AirflowFailException(str(exc)) from None

    @task
    def group_events() -> dict:
        """Place relevant articles into partnership events (same partners, same window: one event)."""
        from aiwatch import alerts
        from aiwatch.config import Settings

        return alerts.group_events(Settings.from_env(), get_current_context()["run_id"])

    @task
    def compose_alerts() -> dict:
        """Write alerts, thread replies, alert updates and the daily review digest into the outbox."""
        from aiwatch import alerts
        from aiwatch.config import Settings

        return alerts.compose(Settings.from_env(), get_current_context()["run_id"])

    @task(trigger_rule="all_done")
    def send_alerts() -> dict:
        """Deliver the outbox to Slack (or dry-run without a Slack connection); never twice. Runs even when
        an earlier step failed: messages pending from earlier runs do not depend on this run's steps."""
        from aiwatch import alerts
        from aiwatch.airflow_bridge import slack_gateway
        from aiwatch.config import Settings
        from aiwatch.slack.gateway import SlackFatal

        settings = Settings.from_env()
        try:
            return alerts.deliver(settings, get_current_context()["run_id"], slack_gateway(settings))
        except SlackFatal as exc:
            # A bad token or channel will not heal by retrying: fail now, loudly. Alerts stay pending.
            raise AirflowFailException(
                f"Slack refused us ({exc}); check the {settings.slack_conn_id!r} connection's token and "
                f"the channel {settings.slack_channel!r}. Alerts stay pending in the outbox.") from None

    @task(trigger_rule="all_done")
    def summarise(feeds: list[str] | None = None) -> dict:
        """Log the cycle's summary; fail loudly if a core step did not finish or the feeds are down
        (every feed, or more than WATCH_MAX_FAILED_FEEDS_SHARE of them, failed or in back-off)."""
        import logging

        from aiwatch import cycle
        from aiwatch.config import Settings

        run_id = get_current_context()["run_id"]
        names = [name for item in feeds for name in (item if isinstance(item, list) else [item])] if feeds else None
        summary = cycle.summarise(Settings.from_env(), run_id, names)
        logging.getLogger("aiwatch.summary").info("\n%s", summary.text())
        if summary.missing_steps:
            raise AirflowFailException(f"cycle incomplete: {', '.join(summary.missing_steps)} did not finish")
        if summary.feeds_down:  # a cycle that could see no news must not look green
            raise AirflowFailException(f"feeds down: {summary.feeds_down}")
        return summary.as_dict()

    feeds = prepare()
    polled = poll_feed.expand(feed=feeds)
    pages = fetch_pages()
    polled >> pages >> classify() >> group_events() >> compose_alerts() >> send_alerts() >> summarise(feeds)


morocco_ai_watch()
