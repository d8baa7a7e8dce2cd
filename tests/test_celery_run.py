"""The real distributed run: Airflow on CeleryExecutor, metadata and store on PostgreSQL, broker on Redis.

A scheduler, a dag-processor, an api-server and Celery workers run as separate processes on loopback,
exactly the components docker-compose.yml starts. ``morocco_ai_watch`` is unpaused and triggered
through the REST API against the local news web and the Slack stand-in. The first scenario proves
the mapped feed polls ran on the Celery worker; the second kills the worker (its whole process tree,
as a dead machine would) in the middle of ``fetch_pages``, starts a new one, and checks the run
completes through retries with nothing lost and nothing posted twice.

Needs PostgreSQL on 127.0.0.1:5432 (trust, user postgres) and Redis on 127.0.0.1:6379: skipped with
a reason when either is absent, a failure when ``CI`` is set.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import DEMO_SITE, REPO, _reachable

AIRFLOW = str(Path(sys.executable).with_name("airflow"))
PG = "postgres@127.0.0.1:5432"
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
DAG_ID = "morocco_ai_watch"
DEMO_FEEDS = [("atlas-tech", "fr"), ("maghreb-wire", "en"), ("akhbar-raqmiya", "ar")]
#: The scheduler declares a task dead after this many seconds without a heartbeat (default 300).
HEARTBEAT_TIMEOUT_S = 20

pytestmark = [pytest.mark.airflow, pytest.mark.postgres, pytest.mark.timeout(480)]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _require_servers() -> None:
    missing = [f"{what} on {host}:{port}" for what, host, port in
               [("PostgreSQL", "127.0.0.1", 5432), ("Redis", REDIS_HOST, REDIS_PORT)] if not _reachable(host, port)]
    if missing:
        message = f"{' and '.join(missing)} not reachable (the CeleryExecutor run needs both)"
        if os.environ.get("CI"):
            pytest.fail(f"CI is set but {message}")
        pytest.skip(message)


def _admin_engine():
    from sqlalchemy import create_engine

    return create_engine(f"postgresql+psycopg://{PG}/postgres", isolation_level="AUTOCOMMIT")


def _create_database(prefix: str) -> str:
    from sqlalchemy import text

    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    engine = _admin_engine()
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return name


def _drop_databases(names: list[str]) -> None:
    from sqlalchemy import text

    engine = _admin_engine()
    with engine.connect() as conn:
        for name in names:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


def _pick_redis_db() -> int:
    """An empty Redis database among the high numbers (other tools use 0), so a flush harms nobody."""
    import redis

    for number in (13, 12, 11, 10, 9, 14):
        client = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=number)
        try:
            if client.dbsize() == 0:
                return number
        finally:
            client.close()
    pytest.fail("no empty Redis database among 9-14 on 127.0.0.1:6379 for the Celery broker")


def _flush_redis_db(number: int) -> None:
    import redis

    client = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=number)
    try:
        client.flushdb()
    finally:
        client.close()


def _processes_of_home(home: Path) -> list[Any]:
    import psutil

    def ours(proc: psutil.Process) -> bool:
        try:
            return proc.environ().get("AIRFLOW_HOME") == str(home) and proc.status() != psutil.STATUS_ZOMBIE
        except (psutil.Error, OSError):
            return False

    return [p for p in psutil.process_iter() if p.pid != os.getpid() and ours(p)]


def _kill_tree(pid: int) -> None:
    """SIGKILL a process and every descendant, as if its machine died.

    Airflow's task supervisor puts each task in a process group of its own, so killing only the
    worker's group would leave the task running as an orphan; a dead host or container kills all.
    """
    import psutil

    try:
        root = psutil.Process(pid)
        victims = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return
    for proc in victims:
        try:
            proc.send_signal(signal.SIGKILL)
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(victims, timeout=10)


@dataclass
class Cluster:
    """Airflow components on loopback, started and stopped by the module fixture."""

    home: Path
    env: dict[str, str]
    api_url: str
    queue: str
    metadata_db: str
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    token: str | None = None

    def log(self, name: str) -> str:
        path = self.home / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def start(self, name: str, args: list[str], env: dict[str, str] | None = None) -> subprocess.Popen:
        with (self.home / f"{name}.log").open("ab") as out:
            process = subprocess.Popen([AIRFLOW, *args], env=env or self.env, cwd=self.home, stdout=out,
                                       stderr=subprocess.STDOUT, start_new_session=True)
        self.processes[name] = process
        return process

    def stop(self, name: str, timeout: float = 30) -> None:
        process = self.processes.pop(name)
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(10)

    def api(self, method: str, path: str, body: dict | None = None) -> Any:
        import httpx

        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        answer = httpx.request(method, self.api_url + path, json=body, headers=headers, timeout=30)
        assert answer.status_code < 300, f"{method} {path}: HTTP {answer.status_code} {answer.text[:500]}"
        return answer.json()

    def diagnostics(self) -> str:
        return "\n".join(f"--- {name}.log ---\n{self.log(name)[-2500:]}"
                         for name in ("scheduler", "dag-processor", "api-server", *sorted(
                             p.stem for p in self.home.glob("worker-*.log"))))

    def start_worker(self, name: str, env: dict[str, str]) -> subprocess.Popen:
        process = self.start(name, ["celery", "worker", "--queues", self.queue, "--concurrency", "4",
                                    "--celery-hostname", f"{name}@%h", "--skip-serve-logs",
                                    "--without-gossip", "--without-mingle"], env)
        deadline = time.monotonic() + 90
        while " ready." not in self.log(name):
            assert process.poll() is None, f"{name} exited:\n{self.log(name)[-3000:]}"
            assert time.monotonic() < deadline, f"{name} never became ready:\n{self.log(name)[-3000:]}"
            time.sleep(1)
        return process

    def trigger(self) -> str:
        self.api("PATCH", f"/api/v2/dags/{DAG_ID}", {"is_paused": False})
        return self.api("POST", f"/api/v2/dags/{DAG_ID}/dagRuns", {"logical_date": None})["dag_run_id"]

    def run_state(self, run_id: str) -> str:
        return self.api("GET", f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}")["state"]

    def wait_for_run(self, run_id: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        state = self.run_state(run_id)
        while state not in ("success", "failed") and time.monotonic() < deadline:
            time.sleep(2)
            state = self.run_state(run_id)
        return state

    def task_instances(self, run_id: str) -> list[dict]:
        answer = self.api("GET", f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances?limit=100")
        return answer["task_instances"]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    _require_servers()
    home = tmp_path_factory.mktemp("celery-home")
    metadata_db = _create_database("aiwatch_airflow")
    redis_db = _pick_redis_db()
    port = _free_port()
    password = secrets.token_urlsafe(12)
    (home / "passwords.json").write_text(json.dumps({"admin": password}), encoding="utf-8")
    from cryptography.fernet import Fernet

    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "WATCH_"))}
    env.update(
        AIRFLOW_HOME=str(home), AIRFLOW__CORE__DAGS_FOLDER=str(REPO / "dags"),
        AIRFLOW__CORE__PLUGINS_FOLDER=str(REPO / "plugins"), AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__CORE__EXECUTOR="CeleryExecutor",
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"postgresql+psycopg2://{PG}/{metadata_db}",
        AIRFLOW__CELERY__BROKER_URL=f"redis://{REDIS_HOST}:{REDIS_PORT}/{redis_db}",
        AIRFLOW__CELERY__RESULT_BACKEND=f"db+postgresql://{PG}/{metadata_db}",
        AIRFLOW__CORE__EXECUTION_API_SERVER_URL=f"http://127.0.0.1:{port}/execution/",
        AIRFLOW__API__PORT=str(port), AIRFLOW__API__HOST="127.0.0.1",
        AIRFLOW__API_AUTH__JWT_SECRET=secrets.token_urlsafe(32),
        AIRFLOW__CORE__FERNET_KEY=Fernet.generate_key().decode(),
        AIRFLOW__CORE__AUTH_MANAGER="airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
        AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS="admin:admin",
        AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE=str(home / "passwords.json"),
        # A queue of our own: only our workers take these tasks, even on a shared Redis.
        AIRFLOW__OPERATORS__DEFAULT_QUEUE=f"aiwatch-test-{uuid.uuid4().hex[:8]}",
        AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT=str(HEARTBEAT_TIMEOUT_S),
        AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL="3",
        AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC="2",
        # Manual runs only: no scheduled run may sneak in between ours.
        WATCH_SCHEDULE="none", WATCH_FEEDBACK_SCHEDULE="none",
    )
    cluster = Cluster(home=home, env=env, api_url=f"http://127.0.0.1:{port}",
                      queue=env["AIRFLOW__OPERATORS__DEFAULT_QUEUE"], metadata_db=metadata_db)
    try:
        migrated = subprocess.run([AIRFLOW, "db", "migrate"], env=env, cwd=home, capture_output=True, text=True,
                                  timeout=300)
        assert migrated.returncode == 0, migrated.stdout[-3000:] + migrated.stderr[-3000:]
        cluster.start("api-server", ["api-server", "--port", str(port), "--host", "127.0.0.1", "--workers", "1"])
        cluster.start("scheduler", ["scheduler", "--skip-serve-logs"])
        cluster.start("dag-processor", ["dag-processor"])
        _wait_until_serving(cluster, password)
        yield cluster
    finally:
        for name in list(cluster.processes):
            cluster.stop(name)
        leftovers = _processes_of_home(home)
        for proc in leftovers:
            _kill_tree(proc.pid)
        _flush_redis_db(redis_db)
        _drop_databases([metadata_db])
        assert not _processes_of_home(home), "processes of the test's AIRFLOW_HOME survived"


def _wait_until_serving(cluster: Cluster, password: str) -> None:
    """The api-server answers, the login works, and the dag-processor has parsed our DAG."""
    import httpx

    deadline = time.monotonic() + 180
    while True:
        for name, process in cluster.processes.items():
            assert process.poll() is None, f"{name} exited early:\n{cluster.diagnostics()}"
        try:
            if httpx.get(cluster.api_url + "/api/v2/monitor/health", timeout=3).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, f"api-server never became healthy:\n{cluster.diagnostics()}"
        time.sleep(2)
    cluster.token = cluster.api("POST", "/auth/token", {"username": "admin", "password": password})["access_token"]
    while DAG_ID not in {d["dag_id"] for d in cluster.api("GET", "/api/v2/dags")["dags"]}:
        assert time.monotonic() < deadline, f"the DAG was never parsed:\n{cluster.diagnostics()}"
        time.sleep(2)


@dataclass
class Scenario:
    """What one scenario's workers see: its own news web, Slack stand-in and store database."""

    env: dict[str, str]
    store_url: str
    web: Any
    slack: Any


