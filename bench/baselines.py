"""The plain baselines the cycle is compared with, measured in the same run on the same pages.

- **Naive loop** (baseline A): what anyone would write first, in one process:
  ``feedparser.parse(url)``, then for each entry ``urlopen(link).read()`` and
  ``trafilatura.extract(body)``, one after another. Its cost per article is constant, so a
  subset of the feeds gives its rate without waiting minutes at 50 ms a request.
- **Extraction floor** (baseline B): ``trafilatura.extract`` alone over the pages already in
  memory, single process: the cost of extraction itself, with nothing else around it.
"""

from __future__ import annotations

import statistics
import time
import urllib.request
from collections.abc import Sequence

import feedparser
import trafilatura


def naive_loop(feed_urls: Sequence[str]) -> dict[str, float]:
    """Poll, fetch and extract one article after another; articles per second."""
    started = time.perf_counter()
    articles = extracted = 0
    for url in feed_urls:
        parsed = feedparser.parse(url)
        for entry in parsed.entries:
            with urllib.request.urlopen(entry.link, timeout=20) as response:  # noqa: S310 - loopback benchmark
                body = response.read()
            articles += 1
            extracted += trafilatura.extract(body) is not None
    seconds = time.perf_counter() - started
    return {"articles": articles, "extracted": extracted, "seconds": round(seconds, 3),
            "articles_per_s": round(articles / seconds, 2)}


def extraction_floor(bodies: Sequence[bytes], repeats: int) -> dict[str, float]:
    """Median rate of ``trafilatura.extract`` over ``bodies`` (after one warm-up pass over a few)."""
    for body in bodies[:5]:  # one-time costs (stop lists, date patterns) are not extraction
        trafilatura.extract(body)
    rates = []
    for _ in range(repeats):
        started = time.perf_counter()
        for body in bodies:
            trafilatura.extract(body)
        rates.append(len(bodies) / (time.perf_counter() - started))
    return {"pages": len(bodies), "repeats": repeats, "articles_per_s": round(statistics.median(rates), 2),
            "runs": [round(r, 2) for r in rates]}
