"""Command line for operators: `python -m aiwatch.cli <command>` (also installed as `aiwatch`).

- ``run-dag``: one cycle of the real ``morocco_ai_watch`` DAG (``airflow dags test``), then the summary.
- ``cycle``: one cycle through the library alone (no Airflow), e.g. for debugging a feed. Exit code 0
  when every step finished, 1 when a step failed (the summary says which and why), 2 for a
  configuration or store error, 3 when another cycle is running on the same store.
- ``summary``: the summary of the latest cycle recorded in the store.
- ``db-upgrade``: apply the store's schema migrations.
- ``standalone``: ``airflow standalone`` with the project's DAGs, printing where to log in.
"""

from __future__ import annotations

import argparse
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

from aiwatch.config import ConfigError, Settings
from aiwatch.store.engine import StoreUnavailable
from aiwatch.store.lock import StoreBusy

DAG_ID = "morocco_ai_watch"
_PROGRESS_MARKERS = ("aiwatch", "feed=", "pages attempted", "Marking task", "state=", "ERROR", "Traceback")


def _airflow_bin() -> str:
    """This venv's ``airflow``; its directory goes first on PATH because Airflow starts its own
    components (scheduler, api-server, ...) by running ``airflow`` again. The project's DAGs and
    plugins folders (and no example DAGs) are the defaults whatever AIRFLOW_HOME is."""
    from aiwatch.config import project_root

    root = project_root()
    os.environ.setdefault("AIRFLOW__CORE__DAGS_FOLDER", str(root / "dags"))
    os.environ.setdefault("AIRFLOW__CORE__PLUGINS_FOLDER", str(root / "plugins"))
    os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    bin_dir = str(Path(sys.executable).parent)
    if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")
    candidate = Path(bin_dir) / "airflow"
    return str(candidate) if candidate.exists() else "airflow"


def run_dag(settings: Settings, verbose: bool = False) -> int:
    """Run one DAG cycle in-process with `airflow dags test`, log to var/logs, print the summary."""
    from aiwatch.cycle import open_store
    from aiwatch.store import repo, upgrade

    log_dir = settings.var_dir / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"run-{time.strftime('%Y%m%dT%H%M%S')}.log"
    print(f"running DAG {DAG_ID} once (airflow dags test); AIRFLOW_HOME={os.environ.get('AIRFLOW_HOME')}")
    print(f"full log: {log_path}")
    started = time.monotonic()
    with log_path.open("w", encoding="utf-8") as log_file:
        process = subprocess.Popen([_airflow_bin(), "dags", "test", DAG_ID], stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True, errors="replace")
        assert process.stdout is not None
        for line in process.stdout:
            log_file.write(line)
            if verbose or any(marker in line for marker in _PROGRESS_MARKERS):
                sys.stdout.write("  " + line[:300] + ("\n" if not line.endswith("\n") or len(line) > 300 else ""))
        code = process.wait()
    print(f"\nDAG run finished in {time.monotonic() - started:.0f}s with exit code {code}\n")
    store = open_store(settings)
    upgrade(store)
    run_id = repo.latest_run_id(store)
    if run_id is None:
        print("no cycle was recorded in the store; see the log above")
        return code or 1
    print(recorded_summary(settings, run_id).text())
    return code


def recorded_summary(settings: Settings, run_id: str):  # type: ignore[no-untyped-def]
    """The summary the cycle's last task recorded, or one rebuilt from the store if it has none."""
    from aiwatch.cycle import CycleSummary, open_store, summarise
    from aiwatch.store import repo

    steps, _ = repo.run_record(open_store(settings), run_id)
    if "summary" in steps:
        return CycleSummary(**steps["summary"])
    return summarise(settings, run_id)


def standalone_pid_file(home: Path | None = None) -> Path:
    """Where a running ``standalone`` records its pid: the demo refuses to run beside it."""
    return (home or Path(os.environ.get("AIRFLOW_HOME", "var/airflow"))) / "aiwatch-standalone.pid"


