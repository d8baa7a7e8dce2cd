"""Text normalisation shared by training, prediction and the cue lexicon.

Folds case and Latin accents (é -> e, ç -> c, ñ -> n, so "mémorandum" and "memorandum" meet),
strips Arabic diacritics and tatweel, and unifies the Arabic letter forms that writers and
keyboards vary (أ إ آ -> ا, ؤ -> و, ئ -> ي, ى -> ي, ة -> ه, Persian ی ک -> ي ك, presentation-form
ligatures -> letters). It runs on every article at prediction time, so it is built from C-level
string operations: Unicode NFKD decomposition (which turns أ into ا + a combining hamza, é into
e + a combining accent) followed by one regex deleting the combining marks, then a handful of
``str.replace`` calls. A per-character translation table was six times slower.
"""

from __future__ import annotations

import re
import unicodedata

# Combining marks left by NFKD (Latin accents) and Arabic harakat, Quranic marks, superscript alef
# and tatweel: decorative, they must not split words.
_MARKS_RE = re.compile("[\u0300-\u036f\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0640\u200b-\u200f\ufeff]")
_REPLACEMENTS = (
    ("ى", "ي"), ("ة", "ه"), ("ی", "ي"), ("ک", "ك"), ("ۀ", "ه"), ("ٱ", "ا"),
    ("’", "'"), ("‘", "'"), ("ʼ", "'"), ("«", '"'), ("»", '"'), ("“", '"'), ("”", '"'),
    ("–", "-"), ("—", "-"), ("œ", "oe"), ("æ", "ae"), ("ß", "ss"), ("ø", "o"), ("ł", "l"), ("đ", "d"),
    ("،", ","), ("؛", ";"), ("؟", "?"),
)
_DIGITS_RE = re.compile("[\u0660-\u0669\u06f0-\u06f9]")
_DIGITS = {chr(0x0660 + i): str(i) for i in range(10)} | {chr(0x06F0 + i): str(i) for i in range(10)}
_SENTENCE_RE = re.compile(r"(?<=[.!?])\s+")


def normalise(text: str) -> str:
    """Lower-case, accent-folded, Arabic-unified text with collapsed whitespace."""
    if not text:
        return ""
    text = text.lower()
    if not text.isascii():
        text = _MARKS_RE.sub("", unicodedata.normalize("NFKD", text))
        text = _unify(text)
    return " ".join(text.split())


def _unify(text: str) -> str:
    for old, new in _REPLACEMENTS:
        if old in text:
            text = text.replace(old, new)
    if _DIGITS_RE.search(text):
        text = _DIGITS_RE.sub(lambda m: _DIGITS[m.group()], text)
    return text


def normalise_and_fold(text: str, kept: re.Pattern[str] | None = None) -> tuple[str, str]:
    """(``normalise(text)``, the same text with its case kept: accents and marks folded, whitespace
    collapsed), decomposing the text once for both (the classifier needs both for every article).

    ``kept`` (one capturing group) names words whose accent is what tells them apart, such as the
    city «Salé» beside the English "sale": they keep their accent in the cased copy, so a cased cue
    written with it matches only them. The normalised copy folds them like any word."""
    if not text:
        return "", ""
    if text.isascii():
        folded = " ".join(text.split())
        return folded.lower(), folded
    folded = " ".join(_MARKS_RE.sub("", unicodedata.normalize("NFKD", text)).split())
    cased = folded
    if kept is not None and kept.search(text := unicodedata.normalize("NFC", text)):
        pieces = kept.split(text)
        cased = " ".join("".join(piece if index % 2 else _MARKS_RE.sub("", unicodedata.normalize("NFKD", piece))
                                 for index, piece in enumerate(pieces)).split())
    return " ".join(_unify(folded.lower()).split()), cased


def kept_words_regex(words: list[str]) -> re.Pattern[str] | None:
    """The ``kept`` pattern of :func:`normalise_and_fold` for these words (NFC, whole words, case kept)."""
    forms = sorted({unicodedata.normalize("NFC", w) for w in words if w.strip()}, key=len, reverse=True)
    if not forms:
        return None
    return re.compile(r"(?<!\w)(" + "|".join(re.escape(f) for f in forms) + r")(?!\w)")


def sentences(normalised: str) -> list[str]:
    """Rough sentence split of normalised text."""
    return [s for s in _SENTENCE_RE.split(normalised) if s.strip()]
