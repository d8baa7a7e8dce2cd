"""The morocco_ai_watch DAG: structure, and real `airflow dags test` runs on the local news web."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from aiwatch.devserver import Route
from conftest import REPO

AIRFLOW = str(Path(sys.executable).with_name("airflow"))
pytestmark = pytest.mark.airflow


@pytest.fixture(scope="module")
def dag():
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(REPO / "dags"), load_op_links=False)
    assert bag.import_errors == {}
    return bag.dags["morocco_ai_watch"]


def test_dag_loads_with_expected_schedule_and_policies(dag):
    assert dag is not None
    assert dag.catchup is False and dag.max_active_runs == 1
    assert dag.timetable.expression == "*/20 * * * *"
    poll = dag.get_task("poll_feed")
    assert poll.map_index_template == "{{ feed_name }}"
    assert type(poll).__name__.endswith("MappedOperator")  # one task instance per feed
    for task in dag.tasks:
        assert task.retries == 2 and task.retry_exponential_backoff, task.task_id
    assert dag.get_task("fetch_pages").trigger_rule == "all_done"
    assert dag.get_task("summarise").trigger_rule == "all_done"
    assert set(dag.get_task("poll_feed").downstream_task_ids) == {"fetch_pages"}
    assert dag.get_task("classify").upstream_task_ids == {"fetch_pages"}
    assert dag.get_task("group_events").upstream_task_ids == {"classify"}
    assert dag.get_task("send_alerts").upstream_task_ids == {"compose_alerts"}
    assert dag.get_task("send_alerts").trigger_rule == "all_done"
    assert all(t.on_failure_callback for t in dag.tasks)


def test_schedule_is_configurable():
    code = ("import os; os.environ['WATCH_SCHEDULE']='@hourly';"
            "from airflow.dag_processing.dagbag import DagBag;"
            f"b=DagBag(dag_folder={str(REPO / 'dags')!r}, load_op_links=False);"
            "print(b.dags[\"morocco_ai_watch\"].timetable.expression)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip().splitlines()[-1] in {"@hourly", "0 * * * *"}, out.stderr[-2000:]


@pytest.fixture(scope="module")
def fresh_home(tmp_path_factory, model_registry) -> dict[str, str]:
    """A brand-new AIRFLOW_HOME outside the repo, migrated once, as a newcomer would have it."""
    home = tmp_path_factory.mktemp("airflow-home")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "WATCH_"))}
    env.update(AIRFLOW_HOME=str(home), AIRFLOW__CORE__DAGS_FOLDER=str(REPO / "dags"),
               AIRFLOW__CORE__PLUGINS_FOLDER=str(REPO / "plugins"), AIRFLOW__CORE__LOAD_EXAMPLES="False",
               WATCH_MODEL_DIR=str(model_registry))
    done = subprocess.run([AIRFLOW, "db", "migrate"], env=env, capture_output=True, text=True, timeout=300,
                          cwd=home)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return env


def dags_test(env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([AIRFLOW, "dags", "test", "morocco_ai_watch"], env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=600)


def slack_connection(slack, token: str = "xoxb-test") -> str:
    """The Slack connection as a user sets it (README): token as password, the API's base_url as extra."""
    return json.dumps({"conn_type": "slack", "password": token, "extra": {"base_url": slack.base_url, "timeout": 5}})


