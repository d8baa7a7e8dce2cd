"""Feed outages: a cycle in which the feeds are down fails (its summary says why), and a feed down
for longer than WATCH_FEED_OUTAGE_ALERT_HOURS is announced once in the ops channel, not every cycle."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from aiwatch import cycle, feed_health
from aiwatch.cli import main as cli_main
from aiwatch.config import ConfigError, Feed, Settings
from aiwatch.devserver import Route
from aiwatch.feeds import PollResult
from aiwatch.slack import blocks
from aiwatch.store import Store, outbox, repo, upgrade
from conftest import write_feeds
from feedgen import item, rss

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize(("total", "failed", "skipped", "share", "down"), [
    (0, 0, 0, 1.0, False),
    (3, 0, 0, 1.0, False),
    (3, 2, 0, 1.0, False),     # two of three down: not an outage by default
    (3, 3, 0, 1.0, True),      # every feed failed
    (3, 1, 2, 1.0, True),      # failed or in back-off: still nothing seen
    (4, 3, 0, 0.5, True),      # more than the configured share
    (4, 2, 0, 0.5, False),     # exactly the share is not more than it
])
def test_a_cycle_is_an_outage_when_its_feeds_are_down(total, failed, skipped, share, down):
    found = feed_health.cycle_outage(total, failed, skipped, share)
    assert (found is not None) == down
    if down and failed + skipped == total:
        assert found.startswith("every feed is down")


def test_the_share_is_checked_where_it_is_configured(tmp_path):
    env = {"WATCH_DATA_DIR": str(tmp_path)}
    assert Settings.from_env({**env, "WATCH_MAX_FAILED_FEEDS_SHARE": "0.5"}).max_failed_feeds_share == 0.5
    with pytest.raises(ConfigError, match="WATCH_MAX_FAILED_FEEDS_SHARE"):
        Settings.from_env({**env, "WATCH_MAX_FAILED_FEEDS_SHARE": "50"})
    assert Settings.from_env({**env, "WATCH_FEED_OUTAGE_ALERT_HOURS": "6"}).feed_outage_alert_h == 6


def _poll(store: Store, feed: Feed, run: int, ok: bool, at: datetime) -> None:
    result = (PollResult(feed.name, "ok", http_status=200) if ok else
              PollResult(feed.name, "failed", reason="http-500", error=f"http-500: {feed.url} answered 500"))
    repo.record_poll(store, f"run-{run}", feed, result, None, backoff_base_s=1, backoff_cap_s=1, now=at)


def test_a_long_outage_is_announced_once_and_a_new_outage_again(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'w.db'}")
    upgrade(store)
    down, fine = Feed("le-desk", "https://reader:hunter2@le-desk.example/feed", "fr"), Feed("fine", "https://f.ma/", "fr")
    repo.sync_feeds(store, [down, fine])
    _poll(store, down, 0, True, T0)
    for hour in range(1, 30):  # down from T0+1h, polled hourly
        _poll(store, down, hour, False, T0 + timedelta(hours=hour))
        _poll(store, fine, hour, True, T0 + timedelta(hours=hour))
        notices = feed_health.compose_outage_notices(store, "#ops", f"run-{hour}", T0 + timedelta(hours=hour), 24)
        assert notices == (1 if hour == 25 else 0), hour
    [row] = [r for r in outbox.deliverable(store, T0 + timedelta(days=2)) if r.kind == "ops"]
    assert row.channel == "#ops" and row.key == "feed-outage:le-desk:20260301T090000"
    blocks.validate_message(row.payload)
    text = str(row.payload)
    assert "Feed down: le-desk" in text and "24 hours" in text and "hunter2" not in text and "http-500" in text
    # It recovers, then fails again: a new outage, announced once more after its own 24 hours.
    _poll(store, down, 30, True, T0 + timedelta(hours=30))
    for hour in range(31, 60):
        _poll(store, down, hour, False, T0 + timedelta(hours=hour))
        feed_health.compose_outage_notices(store, "#ops", f"run-{hour}", T0 + timedelta(hours=hour), 24)
    keys = sorted(r.key for r in outbox.deliverable(store, T0 + timedelta(days=3)) if r.kind == "ops")
    assert keys == ["feed-outage:le-desk:20260301T090000", "feed-outage:le-desk:20260302T150000"]


def test_a_cli_cycle_with_every_feed_down_fails_and_says_so(settings, server, tmp_path, monkeypatch, capsys):
    server.add("/a.xml", Route(status=500, body=b"down"))
    server.add("/b.xml", Route(status=404, body=b"gone"))
    write_feeds(settings, [{"name": "a", "url": server.url("/a.xml")}, {"name": "b", "url": server.url("/b.xml")}])
    for name, value in {"WATCH_FEEDS_FILE": str(settings.feeds_file), "WATCH_DB_URL": settings.db_url,
                        "WATCH_MODEL_DIR": str(settings.models), "WATCH_ALLOW_PRIVATE_NETWORKS": "1",
                        "WATCH_OUTBOX_FILE": str(tmp_path / "o.jsonl")}.items():
        monkeypatch.setenv(name, value)
    assert cli_main(["cycle"]) == 1
    out = capsys.readouterr().out
    assert "FEEDS DOWN: every feed is down: 2 failed and 0 in back-off, of 2" in out
    # One healthy feed is enough for a green cycle (by default); the other still shows as failed.
    server.add("/b.xml", Route(body=rss(item("Un article", server.url("/p"), "1")),
                               content_type="application/rss+xml"))
    server.add("/p", body="<html><body><p>Texte.</p></body></html>")
    summary = cycle.run_cycle(settings.with_(outbox_file=tmp_path / "o.jsonl"))
    assert summary.feeds_down is None and "a" in summary.feeds_failed
