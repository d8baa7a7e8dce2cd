"""`python -m classifiers compare`: the model chosen on real text, against two baselines, in one table.

Three models, each trained the same way (event-grouped cross-validation over a C grid, Platt
calibration, the threshold keeping out-of-fold precision at 0.95 or more):

- ``previous``: the layout-2 model as it was before the real-text review (its frozen lexicon
  ``topics/morocco_ai.layout2.yaml``, the headline and first 1,000 characters), trained on the
  corpus it had (``parts/`` without the ``struct-*`` files written from real structures);
- ``tfidf``: a plain word (1-2) + character (3-5) n-gram TF-IDF logistic regression over the whole
  text, on the current corpus;
- ``current``: the current model (layout-3 cues, the article read to 6,000 characters), current corpus.

Each is scored on its grouped cross-validation, the fixed validation split, and the real-article
development set when a local copy exists (``var/real/articles.jsonl``, never committed; see
``data/README.md``), overall, per language and per category, and on its items not marked doubtful. Writes a Markdown table and the JSON
under ``var/compare/`` (or ``--out``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, Pipeline

from classifiers import data
from classifiers.features import CueFeatures, Field, TextPrep, load_lexicon
from classifiers.model import PartnershipModel, build_pipeline, metrics_at, train

TOPICS = Path(__file__).with_name("topics")
REAL_DEFAULT = Path(__file__).resolve().parents[1] / "var" / "real" / "articles.jsonl"
LANGS = ("fr", "ar", "en", "es")


def previous_pipeline(C: float, lexicon: Any) -> Pipeline:
    """The model before the review: layout-2 cues, 1,000 characters, the same n-gram branches."""
    from classifiers.features import title_char_ngrams, word_unigrams_bigrams
    from classifiers.tfidf import LeanTfidf

    words = Pipeline([("field", Field("full")), ("tfidf", LeanTfidf(
        analyzer=word_unigrams_bigrams, min_df=2, max_df=0.9, max_features=60_000))])
    chars = Pipeline([("field", Field("title")), ("tfidf", LeanTfidf(
        analyzer=title_char_ngrams, min_df=2, max_features=60_000))])
    features = FeatureUnion([("words", words), ("chars", chars), ("cues", CueFeatures(lexicon, layout=2))])
    classifier = LogisticRegression(C=C, class_weight="balanced", max_iter=5000, solver="liblinear")
    return Pipeline([("prep", TextPrep()), ("features", features), ("clf", classifier)])


def tfidf_pipeline(C: float, lexicon: Any = None) -> Pipeline:
    """The plain baseline: word and character n-grams of the whole text, nothing topic-specific."""
    words = Pipeline([("field", Field("full")), ("tfidf", TfidfVectorizer(
        ngram_range=(1, 2), min_df=2, max_df=0.9, sublinear_tf=True, max_features=100_000))])
    chars = Pipeline([("field", Field("full")), ("tfidf", TfidfVectorizer(
        analyzer="char_wb", ngram_range=(3, 5), min_df=2, sublinear_tf=True, max_features=100_000))])
    classifier = LogisticRegression(C=C, class_weight="balanced", max_iter=5000, solver="liblinear")
    return Pipeline([("prep", TextPrep(window=20_000)), ("features", FeatureUnion([("words", words), ("chars", chars)])),
                     ("clf", classifier)])


def _scores(model: PartnershipModel, rows: Sequence[dict]) -> np.ndarray:
    return model.scores(rows) if rows else np.zeros(0)


def _block(labels: np.ndarray, scores: np.ndarray, threshold: float, rows: Sequence[dict]) -> dict[str, Any]:
    """Overall figures, per language and per category (accuracy, false positives and negatives)."""
    result: dict[str, Any] = {"all": metrics_at(labels, scores, threshold) if len(rows) else {}}
    for lang in LANGS:
        index = [i for i, r in enumerate(rows) if r.get("lang") == lang]
        if index:
            result[lang] = metrics_at(labels[index], scores[index], threshold)
    categories: dict[str, dict[str, int]] = {}
    for i, row in enumerate(rows):
        entry = categories.setdefault(str(row.get("category") or "?"), {"n": 0, "errors": 0})
        entry["n"] += 1
        entry["errors"] += int((scores[i] >= threshold) != bool(labels[i]))
    result["by_category"] = categories
    return result


def evaluate_models(builders: dict[str, tuple[Callable[[float, Any], Pipeline], Any, list[dict]]],
                    validation: list[dict], real: list[dict], c_grid: Sequence[float]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, (builder, lexicon, rows) in builders.items():
        started = time.monotonic()
        model, report = train(rows, c_grid=c_grid, builder=builder, lexicon=lexicon)
        seconds = round(time.monotonic() - started, 1)
        oof = report.pop("_oof")
        cv_rows = rows
        entry: dict[str, Any] = {"train_items": len(rows), "threshold": round(model.threshold, 4), "C": report["C"],
                                 "train_seconds": seconds,
                                 "cv": _block(np.asarray(oof["labels"]), np.asarray(oof["scores"]), model.threshold,
                                              cv_rows)}
        real_sure = [r for r in real if not r.get("doubtful")]
        for set_name, set_rows in (("validation", validation), ("real", real), ("real_not_doubtful", real_sure)):
            if set_rows:
                labels = np.asarray([int(r["label"]) for r in set_rows])
                entry[set_name] = _block(labels, _scores(model, set_rows), model.threshold, set_rows)
        out[name] = entry
    return out


def _cell(metrics: dict[str, Any]) -> str:
    if not metrics:
        return "–"
    return f"{metrics['precision']:.3f} / {metrics['recall']:.3f} / {metrics['f1']:.3f} (n={metrics['n']})"


def markdown(results: dict[str, Any]) -> str:
    """One table: rows are (set, slice), columns the models; cells precision / recall / F1 (n)."""
    names = list(results)
    lines = ["| set | slice | " + " | ".join(names) + " |", "|---|---|" + "---|" * len(names)]
    for set_name in ("cv", "validation", "real", "real_not_doubtful"):
        if not any(set_name in results[n] for n in names):
            continue
        for slice_name in ("all", *LANGS):
            cells = [_cell(results[n].get(set_name, {}).get(slice_name, {})) for n in names]
            if any(c != "–" for c in cells):
                lines.append(f"| {set_name} | {slice_name} | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append("Errors per category (errors / items):")
    lines.append("")
    lines.append("| set | category | " + " | ".join(names) + " |")
    lines.append("|---|---|" + "---|" * len(names))
    for set_name in ("validation", "real"):
        categories = sorted({c for n in names for c in results[n].get(set_name, {}).get("by_category", {})})
        for category in categories:
            cells = []
            for n in names:
                entry = results[n].get(set_name, {}).get("by_category", {}).get(category)
                cells.append(f"{entry['errors']} / {entry['n']}" if entry else "–")
            lines.append(f"| {set_name} | {category} | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append("| model | items | C | threshold | training (s) |")
    lines.append("|---|---|---|---|---|")
    for n in names:
        r = results[n]
        lines.append(f"| {n} | {r['train_items']} | {r['C']} | {r['threshold']} | {r['train_seconds']} |")
    return "\n".join(lines)


def run(real_path: Path | None, out_dir: Path, c_grid: Sequence[float] = (8.0, 16.0, 32.0, 64.0),
        models: Sequence[str] = ("previous", "tfidf", "current")) -> dict[str, Any]:
    current = data.default_training_rows()
    previous_rows = [r for r in current if not str(r.get("id", "")).startswith("struct")]
    validation, _ = data.load_labelled([data.DATA_DIR / "validation.jsonl"])
    real: list[dict] = []
    if real_path is not None and real_path.is_file():
        real, _ = data.load_labelled([real_path])
    all_builders = {
        "previous": (previous_pipeline, load_lexicon(TOPICS / "morocco_ai.layout2.yaml"), previous_rows),
        "tfidf": (tfidf_pipeline, {}, current),
        "current": (build_pipeline, load_lexicon(), current),
    }
    builders = {name: all_builders[name] for name in models}
    results = evaluate_models(builders, validation, real, c_grid)
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%S")
    (out_dir / f"compare-{stamp}.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
    table = markdown(results)
    (out_dir / f"compare-{stamp}.md").write_text(table + "\n", encoding="utf-8")
    return {"results": results, "table": table, "real_items": len(real), "out": str(out_dir)}
