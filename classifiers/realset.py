"""The real-article development set: labels committed, texts kept local.

``data/real_articles.jsonl`` lists real published articles (URL, language, label, category, event,
a one-line reason, ``doubtful``) and never their text: it is not ours. The local copy with texts,
``var/real/articles.jsonl`` (ignored by git), is what ``python -m classifiers evaluate`` and
``compare`` score. It was built from stored copies of the pages; on a machine with internet,
``python -m classifiers real fetch`` rebuilds it by downloading each URL through the pipeline's
own fetcher (timeouts, size caps, the address guard) and extracting it with the pipeline's
extractor. Pages that moved or vanished are reported and left out (the labels stay committed).
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from classifiers.data import DATA_DIR, read_jsonl

log = logging.getLogger(__name__)

LIST_FILE = DATA_DIR / "real_articles.jsonl"
LOCAL_FILE = Path(__file__).resolve().parents[1] / "var" / "real" / "articles.jsonl"
#: Keys the committed list may carry: labels and provenance, never text.
LIST_KEYS = {"id", "lang", "label", "category", "event", "source_url", "outlet", "published", "reason",
             "doubtful", "title_source"}


def entries(path: Path = LIST_FILE) -> list[dict[str, Any]]:
    rows = []
    for number, row, error in read_jsonl(path):
        if error or row is None:
            raise ValueError(f"{path}:{number}: {error}")
        extra = set(row) - LIST_KEYS
        if extra:
            raise ValueError(f"{path}:{number}: keys {sorted(extra)} do not belong in the committed list (no text)")
        rows.append(row)
    return rows


def summary(rows: Iterable[dict[str, Any]]) -> dict[str, Any]:
    rows = list(rows)
    return {"items": len(rows),
            "by_language_label": {f"{lang}/{label}": n for (lang, label), n in
                                  sorted(Counter((r["lang"], r["label"]) for r in rows).items())},
            "by_category": dict(Counter(r["category"] for r in rows).most_common()),
            "doubtful": sum(bool(r.get("doubtful")) for r in rows),
            "positive_events": len({r["event"] for r in rows if r["label"] == 1 and r.get("event")})}


def fetch(list_path: Path = LIST_FILE, out_path: Path = LOCAL_FILE, *, timeout_s: float = 20.0) -> dict[str, Any]:
    """Download and extract every listed URL into ``out_path`` (labels carried over)."""
    from aiwatch.extract import ExtractError, extract_article
    from aiwatch.fetcher import Fetcher, FetchError, FetchLimits

    rows = entries(list_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    written, failed = 0, []
    with Fetcher(FetchLimits(timeout_s=timeout_s)) as fetcher, out_path.open("w", encoding="utf-8") as out:
        for row in rows:
            url = row["source_url"]
            try:
                response = fetcher.get(url)
                page = extract_article(response.body, response.final_url, response.content_type, row.get("lang"))
            except (FetchError, ExtractError) as exc:
                failed.append((row["id"], str(exc)[:200]))
                log.warning("%s: %s", row["id"], exc)
                continue
            out.write(json.dumps({**row, "title": page.title or "", "text": page.text}, ensure_ascii=False) + "\n")
            written += 1
    return {"written": written, "failed": failed, "out": str(out_path)}