@pytest.fixture
def scenario(cluster: Cluster, model_registry: Path, tmp_path: Path, request: pytest.FixtureRequest
             ) -> Iterator[Scenario]:
    from aiwatch.devserver import DevServer
    from slack_standin import SlackStandIn

    latency = getattr(request, "param", 0.0)
    store_db = _create_database("aiwatch_store")
    store_url = f"postgresql+psycopg://{PG}/{store_db}"
    try:
        with DevServer(DEMO_SITE, latency_s=latency) as web, SlackStandIn(token="xoxb-test") as slack:
            feeds_file = tmp_path / "feeds.yaml"
            feeds_file.write_text(yaml.safe_dump({"feeds": [
                {"name": name, "url": web.url(f"/{name}/feed.xml"), "lang": lang} for name, lang in DEMO_FEEDS]}),
                encoding="utf-8")
            env = dict(cluster.env, WATCH_FEEDS_FILE=str(feeds_file), WATCH_DB_URL=store_url,
                       WATCH_ALLOW_PRIVATE_NETWORKS="1", WATCH_MODEL_DIR=str(model_registry),
                       WATCH_DATA_DIR=str(tmp_path), AIRFLOW_CONN_SLACK_API_DEFAULT=json.dumps(
                           {"conn_type": "slack", "password": "xoxb-test",
                            "extra": {"base_url": slack.base_url, "timeout": 5}}))
            # What airflow-init does in docker-compose: migrate the store with the library's own command.
            upgraded = subprocess.run([sys.executable, "-m", "aiwatch.cli", "db-upgrade"], env=env, cwd=tmp_path,
                                      capture_output=True, text=True, timeout=120)
            assert upgraded.returncode == 0 and "store at revision" in upgraded.stdout, upgraded.stderr[-2000:]
            yield Scenario(env=env, store_url=store_url, web=web, slack=slack)
    finally:
        for name in [n for n in cluster.processes if n.startswith("worker-")]:  # none outlives its scenario
            cluster.stop(name)
        from aiwatch.store.engine import engine_for

        engine_for.cache_clear()
        _drop_databases([store_db])


