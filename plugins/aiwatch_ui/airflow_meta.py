"""What the view needs from Airflow's own metadata: which mapped task instance polled a feed in a run
(to link to its log), and when the retraining DAG last ran.

Read directly from the metadata database, as the api-server's own routes do: the plugin runs inside
the api-server, which owns that database. Airflow is imported lazily so the rest of the package (and
its tests) work without a migrated Airflow home; any failure here degrades to "unknown", never to
a broken page.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from urllib.parse import quote

log = logging.getLogger(__name__)

WATCH_DAG = "morocco_ai_watch"
POLL_TASK = "poll_feed"
RETRAIN_DAG = "retrain_classifier"


@dataclass(frozen=True)
class DagRunInfo:
    dag_id: str
    run_id: str
    state: str | None
    run_type: str | None
    queued_at: datetime | None
    start_date: datetime | None
    end_date: datetime | None


class AirflowMeta(Protocol):
    def poll_map_indexes(self, run_ids: list[str]) -> dict[tuple[str, str], int]:
        """(run_id, feed name) -> map index of that run's poll_feed task instance for the feed."""

    def last_run(self, dag_id: str) -> DagRunInfo | None:
        """The newest run of a DAG, whatever its state."""


class MetadataDB:
    """AirflowMeta over the metadata database of the Airflow process we run in."""

    def poll_map_indexes(self, run_ids: list[str]) -> dict[tuple[str, str], int]:
        if not run_ids:
            return {}
        try:
            from airflow.models.taskinstance import TaskInstance
            from airflow.utils.session import create_session
            from sqlalchemy import select

            rendered = TaskInstance.__table__.c.rendered_map_index
            with create_session() as session:
                rows = session.execute(select(TaskInstance.run_id, rendered, TaskInstance.map_index)
                                       .where(TaskInstance.dag_id == WATCH_DAG, TaskInstance.task_id == POLL_TASK,
                                              TaskInstance.run_id.in_(run_ids))).all()
        except Exception as exc:  # no metadata DB reachable, or an older schema: no links, page still works
            log.warning("poll_feed task instances of runs %s not read from Airflow's metadata: %s", run_ids, exc)
            return {}
        # A task instance polls one feed (named after it) or a group ("a, b, c": WATCH_FEEDS_PER_TASK).
        return {(run_id, feed): index for run_id, name, index in rows if name is not None
                for feed in feed_names_of(name)}

    def last_run(self, dag_id: str) -> DagRunInfo | None:
        try:
            from airflow.models.dagrun import DagRun
            from airflow.utils.session import create_session
            from sqlalchemy import select

            with create_session() as session:
                run = session.scalars(select(DagRun).where(DagRun.dag_id == dag_id)
                                      .order_by(DagRun.run_after.desc(), DagRun.id.desc()).limit(1)).first()
                if run is None:
                    return None
                return DagRunInfo(dag_id=dag_id, run_id=run.run_id, state=str(run.state) if run.state else None,
                                  run_type=str(run.run_type) if run.run_type else None, queued_at=run.queued_at,
                                  start_date=run.start_date, end_date=run.end_date)
        except Exception as exc:
            log.warning("last run of %s not read from Airflow's metadata: %s", dag_id, exc)
            return None


def feed_names_of(rendered_map_index: str) -> list[str]:
    """The feeds a poll_feed task instance polled, from its name in the UI (see cycle.group_label)."""
    return [part.strip() for part in rendered_map_index.split(", ") if part.strip() and part.strip() != "…"]


def task_instance_path(run_id: str, map_index: int, dag_id: str = WATCH_DAG, task_id: str = POLL_TASK) -> str:
    """The Airflow 3 UI route of a mapped task instance (its page opens on the log), relative to the UI root."""
    return f"dags/{quote(dag_id, safe='')}/runs/{quote(run_id, safe='')}/tasks/{quote(task_id, safe='')}/mapped/{map_index}"


def dag_run_path(dag_id: str, run_id: str) -> str:
    return f"dags/{quote(dag_id, safe='')}/runs/{quote(run_id, safe='')}"
