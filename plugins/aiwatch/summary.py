"""Extractive summaries for alerts: two or three whole sentences of the article, in its language.

Built locally (no network model). Sentences are chosen for what they share with the headline and
for coming early (news puts the facts first), then shown in their original order. A summary never
cuts a word or a sentence: when sentences are too long for the budget, fewer are used; when even
the first usable one is too long, the feed's summary or the headline stands in.
"""

from __future__ import annotations

import re

from aiwatch.textutil import normalise_for_match, truncate_words

# Sentence ends: . ! ? and their Arabic/CJK forms, followed by space; not after common abbreviations
# or initials ("M. Mensch", "U.S."), and not inside numbers ("3.5").
_SENTENCE_END_RE = re.compile(r"(?<=[.!?؟。…])[\"'»”)]*\s+")
_ABBREVIATION_RE = re.compile(r"(?:\b(?:M|Mme|Mr|Mrs|Ms|Dr|Pr|St|No|art|av|cf|etc|vs|Sr|Sra|Inc|Ltd|Co|Jr)|\b[A-Z])\.$")
_MIN_SENTENCE_CHARS = 40


def split_sentences(text: str) -> list[str]:
    """Sentences of a paragraph-structured text, abbreviation- and initial-aware."""
    sentences: list[str] = []
    for paragraph in re.split(r"\n+", text or ""):
        pending = ""
        for piece in _SENTENCE_END_RE.split(paragraph.strip()):
            if not piece:
                continue
            pending = f"{pending} {piece}".strip() if pending else piece.strip()
            if _ABBREVIATION_RE.search(pending):
                continue  # "M." or an initial: the sentence goes on
            sentences.append(pending)
            pending = ""
        if pending:
            sentences.append(pending)
    return [s for s in (" ".join(s.split()) for s in sentences) if s]


_FINISHED_RE = re.compile(r"[.!?؟。…][\"'»”)]*$")


def _restates(sentence_key: str, title_key: str) -> bool:
    """The headline again (pages repeat it above the body): no news for a summary under that headline."""
    if not title_key:
        return False
    return sentence_key == title_key or (sentence_key in title_key) or (
        title_key in sentence_key and len(sentence_key) - len(title_key) < 15)


def summarise(title: str, text: str, feed_summary: str = "", *, max_sentences: int = 3,
              max_chars: int = 600) -> str:
    """2-3 whole sentences (at most ``max_chars``), or the best whole fallback; never empty if the
    headline is not."""
    title_key = normalise_for_match(title)
    title_words = set(title_key.split())
    candidates = [s for s in split_sentences(text) if len(s) >= _MIN_SENTENCE_CHARS
                  and not _restates(normalise_for_match(s), title_key)]
    # A line without a final stop is a heading, kicker or byline that extraction kept: only a last resort.
    finished = [s for s in candidates if _FINISHED_RE.search(s)]
    candidates = finished or candidates
    scored = []
    for index, sentence in enumerate(candidates[:40]):
        words = set(normalise_for_match(sentence).split())
        overlap = len(words & title_words) / (len(title_words) or 1)
        scored.append((overlap + 1.0 / (1 + index), index, sentence))
    chosen: list[tuple[int, str]] = []
    used = 0
    for _, index, sentence in sorted(scored, key=lambda item: -item[0]):
        if len(chosen) == max_sentences:
            break
        extra = len(sentence) + (1 if chosen else 0)
        if used + extra > max_chars:
            continue
        chosen.append((index, sentence))
        used += extra
    if chosen:
        return " ".join(sentence for _, sentence in sorted(chosen))
    for fallback in split_sentences(feed_summary):
        if len(fallback) <= max_chars:
            return fallback
    return truncate_words(title, max_chars)