def test_dags_test_end_to_end_from_a_foreign_directory(fresh_home, demo_server, tmp_path, slack):
    demo_server.add("/broken/feed.xml", Route(status=500, body=b"down"))
    feeds = [{"name": name, "url": demo_server.url(f"/{name}/feed.xml"), "lang": lang}
             for name, lang in [("atlas-tech", "fr"), ("maghreb-wire", "en"), ("akhbar-raqmiya", "ar")]]
    feeds.append({"name": "broken", "url": demo_server.url("/broken/feed.xml")})
    feeds_file = tmp_path / "feeds.yaml"
    feeds_file.write_text(yaml.safe_dump({"feeds": feeds}), encoding="utf-8")
    db = tmp_path / "watch.db"
    env = dict(fresh_home, WATCH_FEEDS_FILE=str(feeds_file), WATCH_DB_URL=f"sqlite:///{db}",
               WATCH_ALLOW_PRIVATE_NETWORKS="1", AIRFLOW_CONN_SLACK_API_DEFAULT=slack_connection(slack))
    workdir = tmp_path / "elsewhere"
    workdir.mkdir()

    first = dags_test(env, workdir)
    assert first.returncode == 0, first.stdout[-4000:] + first.stderr[-4000:]
    store = sqlite3.connect(db)
    assert store.execute("select count(*) from articles").fetchone()[0] == 16
    assert store.execute("select count(*) from articles where fetch_status='ok'").fetchone()[0] == 16
    summaries = [json.loads(s) for (s,) in store.execute("select stats from cycle_steps where step='summary'")]
    assert summaries[-1]["new_articles"] == 16 and summaries[-1]["feeds_ok"] == 3
    assert "http-500" in summaries[-1]["feeds_failed"]["broken"]

    meta = sqlite3.connect(Path(fresh_home["AIRFLOW_HOME"]) / "airflow.db")
    polls = dict(meta.execute("select rendered_map_index, state from task_instance where task_id='poll_feed'"))
    assert polls == {"atlas-tech": "success", "maghreb-wire": "success", "akhbar-raqmiya": "success",
                     "broken": "failed"}
    others = dict(meta.execute("select task_id, state from task_instance where task_id != 'poll_feed'"))
    assert others == {"prepare": "success", "fetch_pages": "success", "classify": "success", "group_events": "success",
                      "compose_alerts": "success", "send_alerts": "success", "summarise": "success"}
    verdicts = dict(store.execute("select a.url, c.label from classifications c join articles a on a.id = c.article_id"))
    assert len(verdicts) == 16
    positives = {url.rsplit("/", 1)[-1].split("?")[0] for url, label in verdicts.items() if label == 1}
    assert {"maroc-mistral-ai-memorandum-transition-numerique.html", "morocco-signs-ai-memorandum-with-mistral.html",
            "maghrib-mistral-mudhakkirat-tafahum-dhakaa-istinaei.html",
            "morocco-openai-talks-un-general-assembly.html"} <= positives
    assert not positives & {"chaleur-tardive-marrakech-beni-mellal-41-degres.html",
                            "multaqa-rabat-alaab-al-quwa-raqm-qiyasi.html",
                            "hydrogene-vert-guelmim-consortium-germano-marocain.html"}

    # Slack: one alert per partnership event, later coverage in its thread, negatives silent.
    alerts = slack.messages("#morocco-ai-watch")
    events = store.execute("select count(*) from events").fetchone()[0]
    assert len(alerts) == events >= 2
    heads = [" ".join(b["text"]["text"] for b in m["blocks"] if b["type"] == "header") for m in alerts]
    mistral = [m for m, h in zip(alerts, heads, strict=True) if "Mistral" in h]
    assert len(mistral) == 1 and len(slack.replies(mistral[0]["ts"])) == 2, heads
    assert not [h for h in heads if any(w in h.lower() for w in ("hydrog", "football", "mondial", "chaleur"))]
    # The broken feed's failed task told the ops channel, through Airflow's Slack notifier.
    ops = slack.messages("#morocco-ai-watch-ops")
    assert any("poll_feed" in m["text"] and "broken" in m["text"] for m in ops), ops
    posted = len(slack.posts)

    second = dags_test(env, workdir)
    assert second.returncode == 0, second.stdout[-4000:] + second.stderr[-4000:]
    new_posts = slack.posts[posted:]
    assert [p for p in new_posts if p["channel"] == slack.channel_id("#morocco-ai-watch")] == []
    summaries = [json.loads(s) for (s,) in store.execute("select stats from cycle_steps where step='summary' order by at")]
    assert summaries[-1]["feeds_unchanged"] == 3 and summaries[-1]["new_articles"] == 0
    assert store.execute("select count(*) from articles").fetchone()[0] == 16
    assert sum(demo_server.not_modified.values()) == 3


