"""`python -m bench.ui [--articles 100000] [--events 1000] [--db-url URL] [--runs 15]`: page latency of the
operator's view on a large store.

Fills a store (SQLite in a temporary directory by default, or ``--db-url``, e.g. a throw-away PostgreSQL
database) with N articles over 33 feeds, a classification each, a poll log of 200 cycles, M events of 5
articles with their Slack outbox rows, then times every page and API route of the view in-process
(the FastAPI app through a test client, Airflow's authentication stubbed: it is not what is measured).
Prints the median and worst of ``--runs`` requests per route against the 300 ms target and writes
var/bench/ui-<timestamp>.json. A benchmark, not a test: it asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
TARGET_MS = 300.0
ROUTES = ("/aiwatch/feeds", "/aiwatch/feeds?sort=extracted_share&desc=true", "/aiwatch/events",
          "/aiwatch/events?page=40", "/aiwatch/model", "/aiwatch/api/feeds", "/aiwatch/api/events",
          "/aiwatch/api/events?offset=980", "/aiwatch/api/model")


def fill(db_url: str, articles: int, events: int, feeds: int = 33, polls: int = 200, seed: int = 8) -> dict[str, int]:
    """Bulk-insert a realistic large store (core inserts in chunks: minutes of pipeline work in seconds)."""
    from aiwatch.store import Store, upgrade
    from aiwatch.store.models import (
        Article,
        Classification,
        Event,
        EventArticle,
        FeedPoll,
        FeedState,
        OutboxMessage,
    )
    from sqlalchemy import insert

    rng = random.Random(seed)
    store = Store(db_url)
    upgrade(store)
    now = datetime.now(UTC)
    names = [f"feed-{i:02d}" for i in range(feeds)]
    statuses = ["ok"] * 8 + ["failed", "pending", "duplicate"]

    def chunks(rows: list[dict[str, Any]], size: int = 5000):  # type: ignore[no-untyped-def]
        for start in range(0, len(rows), size):
            yield rows[start:start + size]

    with store.session() as session:
        session.execute(insert(FeedState), [dict(
            name=n, url=f"https://news{i}.example/rss", lang="fr", last_polled_at=now,
            last_ok_at=now - timedelta(hours=30 if i % 11 == 5 else 0), last_status="failed" if i % 7 == 3 else "ok",
            last_error="http-404: https://example/rss (Not Found)" if i % 7 == 3 else None,
            consecutive_failures=3 if i % 7 == 3 else 0, entries_seen=articles // feeds * 3,
            articles_new=articles // feeds) for i, n in enumerate(names)])
        poll_rows = [dict(run_id=f"scheduled__run{r:04d}", feed=n, at=now - timedelta(minutes=20 * (polls - r)),
                          status="failed" if (i % 7 == 3 and r % 3 == 0) else "ok", http_status=404 if i % 7 == 3 else 200,
                          entries=20, new=1, updated=0, duplicates=0, reason="http-404" if i % 7 == 3 else None,
                          error=None, duration_ms=120) for r in range(polls) for i, n in enumerate(names)]
        for part in chunks(poll_rows):
            session.execute(insert(FeedPoll), part)
    article_rows = []
    for a in range(1, articles + 1):
        feed = names[a % feeds]
        created = now - timedelta(minutes=articles - a)
        article_rows.append(dict(
            id=a, url=f"https://news{a % feeds}.example/{a}.html", url_key=f"news{a % feeds}.example/{a}.html",
            feed=feed, outlet=f"news{a % feeds}.example", title=f"Article number {a} about Morocco and AI",
            title_key=f"k{a}", summary="A summary of the article. " * 4, text="Body text. " * 200,
            published_at=created, lang=rng.choice(["fr", "en", "ar", "es"]), site_name=f"News {a % feeds}",
            fetch_status=rng.choice(statuses), created_at=created, first_run_id="scheduled__run0000"))
    with store.session() as session:
        for part in chunks(article_rows):
            session.execute(insert(Article), part)
        for part in chunks([dict(article_id=a, model_version="v0001", score=rng.random(), label=int(a % 17 == 0),
                                 explanation="", at=now) for a in range(1, articles + 1)]):
            session.execute(insert(Classification), part)
    per_event = 5
    with store.session() as session:
        event_rows, member_rows, outbox_rows = [], [], []
        for e in range(1, events + 1):
            first = (e - 1) * per_event + 1
            seen = now - timedelta(hours=events - e)
            event_rows.append(dict(id=e, key=f"event-{e}", topic="morocco_ai", partners=["Mistral AI"],
                                   moroccan=["Ministry of Digital Transition"], kind="mou",
                                   headline=f"Event {e}: Ministry × Mistral AI", signature="", first_article_id=first,
                                   first_seen=seen, last_seen=seen, created_at=seen))
            for k in range(per_event):
                member_rows.append(dict(event_id=e, article_id=first + k, outlet=f"news{(first + k) % feeds}.example",
                                        role="first" if k == 0 else "followup", reason="", added_at=seen))
            state = "failed" if e % 10 == 0 else "sent"
            outbox_rows.append(dict(key=f"alert:{e}", kind="alert", event_id=e, article_id=first, channel="#watch",
                                    payload={"text": "x"}, state=state, attempts=1,
                                    last_error="msg_too_long" if state == "failed" else None, slack_channel="C123",
                                    slack_ts=f"{1_700_000_000 + e}.000100", created_at=seen, sent_at=seen))
            for k in range(1, per_event):
                outbox_rows.append(dict(key=f"followup:{e}:{k}", kind="followup", event_id=e, article_id=first + k,
                                        parent_key=f"alert:{e}", channel="#watch", payload={"text": "x"}, state="sent",
                                        attempts=1, slack_channel="C123", slack_ts=f"{1_700_000_000 + e}.{k:06d}",
                                        created_at=seen, sent_at=seen))
        session.execute(insert(Event), event_rows)
        for part in chunks(member_rows):
            session.execute(insert(EventArticle), part)
        for part in chunks(outbox_rows):
            session.execute(insert(OutboxMessage), part)
    return {"articles": articles, "events": events, "feeds": feeds, "polls": polls * feeds}


def measure(db_url: str, models_dir: Path, runs: int) -> dict[str, dict[str, float]]:
    sys.path.append(str(REPO / "plugins"))
    from aiwatch.config import Settings
    from aiwatch_ui.app import Deps, api_user, create_app, page_user
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    class NoAirflow:
        def poll_map_indexes(self, run_ids: list[str]) -> dict[tuple[str, str], int]:
            return {(r, f"feed-{i:02d}"): i for r in run_ids for i in range(33)}

        def last_run(self, dag_id: str) -> None:
            return None

    settings = Settings.from_env({"WATCH_DB_URL": db_url, "WATCH_MODEL_DIR": str(models_dir)})
    app = create_app(Deps(settings=lambda: settings, airflow=NoAirflow()))
    app.dependency_overrides[api_user] = app.dependency_overrides[page_user] = lambda: "bench"
    root = FastAPI()
    root.mount("/aiwatch", app)
    client = TestClient(root)
    results = {}
    for route in ROUTES:
        assert client.get(route).status_code == 200, route  # warm-up (and a sanity check)
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            response = client.get(route)
            times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, route
        results[route] = {"median_ms": round(statistics.median(times), 1), "max_ms": round(max(times), 1)}
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=1_000)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--db-url", help="an empty store to fill (default: SQLite in a temporary directory)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="aiwatch-bench-ui-") as tmp:
        db_url = args.db_url or f"sqlite:///{Path(tmp) / 'watch.db'}"
        models = Path(tmp) / "models"
        from classifiers import registry
        from classifiers.training import train_version

        started = time.perf_counter()
        sizes = fill(db_url, args.articles, args.events)
        fill_s = time.perf_counter() - started
        version, _ = train_version(root=models, c_grid=(32.0,))  # a real registry version with its plots
        registry.promote(version.name, models)
        results = measure(db_url, models, args.runs)
    backend = db_url.split(":", 1)[0]
    print(f"operator view on {backend}: {sizes['articles']:,} articles, {sizes['events']:,} events, "
          f"{sizes['polls']:,} polls (filled in {fill_s:.0f}s); target {TARGET_MS:.0f} ms per page")
    for route, figures in results.items():
        verdict = "ok" if figures["max_ms"] < TARGET_MS else "SLOW"
        print(f"  {route:50s} median {figures['median_ms']:7.1f} ms  max {figures['max_ms']:7.1f} ms  {verdict}")
    out = REPO / "var" / "bench"
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"ui-{datetime.now(UTC):%Y%m%dT%H%M%S}.json"
    path.write_text(json.dumps({"backend": backend, "sizes": sizes, "target_ms": TARGET_MS, "routes": results},
                               indent=2), encoding="utf-8")
    print(f"written {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
