"""Classifier throughput: articles per second on one core for ~3 kB articles, and training time.

Pins itself to one CPU (``os.sched_setaffinity``), builds realistic 3 kB articles from the corpus
(headline + body repeated to length, in all four languages), and reports the median of several
runs for ``predict`` with and without explanations. A plain scikit-learn ``TfidfVectorizer``
pipeline on the same data is the baseline, measured in the same run.
"""

from __future__ import annotations

import os
import random
import statistics
import time
from typing import Any

from classifiers.data import corpus_files, load_labelled

ARTICLE_CHARS = 3000


def articles(n: int, seed: int = 7) -> list[dict[str, str]]:
    rows, _ = load_labelled(corpus_files())
    long_rows = [r for r in rows if len(r["text"]) > 400]
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        row = rng.choice(long_rows)
        body = (row["text"] + "\n") * (ARTICLE_CHARS // len(row["text"]) + 1)
        out.append({"title": row["title"], "text": body[:ARTICLE_CHARS]})
    return out


def _median_rate(run: Any, n: int, repeats: int) -> float:
    rates = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        rates.append(n / (time.perf_counter() - started))
    return statistics.median(rates)


def baseline_pipeline(rows: list[dict[str, Any]]):  # type: ignore[no-untyped-def]
    """The obvious scikit-learn model: TF-IDF word 1-2-grams + char_wb 2-5-grams + logistic regression."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import FeatureUnion, make_pipeline

    texts = [f"{r['title']} {r['text']}" for r in rows]
    model = make_pipeline(FeatureUnion([("w", TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)),
                                        ("c", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=2,
                                                              sublinear_tf=True))]),
                          LogisticRegression(max_iter=2000))
    model.fit(texts, [r["label"] for r in rows])
    return model


def run(quick: bool = False) -> dict[str, Any]:
    from classifiers.data import default_training_rows
    from classifiers.model import train

    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    n, repeats = (500, 3) if quick else (4000, 5)
    docs = articles(n)
    rows = default_training_rows()
    started = time.perf_counter()
    model, _ = train(rows, c_grid=(32.0,), n_splits=3 if quick else 5)
    train_s = time.perf_counter() - started
    model.predict(docs[:50])  # warm caches (lexicon, vocabularies)
    plain = _median_rate(lambda: model.predict(docs, explain=False), n, repeats)
    explained = _median_rate(lambda: model.predict(docs), n, repeats)
    baseline = baseline_pipeline(rows)
    texts = [f"{d['title']} {d['text']}" for d in docs[:300]]  # the baseline is slow: a smaller sample
    baseline_rate = _median_rate(lambda: baseline.predict_proba(texts), len(texts), 3)
    return {"predict_docs_per_s": round(plain), "predict_explained_docs_per_s": round(explained),
            "baseline_sklearn_docs_per_s": round(baseline_rate), "predict_vs_baseline": round(plain / baseline_rate, 2),
            "train_s": round(train_s, 1), "train_items": len(rows), "article_chars": ARTICLE_CHARS, "docs": n,
            "repeats": repeats, "cores_used": 1}
