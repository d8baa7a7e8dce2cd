"""The operator view's JSON API and pages, in-process, against a store filled by a real cycle.

The cycle runs over the demo news web plus a failing feed and a feed with a hostile headline, and
delivers to the Slack stand-in (one post refused by Slack, so one alert is failed, the others sent).
Authentication is Airflow's own: a real SimpleAuthManager on the test session's migrated Airflow home
issues the JWT, and the app checks it with Airflow's dependency. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import pytest
from aiwatch.devserver import Route
from conftest import REPO, write_feeds

sys.path.append(str(REPO / "plugins"))  # Airflow puts the plugins folder on sys.path; so do we

from aiwatch_ui import queries  # noqa: E402
from aiwatch_ui.airflow_meta import DagRunInfo  # noqa: E402
from aiwatch_ui.app import CSRF_HEADER, Deps, create_app  # noqa: E402

AIRFLOW = str(Path(sys.executable).with_name("airflow"))
DEMO_FEEDS = [("atlas-tech", "fr"), ("maghreb-wire", "en"), ("akhbar-raqmiya", "ar")]
HOSTILE_TITLE = "<script>alert(1)</script>"
HOST_LIKE = re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}\b|localhost|:\d+\b")  # an address or host:port as a name
# A headline that, once the feed's own escaping is undone, is literally a script tag (as a story about
# cross-site scripting would be): the pipeline keeps it as text, the view must show it as text.
HOSTILE_FEED = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Hostile Wire</title><link>{base}/hostile/</link>
<description>a feed whose headlines carry markup</description>
<item><title>&amp;lt;script&amp;gt;alert(1)&amp;lt;/script&amp;gt;</title><link>{base}/hostile/mistral.html</link>
<guid>hostile-1</guid><pubDate>Wed, 01 Oct 2025 09:00:00 GMT</pubDate>
<description>Morocco's digital transition ministry and Mistral AI signed a memorandum of understanding on
artificial intelligence, a new partnership on sovereign AI models and training.</description></item>
</channel></rss>"""
HOSTILE_PAGE = """<!doctype html><html><head><title>&lt;script&gt;alert(1)&lt;/script&gt;</title></head><body>
<article><h1>&lt;script&gt;alert(1)&lt;/script&gt;</h1>
<p>Rabat - Morocco's Ministry of Digital Transition and the French start-up Mistral AI signed a memorandum
of understanding on artificial intelligence on Tuesday, a new partnership covering sovereign language models,
training for Moroccan engineers and the use of AI in public services.</p>
<p>The memorandum, signed in Rabat by the minister and Mistral AI's chief executive, sets up a joint working
group and a programme of pilot projects in Arabic, Amazigh and French over the next two years.</p>
</article></body></html>"""


@dataclass(frozen=True)
class FakeAirflow:
    """Airflow's metadata as the api-server would read it (the real reader is exercised in the browser test)."""

    map_indexes: dict[tuple[str, str], int]
    retrain: DagRunInfo | None = None

    def poll_map_indexes(self, run_ids: list[str]) -> dict[tuple[str, str], int]:
        return {k: v for k, v in self.map_indexes.items() if k[0] in run_ids}

    def last_run(self, dag_id: str) -> DagRunInfo | None:
        return self.retrain if dag_id == "retrain_classifier" else None


