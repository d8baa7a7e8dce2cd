"""Training a new registry version: shared by the CLI, the pipeline's first run and the
retrain_classifier DAG, so all three produce identical, fully described models."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from classifiers import data, registry
from classifiers.evaluate import plot
from classifiers.model import train

log = logging.getLogger(__name__)


def store_labels(db_url: str | None) -> list[dict[str, Any]]:
    """Labels gathered in the article store (Slack reactions, imported files), newest per article."""
    if not db_url:
        return []
    from aiwatch.store import Store
    from aiwatch.store.labels import labelled_articles

    try:
        return labelled_articles(Store(db_url))
    except Exception as exc:  # a store without the labels table yet, or unreachable: train without them
        log.warning("labels from the store %s not used: %s", db_url.split("@")[-1], exc)
        return []


def train_version(extra_files: list[Path] | None = None, *, db_url: str | None = None, root: Path | None = None,
                  include_corpus: bool = True, progress: Callable[[str], None] | None = None,
                  c_grid: tuple[float, ...] = (8.0, 16.0, 32.0, 64.0)) -> tuple[registry.Version, dict[str, Any]]:
    """Train on the seed corpus (+ founding articles), extra JSONL files and store labels; save a
    new version with its report and plots. The caller decides whether to promote it."""
    rows: list[dict[str, Any]] = []
    sources: dict[str, int] = {}
    if include_corpus:
        corpus = data.default_training_rows()
        rows += corpus
        sources["seed_corpus"] = len(corpus)
    if extra_files:
        extra, errors = data.load_labelled(extra_files)
        rows += extra
        sources["files"] = len(extra)
        if errors:
            sources["skipped_lines"] = len(errors)
    labelled = store_labels(db_url)
    rows += labelled
    sources["store_labels"] = len(labelled)
    if not rows or len({r["label"] for r in rows}) < 2:
        raise registry.ModelError("training needs labelled items of both classes; none or one class given")
    started = time.monotonic()
    model, report = train(rows, c_grid=c_grid, progress=progress)
    seconds = round(time.monotonic() - started, 1)
    meta = {"data_hash": data.data_hash(rows), "data_counts": data.counts(rows), "sources": sources,
            "train_seconds": seconds, "metrics": report["cv"], "C": report["C"]}
    version = registry.save(model, report, meta, root)
    import numpy as np

    oof = report.pop("_oof", None)
    if oof is not None:
        plot(np.asarray(oof["labels"]), np.asarray(oof["scores"]), model.threshold, version.path, "cv",
             f"(cross-validated, {version.name})")
    from classifiers.promotion import store_validation

    validation = store_validation(version.path, model)
    log.info("trained %s on %d items in %.0fs: CV precision %.3f recall %.3f F1 %.3f%s", version.name, len(rows),
             seconds, report["cv"]["precision"], report["cv"]["recall"], report["cv"]["f1"],
             f"; validation precision {validation['precision']:.3f} recall {validation['recall']:.3f} "
             f"F1 {validation['f1']:.3f}" if validation else "")
    return version, report


def ensure_live_model(root: Path | None = None, db_url: str | None = None) -> registry.Version:
    """The live version; trains and promotes the default model first when the registry has none."""
    root = root or registry.registry_dir()
    name = registry.live_name(root)
    if name is not None:
        found = [v for v in registry.versions(root) if v.name == name]
        if not found:
            known = ", ".join(v.name for v in registry.versions(root)) or "none"
            raise registry.ModelError(
                f"{root / registry.LIVE_FILE} names {name!r}, which is not a version in {root} (known: {known}); "
                "promote an existing one with `python -m classifiers promote vNNNN`, or delete LIVE to train "
                "the default model on the next cycle")
        return found[0]
    log.info("no live model in %s: training the default model from the seed corpus", root)
    try:
        root.mkdir(parents=True, exist_ok=True)
        probe = root / ".write-test"
        probe.write_text("", encoding="utf-8")
        probe.unlink()
    except OSError as exc:
        raise registry.ModelError(f"the model registry {root} cannot be written ({exc.strerror or exc}); make it "
                                  "writable or point WATCH_MODEL_DIR at a writable directory") from None
    version, _ = train_version(root=root, db_url=db_url, c_grid=(32.0,))
    return registry.promote(version.name, root)
