"""Labelled data: the seed corpus in ``classifiers/data/parts``, the founding articles, and labels
gathered in the store. Bad lines are reported by file and line number and skipped, never fatal.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiwatch.config import shared_dir

log = logging.getLogger(__name__)

DATA_DIR = Path(__file__).with_name("data")
CORPUS_DIR = DATA_DIR / "parts"
#: The founding articles live in the shared folder beside the repo; they are read, never copied.
SEEDS_DIR = shared_dir() / "seeds"
SEED_EVENTS = {"000_": "ma-digital-ministry--mistral-mou-2025-09", "004_": "ma-government--openai-talks-2025-09"}
LANGS = {"fr", "ar", "en", "es"}
CATEGORIES = {"pos", "neg-morocco-ai-no-partnership", "neg-ai-partnership-elsewhere", "neg-morocco-partnership-non-ai",
              "neg-passing-mention", "neg-old-or-recap", "neg-other"}


@dataclass(frozen=True)
class LineError:
    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


def read_jsonl(path: Path | str) -> Iterator[tuple[int, dict[str, Any] | None, str | None]]:
    """(line number, object or None, error or None) for every non-blank line; never raises on content."""
    with open(path, encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError as exc:
                yield number, None, f"not valid JSON ({exc.msg} at column {exc.colno})"
                continue
            if not isinstance(value, dict):
                yield number, None, f"expected a JSON object, got {type(value).__name__}"
                continue
            yield number, value, None


def validate_labelled(row: dict[str, Any]) -> str | None:
    """Why a labelled row is unusable, or None."""
    if not isinstance(row.get("title"), str) or not row["title"].strip():
        return "missing or empty 'title'"
    if row.get("text") is not None and not isinstance(row.get("text"), str):
        return "'text' must be a string"
    if row.get("label") not in (0, 1) or isinstance(row.get("label"), bool):
        return f"'label' must be 0 or 1, got {row.get('label')!r}"
    category = row.get("category")
    if category is not None and category not in CATEGORIES:
        return f"unknown category {category!r}"
    if category is not None and (category == "pos") != (row["label"] == 1):
        return f"label {row['label']} contradicts category {category!r}"
    return None


def load_labelled(paths: Iterable[Path | str]) -> tuple[list[dict[str, Any]], list[LineError]]:
    rows: list[dict[str, Any]] = []
    errors: list[LineError] = []
    for path in paths:
        for number, row, error in read_jsonl(path):
            if row is not None and error is None:
                error = validate_labelled(row)
            if error:
                errors.append(LineError(str(path), number, error))
                continue
            assert row is not None
            row.setdefault("text", "")
            row.setdefault("id", f"{Path(path).stem}:{number}")
            rows.append(row)
    for error in errors:
        log.warning("skipped %s", error)
    return rows, errors


def corpus_files() -> list[Path]:
    return sorted(CORPUS_DIR.glob("*.jsonl"))


def seed_articles(seeds_dir: Path = SEEDS_DIR) -> list[dict[str, Any]]:
    """The two founding articles as positives (headline = first sentence), when ../shared is present."""
    rows = []
    for path in sorted(seeds_dir.glob("*.txt")) if seeds_dir.is_dir() else []:
        text = path.read_text(encoding="utf-8").strip()
        first = re.split(r"(?<=[.!?])\s", text, maxsplit=1)[0]
        event = next((key for prefix, key in SEED_EVENTS.items() if path.name.startswith(prefix)), None)
        rows.append({"id": f"seed:{path.stem}", "lang": "fr", "title": first[:300], "text": text, "label": 1,
                     "category": "pos", "event": event, "source_url": None, "outlet": "seed"})
    return rows


#: Our own-words retelling of the two founding articles' facts, trained on instead of them when
#: ../shared is absent, so that a clone alone learns from the same two partnerships.
SEED_STANDINS = Path(__file__).resolve().parent / "data" / "seed_standins.jsonl"


def default_training_rows() -> list[dict[str, Any]]:
    rows, _ = load_labelled(corpus_files())
    seeds = seed_articles()
    if not seeds and SEED_STANDINS.is_file():
        seeds, _ = load_labelled([SEED_STANDINS])
    return rows + seeds


def data_hash(rows: Iterable[dict[str, Any]]) -> str:
    """Order-independent fingerprint of the training data (what was learned from)."""
    digests = sorted(hashlib.sha256(json.dumps([r.get("title"), r.get("text"), r.get("label")],
                                               ensure_ascii=False).encode()).hexdigest() for r in rows)
    return hashlib.sha256("".join(digests).encode()).hexdigest()


def counts(rows: Iterable[dict[str, Any]]) -> dict[str, Any]:
    from collections import Counter

    rows = list(rows)
    return {"items": len(rows), "positives": sum(r["label"] for r in rows),
            "by_language": dict(Counter(r.get("lang") or "?" for r in rows).most_common()),
            "by_category": dict(Counter(r.get("category") or "?" for r in rows).most_common())}
