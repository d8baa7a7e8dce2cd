"""Feature extraction: normalised fields for the n-gram models, and cue features that generalise.

N-grams learn the wording of our corpus; the cue features carry what should transfer to other
writers: whether a Moroccan party, AI and a partnership event are all mentioned, and *where*
(headline, lead, one sentence). A story that merely mentions a Moroccan AI partnership in passing
rarely puts all three in its headline or lead; a real announcement almost always does.
"""

from __future__ import annotations

import bisect
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from sklearn.base import BaseEstimator, TransformerMixin

from classifiers.normalise import normalise

TOPIC_FILE = Path(__file__).with_name("topics") / "morocco_ai.yaml"
LEAD_CHARS = 500
BODY_CHARS = 3000
_SENTENCE_END_RE = re.compile(r"[.!?;]\s|\s-\s|\n")

# (title, lead, body): all normalised; lead and body are prefixes of the article text.
Prepared = tuple[str, str, str]


def as_title_text(item: Any) -> tuple[str, str]:
    """Accept dicts with title/text, (title, text) pairs or plain strings (headline only)."""
    if isinstance(item, Mapping):
        return str(item.get("title") or ""), str(item.get("text") or "")
    if isinstance(item, (tuple, list)):
        return str(item[0] or ""), str(item[1] or "") if len(item) > 1 else ""
    return str(item or ""), ""


def prepare(item: Any) -> Prepared:
    title, text = as_title_text(item)
    body = normalise(text[: BODY_CHARS + 200])[:BODY_CHARS]
    return normalise(title[:400]), body[:LEAD_CHARS], body


class TextPrep(BaseEstimator, TransformerMixin):
    """Raw items -> normalised (title, lead, body); done once, shared by all feature branches."""

    def fit(self, X: Iterable[Any], y: Any = None) -> TextPrep:
        return self

    def transform(self, X: Iterable[Any]) -> list[Prepared]:
        return [prepare(item) for item in X]


class Field(BaseEstimator, TransformerMixin):
    """Select the text an n-gram branch sees: ``full`` (headline twice, then body) or ``lead``."""

    def __init__(self, field: str = "full") -> None:
        self.field = field

    def fit(self, X: Any, y: Any = None) -> Field:
        return self

    def transform(self, X: Sequence[Prepared]) -> list[str]:
        if self.field == "lead":
            return [f"{title} | {lead}" for title, lead, _ in X]
        return [f"{title} | {title} | {body}" for title, _, body in X]


def load_lexicon(path: Path = TOPIC_FILE) -> dict[str, list[str]]:
    """Cue families -> regex patterns (normalised, Latin ones wrapped in word boundaries)."""
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    lexicon: dict[str, list[str]] = {}
    for family, scripts in document["cues"].items():
        patterns = [rf"\b(?:{normalise(str(p))})\b" for p in scripts.get("latin", [])]
        patterns += [normalise(str(p)) for p in scripts.get("ar", [])]
        lexicon[family] = patterns
    return lexicon


class CueFeatures(BaseEstimator, TransformerMixin):
    """Dense, style-independent features from the topic lexicon (see module docstring)."""

    CORE = ("morocco", "ai", "partnership")

    def __init__(self, lexicon: dict[str, list[str]] | None = None) -> None:
        self.lexicon = lexicon

    def _compiled(self) -> dict[str, re.Pattern[str]]:
        cache = self.__dict__.get("_regex")
        if cache is None:
            lexicon = self.lexicon if self.lexicon is not None else load_lexicon()
            cache = {family: re.compile("|".join(f"(?:{p})" for p in patterns))
                     for family, patterns in lexicon.items()}
            self.__dict__["_regex"] = cache
        return cache

    def __getstate__(self) -> dict[str, Any]:  # compiled regexes are rebuilt, never serialised
        return {k: v for k, v in self.__dict__.items() if k != "_regex"}

    def fit(self, X: Any, y: Any = None) -> CueFeatures:
        if self.lexicon is None:
            self.lexicon = load_lexicon()
        self.families_ = list(self.lexicon)
        self._compiled()
        return self

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        names: list[str] = []
        for family in self.families_:
            names += [f"{family}_in_title", f"{family}_in_lead", f"{family}_count"]
        names += ["all3_in_title", "all3_in_lead", "all3_in_one_sentence", "morocco_ai_in_title",
                  "morocco_partnership_in_title", "ai_partnership_in_title", "morocco_partnership_sentence",
                  "ai_partnership_sentence", "morocco_ai_sentence", "partner_morocco_sentence",
                  "morocco_sentence_share", "morocco_first_position", "elsewhere_over_morocco",
                  "headline_only", "short_item", "log_length"]
        return np.asarray(names, dtype=object)

    def transform(self, X: Sequence[Prepared]) -> np.ndarray:
        regex = self._compiled()
        families = self.families_
        rows = np.zeros((len(X), len(self.get_feature_names_out())), dtype=np.float64)
        for row, (title, lead, body) in enumerate(X):
            ends = [m.end() for m in _SENTENCE_END_RE.finditer(body)]
            n_sentences = len(ends) + 1
            in_title, in_lead, sentence_sets, first = {}, {}, {}, {}
            values: list[float] = []
            for family in families:
                pattern = regex[family]
                positions = [m.start() for m in pattern.finditer(body)]
                in_title[family] = pattern.search(title) is not None
                in_lead[family] = bool(positions and positions[0] < len(lead)) or in_title[family]
                sentence_sets[family] = {bisect.bisect_right(ends, p) for p in positions}
                first[family] = positions[0] / max(len(body), 1) if positions else 1.0
                values += [float(in_title[family]), float(in_lead[family]), math.log1p(len(positions))]
            ma, ai, part = (sentence_sets[f] for f in self.CORE)
            core_title = [in_title[f] for f in self.CORE]
            core_lead = [in_lead[f] for f in self.CORE]
            elsewhere = len(sentence_sets.get("elsewhere", ()))
            values += [
                float(all(core_title)), float(all(core_lead)), float(bool(ma & ai & part)),
                float(in_title["morocco"] and in_title["ai"]), float(in_title["morocco"] and in_title["partnership"]),
                float(in_title["ai"] and in_title["partnership"]), float(bool(ma & part)), float(bool(ai & part)),
                float(bool(ma & ai)), float(bool(sentence_sets.get("partner", set()) & ma)),
                len(ma) / n_sentences, first["morocco"], (elsewhere - len(ma)) / n_sentences,
                float(not body), float(len(body) < 300), math.log1p(len(body)) / 8.0,
            ]
            rows[row] = values
        return rows