def test_feeds_polled_in_groups_per_task_instance_keep_per_feed_health(fresh_home, demo_server, tmp_path):
    """WATCH_FEEDS_PER_TASK=3: one poll_feed task instance per three feeds, named after them; a failing
    feed fails its task but its group's other feeds are stored, and every feed keeps its own record."""
    demo_server.add("/broken/feed.xml", Route(status=500, body=b"down"))
    names = [("atlas-tech", "fr"), ("broken", None), ("maghreb-wire", "en"), ("akhbar-raqmiya", "ar")]
    feeds = [{"name": name, "url": demo_server.url(f"/{name}/feed.xml"), **({"lang": lang} if lang else {})}
             for name, lang in names]
    feeds_file = tmp_path / "feeds.yaml"
    feeds_file.write_text(yaml.safe_dump({"feeds": feeds}), encoding="utf-8")
    db = tmp_path / "watch.db"
    env = dict(fresh_home, WATCH_FEEDS_FILE=str(feeds_file), WATCH_DB_URL=f"sqlite:///{db}",
               WATCH_ALLOW_PRIVATE_NETWORKS="1", WATCH_FEEDS_PER_TASK="3")
    run = dags_test(env, tmp_path)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    meta = sqlite3.connect(Path(fresh_home["AIRFLOW_HOME"]) / "airflow.db")
    run_id = meta.execute("select run_id from dag_run order by id desc limit 1").fetchone()[0]
    polls = dict(meta.execute("select rendered_map_index, state from task_instance where task_id='poll_feed' "
                              "and run_id=?", (run_id,)))
    assert polls == {"atlas-tech, broken, maghreb-wire": "failed", "akhbar-raqmiya": "success"}
    store = sqlite3.connect(db)
    assert store.execute("select count(*) from articles").fetchone()[0] == 16   # the failing feed's group too
    health = dict(store.execute("select name, last_status from feeds"))
    assert health == {"atlas-tech": "ok", "broken": "failed", "maghreb-wire": "ok", "akhbar-raqmiya": "ok"}
    summary = json.loads(store.execute("select stats from cycle_steps where step='summary' order by at desc")
                         .fetchone()[0])
    assert summary["feeds_ok"] == 3 and list(summary["feeds_failed"]) == ["broken"]
    log = run.stdout + run.stderr
    assert "polled 3 feeds in this task: 2 ok, 1 failed (broken), 0 skipped (none)" in log
    assert "1 of 3 feeds failed (the others are stored): feed=broken" in log


@pytest.fixture
def slack():
    from slack_standin import SlackStandIn

    with SlackStandIn(token="xoxb-test") as standin:
        yield standin


