"""The benchmark workload: feeds of real-world pages served on loopback, one outlet per feed.

40 feeds x 25 entries point at the ~110 real pages of ``../shared/corpora/web-pages/`` (read in
place, never copied into the repo); a page repeats under other URLs across outlets but never
within one, so the store's per-outlet duplicate check does not discard any of the 1,000 articles.
Each feed is its own outlet on its own loopback address (127.0.0.2, 127.0.0.3, ...), as 40 real
sites would be, so the per-host download limit applies as it would in production.

The sites run in a separate process (``python -m bench.workload --serve``) so that serving pages
does not compete with the measured cycle for its GIL; an optional latency per request imitates
far-away sites. Without the shared corpora the bundled demo pages are used, and the run says so.
"""

from __future__ import annotations

import argparse
import html
import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from email.utils import formatdate
from pathlib import Path

from aiwatch.config import shared_dir

REPO = Path(__file__).resolve().parents[1]
SHARED_PAGES = shared_dir() / "corpora" / "web-pages"
DEMO_SITE = REPO / "demo" / "site"
FEEDS, ENTRIES = 40, 25

_TITLE_RE = re.compile(rb"<title[^>]*>(.*?)</title>", re.I | re.S)
_DROP_RE = re.compile(rb"<(script|style)\b.*?</\1>", re.I | re.S)
_TAG_RE = re.compile(rb"<[^>]+>")


@dataclass(frozen=True)
class Corpus:
    """The distinct pages of the workload, and where they came from."""

    source: str  # "shared" or "demo (shared corpora absent)"
    names: tuple[str, ...]
    bodies: tuple[bytes, ...]


def load_corpus(pages_dir: Path | None = None) -> Corpus:
    """The real-world pages, or the demo site's article pages when ``../shared`` is absent."""
    directory = pages_dir or SHARED_PAGES
    if directory.is_dir():
        files = sorted(p for p in directory.iterdir() if p.suffix in (".html", ".htm"))
        source = "shared"
    else:
        files = sorted(p for p in DEMO_SITE.rglob("*.html"))
        source = f"demo (shared corpora absent: {directory})"
    if not files:
        raise FileNotFoundError(f"no .html pages in {directory} nor in {DEMO_SITE}")
    return Corpus(source, tuple(p.name for p in files), tuple(p.read_bytes() for p in files))


def entries_for(corpus: Corpus, wanted: int = ENTRIES) -> int:
    """Entries per feed that the corpus can fill with distinct pages: an outlet repeating a page would
    rightly be dropped as a duplicate, so the workload is sized to the pages it has (the 16 demo pages
    when ``../shared`` is absent)."""
    return max(1, min(wanted, len(corpus.bodies)))


def page_index(feed: int, entry: int, pages: int) -> int:
    """Which page entry ``entry`` of feed ``feed`` shows: distinct within a feed while pages last."""
    return (feed * ENTRIES + entry) % pages


def page_path(entry: int, index: int) -> str:
    """An ASCII URL path per entry (corpus file names carry accents, which a URL would escape)."""
    return f"/news/{entry}/page-{index:03d}.html"


def _text(body: bytes, limit: int) -> str:
    raw = _TAG_RE.sub(b" ", _DROP_RE.sub(b" ", body)).decode("utf-8", "replace")
    return " ".join(html.unescape(raw).split())[:limit]


def _title(body: bytes) -> str:
    match = _TITLE_RE.search(body[:20000])
    return " ".join(html.unescape(match.group(1).decode("utf-8", "replace")).split())[:150] if match else ""


def feed_xml(base_url: str, feed: int, entries: int, corpus: Corpus, now: float) -> bytes:
    """An RSS 2.0 document of ``entries`` items; titles and summaries are unique per outlet."""
    items = []
    for entry in range(entries):
        index = page_index(feed, entry, len(corpus.bodies))
        body = corpus.bodies[index]
        link = f"{base_url}{page_path(entry, index)}"
        title = f"{_title(body) or corpus.names[index]} (outlet {feed}, story {entry})"
        summary = f"Story {entry} of outlet {feed}: {_text(body, 300)}"
        items.append(f"<item><title>{html.escape(title)}</title><link>{html.escape(link)}</link>"
                     f"<guid isPermaLink=\"true\">{html.escape(link)}</guid>"
                     f"<pubDate>{formatdate(now - 60 * (entry + 1), usegmt=True)}</pubDate>"
                     f"<description>{html.escape(summary)}</description></item>")
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Outlet {feed}</title>'
            f"<link>{base_url}/</link><description>benchmark outlet {feed}</description>{''.join(items)}"
            "</channel></rss>").encode()


def serve(feeds: int, entries: int, latency_s: float, pages_dir: Path | None) -> Iterator[list[dict[str, str]]]:
    """Start one DevServer per outlet (in this process); yields the feeds as {name, url}."""
    from aiwatch.devserver import DevServer, Route

    corpus = load_corpus(pages_dir)
    entries = entries_for(corpus, entries)
    now = time.time()
    with ExitStack() as stack:
        listed = []
        for feed in range(feeds):
            server = stack.enter_context(DevServer(host=f"127.0.0.{feed + 2}", latency_s=latency_s))
            for entry in range(entries):
                index = page_index(feed, entry, len(corpus.bodies))
                server.add(page_path(entry, index),
                           Route(body=corpus.bodies[index], content_type="text/html"))
            xml = feed_xml(server.base_url, feed, entries, corpus, now)
            server.add("/feed.xml", Route(body=xml, content_type="application/rss+xml; charset=utf-8",
                                          etag=f'"bench-{feed}-{len(xml)}"', last_modified=formatdate(now, usegmt=True)))
            listed.append({"name": f"outlet-{feed:02d}", "url": server.url("/feed.xml"), "lang": "en"})
        yield listed


@dataclass
class Sites:
    """A running site process: its feeds, and the feeds file the pipeline reads."""

    feeds: list[dict[str, str]]
    corpus_source: str
    process: subprocess.Popen[str]

    def write_feeds_file(self, path: Path, limit: int | None = None) -> Path:
        import yaml

        path.write_text(yaml.safe_dump({"feeds": self.feeds[:limit]}), encoding="utf-8")
        return path


@contextmanager
def sites(feeds: int = FEEDS, entries: int = ENTRIES, latency_s: float = 0.0,
          pages_dir: Path | None = None) -> Iterator[Sites]:
    """Run the outlets in a child process for the duration of the block."""
    command = [sys.executable, "-m", "bench.workload", "--serve", "--feeds", str(feeds), "--entries", str(entries),
               "--latency", str(latency_s)] + (["--pages-dir", str(pages_dir)] if pages_dir else [])
    process = subprocess.Popen(command, cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line:
            raise RuntimeError(f"the benchmark site process exited with {process.wait()} before serving")
        info = json.loads(line)
        yield Sites(info["feeds"], info["corpus"], process)
    finally:
        if process.stdin:
            process.stdin.close()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description="serve the benchmark outlets until stdin closes")
    parser.add_argument("--serve", action="store_true", required=True)
    parser.add_argument("--feeds", type=int, default=FEEDS)
    parser.add_argument("--entries", type=int, default=ENTRIES)
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--pages-dir", type=Path)
    args = parser.parse_args()
    generator = serve(args.feeds, args.entries, args.latency, args.pages_dir)
    feeds = next(generator)
    print(json.dumps({"feeds": feeds, "corpus": load_corpus(args.pages_dir).source}), flush=True)
    sys.stdin.read()  # until the parent closes our stdin (or dies)
    generator.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
