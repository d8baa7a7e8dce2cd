"""Small text helpers shared by feeds, extraction and the store: cleaning and fingerprints.

Fingerprints let us recognise an outlet republishing the same story under a new URL or GUID:
an exact key for titles and a 64-bit SimHash over word shingles for bodies, which survives
small edits (a corrected figure, a changed byline) that an exact hash would not.
"""

from __future__ import annotations

import hashlib
import html
import re
import unicodedata

import numpy as np

_TAG_RE = re.compile(r"<[^>]{0,2000}>")
_WS_RE = re.compile(r"\s+")
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b\u2028\u2029\ufeff]")
_WORD_RE = re.compile(r"\w+", re.UNICODE)
# Arabic diacritics (harakat), Quranic marks and tatweel: decorative, they must not split words.
_AR_MARKS_RE = re.compile(r"[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0640]")


def html_to_text(fragment: str | None) -> str:
    """Plain text of a feed title or summary (which may carry HTML and entities)."""
    if not fragment:
        return ""
    text = _TAG_RE.sub(" ", fragment)
    text = html.unescape(text)
    text = _CONTROL_RE.sub("", text)
    return _WS_RE.sub(" ", text).strip()


def truncate_words(text: str, limit: int) -> str:
    """Cut to at most ``limit`` characters (ellipsis included) at a word boundary, never mid-word
    unless the text is one unbroken token."""
    if len(text) <= limit:
        return text
    cut = text[: max(1, limit - 1)]
    if not text[len(cut)].isspace():
        space = cut.rfind(" ")
        if space > 0:
            cut = cut[:space]
    return cut.rstrip(" ,;:-") + "…"


def normalise_for_match(text: str) -> str:
    """Case-, accent-, punctuation- and Arabic-mark-insensitive form used for duplicate keys."""
    text = unicodedata.normalize("NFKD", text.casefold())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = _AR_MARKS_RE.sub("", text)
    return " ".join(_WORD_RE.findall(text))


def title_key(title: str) -> str | None:
    """Exact key of a headline, or None when it is too short to identify a story ("Edito", "Brèves")."""
    words = normalise_for_match(title).split()
    if len(words) < 4:
        return None
    return hashlib.sha1(" ".join(words).encode()).hexdigest()[:20]


_BITS = np.arange(64, dtype=np.uint64)


def simhash(text: str, shingle: int = 3) -> int | None:
    """64-bit SimHash over word shingles (signed, to fit a BIGINT); None for texts too short to judge."""
    words = normalise_for_match(text).split()
    if len(words) < 12:
        return None
    digests = b"".join(hashlib.blake2b(" ".join(words[i : i + shingle]).encode(), digest_size=8).digest()
                       for i in range(len(words) - shingle + 1))
    # Bit b of the fingerprint is set when more shingles have bit b set than not. Counting the bits of
    # all shingles at once in NumPy is what keeps this off the cycle's critical path (it runs per page).
    values = np.frombuffer(digests, dtype=">u8").astype(np.uint64)
    ones = ((values[:, None] >> _BITS) & np.uint64(1)).sum(axis=0)
    result = sum(1 << bit for bit in np.flatnonzero(2 * ones > len(values)).tolist())
    return result - (1 << 64) if result >= 1 << 63 else result


def hamming(a: int, b: int) -> int:
    return bin((a ^ b) & ((1 << 64) - 1)).count("1")


def near_duplicate(a: int | None, b: int | None, max_distance: int = 3) -> bool:
    return a is not None and b is not None and hamming(a, b) <= max_distance
