"""A tiny language guesser for the four languages we watch (fr, ar, en, es).

trafilatura only reports a language when a page declares one, and feeds often lie (a French
outlet's English edition tagged ``fr``). Script counts settle Arabic; function words settle the
three Latin-script languages. No model download, microseconds per article.
"""

from __future__ import annotations

import re

_ARABIC_RE = re.compile(r"[\u0600-\u06ff\u0750-\u077f\ufb50-\ufdff\ufe70-\ufeff]")
_LATIN_RE = re.compile(r"[A-Za-z\u00c0-\u024f]")
_WORD_RE = re.compile(r"[a-zà-ÿ']+")

_STOPWORDS = {
    "fr": set("le la les des du de un une et est dans pour que qui sur avec par au aux ce cette il elle "
              "ont été sont pas plus ses leur entre selon aussi mais où".split()),
    "en": set("the and of to in is for that on with as by at from it this are was be has have an "
              "which will its their said were been after".split()),
    "es": set("el la los las del de un una y es en para que por con se su al lo como más pero "
              "sus está han sido entre según también".split()),
}


def detect_language(text: str, hint: str | None = None) -> str | None:
    """Best guess among fr/ar/en/es, or ``hint`` (the feed's language) when the text says too little."""
    sample = text[:5000]
    arabic = len(_ARABIC_RE.findall(sample))
    latin = len(_LATIN_RE.findall(sample))
    if arabic + latin == 0:
        return hint
    if arabic > latin:
        return "ar"
    words = _WORD_RE.findall(sample.lower())
    scores = {lang: sum(1 for w in words if w in stop) for lang, stop in _STOPWORDS.items()}
    best = max(scores, key=lambda lang: scores[lang])
    if scores[best] < 2:
        return hint
    ranked = sorted(scores.values(), reverse=True)
    if hint in scores and ranked[0] - scores[hint] <= 1:
        return hint
    return best
