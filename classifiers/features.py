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
# The news is in the headline and the first paragraphs; reading only those keeps prediction fast
# (thousands of articles a second) and keeps passing mentions deep in a story from weighing in.
LEAD_CHARS = 300
BODY_CHARS = 1000
_SENTENCE_END_RE = re.compile(r"[.!?;] | - ")  # normalised text: single spaces, no newlines

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


_NON_WORD_RE = re.compile(r"[^\w]+")
CHAR_SIZES = (3, 4, 5)
BIGRAM_TOKENS = 60  # bigrams from the headline and lead only: that is where phrasing matters


def word_unigrams_bigrams(text: str) -> list[str]:
    """Analyzer for the word branch: tokens of two or more characters, and adjacent pairs among the
    first tokens, of already-normalised text.

    Built from C-level calls (one substitution, ``split``, ``map(" ".join, zip(...))``): the
    generic scikit-learn analyzer spent more time building n-grams than the rest of prediction.
    """
    tokens = [t for t in _NON_WORD_RE.sub(" ", text).split() if len(t) > 1]
    head = tokens[:BIGRAM_TOKENS]
    return tokens + list(map(" ".join, zip(head, head[1:], strict=False)))


def title_char_ngrams(text: str) -> list[str]:
    """Character 3- to 5-grams inside word boundaries (like ``char_wb``), for headlines: they
    survive inflection and Arabic clitics (والمغرب، للذكاء) that split word features."""
    grams: list[str] = []
    for word in text.split():
        padded = f" {word} "
        size = len(padded)
        for n in CHAR_SIZES:
            grams += [padded[i : i + n] for i in range(size - n + 1)]
    return grams


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
        if self.field == "title":
            return [title for title, _, _ in X]
        return [f"{title} | {title} | {body}" for title, _, body in X]


def _arabic_prefixes(pattern: str) -> str:
    """Arabic attaches articles and prepositions to words (الذكاء، للذكاء، بالذكاء) and headlines
    drop them (ذكاء اصطناعي). Cues match as substrings, so the first word loses its article, and
    later words accept ال, لل or nothing. (A leading optional group would make the regex try every
    position of the text: keep patterns starting with a literal.)"""
    pattern = re.sub(r"^ال", "", pattern)
    return re.sub(r"(?<=\s)ال", "(?:ال|لل)?", pattern)


def load_lexicon(path: Path = TOPIC_FILE) -> dict[str, dict[str, list[str]]]:
    """Cue families -> {"latin": [...], "ar": [...]} regex patterns, normalised like the text."""
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    return {family: {"latin": [normalise(str(p)) for p in scripts.get("latin", [])],
                     "ar": [_arabic_prefixes(normalise(str(p))) for p in scripts.get("ar", [])]}
            for family, scripts in document["cues"].items()}


def _split_leading_group(pattern: str) -> list[str]:
    """``(?:a|b)rest`` -> [``arest``, ``brest``], recursively, so every pattern starts with a literal."""
    if not pattern.startswith("(?:"):
        return [pattern]
    depth, end = 0, 0
    for end, char in enumerate(pattern):  # noqa: B007 - ``end`` is used after the loop
        depth += char == "("
        depth -= char == ")"
        if depth == 0:
            break
    rest = pattern[end + 1:]
    if rest[:1] in ("?", "*", "{"):
        return [pattern]
    parts, depth, current = [], 0, ""
    for char in pattern[3:end]:
        depth += char == "("
        depth -= char == ")"
        if char == "|" and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return [expanded for part in parts for expanded in _split_leading_group(part + rest)]


def _first_char_alternation(patterns: Iterable[str]) -> str:
    """Group alternatives by their first character (longest first), so that at each position of
    the text the regex engine tries only the few alternatives that can start there. Patterns that
    do not start with a plain character (an escape, an optional group) stay whole."""
    groups: dict[str, list[str]] = {}
    whole: list[str] = []
    for pattern in sorted({q for p in patterns for q in _split_leading_group(p)}, key=len, reverse=True):
        head = pattern[0]
        if head in "\\()[].*+?{}|^$":
            whole.append(pattern)
        else:
            groups.setdefault(head, []).append(pattern[1:])
    branches = [f"{re.escape(head)}(?:{'|'.join(tails)})" for head, tails in groups.items()]
    return "|".join(branches + whole)


