"""The classify step: score every stored article the live model has not judged yet.

The live model comes from the registry (``WATCH_MODEL_DIR``); when there is none, the default
model is trained from the seed corpus first, so a fresh install classifies on its first cycle.
Verdicts (score, label, explanation, model version) go to the store, keyed by article and model
version: a retried task or a re-run scores nothing twice.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from aiwatch.config import Settings
from aiwatch.store import Store, repo

log = logging.getLogger(__name__)


def classify_new(settings: Settings, run_id: str) -> dict[str, Any]:
    from classifiers.registry import load
    from classifiers.training import ensure_live_model

    started = time.monotonic()
    store = Store(settings.db_url)
    version = ensure_live_model(settings.models, db_url=settings.db_url)
    model, meta = load(version.path)
    total = relevant = 0
    while True:
        batch = repo.unclassified(store, version.name, settings.classify_batch)
        if not batch:
            break
        predictions = model.predict([{"title": item.title, "text": item.text} for item in batch])
        repo.save_classifications(store, version.name, [
            (item.article_id, p.score, p.label, p.explanation) for item, p in zip(batch, predictions, strict=True)])
        total += len(batch)
        relevant += sum(p.label for p in predictions)
        for item, p in zip(batch, predictions, strict=True):
            if p.label:
                log.info("relevant article %d (score %.2f): %s [%s]", item.article_id, p.score, item.title[:150],
                         p.explanation)
    stats = {"model_version": version.name, "classified": total, "relevant": relevant,
             "threshold": meta.get("threshold"), "seconds": round(time.monotonic() - started, 2)}
    repo.record_step(store, run_id, "classify", stats)
    log.info("classified %d articles with model %s: %d relevant", total, version.name, relevant)
    return stats
