"""The one place the library meets Airflow: Assets shared by DAGs, the Slack connection, and the
failure notifier every DAG uses.

Kept small and imported only by DAG files and tasks, so the rest of ``aiwatch`` stays free of
Airflow and unit-testable without it. Heavy imports happen inside the functions: DAG files are
parsed often and must do no work at import.
"""

from __future__ import annotations

import logging
from typing import Any

from airflow.sdk import Asset

from aiwatch.config import Settings

log = logging.getLogger(__name__)

#: Updated by every task that records human labels; schedules retrain_classifier.
LABELS_ASSET = Asset(name="morocco_ai_watch_labels", uri="aiwatch://labels")


def _not_found_errors() -> tuple[type[BaseException], ...]:
    from airflow.sdk.exceptions import AirflowNotFoundException as SdkNotFound

    try:
        from airflow.exceptions import AirflowNotFoundException as CoreNotFound
    except ImportError:  # pragma: no cover - task-sdk only installs
        return (SdkNotFound,)
    return (SdkNotFound, CoreNotFound)


def slack_client(settings: Settings):  # type: ignore[no-untyped-def]
    """The ``slack_sdk.WebClient`` of the Slack connection (its token, ``base_url`` and ``timeout``
    extras), or None when no such connection exists: the pipeline then runs in dry-run.

    slack-sdk's own retry handlers are switched off: the gateway retries itself, so it decides how
    long a task may wait and never re-posts a message behind the outbox's back.
    """
    from airflow.providers.slack.hooks.slack import SlackHook

    hook = SlackHook(slack_conn_id=settings.slack_conn_id, retry_handlers=[])
    try:
        return hook.client
    except _not_found_errors():
        return None


def slack_gateway(settings: Settings):  # type: ignore[no-untyped-def]
    """A :class:`~aiwatch.slack.gateway.SlackGateway` on the Slack connection, or None (dry-run)."""
    from aiwatch.slack.gateway import SlackGateway

    client = slack_client(settings)
    if client is None:
        log.warning("no Airflow connection %r: dry-run, Slack payloads go to the log and %s",
                    settings.slack_conn_id, settings.outbox_path)
        return None
    return SlackGateway(client, max_wait_s=settings.slack_max_wait_s)


def failure_text(context: dict[str, Any]) -> str:
    """What the ops channel reads when a task fails: which task, which run, why, where the log is."""
    from aiwatch.slack_text import bounded, escape_mrkdwn

    ti = context.get("ti") or context.get("task_instance")
    dag_id = getattr(ti, "dag_id", None) or getattr(context.get("dag"), "dag_id", "?")
    task_id = getattr(ti, "task_id", "?")
    map_index = getattr(ti, "map_index", -1)
    label = getattr(ti, "rendered_map_index", None) or (str(map_index) if map_index not in (None, -1) else "")
    error = escape_mrkdwn(str(context.get("exception") or "no exception recorded"))
    text = (f":red_circle: Morocco AI Watch: task *{escape_mrkdwn(dag_id)}.{escape_mrkdwn(task_id)}*"
            + (f" [{escape_mrkdwn(label)}]" if label else "")
            + f" failed (try {getattr(ti, 'try_number', '?')}) in run `{escape_mrkdwn(str(context.get('run_id')))}`:"
            + f" {bounded(error, 1500)}")
    log_url = getattr(ti, "log_url", None)
    return text + (f"\nLog: {log_url}" if log_url else "")


def notify_failure(context: dict[str, Any]) -> None:
    """``on_failure_callback`` of every task: tell the ops channel through Airflow's Slack notifier,
    or, without a Slack connection, say so clearly in the log. Never raises: a broken notification
    must not hide the failure it reports."""
    settings = Settings.from_env()
    text = failure_text(context)
    try:
        if slack_client(settings) is None:
            log.error("TASK FAILED (no Slack connection %r, so no ops notification): %s", settings.slack_conn_id, text)
            return
        from airflow.providers.slack.notifications.slack import SlackNotifier

        # The notifier renders its text as a template: ours is already final, keep Jinja off it.
        safe = text.replace("{%", "{ %").replace("%}", "% }")
        notifier = SlackNotifier(slack_conn_id=settings.slack_conn_id, channel=settings.ops_channel,
                                 text="{% raw %}" + safe + "{% endraw %}", unfurl_links=False, unfurl_media=False)
        notifier(context)
        log.info("ops notified in %s: %s", settings.ops_channel, text)
    except Exception:  # noqa: BLE001 - reporting must not raise
        log.exception("could not notify the ops channel %s of: %s", settings.ops_channel, text)
