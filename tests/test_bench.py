"""The benchmarks run (no timing asserted), and the fast extraction paths give the sequential results."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime

import pytest
import trafilatura
from aiwatch.extract import Extracted, ExtractError, _parse_date, extract_article
from aiwatch.fetcher import Fetcher, FetchLimits
from aiwatch.lang import detect_language
from aiwatch.pages import extraction_processes, fetch_pages
from aiwatch.store.repo import PageJob
from aiwatch.textutil import html_to_text, truncate_words

from tests.conftest import DEMO_SITE, REPO, SHARED

REQUIRED = ("cold_articles_per_s", "naive_articles_per_s_50ms", "cold_vs_naive_50ms", "cold_vs_naive_0ms",
            "cold_vs_extraction_floor", "warm_cycle_s", "airflow_cycle_s", "peak_rss_mb", "predict_docs_per_s",
            "train_s", "grouping_resolve_s", "grouping_plain_all_pairs_s", "machine")


def _pages() -> list[tuple[str, bytes]]:
    """The real-world pages when ../shared is there, and the demo site's pages always."""
    files = sorted(DEMO_SITE.rglob("*.html"))
    if (SHARED / "corpora" / "web-pages").is_dir():
        files += sorted((SHARED / "corpora" / "web-pages").glob("*.html"))
    return [(f"/p/{i}.html", f.read_bytes()) for i, f in enumerate(files)]


def reference_extract(body: bytes, url: str, content_type: str | None, lang_hint: str | None) -> Extracted:
    """extract_article as it was before the speed work: trafilatura's own with_metadata=True path."""
    from aiwatch.decode import decode_bytes

    decoded = decode_bytes(body, content_type)
    document = trafilatura.bare_extraction(decoded.text, url=url, with_metadata=True, include_comments=False,
                                           include_tables=False, include_images=False, deduplicate=False)
    assert document is not None and (document.text or "").strip()
    text = document.text.strip()[:100_000]
    title = truncate_words(html_to_text(document.title), 500) if document.title else None
    return Extracted(text=text, title=title or None, published=_parse_date(document.date),
                     lang=detect_language(f"{title or ''}\n{text}", hint=lang_hint or document.language),
                     site_name=html_to_text(document.sitename)[:200] or None if document.sitename else None,
                     encoding=decoded.encoding)


def test_extraction_identical_to_trafilatura_metadata_path():
    pages = _pages()
    if not (SHARED / "corpora" / "web-pages").is_dir():
        pytest.skip(f"{SHARED} absent: only the demo pages would be compared")  # demo pages alone: weak evidence
    compared = 0
    for path, body in pages:
        url = f"https://news.example.ma{path}"
        try:
            expected = reference_extract(body, url, "text/html", "fr")
        except AssertionError:  # no main text: the fast path must say so too
            with pytest.raises(ExtractError):
                extract_article(body, url, "text/html", "fr")
            continue
        assert extract_article(body, url, "text/html", "fr") == expected, path
        # A page whose article the feed already dated skips only the date search.
        assert extract_article(body, url, "text/html", "fr", with_date=False) == replace(expected, published=None)
        compared += 1
    assert compared >= 100


def test_extraction_processes_only_for_batches_on_several_cores():
    assert extraction_processes(500, cores=1) == 0
    assert extraction_processes(5, cores=2) == 0
    assert extraction_processes(500, cores=2) == 2


def test_process_pool_gives_the_sequential_outcomes(server):
    pages = _pages()[:40]
    for path, body in pages:
        server.add(path, body=body, content_type="text/html")
    server.add("/missing.html", status=404, body=b"gone")
    server.add("/feed.xml", body=b"<rss/>", content_type="application/rss+xml")
    jobs = [PageJob(i, server.url(path), f"outlet{i % 3}", "en") for i, (path, _) in enumerate(pages)]
    jobs += [PageJob(998, server.url("/missing.html"), "outlet0", None), PageJob(999, server.url("/feed.xml"),
                                                                                 "outlet1", None)]
    with Fetcher(FetchLimits(allow_private=True, timeout_s=10)) as fetcher:
        sequential = fetch_pages(jobs, fetcher, workers=4, per_host=2, max_bytes=5_000_000, processes=0)
        pooled = fetch_pages(jobs, fetcher, workers=4, per_host=2, max_bytes=5_000_000, processes=2)
        dated = {j.article_id for j in jobs[::2]}
        pooled_dated = fetch_pages(jobs, fetcher, workers=4, per_host=2, max_bytes=5_000_000, processes=2,
                                   dated=dated)
    assert [o.article_id for o in pooled] == [j.article_id for j in jobs]
    assert pooled == sequential
    assert pooled_dated == [replace(o, published=None) if o.article_id in dated else o for o in sequential]
    assert any(o.published for o in sequential)
    assert sum(o.status == "ok" for o in pooled) >= len(pages) - 2
    assert pooled[-2].status == "failed" and "http-404" in (pooled[-2].error or "")
    assert pooled[-1].status == "failed" and "not-html" in (pooled[-1].error or "")