def test_a_bad_slack_token_fails_send_alerts_loudly_and_feedback_labels_reach_the_asset(
        fresh_home, demo_server, tmp_path, slack):
    feeds_file = tmp_path / "feeds.yaml"
    feeds_file.write_text(yaml.safe_dump({"feeds": [
        {"name": "maghreb-wire", "url": demo_server.url("/maghreb-wire/feed.xml"), "lang": "en"}]}), encoding="utf-8")
    db = tmp_path / "watch.db"
    env = dict(fresh_home, WATCH_FEEDS_FILE=str(feeds_file), WATCH_DB_URL=f"sqlite:///{db}",
               WATCH_ALLOW_PRIVATE_NETWORKS="1", AIRFLOW_CONN_SLACK_API_DEFAULT=slack_connection(slack, "xoxb-bad"))
    bad = dags_test(env, tmp_path)
    meta = sqlite3.connect(Path(fresh_home["AIRFLOW_HOME"]) / "airflow.db")
    states = dict(meta.execute("select task_id, state from task_instance where task_id='send_alerts' "
                               "order by start_date desc limit 1"))
    assert states == {"send_alerts": "failed"}, bad.stdout[-3000:]
    assert "invalid_auth" in bad.stdout + bad.stderr
    assert slack.posts == []
    pending = sqlite3.connect(db).execute("select count(*) from outbox where state='pending'").fetchone()[0]
    assert pending > 0  # nothing lost: the alerts wait for a good token

    env["AIRFLOW_CONN_SLACK_API_DEFAULT"] = slack_connection(slack)
    good = dags_test(env, tmp_path)
    assert good.returncode == 0, good.stdout[-3000:]
    alerts = slack.messages("#morocco-ai-watch")
    assert alerts and len({m["metadata"]["event_payload"]["key"] for m in slack.posts}) == len(slack.posts)

    slack.react("#morocco-ai-watch", alerts[0]["ts"], "white_check_mark", "U42")
    env["WATCH_RETRAIN_MIN_LABELS"] = "1"
    done = subprocess.run([AIRFLOW, "dags", "test", "collect_feedback"], env=env, cwd=tmp_path, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    labels = sqlite3.connect(db).execute("select label, source, who from labels").fetchall()
    assert labels == [(1, "slack", "U42")]
    events = meta.execute("select a.name from asset_event e join asset a on a.id = e.asset_id").fetchall()
    assert ("morocco_ai_watch_labels",) in events
    # The same vote read again moves nothing: no new asset event, so no retraining every hour.
    again = subprocess.run([AIRFLOW, "dags", "test", "collect_feedback"], env=env, cwd=tmp_path, capture_output=True,
                           text=True, timeout=600)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    assert meta.execute("select count(*) from asset_event").fetchone()[0] == len(events)


def _closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_run_dag_command_when_every_feed_is_unreachable(fresh_home, tmp_path):
    """What `make run` does on a machine without internet: every feed fails cleanly, the summary says so,
    and the run fails (the summarise task is red) instead of looking like a healthy cycle."""
    port = _closed_port()
    feeds_file = tmp_path / "feeds.yaml"
    feeds_file.write_text(yaml.safe_dump({"feeds": [
        {"name": "one", "url": f"http://127.0.0.1:{port}/rss"},
        {"name": "two", "url": f"http://127.0.0.1:{port}/atom"}]}), encoding="utf-8")
    env = dict(fresh_home, WATCH_FEEDS_FILE=str(feeds_file), WATCH_DB_URL=f"sqlite:///{tmp_path / 'w.db'}",
               WATCH_ALLOW_PRIVATE_NETWORKS="1", WATCH_DATA_DIR=str(tmp_path))
    done = subprocess.run([sys.executable, "-m", "aiwatch.cli", "run-dag"], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=600)
    # Every feed down: the run is red (Airflow's home page shows a failed DAG), and the summary says why.
    assert done.returncode == 1, done.stdout[-4000:] + done.stderr[-4000:]
    assert "2 failed" in done.stdout and "FEEDS DOWN: every feed is down: 2 failed" in done.stdout
    assert "failed  one: connection" in done.stdout
    assert "alerts: dry-run (no Slack connection)" in done.stdout


def test_demo_command(fresh_home, tmp_path):
    env = dict(fresh_home, WATCH_DB_URL=f"sqlite:///{tmp_path / 'demo.db'}", WATCH_DEMO_PORT="0")
    done = subprocess.run([sys.executable, "-m", "aiwatch.demo"], env=env, cwd=tmp_path, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    assert "feeds: 3 polled: 3 ok" in done.stdout
    assert "articles: 16 new" in done.stdout and "pages: 16 extracted" in done.stdout


def test_retrain_dag_trains_compares_and_decides(fresh_home, model_registry, tmp_path):
    import shutil

    root = tmp_path / "models"
    shutil.copytree(model_registry, root)
    env = dict(fresh_home, WATCH_MODEL_DIR=str(root), WATCH_DB_URL=f"sqlite:///{tmp_path / 'w.db'}")
    done = subprocess.run([AIRFLOW, "dags", "test", "retrain_classifier"], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    decision = json.loads((root / "v0002" / "promotion.json").read_text())
    assert decision["live"] == "v0001" and "live_metrics" in decision
    live = (root / "LIVE").read_text().strip()
    assert live == ("v0002" if decision["promoted"] else "v0001")
    assert (root / "v0002" / "validation.pr_curve.png").is_file() and (root / "v0002" / "cv.confusion.png").is_file()


def test_retrain_dag_is_scheduled_on_the_labels_asset():
    from airflow.dag_processing.dagbag import DagBag
    from aiwatch.airflow_bridge import LABELS_ASSET

    dag = DagBag(dag_folder=str(REPO / "dags"), load_op_links=False).dags["retrain_classifier"]
    assert [a.name for a in dag.timetable.asset_condition.objects] == [LABELS_ASSET.name]


def test_make_up_serves_the_ui_with_the_printed_login(fresh_home, tmp_path):
    """`make up`: airflow standalone with our DAGs; the login it prints really works."""
    import signal
    import socket
    import time
    import urllib.request

    with socket.socket() as sock:  # a free port (not Airflow's log-server ports 8793/8794)
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    home = tmp_path / "home"
    home.mkdir()
    env = dict(fresh_home, AIRFLOW_HOME=str(home), AIRFLOW__API__PORT=str(port), PATH="/usr/bin:/bin",
               WATCH_DB_URL=f"sqlite:///{tmp_path / 'w.db'}")
    log = (tmp_path / "up.log").open("w")
    process = subprocess.Popen([sys.executable, "-m", "aiwatch.cli", "standalone"], env=env, stdout=log,
                               stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                if urllib.request.urlopen(f"{base}/api/v2/monitor/health", timeout=2).status == 200:
                    break
            except OSError:
                time.sleep(2)
        else:
            pytest.fail("api-server never became healthy:\n" + (tmp_path / "up.log").read_text()[-3000:])
        banner = (tmp_path / "up.log").read_text()
        assert f"Airflow UI:  http://localhost:{port}" in banner
        password = banner.split("login:")[1].split("/")[1].split()[0]
        request = urllib.request.Request(f"{base}/auth/token", method="POST", headers={"Content-Type": "application/json"},
                                         data=json.dumps({"username": "admin", "password": password}).encode())
        token = json.loads(urllib.request.urlopen(request, timeout=10).read())["access_token"]
        dag_ids: list[str] = []
        while time.monotonic() < deadline and not dag_ids:
            listing = urllib.request.urlopen(urllib.request.Request(
                f"{base}/api/v2/dags", headers={"Authorization": f"Bearer {token}"}), timeout=10)
            dag_ids = sorted(d["dag_id"] for d in json.loads(listing.read())["dags"])
            time.sleep(0 if dag_ids else 3)
        assert dag_ids == ["collect_feedback", "morocco_ai_watch", "retrain_classifier"]
    finally:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
        stop_processes_of_home(home)
        log.close()


def stop_processes_of_home(home: Path) -> None:
    """Airflow components detach into sessions of their own: find them by their AIRFLOW_HOME."""
    import psutil

    def ours(proc: psutil.Process) -> bool:
        try:
            return proc.environ().get("AIRFLOW_HOME") == str(home)
        except (psutil.Error, OSError):
            return False

    procs = [p for p in psutil.process_iter() if p.pid != os.getpid() and ours(p)]
    for proc in procs:
        proc.terminate()
    _, alive = psutil.wait_procs(procs, timeout=15)
    for proc in alive:
        proc.kill()
    psutil.wait_procs(alive, timeout=5)
    assert not [p for p in psutil.process_iter() if ours(p) and p.status() != psutil.STATUS_ZOMBIE]
