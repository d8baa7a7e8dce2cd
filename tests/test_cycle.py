"""Whole cycles through the library against a local web: the promises operators rely on."""

from datetime import UTC, datetime, timedelta

import pytest
from aiwatch import cycle
from aiwatch.config import Feed
from aiwatch.devserver import Route
from aiwatch.store import repo
from aiwatch.store.models import Article, FeedState
from conftest import write_feeds
from feedgen import article_html, item, rss
from sqlalchemy import select

BODY = ("Le ministère de la transition numérique a signé un mémorandum d'entente avec une entreprise "
        "d'intelligence artificielle pour former des ingénieurs et soutenir les start-up du Royaume.")


def articles(settings):
    return cycle.open_store(settings).read(lambda s: {a.url.rsplit("/", 1)[-1]: a for a in s.scalars(select(Article))})


def feed_state(settings, name):
    return cycle.open_store(settings).read(lambda s: s.get(FeedState, name))


def publish(server, path, *items, **route):
    server.add(path, Route(body=rss(*items), content_type="application/rss+xml; charset=utf-8", **route))


def test_first_run_stores_second_run_gets_304_and_nothing_new(settings, server):
    publish(server, "/a.xml", item("Le Maroc signe avec Mistral AI", server.url("/p/1"), "1", "Résumé un."),
            item("Le Maroc discute avec OpenAI", server.url("/p/2"), "2", "Résumé deux."), etag='"v1"')
    server.add("/p/1", body=article_html("Le Maroc signe avec Mistral AI", BODY))
    server.add("/p/2", body=article_html("Le Maroc discute avec OpenAI", BODY.replace("signé", "discuté")))
    write_feeds(settings, [{"name": "a", "url": server.url("/a.xml"), "lang": "fr"}])
    first = cycle.run_cycle(settings)
    assert (first.feeds_ok, first.new_articles, first.extracted) == (1, 2, 2)
    second = cycle.run_cycle(settings)
    assert (second.feeds_unchanged, second.new_articles, second.extracted) == (1, 0, 0)
    assert server.not_modified["/a.xml"] == 1
    assert server.request_headers["/a.xml"][1]["if-none-match"] == '"v1"'
    assert server.hits["/p/1"] == server.hits["/p/2"] == 1  # no page fetched twice
    stored = articles(settings)
    assert stored["1"].fetch_status == "ok" and "mémorandum" in stored["1"].text and stored["1"].lang == "fr"


def test_last_modified_is_used_when_there_is_no_etag(settings, server):
    publish(server, "/lm.xml", item("Un titre assez long pour compter", server.url("/p/x")),
            last_modified="Tue, 09 Sep 2025 10:00:00 GMT")
    server.add("/p/x", body=article_html("Titre", BODY))
    write_feeds(settings, [{"name": "lm", "url": server.url("/lm.xml")}])
    cycle.run_cycle(settings)
    assert cycle.run_cycle(settings).feeds_unchanged == 1


def test_failed_feed_does_not_stop_others_and_backs_off(settings, server):
    publish(server, "/good.xml", item("Bonne nouvelle pour le numérique marocain", server.url("/p/g")))
    server.add("/p/g", body=article_html("Bonne nouvelle", BODY))
    server.add("/bad.xml", status=500, body=b"oops")
    write_feeds(settings, [{"name": "good", "url": server.url("/good.xml")},
                           {"name": "bad", "url": server.url("/bad.xml")}])
    summary = cycle.run_cycle(settings)
    assert summary.feeds_ok == 1 and "http-500" in summary.feeds_failed["bad"]
    assert summary.new_articles == 1 and summary.extracted == 1
    assert "failed  bad: http-500" in summary.text()
    # Second consecutive failure: polled again (first back-off step is zero), then a delay starts.
    cycle.run_cycle(settings)
    state = feed_state(settings, "bad")
    assert state.consecutive_failures == 2 and state.next_attempt_at > datetime.now(UTC)
    third = cycle.run_cycle(settings)
    assert "bad" in third.feeds_skipped and server.hits["/bad.xml"] == 2
    # It comes back: once due, a successful poll resets the counters.
    cycle.open_store(settings).write(lambda s: setattr(s.get(FeedState, "bad"), "next_attempt_at",
                                                       datetime.now(UTC) - timedelta(seconds=1)))
    publish(server, "/bad.xml", item("Retour du flux après la panne", server.url("/p/g2")))
    server.add("/p/g2", body=article_html("Retour", BODY + " Encore."))
    assert cycle.run_cycle(settings).feeds_ok == 2
    assert feed_state(settings, "bad").consecutive_failures == 0


