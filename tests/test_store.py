"""Article identity and store safety, on SQLite and on PostgreSQL."""

import multiprocessing
from datetime import UTC, datetime, timedelta

import pytest
from aiwatch.config import Feed
from aiwatch.feeds import FeedEntry, PollResult
from aiwatch.store import Store, current_revision, repo, upgrade
from aiwatch.store.migrate import head_revision
from aiwatch.store.models import Article
from sqlalchemy import func, select

NOW = datetime(2025, 9, 12, 10, 0, tzinfo=UTC)
FEED_A = Feed("outlet-a", "https://outlet.ma/rss", "fr")
FEED_B = Feed("outlet-a-eco", "https://outlet.ma/eco/rss", "fr")
FEED_C = Feed("aggregator", "https://news.example/rss", "fr")
SUMMARY = ("Le ministère de la transition numérique a signé un mémorandum d'entente avec Mistral AI pour "
           "développer les compétences en intelligence artificielle et soutenir les jeunes pousses marocaines.")


def entry(link, title="Le Maroc signe un accord avec Mistral AI", guid=None, summary=SUMMARY, outlet="outlet.ma"):
    return FeedEntry(link=link, guid=guid, title=title, summary=summary, published=NOW, outlet=outlet)


def fresh(url):
    store = Store(url)
    upgrade(store)
    return store


def count(store):
    return store.read(lambda s: s.scalar(select(func.count()).select_from(Article)))


def test_migrations_reach_head_and_are_idempotent(store_url):
    store = fresh(store_url)
    assert current_revision(store) == head_revision()
    assert upgrade(store) == head_revision()


def test_same_story_polled_twice_or_from_two_feeds_is_stored_once(store_url):
    store = fresh(store_url)
    first = repo.add_entries(store, FEED_A, [entry("https://outlet.ma/a?utm_source=rss")], "r1", NOW)
    again = repo.add_entries(store, FEED_A, [entry("https://outlet.ma/a")], "r2", NOW)
    other_feed = repo.add_entries(store, FEED_B, [entry("http://www.outlet.ma/a/#comments")], "r2", NOW)
    assert (first.new, again.known, other_feed.known) == (1, 1, 1)
    assert count(store) == 1


def test_edited_headline_on_same_url_is_an_update(store_url):
    store = fresh(store_url)
    repo.add_entries(store, FEED_A, [entry("https://outlet.ma/a", title="Maroc : accord avec Mistral")], "r1", NOW)
    counts = repo.add_entries(store, FEED_A, [entry("https://outlet.ma/a", title="Maroc-Mistral : ce que dit l'accord",
                                                    guid="new-guid")], "r2", NOW)
    assert (counts.new, counts.updated) == (0, 1)
    article = store.read(lambda s: s.scalars(select(Article)).one())
    assert article.title == "Maroc-Mistral : ce que dit l'accord"
    assert article.title_history[0]["title"] == "Maroc : accord avec Mistral"


def test_new_guid_or_url_with_same_headline_from_same_outlet_is_a_duplicate(store_url):
    store = fresh(store_url)
    repo.add_entries(store, FEED_A, [entry("https://outlet.ma/a", guid="g1")], "r1", NOW)
    counts = repo.add_entries(store, FEED_A, [entry("https://outlet.ma/a-2", guid="g2")], "r2", NOW)
    assert (counts.new, counts.duplicates) == (0, 1)
    # Same headline from another outlet is another article (it is their own coverage).
    other = repo.add_entries(store, FEED_C, [entry("https://news.example/x", outlet="news.example")], "r2", NOW)
    assert other.new == 1


def test_republished_text_under_new_title_and_url_is_a_duplicate(store_url):
    store = fresh(store_url)
    repo.add_entries(store, FEED_A, [entry("https://outlet.ma/a")], "r1", NOW)
    counts = repo.add_entries(store, FEED_A, [entry("https://outlet.ma/republished", title="Mistral AI et le Maroc, "
                                                    "un partenariat pour l'IA", summary=SUMMARY + " ")], "r2", NOW)
    assert counts.duplicates == 1 and count(store) == 1


def test_shared_guid_with_different_links_keeps_both(store_url):
    store = fresh(store_url)
    counts = repo.add_entries(store, FEED_A, [
        entry("https://outlet.ma/story-1", title="Rabat accueille un forum sur l'eau", guid="same", summary=""),
        entry("https://outlet.ma/story-2", title="Casablanca inaugure un nouveau tramway", guid="same", summary=""),
    ], "r1", NOW)
    assert counts.new == 2


def test_guid_reused_for_a_different_story_later_is_a_new_article(store_url):
    store = fresh(store_url)
    repo.add_entries(store, FEED_A, [entry("https://outlet.ma/old", guid="42")], "r1", NOW)
    counts = repo.add_entries(store, FEED_A, [entry("https://outlet.ma/new", guid="42",
                                                    title="La météo annonce des pluies sur le Rif",
                                                    summary="Des pluies orageuses sont attendues dès mardi.")],
                              "r2", NOW + timedelta(days=1))
    assert counts.new == 1 and count(store) == 2


def test_short_generic_titles_are_not_merged(store_url):
    store = fresh(store_url)
    counts = repo.add_entries(store, FEED_A, [entry("https://outlet.ma/edito-1", title="Edito", summary=""),
                                              entry("https://outlet.ma/edito-2", title="Edito", summary="")], "r1", NOW)
    assert counts.new == 2


