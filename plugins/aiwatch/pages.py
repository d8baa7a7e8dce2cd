"""Fetching and extracting article pages, concurrently, politely, and without losing an article.

Pages are fetched by a thread pool with a per-host limit (news sites throttle crawlers), and a
host that answers 429/503 with Retry-After is left alone for that long: its remaining pages are
*deferred* to a later cycle rather than hammered. A page that fails for good (404, too big, not
HTML, blocked address...) keeps the feed's title and summary, records the reason, and is still
classified; it is never fetched again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from aiwatch.extract import ExtractError, extract_article
from aiwatch.fetcher import Fetcher, FetchError
from aiwatch.store.repo import PageJob, PageOutcome

log = logging.getLogger(__name__)

PAGE_ACCEPT = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.5"


class HostGate:
    """Per-host semaphores plus a shared 'come back later' map fed by Retry-After answers."""

    def __init__(self, per_host: int, not_before: dict[str, float] | None = None) -> None:
        self._per_host = per_host
        self._locks: dict[str, threading.BoundedSemaphore] = defaultdict(lambda: threading.BoundedSemaphore(per_host))
        self._guard = threading.Lock()
        self.not_before: dict[str, float] = dict(not_before or {})  # host -> unix time

    def semaphore(self, host: str) -> threading.BoundedSemaphore:
        with self._guard:
            return self._locks[host]

    def blocked(self, host: str) -> bool:
        return self.not_before.get(host, 0) > time.time()

    def block(self, host: str, seconds: float) -> None:
        with self._guard:
            self.not_before[host] = max(self.not_before.get(host, 0), time.time() + seconds)


def fetch_one(job: PageJob, fetcher: Fetcher, gate: HostGate, max_bytes: int) -> PageOutcome:
    """Fetch and extract one page; every failure becomes an outcome with a reason, never an exception."""
    if gate.blocked(job.outlet):
        return PageOutcome(job.article_id, "deferred", error=f"host {job.outlet} asked us to wait (Retry-After)")
    with gate.semaphore(job.outlet):
        if gate.blocked(job.outlet):
            return PageOutcome(job.article_id, "deferred", error=f"host {job.outlet} asked us to wait (Retry-After)")
        try:
            response = fetcher.get(job.url, max_bytes=max_bytes, accept=PAGE_ACCEPT)
        except FetchError as exc:
            if exc.retry_after is not None and exc.status in (429, 503):
                gate.block(job.outlet, exc.retry_after)
                return PageOutcome(job.article_id, "deferred", http_status=exc.status, error=str(exc))
            return PageOutcome(job.article_id, "failed", http_status=exc.status, error=str(exc)[:1000])
    if response.status == 304 or not response.body:
        return PageOutcome(job.article_id, "failed", http_status=response.status, error="empty-body: no content")
    try:
        extracted = extract_article(response.body, response.final_url, response.content_type, lang_hint=job.lang)
    except ExtractError as exc:
        return PageOutcome(job.article_id, "failed", http_status=response.status, error=f"{exc}: {job.url}"[:1000])
    return PageOutcome(
        job.article_id, "ok", text=extracted.text, page_title=extracted.title, published=extracted.published,
        lang=extracted.lang, site_name=extracted.site_name, encoding=extracted.encoding,
        http_status=response.status, final_url=response.final_url,
    )


def fetch_pages(jobs: Sequence[PageJob], fetcher: Fetcher, *, workers: int, per_host: int, max_bytes: int,
                gate: HostGate | None = None) -> list[PageOutcome]:
    """Fetch many pages concurrently; results come back in the order of ``jobs``."""
    gate = gate or HostGate(per_host)
    if not jobs:
        return []
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(jobs))), thread_name_prefix="page") as pool:
        outcomes = list(pool.map(lambda job: fetch_one(job, fetcher, gate, max_bytes), jobs))
    reasons = Counter((o.error or "").split(":", 1)[0] for o in outcomes if o.status == "failed")
    if reasons:
        log.info("page failures by reason: %s", dict(reasons.most_common()))
    return outcomes
