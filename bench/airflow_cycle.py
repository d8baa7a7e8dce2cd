"""The same cycle through Airflow: ``airflow dags test morocco_ai_watch`` in a fresh AIRFLOW_HOME.

SQLite metadata, the repo's DAGs, the benchmark feeds and a fresh store. Reported: the wall time
of ``dags test`` (the DAG cycle), the sum of the task instances' own durations from Airflow's
metadata database, and the share of the wall time spent outside them (DAG parsing, run creation,
scheduling each task, XCom, the process around it). ``db migrate`` is timed separately: it is a
one-off per installation, not a per-cycle cost.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
AIRFLOW = str(Path(sys.executable).with_name("airflow"))


def environment(home: Path, feeds_file: Path, db_url: str, models: Path, outbox: Path,
                max_pages: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "WATCH_"))}
    env.update(AIRFLOW_HOME=str(home), AIRFLOW__CORE__DAGS_FOLDER=str(REPO / "dags"),
               AIRFLOW__CORE__PLUGINS_FOLDER=str(REPO / "plugins"), AIRFLOW__CORE__LOAD_EXAMPLES="False",
               WATCH_FEEDS_FILE=str(feeds_file), WATCH_DB_URL=db_url, WATCH_MODEL_DIR=str(models),
               WATCH_OUTBOX_FILE=str(outbox), WATCH_ALLOW_PRIVATE_NETWORKS="1", WATCH_SCHEDULE="none",
               WATCH_MAX_PAGES_PER_CYCLE=str(max_pages))
    return env


def _run(command: list[str], env: dict[str, str], cwd: Path, what: str) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, timeout=1800)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{what} failed (exit {done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return seconds


def task_durations(home: Path) -> dict[str, float]:
    """Seconds per task id (mapped instances summed), from Airflow's metadata database."""
    with sqlite3.connect(home / "airflow.db") as meta:
        rows = meta.execute("select task_id, sum(duration), count(*), sum(state = 'success') "
                            "from task_instance group by task_id").fetchall()
    return {task: round(total or 0.0, 3) for task, total, _count, _ok in rows}


def run(home: Path, workdir: Path, feeds_file: Path, db_url: str, models: Path, outbox: Path,
        max_pages: int) -> dict[str, Any]:
    """Migrate a fresh home, run one DAG cycle, and split its wall time into tasks and the rest."""
    home.mkdir(parents=True, exist_ok=True)
    env = environment(home, feeds_file, db_url, models, outbox, max_pages)
    migrate_s = _run([AIRFLOW, "db", "migrate"], env, home, "airflow db migrate")
    wall = _run([AIRFLOW, "dags", "test", "morocco_ai_watch"], env, workdir, "airflow dags test morocco_ai_watch")
    durations = task_durations(home)
    in_tasks = sum(durations.values())
    return {"airflow_cycle_s": round(wall, 2), "tasks_s": round(in_tasks, 2), "task_durations_s": durations,
            "outside_tasks_share": round(max(0.0, 1 - in_tasks / wall), 3), "db_migrate_s": round(migrate_s, 1)}