def test_retry_after_is_honoured_per_host(settings, server):
    server.add("/limited.xml", status=429, headers={"Retry-After": "3600"})
    write_feeds(settings, [{"name": "limited", "url": server.url("/limited.xml")}])
    first = cycle.run_cycle(settings)
    assert "http-429" in first.feeds_failed["limited"]
    second = cycle.run_cycle(settings)
    assert "limited" in second.feeds_skipped and server.hits["/limited.xml"] == 1
    assert repo.host_not_before(cycle.open_store(settings), "127.0.0.1") is not None


def test_page_429_defers_the_rest_of_that_host(settings, server):
    publish(server, "/f.xml", *[item(f"Article numéro {i} sur l'économie marocaine", server.url(f"/p/{i}"))
                                for i in range(4)])
    for i in range(4):
        server.add(f"/p/{i}", status=429, headers={"Retry-After": "120"})
    write_feeds(settings, [{"name": "f", "url": server.url("/f.xml")}])
    summary = cycle.run_cycle(settings.with_(per_host_limit=1, fetch_workers=1))
    assert summary.new_articles == 4 and summary.deferred == 4 and summary.partial == 0
    assert sum(server.hits[f"/p/{i}"] for i in range(4)) == 1  # one 429, then we stop asking
    statuses = {a.fetch_status for a in articles(settings).values()}
    assert statuses == {"deferred"}


@pytest.mark.parametrize(("route", "reason"), [
    (Route(status=404), "http-404"),
    (Route(endless=True, endless_cap_s=8), "too-large"),
    (Route(body=b"%PDF-1.5 binary", content_type="application/pdf"), "not-html"),
    (Route(redirect_to="/loop"), "redirect-loop"),
])
def test_failed_page_keeps_feed_text_with_reason(settings, server, route, reason):
    publish(server, "/f.xml", item("Le Maroc et OpenAI en discussions avancées", server.url("/loop"), "x",
                                   "Les deux parties explorent une coopération."))
    server.add("/loop", route)
    write_feeds(settings, [{"name": "f", "url": server.url("/f.xml")}])
    summary = cycle.run_cycle(settings.with_(http_timeout_s=2.0, max_page_bytes=100_000))
    assert summary.partial == 1 and summary.partial_reasons == {reason: 1}
    [article] = articles(settings).values()
    assert article.fetch_status == "failed" and article.fetch_error.startswith(reason)
    assert article.title == "Le Maroc et OpenAI en discussions avancées"
    assert article.summary == "Les deux parties explorent une coopération."
    cycle.run_cycle(settings)
    assert server.hits["/loop"] <= (2 if reason == "redirect-loop" else 1)  # never fetched again


@pytest.mark.parametrize(("route", "reason"), [
    (Route(delay_s=4), "timeout"),
    (Route(status=503), "http-503"),
    (Route(body=b"", status=200, headers={"Connection": "close"}, declared_length=5000), "connection"),
])
def test_page_that_may_heal_is_retried_then_given_up_and_judged_on_feed_text(settings, server, route, reason):
    """A timeout or a 5xx may heal: the page is tried again on the next cycles; once its attempts are
    used up it is given up (visible, with its reason) and the article is judged on the feed's text."""
    publish(server, "/f.xml", item("Le Maroc et OpenAI en discussions avancées", server.url("/slow"), "x",
                                   "Les deux parties explorent une coopération."))
    server.add("/slow", route)
    write_feeds(settings, [{"name": "f", "url": server.url("/f.xml")}])
    fast = settings.with_(http_timeout_s=1.0, max_page_attempts=3)
    first = cycle.run_cycle(fast)
    assert first.deferred == 1 and first.partial == 0 and first.retry_reasons == {reason: 1}, first.text()
    assert first.classified == 0  # not judged yet: the page may still come
    assert "1 deferred to a later cycle (1 " + reason in first.text()
    second = cycle.run_cycle(fast)
    assert second.deferred == 1 and second.given_up == 0
    third = cycle.run_cycle(fast)
    assert third.given_up == 1 and third.deferred == 0 and third.classified == 1, third.text()
    assert "1 given up after repeated failures" in third.text()
    [article] = articles(settings).values()
    assert article.fetch_status == "given-up" and article.fetch_attempts == 3
    assert article.fetch_error.startswith("given-up after 3 attempts: " + reason)
    hits = server.hits["/slow"]
    cycle.run_cycle(fast)
    assert server.hits["/slow"] == hits  # never fetched again