def test_broken_pool_falls_back_to_threads(server, monkeypatch):
    """A worker that dies takes its pages with it: they are extracted in the threads instead, none lost."""
    import aiwatch.pages as pages_module

    pages = _pages()[:20]
    for path, body in pages:
        server.add(path, body=body, content_type="text/html")
    jobs = [PageJob(i, server.url(path), "outlet", "en") for i, (path, _) in enumerate(pages)]
    monkeypatch.setattr(pages_module, "extract_in_worker", _die)
    with Fetcher(FetchLimits(allow_private=True, timeout_s=10)) as fetcher:
        outcomes = fetch_pages(jobs, fetcher, workers=4, per_host=4, max_bytes=5_000_000, processes=2)
        expected = fetch_pages(jobs, fetcher, workers=4, per_host=4, max_bytes=5_000_000, processes=0)
    assert outcomes == expected and all(o.status in ("ok", "failed") for o in outcomes)


def _die(*_args: object) -> None:
    os._exit(1)  # a worker killed mid-page (OOM, signal)


@pytest.mark.timeout(600)
def test_bench_quick_writes_its_json(tmp_path):
    env = dict(os.environ, WATCH_BENCH_DIR=str(tmp_path))
    done = subprocess.run([sys.executable, "-m", "bench", "--quick"], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    written = sorted(tmp_path.glob("*.json"))
    assert len(written) == 1
    results = json.loads(written[0].read_text())
    missing = [key for key in REQUIRED if key not in results]
    assert not missing, missing
    for key in REQUIRED[:-1]:
        assert isinstance(results[key], int | float) and results[key] > 0, (key, results[key])
    assert {"cpu", "cpus", "memory_gb", "python", "platform"} <= set(results["machine"])
    assert results["cold_counts"]["new_articles"] == results["workload"]["articles"]
    assert results["warm_feeds_unchanged"] == results["workload"]["feeds"]
    assert "cold cycle (articles/s)" in done.stdout
    assert datetime.strptime(results["started_at"], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)


def test_cycle_takes_the_page_date_only_for_undated_entries(server, settings):
    """The date search is skipped for articles the feed dated; undated ones still get the page's date."""
    import random
    import sqlite3

    from aiwatch import cycle

    from tests.conftest import write_feeds

    vocabulary = ("rabat casablanca ministry startup data model cloud training school farmers water port rail "
                  "energy solar wind budget minister summit agreement university research city market").split()
    items = []
    for i in range(20):  # enough pages for the worker processes on a multi-core machine
        rng = random.Random(i)  # distinct texts: near-identical bodies from one outlet would be duplicates
        paragraphs = "".join(f"<p>{' '.join(rng.choices(vocabulary, k=30))}.</p>" for _ in range(8))
        server.add(f"/a/{i}.html", content_type="text/html", body=(
            f'<html><head><title>Story number {i} about things</title><meta property="article:published_time" '
            f'content="2025-03-{i + 1:02d}T10:00:00+00:00"></head><body><article><h1>Story number {i}</h1>'
            f"{paragraphs}</article></body></html>").encode())
        date = "<pubDate>Mon, 01 Sep 2025 08:00:00 GMT</pubDate>" if i % 2 else ""
        items.append(f"<item><title>Story number {i} about things</title><link>{server.url(f'/a/{i}.html')}</link>"
                     f"{date}<description>Summary {i} of a distinct story, told differently.</description></item>")
    server.add("/feed.xml", content_type="application/rss+xml",
               body=f"<rss version='2.0'><channel><title>t</title>{''.join(items)}</channel></rss>".encode())
    write_feeds(settings, [{"name": "dates", "url": server.url("/feed.xml")}])
    run_id = cycle.new_run_id()
    for feed in cycle.prepare(settings):
        cycle.poll_feed(settings, feed, run_id)
    stats = cycle.fetch_and_extract(settings, run_id)
    assert stats["extracted"] == 20
    db = sqlite3.connect(settings.db_url.removeprefix("sqlite:///"))
    rows = db.execute("select url, published_at, date_source from articles").fetchall()
    for url, published, source in rows:
        i = int(url.rsplit("/", 1)[1].split(".")[0])
        if i % 2:
            assert published.startswith("2025-09-01") and source != "page", (url, published, source)
        else:
            assert published.startswith(f"2025-03-{i + 1:02d}") and source == "page", (url, published, source)


def test_the_workload_of_a_clone_alone_is_valid(settings, tmp_path):
    """Without ../shared the benchmark falls back to the demo pages; its workload must still be one
    new article per entry (a page repeated inside one outlet would be dropped as a duplicate, which is
    how `make test` failed on a clone alone). Run through a real poll and fetch, not only counted."""
    from aiwatch import cycle

    from bench import workload
    from tests.conftest import write_feeds

    absent = tmp_path / "no-shared" / "corpora" / "web-pages"
    corpus = workload.load_corpus(absent)
    assert corpus.source.startswith("demo") and str(absent) in corpus.source
    entries = workload.entries_for(corpus)
    assert entries == min(workload.ENTRIES, len(corpus.bodies))
    for feed in range(workload.FEEDS):
        pages = [workload.page_index(feed, entry, len(corpus.bodies)) for entry in range(entries)]
        assert len(set(pages)) == entries, (feed, pages)
    generator = workload.serve(feeds=2, entries=workload.ENTRIES, latency_s=0.0, pages_dir=absent)
    try:
        feeds = next(generator)
        write_feeds(settings, feeds)
        run_id = cycle.new_run_id()
        polled = [cycle.poll_feed(settings, feed, run_id) for feed in cycle.prepare(settings)]
        assert sum(p["new"] for p in polled) == 2 * entries, polled
        stats = cycle.fetch_and_extract(settings, run_id)
        assert stats["extracted"] + stats.get("partial", 0) == 2 * entries, stats
    finally:
        generator.close()
