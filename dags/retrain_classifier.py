"""retrain_classifier: train a new model version when new labels land (or by hand), compare it with
the live one on the fixed validation split, and promote it only if it is not worse.

Triggered by the labels Asset (updated by every task that records human labels) or manually with
params. Each step is a thin call into ``classifiers``; the report, the plots and the promotion
decision are written into the new version's directory in the registry (WATCH_MODEL_DIR).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import Param, dag, get_current_context, task
from aiwatch.airflow_bridge import LABELS_ASSET, notify_failure


@dag(
    dag_id="retrain_classifier",
    schedule=[LABELS_ASSET],
    start_date=datetime(2025, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args={"owner": "morocco-ai-watch", "retries": 1, "retry_delay": timedelta(minutes=2),
                  "execution_timeout": timedelta(hours=1),
                  "on_failure_callback": notify_failure},
    params={
        "extra_files": Param([], type="array", description="extra labelled JSONL files to train on"),
        "force_promote": Param(False, type="boolean", description="promote even if not better"),
    },
    tags=["morocco-ai-watch", "classifier"],
    doc_md=__doc__,
)
def retrain_classifier():
    @task
    def train_candidate() -> str:
        import logging
        from pathlib import Path

        from aiwatch.config import Settings

        from classifiers.training import train_version

        settings = Settings.from_env()
        params = get_current_context()["params"]
        version, report = train_version([Path(p) for p in params.get("extra_files") or []], db_url=settings.db_url,
                                        root=settings.models, progress=logging.getLogger("classifiers.train").info)
        logging.getLogger(__name__).info("candidate %s: cross-validated %s", version.name, report["cv"])
        return version.name

    @task
    def compare_and_promote(candidate: str) -> dict:
        import logging

        from aiwatch.config import Settings

        from classifiers import promotion, registry

        root = Settings.from_env().models
        comparison = promotion.compare(candidate, root)
        promote, reason = promotion.decide(comparison, force=bool(get_current_context()["params"]["force_promote"]))
        if promote:
            registry.promote(candidate, root)
        path = promotion.write_decision(root, comparison, promote, reason)
        outcome = {"candidate": candidate, "previous_live": comparison.get("live"), "promoted": promote,
                   "reason": reason, "report": str(path)}
        logging.getLogger("aiwatch.retrain").info("retrain outcome: %s", outcome)
        return outcome

    compare_and_promote(train_candidate())


retrain_classifier()