@pytest.mark.parametrize(("route", "reason"), [
    (Route(status=500), "http-500"),
    (Route(delay_s=4), "timeout"),
    (Route(endless=True, endless_cap_s=8, content_type="application/rss+xml"), "too-large"),
    (Route(body=b"<!DOCTYPE html><html><body>Accueil</body></html>"), "not-a-feed"),
    (Route(redirect_to="/feed-loop"), "redirect-loop"),
    (Route(body=b"\xff\xfe\x00\x00garbage\x80\x81" * 50, content_type="application/rss+xml"), "broken-feed"),
])
def test_feed_faults_fail_that_feed_clearly(settings, server, route, reason):
    server.add("/feed-loop", route)
    publish(server, "/ok.xml", item("Une information qui arrive quand même", server.url("/p/ok")))
    server.add("/p/ok", body=article_html("Titre", BODY))
    write_feeds(settings, [{"name": "faulty", "url": server.url("/feed-loop")},
                           {"name": "ok", "url": server.url("/ok.xml")}])
    summary = cycle.run_cycle(settings.with_(http_timeout_s=2.0, max_feed_bytes=100_000))
    assert summary.feeds_failed["faulty"].startswith(reason) and summary.feeds_ok == 1
    assert summary.new_articles == 1
    state = feed_state(settings, "faulty")
    assert state.consecutive_failures == 1 and reason in state.last_error


def test_private_page_is_refused_while_the_guard_is_on(settings, server):
    """The feed host is allow-listed; its entries point at (or redirect to) other loopback addresses."""
    port = server.host_port.split(":")[1]
    publish(server, "/f.xml", item("Lien direct vers une adresse interne", f"http://127.0.0.2:{port}/admin"),
            item("Lien qui redirige vers une adresse interne", server.url("/jump")))
    server.add("/jump", redirect_to=f"http://127.0.0.3:{port}/admin")
    write_feeds(settings, [{"name": "f", "url": server.url("/f.xml")}])
    guarded = settings.with_(allow_private_networks=False, private_allowlist=frozenset({server.host_port}))
    summary = cycle.run_cycle(guarded)
    assert summary.partial_reasons == {"blocked-address": 2}
    assert server.hits["/admin"] == 0


def test_feed_on_private_address_fails_with_the_guard_on(settings, server):
    publish(server, "/f.xml", item("Titre quelconque pour ce test", server.url("/p")))
    write_feeds(settings, [{"name": "f", "url": server.url("/f.xml")}])
    summary = cycle.run_cycle(settings.with_(allow_private_networks=False))
    assert summary.feeds_failed["f"].startswith("blocked-address") and server.hits["/f.xml"] == 0


def test_undecodable_and_mislabelled_pages_do_not_become_mojibake(settings, server):
    fr = article_html("Économie", "L'État marocain a décidé d'accélérer la stratégie numérique à Fès et Salé.")
    ar = article_html("اقتصاد", "قررت الحكومة المغربية تسريع الاستراتيجية الرقمية في مجال الذكاء الاصطناعي.", "ar")
    publish(server, "/f.xml", item("Économie : l'État accélère le numérique", server.url("/p/fr")),
            item("الحكومة تسرع الاستراتيجية الرقمية للمملكة", server.url("/p/ar")),
            item("Une page illisible de bout en bout", server.url("/p/junk")))
    server.add("/p/fr", body=fr, content_type="text/html; charset=ISO-8859-1")  # a lying header
    server.add("/p/ar", body=ar.decode().replace('charset="utf-8"', 'charset="windows-1256"').encode("cp1256", errors="xmlcharrefreplace"),
               content_type="text/html")
    server.add("/p/junk", body=bytes(range(256)) * 200, content_type="text/html")
    write_feeds(settings, [{"name": "f", "url": server.url("/f.xml")}])
    summary = cycle.run_cycle(settings)
    stored = articles(settings)
    assert "L'État marocain a décidé" in stored["fr"].text and "Ã" not in stored["fr"].text
    assert "الاستراتيجية الرقمية" in stored["ar"].text and stored["ar"].lang == "ar"
    assert stored["junk"].fetch_status in ("failed", "ok") and summary.new_articles == 3


