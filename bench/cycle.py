"""The cold and warm cycles through the pipeline's own functions (no Airflow), in a fresh process.

``python -m bench.cycle --feeds-file F --db URL --models DIR --outbox FILE --warm N`` runs one
cold cycle on an empty store (every article new), then ``N`` warm cycles (every feed unchanged,
answered 304), and prints one JSON object: wall time per step, counts, and peak memory of this
process and of its extraction workers. A fresh process per measurement keeps imports and caches
honest: the cold figure includes everything a first cycle pays for.
"""

from __future__ import annotations

import argparse
import json
import logging
import resource
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from aiwatch import alerts, cycle
from aiwatch.classify import classify_new
from aiwatch.config import Feed, Settings

REPO = Path(__file__).resolve().parents[1]


def settings_for(feeds_file: Path, db_url: str, models: Path, outbox: Path, max_pages: int) -> Settings:
    return Settings(home=REPO, feeds_file=feeds_file, db_url=db_url, allow_private_networks=True,
                    model_dir=models, outbox_file=outbox, max_pages_per_cycle=max_pages)


def timed_cycle(settings: Settings) -> dict[str, Any]:
    """:func:`aiwatch.cycle.run_cycle`'s steps, one by one, each timed."""
    run_id = cycle.new_run_id()
    seconds: dict[str, float] = {}
    started = time.perf_counter()

    def step(name: str, fn: Any, *args: Any) -> Any:
        begun = time.perf_counter()
        result = fn(*args)
        seconds[name] = round(time.perf_counter() - begun, 3)
        return result

    feeds = step("prepare", cycle.prepare, settings)

    def one(feed: Feed) -> None:
        try:
            cycle.poll_feed(settings, feed, run_id)
        except (cycle.FeedFailed, cycle.FeedSkipped):
            pass

    def poll_all() -> None:
        with ThreadPoolExecutor(max_workers=max(1, min(settings.fetch_workers, len(feeds)))) as pool:
            list(pool.map(one, feeds))

    step("poll", poll_all)
    step("fetch_extract", cycle.fetch_and_extract, settings, run_id)
    step("classify", classify_new, settings, run_id)
    step("group", alerts.group_events, settings, run_id)
    step("compose", alerts.compose, settings, run_id)
    step("deliver", alerts.deliver, settings, run_id, None)
    summary = step("summarise", cycle.summarise, settings, run_id, [f.name for f in feeds])
    return {"seconds": round(time.perf_counter() - started, 3), "steps": seconds,
            "feeds_ok": summary.feeds_ok, "feeds_unchanged": summary.feeds_unchanged,
            "feeds_failed": len(summary.feeds_failed), "new_articles": summary.new_articles,
            "duplicates": summary.duplicate_articles, "extracted": summary.extracted, "partial": summary.partial,
            "classified": summary.classified, "relevant": summary.relevant, "outbox": summary.dry_run}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--feeds-file", type=Path, required=True)
    parser.add_argument("--db", required=True)
    parser.add_argument("--models", type=Path, required=True)
    parser.add_argument("--outbox", type=Path, required=True)
    parser.add_argument("--max-pages", type=int, default=1000)
    parser.add_argument("--warm", type=int, default=3)
    parser.add_argument("--profile", type=Path, help="write a pyinstrument profile of the cold cycle here")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    settings = settings_for(args.feeds_file, args.db, args.models, args.outbox, args.max_pages)
    profiler = None
    if args.profile:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.005)
        profiler.start()
    cold = timed_cycle(settings)
    if profiler is not None:
        profiler.stop()
        args.profile.write_text(profiler.output_text(unicode=False, color=False), encoding="utf-8")
    cold["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    cold["workers_peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1)
    warm = [timed_cycle(settings) for _ in range(args.warm)]
    print(json.dumps({"cold": cold, "warm": warm}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
