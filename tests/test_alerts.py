"""Alerts end to end on loopback: whole cycles over the demo news web, delivered to the Slack stand-in.

What the teams are promised: one alert per partnership event, later coverage as replies in its
thread, nothing for negatives, nothing twice (re-runs, retries, a crash between posting and
recording), nothing lost (429, 500, outages), a loud failure on a bad token, and a dry-run that
writes exactly the payloads it would have sent.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from aiwatch import alerts, cycle, feedback
from aiwatch.cycle import run_cycle
from aiwatch.slack.gateway import SlackFatal, SlackGateway, make_client
from aiwatch.store import Store, outbox
from aiwatch.store import events as event_store
from aiwatch.store.labels import labelled_articles
from conftest import write_feeds
from slack_standin import SlackStandIn

CHANNEL = "#morocco-ai-watch"
DEMO_FEEDS = [("atlas-tech", "fr"), ("maghreb-wire", "en"), ("akhbar-raqmiya", "ar")]


@pytest.fixture
def slack():
    with SlackStandIn(token="xoxb-test") as standin:
        yield standin


def gateway_for(slack: SlackStandIn, **kwargs) -> SlackGateway:
    kwargs.setdefault("sleep", lambda _s: None)
    return SlackGateway(make_client("xoxb-test", base_url=slack.base_url, timeout_s=3), **kwargs)


@pytest.fixture
def demo_settings(settings, demo_server, tmp_path):
    write_feeds(settings, [{"name": n, "url": demo_server.url(f"/{n}/feed.xml"), "lang": lang}
                           for n, lang in DEMO_FEEDS])
    return settings.with_(outbox_file=tmp_path / "outbox.jsonl")


def headers(message: dict) -> str:
    return " ".join(b["text"]["text"] for b in message.get("blocks", []) if b["type"] == "header")


def alert_for(slack: SlackStandIn, partner: str) -> dict:
    found = [m for m in slack.messages(CHANNEL) if partner in headers(m)]
    assert len(found) == 1, (partner, [headers(m) for m in slack.messages(CHANNEL)])
    return found[0]


def test_one_alert_per_event_followups_in_its_thread_and_nothing_twice(demo_settings, slack):
    summary = run_cycle(demo_settings, gateway=gateway_for(slack))
    assert summary.missing_steps == []
    store = Store(demo_settings.db_url)
    events = event_store.recent_events(store, datetime(2000, 1, 1, tzinfo=UTC))
    alerts_posted = slack.messages(CHANNEL)
    assert len(alerts_posted) == len(events) == summary.new_events >= 2

    mistral = alert_for(slack, "Mistral")  # reported in French, English and Arabic by three outlets
    replies = slack.replies(mistral["ts"])
    assert len(replies) == 2 and all(r["thread_ts"] == mistral["ts"] for r in replies)
    assert "Also covered" in replies[0]["text"] or "covered" in json.dumps(replies[0]["blocks"]).lower()
    openai = alert_for(slack, "OpenAI")  # talks, in French and English
    assert len(slack.replies(openai["ts"])) == 1
    # The alert itself was edited to count the outlets covering it.
    edits = [u for u in slack.updates if u["ts"] == mistral["ts"]]
    assert edits and "3 outlets" in json.dumps(edits[-1]["blocks"])
    # The summary counts every message it composed, the alert updates too.
    assert summary.updates_composed == len(slack.updates) >= 1
    assert f"{summary.updates_composed} alert updates" in summary.text()

    everything = json.dumps([m.get("blocks") for m in slack.posts], ensure_ascii=False).lower()
    for negative in ("hydrog", "chaleur", "mondial", "nador", "senegal", "wolof", "tunis"):
        assert negative not in " ".join(headers(m).lower() for m in alerts_posted), negative
    assert "<!channel>" not in everything and "<!here>" not in everything
    assert all(p["unfurl_links"] in (False, "false", "0", 0) for p in slack.posts)
    assert all(p["metadata"]["event_type"] == alerts.METADATA_TYPE for p in slack.posts)
    assert set(outbox.state_counts(store)) == {"sent"}

    posts_before, updates_before = len(slack.posts), len(slack.updates)
    again = run_cycle(demo_settings, gateway=gateway_for(slack))
    assert len(slack.posts) == posts_before and len(slack.updates) == updates_before
    assert again.posted == 0 and again.new_events == 0


def test_rerunning_the_alert_steps_of_the_same_run_adds_and_posts_nothing(demo_settings, slack):
    run_cycle(demo_settings, run_id="cycle__same", gateway=gateway_for(slack))
    store = Store(demo_settings.db_url)
    counts, posts = outbox.state_counts(store), len(slack.posts)
    alerts.group_events(demo_settings, "cycle__same")
    alerts.compose(demo_settings, "cycle__same")
    alerts.deliver(demo_settings, "cycle__same", gateway_for(slack))
    assert outbox.state_counts(store) == counts and len(slack.posts) == posts


@pytest.mark.parametrize("fault", [429, ("ratelimited", 1), 500, 503])
def test_rate_limits_and_server_errors_still_post_each_alert_exactly_once(demo_settings, slack, fault):
    waits: list[float] = []
    slack.fail_next("chat.postMessage", fault)
    run_cycle(demo_settings, gateway=gateway_for(slack, sleep=waits.append))
    assert waits  # the gateway waited (Retry-After or backoff) instead of dropping the alert
    keys = [p["metadata"]["event_payload"]["key"] for p in slack.posts]
    assert len(keys) == len(set(keys)) and any(k.startswith("alert:") for k in keys)
    assert set(outbox.state_counts(Store(demo_settings.db_url))) == {"sent"}


def test_an_outage_leaves_alerts_pending_and_the_next_run_sends_them_once(demo_settings, slack):
    slack.fail_next("chat.postMessage", *([500] * 3))
    first = run_cycle(demo_settings, gateway=gateway_for(slack))
    assert slack.posts == [] and first.pending > 0 and first.slack_unavailable
    assert "pending for the next run" in first.text()
    second = run_cycle(demo_settings, gateway=gateway_for(slack))
    keys = [p["metadata"]["event_payload"]["key"] for p in slack.posts]
    assert len(keys) == len(set(keys)) == second.posted and second.pending == 0
    assert set(outbox.state_counts(Store(demo_settings.db_url))) == {"sent"}


def test_a_crash_between_posting_and_recording_is_reconciled_not_reposted(demo_settings, slack):
    slack.fail_next("chat.postMessage", "drop_after_post")  # Slack took it; we never heard back
    run_cycle(demo_settings, gateway=gateway_for(slack))
    run_cycle(demo_settings, gateway=gateway_for(slack))
    keys = [p["metadata"]["event_payload"]["key"] for p in slack.posts]
    assert len(keys) == len(set(keys))
    assert set(outbox.state_counts(Store(demo_settings.db_url))) == {"sent"}


def test_a_message_left_sending_by_a_killed_task_is_found_in_the_channel(demo_settings, slack):
    run_cycle(demo_settings, gateway=gateway_for(slack))
    store = Store(demo_settings.db_url)
    first = outbox.by_key(store, slack.posts[0]["metadata"]["event_payload"]["key"])
    assert first is not None
    outbox.mark_retry(store, first, "worker killed after chat.postMessage", "sending")  # as if we died
    posts = len(slack.posts)
    alerts.deliver(demo_settings, "cycle__after-crash", gateway_for(slack))
    assert len(slack.posts) == posts
    assert outbox.by_key(store, first.key).state == "sent"


def test_invalid_auth_fails_loudly_and_keeps_alerts_pending(demo_settings, slack):
    bad = SlackGateway(make_client("xoxb-wrong", base_url=slack.base_url, timeout_s=3), sleep=lambda _s: None)
    with pytest.raises(SlackFatal, match="invalid_auth"):
        _cycle_then_deliver(demo_settings, bad)
    store = Store(demo_settings.db_url)
    assert slack.posts == [] and "sent" not in outbox.state_counts(store)
    summary = cycle.summarise(demo_settings, "cycle__bad")
    assert summary.pending > 0 and "NOT SENT: Slack refused us" in summary.text() and "invalid_auth" in summary.text()
    alerts.deliver(demo_settings, "cycle__fixed", gateway_for(slack))  # token fixed: everything goes, once
    keys = [p["metadata"]["event_payload"]["key"] for p in slack.posts]
    assert keys and len(keys) == len(set(keys))


def _cycle_then_deliver(settings, gateway):
    run_id = "cycle__bad"
    for feed in cycle.prepare(settings):
        cycle.poll_feed(settings, feed, run_id)
    cycle.fetch_and_extract(settings, run_id)
    from aiwatch.classify import classify_new

    classify_new(settings, run_id)
    alerts.group_events(settings, run_id)
    alerts.compose(settings, run_id)
    return alerts.deliver(settings, run_id, gateway)


def test_channel_not_found_is_fatal(demo_settings):
    with SlackStandIn(token="xoxb-test", strict_channels={"#elsewhere"}) as strict:
        with pytest.raises(SlackFatal, match="channel_not_found"):
            _cycle_then_deliver(demo_settings, gateway_for(strict))


def test_dry_run_writes_the_exact_payloads_and_says_so(demo_settings, slack):
    summary = run_cycle(demo_settings, gateway=None)
    assert summary.delivery_mode == "dry-run" and summary.dry_run > 0
    assert "dry-run (no Slack connection)" in summary.text() and str(demo_settings.outbox_path) in summary.text()
    lines = [json.loads(line) for line in demo_settings.outbox_path.read_text(encoding="utf-8").splitlines()]
    store = Store(demo_settings.db_url)
    for line in lines:
        row = outbox.by_key(store, line["key"])
        assert row is not None and row.state == "dry_run" and row.payload == line["payload"]
    assert {line["kind"] for line in lines} >= {"alert", "followup"}
    assert all(line["payload"]["text"].strip() for line in lines)
    again = run_cycle(demo_settings, gateway=None)  # a re-run writes nothing more
    assert again.dry_run == 0
    assert len(demo_settings.outbox_path.read_text(encoding="utf-8").splitlines()) == len(lines)


def test_a_message_slack_refuses_is_marked_failed_and_the_rest_go_out(demo_settings, slack):
    slack.fail_next("chat.postMessage", "invalid_blocks")
    run_cycle(demo_settings, gateway=gateway_for(slack))
    counts = outbox.state_counts(Store(demo_settings.db_url))
    assert counts.get("failed", 0) >= 1 and counts.get("sent", 0) >= 1
    waiting = outbox.deliverable(Store(demo_settings.db_url))
    assert all(r.parent_key for r in waiting)  # only replies of the refused alert wait for it


def test_old_articles_rescored_by_a_new_model_are_not_alerted(demo_settings, slack):
    later = demo_settings.with_(alert_max_age_h=1.0)
    run_cycle(demo_settings, gateway=None)
    store = Store(later.db_url)
    with store.session() as session:  # forget the events, as if a new model had just re-scored everything
        from aiwatch.store.models import Event, EventArticle, OutboxMessage

        for table in (OutboxMessage, EventArticle, Event):
            session.query(table).delete()
    assert alerts.group_events(later, "cycle__future", now=datetime.now(UTC) + timedelta(hours=5))["placed"] == 0
    assert alerts.group_events(later, "cycle__now")["placed"] > 0


def test_reactions_become_labels_and_count_towards_retraining(demo_settings, slack):
    run_cycle(demo_settings, gateway=gateway_for(slack))
    mistral = alert_for(slack, "Mistral")
    reply = slack.replies(mistral["ts"])[0]
    slack.react(CHANNEL, mistral["ts"], "white_check_mark", "U1")
    slack.react(CHANNEL, mistral["ts"], "white_check_mark", "U2")
    slack.react(CHANNEL, reply["ts"], "x", "U1")
    slack.react(CHANNEL, reply["ts"], "eyes", "U3")  # not a vote
    stats = feedback.collect(demo_settings, gateway_for(slack))
    assert stats["votes"] == 3 and stats["relevant"] == 2 and stats["not_relevant"] == 1
    labels = {row["id"]: row["label"] for row in labelled_articles(Store(demo_settings.db_url))}
    assert sorted(labels.values()) == [0, 1]
    assert stats["new_or_changed"] == 3
    before = label_times(demo_settings)
    again = feedback.collect(demo_settings, gateway_for(slack), now=datetime.now(UTC) + timedelta(hours=1))
    assert again["votes"] == 3 and again["new_or_changed"] == 0   # the same votes read again change nothing
    assert label_times(demo_settings) == before
    assert len(labelled_articles(Store(demo_settings.db_url))) == 2
    new, _ = feedback.labels_since_training(demo_settings)
    assert new == 3
    slack.unreact(CHANNEL, reply["ts"], "x", "U1")                  # U1 changes their mind
    slack.react(CHANNEL, reply["ts"], "white_check_mark", "U1")
    changed = feedback.collect(demo_settings, gateway_for(slack), now=datetime.now(UTC) + timedelta(hours=2))
    assert changed["new_or_changed"] == 1
    assert label_times(demo_settings) != before


def label_times(settings) -> dict:
    from aiwatch.store.models import Label
    from sqlalchemy import select

    return dict(Store(settings.db_url).read(lambda s: s.execute(
        select(Label.who, Label.at).order_by(Label.id)).all()))


def test_votes_ignore_people_who_chose_both():
    assert feedback.votes([("white_check_mark", ("U1", "U2")), ("x", ("U2", "U3")), ("tada", ("U4",))]) == \
        {"U1": 1, "U3": 0}


def test_uncertain_stories_go_once_a_day_to_the_review_digest_one_reply_each(demo_settings, slack):
    # A floor of 0: every story below the alert threshold is "uncertain", whatever the model's exact scores.
    review = demo_settings.with_(review_min_score=0.0, review_channel="#aiwatch-review")
    summary = run_cycle(review, gateway=gateway_for(slack))
    negatives = summary.classified - summary.relevant
    assert summary.digest_lines == min(negatives, alerts.DIGEST_MAX_LINES) >= 1
    digests = slack.messages("#aiwatch-review")
    assert len(digests) == 1 and "review" in digests[0]["text"].lower()
    lines = slack.replies(digests[0]["ts"])
    assert len(lines) == summary.digest_lines
    review_id = slack.channel_id("#aiwatch-review")
    alerted = {p["metadata"]["event_payload"]["key"] for p in slack.posts if p["channel"] != review_id}
    assert alerted and all(k.startswith(("alert:", "followup:")) for k in alerted)
    scores = [json.dumps(line["blocks"]) for line in lines]
    assert any("%" in s for s in scores)  # each line shows its score
    # The same day: no second digest; a story already in a digest never comes back.
    store = Store(review.db_url)
    assert alerts.compose(review, "cycle__later").get("digest_lines", 0) == 0
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    assert alerts.compose(review, "cycle__tomorrow", now=tomorrow).get("digest_lines", 0) == 0
    # A reaction on a digest line labels that story.
    slack.react("#aiwatch-review", lines[0]["ts"], "white_check_mark", "U7")
    assert feedback.collect(review, gateway_for(slack))["relevant"] == 1
    assert {row["label"] for row in labelled_articles(store)} == {1}


def test_hostile_titles_reach_slack_inert_and_within_limits(settings, server, slack, tmp_path):
    """A feed anyone can write: mentions, broadcasts, forged links, bidi tricks and a 10,000-character
    title go all the way through a cycle and come out as plain text within Slack's limits."""
    from feedgen import article_html, item, rss

    hostile = ("<!channel> <!here> @everyone Morocco signs AI memorandum with Mistral AI <@U123> "
               "<http://evil.example|click here> \u202eolleh ")
    body = ("Rabat and Mistral AI signed a memorandum of understanding on artificial intelligence today, "
            "covering training, public services and research. <!channel> <@U999> <http://evil.example|x>")
    long_title = "Morocco and OpenAI sign an AI agreement " + "très long " * 1000
    server.add("/feed.xml", body=rss(item(hostile, server.url("/a.html"), summary=body),
                                     item(long_title, server.url("/b.html"), summary=body)),
               content_type="application/rss+xml")
    server.add("/a.html", body=article_html(hostile, body, lang="en"))
    server.add("/b.html", body=article_html(long_title, body, lang="en"))
    write_feeds(settings, [{"name": "hostile", "url": server.url("/feed.xml"), "lang": "en"}])
    run_cycle(settings.with_(outbox_file=tmp_path / "o.jsonl"), gateway=gateway_for(slack))
    assert slack.posts, "the hostile but relevant stories should still be alerted"
    for post in slack.posts:
        serialised = json.dumps({"text": post["text"], "blocks": post["blocks"]}, ensure_ascii=False)
        assert "<!" not in serialised and "<@" not in serialised and "evil.example|" not in serialised
        assert "\u202e" not in serialised
        assert "@\u2060everyone" in serialised or "everyone" not in serialised
        assert len(post["blocks"]) <= 50 and len(json.dumps(post["blocks"], ensure_ascii=False)) < 12_000
        for block in post["blocks"]:
            if block["type"] == "header":
                assert len(block["text"]["text"]) <= 150


