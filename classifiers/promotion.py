"""Deciding whether a newly trained version replaces the live one.

Both are scored on the fixed validation split (``classifiers/data/validation.jsonl``: items
written independently of the training corpus and never trained on), and the candidate is promoted
only if it is not worse on precision *and* F1. The comparison, with plots, is written into the
candidate's directory so an analyst can see why it was or was not promoted.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from classifiers import registry
from classifiers.data import DATA_DIR, load_labelled
from classifiers.evaluate import evaluate, plot

VALIDATION_FILE = DATA_DIR / "validation.jsonl"
TOLERANCE = 0.0  # "not worse": equal is fine, any drop is not


def compare(candidate: str, root: Path, validation: Path = VALIDATION_FILE) -> dict[str, Any]:
    rows, _ = load_labelled([validation])
    model, _ = registry.load(root / candidate)
    result, labels, scores = evaluate(model, rows)
    result["plots"] = plot(labels, scores, model.threshold, root / candidate, "validation",
                           f"({candidate} on the validation split)")
    comparison: dict[str, Any] = {"candidate": candidate, "candidate_metrics": result, "validation_file": str(validation)}
    live = registry.live_name(root)
    comparison["live"] = live
    if live and live != candidate:
        live_model, _ = registry.load(root / live)
        comparison["live_metrics"], _, _ = evaluate(live_model, rows)
    return comparison


def decide(comparison: dict[str, Any], force: bool = False) -> tuple[bool, str]:
    candidate = comparison["candidate_metrics"]
    live = comparison.get("live_metrics")
    if force:
        return True, "promotion forced by the trigger's parameters"
    if live is None:
        return True, "no live model to compare with"
    worse = [metric for metric in ("precision", "f1") if candidate[metric] < live[metric] - TOLERANCE]
    if worse:
        return False, ", ".join("{} {} < live {}".format(m, *_digits(candidate[m], live[m])) for m in worse)
    precision, f1 = _digits(candidate["precision"], live["precision"]), _digits(candidate["f1"], live["f1"])
    return True, f"precision {precision[0]} >= {precision[1]}, F1 {f1[0]} >= {f1[1]}"


def _digits(a: float, b: float) -> tuple[str, str]:
    """Two figures with as many decimals (3 to 6) as it takes to show they differ: a decision
    reading "0.969 < live 0.969" explains nothing, "0.9688 < live 0.9692" does."""
    for places in range(3, 7):
        shown = f"{a:.{places}f}", f"{b:.{places}f}"
        if shown[0] != shown[1] or a == b:
            return shown
    return shown


def write_decision(root: Path, comparison: dict[str, Any], promoted: bool, reason: str) -> Path:
    path = root / comparison["candidate"] / "promotion.json"
    path.write_text(json.dumps({**comparison, "promoted": promoted, "reason": reason}, indent=2, ensure_ascii=False),
                    encoding="utf-8")
    return path