class CompiledLexicon:
    """The lexicon as two scanning regexes (Latin with word boundaries, Arabic as substrings) plus
    per-family regexes that tell which family a matched string belongs to."""

    def __init__(self, lexicon: dict[str, dict[str, list[str]]]) -> None:
        latin = [p for scripts in lexicon.values() for p in scripts["latin"]]
        arabic = [p for scripts in lexicon.values() for p in scripts["ar"]]
        self.latin = re.compile(rf"\b(?:{_first_char_alternation(latin)})\b") if latin else None
        self.arabic = re.compile(_first_char_alternation(arabic)) if arabic else None
        self.families = [(family, re.compile("|".join(f"(?:{p})" for p in scripts["latin"] + scripts["ar"])))
                         for family, scripts in lexicon.items() if scripts["latin"] or scripts["ar"]]
        self._family_of: dict[str, str | None] = {}

    def family_of(self, matched: str) -> str | None:
        family = self._family_of.get(matched, "")
        if family == "":
            family = next((name for name, regex in self.families if regex.fullmatch(matched)), None)
            if len(self._family_of) < 100_000:
                self._family_of[matched] = family
        return family

    def scan(self, text: str, families: Iterable[str]) -> dict[str, list[int]]:
        found: dict[str, list[int]] = {family: [] for family in families}
        for regex in (self.latin, self.arabic):
            if regex is None or (regex is self.arabic and not _ARABIC_CHAR_RE.search(text)):
                continue
            for match in regex.finditer(text):
                family = self.family_of(match.group())
                if family is not None:
                    found[family].append(match.start())
        return found


_ARABIC_CHAR_RE = re.compile("[\u0600-\u06ff]")


def _elsewhere_cues(title_hits: dict[str, list[int]], in_title: dict[str, bool], in_lead: dict[str, bool]
                    ) -> list[float]:
    """Is the headline's deal someone else's? Stories about another country's AI deal often recall
    Morocco's ("after Morocco", "على غرار المغرب", "tras el acuerdo entre Rabat y ...") in the lead, so
    Morocco, AI and a partnership all appear there; what gives them away is the headline (a deal, a
    foreign country first, no Moroccan party) and Morocco showing up only as the precedent. Cues of the
    ``precedent`` family consume the Moroccan name they contain, so such a mention is not counted as a
    Moroccan party. Returns [elsewhere_deal_in_title, headline_deal_not_moroccan,
    morocco_lead_only_as_precedent]."""
    deal_title = in_title["partnership"] or in_title.get("partner", False)
    elsewhere_title = title_hits.get("elsewhere") or []
    morocco_title = title_hits["morocco"]
    elsewhere_first = bool(elsewhere_title) and (not morocco_title or elsewhere_title[0] < morocco_title[0])
    precedent = in_title.get("precedent", False) or in_lead.get("precedent", False)
    return [
        float(deal_title and elsewhere_first),
        float(deal_title and not morocco_title and (bool(elsewhere_title) or precedent)),
        float(precedent and not in_lead["morocco"]),
    ]


