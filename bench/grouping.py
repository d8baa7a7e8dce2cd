"""Event grouping speed: 1,000 relevant reports placed against 200 open events, on one core.

The workload comes from the development set (tests/data/events): its partnerships copied as new
stories with other parties (see :func:`workload`), all inside one window. Measured: reading the
evidence of each report (``analyse``), and placing them (``resolve``, with its blocking), against a
plain baseline on the same data: every report compared with every event and every earlier report,
no blocking; and the same placing when every report is a story of its own. Nothing is asserted:
benchmarks are not tests.

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


def workload(n_reports: int, n_events: int, seed: int = 11, *, distinct: bool = False
             ) -> tuple[list[events.Report], list[events.EventState], float]:
    """Reports and open events within one window, and the seconds ``analyse`` took per report.

    The development set's partnerships are copied as new stories: in each copy every party is
    swapped for another of its side and kind, and figures, names, organisations and distinctive
    words get the copy's own (the topic's common words stay: every story uses them); the first
    copy keeps the real ones. All reports of one story share its swap, so they still tell one
    partnership, reported by about 3.6 outlets as in the set. The first report of each of the
    first ``n_events`` stories is an open event; the other reports are to place. With
    ``distinct``, every report is a story of its own (the expensive case: nothing to join)."""
    g = default_gazetteer()
    dev, _, _ = load(REPO / DEFAULT_DIR)
    rnd = random.Random(seed)
    started = time.perf_counter()
    base = [analyse(g, r.title, r.text, seen_at=r.published, lang=r.lang, outlet=r.outlet) for r in dev]
    per_report = (time.perf_counter() - started) / len(dev)
    stories: dict[str, list[Evidence]] = {}
    for r, ev in zip(dev, base, strict=True):
        stories.setdefault(r.event if not distinct else r.id, []).append(ev)
    t0 = min(ev.seen_at for ev in base)
    by_kind: dict[tuple[str, str], list[str]] = {}
    for entry in g.parties():
        by_kind.setdefault((entry.side, entry.kind), []).append(entry.name)

    def copy_story(members: list[Evidence], i: int) -> list[Evidence]:
        parties = sorted({p for ev in members for p in ev.parties})   # sorted: the same workload every run
        swap = {p: p for p in parties}
        if i >= len(stories):
            for p in parties:
                entry = g.get(p)
                swap[p] = rnd.choice(by_kind.get((entry.side, entry.kind), [p])) if entry is not None else p
        start = t0 + timedelta(minutes=rnd.randrange(0, 6 * 24 * 60))
        first = min(ev.seen_at for ev in members)
        out = []
        for ev in members:
            own = i >= len(stories)
            out.append(replace(
                ev, seen_at=start + (ev.seen_at - first),
                parties={swap[p]: w for p, w in ev.parties.items()},
                main=tuple(dict.fromkeys(swap[p] for p in ev.main)),
                title_parties=tuple(dict.fromkeys(swap[p] for p in ev.title_parties)),
                figures=frozenset(f"{f} #{i}" for f in ev.figures) if own else ev.figures,
                name_keys=frozenset(f"{k}{i}" for k in ev.name_keys) if own else ev.name_keys,
                script_keys=frozenset(f"{k}{i}" for k in ev.script_keys) if own else ev.script_keys,
                organisations=tuple(f"{o} {i}" for o in ev.organisations) if own else ev.organisations,
                signature=" ".join(w if len(w) < 5 or w in g.common_words or not own else f"{w}{i}"
                                   for w in ev.signature.split())))
        return out

    ordered = [stories[k] for k in sorted(stories)]
    states: list[events.EventState] = []
    reports: list[events.Report] = []
    i = 0
    while len(reports) < n_reports:
        members = sorted(copy_story(ordered[i % len(ordered)], i), key=lambda ev: ev.seen_at)
        if len(states) < n_events:
            states.append(events.EventState(len(states) + 1, f"article:{len(states) + 1}", (members[0],),
                                            members[0].seen_at, members[0].seen_at))
            members = members[1:]
        for ev in members[: n_reports - len(reports)]:
            reports.append(events.Report(10_000 + len(reports), ev, f"{len(reports):08d}"))
        i += 1
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


def _timed(reports: list[events.Report], states: list[events.EventState], repeats: int
           ) -> tuple[float, list[events.Decision]]:
    g = default_gazetteer()
    timings = []
    decisions: list[events.Decision] = []
    for _ in range(repeats):
        # Fresh copies: nothing a previous run learnt about a report (its memo) is reused.
        fresh = [replace(r, evidence=replace(r.evidence)) for r in reports]
        open_events = [replace(e, members=tuple(replace(m) for m in e.members)) for e in states]
        started = time.perf_counter()
        decisions = events.resolve(fresh, open_events, g)
        timings.append(time.perf_counter() - started)
    return statistics.median(timings), decisions


def run(quick: bool = False) -> dict[str, Any]:
    n_reports, n_events, repeats = (250, 50, 1) if quick else (1000, 200, 3)
    reports, states, analyse_s = workload(n_reports, n_events)
    resolve_s, decisions = _timed(reports, states, repeats)
    baseline = plain_baseline(reports, states)
    distinct_reports, distinct_states, _ = workload(n_reports, n_events, distinct=True)
    distinct_s, _ = _timed(distinct_reports, distinct_states, repeats)
    return {"grouping_reports": n_reports, "grouping_events": n_events,
            "grouping_analyse_ms_per_report": round(analyse_s * 1000, 2),
            "grouping_resolve_s": round(resolve_s, 3),
            "grouping_plain_all_pairs_s": round(baseline, 3),
            "grouping_vs_plain": round(baseline / resolve_s, 1) if resolve_s else None,
            "grouping_joined_existing": sum(d.event_id is not None for d in decisions),
            "grouping_new_events": len({d.group for d in decisions if d.event_id is None}),
            "grouping_distinct_stories_resolve_s": round(distinct_s, 3)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.grouping", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    print(json.dumps(run(args.quick), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