def test_pages_saved_once_and_text_twins_marked(store_url):
    store = fresh(store_url)
    counts = repo.add_entries(store, FEED_A, [entry("https://outlet.ma/a", summary=""),
                                              entry("https://outlet.ma/b", title="Autre titre pour le même texte",
                                                    summary="")], "r1", NOW)
    a, b = counts.new_ids
    body = SUMMARY * 3
    repo.save_pages(store, [repo.PageOutcome(a, "ok", text=body, lang="fr")], NOW)
    stats = repo.save_pages(store, [repo.PageOutcome(b, "ok", text=body, lang="fr"),
                                    repo.PageOutcome(a, "failed", error="late retry must not overwrite")], NOW)
    assert stats == {"ok": 0, "failed": 0, "deferred": 0, "duplicate": 1, "given_up": 0}
    assert repo.pending_pages(store, 10) == []
    articles = {x.id: x for x in store.read(lambda s: list(s.scalars(select(Article))))}
    assert articles[a].fetch_status == "ok" and articles[b].duplicate_of == a


def test_a_fingerprint_from_the_extraction_worker_is_stored_as_computed_here(store_url):
    """The pool's worker fingerprints the text (off the main thread); the store keeps exactly what
    save_pages would have computed, and still computes it for an outcome that carries none."""
    from aiwatch.extract import extract_in_worker
    from aiwatch.textutil import simhash

    html = ("<html><head><title>Le Maroc et Mistral AI</title></head><body><article><p>"
            + SUMMARY * 4 + "</p></article></body></html>").encode()
    extracted = extract_in_worker(html, "https://outlet.ma/a", "text/html", "fr")
    assert extracted.fingerprinted and extracted.text_fp == simhash(extracted.text)
    store = fresh(store_url)
    counts = repo.add_entries(store, FEED_A, [entry("https://outlet.ma/a", summary=""),
                                              entry("https://outlet.ma/b", title="Un autre titre", summary="")],
                              "r1", NOW)
    a, b = counts.new_ids
    repo.save_pages(store, [repo.PageOutcome(a, "ok", text=extracted.text, text_fp=extracted.text_fp,
                                             fingerprinted=True),
                            repo.PageOutcome(b, "ok", text="Texte tout autre sur le football. " * 20)], NOW)
    stored = dict(store.read(lambda s: s.execute(select(Article.id, Article.text_fp)).all()))
    assert stored == {a: simhash(extracted.text), b: simhash("Texte tout autre sur le football. " * 20)}


def test_feed_health_and_poll_log(store_url):
    store = fresh(store_url)
    repo.sync_feeds(store, [FEED_A])
    failed = PollResult(FEED_A.name, "failed", reason="http-500", error="http-500: boom", http_status=500)
    for n in range(3):
        state = repo.record_poll(store, f"r{n}", FEED_A, failed, None, backoff_base_s=60, backoff_cap_s=600, now=NOW)
    assert state.consecutive_failures == 3 and state.next_attempt_at == NOW + timedelta(seconds=120)
    ok = PollResult(FEED_A.name, "ok", entries=[entry("https://outlet.ma/z")], etag='"e"', http_status=200)
    counts = repo.add_entries(store, FEED_A, ok.entries, "r3", NOW)
    state = repo.record_poll(store, "r3", FEED_A, ok, counts, backoff_base_s=60, backoff_cap_s=600, now=NOW)
    assert (state.consecutive_failures, state.etag, state.entries_seen, state.articles_new) == (0, '"e"', 1, 1)
    # A retried task overwrites its own poll row instead of adding a second one.
    repo.record_poll(store, "r3", FEED_A, ok, counts, backoff_base_s=60, backoff_cap_s=600, now=NOW)
    _, polls = repo.run_record(store, "r3")
    assert len(polls) == 1 and polls[0].new == 1


def _writer(url, worker, n):
    store = Store(url)
    feed = Feed(f"feed-{worker}", "https://outlet.ma/rss")
    for i in range(n):
        # Half the links are shared by every worker: they race on the same unique key.
        link = f"https://outlet.ma/shared-{i}" if i % 2 else f"https://outlet.ma/w{worker}-{i}"
        repo.add_entries(store, feed, [entry(link, title=f"Article numéro {i} du flux {worker} ici", summary="")],
                         f"run-{worker}", NOW)
        repo.record_step(store, "run", f"step-{worker}-{i}", {"i": i})


def test_concurrent_writers_from_several_processes_lose_nothing(store_url):
    store = fresh(store_url)
    workers, per_worker = 4, 30
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=_writer, args=(store_url, w, per_worker)) for w in range(workers)]
    for p in processes:
        p.start()
    for p in processes:
        p.join(120)
    assert all(p.exitcode == 0 for p in processes)
    # Distinct articles: each worker's own even-numbered links plus the shared odd ones, once each.
    assert count(store) == workers * (per_worker // 2) + per_worker // 2
    steps, _ = repo.run_record(store, "run")
    assert len(steps) == workers * per_worker


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_migrations_build_exactly_the_models_schema(tmp_path, backend, request):
    """A column added to a model without its migration (or the reverse) is caught here."""
    from aiwatch.store.models import Base
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    url = f"sqlite:///{tmp_path / 'm.db'}" if backend == "sqlite" else request.getfixturevalue("postgres_url")
    store = Store(url)
    upgrade(store)
    with store.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