def test_one_aggregator_feed_on_one_host_still_threads_other_outlets(settings, server, slack, tmp_path):
    """Several outlets' reports in one feed, every page on the same host: the pages' site names tell
    the outlets apart, so later reports are thread replies, not swallowed as 'same outlet'."""
    from feedgen import item, rss

    def page(site: str, title: str, body: str) -> bytes:
        return (f'<html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
                f'<meta property="og:site_name" content="{site}"></head><body><article><h1>{title}</h1>'
                + "".join(f"<p>{body} ({i})</p>" for i in range(4)) + "</article></body></html>").encode()

    stories = [("Atlas Daily", "Morocco and Mistral AI sign AI memorandum of understanding",
                "Morocco's digital transition ministry and Mistral AI signed a memorandum of understanding on "
                "artificial intelligence in Rabat, covering public services, training and research."),
               ("Rif Post", "Rabat signs artificial intelligence MoU with France's Mistral AI",
                "The French start-up Mistral AI will train Moroccan civil servants and help build Arabic and "
                "Amazigh language models under an agreement announced by the government on Friday."),
               ("Sahara Times", "Mistral AI and Morocco seal AI memorandum of understanding",
                "Officials in Rabat described the memorandum with Mistral AI as a first step towards joint "
                "projects in education, health and support for Moroccan start-ups over three years.")]
    items = []
    for n, (site, title, body) in enumerate(stories):
        server.add(f"/s{n}.html", body=page(site, title, body))
        items.append(item(title, server.url(f"/s{n}.html"), summary=body))
    server.add("/agg.xml", body=rss(*items), content_type="application/rss+xml")
    write_feeds(settings, [{"name": "aggregator", "url": server.url("/agg.xml"), "lang": "en"}])
    run_cycle(settings.with_(outbox_file=tmp_path / "o.jsonl"), gateway=gateway_for(slack))
    top = slack.messages(CHANNEL)
    assert len(top) == 1, [m["text"][:80] for m in top]
    assert len(slack.replies(top[0]["ts"])) == 2