@pytest.fixture(scope="module")
def auth_manager():
    """Airflow's SimpleAuthManager on the session's throw-away Airflow home, migrated once."""
    done = subprocess.run([AIRFLOW, "db", "migrate"], env=dict(os.environ), capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    from airflow.api_fastapi.app import init_auth_manager
    from fastapi import FastAPI

    return init_auth_manager(FastAPI())


@pytest.fixture(scope="module")
def token(auth_manager) -> str:
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

    return auth_manager.generate_jwt(SimpleAuthManagerUser(username="admin", role="admin"))


@pytest.fixture
def filled(settings, store_url, demo_server, tmp_path):
    """A store after one real cycle: 3 demo feeds, a failing feed, a hostile feed; one Slack post refused."""
    from aiwatch.cycle import run_cycle
    from aiwatch.slack.gateway import SlackGateway, make_client
    from slack_standin import SlackStandIn

    demo_server.add("/broken/feed.xml", Route(status=500, body=b"down"))
    demo_server.add("/hostile/feed.xml", Route(body=HOSTILE_FEED.format(base=demo_server.base_url).encode(),
                                               content_type="application/rss+xml"))
    demo_server.add("/hostile/mistral.html", Route(body=HOSTILE_PAGE.encode()))
    feeds = [{"name": n, "url": demo_server.url(f"/{n}/feed.xml"), "lang": lang} for n, lang in DEMO_FEEDS]
    feeds += [{"name": "broken", "url": demo_server.url("/broken/feed.xml")},
              {"name": "hostile", "url": demo_server.url("/hostile/feed.xml"), "lang": "en"}]
    settings = settings.with_(db_url=store_url, outbox_file=tmp_path / "outbox.jsonl")
    write_feeds(settings, feeds)
    with SlackStandIn(token="xoxb-test") as slack:
        slack.fail_next("chat.postMessage", "msg_too_long")
        gateway = SlackGateway(make_client("xoxb-test", base_url=slack.base_url, timeout_s=3), sleep=lambda _s: None)
        summary = run_cycle(settings, run_id="manual__2026-01-01T00:00:00+00:00", gateway=gateway)
    assert summary.missing_steps == []
    return settings


def client_for(settings, airflow: FakeAirflow | None = None, token: str | None = None):
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    root = FastAPI()  # as the api-server does: our app mounted under /aiwatch
    root.mount("/aiwatch", create_app(Deps(settings=lambda: settings, airflow=airflow or FakeAirflow({}))))
    client = TestClient(root, base_url="http://127.0.0.1", follow_redirects=False)
    if token:
        client.headers["Authorization"] = f"Bearer {token}"
    return client


def test_every_route_requires_an_airflow_user(settings, auth_manager, token):
    client = client_for(settings)
    for path in ("/aiwatch/api/feeds", "/aiwatch/api/events", "/aiwatch/api/model", "/aiwatch/api/review"):
        assert client.get(path).status_code == 401, path
        assert client.get(path, headers={"Authorization": "Bearer not-a-jwt"}).status_code in (401, 403), path
    assert client.post("/aiwatch/api/outbox/requeue", json={"key": "x"},
                       headers={CSRF_HEADER: "1"}).status_code == 401
    assert client.post("/aiwatch/api/labels", json={"article_id": 1, "label": 1},
                       headers={CSRF_HEADER: "1"}).status_code == 401
    assert client.get("/aiwatch/review").status_code == 303
    page = client.get("/aiwatch/feeds?sort=name")
    assert page.status_code == 303
    assert page.headers["location"].startswith("/auth/login") and "next=%2Faiwatch%2Ffeeds" in page.headers["location"]
    # The UI's session cookie is enough, as for the rest of the Airflow UI.
    client.cookies.set("_token", token)
    assert client.get("/aiwatch/api/feeds").status_code == 200


def test_feeds_api_reports_health_errors_in_words_and_links_the_failing_poll(filled, token):
    run_id = "manual__2026-01-01T00:00:00+00:00"
    client = client_for(filled, FakeAirflow({(run_id, "broken"): 3}), token)
    data = client.get("/aiwatch/api/feeds").json()
    by_name = {f["name"]: f for f in data["items"]}
    assert set(by_name) == {"atlas-tech", "maghreb-wire", "akhbar-raqmiya", "broken", "hostile"}
    assert data["total"] == 5 and data["counts"] == {"failing": 1, "stale": 0, "ok": 4, "paused": 0}
    broken = by_name["broken"]
    assert data["items"][0]["name"] == "broken"  # default sort: failing first
    assert broken["status"] == "failing" and broken["consecutive_failures"] == 1
    assert broken["last_error_words"] == "the server answered HTTP 500 (Internal Server Error)"
    assert "500" in broken["last_error"] and broken["last_ok_at"] is None
    assert broken["log_url"] == "/dags/morocco_ai_watch/runs/manual__2026-01-01T00%3A00%3A00%2B00%3A00/tasks/poll_feed/mapped/3"
    wire = by_name["maghreb-wire"]
    assert wire["status"] == "ok" and wire["log_url"] is None and wire["last_error"] is None
    assert wire["entries_seen"] == 5 and wire["articles"] == 5
    assert wire["pages_extracted"] == 5 and wire["extracted_share"] == 1.0
    assert sum(f["articles"] for f in data["items"]) == 17

    names = [f["name"] for f in client.get("/aiwatch/api/feeds?sort=name").json()["items"]]
    assert names == sorted(names)
    ranked = client.get("/aiwatch/api/feeds?sort=entries_seen&desc=true&limit=2&offset=1").json()
    assert ranked["total"] == 5 and len(ranked["items"]) == 2
    everything = client.get("/aiwatch/api/feeds?sort=entries_seen&desc=true").json()["items"]
    assert [f["name"] for f in ranked["items"]] == [f["name"] for f in everything[1:3]]
    assert everything[0]["entries_seen"] >= everything[-1]["entries_seen"]
    assert client.get("/aiwatch/api/feeds?sort=password").status_code == 422
    assert client.get("/aiwatch/api/feeds?limit=100000").status_code == 422

    # A feed not polled for longer than a day is stale, not ok.
    later = queries.feeds(Store_(filled), datetime(2100, 1, 1, tzinfo=UTC))
    assert {r.name: r.status for r in later.items}["maghreb-wire"] == "stale"


def Store_(settings):  # noqa: N802 - a tiny helper
    from aiwatch.store import Store

    return Store(settings.db_url)


def test_events_api_shows_articles_and_alert_states_and_requeues_a_failed_alert(filled, token):
    client = client_for(filled, token=token)
    data = client.get("/aiwatch/api/events").json()
    assert data["total"] == len(data["items"]) >= 2
    mistral = [e for e in data["items"] if any("Mistral" in p for p in e["partners"])]
    event = max(mistral, key=lambda e: e["article_count"])  # the demo web's three reports of the memorandum
    outlets = {a["outlet"] for a in event["articles"]}
    assert len(event["articles"]) == event["article_count"] >= 3 and len(outlets) >= 2
    assert {a["lang"] for a in event["articles"]} >= {"fr", "en", "ar"}
    assert all(0.5 <= a["score"] <= 1 and a["model_version"] == "v0001" for a in event["articles"])
    assert HOSTILE_TITLE in [a["title"] for e in data["items"] for a in e["articles"]]  # stored as sent, shown as text
    # Why each article is where it is, as the grouping step wrote it; outlets named as readers know them.
    every = [a for e in data["items"] for a in e["articles"]]
    assert all(a["reason"].strip() for a in every)
    assert all(a["reason"].startswith("new event") for a in every if a["role"] == "first")
    assert any(a["reason"].startswith("joined") for a in event["articles"] if a["role"] != "first")
    assert not [a["outlet"] for a in every if HOST_LIKE.search(a["outlet"])]
    assert "Hostile Wire" in {a["outlet"] for a in every}  # the feed's own <title>, not 127.0.0.1:port

    states = {e["alert_state"] for e in data["items"]}
    assert states == {"sent", "failed"}, states
    sent = next(e for e in data["items"] if e["alert_state"] == "sent")
    assert re.fullmatch(r"https://slack\.com/archives/C[A-Z0-9]+/p\d{16}", sent["alert"]["slack_url"])
    failed = next(e for e in data["items"] if e["alert_state"] == "failed")
    assert "msg_too_long" in failed["alert"]["last_error"]
    assert [m["key"] for m in failed["failed"]] == [failed["alert"]["key"]]
    assert data["alert_counts"]["failed"] == 1

    key = failed["alert"]["key"]
    assert client.post("/aiwatch/api/outbox/requeue", json={"key": key}).status_code == 403  # no CSRF header
    assert client.post("/aiwatch/api/outbox/requeue", data={"key": key},
                       headers={CSRF_HEADER: "1"}).status_code in (403, 422)  # a form post
    done = client.post("/aiwatch/api/outbox/requeue", json={"key": key}, headers={CSRF_HEADER: "1"})
    assert done.status_code == 200 and done.json() == {"key": key, "requeued": True, "state": "pending"}
    again = client.post("/aiwatch/api/outbox/requeue", json={"key": key}, headers={CSRF_HEADER: "1"})
    assert again.status_code == 409
    assert client.post("/aiwatch/api/outbox/requeue", json={"key": "alert:nope"},
                       headers={CSRF_HEADER: "1"}).status_code == 404
    after = {e["id"]: e for e in client.get("/aiwatch/api/events").json()["items"]}
    assert after[failed["id"]]["alert_state"] == "pending" and after[failed["id"]]["failed"] == []

    first = client.get("/aiwatch/api/events?limit=1").json()
    second = client.get("/aiwatch/api/events?limit=1&offset=1").json()
    assert first["items"][0]["id"] == data["items"][0]["id"] and second["items"][0]["id"] == data["items"][1]["id"]


def test_model_api_lists_versions_plots_labels_and_the_last_retraining(filled, token):
    from aiwatch.store import Store
    from aiwatch.store.labels import add_label

    store = Store(filled.db_url)
    add_label(store, 1, 1, "slack", who="U1")
    add_label(store, 2, 0, "file", who="analyst", at=datetime(2000, 1, 1, tzinfo=UTC))  # before the training
    run = DagRunInfo(dag_id="retrain_classifier", run_id="asset_triggered__2026-01-02T00:00:00+00:00",
                     state="success", run_type="asset_triggered", queued_at=None,
                     start_date=datetime(2026, 1, 2, tzinfo=UTC), end_date=datetime(2026, 1, 2, 0, 1, tzinfo=UTC))
    client = client_for(filled, FakeAirflow({}, run), token)
    data = client.get("/aiwatch/api/model").json()
    model = data["model"]
    assert model["live"] == "v0001" and [v["name"] for v in model["versions"]] == ["v0001"]
    version = model["versions"][0]
    assert version["live"] and 0.5 < version["metrics"]["f1"] <= 1 and version["threshold"] > 0
    assert version["plots"] == ["cv.confusion.png", "cv.pr_curve.png", "validation.confusion.png",
                                "validation.pr_curve.png"]
    # The validation split's evaluation is kept with the version at training: figures, per language,
    # per category, and the misclassified items with the model's explanation.
    assert 0.5 < version["validation"]["f1"] <= 1 and version["validation"]["n"] >= 200
    evaluation = version["evaluation"]
    assert set(evaluation["per_language"]) == {"fr", "en", "ar", "es"}
    assert evaluation["by_category"]
    assert len(evaluation["misclassified"]) == min(evaluation["misclassified_total"], queries.MISCLASSIFIED_SHOWN)
    assert all(item["explanation"] for item in evaluation["misclassified"])
    assert model["labels_total"] == 2 and model["labels_since_training"] == 1
    assert data["retrain_last_run"]["state"] == "success"
    assert data["retrain_run_url"] == "/dags/retrain_classifier/runs/asset_triggered__2026-01-02T00%3A00%3A00%2B00%3A00"
    for url in data["plot_urls"]["v0001"]:
        png = client.get(url)
        assert png.status_code == 200 and png.headers["content-type"] == "image/png" and png.content[:4] == b"\x89PNG"
    assert client.get("/aiwatch/api/model/versions/v0001/plots/..%2Fmeta.json").status_code == 404
    assert client.get("/aiwatch/api/model/versions/v0001/plots/meta.json").status_code == 404
    page = client.get("/aiwatch/model").text
    assert "v0001" in page and "asset_triggered__2026-01-02" in page and 'id="labels-since">1 ' in page
    assert "Live model v0001 on the validation split" in page and 'id="validation-figures"' in page
    assert re.search(r'<td class="when">\d{4}-\d\d-\d\d \d\d:\d\d UTC</td>', page)   # not an ISO string
    assert 'id="last-retraining"' not in page   # no retraining decided yet


def test_model_page_shows_the_last_retraining_beside_the_live_model(filled, token, tmp_path):
    """A candidate kept back: its figures and the live model's side by side, with the decision's words."""
    import json
    import shutil

    models = tmp_path / "models"
    shutil.copytree(filled.models, models)
    shutil.copytree(models / "v0001", models / "v0002")
    meta = json.loads((models / "v0002" / "meta.json").read_text(encoding="utf-8"))
    meta.update(version="v0002", created_at="2099-01-01T00:00:00+00:00")
    (models / "v0002" / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
    (models / "v0002" / "validation.json").unlink()
    candidate = {"n": 240, "precision": 0.9688, "recall": 0.9, "f1": 0.9331, "average_precision": 0.97,
                 "per_language": {"fr": {"n": 60, "precision": 1.0, "recall": 0.9, "f1": 0.947}}, "misclassified": []}
    live = {"n": 240, "precision": 0.9692, "recall": 0.95, "f1": 0.9595, "average_precision": 0.98}
    (models / "v0002" / "promotion.json").write_text(json.dumps(
        {"candidate": "v0002", "live": "v0001", "candidate_metrics": candidate, "live_metrics": live,
         "promoted": False, "reason": "precision 0.9688 < live 0.9692, F1 0.9331 < live 0.9595"}), encoding="utf-8")
    client = client_for(filled.with_(model_dir=models), token=token)
    model = client.get("/aiwatch/api/model").json()["model"]
    assert model["last_decision"] == "v0002"
    v2 = next(v for v in model["versions"] if v["name"] == "v0002")
    assert v2["validation"]["precision"] == 0.9688 and v2["promotion"]["live_metrics"]["f1"] == 0.9595
    page = client.get("/aiwatch/model").text
    section = re.search(r'<section id="last-retraining">(.*?)</section>', page, re.S).group(1)
    assert "candidate v0002 beside the live model v0001" in section and "kept back" in section
    assert "precision 0.9688 &lt; live 0.9692" in section
    rows = re.findall(r"<tr><th scope=\"row\">(.*?)</th>(.*?)</tr>", section, re.S)
    assert [name for name, _ in rows] == ["candidate v0002", "live v0001"]
    assert "0.969" in rows[0][1] and "0.933" in rows[0][1] and "0.960" in rows[1][1]


def test_pages_escape_every_value_from_a_feed(filled, token):
    client = client_for(filled, token=token)
    events = client.get("/aiwatch/events")
    assert events.status_code == 200 and events.headers["content-type"].startswith("text/html")
    assert HOSTILE_TITLE not in events.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in events.text
    ours = ('<script src="static/ui.js" defer></script>', '<script src="static/theme.js"></script>')
    assert "<script" not in events.text.replace(ours[0], "").replace(ours[1], "")
    assert "Mistral" in events.text and "msg_too_long" in events.text and 'class="requeue"' in events.text
    feeds = client.get("/aiwatch/feeds?sort=name&desc=true")
    assert feeds.status_code == 200 and 'aria-sort="descending"' in feeds.text
    assert feeds.text.index('data-feed="maghreb-wire"') < feeds.text.index('data-feed="atlas-tech"')
    assert "the server answered HTTP 500" in feeds.text
    assert client.get("/aiwatch/static/ui.js").status_code == 200


def test_events_show_why_each_article_is_there_and_name_outlets_as_slack_does(settings, store_url, token):
    """Articles placed through the store's own writes: each shows its placement reason (escaped, whole,
    an em dash when there is none), and its outlet under the name Slack replies use: an aggregator
    entry's source, the feed list's ``title:``, the feed's <title>, else the feed's name; never the
    host:port the feeds were served from."""
    from aiwatch.config import Feed
    from aiwatch.feeds import FeedEntry, PollResult
    from aiwatch.store import Store, repo, upgrade
    from aiwatch.store import events as event_store

    store = Store(store_url)
    upgrade(store)
    base, host = "http://127.0.0.1:45201", "127.0.0.1:45201"
    feeds = {"gnews": Feed("gnews", f"{base}/gnews.xml", "fr"),  # an aggregator: each entry names its outlet
             "desk": Feed("desk", f"{base}/desk.xml", "fr", title="Le Desk"),  # the feed list names the outlet
             "matin": Feed("matin", f"{base}/matin.xml", "fr"),  # only the feed's own <title>
             "bare": Feed("bare", f"{base}/bare.xml", "en")}  # nothing but the feed's name
    own_titles = {"gnews": "Google Actualités", "desk": "ledesk.ma", "matin": "Le Matin - Économie", "bare": host}
    repo.sync_feeds(store, list(feeds.values()))
    published = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    stories = {"gnews": ("Mistral AI et le Maroc signent un mémorandum", "Un accord sur les modèles souverains."),
               "desk": ("Rabat s'allie à la start-up française Mistral", "Formation d'ingénieurs marocains à l'IA."),
               "matin": ("IA : le ministère noue un partenariat", "Projets pilotes en arabe, amazigh et français."),
               "bare": ("Morocco and Mistral AI sign an AI memorandum", "A joint working group for two years.")}
    ids = {}
    for name, feed in feeds.items():  # every feed served from one test host, as the demo web is
        title, summary = stories[name]
        entry = FeedEntry(link=f"{base}/{name}/mistral.html", guid=f"{name}-1", published=published, title=title,
                          summary=summary, outlet=host, source_name="Médias24" if name == "gnews" else None)
        counts = repo.add_entries(store, feed, [entry], "r1")
        repo.record_poll(store, "r1", feed, PollResult(name, "ok", entries=[entry], title=own_titles[name]), counts,
                         backoff_base_s=300, backoff_cap_s=3600)
        [ids[name]] = counts.new_ids
    repo.save_classifications(store, "v0001", [(i, 0.9, 1, "mou") for i in ids.values()])

    hostile = "<b>same parties</b> & Mistral AI; " + "figure 'MAD 2bn' " * 80  # longer than the 1000 kept
    reasons = {"gnews": "new event: no recent event shares a party, organisation, figure or name",
               "desk": hostile, "matin": "", "bare": "joined event 1: same kind (mou)\nsame date (score 3.0)"}
    new = event_store.NewEvent(key=f"article:{ids['gnews']}", partners=["Mistral AI"], moroccan=["MTNRA"],
                               kind="mou", headline="Morocco × Mistral AI: memorandum", signature="mistral")
    event_id = None
    for name in feeds:
        article = event_store.scored_article(store, ids[name])
        event, _role = event_store.place_article(store, article, event_id, None if event_id else new,
                                                 reasons[name], "r1")
        event_id = event.event_id

    client = client_for(settings.with_(db_url=store_url), token=token)
    [item] = client.get("/aiwatch/api/events").json()["items"]
    by_id = {a["article_id"]: a for a in item["articles"]}
    got = {name: by_id[i] for name, i in ids.items()}
    assert {n: a["reason"] for n, a in got.items()} == {**reasons, "desk": hostile[:1000]}
    assert {n: a["outlet"] for n, a in got.items()} == {"gnews": "Médias24", "desk": "Le Desk",
                                                        "matin": "Le Matin - Économie", "bare": "bare"}
    # The names the Slack thread uses for the same event, in the same order.
    assert list(dict.fromkeys(a["outlet"] for a in item["articles"])) == event_store.event_outlets(store, event_id)
    assert item["outlets"] == len(event_store.event_outlets(store, event_id)) == 4   # counted by name, as Slack does
    assert not [a["outlet"] for a in item["articles"] if HOST_LIKE.search(a["outlet"])]

    page = client.get("/aiwatch/events")
    assert page.status_code == 200 and "<th>Why here (grouping)</th>" in page.text
    html = page.text
    assert "<b>same parties" not in html and "&lt;b&gt;same parties&lt;/b&gt; &amp; Mistral AI" in html
    cells = dict(re.findall(r'<tr data-article="(\d+)">(.*?)</tr>', html, re.S))
    why = {name: re.search(r'<td class="why">(.*?)</td>', cells[str(i)], re.S).group(1) for name, i in ids.items()}
    assert why["matin"] == "—"  # no reason stored: an em dash, not an empty cell
    assert why["desk"] == hostile[:1000].replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") \
        .replace("'", "&#39;")  # the whole stored reason, escaped, not cut
    assert why["bare"] == "joined event 1: same kind (mou)\nsame date (score 3.0)"
    for name, outlet in (("gnews", "Médias24"), ("desk", "Le Desk"), ("matin", "Le Matin - Économie")):
        assert f"<td><bdi>{outlet}</bdi></td>" in cells[str(ids[name])]
    assert host not in re.sub(r'href="[^"]*"', "", html)  # the address is in the article links only


def test_openapi_schema_documents_the_api(settings):
    schema = client_for(settings).get("/aiwatch/openapi.json").json()
    assert set(schema["paths"]) == {"/api/feeds", "/api/events", "/api/outbox/requeue", "/api/model",
                                    "/api/model/versions/{version}/plots/{name}", "/api/review", "/api/labels",
                                    "/api/feeds/{name}/pause", "/api/feeds/{name}/poll"}
    writes = {"/api/outbox/requeue", "/api/labels", "/api/feeds/{name}/pause", "/api/feeds/{name}/poll"}
    assert all(list(schema["paths"][path]) == ["post"] for path in writes)
    assert all(list(ops) == ["get"] for path, ops in schema["paths"].items() if path not in writes)
    assert "ReviewPage" in schema["components"]["schemas"] and "LabelOut" in schema["components"]["schemas"]
    assert "FeedOut" in schema["components"]["schemas"] and "EventRow" in schema["components"]["schemas"]
    assert schema["paths"]["/api/feeds"]["get"]["security"]  # Airflow's bearer/OAuth2 scheme


def test_airflow_plugin_registers_the_app_and_the_nav_entry():
    from aiwatch_ui_plugin import AIWatchUIPlugin

    assert AIWatchUIPlugin.fastapi_apps[0]["url_prefix"] == "/aiwatch"
    view = AIWatchUIPlugin.external_views[0]
    assert view["name"] == "AI Watch" and view["icon"] == "aiwatch/static/icon.svg" and view["href"] == "aiwatch/" and view["destination"] == "nav"


def test_feed_credentials_never_reach_the_operators_view(tmp_path):
    """A feed URL may carry credentials (http://user:pass@host/feed): the view shows them redacted."""
    from datetime import UTC, datetime

    from aiwatch.config import Feed
    from aiwatch.store import Store, repo, upgrade
    from aiwatch_ui import queries

    store = Store(f"sqlite:///{tmp_path / 'w.db'}")
    upgrade(store)
    feed = Feed("private", "https://reader:hunter2@news.example/feed.xml", "fr")
    repo.sync_feeds(store, [feed])
    from aiwatch.feeds import PollResult

    repo.record_poll(store, "r1", feed, PollResult("private", "failed", reason="http-401",
                                                   error="http-401: https://reader:hunter2@news.example/feed.xml"),
                     None, backoff_base_s=300, backoff_cap_s=3600)
    page = queries.feeds(store, datetime.now(UTC))
    [row] = page.items
    assert "hunter2" not in row.url and "hunter2" not in (row.last_error or "")
    assert row.url == "https://***@news.example/feed.xml"


def test_a_given_up_page_shows_in_the_feeds_view_with_its_reason(settings, demo_server, tmp_path, token):
    """A page that failed its last allowed attempt is given up: the operator sees how many, and why."""
    from aiwatch.cycle import run_cycle

    demo_server.add("/gone/feed.xml", Route(
        body=f"""<?xml version="1.0"?><rss version="2.0"><channel><title>Gone</title>
<item><title>Le Maroc et une start-up signent un accord sur l'IA</title><link>{demo_server.base_url}/gone/a.html</link>
<guid>g1</guid><description>Un accord sur l'intelligence artificielle.</description></item></channel></rss>""".encode(),
        content_type="application/rss+xml"))
    demo_server.add("/gone/a.html", Route(status=503, body=b"busy"))
    local = settings.with_(outbox_file=tmp_path / "outbox.jsonl", max_page_attempts=1)
    write_feeds(local, [{"name": "gone", "url": demo_server.url("/gone/feed.xml"), "lang": "fr"}])
    run_cycle(local)
    run_cycle(local)
    client = client_for(local, token=token)
    [row] = client.get("/aiwatch/api/feeds").json()["items"]
    assert row["pages_given_up"] == 1
    assert row["given_up_reasons"] and row["given_up_reasons"][0].startswith("given-up after 1 attempts: http-503")
    page = client.get("/aiwatch/feeds").text
    assert "1 given up" in page and "http-503" in page


def test_every_page_says_where_its_data_lives_and_points_to_the_demo_store(settings, tmp_path, token):
    """After `make demo`, `make up` shows the real feeds' store: the view says which store it reads and
    how to see the demo's (`make up DEMO=1`), instead of an unexplained "No feed polled yet"."""
    home = tmp_path / "home"
    (home / "var" / "demo").mkdir(parents=True)
    (home / "var" / "demo" / "watch.db").write_bytes(b"")
    local = settings.with_(home=home, db_url=f"sqlite:///{tmp_path / 'main.db'}")
    client = client_for(local, token=token)
    feeds = client.get("/aiwatch/feeds").text
    assert f"sqlite:///{tmp_path / 'main.db'}" in feeds and str(local.feeds_file) in feeds
    assert "No feed polled yet in this store" in feeds and "make up DEMO=1" in feeds
    assert "make up DEMO=1" in client.get("/aiwatch/events").text
    # Showing the demo's own store: no hint.
    demo = settings.with_(home=home, db_url=f"sqlite:///{home / 'var' / 'demo' / 'watch.db'}")
    (home / "var" / "demo" / "watch.db").unlink()
    (home / "var" / "demo" / "watch.db").touch()
    assert "DEMO=1" not in client_for(demo, token=token).get("/aiwatch/feeds").text


def test_review_lists_unsure_and_alerted_stories_and_records_the_users_label(filled, token):
    """The Review page's data: unlabelled stories nearest the threshold and the alerted ones, with text,
    score and explanation; a ✅/❌ is a label of the logged-in user (source ui), CSRF-guarded, and the
    answer says what retraining waits for."""
    import socket

    from aiwatch.store import Store
    from aiwatch.store.models import Label
    from sqlalchemy import select

    client = client_for(filled, token=token)
    data = client.get("/aiwatch/api/review").json()
    assert data["model_version"] == "v0001" and 0 < data["threshold"] < 1
    unsure, alerted = data["uncertain"], data["alerted"]
    assert unsure and alerted and data["candidates"] >= len(unsure)
    margins = [abs(item["score"] - data["threshold"]) for item in unsure]
    assert margins == sorted(margins)
    assert {item["alert_state"] for item in alerted} == {"sent", "failed"}
    for item in unsure + alerted:
        assert item["explanation"].strip() and item["score"] is not None and item["labels"] == []
        assert not HOST_LIKE.search(item["outlet"]), item["outlet"]
    assert all(item["text"] for item in alerted)
    target = alerted[0]["article_id"]

    label = {"article_id": target, "label": 0}
    assert client.post("/aiwatch/api/labels", json=label).status_code == 403            # no CSRF header
    assert client.post("/aiwatch/api/labels", data=label, headers={CSRF_HEADER: "1"}).status_code in (403, 422)
    done = client.post("/aiwatch/api/labels", json=label, headers={CSRF_HEADER: "1"})
    assert done.status_code == 200, done.text
    body = done.json()
    assert body["result"] == {"article_id": target, "label": 0, "who": "admin", "outcome": "new"}
    assert not body["retraining"]["updated"]
    assert "1 new label(s) since model v0001; retraining waits for 10" in body["retraining"]["message"]
    again = client.post("/aiwatch/api/labels", json=label, headers={CSRF_HEADER: "1"}).json()
    assert again["result"]["outcome"] == "unchanged" and "nothing new" in again["retraining"]["message"]
    stored = Store(filled.db_url).read(lambda s: [(r.article_id, r.label, r.who, r.source) for r in s.scalars(
        select(Label))])
    assert stored == [(target, 0, "admin", "ui")]
    after = client.get("/aiwatch/api/review").json()
    shown = next(i for i in after["alerted"] if i["article_id"] == target)
    assert [(lab["who"], lab["label"], lab["source"]) for lab in shown["labels"]] == [("admin", 0, "ui")]
    assert target not in [i["article_id"] for i in after["uncertain"]]   # labelled: no longer to review

    headers = {CSRF_HEADER: "1"}
    assert client.post("/aiwatch/api/labels", json={"article_id": 999999, "label": 1}, headers=headers).status_code == 404
    assert client.post("/aiwatch/api/labels", json={"article_id": target, "label": 2}, headers=headers).status_code == 422
    contradiction = {"article_id": target, "label": 1, "category": "neg-other"}
    assert client.post("/aiwatch/api/labels", json=contradiction, headers=headers).status_code == 422

    # Enough labels: the view asks Airflow's API (here down) and says so; the label is kept anyway.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    eager = client_for(filled.with_(retrain_min_labels=1, airflow_api_url=f"http://127.0.0.1:{closed}"), token=token)
    flipped = eager.post("/aiwatch/api/labels", json={"article_id": target, "label": 1, "category": "pos"},
                         headers=headers).json()
    assert flipped["result"]["outcome"] == "updated" and not flipped["retraining"]["updated"]
    assert f"Airflow's API at http://127.0.0.1:{closed} is unreachable" in flipped["retraining"]["message"]

    page = client.get("/aiwatch/review")
    assert page.status_code == 200 and 'id="nav-review"' in page.text and 'aria-current="page" id="nav-review"' in page.text
    assert page.text.count('class="label-yes"') == len(after["uncertain"]) + len(after["alerted"])
    assert "<script>alert(1)</script>" not in page.text


def test_events_show_each_slack_message_as_slack_does_with_its_runs_and_filters(filled, token):
    """Every message of an event as Slack renders it (the alert, its thread), its channel and its state in
    words, the runs that composed and delivered it; publication and first-seen dates apart; filters."""
    run = "manual__2026-01-01T00:00:00+00:00"
    client = client_for(filled, token=token)
    data = client.get("/aiwatch/api/events").json()
    threaded = max(data["items"], key=lambda e: len(e["messages"]))
    alert, *replies = threaded["messages"]
    assert alert["kind"] == "alert" and replies and all(m["parent_key"] == alert["key"] for m in replies)
    assert alert["channel"] == "#morocco-ai-watch"
    kinds = [b["kind"] for b in alert["preview"]]
    assert kinds[:2] == ["header", "fields"] and "context" in kinds
    assert alert["preview"][0]["text"] == threaded["headline"]
    assert [f[0] for f in alert["preview"][1]["fields"]] == ["Kind", "Date", "Language", "Confidence"]
    assert any(s["url"] and s["url"].startswith("http") for b in replies[0]["preview"] for s in b["spans"])
    assert (alert["composed_run_id"], alert["delivery_run_id"]) == (run, run)
    words = {e["alert_state"]: e["alert"]["state_words"] for e in data["items"]}
    assert words["sent"] == "sent to Slack" and words["failed"] == "failed (Slack chat.postMessage failed: msg_too_long)"
    for event in data["items"]:
        assert event["published_at"] < event["seen_by_monitor"]   # 2025 stories seen by this test run
        assert all(a["explanation"].strip() for a in event["articles"])

    failed = client.get("/aiwatch/api/events?state=failed").json()
    assert {e["alert_state"] for e in failed["items"]} == {"failed"} and failed["total"] == 1
    sent = client.get("/aiwatch/api/events?state=sent").json()
    assert sent["total"] == data["total"] - 1 and sent["state"] == "sent"
    assert client.get("/aiwatch/api/events?state=none").json()["total"] == 0
    assert client.get("/aiwatch/api/events?since=2999-01-01").json()["total"] == 0
    assert client.get("/aiwatch/api/events?until=2000-01-01").json()["total"] == 0
    assert client.get("/aiwatch/api/events?since=2000-01-01&until=2999-12-31").json()["total"] == data["total"]
    assert client.get("/aiwatch/api/events?state=dry-run").status_code == 422
    assert client.get("/aiwatch/api/events?since=yesterday").status_code == 422

    html = client.get("/aiwatch/events").text
    counts = re.search(r'<p class="counts" id="alert-counts">(.*?)</p>', html, re.S).group(1)
    assert "sent to Slack" in counts and ">1 failed<" in counts and "dry_run" not in re.sub(r'"[^"]*"', "", counts)
    assert html.count('class="slack-preview"') == sum(len(e["messages"]) for e in data["items"])
    assert '<div class="replies" aria-label="in the alert\'s thread">' in html
    assert f'href="/dags/morocco_ai_watch/runs/{quote(run, safe="")}"' in html
    assert "first seen by the monitor" in html and "published 2025-" in html
    filtered = client.get("/aiwatch/events?state=failed").text
    assert filtered.count('<section class="event"') == 1 and '<option value="failed" selected>' in filtered
    assert client.get("/aiwatch/events?since=2999-01-01").text.count('<section class="event"') == 0


def test_a_reply_waiting_for_a_failed_alert_says_so():
    rows = [queries.MessageRow("alert:a", "alert", "failed", "msg_too_long", None, None, None, 1, None,
                               state_words="failed (msg_too_long)"),
            queries.MessageRow("reply:b", "followup", "pending", None, None, None, None, 0, None, parent_key="alert:a",
                               state_words="waiting to be sent")]
    assert queries._with_parents(rows)[1].state_words == "waiting for its alert (failed (msg_too_long))"



def test_feed_history_next_poll_pause_and_poll_now(filled, token, monkeypatch):
    """Feed health over time (the latest polls as a strip, last polled, when it will really be polled
    next), and the operator's actions: pause (prepare leaves the feed out) and poll now (the back-off
    is lifted and a run is queued through Airflow's API with the user's session)."""
    from aiwatch import cycle
    from aiwatch.airflow_api import AirflowAPI

    client = client_for(filled.with_(schedule="*/20 * * * *"), token=token)
    feeds = {f["name"]: f for f in client.get("/aiwatch/api/feeds").json()["items"]}
    broken, wire = feeds["broken"], feeds["maghreb-wire"]
    assert [m["status"] for m in broken["history"]] == ["failed"]
    assert broken["history"][0]["detail"] == "the server answered HTTP 500 (Internal Server Error)"
    assert [m["status"] for m in wire["history"]] == ["ok"] and wire["history"][0]["detail"] == "ok, 5 new"
    assert wire["last_polled_at"] and wire["next_poll_at"] and wire["next_poll_note"] == "the next scheduled run"
    assert datetime.fromisoformat(wire["next_poll_at"]).minute % 20 == 0
    assert datetime.fromisoformat(broken["next_poll_at"]) >= datetime.fromisoformat(broken["next_attempt_at"])

    headers = {CSRF_HEADER: "1"}
    assert client.post("/aiwatch/api/feeds/broken/pause", json={"paused": True}).status_code == 403
    assert client.post("/aiwatch/api/feeds/nope/pause", json={"paused": True}, headers=headers).status_code == 404
    done = client.post("/aiwatch/api/feeds/broken/pause", json={"paused": True}, headers=headers).json()
    assert done == {"feed": "broken", "done": True, "message": "broken paused by admin: not polled until resumed",
                    "run_id": None}
    paused = {f["name"]: f for f in client.get("/aiwatch/api/feeds").json()["items"]}["broken"]
    assert paused["paused_by"] == "admin" and paused["next_poll_at"] is None
    assert "broken" not in [f.name for f in cycle.prepare(filled)]          # the cycle leaves it out
    assert "paused" in client.get("/aiwatch/feeds").text
    client.post("/aiwatch/api/feeds/broken/pause", json={"paused": False}, headers=headers)
    assert "broken" in [f.name for f in cycle.prepare(filled)]

    # Poll now: the run is queued through Airflow's API as the user (a stand-in records the call).
    calls = []

    def trigger(self, dag_id, note=""):
        calls.append((self.base_url, self.credentials.token, dag_id, note))
        return "manual__now", False

    monkeypatch.setattr(AirflowAPI, "trigger_dag", trigger)
    assert client.post("/aiwatch/api/feeds/broken/poll", json={}).status_code == 403
    polled = client.post("/aiwatch/api/feeds/broken/poll", json={}, headers=headers).json()
    assert polled["done"] and polled["run_id"] == "manual__now" and "back-off or not" in polled["message"]
    assert calls == [("http://127.0.0.1", token, "morocco_ai_watch", "poll now: feed broken, asked by admin")]
    again = {f["name"]: f for f in client.get("/aiwatch/api/feeds").json()["items"]}["broken"]
    assert again["poll_requested_at"] and again["next_poll_note"] == "the next scheduled run (poll now requested)"
    # ... and the next poll ignores the back-off, once.
    from aiwatch.store import Store, repo

    snapshot = repo.feed_snapshot(Store(filled.db_url), "broken")
    assert snapshot.poll_requested and snapshot.next_attempt_at is not None


def test_the_next_poll_is_the_first_scheduled_run_after_the_back_off():
    now, until = datetime(2026, 1, 1, 10, 5, tzinfo=UTC), datetime(2026, 1, 1, 10, 50, tzinfo=UTC)
    every20 = "*/20 * * * *"
    assert queries.next_poll(every20, now, None, False, False) == (datetime(2026, 1, 1, 10, 20, tzinfo=UTC),
                                                                   "the next scheduled run")
    at, note = queries.next_poll(every20, now, until, False, False)
    assert at == datetime(2026, 1, 1, 11, 0, tzinfo=UTC) and note == \
        "the first scheduled run after its back-off ends (10:50 UTC)"
    assert queries.next_poll(every20, now, until, False, True)[0] == datetime(2026, 1, 1, 10, 20, tzinfo=UTC)
    assert queries.next_poll(every20, now, until, True, False) == (None, "paused: not polled until resumed")
    assert queries.next_poll(None, now, None, False, False)[0] is None
    assert queries.next_poll("not a cron", now, None, False, False)[1].startswith("schedule 'not a cron' unreadable")
