"""Fetching and extracting article pages, concurrently, politely, and without losing an article.

Pages are fetched by a thread pool with a per-host limit (news sites throttle crawlers), and a
host that answers 429/503 with Retry-After is left alone for that long: its remaining pages are
*deferred* to a later cycle rather than hammered. A page that fails for good (404, too big, not
HTML, blocked address, a URL that cannot be fetched...) keeps the feed's title and summary, records
the reason, and is still classified; it is never fetched again. A page that fails in a way that may
heal (timeout, connection reset, 5xx) is *deferred* too, and tried again on later cycles until its
attempts run out (see :func:`aiwatch.store.repo.pending_pages`). Anything unexpected while fetching
or extracting one page (a bug, a crashing parser) becomes that page's outcome, logged with its URL:
one page never stops the others.

Extraction is CPU-bound and holds the GIL, so threads alone use one core however many there are.
For a batch of pages on a machine with several cores, extraction runs in a pool of worker
processes (one per usable core) while the threads keep downloading: the threads overlap the
network, the processes use every core. The worker runs the very same
:func:`aiwatch.extract.extract_article` on the very same bytes, so results are identical to the
sequential path. Pages waiting for a worker are bounded (memory stays flat however many pages a
cycle fetches), and if the pool breaks (a worker killed, or processes not allowed where we run),
the remaining pages are extracted in the threads as before: no page is lost.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Collection, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass

from aiwatch.aggregators import ResolveError, article_id, is_interstitial, resolve
from aiwatch.extract import Extracted, ExtractError, extract_article, extract_in_worker
from aiwatch.fetcher import Fetcher, FetchError, Response
from aiwatch.procutil import StopRequested, stop_on_sigterm, worker_initializer
from aiwatch.store.repo import PageJob, PageOutcome
from aiwatch.textutil import simhash
from aiwatch.urls import host_of, redact, shorten

log = logging.getLogger(__name__)

PAGE_ACCEPT = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.5"
#: Below this many pages extraction stays in the fetching threads: starting processes costs more than it saves.
MIN_PAGES_FOR_PROCESSES = 16
#: Downloaded pages allowed to wait for a worker process, per process (bounds memory, keeps workers fed).
QUEUED_PER_PROCESS = 4


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


def usable_cores() -> int:
    """CPUs this process may run on (its affinity mask, e.g. under a container's cpuset), at least 1."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def extraction_processes(pages: int, cores: int | None = None) -> int:
    """Worker processes worth starting for ``pages`` pages: one per core, none on one core or for few pages."""
    cores = usable_cores() if cores is None else cores
    return cores if cores > 1 and pages >= MIN_PAGES_FOR_PROCESSES else 0


def _waiting(job: PageJob) -> PageOutcome:
    return PageOutcome(job.article_id, "deferred", error=f"host {job.outlet} asked us to wait (Retry-After)",
                       attempted=False)


def _resolved(job: PageJob, fetcher: Fetcher, gate: HostGate) -> str | PageOutcome:
    """The URL to fetch: the job's, or the publisher's behind an aggregator link (Google News), asked
    of the aggregator within its own per-host limit."""
    if article_id(job.url) is None:
        return job.url
    try:
        with gate.semaphore(host_of(job.url)):
            return resolve(job.url, fetcher)
    except ResolveError as exc:
        log.warning("article %d: %s", job.article_id, exc)
        return PageOutcome(job.article_id, "deferred" if exc.transient else "failed", error=str(exc)[:1000])


def _download(job: PageJob, fetcher: Fetcher, gate: HostGate, max_bytes: int) -> Response | PageOutcome:
    """The page's response, or the outcome saying why there is none (deferred, failed, empty)."""
    if gate.blocked(job.outlet):
        return _waiting(job)
    url = _resolved(job, fetcher, gate)
    if isinstance(url, PageOutcome):
        return url
    resolved = url if url != job.url else None
    with gate.semaphore(job.outlet):
        if gate.blocked(job.outlet):
            return _waiting(job)
        try:
            response = fetcher.get(url, max_bytes=max_bytes, accept=PAGE_ACCEPT)
        except FetchError as exc:
            if exc.retry_after is not None and exc.status in (429, 503):
                gate.block(job.outlet, exc.retry_after)
                return PageOutcome(job.article_id, "deferred", http_status=exc.status, error=str(exc),
                                   resolved_url=resolved)
            status = "deferred" if exc.transient else "failed"
            return PageOutcome(job.article_id, status, http_status=exc.status, error=str(exc)[:1000],
                               resolved_url=resolved)
    if response.status == 304 or not response.body:
        return PageOutcome(job.article_id, "failed", http_status=response.status, error="empty-body: no content",
                           resolved_url=resolved)
    if resolved:
        response.aggregator_url = job.url
    if is_interstitial(response.final_url):
        return PageOutcome(job.article_id, "failed", http_status=response.status, resolved_url=resolved,
                           error=f"interstitial-page: {response.final_url[:200]} is an aggregator or consent page, "
                                 "not the article; feed title and summary kept")
    return response


def _unexpected(job: PageJob, exc: BaseException, where: str) -> PageOutcome:
    """An error nobody foresaw, in one page: logged with the page's URL, recorded as its outcome, and
    tried again on a later cycle (its attempts are bounded, so a page that always fails gives up)."""
    log.error("article %d: unexpected %s while %s %s: %s", job.article_id, type(exc).__name__, where,
              shorten(redact(job.url)), exc, exc_info=exc)
    return PageOutcome(job.article_id, "deferred", error=f"internal-error: {type(exc).__name__} while {where}: {exc}"[:1000])


def _outcome(job: PageJob, response: Response, extracted: Extracted | tuple[str, str]) -> PageOutcome:
    resolved = response.url if response.aggregator_url else None
    if not isinstance(extracted, Extracted):
        return PageOutcome(job.article_id, "failed", http_status=response.status,
                           error=f"{extracted[1]}: {shorten(redact(response.url), 300)}"[:1000], resolved_url=resolved)
    return PageOutcome(
        job.article_id, "ok", text=extracted.text, page_title=extracted.title, published=extracted.published,
        lang=extracted.lang, site_name=extracted.site_name, encoding=extracted.encoding,
        http_status=response.status, final_url=response.final_url, resolved_url=resolved,
        # Computed in the pool's worker when it extracted the page (else here, in a download thread):
        # the store writer on the main thread no longer spends 1-8 ms per page on it.
        text_fp=extracted.text_fp if extracted.fingerprinted else simhash(extracted.text or ""), fingerprinted=True,
    )


def _extract_here(job: PageJob, response: Response, with_date: bool = True) -> PageOutcome:
    try:
        extracted: Extracted | tuple[str, str] = extract_article(
            response.body, response.final_url, response.content_type, lang_hint=job.lang, with_date=with_date)
    except ExtractError as exc:
        extracted = (exc.reason, str(exc))
    return _outcome(job, response, extracted)


def fetch_one(job: PageJob, fetcher: Fetcher, gate: HostGate, max_bytes: int, with_date: bool = True) -> PageOutcome:
    """Fetch and extract one page; every failure becomes an outcome with a reason, never an exception."""
    try:
        result = _download(job, fetcher, gate, max_bytes)
    except Exception as exc:
        return _unexpected(job, exc, "fetching")
    if isinstance(result, PageOutcome):
        return result
    try:
        return _extract_here(job, result, with_date)
    except Exception as exc:
        return _unexpected(job, exc, "extracting")


@dataclass
class _Pending:
    """A downloaded page handed to a worker process; the response is kept until its result is in."""

    job: PageJob
    response: Response
    future: Future[Extracted | tuple[str, str]]
    with_date: bool


class _ProcessExtraction:
    """Extraction in worker processes with a bounded queue; falls back to the calling thread if the pool breaks."""

    def __init__(self, processes: int) -> None:
        # fork: the workers inherit the imported extractor (no re-import of trafilatura, nor of the
        # caller's __main__, which for an Airflow task is the whole of Airflow). The workers are all
        # started here, before any fetching thread exists, and only ever run extract_article.
        # The workers die with this process (parent-death signal and a watchdog): a cycle killed with
        # SIGKILL, or by Airflow, leaves no orphan holding memory and the store's files.
        self._pool = ProcessPoolExecutor(max_workers=processes, mp_context=multiprocessing.get_context("fork"),
                                         initializer=worker_initializer, initargs=(os.getpid(),))
        self._pool.submit(os.getpid).result(timeout=60)
        self._slots = threading.BoundedSemaphore(processes * QUEUED_PER_PROCESS)
        self.processes = processes
        self.broken = False
        self.retried_here = 0

    def submit(self, job: PageJob, response: Response, with_date: bool) -> _Pending | PageOutcome:
        if not self.broken:
            self._slots.acquire()
            try:
                future = self._pool.submit(extract_in_worker, response.body, response.final_url,
                                           response.content_type, job.lang, with_date)
            except (BrokenProcessPool, RuntimeError) as exc:
                self._slots.release()
                self._mark_broken(exc)
            else:
                future.add_done_callback(lambda done: self._done(done, response))
                return _Pending(job, response, future, with_date)
        return _extract_here(job, response, with_date)

    def _done(self, future: Future[Extracted | tuple[str, str]], response: Response) -> None:
        self._slots.release()
        if not future.cancelled() and future.exception() is None:
            response.body = b""  # extracted: the bytes are no longer needed (kept only to redo a failed page)

    def collect(self, pending: _Pending) -> PageOutcome:
        try:
            return _outcome(pending.job, pending.response, pending.future.result())
        except BrokenProcessPool as exc:  # a worker died (OOM, signal) or the pool broke: extract here instead
            self._mark_broken(exc)
        except Exception as exc:  # raised inside the worker by this page alone
            return _unexpected(pending.job, exc, "extracting")
        self.retried_here += 1
        try:
            return _extract_here(pending.job, pending.response, pending.with_date)
        except Exception as exc:
            return _unexpected(pending.job, exc, "extracting")

    def _mark_broken(self, exc: BaseException) -> None:
        if not self.broken:
            log.warning("extraction worker pool unusable (%s: %s); extracting in threads instead",
                        type(exc).__name__, exc)
        self.broken = True

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


def _start_processes(processes: int) -> _ProcessExtraction | None:
    if processes <= 0:
        return None
    try:
        return _ProcessExtraction(processes)
    except Exception as exc:  # e.g. a daemonic process may not have children, or fork is unavailable
        log.warning("cannot start %d extraction processes (%s: %s); extracting in threads", processes,
                    type(exc).__name__, exc)
        return None


def iter_pages(jobs: Sequence[PageJob], fetcher: Fetcher, *, workers: int, per_host: int, max_bytes: int,
               gate: HostGate | None = None, processes: int | None = None,
               dated: Collection[int] = ()) -> Iterator[PageOutcome]:
    """Fetch and extract many pages concurrently, yielding outcomes in the order of ``jobs`` as they
    are ready, so the caller can store early pages while later ones are still being extracted.

    ``processes``: worker processes for extraction (0 = in the fetching threads); by default one
    per usable core when the batch is big enough (:func:`extraction_processes`). ``dated``: article
    ids the feed already dated, whose pages need no date search (their outcome's ``published`` is None).
    """
    gate = gate or HostGate(per_host)
    if not jobs:
        return
    started = time.monotonic()
    reasons: Counter[str] = Counter()
    pool = _start_processes(extraction_processes(len(jobs)) if processes is None else processes)
    try:
        if pool is None:
            def work(job: PageJob) -> _Pending | PageOutcome:
                return fetch_one(job, fetcher, gate, max_bytes, job.article_id not in dated)
        else:
            def work(job: PageJob) -> _Pending | PageOutcome:
                try:
                    result = _download(job, fetcher, gate, max_bytes)
                except Exception as exc:
                    return _unexpected(job, exc, "fetching")
                if isinstance(result, PageOutcome):
                    return result
                try:
                    return pool.submit(job, result, job.article_id not in dated)
                except Exception as exc:
                    return _unexpected(job, exc, "extracting")

        # Not a with-block: leaving early (SIGTERM, an error in the caller, a closed generator) must
        # cancel the queued pages, not download every one of them before returning.
        threads = ThreadPoolExecutor(max_workers=max(1, min(workers, len(jobs))), thread_name_prefix="page")
        with stop_on_sigterm() as stop:
            try:
                for done, (job, future) in enumerate([(job, threads.submit(work, job)) for job in jobs]):
                    if stop.is_set():
                        raise StopRequested(f"stopped by SIGTERM after {done} of {len(jobs)} pages; "
                                            "the rest stay pending for the next cycle")
                    try:
                        item = future.result()
                    except Exception as exc:  # pragma: no cover - work() catches everything; belt and braces
                        item = _unexpected(job, exc, "fetching")
                    outcome = pool.collect(item) if isinstance(item, _Pending) and pool is not None else item
                    if outcome.status == "failed":
                        reasons[(outcome.error or "").split(":", 1)[0]] += 1
                    yield outcome  # type: ignore[misc]
            finally:
                threads.shutdown(wait=True, cancel_futures=True)
    finally:
        if pool is not None:
            pool.close()
    if reasons:
        log.info("page failures by reason: %s", dict(reasons.most_common()))
    where = f"{pool.processes} processes ({pool.retried_here} pages redone in threads)" if pool else "threads"
    log.info("pages fetched=%d in %.1fs, extraction in %s", len(jobs), time.monotonic() - started, where)


def fetch_pages(jobs: Sequence[PageJob], fetcher: Fetcher, *, workers: int, per_host: int, max_bytes: int,
                gate: HostGate | None = None, processes: int | None = None,
                dated: Collection[int] = ()) -> list[PageOutcome]:
    """Fetch many pages concurrently; results come back in the order of ``jobs`` (see :func:`iter_pages`)."""
    return list(iter_pages(jobs, fetcher, workers=workers, per_host=per_host, max_bytes=max_bytes, gate=gate,
                           processes=processes, dated=dated))
