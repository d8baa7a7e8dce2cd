"""collect_feedback: readers' ✅/❌ reactions on recent alerts and review-digest lines become labels.

Hourly (``WATCH_FEEDBACK_SCHEDULE``). Reads reactions through the Slack connection, records one label
per person and article in the store, then, once enough new labels have gathered since the newest
model version (``WATCH_RETRAIN_MIN_LABELS``), updates the labels Asset, which schedules
``retrain_classifier``. Without a Slack connection there is nothing to read and the run says so.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta

from airflow.sdk import dag, task
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException
from aiwatch.airflow_bridge import LABELS_ASSET, notify_failure


def _schedule() -> str | None:
    value = os.environ.get("WATCH_FEEDBACK_SCHEDULE", "@hourly").strip()
    return None if value.lower() in {"", "none", "off"} else value


@dag(
    dag_id="collect_feedback",
    schedule=_schedule(),
    start_date=datetime(2025, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args={"owner": "morocco-ai-watch", "retries": 2, "retry_delay": timedelta(minutes=1),
                  "retry_exponential_backoff": True, "execution_timeout": timedelta(minutes=20),
                  "on_failure_callback": notify_failure},
    tags=["morocco-ai-watch", "classifier", "slack"],
    doc_md=__doc__,
)
def collect_feedback():
    @task
    def read_reactions() -> dict:
        """Record ✅/❌ reactions on recent posted alerts, replies and digest lines as labels."""
        from aiwatch import feedback
        from aiwatch.airflow_bridge import slack_gateway
        from aiwatch.config import Settings
        from aiwatch.slack.gateway import SlackFatal

        settings = Settings.from_env()
        try:
            return feedback.collect(settings, slack_gateway(settings))
        except SlackFatal as exc:
            raise AirflowFailException(f"Slack refused us ({exc}); check the {settings.slack_conn_id!r} "
                                       "connection") from None

    @task(outlets=[LABELS_ASSET])
    def signal_retraining(stats: dict) -> dict:
        """Update the labels Asset (so retrain_classifier runs) once enough new labels have gathered."""
        from aiwatch import feedback
        from aiwatch.config import Settings

        settings = Settings.from_env()
        if not stats.get("new_or_changed"):
            raise AirflowSkipException("no new or changed label in this run: the labels Asset stays as it is")
        new, newest = feedback.labels_since_training(settings)
        if new < settings.retrain_min_labels:
            raise AirflowSkipException(f"{new} new label(s) since model {newest or '-'}; retraining waits for "
                                       f"{settings.retrain_min_labels} (WATCH_RETRAIN_MIN_LABELS)")
        return {"new_labels": new, "since_model": newest, **stats}

    signal_retraining(read_reactions())


collect_feedback()
