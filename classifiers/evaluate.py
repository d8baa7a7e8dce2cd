"""Evaluation of a model on labelled data: metrics as JSON, a precision-recall curve and a
confusion-matrix picture (PNG, written next to the data file or where asked)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from classifiers.model import PartnershipModel, breakdown, metrics_at


def evaluate(model: PartnershipModel, rows: list[dict[str, Any]]) -> tuple[dict[str, Any], np.ndarray, np.ndarray]:
    labels = np.asarray([int(r["label"]) for r in rows])
    scores = model.scores(rows)
    result = metrics_at(labels, scores, model.threshold)
    result["by_language"] = breakdown(rows, labels, scores, model.threshold, "lang")
    result["by_category"] = breakdown(rows, labels, scores, model.threshold, "category")
    return result, labels, scores


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
