"""Evaluation of a model on labelled data: metrics as JSON, a precision-recall curve and a
confusion-matrix picture (PNG, written next to the data file or where asked)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from classifiers.model import PartnershipModel, breakdown, metrics_at

LANGS = ("fr", "ar", "en", "es")


def evaluate(model: PartnershipModel, rows: list[dict[str, Any]]) -> tuple[dict[str, Any], np.ndarray, np.ndarray]:
    """Metrics at the model's threshold, per language (precision, recall, F1) and per category, and
    every misclassified item with the explanation the model gives for it."""
    labels = np.asarray([int(r["label"]) for r in rows])
    predictions = model.predict(rows)
    scores = np.asarray([p.score for p in predictions])
    result = metrics_at(labels, scores, model.threshold)
    result["by_language"] = breakdown(rows, labels, scores, model.threshold, "lang")
    result["per_language"] = {lang: metrics_at(labels[idx], scores[idx], model.threshold)
                              for lang in LANGS
                              if (idx := [i for i, r in enumerate(rows) if r.get("lang") == lang])}
    result["by_category"] = breakdown(rows, labels, scores, model.threshold, "category")
    doubtful = [i for i, r in enumerate(rows) if not r.get("doubtful")]
    if len(doubtful) < len(rows):
        result["without_doubtful"] = metrics_at(labels[doubtful], scores[doubtful], model.threshold)
    result["misclassified"] = [
        {"id": rows[i].get("id"), "lang": rows[i].get("lang"), "label": int(labels[i]),
         "category": rows[i].get("category"), "doubtful": bool(rows[i].get("doubtful")),
         "score": round(float(scores[i]), 3), "title": str(rows[i].get("title"))[:160],
         "explanation": predictions[i].explanation}
        for i in np.argsort(-np.abs(scores - labels)) if (scores[i] >= model.threshold) != bool(labels[i])]
    return result, labels, scores


def report(result: dict[str, Any], name: str) -> str:
    """The evaluation as a reader wants it: overall, per language, per category, then the errors."""
    def line(label: str, m: dict[str, Any]) -> str:
        return (f"{label:<18} n={m['n']:<4} positives={m['positives']:<4} precision={m['precision']:.3f} "
                f"recall={m['recall']:.3f} F1={m['f1']:.3f}")

    out = [f"{name}: model {result.get('model_version')} at threshold {result['threshold']:.3f}", "",
           line("all", result)]
    if "without_doubtful" in result:
        out.append(line("without doubtful", result["without_doubtful"]))
    out.append("")
    for lang, metrics in result.get("per_language", {}).items():
        out.append(line(lang, metrics))
    out += ["", f"{'category':<32} {'n':>4} {'accuracy':>9} {'false +':>8} {'false -':>8}"]
    for category, entry in result["by_category"].items():
        out.append(f"{category:<32} {entry['n']:>4} {entry['accuracy']:>9.3f} {entry['false_positives']:>8} "
                   f"{entry['false_negatives']:>8}")
    errors = result.get("misclassified", [])
    out += ["", f"misclassified ({len(errors)}):"]
    for error in errors:
        kind = "missed" if error["label"] else "false alert"
        out.append(f"  {error['id']} [{error['lang']}] {kind} ({error['category']}{', doubtful' if error['doubtful'] else ''})"
                   f" score {error['score']:.2f}: {error['title']}")
        out.append(f"      {error['explanation']}")
    out += ["", "plots: " + ", ".join(result.get("plots", {}).values())]
    return "\n".join(out)


def plot(labels: np.ndarray, scores: np.ndarray, threshold: float, out_dir: Path, stem: str,
         title: str = "") -> dict[str, str]:
    """Write ``<stem>.pr_curve.png`` and ``<stem>.confusion.png``; returns their paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import ConfusionMatrixDisplay, PrecisionRecallDisplay

    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"pr_curve": str(out_dir / f"{stem}.pr_curve.png"), "confusion": str(out_dir / f"{stem}.confusion.png")}
    figure, axis = plt.subplots(figsize=(5, 4), dpi=110)
    if 0 < labels.sum() < len(labels):
        PrecisionRecallDisplay.from_predictions(labels, scores, ax=axis, name="model")
        predicted = scores >= threshold
        precision = (predicted & (labels == 1)).sum() / max(predicted.sum(), 1)
        recall = (predicted & (labels == 1)).sum() / max((labels == 1).sum(), 1)
        axis.scatter([recall], [precision], color="red", zorder=3, label=f"threshold {threshold:.2f}")
        axis.legend(loc="lower left")
    axis.set_title(f"Precision-recall\n{title}".strip(), fontsize=10)
    figure.tight_layout()
    figure.savefig(paths["pr_curve"])
    plt.close(figure)
    figure, axis = plt.subplots(figsize=(4, 4), dpi=110)
    ConfusionMatrixDisplay.from_predictions(labels, (scores >= threshold).astype(int), labels=[0, 1],
                                            display_labels=["not partnership", "partnership"], ax=axis,
                                            colorbar=False)
    axis.set_title(f"Confusion matrix\n{title}".strip(), fontsize=10)
    figure.tight_layout()
    figure.savefig(paths["confusion"])
    plt.close(figure)
    return paths
