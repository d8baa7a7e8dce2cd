"""Robustness on real-world material from ../shared (skipped with a reason when it is absent)."""

from collections import Counter
from pathlib import Path

import feedparser
import pytest
from aiwatch.config import Feed
from aiwatch.devserver import Route
from aiwatch.extract import ExtractError, extract_article
from aiwatch.feeds import poll
from aiwatch.fetcher import Fetcher, FetchLimits
from conftest import SHARED

FEEDS = SHARED / "corpora" / "feedparser"
PAGES = SHARED / "corpora" / "web-pages"
pytestmark = pytest.mark.shared


def _files(root: Path, pattern: str) -> list[Path]:
    if not root.is_dir():
        pytest.skip(f"{root} is absent (the shared corpora live beside the repo)")
    return sorted(p for p in root.rglob(pattern) if p.is_file())


def test_every_real_world_feed_yields_entries_or_a_clear_error(server):
    files = _files(FEEDS, "*.xml")
    assert len(files) > 1000
    outcomes: Counter[str] = Counter()
    with Fetcher(FetchLimits(timeout_s=10, allow_private=True, max_bytes=5_000_000)) as fetcher:
        for index, path in enumerate(files):
            route = f"/{index}.xml"
            server.add(route, Route(body=path.read_bytes(), content_type="application/xml"))
            result = poll(Feed(f"f{index}", server.url(route)), fetcher)  # must not raise
            direct = feedparser.parse(path.read_bytes())
            usable = any(str(e.get("link", "")).startswith(("http://", "https://")) and e.get("title")
                         for e in direct.entries)
            if usable:  # whatever feedparser can read with a link and a title, we must not lose
                outcomes["usable"] += 1
                assert result.status == "ok" and result.entries, path
            if result.status == "ok":
                outcomes["entries" if result.entries else "valid-no-entries"] += 1
                assert all(e.link.startswith(("http://", "https://")) and e.title for e in result.entries)
            else:
                assert result.status == "failed", path
                assert result.reason and result.error and ":" in result.error, path
                outcomes[f"failed:{result.reason}"] += 1
    print(dict(outcomes))
    assert outcomes["usable"] > 0 and outcomes["entries"] >= outcomes["usable"]


def test_every_real_world_page_extracts_or_fails_clearly():
    files = _files(PAGES, "*.html")
    extracted = 0
    for path in files:
        try:
            article = extract_article(path.read_bytes(), f"https://{path.stem}/", "text/html")
        except ExtractError as exc:
            assert exc.reason in {"extract-empty", "extract-failed", "not-html"}, path
            continue
        extracted += 1
        assert "\ufffd" not in article.text[:2000] or article.encoding != "utf-8", path
        assert "Ã©" not in article.text and "Ã¨" not in article.text, f"mojibake in {path.name}"
    assert extracted >= len(files) * 0.8
