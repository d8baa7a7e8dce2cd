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
#: A version's evaluation on the validation split, kept in its directory (the Model page reads it).
VALIDATION_RESULT = "validation.json"
TOLERANCE = 0.0  # "not worse": equal is fine, any drop is not


def _file_hash(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def store_validation(version_dir: Path, model: Any | None = None, validation: Path = VALIDATION_FILE
                     ) -> dict[str, Any] | None:
    """Evaluate a version on the validation split and keep the result (metrics, per language and
    category, the misclassified items with their explanations, plots) as ``validation.json`` in its
    directory; None when there is no validation file. Kept with the version, so the figures shown
    later are the ones of that model on that file (its hash is stored with them)."""
    if not validation.is_file():
        return None
    if model is None:
        model, _ = registry.load(version_dir)
    rows, _ = load_labelled([validation])
    result, labels, scores = evaluate(model, rows)
    result["plots"] = {k: Path(v).name for k, v in plot(labels, scores, model.threshold, version_dir, "validation",
                                                        f"({version_dir.name} on the validation split)").items()}
    result["validation_file"] = validation.name
    result["validation_hash"] = _file_hash(validation)
    (version_dir / VALIDATION_RESULT).write_text(json.dumps(result, indent=2, ensure_ascii=False), encoding="utf-8")
    return result


def stored_validation(version_dir: Path, validation: Path = VALIDATION_FILE) -> dict[str, Any] | None:
    """The version's kept evaluation when it was made on this very validation file, else None."""
    try:
        found = json.loads((version_dir / VALIDATION_RESULT).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not validation.is_file() or found.get("validation_hash") != _file_hash(validation):
        return None
    return found


def compare(candidate: str, root: Path, validation: Path = VALIDATION_FILE) -> dict[str, Any]:
    result = stored_validation(root / candidate, validation) or store_validation(root / candidate, None, validation)
    if result is None:
        raise registry.ModelError(f"no validation file {validation}: cannot compare {candidate} with the live model")
    comparison: dict[str, Any] = {"candidate": candidate, "candidate_metrics": result, "validation_file": str(validation)}
    live = registry.live_name(root)
    comparison["live"] = live
    if live and live != candidate:
        comparison["live_metrics"] = stored_validation(root / live, validation) \
            or store_validation(root / live, None, validation)
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
