"""Score the event grouping on a development set of reports labelled with their partnership.

The set (``tests/data/events``, see its README) holds reports in four languages, each labelled with
its event, plus pairs of different events that must stay apart. The reports are grouped the way the
pipeline does it: one at a time in publication order, each placed against the events made so far
(``incremental``, what successive cycles see), or all in one batch (``batch``). Reported:

* pairwise precision / recall (over pairs of reports: predicted together vs truly together), overall
  and per language pair (fr-ar, en-es...);
* B-cubed precision / recall (per report: how much of its predicted group is its event, and of its
  event its predicted group);
* the must-stay-apart pairs merged, the predicted events and their headlines, and the headlines
  that do not name both sides.

    python -m aiwatch.events_eval [DIR] [--mode incremental|batch] [--json] [--show]
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from aiwatch import events
from aiwatch.config import project_root
from aiwatch.evidence import analyse
from aiwatch.gazetteer import Gazetteer, default_gazetteer

DEFAULT_DIR = Path("tests") / "data" / "events"


@dataclass(frozen=True)
class DevReport:
    id: str
    event: str
    lang: str
    outlet: str
    published: datetime
    title: str
    text: str


def load(directory: Path) -> tuple[list[DevReport], list[dict[str, Any]], list[dict[str, Any]]]:
    """Reports, events and must-stay-apart pairs of a development set directory."""
    def lines(name: str) -> list[dict[str, Any]]:
        path = directory / name
        try:
            return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        except (OSError, ValueError) as exc:
            raise SystemExit(f"{path}: cannot read the development set ({exc})") from None

    reports = [DevReport(r["id"], r["event"], r["lang"], r.get("outlet", ""),
                         datetime.fromisoformat(r["published"].replace("Z", "+00:00")), r.get("title", ""),
                         r.get("text", "")) for r in lines("reports.jsonl")]
    return reports, lines("events.jsonl"), lines("apart.jsonl") if (directory / "apart.jsonl").exists() else []


def group(reports: Sequence[DevReport], g: Gazetteer, *, mode: str = "incremental",
          window=events.DEFAULT_WINDOW) -> tuple[dict[str, int], dict[int, str]]:  # type: ignore[no-untyped-def]
    """Predicted event of each report id, and each predicted event's headline."""
    evidence = {r.id: analyse(g, r.title, r.text, seen_at=r.published, lang=r.lang, outlet=r.outlet)
                for r in reports}
    items = [events.Report(i, evidence[r.id], events.content_key(r.title, r.text, r.id))
             for i, r in enumerate(reports)]
    by_index = {i: r for i, r in enumerate(reports)}
    assigned: dict[str, int] = {}
    members: dict[int, list[str]] = defaultdict(list)
    if mode == "batch":
        for decision in events.resolve(items, [], g, window=window):
            assigned[by_index[decision.article_id].id] = decision.group
            members[decision.group].append(by_index[decision.article_id].id)
    else:
        states: dict[int, events.EventState] = {}
        for item in sorted(items, key=lambda it: (it.evidence.seen_at, it.key)):
            decision = events.resolve([item], list(states.values()), g, window=window)[0]
            event_id = decision.event_id if decision.event_id is not None else len(states) + 1
            rid = by_index[item.article_id].id
            assigned[rid] = event_id
            members[event_id].append(rid)
            old = states.get(event_id)
            mem = (old.members if old else ()) + (item.evidence,)
            states[event_id] = events.EventState(event_id, f"e{event_id}", mem, min(e.seen_at for e in mem),
                                                 max(e.seen_at for e in mem))
    headlines = {eid: events.headline(g, [evidence[r] for r in ids]) for eid, ids in members.items()}
    return assigned, headlines


