"""Event grouping speed: 1,000 relevant reports placed against 200 open events, on one core.

The workload comes from the development set (tests/data/events): its reports are repeated with
their times shifted and their figures changed, so the events are many and all inside the window
(the worst case: every report is a candidate for every event). Measured: reading the evidence of
each report (``analyse``), and placing them (``resolve``, with its blocking), against a plain
baseline on the same data: every report compared with every event and every other report, no
blocking. Nothing is asserted: benchmarks are not tests.

    python -m bench.grouping [--quick]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from aiwatch import events
from aiwatch.events_eval import DEFAULT_DIR, load
from aiwatch.evidence import Evidence, analyse
from aiwatch.gazetteer import default_gazetteer

REPO = Path(__file__).resolve().parents[1]


def workload(n_reports: int, n_events: int, seed: int = 11) -> tuple[list[events.Report], list[events.EventState], float]:
    """Reports and open events within one window, and the seconds ``analyse`` took per report."""
    g = default_gazetteer()
    dev, _, _ = load(REPO / DEFAULT_DIR)
    rnd = random.Random(seed)
    started = time.perf_counter()
    base = [analyse(g, r.title, r.text, seen_at=r.published, lang=r.lang, outlet=r.outlet) for r in dev]
    per_report = (time.perf_counter() - started) / len(dev)
    t0 = min(ev.seen_at for ev in base)

    by_kind: dict[tuple[str, str], list[str]] = {}
    for entry in g.parties():
        by_kind.setdefault((entry.side, entry.kind), []).append(entry.name)

    def variant(ev: Evidence, i: int) -> Evidence:
        # Another story of the same shape: each party swapped for another of its side and kind (the
        # first copy keeps the real ones), another time in the window, figures, names, organisations
        # and distinctive words of its own (the topic's common words stay: every story uses them).
        if i < len(base):
            swap = {p: p for p in ev.parties}
        else:
            swap = {}
            for p in ev.parties:
                entry = g.get(p)
                pool = by_kind.get((entry.side, entry.kind), [p]) if entry is not None else [p]
                swap[p] = rnd.choice(pool)
        return replace(ev, seen_at=t0 + timedelta(minutes=rnd.randrange(0, 9 * 24 * 60)),
                       parties={swap[p]: w for p, w in ev.parties.items()},
                       main=tuple(dict.fromkeys(swap[p] for p in ev.main)),
                       title_parties=tuple(dict.fromkeys(swap[p] for p in ev.title_parties)),
                       figures=frozenset({f"{1000 + i} MW"}),
                       name_keys=frozenset(f"{k}{i}" for k in ev.name_keys) if i >= len(base) else ev.name_keys,
                       organisations=tuple(f"{o} {i}" for o in ev.organisations) if i >= len(base) else ev.organisations,
                       signature=" ".join(w if len(w) < 5 or w in g.common_words or i < len(base) else f"{w}{i}"
                                          for w in ev.signature.split()))

    states = []
    for i in range(n_events):
        ev = variant(base[i % len(base)], i)
        states.append(events.EventState(i + 1, f"article:{i + 1}", (ev,), ev.seen_at, ev.seen_at))
    reports = []
    for i in range(n_reports):
        ev = variant(base[(i * 7) % len(base)], n_events + i)
        reports.append(events.Report(10_000 + i, ev, f"{i:08d}"))
    return reports, states, per_report


def plain_baseline(reports: list[events.Report], states: list[events.EventState]) -> float:
    """Seconds for the obvious way: compare each report with every event member and every report."""
    g = default_gazetteer()
    started = time.perf_counter()
    pool = [m for s in states for m in s.members] + [r.evidence for r in reports]
    for i, r in enumerate(reports):
        for other in pool[: len(pool) - len(reports) + i]:
            events.compare(r.evidence, other, g)
    return time.perf_counter() - started


def run(quick: bool = False) -> dict[str, Any]:
    n_reports, n_events, repeats = (250, 50, 1) if quick else (1000, 200, 3)
    reports, states, analyse_s = workload(n_reports, n_events)
    g = default_gazetteer()
    timings = []
    for _ in range(repeats):
        # Fresh copies: nothing a previous run learnt about a report (its memo) is reused.
        fresh = [replace(r, evidence=replace(r.evidence)) for r in reports]
        open_events = [replace(e, members=tuple(replace(m) for m in e.members)) for e in states]
        started = time.perf_counter()
        decisions = events.resolve(fresh, open_events, g)
        timings.append(time.perf_counter() - started)
    baseline = plain_baseline(reports, states)
    resolve_s = statistics.median(timings)
    return {"grouping_reports": n_reports, "grouping_events": n_events,
            "grouping_analyse_ms_per_report": round(analyse_s * 1000, 2),
            "grouping_resolve_s": round(resolve_s, 3),
            "grouping_plain_all_pairs_s": round(baseline, 3),
            "grouping_vs_plain": round(baseline / resolve_s, 1) if resolve_s else None,
            "grouping_joined_existing": sum(d.event_id is not None for d in decisions)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.grouping", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    print(json.dumps(run(args.quick), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