def _store_counts(url: str) -> dict[str, Any]:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            def one(sql: str) -> Any:
                return conn.execute(text(sql)).scalar_one()

            return {
                "articles": one("select count(*) from articles"),
                "articles_ok": one("select count(*) from articles where fetch_status = 'ok'"),
                "classified": one("select count(distinct article_id) from classifications"),
                "events": one("select count(*) from events"),
                "outbox": dict(conn.execute(text("select state, count(*) from outbox group by state")).all()),
            }
    finally:
        engine.dispose()


def _celery_successes(cluster: Cluster, at_least: int, timeout: float = 30) -> int:
    """Results in Celery's result backend; the last one lands just after Airflow saw the task finish."""
    from sqlalchemy import create_engine, text

    engine = create_engine(f"postgresql+psycopg://{PG}/{cluster.metadata_db}")
    deadline = time.monotonic() + timeout
    try:
        while True:
            with engine.connect() as conn:
                done = conn.execute(text("select count(*) from celery_taskmeta where status = 'SUCCESS'")).scalar_one()
            if done >= at_least or time.monotonic() > deadline:
                return done
            time.sleep(1)
    finally:
        engine.dispose()


def _workloads(log: str) -> list[tuple[str, int, int]]:
    """(task_id, map_index, try_number) of every workload a Celery worker's log says it executed."""
    found = []
    for line in log.splitlines():
        if "Executing workload in Celery" not in line:
            continue
        task = re.search(r"task_id='([^']+)'", line)
        index = re.search(r"map_index=(-?\d+)", line)
        tries = re.search(r"try_number=(\d+)", line)
        assert task and index and tries, f"unexpected workload line: {line[:500]}"
        found.append((task.group(1), int(index.group(1)), int(tries.group(1))))
    return found


