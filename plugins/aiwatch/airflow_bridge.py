"""The one place the library meets Airflow: Assets shared by DAGs (and, later, Slack connections).

Kept tiny and imported only by DAG files and tasks, so the rest of ``aiwatch`` stays free of
Airflow and unit-testable without it.
"""

from __future__ import annotations

from airflow.sdk import Asset

#: Updated by every task that records human labels; schedules retrain_classifier.
LABELS_ASSET = Asset(name="morocco_ai_watch_labels", uri="aiwatch://labels")