def test_headline_edit_and_guid_reuse_between_polls(settings, server):
    publish(server, "/f.xml", item("Maroc : accord sur l'IA avec Mistral", server.url("/p/1"), "g-1",
                                   "Le ministère a signé un accord."), etag='"1"')
    server.add("/p/1", body=article_html("Accord", BODY))
    write_feeds(settings, [{"name": "f", "url": server.url("/f.xml")}])
    cycle.run_cycle(settings)
    # The outlet edits the headline (same URL), and reuses GUID g-1 for an unrelated story.
    publish(server, "/f.xml",
            item("Maroc-Mistral : ce que contient l'accord sur l'IA", server.url("/p/1"), "g-1-edit",
                 "Le ministère a signé un accord."),
            item("Pluies orageuses attendues sur le Rif dès mardi", server.url("/p/2"), "g-1",
                 "La météo prévoit des orages."), etag='"2"')
    server.add("/p/2", body=article_html("Météo", "Des orages sont attendus sur le Rif et le Moyen Atlas dès mardi."))
    summary = cycle.run_cycle(settings)
    assert (summary.new_articles, summary.updated_articles) == (1, 1)
    stored = articles(settings)
    assert stored["1"].title == "Maroc-Mistral : ce que contient l'accord sur l'IA"
    assert server.hits["/p/1"] == 1


def test_two_feeds_carrying_the_same_story_store_it_once(settings, server):
    link = server.url("/p/shared")
    publish(server, "/one.xml", item("Le Maroc et OpenAI engagent des discussions", link + "?utm_source=one"))
    publish(server, "/two.xml", item("Le Maroc et OpenAI engagent des discussions", link + "?utm_medium=rss#top"))
    server.add("/p/shared", body=article_html("Discussions", BODY))
    write_feeds(settings, [{"name": "one", "url": server.url("/one.xml")}, {"name": "two", "url": server.url("/two.xml")}])
    summary = cycle.run_cycle(settings)
    assert summary.new_articles == 1 and server.hits["/p/shared"] == 1


def test_summary_reports_feeds_that_left_no_record(settings):
    run_id = "r-crash"
    cycle.prepare(settings)
    summary = cycle.summarise(settings, run_id, ["ghost"])
    assert "no poll recorded" in summary.feeds_failed["ghost"]
    assert summary.missing_steps == ["fetch", "classify", "group", "compose", "deliver"]
    assert "INCOMPLETE" in summary.text()


@pytest.fixture(autouse=True)
def _empty_feeds_file(settings):
    write_feeds(settings, [])


def test_poll_feed_raises_typed_errors(settings, server):
    server.add("/x.xml", status=503, headers={"Retry-After": "60"})
    feed = Feed("x", server.url("/x.xml"))
    cycle.prepare(settings)
    with pytest.raises(cycle.FeedFailed, match="feed=x .*http-503"):
        cycle.poll_feed(settings, feed, "r1")
    with pytest.raises(cycle.FeedSkipped, match="in back-off after 1 failures"):
        cycle.poll_feed(settings, feed, "r2")
    # Another feed on the same host waits too: Retry-After is honoured per host.
    with pytest.raises(cycle.FeedSkipped, match="asked us to wait"):
        cycle.poll_feed(settings, Feed("y", server.url("/y.xml")), "r2")
    assert server.hits["/y.xml"] == 0