def score(reports: Sequence[DevReport], predicted: Mapping[str, int], apart: Sequence[Mapping[str, Any]]
          ) -> dict[str, Any]:
    """Pairwise and B-cubed precision/recall, per language pair, and merged must-stay-apart pairs."""
    pair_counts: dict[str, Counter[str]] = defaultdict(Counter)
    for a, b in itertools.combinations(reports, 2):
        same, together = a.event == b.event, predicted[a.id] == predicted[b.id]
        for key in ("all", "-".join(sorted((a.lang, b.lang)))):
            pair_counts[key]["tp"] += same and together
            pair_counts[key]["fp"] += together and not same
            pair_counts[key]["fn"] += same and not together
    by_pred: dict[int, list[DevReport]] = defaultdict(list)
    by_true: dict[str, list[DevReport]] = defaultdict(list)
    for r in reports:
        by_pred[predicted[r.id]].append(r)
        by_true[r.event].append(r)
    bp = sum(sum(o.event == r.event for o in by_pred[predicted[r.id]]) / len(by_pred[predicted[r.id]])
             for r in reports) / len(reports)
    br = sum(sum(predicted[o.id] == predicted[r.id] for o in by_true[r.event]) / len(by_true[r.event])
             for r in reports) / len(reports)
    events_of = {r.event: {predicted[o.id] for o in by_true[r.event]} for r in reports}
    merged = [p for p in apart if events_of.get(p["a"], set()) & events_of.get(p["b"], set())]
    wrongly_merged = sorted({(a.event, b.event) for a, b in itertools.combinations(reports, 2)
                             if a.event != b.event and predicted[a.id] == predicted[b.id]})

    def pr(c: Counter[str]) -> dict[str, float | int]:
        p = c["tp"] / (c["tp"] + c["fp"]) if c["tp"] + c["fp"] else 1.0
        rec = c["tp"] / (c["tp"] + c["fn"]) if c["tp"] + c["fn"] else 1.0
        return {"precision": round(p, 3), "recall": round(rec, 3), "pairs": c["tp"] + c["fn"]}

    return {"pairwise": pr(pair_counts["all"]),
            "by_language_pair": {k: pr(v) for k, v in sorted(pair_counts.items()) if k != "all"},
            "bcubed": {"precision": round(bp, 3), "recall": round(br, 3)},
            "events": {"true": len(by_true), "predicted": len(by_pred)},
            "apart_merged": merged, "distinct_merged": [list(p) for p in wrongly_merged]}


def evaluate(directory: Path, g: Gazetteer, mode: str = "incremental") -> dict[str, Any]:
    reports, _, apart = load(directory)
    predicted, headlines = group(reports, g, mode=mode)
    result = score(reports, predicted, apart)
    result["mode"] = mode
    result["headlines"] = {str(k): v for k, v in sorted(headlines.items())}
    result["headlines_missing_a_side"] = [h for h in headlines.values() if "partner not named" in h
                                          or h.startswith(f"{g.country} × {g.country}")]
    by_event: dict[str, list[str]] = defaultdict(list)
    for r in reports:
        by_event[r.event].append(f"{predicted[r.id]}:{r.lang}")
    result["split_events"] = {k: v for k, v in sorted(by_event.items()) if len({x.split(':')[0] for x in v}) > 1}
    return result


def _table(result: Mapping[str, Any]) -> str:
    lines = [f"mode {result['mode']}: {result['events']['predicted']} events predicted for {result['events']['true']}",
             f"pairwise  P {result['pairwise']['precision']:.3f}  R {result['pairwise']['recall']:.3f}"
             f"  ({result['pairwise']['pairs']} same-event pairs)",
             f"B-cubed   P {result['bcubed']['precision']:.3f}  R {result['bcubed']['recall']:.3f}",
             "language pair   P      R      pairs"]
    for key, value in result["by_language_pair"].items():
        lines.append(f"  {key:<12} {value['precision']:.3f}  {value['recall']:.3f}  {value['pairs']}")
    lines.append(f"must-stay-apart pairs merged: {len(result['apart_merged'])}; distinct events merged: "
                 f"{len(result['distinct_merged'])}; headlines missing a side: "
                 f"{len(result['headlines_missing_a_side'])}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m aiwatch.events_eval", description=__doc__.splitlines()[0])
    parser.add_argument("directory", nargs="?", type=Path, default=project_root() / DEFAULT_DIR)
    parser.add_argument("--mode", choices=("incremental", "batch"), default="incremental")
    parser.add_argument("--json", action="store_true", help="print the full result as JSON")
    parser.add_argument("--show", action="store_true", help="also list split and merged events and headlines")
    args = parser.parse_args(argv)
    result = evaluate(args.directory, default_gazetteer(), args.mode)
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
        return 0
    print(_table(result))
    if args.show:
        for key, value in result["split_events"].items():
            print(f"split   {key}: {' '.join(value)}")
        for a, b in result["distinct_merged"]:
            print(f"merged  {a} + {b}")
        for key, value in result["headlines"].items():
            print(f"headline {key}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
