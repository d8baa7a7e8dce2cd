"""One name across scripts and spellings: ميسترال / Mistral, الداخلة / Dakhla, إيگودار / Igoudar,
لاركسبور / Larkspur, with or without accents and articles.

Arabic writes few vowels, so a name is compared by its consonant *skeleton*: the text transliterated
to ASCII (``anyascii``), the Arabic article dropped, the letters Arabic and the Latin languages write
differently merged (p/b, v/f, c/q/k, j/g, z/s, sh/ch/tch/tsh, kh, gh, th, ph), vowels and the
half-vowels w/y/h dropped, doubled letters collapsed. "Mistral" and "ميسترال" both give "mstrl";
"Nvidia" and "إنفيديا" give "nfd". Skeletons of two names are then compared with ``rapidfuzz``
(normalised Indel similarity) so one letter of difference (a transliteration choice) still matches.

Short skeletons say little ("Huawei" has none), so a name needs MIN_SKELETON consonants to be matched
this way; the gazetteer covers the well-known short ones in both scripts.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import lru_cache

from anyascii import anyascii
from rapidfuzz import process
from rapidfuzz.distance import Indel

from classifiers.normalise import normalise

#: Consonants a skeleton needs before it is evidence on its own.
MIN_SKELETON = 4
#: Normalised Indel similarity of two skeletons at or above which two names are one.
SAME_NAME = 0.86
_ARABIC_RE = re.compile("[\u0600-\u06ff]")
_DIGRAPHS = (("tch", "s"), ("tsh", "s"), ("sch", "s"), ("sh", "s"), ("ch", "s"), ("kh", "k"), ("gh", "g"),
             ("th", "t"), ("dh", "d"), ("ph", "f"), ("ck", "k"), ("qu", "k"), ("ou", "w"))
_LETTERS = str.maketrans({"p": "b", "v": "f", "c": "k", "q": "k", "j": "g", "g": "k", "z": "s", "x": "ks",
                          "a": None, "e": None, "i": None, "o": None, "u": None, "y": None, "w": None, "h": None,
                          "'": None, "`": None})
_NON_ALNUM_RE = re.compile(r"[^a-z0-9 ]+")
_REPEAT_RE = re.compile(r"(.)\1+")


def _strip_article(word: str) -> str:
    """An Arabic word without its article or proclitics + article (الداخلة, بالداخلة -> داخلة)."""
    for prefix in ("وبال", "وال", "بال", "فال", "لل", "ال"):
        if word.startswith(prefix) and len(word) - len(prefix) >= 3:
            return word[len(prefix):]
    return word


@lru_cache(maxsize=65536)
def skeleton_word(word: str) -> str:
    """The consonant skeleton of one word (any script)."""
    word = normalise(word)
    if _ARABIC_RE.search(word):
        word = _strip_article(word)
    ascii_word = anyascii(word).lower()
    for old, new in _DIGRAPHS:
        ascii_word = ascii_word.replace(old, new)
    ascii_word = _NON_ALNUM_RE.sub("", ascii_word.translate(_LETTERS))
    return _REPEAT_RE.sub(r"\1", ascii_word)


def skeleton(name: str) -> str:
    """The skeleton of a name of one or more words: word skeletons joined by spaces."""
    return " ".join(s for s in (skeleton_word(w) for w in re.split(r"[\s\-_/]+", name or "")) if s)


def skeleton_set(words: Iterable[str], minimum: int = MIN_SKELETON) -> set[str]:
    """The skeletons of ``words`` that are long enough to be evidence."""
    return {s for s in (skeleton_word(w) for w in words) if len(s) >= minimum}


def same_name(a: str, b: str) -> bool:
    """Whether two names are one name written differently (script, accents, transliteration).

    Names compare by skeleton: equal skeletons of three consonants or more ("nfd": Nvidia,
    إنفيديا), or similar ones (one slip) of MIN_SKELETON or more; shorter ones only by spelling.
    """
    if not a or not b:
        return False
    if normalise(a) == normalise(b):
        return True
    sa, sb = skeleton(a).replace(" ", ""), skeleton(b).replace(" ", "")
    return skeleton_match(sa, sb)


@lru_cache(maxsize=65536)
def skeleton_match(a: str, b: str) -> bool:
    """Whether two skeletons (of :func:`skeleton_word`) are one, allowing one transliteration slip."""
    if a == b:
        return len(a) >= MIN_SKELETON - 1
    if len(a) < MIN_SKELETON or len(b) < MIN_SKELETON:
        return False
    return Indel.normalized_similarity(a, b) >= SAME_NAME


def matches_any(key: str, skeletons: Sequence[str]) -> bool:
    """Whether ``key`` is one of ``skeletons`` by :func:`skeleton_match` (all at least
    MIN_SKELETON long), in one pass of rapidfuzz's C loop."""
    if len(key) < MIN_SKELETON or not skeletons:
        return False
    return process.extractOne(key, skeletons, scorer=Indel.normalized_similarity, score_cutoff=SAME_NAME) is not None
