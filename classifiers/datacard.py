"""Regenerate the counts in ``classifiers/data/README.md`` from the data files:
``python -m classifiers.datacard`` (a test fails when the card and the data disagree)."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

from classifiers.data import DATA_DIR, corpus_files, load_labelled

CARD = DATA_DIR / "README.md"
_SENTENCE_RE = re.compile(r"(?<=[.!?؟])\s+")


def is_short(row: dict[str, Any]) -> bool:
    """Headline-only or headline plus one sentence."""
    return len([s for s in _SENTENCE_RE.split((row.get("text") or "").strip()) if s]) <= 1


def table(rows: list[dict[str, Any]]) -> str:
    n = len(rows)
    languages = Counter(r.get("lang") for r in rows)
    lines = ["| language | items | share | positives |", "|---|---|---|---|"]
    for lang in ("fr", "ar", "en", "es"):
        positives = sum(r["label"] for r in rows if r.get("lang") == lang)
        lines.append(f"| {lang} | {languages[lang]} | {languages[lang] / n:.1%} | {positives} |")
    total_pos = sum(r["label"] for r in rows)
    lines.append(f"| **all** | {n} | 100% | {total_pos} ({total_pos / n:.1%}) |")
    lines += ["", "| category | items |", "|---|---|"]
    lines += [f"| `{k}` | {v} |" for k, v in Counter(r.get("category") for r in rows).most_common()]
    short = sum(is_short(r) for r in rows)
    headline_only = sum(1 for r in rows if not (r.get("text") or "").strip())
    events = Counter(r.get("event") for r in rows if r["label"] == 1)
    lines += ["", f"Headline-plus-one-sentence or headline-only items: {short} ({short / n:.1%}), of which "
              f"headline-only: {headline_only}. Positives describe {len(events)} distinct partnership events; "
              f"{sum(1 for v in events.values() if v > 1)} of them are reported by several items."]
    return "\n".join(lines)


def render() -> str:
    corpus, _ = load_labelled(corpus_files())
    validation, _ = load_labelled([DATA_DIR / "validation.jsonl"])
    text = CARD.read_text(encoding="utf-8")
    for name, rows in (("counts", corpus), ("validation", validation)):
        text = re.sub(rf"(<!-- {name}:begin -->).*?(<!-- {name}:end -->)",
                      lambda m, rows=rows: f"{m.group(1)}\n{table(rows)}\n{m.group(2)}", text, flags=re.S)
    return text


def main() -> int:
    Path(CARD).write_text(render(), encoding="utf-8")
    print(f"updated {CARD}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