def standalone(wait_s: float = 120.0, *, demo: bool = False) -> int:
    """``airflow standalone`` with the project's DAGs; prints the UI address and the real login once
    Airflow has generated the password (simple auth manager: ``user:role`` in config, password in a file).
    One Ctrl-C stops it and every component it started (:mod:`aiwatch.supervise`)."""
    import json

    from aiwatch import supervise

    home = Path(os.environ.get("AIRFLOW_HOME", "var/airflow"))
    os.environ.setdefault("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS", "admin:admin")
    user = os.environ["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS"].split(",")[0].split(":")[0]
    passwords = home / "simple_auth_manager_passwords.json.generated"
    port = os.environ.get("AIRFLOW__API__PORT", "8080")
    print(f"starting airflow standalone (AIRFLOW_HOME={home}); stop with Ctrl-C", flush=True)

    def announce(process: subprocess.Popen) -> None:
        deadline = time.monotonic() + wait_s
        password = None
        while time.monotonic() < deadline and process.poll() is None and password is None:
            try:
                password = json.loads(passwords.read_text(encoding="utf-8")).get(user)
            except (OSError, ValueError):
                time.sleep(1)
        print("\n" + "=" * 60)
        print(f"  Airflow UI:  http://localhost:{port}")
        print(f"  login:       {user} / {password or '(see ' + str(passwords) + ')'}")
        print("  DAGs:        morocco_ai_watch, collect_feedback, retrain_classifier (unpause them in the UI)")
        print("=" * 60 + "\n", flush=True)

    if not demo:
        return supervise.run([_airflow_bin(), "standalone"], pid_file=standalone_pid_file(home), on_started=announce)
    from aiwatch import demo as demo_web

    server = demo_web.demo_server()  # kept up while Airflow runs, so scheduled cycles poll the demo web
    try:
        os.environ.update(demo_web.environment(server))
        print(f"demo mode: news web on {server.base_url}, store {os.environ['WATCH_DB_URL']}", flush=True)
        return supervise.run([_airflow_bin(), "standalone"], pid_file=standalone_pid_file(home), on_started=announce)
    finally:
        server.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="aiwatch", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run-dag", help="one cycle of the morocco_ai_watch DAG, then its summary")
    run.add_argument("-v", "--verbose", action="store_true", help="print Airflow's whole output")
    sub.add_parser("cycle", help="one cycle through the library, without Airflow")
    sub.add_parser("summary", help="summary of the latest recorded cycle")
    sub.add_parser("db-upgrade", help="apply store migrations")
    up = sub.add_parser("standalone", help="airflow standalone with the project's DAGs")
    up.add_argument("--demo", action="store_true", help="with the demo's news web, feeds and store (make up DEMO=1)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = Settings.from_env()
        if args.command == "run-dag":
            return run_dag(settings, verbose=args.verbose)
        if args.command == "standalone":
            return standalone(demo=args.demo)
        from aiwatch import cycle
        from aiwatch.store import repo, upgrade

        store = cycle.open_store(settings)
        store.check()
        if args.command == "db-upgrade":
            print(f"store at revision {upgrade(store)}")
            return 0
        if args.command == "cycle":
            from aiwatch.airflow_bridge import slack_gateway

            summary = cycle.run_cycle(settings, gateway=slack_gateway(settings))
            print(summary.text())
            return 1 if summary.missing_steps or summary.feeds_down else 0
        upgrade(store)
        run_id = repo.latest_run_id(store)
        if run_id is None:
            print("no cycle recorded yet")
            return 1
        print(recorded_summary(settings, run_id).text())
        return 0
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    except StoreUnavailable as exc:
        print(f"store error: {exc}", file=sys.stderr)
        return 2
    except StoreBusy as exc:
        print(f"not started: {exc}", file=sys.stderr)
        return 3


if __name__ == "__main__":
    raise SystemExit(main())