def _check_slack(slack: Any, events: int) -> list[dict]:
    """One alert per event, follow-ups only in threads, no outbox key posted twice."""
    posts = slack.posts
    keys = [p["metadata"]["event_payload"]["key"] for p in posts]
    assert len(keys) == len(set(keys)), f"posted twice: {sorted(k for k in keys if keys.count(k) > 1)}"
    alerts = slack.messages("#morocco-ai-watch")
    assert len(alerts) == events >= 2
    channel = slack.channel_id("#morocco-ai-watch")
    replies = [p for p in posts if p["channel"] == channel and p.get("thread_ts")]
    assert replies and {r["thread_ts"] for r in replies} <= {a["ts"] for a in alerts}
    heads = [" ".join(b["text"]["text"] for b in m["blocks"] if b["type"] == "header") for m in alerts]
    mistral = [m for m, h in zip(alerts, heads, strict=True) if "Mistral" in h]
    assert len(mistral) == 1 and len(slack.replies(mistral[0]["ts"])) == 2, heads
    return alerts


def test_triggered_run_executes_the_mapped_feed_polls_on_the_celery_worker(cluster, scenario):
    cluster.start_worker("worker-1", scenario.env)
    run_id = cluster.trigger()
    state = cluster.wait_for_run(run_id, timeout=240)
    assert state == "success", cluster.diagnostics()

    tis = cluster.task_instances(run_id)
    assert {(t["task_id"], t["state"]) for t in tis} == {
        (task, "success") for task in ("prepare", "poll_feed", "fetch_pages", "classify", "group_events",
                                       "compose_alerts", "send_alerts", "summarise")}
    polls = [t for t in tis if t["task_id"] == "poll_feed"]
    assert sorted(t["rendered_map_index"] for t in polls) == sorted(name for name, _ in DEMO_FEEDS)
    # Queued on our Celery queue (only our worker consumes it), and executed by it: the worker's own log
    # names every mapped poll, and Celery's result backend holds one result per task instance.
    assert {t["queue"] for t in tis} == {cluster.queue}
    assert all(t["hostname"] and t["pid"] for t in tis)
    executed = _workloads(cluster.log("worker-1"))
    assert sorted(i for task, i, _ in executed if task == "poll_feed") == [0, 1, 2]
    assert {task for task, _, _ in executed} == {t["task_id"] for t in tis}
    assert _celery_successes(cluster, at_least=len(tis)) >= len(tis)

    counts = _store_counts(scenario.store_url)
    assert counts["articles"] == counts["articles_ok"] == counts["classified"] == 16, counts
    assert set(counts["outbox"]) == {"sent"}, counts
    _check_slack(scenario.slack, counts["events"])
    cluster.stop("worker-1")


