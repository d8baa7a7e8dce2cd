"""The partnership classifier: a linear model over n-grams and cue features, calibrated, with a
precision-minded threshold and per-prediction explanations.

Training cross-validates with folds grouped by *event* (all reports of one partnership, in any
language, fall in the same fold), so the figures measure how well the model recognises a
partnership it has never seen, not a rewording of one it has. Probabilities are calibrated by
Platt scaling fitted on the out-of-fold scores, and the threshold maximises F0.5 on them: a wrong
alert costs more than a missed follow-up.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (
    average_precision_score,
    brier_score_loss,
    confusion_matrix,
    f1_score,
    precision_score,
    recall_score,
    roc_auc_score,
)
from sklearn.model_selection import StratifiedGroupKFold
from sklearn.pipeline import FeatureUnion, Pipeline

from classifiers.features import CueFeatures, Field, TextPrep, as_title_text, load_lexicon

Progress = Callable[[str], None]
AUGMENT_WEIGHT = 0.35  # weight of headline-only copies of full articles in training


def build_pipeline(C: float = 4.0, lexicon: dict[str, list[str]] | None = None) -> Pipeline:
    words = Pipeline([("field", Field("full")), ("tfidf", TfidfVectorizer(
        ngram_range=(1, 2), min_df=2, max_df=0.9, sublinear_tf=True, max_features=60_000, dtype=np.float32))])
    chars = Pipeline([("field", Field("lead")), ("tfidf", TfidfVectorizer(
        analyzer="char_wb", ngram_range=(2, 5), min_df=2, sublinear_tf=True, max_features=60_000,
        dtype=np.float32))])
    features = FeatureUnion([("words", words), ("chars", chars), ("cues", CueFeatures(lexicon or load_lexicon()))])
    classifier = LogisticRegression(C=C, class_weight="balanced", max_iter=5000, solver="liblinear")
    return Pipeline([("prep", TextPrep()), ("features", features), ("clf", classifier)])


def augment(items: Sequence[dict], labels: Sequence[int], weights: Sequence[float]
            ) -> tuple[list[dict], list[int], list[float]]:
    """Add headline-only copies of full articles: feeds often give us only a title and a line."""
    out_items, out_labels, out_weights = list(items), list(labels), list(weights)
    for item, label, weight in zip(items, labels, weights, strict=True):
        title, text = as_title_text(item)
        if len(text) > 300:
            out_items.append({"title": title, "text": ""})
            out_labels.append(label)
            out_weights.append(weight * AUGMENT_WEIGHT)
    return out_items, out_labels, out_weights


def _fit(items: Sequence[dict], labels: Sequence[int], weights: Sequence[float], C: float,
         lexicon: dict[str, list[str]]) -> Pipeline:
    a_items, a_labels, a_weights = augment(items, labels, weights)
    pipeline = build_pipeline(C, lexicon)
    pipeline.fit(a_items, np.asarray(a_labels), clf__sample_weight=np.asarray(a_weights))
    return pipeline


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -35, 35)))


def choose_threshold(labels: np.ndarray, scores: np.ndarray, beta: float = 0.5) -> float:
    """The score cut that maximises F-beta (beta < 1 favours precision) on out-of-fold scores."""
    best, best_value = 0.5, -1.0
    for cut in np.unique(np.round(scores, 4)):
        if cut < 0.2 or cut > 0.95:
            continue
        predicted = scores >= cut
        tp = float(np.sum(predicted & (labels == 1)))
        precision = tp / max(float(np.sum(predicted)), 1.0)
        recall = tp / max(float(np.sum(labels == 1)), 1.0)
        if precision + recall == 0:
            continue
        value = (1 + beta**2) * precision * recall / (beta**2 * precision + recall)
        if value > best_value:
            best, best_value = float(cut), value
    return best


def metrics_at(labels: np.ndarray, scores: np.ndarray, threshold: float) -> dict[str, Any]:
    predicted = (scores >= threshold).astype(int)
    matrix = confusion_matrix(labels, predicted, labels=[0, 1])
    result: dict[str, Any] = {
        "n": int(len(labels)), "positives": int(labels.sum()), "threshold": round(float(threshold), 4),
        "precision": round(float(precision_score(labels, predicted, zero_division=0)), 4),
        "recall": round(float(recall_score(labels, predicted, zero_division=0)), 4),
        "f1": round(float(f1_score(labels, predicted, zero_division=0)), 4),
        "confusion_matrix": {"tn": int(matrix[0, 0]), "fp": int(matrix[0, 1]), "fn": int(matrix[1, 0]),
                             "tp": int(matrix[1, 1])},
    }
    if 0 < labels.sum() < len(labels):
        result["roc_auc"] = round(float(roc_auc_score(labels, scores)), 4)
        result["average_precision"] = round(float(average_precision_score(labels, scores)), 4)
        result["brier"] = round(float(brier_score_loss(labels, scores)), 4)
    return result


def breakdown(rows: Sequence[dict], labels: np.ndarray, scores: np.ndarray, threshold: float, key: str
              ) -> dict[str, dict[str, Any]]:
    """Accuracy and error counts per language or per labelling category."""
    groups: dict[str, list[int]] = {}
    for index, row in enumerate(rows):
        groups.setdefault(str(row.get(key) or "?"), []).append(index)
    out: dict[str, dict[str, Any]] = {}
    for name, indexes in sorted(groups.items()):
        y, p = labels[indexes], scores[indexes] >= threshold
        out[name] = {"n": len(indexes), "accuracy": round(float(np.mean(y == p)), 4),
                     "false_positives": int(np.sum(p & (y == 0))), "false_negatives": int(np.sum(~p & (y == 1)))}
    return out


@dataclass
class Prediction:
    score: float
    label: int
    explanation: str


class PartnershipModel:
    """A fitted pipeline plus Platt calibration and the decision threshold."""

    def __init__(self, pipeline: Pipeline, platt_a: float, platt_b: float, threshold: float) -> None:
        self.pipeline = pipeline
        self.platt_a = platt_a
        self.platt_b = platt_b
        self.threshold = threshold

    # -- scoring ------------------------------------------------------------------------------

    def _features(self, items: Sequence[Any]):  # type: ignore[no-untyped-def]
        prepared = self.pipeline.named_steps["prep"].transform(items)
        return self.pipeline.named_steps["features"].transform(prepared)

    def _calibrate(self, decision: np.ndarray) -> np.ndarray:
        return _sigmoid(self.platt_a * decision + self.platt_b)

    def scores(self, items: Sequence[Any]) -> np.ndarray:
        """Calibrated probability that each item is a new Moroccan AI partnership."""
        if not items:
            return np.zeros(0)
        return self._calibrate(self.pipeline.named_steps["clf"].decision_function(self._features(items)))

    def predict(self, items: Sequence[Any], explain: bool = True) -> list[Prediction]:
        if not items:
            return []
        features = self._features(items)
        classifier = self.pipeline.named_steps["clf"]
        scores = self._calibrate(classifier.decision_function(features))
        predictions = []
        for row in range(len(items)):
            label = int(scores[row] >= self.threshold)
            text = self.explain_row(features[row], label) if explain else ""
            predictions.append(Prediction(round(float(scores[row]), 4), label, text))
        return predictions

    # -- explanations -------------------------------------------------------------------------

    def _feature_names(self) -> np.ndarray:
        names = self.__dict__.get("_names")
        if names is None:
            names = self.pipeline.named_steps["features"].get_feature_names_out()
            self.__dict__["_names"] = names
        return names

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "_names"}

    def explain_row(self, row: Any, label: int, top: int = 3) -> str:
        """The few features that pushed this prediction most, in words a Slack reader understands."""
        coef = self.pipeline.named_steps["clf"].coef_[0]
        row = row.tocsr() if hasattr(row, "tocsr") else row
        indices, values = (row.indices, row.data) if hasattr(row, "indices") else (
            np.nonzero(row)[0], row[np.nonzero(row)[0]])
        contributions = values * coef[indices]
        names = self._feature_names()
        sign = 1 if label else -1
        char_total = 0.0
        phrases: list[tuple[float, str]] = []
        for index, value in zip(indices, contributions, strict=True):
            name = str(names[index])
            if name.startswith("chars__"):
                char_total += float(value)
                continue
            phrases.append((float(value) * sign, _describe(name)))
        phrases.append((char_total * sign, "wording close to past examples" if label else
                        "wording unlike past partnership announcements"))
        chosen: list[str] = []
        for weight, phrase in sorted(phrases, key=lambda p: -p[0]):
            if weight <= 0 or len(chosen) == top:
                break
            if phrase and phrase not in chosen:
                chosen.append(phrase)
        if not chosen:
            return "no strong signal either way"
        return ("for: " if label else "against: ") + "; ".join(chosen)


_CUE_WORDS = {
    "morocco": "a Moroccan party", "ai": "AI", "partnership": "a partnership event", "partner": "a known AI partner",
    "elsewhere": "other countries", "recap": "a look back", "intent": "wishes or plans rather than a deal",
}
_SPECIAL = {
    "all3_in_title": "Moroccan party, AI and partnership all in the headline",
    "all3_in_lead": "Moroccan party, AI and partnership in the lead",
    "all3_in_one_sentence": "Moroccan party, AI and partnership in one sentence",
    "morocco_ai_in_title": "Morocco and AI in the headline",
    "morocco_partnership_in_title": "Morocco and a partnership in the headline",
    "ai_partnership_in_title": "AI and a partnership in the headline",
    "morocco_partnership_sentence": "Moroccan party and partnership in one sentence",
    "ai_partnership_sentence": "AI and partnership in one sentence",
    "morocco_ai_sentence": "Morocco and AI in one sentence",
    "partner_morocco_sentence": "an AI company next to a Moroccan party",
    "morocco_sentence_share": "how much of the story is about Morocco",
    "morocco_first_position": "where Morocco first appears",
    "elsewhere_over_morocco": "other countries mentioned more than Morocco",
    "headline_only": "headline only", "short_item": "short item", "log_length": "article length",
}


def _describe(name: str) -> str:
    branch, _, feature = name.partition("__")
    if branch == "words":
        return f"mentions «{feature}»"
    if feature in _SPECIAL:
        return _SPECIAL[feature]
    family, _, where = feature.partition("_")
    where = {"in_title": "in the headline", "in_lead": "in the lead", "count": "in the text"}.get(where, where)
    return f"{_CUE_WORDS.get(family, family)} {where}"


# --- training -------------------------------------------------------------------------------------


def group_keys(rows: Sequence[dict]) -> list[str]:
    """Reports of one partnership share a group; every other item is its own group."""
    return [f"event:{row['event']}" if row.get("event") else f"item:{row.get('id', i)}" for i, row in enumerate(rows)]


def cross_validate(rows: Sequence[dict], labels: np.ndarray, weights: np.ndarray, C: float,
                   lexicon: dict[str, list[str]], n_splits: int = 5, seed: int = 13,
                   progress: Progress | None = None) -> np.ndarray:
    """Out-of-fold decision values with event-grouped, label-stratified folds."""
    folds = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    decision = np.zeros(len(rows))
    for fold, (train, test) in enumerate(folds.split(np.zeros(len(rows)), labels, group_keys(rows)), 1):
        pipeline = _fit([rows[i] for i in train], labels[train].tolist(), weights[train].tolist(), C, lexicon)
        decision[test] = pipeline.decision_function([rows[i] for i in test])
        if progress:
            progress(f"C={C:g} fold {fold}/{n_splits}")
    return decision


def platt(decision: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    calibrator = LogisticRegression(C=1e4, solver="lbfgs")
    calibrator.fit(decision.reshape(-1, 1), labels)
    return float(calibrator.coef_[0, 0]), float(calibrator.intercept_[0])


def train(rows: Sequence[dict], weights: Sequence[float] | None = None, *, c_grid: Sequence[float] = (2.0, 4.0, 8.0),
          n_splits: int = 5, progress: Progress | None = None) -> tuple[PartnershipModel, dict[str, Any]]:
    """Cross-validate over ``c_grid``, calibrate, choose the threshold, refit on everything."""
    labels = np.asarray([int(row["label"]) for row in rows])
    weights_arr = np.asarray(weights if weights is not None else [1.0] * len(rows), dtype=float)
    lexicon = load_lexicon()
    best: tuple[float, float, np.ndarray] | None = None
    grid_report = {}
    for C in c_grid:
        decision = cross_validate(rows, labels, weights_arr, C, lexicon, n_splits, progress=progress)
        value = float(average_precision_score(labels, decision))
        grid_report[str(C)] = round(value, 4)
        if best is None or value > best[1]:
            best = (C, value, decision)
    assert best is not None
    C, _, decision = best
    a, b = platt(decision, labels)
    scores = _sigmoid(a * decision + b)
    threshold = choose_threshold(labels, scores)
    report = {
        "cv": metrics_at(labels, scores, threshold),
        "cv_at_0_5": metrics_at(labels, scores, 0.5),
        "cv_by_language": breakdown(rows, labels, scores, threshold, "lang"),
        "cv_by_category": breakdown(rows, labels, scores, threshold, "category"),
        "c_grid_average_precision": grid_report, "C": C, "folds": n_splits,
        "calibration": {"a": round(a, 4), "b": round(b, 4)},
        "cv_errors": [
            {"id": rows[i].get("id"), "label": int(labels[i]), "score": round(float(scores[i]), 3),
             "category": rows[i].get("category"), "title": str(rows[i].get("title"))[:140]}
            for i in np.argsort(-np.abs(scores - labels)) if (scores[i] >= threshold) != bool(labels[i])
        ][:40],
    }
    if progress:
        progress("fitting the final model on all data")
    pipeline = _fit(list(rows), labels.tolist(), weights_arr.tolist(), C, lexicon)
    return PartnershipModel(pipeline, a, b, threshold), report


def sigmoid_inverse(p: float) -> float:
    p = min(max(p, 1e-9), 1 - 1e-9)
    return math.log(p / (1 - p))
