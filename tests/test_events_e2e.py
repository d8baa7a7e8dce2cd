"""The development set's partnerships end to end: the Airflow DAG over feeds on loopback, to Slack.

Every report of tests/data/events (own words, four languages) is served as an article page, with a
few negatives, in one feed per language (outlets told apart by their pages' site names);
`airflow dags test morocco_ai_watch` (poll, fetch, classify, group, compose, send) then posts to
the Slack stand-in. What the teams are promised: one alert per
partnership, later reports in its thread, nothing for negatives, nothing new on a re-run.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from datetime import UTC, datetime
from html import escape
from pathlib import Path

import pytest
import yaml
from aiwatch.events_eval import load
from aiwatch.store import Store
from aiwatch.store import events as event_store
from feedgen import item, rss
from slack_standin import SlackStandIn
from test_dag import dags_test, fresh_home, slack_connection  # noqa: F401  (fresh_home is a fixture)

REPO = Path(__file__).resolve().parents[1]
CHANNEL = "#morocco-ai-watch"
NEGATIVES = [
    ("fr", "Le Maroc accueille un forum sur l'avenir du travail à Casablanca",
     "Des chercheurs et des chefs d'entreprise ont débattu pendant deux jours des métiers de demain."),
    ("en", "Moroccan phosphate exports rise for a third quarter",
     "Higher prices in Asian markets lifted sales of fertiliser, the national statistics office said."),
    ("ar", "افتتاح معرض الكتاب بالرباط بمشاركة 700 ناشر",
     "يعرف المعرض هذه السنة مشاركة دور نشر من أربعين بلدا وبرنامجا ثقافيا غنيا."),
    ("es", "Marruecos inaugura una nueva línea de tren entre Kenitra y Marrakech",
     "El trayecto durará menos de tres horas gracias a la ampliación de la alta velocidad."),
]


def page(title: str, text: str, lang: str, outlet: str) -> bytes:
    paragraphs = "".join(f"<p>{escape(p.strip())}.</p>" for p in text.split(". ") if p.strip())
    return (f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8"><title>{escape(title)}</title>'
            f'<meta property="og:site_name" content="{escape(outlet)}"></head><body><article>'
            f"<h1>{escape(title)}</h1>{paragraphs}</article></body></html>").encode()


@pytest.fixture
def slack():
    with SlackStandIn(token="xoxb-test") as standin:
        yield standin


def serve_development_set(server, *, per_language: bool = False) -> tuple[list[dict], list, list, dict[str, str]]:
    """Every report as an article page, negatives too; feeds one per outlet (or one per language,
    the outlets then told apart by their pages' site names). Returns (feeds, reports, truth events,
    event of each title)."""
    reports, truth, _ = load(REPO / "tests" / "data" / "events")
    by_feed: dict[str, list[str]] = defaultdict(list)
    event_of_title: dict[str, str] = {}
    for n, r in enumerate(reports):
        path = f"/a/{n}.html"
        server.add(path, body=page(r.title, r.text, r.lang, r.outlet), content_type="text/html; charset=utf-8")
        by_feed[r.lang if per_language else r.outlet].append(
            item(r.title, server.url(path), summary=r.text[:300], published=r.published))
        event_of_title[r.title] = r.event
    for n, (lang, title, text) in enumerate(NEGATIVES):
        path = f"/neg/{n}.html"
        server.add(path, body=page(title, text, lang, "Wire"), content_type="text/html; charset=utf-8")
        by_feed[lang if per_language else "Wire"].append(
            item(title, server.url(path), summary=text, published=datetime(2025, 9, 12, tzinfo=UTC)))
    feeds = []
    for n, (name, items) in enumerate(sorted(by_feed.items())):
        server.add(f"/feed{n}.xml", body=rss(*items, title=name), content_type="application/rss+xml")
        feeds.append({"name": f"news-{name}" if per_language else f"outlet-{n}", "url": server.url(f"/feed{n}.xml")})
    return feeds, reports, truth, event_of_title


def test_the_airflow_dag_over_the_development_set(server, slack, tmp_path, fresh_home):  # noqa: F811
    """The same promise through `airflow dags test morocco_ai_watch` (mapped feed tasks, Slack through
    the Airflow connection), feeds one per language so that outlets are told apart by site name."""
    feeds, reports, truth, event_of_title = serve_development_set(server, per_language=True)
    feeds_file = tmp_path / "feeds.yaml"
    feeds_file.write_text(yaml.safe_dump({"feeds": feeds}), encoding="utf-8")
    db_url = f"sqlite:///{tmp_path / 'watch.db'}"
    env = dict(fresh_home, WATCH_FEEDS_FILE=str(feeds_file), WATCH_DB_URL=db_url, WATCH_ALLOW_PRIVATE_NETWORKS="1",
               WATCH_ALERT_MAX_AGE_HOURS=str(24 * 365 * 5), AIRFLOW_CONN_SLACK_API_DEFAULT=slack_connection(slack))
    first = dags_test(env, tmp_path)
    assert first.returncode == 0, first.stdout[-4000:] + first.stderr[-4000:]
    print(f"\n{len(slack.messages(CHANNEL))} alerts for {len(truth)} partnerships")

    store = Store(db_url)
    records = event_store.recent_events(store, datetime(2000, 1, 1, tzinfo=UTC))
    members = event_store.event_members(store, [r.event_id for r in records])
    alerts = slack.messages(CHANNEL)
    assert len(alerts) == len(records) >= 0.9 * len(truth)
    per_truth: dict[str, int] = defaultdict(int)
    for record in records:
        covered = {event_of_title.get(m.title) for m in members[record.event_id]}
        assert len(covered) == 1 and None not in covered, (record.headline, covered)
        per_truth[covered.pop()] += 1
    assert sum(n - 1 for n in per_truth.values()) == 0, {e: n for e, n in per_truth.items() if n > 1}
    ts_of = {m["metadata"]["event_payload"]["key"]: m["ts"] for m in alerts}
    for record in records:
        assert len(slack.replies(ts_of[f"alert:{record.key}"])) == len(members[record.event_id]) - 1, record.headline
    # Outlets are named as readers know them (feeds one per language: by site name); the host
    # appears only inside article links. (trafilatura capitalises a lowercase site name.)
    shown = re.sub(r"https?://127\.0\.0\.1:\d+/[^\s\"|>]*", "", json.dumps([p.get("blocks") for p in slack.posts]))
    assert "127.0.0.1" not in shown
    outlets = {r.outlet.lower() for r in reports}
    bad = [r["text"][:200] for m in alerts for r in slack.replies(m["ts"])
           if not any(o in json.dumps(r["blocks"], ensure_ascii=False).lower() for o in outlets)]
    assert not bad, bad[:3]
    posted = len(slack.posts)
    second = dags_test(env, tmp_path)
    assert second.returncode == 0, second.stdout[-4000:] + second.stderr[-4000:]
    assert [p for p in slack.posts[posted:] if p["channel"] == slack.channel_id(CHANNEL)] == []
