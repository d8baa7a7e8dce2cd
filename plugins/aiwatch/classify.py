"""The classify step: score every stored article the live model has not judged in its current wording.

The live model comes from the registry (``WATCH_MODEL_DIR``); when there is none, the default
model is trained from the seed corpus first, so a fresh install classifies on its first cycle.
Verdicts (score, label, explanation, model version) go to the store, keyed by article and model
version: a retried task or a re-run scores nothing twice. An article whose title, summary or text
changed since it was scored (an outlet fixed its feed, a page arrived later) is scored again.

One article the model chokes on fails alone: the batch is retried one article at a time, and the
article that still fails is recorded with the reason (label 0, never alerted, visible in the
store and the summary) instead of stopping the step.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from aiwatch.config import Settings
from aiwatch.store import Store, repo
from aiwatch.store.repo import ToClassify, Verdict

log = logging.getLogger(__name__)


class ModelUnavailable(RuntimeError):
    """The live model cannot be loaded or trained; the message says which file and what to do."""


def _live_model(settings: Settings) -> tuple[Any, dict[str, Any], str]:
    from classifiers.registry import ModelError, load
    from classifiers.training import ensure_live_model

    try:
        version = ensure_live_model(settings.models, db_url=settings.db_url)
        model, meta = load(version.path)
    except ModelError as exc:
        raise ModelUnavailable(f"no usable model: {exc}") from None
    except OSError as exc:
        raise ModelUnavailable(f"the model registry {settings.models} cannot be used ({exc}); check that the "
                               "directory exists and is writable, or set WATCH_MODEL_DIR") from None
    return model, meta, version.name


def _judge(model: Any, batch: list[ToClassify]) -> list[Verdict]:
    """Verdicts for a batch; an article the model cannot score gets a verdict carrying the error."""
    try:
        predictions = model.predict([{"title": item.title, "text": item.text} for item in batch])
        return [Verdict(item.article_id, p.score, p.label, p.explanation, item.content_rev)
                for item, p in zip(batch, predictions, strict=True)]
    except Exception as exc:
        if len(batch) == 1:
            item = batch[0]
            log.error("article %d: the classifier failed on it (%s: %s); recorded as not relevant",
                      item.article_id, type(exc).__name__, exc, exc_info=exc)
            return [Verdict(item.article_id, 0.0, 0, "", item.content_rev,
                            error=f"classifier-error: {type(exc).__name__}: {exc}"[:500])]
        log.warning("the classifier failed on a batch of %d articles (%s); scoring them one by one", len(batch), exc)
    return [verdict for item in batch for verdict in _judge(model, [item])]


def classify_new(settings: Settings, run_id: str) -> dict[str, Any]:
    started = time.monotonic()
    store = Store(settings.db_url)
    model, meta, version = _live_model(settings)
    total = relevant = rescored = 0
    errors: dict[int, str] = {}
    seen: set[tuple[int, int]] = set()
    while True:
        batch = [item for item in repo.unclassified(store, version, settings.classify_batch)
                 if (item.article_id, item.content_rev) not in seen]
        if not batch:
            break
        seen.update((item.article_id, item.content_rev) for item in batch)
        verdicts = _judge(model, batch)
        repo.save_classifications(store, version, verdicts)
        total += len(batch)
        rescored += sum(item.rescored for item in batch)
        relevant += sum(v.label for v in verdicts)
        for item, verdict in zip(batch, verdicts, strict=True):
            if verdict.error:
                errors[item.article_id] = verdict.error
            elif verdict.label:
                log.info("relevant article %d (score %.2f)%s: %s [%s]", item.article_id, verdict.score,
                         " re-scored after its text changed" if item.rescored else "", item.title[:150],
                         verdict.explanation)
    stats = {"model_version": version, "classified": total, "relevant": relevant, "rescored": rescored,
             "errors": len(errors), "error_examples": dict(list(errors.items())[:5]),
             "threshold": meta.get("threshold"), "seconds": round(time.monotonic() - started, 2)}
    repo.record_step(store, run_id, "classify", stats)
    log.info("classified %d articles with model %s (%d re-scored after a change): %d relevant, %d failed",
             total, version, rescored, relevant, len(errors))
    return stats
