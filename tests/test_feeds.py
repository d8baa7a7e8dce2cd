from datetime import UTC, datetime, timedelta

from aiwatch.config import Feed
from aiwatch.feeds import next_attempt_delay, parse_entries
from feedgen import item, rss

FEED = Feed("t", "http://example.ma/rss", "fr")


def test_entries_are_cleaned():
    body = rss(item("<b>Le Maroc</b> &amp; Mistral", "http://example.ma/a?utm_source=rss", "g1",
                    "<p>Un <i>accord</i> signé.</p>"))
    result = parse_entries(body, FEED)
    assert result.status == "ok"
    [entry] = result.entries
    assert entry.title == "Le Maroc & Mistral"
    assert entry.summary == "Un accord signé."
    assert entry.link == "http://example.ma/a"
    assert entry.outlet == "example.ma" and entry.guid == "g1"
    assert entry.published == datetime(2025, 9, 12, 9, 0, tzinfo=UTC)


def test_future_dates_are_clamped_to_now():
    now = datetime(2025, 9, 12, tzinfo=UTC)
    body = rss(item("Demain déjà", "http://example.ma/f", published=now + timedelta(days=400)))
    [entry] = parse_entries(body, FEED, now=now).entries
    assert entry.published == now


def test_entry_without_link_is_skipped_or_uses_permalink_guid():
    body = rss(item("Sans lien", None, "not-a-url"),
               '<item><title>Guid lien</title><guid isPermaLink="true">http://example.ma/g</guid></item>',
               item("Avec lien", "http://example.ma/ok"))
    result = parse_entries(body, FEED)
    assert [e.title for e in result.entries] == ["Guid lien", "Avec lien"]
    assert result.skipped_entries == 1
    assert any("1 entries without a usable link" in w for w in result.warnings)


def test_bozo_feed_with_entries_is_used_and_reported():
    body = rss(item("Titre", "http://example.ma/a")).replace(b"</channel></rss>", b"<broken>")
    result = parse_entries(body, FEED, content_type="application/rss+xml")
    assert result.status == "ok" and len(result.entries) == 1
    assert "not well formed" in result.warnings[0]


def test_html_instead_of_feed_fails_clearly():
    result = parse_entries(b"<!DOCTYPE html><html><body><h1>Accueil</h1></body></html>", FEED,
                           content_type="text/html")
    assert result.status == "failed" and result.reason == "not-a-feed" and "HTML" in result.error


def test_garbage_fails_clearly():
    result = parse_entries(b"\x00\x01\x02 not xml at all \xff\xfe", FEED)
    assert result.status == "failed" and result.error


def test_hostile_titles_are_bounded():
    body = rss(item("A" * 20000 + " fin", "http://example.ma/long"))
    [entry] = parse_entries(body, FEED).entries
    assert len(entry.title) <= 500


def test_legacy_encoding_feed():
    body = rss(item("Économie : l'État mise sur l'IA", "http://example.ma/e"), encoding="iso-8859-1")
    [entry] = parse_entries(body, FEED).entries
    assert entry.title == "Économie : l'État mise sur l'IA"


def test_backoff_grows_and_is_capped():
    delays = [next_attempt_delay(n, 300, 3600).total_seconds() for n in range(1, 8)]
    assert delays[0] == 0  # the next cycle tries again after a single failure
    assert delays[1:4] == [300, 600, 1200]
    assert max(delays) == 3600
    assert next_attempt_delay(1, 300, 3600, retry_after=900).total_seconds() == 900


def test_failure_messages_never_show_a_feed_urls_credentials():
    feed = Feed(name="secret", url="http://reader:hunter2@news.example.ma/feed")
    failures = [
        parse_entries(b"<!DOCTYPE html><html><body><h1>Accueil</h1></body></html>", feed, content_type="text/html"),
        parse_entries(b"\x00\x01\x02 not xml at all \xff\xfe", feed),
        parse_entries(rss(item("", "")), feed, content_type="application/rss+xml"),
    ]
    for result in failures:
        assert result.status == "failed" and result.error
        assert "hunter2" not in result.error and "news.example.ma" in result.error, result.error