@pytest.mark.parametrize("scenario", [1.5], indirect=True)  # 1.5 s per request: fetch_pages lasts ~15 s
def test_killing_the_worker_mid_run_loses_nothing_and_posts_nothing_twice(cluster, scenario):
    first = cluster.start_worker("worker-2", scenario.env)
    run_id = cluster.trigger()
    deadline = time.monotonic() + 180
    while True:  # until fetch_pages is running and has fetched a few pages, but not all
        fetch = [t for t in cluster.task_instances(run_id) if t["task_id"] == "fetch_pages"]
        pages = sum(n for path, n in scenario.web.hits.items() if path.endswith(".html"))
        if fetch and fetch[0]["state"] == "running" and pages >= 3:
            break
        assert cluster.run_state(run_id) in ("queued", "running"), cluster.diagnostics()
        assert time.monotonic() < deadline, f"fetch_pages never got going:\n{cluster.diagnostics()}"
        time.sleep(0.5)
    assert pages < 16, "the run was too fast to be interrupted"
    _kill_tree(first.pid)
    cluster.processes.pop("worker-2")
    killed_at = time.monotonic()

    cluster.start_worker("worker-3", scenario.env)
    state = cluster.wait_for_run(run_id, timeout=300)
    assert state == "success", cluster.diagnostics()
    assert time.monotonic() - killed_at > HEARTBEAT_TIMEOUT_S  # it really had to wait for the dead task

    tis = {(t["task_id"], t["map_index"]): t for t in cluster.task_instances(run_id)}
    assert {t["state"] for t in tis.values()} == {"success"}
    assert tis[("fetch_pages", -1)]["try_number"] >= 2
    assert ("fetch_pages", -1, 1) in _workloads(cluster.log("worker-2"))
    retried = _workloads(cluster.log("worker-3"))
    assert any(task == "fetch_pages" and tries >= 2 for task, _, tries in retried), retried
    assert {("send_alerts", -1), ("summarise", -1)} <= {(task, i) for task, i, _ in retried}

    counts = _store_counts(scenario.store_url)
    assert counts["articles"] == counts["articles_ok"] == counts["classified"] == 16, counts  # nothing lost
    assert set(counts["outbox"]) == {"sent"}, counts
    _check_slack(scenario.slack, counts["events"])  # nothing posted twice
    cluster.stop("worker-3")