class CueFeatures(BaseEstimator, TransformerMixin):
    """Dense, style-independent features from the topic lexicon (see module docstring)."""

    CORE = ("morocco", "ai", "partnership")
    #: Feature layout written by ``fit``: 1 = the original cues, 2 = plus the "someone else's deal"
    #: cues. Models saved before layout 2 have no ``layout_`` and keep producing layout 1, so an older
    #: registry version still gets exactly the columns its classifier was fitted on.
    LAYOUT = 2
    ELSEWHERE_NAMES = ("elsewhere_deal_in_title", "headline_deal_not_moroccan", "morocco_lead_only_as_precedent")

    def __init__(self, lexicon: dict[str, dict[str, list[str]]] | None = None) -> None:
        self.lexicon = lexicon

    def _compiled(self) -> CompiledLexicon:
        cache = self.__dict__.get("_regex")
        if cache is None:
            cache = CompiledLexicon(self.lexicon if self.lexicon is not None else load_lexicon())
            self.__dict__["_regex"] = cache
        return cache

    def _matches(self, text: str) -> dict[str, list[int]]:
        """Family -> start offsets of its cues in ``text``."""
        return self._compiled().scan(text, self.families_)

    def __getstate__(self) -> dict[str, Any]:  # compiled regexes are rebuilt, never serialised
        return {k: v for k, v in self.__dict__.items() if k != "_regex"}

    def fit(self, X: Any, y: Any = None) -> CueFeatures:
        if self.lexicon is None:
            self.lexicon = load_lexicon()
        self.families_ = list(self.lexicon)
        self.layout_ = self.LAYOUT
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
        if getattr(self, "layout_", 1) >= 2:
            names += list(self.ELSEWHERE_NAMES)
        return np.asarray(names, dtype=object)

    def transform(self, X: Sequence[Prepared]) -> np.ndarray:
        families = self.families_
        compiled = self._compiled()
        log1p = math.log1p
        bisect_right = bisect.bisect_right
        layout2 = getattr(self, "layout_", 1) >= 2
        out: list[list[float]] = []
        for title, lead, body in X:
            ends = [m.end() for m in _SENTENCE_END_RE.finditer(body)]
            n_sentences = len(ends) + 1
            lead_end = len(lead)
            title_hits = compiled.scan(title, families)
            body_hits = compiled.scan(body, families)
            in_title: dict[str, bool] = {}
            in_lead: dict[str, bool] = {}
            sentence_sets: dict[str, set[int]] = {}
            values: list[float] = []
            for family in families:
                positions = body_hits[family]
                titled = bool(title_hits[family])
                in_title[family] = titled
                in_lead[family] = titled or bool(positions and positions[0] < lead_end)
                found = {bisect_right(ends, p) for p in positions} if positions else set()
                if titled:
                    found.add(-1)  # the headline is a sentence of its own
                sentence_sets[family] = found
                values += [float(titled), float(in_lead[family]), log1p(len(positions))]
            # A known AI company counts as AI evidence ("Morocco in talks with OpenAI").
            partner_sentences = sentence_sets.get("partner", set())
            ma, part = sentence_sets["morocco"], sentence_sets["partnership"]
            ai = sentence_sets["ai"] | partner_sentences
            ai_title = in_title["ai"] or in_title.get("partner", False)
            ai_lead = in_lead["ai"] or in_lead.get("partner", False)
            ma_title, part_title = in_title["morocco"], in_title["partnership"]
            morocco_positions = body_hits["morocco"]
            elsewhere = len(sentence_sets.get("elsewhere", ()))
            values += [
                float(ma_title and ai_title and part_title), float(in_lead["morocco"] and ai_lead and in_lead["partnership"]),
                float(bool(ma & ai & part)), float(ma_title and ai_title), float(ma_title and part_title),
                float(ai_title and part_title), float(bool(ma & part)), float(bool(ai & part)), float(bool(ma & ai)),
                float(bool(partner_sentences & ma)), len(ma - {-1}) / n_sentences,
                morocco_positions[0] / max(len(body), 1) if morocco_positions else 1.0,
                (elsewhere - len(ma)) / n_sentences,
                # Headline-only items have far fewer active features than full articles, so their
                # scores need an offset of their own (dropping these cost 0.02-0.03 F1 on both sets).
                float(not body), float(len(body) < 300), log1p(len(body)) / 8.0,
            ]
            if layout2:
                values += _elsewhere_cues(title_hits, in_title, in_lead)
            out.append(values)
        return np.asarray(out, dtype=np.float64).reshape(len(X), -1)