def test_whole_cycle_on_the_postgresql_store(settings, demo_server, postgres_url):
    """WATCH_DB_URL=postgresql+psycopg://... : the same cycle, classification included."""
    pg = settings.with_(db_url=postgres_url)
    write_feeds(pg, [{"name": "atlas-tech", "url": demo_server.url("/atlas-tech/feed.xml"), "lang": "fr"},
                     {"name": "akhbar-raqmiya", "url": demo_server.url("/akhbar-raqmiya/feed.xml"), "lang": "ar"}])
    first = cycle.run_cycle(pg)
    assert (first.feeds_ok, first.new_articles, first.extracted, first.classified) == (2, 11, 11, 11)
    assert first.relevant >= 3 and not first.missing_steps
    second = cycle.run_cycle(pg)
    assert (second.feeds_unchanged, second.new_articles, second.classified) == (2, 0, 0)


def test_poll_now_lifts_the_feeds_back_off_once_and_a_paused_feed_is_left_out(settings, server):
    """An operator's "poll now" polls a feed in back-off on the next run (a host's Retry-After still
    holds); the poll serves the request, so the back-off applies again after it. A paused feed is not
    handed to the mapper at all."""
    from aiwatch.store import repo

    server.add("/x.xml", status=500)
    feed = Feed("x", server.url("/x.xml"))
    write_feeds(settings, [{"name": "x", "url": feed.url}, {"name": "z", "url": server.url("/z.xml")}])
    cycle.prepare(settings)
    slow = settings.with_(feed_backoff_base_s=3600.0)
    for run in ("r1", "r2"):     # the first back-off step is zero: two failures start a delay
        with pytest.raises(cycle.FeedFailed):
            cycle.poll_feed(slow, feed, run)
    with pytest.raises(cycle.FeedSkipped, match="in back-off"):
        cycle.poll_feed(slow, feed, "r3")
    store = cycle.open_store(settings)
    assert repo.request_poll(store, "x", datetime.now(UTC) + timedelta(seconds=1))
    hits = server.hits["/x.xml"]
    with pytest.raises(cycle.FeedFailed):
        cycle.poll_feed(slow, feed, "r4", now=datetime.now(UTC) + timedelta(seconds=2))
    assert server.hits["/x.xml"] == hits + 1
    with pytest.raises(cycle.FeedSkipped, match="in back-off"):
        cycle.poll_feed(slow, feed, "r5", now=datetime.now(UTC) + timedelta(seconds=3))

    assert repo.set_paused(store, "z", True, "amina")
    assert [f.name for f in cycle.prepare(settings)] == ["x"]
    assert repo.set_paused(store, "z", False, "amina")
    assert [f.name for f in cycle.prepare(settings)] == ["x", "z"]
    assert not repo.set_paused(store, "ghost", True, "amina") and not repo.request_poll(store, "ghost")


def test_feeds_cut_into_groups_per_task_and_named_for_the_ui():
    names = [f"feed-{i:02d}" for i in range(7)]
    assert cycle.feed_groups(names, 3) == [names[0:3], names[3:6], names[6:]]
    assert cycle.feed_groups(names, 1) == [[n] for n in names] and cycle.feed_groups([], 5) == []
    assert cycle.group_label(names[:3]) == "feed-00, feed-01, feed-02"
    long = [f"a-very-long-feed-name-{i:03d}" for i in range(40)]
    label = cycle.group_label(long)
    assert len(label) <= 250 and label.endswith(", …")
    import sys

    from conftest import REPO

    sys.path.append(str(REPO / "plugins"))
    from aiwatch_ui.airflow_meta import feed_names_of

    assert feed_names_of(cycle.group_label(names[:3])) == names[:3]
    assert feed_names_of(label) == long[:len(feed_names_of(label))] and feed_names_of("solo") == ["solo"]


def test_a_group_polls_each_feed_alone(settings, demo_server):
    """One task instance's feeds: each polled and recorded as alone; a failure stays with its feed."""
    demo_server.add("/bad.xml", status=500)
    write_feeds(settings, [{"name": "bad", "url": demo_server.url("/bad.xml")},
                           {"name": "good", "url": demo_server.url("/atlas-tech/feed.xml")}])
    cycle.prepare(settings)
    outcome = cycle.poll_group(settings, ["bad", "good"], "r-group")
    assert list(outcome.failed) == ["bad"] and "http-500" in outcome.failed["bad"]
    assert list(outcome.ok) == ["good"] and outcome.ok["good"]["status"] == "ok"
    assert outcome.as_dict()["feeds"] == 2 and outcome.skipped == {}
