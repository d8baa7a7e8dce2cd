"""Feature extraction: normalised fields for the n-gram models, and cue features that generalise.

N-grams learn the wording of our corpus; the cue features carry what should transfer to other
writers: whether a Moroccan party, AI and a partnership event are all mentioned, and *where*
(headline, lead, one sentence). A story that merely mentions a Moroccan AI partnership in passing
rarely puts all three in its headline or lead; a real announcement almost always does.
"""

from __future__ import annotations

import bisect
import functools
import math
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from sklearn.base import BaseEstimator, TransformerMixin

from classifiers.normalise import kept_words_regex, normalise, normalise_and_fold

TOPIC_FILE = Path(__file__).with_name("topics") / "morocco_ai.yaml"
LEAD_CHARS = 300
#: Layouts 1-2 read the headline and the first 1,000 characters only: a story whose AI words come
#: later was missed. Layout 3 reads WINDOW_CHARS, weighting each cue by its position instead.
BODY_CHARS = 1000
WINDOW_CHARS = 6000
#: The word n-grams of layout 3 read the headline twice and this much of the body.
FULL_CHARS = 1000
#: A cue at position p weighs exp(-p / POSITION_SCALE): the lead counts most, a late mention still counts.
POSITION_SCALE = 1500.0
_SENTENCE_END_RE = re.compile(r"[.!?;] | - ")  # normalised text: single spaces, no newlines

# (title, lead, body, cased title, cased body): title, lead and body normalised (lead and body are
# prefixes of the article text); the cased copies keep letter case for acronyms ("IA", "ADD").
Prepared = tuple[str, ...]

_FOLD_MARKS_RE = re.compile("[\u0300-\u036f\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0640"
                            "\u200b-\u200f\ufeff]")


def fold_cased(text: str) -> str:
    """Accent-folded, whitespace-collapsed text that keeps its case (for acronym cues)."""
    if not text:
        return ""
    if not text.isascii():
        text = _FOLD_MARKS_RE.sub("", unicodedata.normalize("NFKD", text))
    return " ".join(text.split())


def as_title_text(item: Any) -> tuple[str, str]:
    """Accept dicts with title/text, (title, text) pairs or plain strings (headline only)."""
    if isinstance(item, Mapping):
        return str(item.get("title") or ""), str(item.get("text") or "")
    if isinstance(item, (tuple, list)):
        return str(item[0] or ""), str(item[1] or "") if len(item) > 1 else ""
    return str(item or ""), ""


def prepare(item: Any, window: int | None = None, kept: re.Pattern[str] | None = None) -> Prepared:
    """Normalised fields of an item; ``window`` None is the layout-1/2 reading (1,000 characters).
    ``kept``: words whose accent stays in the cased copies (see ``normalise_and_fold``)."""
    title, text = as_title_text(item)
    if window is None:
        body = normalise(text[: BODY_CHARS + 200])[:BODY_CHARS]
        return normalise(title[:400]), body[:LEAD_CHARS], body, "", ""
    body, cased_body = normalise_and_fold(text[: window + 200], kept)
    title_n, cased_title = normalise_and_fold(title[:400], kept)
    body = body[:window]
    return title_n, body[:LEAD_CHARS], body, cased_title, cased_body[:window]


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
    """Raw items -> normalised fields (see ``Prepared``); done once, shared by all feature branches.

    ``window``: characters of the article read (None: the layout-1/2 reading, for older models).
    ``accent_kept``: words that keep their accent in the cased copies (the topic file's
    ``accent_sensitive``), copied into the model like the lexicon; older models have none."""

    def __init__(self, window: int | None = None, accent_kept: tuple[str, ...] = ()) -> None:
        self.window = window
        self.accent_kept = accent_kept

    def fit(self, X: Iterable[Any], y: Any = None) -> TextPrep:
        return self

    def transform(self, X: Iterable[Any]) -> list[Prepared]:
        window = getattr(self, "window", None)
        kept = self.__dict__.get("_kept_regex", False)
        if kept is False:
            kept = kept_words_regex(list(getattr(self, "accent_kept", ()) or ()))
            self.__dict__["_kept_regex"] = kept
        return [prepare(item, window, kept) for item in X]

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("_kept_regex", None)
        return state


class Field(BaseEstimator, TransformerMixin):
    """Select the text an n-gram branch sees: ``full`` (headline twice, then the body, cut at
    ``limit`` characters when given), ``lead`` or ``title``."""

    def __init__(self, field: str = "full", limit: int | None = None) -> None:
        self.field = field
        self.limit = limit

    def fit(self, X: Any, y: Any = None) -> Field:
        return self

    def transform(self, X: Sequence[Prepared]) -> list[str]:
        if self.field == "lead":
            return [f"{p[0]} | {p[1]}" for p in X]
        if self.field == "title":
            return [p[0] for p in X]
        limit = getattr(self, "limit", None)
        return [f"{p[0]} | {p[0]} | {p[2][:limit] if limit else p[2]}" for p in X]


def _arabic_prefixes(pattern: str) -> str:
    """Arabic attaches articles and prepositions to words (الذكاء، للذكاء، بالذكاء) and headlines
    drop them (ذكاء اصطناعي). The first word loses its article (the matcher's proclitic group puts it
    back, see :data:`ARABIC_PROCLITICS`), and later words accept ال, لل or nothing."""
    pattern = re.sub(r"^ال", "", pattern)
    return re.sub(r"(?<=\s)ال", "(?:ال|لل)?", pattern)


#: What Arabic glues before a word: a conjunction (و ف), then a preposition (ب ل ك) and/or the
#: article (ال; ل + ال is written لل). Layout-3 cues match only whole words made of these, the cue,
#: and one of :data:`ARABIC_SUFFIXES`: «سلا» (Salé) matches «وسلا», never «السلامة» (safety).
ARABIC_PROCLITICS = "(?:[وف])?(?:[بكل]?ال|لل|[بكل])?"
#: Endings that inflect a cue without changing what it names (nisba, plurals, duals, pronouns, the
#: accusative alef of «اتفاقا» or «مساعدا», but not after ة/ه, where «ها» is a pronoun: «وجدها»
#: is "found it", not Oujda).
ARABIC_SUFFIXES = "(?:يه|ين|يون|ي|ات|ان|ون|ها|هم|هما|ه|(?<!ه)ا)?"
#: For cues written ``=...`` (literal): only و and ب/ل before the word as written, nothing after. Short
#: names and names that are also words (مصر, يمن, سول) then match only as themselves («فيمن» is not Yemen).
#: A cue written ``...!`` takes every proclitic but no suffix («قطر» Qatar, never «قطرات» drops).
ARABIC_LITERAL_PROCLITICS = "(?:و)?(?:[بل])?"


def _phrases_regex(words: Iterable[str]) -> list[str]:
    """Literal phrases (country names, demonyms) as regex patterns of normalised text."""
    return [re.escape(w) for w in sorted({normalise(w) for w in words if w and w.strip()}, key=len, reverse=True)]


def _country_terms(spec: Mapping[str, Any], base: Path) -> dict[str, list[str]]:
    """The ``countries:`` entry of a family: names, demonyms and capitals of every country in a
    countries file (``home`` excluded), by script; forms marked ``ambiguous`` (Jordan, Chad, عمان...)
    are matched case-sensitively as written (Latin) or without suffixes (Arabic has no case: «قطر»
    Qatar, never «قطرات» drops)."""
    document = yaml.safe_load((base / spec["file"]).read_text(encoding="utf-8"))
    fields = spec.get("fields", ["names", "demonyms", "capitals"])
    excluded = {normalise(str(w)) for w in spec.get("exclude") or []}
    latin: set[str] = set()
    arabic: set[str] = set()
    exact: set[str] = set()
    cased: set[str] = set()
    # Names whose alef is part of the name, not the article (ألمانيا, ألباني), in every spelling:
    # stripping «ال» from «الباني» would leave «باني» (builder).
    alef_names = {normalise(str(w)) for country in document["countries"] for words in
                  (country.get(field, {}).get("ar") or [] for field in fields) for w in words
                  if str(w).startswith(("أل", "إل"))}
    for country in document["countries"]:
        if country.get("home"):
            continue
        ambiguous = {str(a) for a in country.get("ambiguous") or []}
        for field in fields:
            for lang, words in (country.get(field) or {}).items():
                for word in words or []:
                    word = str(word)
                    if normalise(word) in excluded:
                        continue
                    # A short Arabic stem (اليمن -> يمن, الهند -> هند) with clitics makes other words (فيمن).
                    short = lang == "ar" and len(re.sub("^ال", "", normalise(word)).replace(" ", "")) <= 3
                    # ألمانيا, ألباني: the alef is part of the name, not the article (الباني would give باني).
                    hamza_al = lang == "ar" and normalise(word) in alef_names
                    if word in ambiguous or short or hamza_al:
                        (exact if lang == "ar" else cased).add(word)
                    elif lang == "ar":
                        arabic.add(word)
                    else:
                        latin.add(word)
    return {"latin": _phrases_regex(latin), "ar": [_arabic_prefixes(p) for p in _phrases_regex(arabic)],
            "ar_literal": _phrases_regex(exact),
            "cased": [re.escape(fold_cased(w)) for w in sorted(cased)]}


def _party_terms(spec: Mapping[str, Any], base: Path) -> dict[str, list[str]]:
    """The ``parties:`` entry of a family: aliases, people and acronyms of the parties of a side (and
    kinds) in the topic's parties file, so the classifier knows every party the gazetteer knows.
    Acronyms, ``cased`` aliases and Latin ``ambiguous`` forms are matched case-sensitively; Arabic
    ``ambiguous`` forms and short Arabic names are matched only as written."""
    document = yaml.safe_load((base / spec["file"]).read_text(encoding="utf-8"))
    kinds = set(spec.get("kinds") or [])
    skip_kinds = set(spec.get("except_kinds") or [])
    excluded = {normalise(str(w)) for w in spec.get("exclude") or []}
    latin: set[str] = set()
    arabic: set[str] = set()
    literal: set[str] = set()
    cased: set[str] = set()
    for party in document["parties"]:
        if party.get("side") != spec.get("side", party.get("side")):
            continue
        if (kinds and party.get("kind") not in kinds) or party.get("kind") in skip_kinds:
            continue
        ambiguous = {str(a) for a in party.get("ambiguous") or []}
        for word in [*(party.get("aliases") or []), *(party.get("people") or [])]:
            word = str(word)
            if not word.strip() or normalise(word) in excluded:
                continue
            if _ARABIC_CHAR_RE.search(word):
                short = len(re.sub("^ال", "", normalise(word)).replace(" ", "")) <= 3
                # One word with its article (الرباط): without the article it is another word (رباط, a bond).
                one_word_with_article = " " not in word.strip() and normalise(word).startswith("ال")
                (literal if word in ambiguous or short or one_word_with_article else arabic).add(word)
            elif word in ambiguous or len(word) <= 3:
                cased.add(word)
            else:
                latin.add(word)
        cased.update(str(w) for w in [*(party.get("acronyms") or []), *(party.get("cased") or [])]
                     if normalise(str(w)) not in excluded)
    return {"latin": _phrases_regex(latin), "ar": [_arabic_prefixes(p) for p in _phrases_regex(arabic)],
            "ar_literal": _phrases_regex(literal), "cased": [re.escape(fold_cased(w)) for w in sorted(cased)]}


def _topic_document(path: Path) -> dict[str, Any]:
    """The parsed topic file, parsed once per version of it: every pipeline built (one per
    cross-validation fold) reads its settings, and parsing it costs tens of milliseconds."""
    stat = path.stat()
    return _parse_topic(path, stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=8)
def _parse_topic(path: Path, mtime_ns: int, size: int) -> dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def load_accent_kept(path: Path = TOPIC_FILE) -> tuple[str, ...]:
    """The topic file's ``accent_sensitive`` words (NFC): cased cues written with their accent."""
    return tuple(unicodedata.normalize("NFC", str(w)) for w in _topic_document(path).get("accent_sensitive") or [])


def load_lowercase_headline(path: Path = TOPIC_FILE) -> tuple[str, ...]:
    """The topic file's ``lowercase_headline`` forms: cased cues also read in an all-lower-case
    headline (feeds and URL slugs that lose case: "morocco and eu sign ai deals")."""
    return tuple(str(w) for w in _topic_document(path).get("lowercase_headline") or [])


def load_lexicon(path: Path = TOPIC_FILE) -> dict[str, dict[str, list[str]]]:
    """Cue families -> {"latin": [...], "ar": [...], "cased": [...]} regex patterns, normalised like
    the text (cased ones only accent-folded, except the ``accent_sensitive`` words). A family may also
    take the words of a countries file."""
    document = _topic_document(path)
    kept = set(load_accent_kept(path))

    def fold_cue(pattern: str) -> str:
        nfc = unicodedata.normalize("NFC", pattern)
        return nfc if nfc in kept else fold_cased(pattern)

    lexicon: dict[str, dict[str, list[str]]] = {}
    for family, scripts in document["cues"].items():
        arabic = [str(p) for p in scripts.get("ar", [])]
        literal = [p for p in arabic if p.startswith("=")]
        exact = [p for p in arabic if p.endswith("!") and p not in literal]
        entry = {"latin": [normalise(str(p)) for p in scripts.get("latin", [])],
                 "ar": [_arabic_prefixes(normalise(p)) for p in arabic if p not in exact and p not in literal],
                 "ar_exact": [_arabic_prefixes(normalise(p.rstrip("!"))) for p in exact],
                 "ar_literal": [normalise(p[1:].rstrip("!")) for p in literal],
                 "cased": [fold_cue(str(p)) for p in scripts.get("cased", [])]}
        extra = []
        if scripts.get("countries"):
            extra.append(_country_terms(scripts["countries"], path.parent))
        for spec in scripts.get("parties") or []:
            extra.append(_party_terms(spec, path.parent))
        for terms in extra:
            for script, patterns in terms.items():
                known = set(entry.get(script, []))
                entry[script] = entry.get(script, []) + [p for p in patterns if p not in known]
        lexicon[family] = entry
    return lexicon


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


_ARTICLE_GROUP = "(?:ال|لل)?"
_META = set("()[].*+?{}|^$\\")


def _literals_of(pattern: str) -> list[str] | None:
    """The plain strings a pattern stands for, when it is a literal (escaped punctuation allowed, and
    the optional Arabic article of later words expanded); None for a real regular expression."""
    variants = [pattern]
    while any(_ARTICLE_GROUP in v for v in variants):
        variants = [v.replace(_ARTICLE_GROUP, option, 1) for v in variants for option in ("", "ال", "لل")]
        if len(variants) > 27:
            return None
    out = []
    for variant in variants:
        chars, index = [], 0
        while index < len(variant):
            char = variant[index]
            if char == "\\" and index + 1 < len(variant) and not variant[index + 1].isalnum():
                chars.append(variant[index + 1])
                index += 2
                continue
            if char in _META:
                return None
            chars.append(char)
            index += 1
        out.append("".join(chars))
    return out


def _literal_prefix(pattern: str) -> tuple[str, str]:
    """(plain text the pattern starts with, the regular expression that follows): ``signe(?:nt)?``
    -> ("signe", "(?:nt)?"); ``partners?`` -> ("partner", "s?") (a quantifier keeps its character)."""
    chars: list[str] = []
    raw_ends: list[int] = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\" and index + 1 < len(pattern) and not pattern[index + 1].isalnum():
            chars.append(pattern[index + 1])
            index += 2
        elif char in _META:
            break
        else:
            chars.append(char)
            index += 1
        raw_ends.append(index)
    rest = pattern[index:]
    if rest[:1] in ("?", "*", "+", "{") and chars:
        chars.pop()
        raw_ends.pop()
        rest = pattern[raw_ends[-1] if raw_ends else 0:]
    return "".join(chars), rest


def _trie_regex(entries: Iterable[tuple[str, str]]) -> str:
    """One regex for many patterns, shaped as the character trie of their plain prefixes: the engine
    follows one branch per character instead of trying thousands of alternatives one after the other
    (the countries and parties files add several thousand names). Each entry is (prefix, rest of the
    pattern); longer continuations are tried first, so the longest match wins."""
    trie: dict[str, Any] = {}
    for prefix, rest in entries:
        node = trie
        for char in prefix:
            node = node.setdefault(char, {})
        node.setdefault("", set()).add(rest)

    def build(node: dict[str, Any]) -> str:
        rests: set[str] = node.get("", set())
        branches = [re.escape(char) + build(child) for char, child in sorted(node.items()) if char]
        branches += sorted((r for r in rests if r), key=len, reverse=True)
        if not branches:
            return ""
        optional = "" in rests
        if len(branches) == 1 and not optional:
            single = branches[0]
            return single if not single or single[0] != "|" else f"(?:{single})"
        return "(?:" + "|".join(branches) + (")?" if optional else ")")

    return build(trie)


def _first_char_alternation(patterns: Iterable[str]) -> str:
    """All patterns in one trie of their plain prefixes (:func:`_trie_regex`): at each position of
    the text the regex engine then checks one character at a time instead of trying every pattern.
    Patterns that do not start with a plain character (an escape, an optional group) stay whole."""
    entries: list[tuple[str, str]] = []
    whole: list[str] = []
    for pattern in {q for p in patterns for q in _split_leading_group(p)}:
        found = _literals_of(pattern)
        if found is not None:
            entries += [(word, "") for word in found if word]
            continue
        prefix, rest = _literal_prefix(pattern)
        if prefix:
            entries.append((prefix, rest))
        else:
            whole.append(pattern)
    trie = _trie_regex(entries)
    return "|".join(([trie] if trie else []) + sorted(whole, key=len, reverse=True))


class CompiledLexicon:
    """The lexicon as scanning regexes (Latin on normalised text with word boundaries; Arabic; cased
    acronyms on case-kept text) plus per-family regexes telling which family a match belongs to.

    ``whole_words``: Arabic cues match whole words only, with the affixes Arabic attaches (layout 3);
    older models matched them as substrings and keep doing so."""

    def __init__(self, lexicon: dict[str, dict[str, list[str]]], whole_words: bool = False,
                 lowercase_headline: Iterable[str] = ()) -> None:
        latin = [p for scripts in lexicon.values() for p in scripts["latin"]]
        arabic = [p for scripts in lexicon.values() for p in scripts["ar"]]
        exact = [p for scripts in lexicon.values() for p in scripts.get("ar_exact", [])]
        literal = [p for scripts in lexicon.values() for p in scripts.get("ar_literal", [])]
        cased = [p for scripts in lexicon.values() for p in scripts.get("cased", [])]
        self.whole_words = whole_words

        def arabic_regex(inflected: list[str], fixed: list[str], literal: list[str],
                         alternation: Callable[[list[str]], str]) -> re.Pattern[str] | None:
            if not inflected and not fixed and not literal:
                return None
            if not whole_words:
                return re.compile(alternation(inflected + fixed + literal))
            branches = ([f"(?:{alternation(inflected)}){ARABIC_SUFFIXES}"] if inflected else []) + \
                ([f"(?:{alternation(fixed)})"] if fixed else [])
            parts = [f"{ARABIC_PROCLITICS}(?:{'|'.join(branches)})"] if branches else []
            if literal:
                parts.append(f"{ARABIC_LITERAL_PROCLITICS}(?:{alternation(literal)})")
            return re.compile(f"\\b(?=[\u0600-\u06ff])(?:{'|'.join(parts)})(?!\\w)")

        def plain(patterns: list[str]) -> str:
            return _first_char_alternation(patterns)

        # The lookaheads cost nothing and spare the engine the alternation at positions where no cue
        # can start (measured: a third of the scan time).
        self.latin = re.compile(rf"\b(?=[0-9a-z'(])(?:{_first_char_alternation(latin)})\b") if latin else None
        self.arabic = arabic_regex(arabic, exact, literal, _first_char_alternation)
        # Cased cues all start with a capital or a digit: other word starts fail at the lookahead.
        self.cased = re.compile(rf"\b(?=[A-Z0-9])(?:{_first_char_alternation(cased)})\b") if cased else None
        self.families = [(family, re.compile(plain(scripts["latin"])) if scripts["latin"] else None,
                          arabic_regex(scripts["ar"], scripts.get("ar_exact", []), scripts.get("ar_literal", []), plain),
                          re.compile(plain(scripts["cased"])) if scripts.get("cased") else None)
                         for family, scripts in lexicon.items()]
        self._family_of: tuple[dict[str, str | None], ...] = ({}, {}, {}, {})
        # Cased cues that an all-lower-case headline still spells (see ``lift_lowercase``).
        self._lifts = {form.lower(): form for form in lowercase_headline}
        self._lift_re = (re.compile(r"(?<!\w)(?<!j')(" + "|".join(
            re.escape(f) for f in sorted(self._lifts, key=len, reverse=True)) + r")(?!\w)")
            if self._lifts else None)

    def lift_lowercase(self, cased_title: str) -> str:
        """An all-lower-case headline with its acronym cues restored ("ai" -> "AI"), so a feed or slug
        that lost case still shows AI in the headline; headlines with any capital are left alone (there
        "ai" or "add" is a word, not the acronym). Same length, so offsets are unchanged."""
        if self._lift_re is None or cased_title == cased_title.upper() or cased_title != cased_title.lower():
            return cased_title
        return self._lift_re.sub(lambda m: self._lifts[m.group(1)], cased_title)

    def family_of(self, matched: str, script: int) -> str | None:
        """The family of a matched string; ``script`` 1 = Latin, 2 = Arabic, 3 = cased."""
        cache = self._family_of[script]
        family = cache.get(matched, "")
        if family == "":
            family = next((entry[0] for entry in self.families
                           if entry[script] is not None and entry[script].fullmatch(matched)), None)
            if len(cache) < 100_000:
                cache[matched] = family
        return family

    def scan(self, text: str, families: Iterable[str], cased_text: str = "") -> dict[str, list[int]]:
        found: dict[str, list[int]] = {family: [] for family in families}
        for script, regex, source in ((1, self.latin, text), (2, self.arabic, text), (3, self.cased, cased_text)):
            if regex is None or not source or (script == 2 and not _ARABIC_CHAR_RE.search(source)):
                continue
            cache = self._family_of[script]
            for match in regex.finditer(source):
                matched = match.group()
                family = cache.get(matched, "")
                if family == "":
                    family = self.family_of(matched, script)
                if family is not None:
                    positions = found.get(family)
                    if positions is not None:
                        positions.append(match.start())
        if cased_text:  # cased matches come last; keep every family's positions in order
            for positions in found.values():
                if len(positions) > 1:
                    positions.sort()
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
    #: cues, 3 = whole-word Arabic cues, acronyms, the article read to WINDOW_CHARS with cues weighted by
    #: position, and the families of the real-text review (deal vs generic cooperation, AI companies vs
    #: other tech partners, denials, rankings). Models saved before layout 2 have no ``layout_`` and keep
    #: producing layout 1, so an older registry version still gets exactly the columns it was fitted on.
    LAYOUT = 3
    ELSEWHERE_NAMES = ("elsewhere_deal_in_title", "headline_deal_not_moroccan", "morocco_lead_only_as_precedent")

    def __init__(self, lexicon: dict[str, dict[str, list[str]]] | None = None, layout: int | None = None,
                 lowercase_headline: tuple[str, ...] = ()) -> None:
        self.lexicon = lexicon
        self.layout = layout  # None: the newest (LAYOUT); an older one to reproduce an earlier model
        #: cased cues read in an all-lower-case headline too (the topic file's ``lowercase_headline``);
        #: copied into the model like the lexicon, none in older models.
        self.lowercase_headline = lowercase_headline

    def _compiled(self) -> CompiledLexicon:
        cache = self.__dict__.get("_regex")
        if cache is None:
            cache = CompiledLexicon(self.lexicon if self.lexicon is not None else load_lexicon(),
                                    whole_words=getattr(self, "layout_", 1) >= 3,
                                    lowercase_headline=getattr(self, "lowercase_headline", ()) or ())
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
        self.layout_ = getattr(self, "layout", None) or self.LAYOUT
        self.__dict__.pop("_regex", None)
        self._compiled()
        return self

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        if getattr(self, "layout_", 1) >= 3:
            return np.asarray(_v3_names(self.families_), dtype=object)
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
        if getattr(self, "layout_", 1) >= 3:
            rows = [_v3_row(compiled, families, p) for p in X]
            return np.asarray(rows, dtype=np.float64).reshape(len(X), -1)
        log1p = math.log1p
        bisect_right = bisect.bisect_right
        layout2 = getattr(self, "layout_", 1) >= 2
        out: list[list[float]] = []
        for title, lead, body, *_ in X:
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


# --- layout 3 ---------------------------------------------------------------------------------------

#: Families layout 3 reads by name (others in the lexicon get their generic columns only).
V3_FAMILIES = ("morocco_country", "morocco", "ai", "deal", "coop", "ai_company", "tech_partner", "elsewhere", "recap", "intent",
               "precedent", "denial", "ranking", "forum")
V3_COMBINED = (
    "all3_in_title", "all3_in_lead", "all3_in_one_sentence", "all3_in_early_sentence", "all3_weight",
    "morocco_ai_in_title", "morocco_deal_in_title", "ai_deal_in_title", "morocco_deal_sentence",
    "ai_deal_sentence", "morocco_ai_sentence", "ai_company_morocco_sentence", "tech_partner_without_ai",
    "deal_in_title", "coop_without_deal", "intent_without_headline_deal", "denial_near_deal",
    "ranking_in_headline_or_lead", "no_morocco_anywhere", "no_ai_anywhere", "ai_only_late",
    "morocco_sentence_share", "morocco_first_position", "elsewhere_over_morocco", "headline_only",
    "short_item", "log_length", "elsewhere_deal_in_title", "headline_deal_not_moroccan",
    "morocco_lead_only_as_precedent", "headline_deal_foreign_only", "forum_in_headline_or_lead",
    "forum_without_headline_deal", "moroccan_party_in_title", "moroccan_party_in_lead",
)


def _v3_names(families: Sequence[str]) -> list[str]:
    names: list[str] = []
    for family in families:
        names += [f"{family}_in_title", f"{family}_in_lead", f"{family}_count", f"{family}_weight"]
    return names + list(V3_COMBINED)


def _v3_row(compiled: CompiledLexicon, families: Sequence[str], prepared: Prepared) -> list[float]:
    """One article's layout-3 features: each family in the headline, in the lead, how often, and how
    early (exp(-position / POSITION_SCALE) summed, so a late mention counts a little); then what the
    guideline asks together, in the headline, the lead or one sentence."""
    title, lead, body, ctitle, cbody = prepared
    ctitle = compiled.lift_lowercase(ctitle)
    ends = [m.end() for m in _SENTENCE_END_RE.finditer(body)]
    n_sentences = len(ends) + 1
    lead_end = len(lead)
    # One scan of headline and body together (the separator stops any cue spanning both).
    start = len(title) + 3
    both = compiled.scan(f"{title} \n {body}", families, f"{ctitle} \n {cbody}" if cbody or ctitle else "")
    title_hits: dict[str, list[int]] = {}
    body_hits: dict[str, list[int]] = {}
    for family, positions in both.items():
        cut = bisect.bisect_left(positions, start)
        title_hits[family] = positions[:cut]
        body_hits[family] = [p - start for p in positions[cut:]] if cut < len(positions) else []
    # "morocco" is any Moroccan mention (a specific party, or Morocco itself); the specific parties
    # alone tell a Moroccan deal from a foreign one retold "for Moroccan readers".
    party_title = bool(title_hits.get("morocco"))
    party_lead = party_title or any(p < len(lead) for p in body_hits.get("morocco", ()))
    if "morocco_country" in both:
        for hits in (title_hits, body_hits):
            hits["morocco"] = sorted(hits["morocco"] + hits["morocco_country"])
    bisect_right, log1p, exp = bisect.bisect_right, math.log1p, math.exp
    in_title: dict[str, bool] = {}
    in_lead: dict[str, bool] = {}
    sentences: dict[str, set[int]] = {}
    first: dict[str, int] = {}
    values: list[float] = []
    for family in families:
        positions = body_hits[family]
        titled = bool(title_hits[family])
        in_title[family] = titled
        if not positions:  # most families, most of the time
            in_lead[family] = titled
            sentences[family] = {-1} if titled else set()
            first[family] = -1
            values += [float(titled), float(titled), 0.0, 0.4 if titled else 0.0]
            continue
        in_lead[family] = titled or positions[0] < lead_end
        found = {bisect_right(ends, p) for p in positions}
        if titled:
            found.add(-1)  # the headline is a sentence of its own
        sentences[family] = found
        first[family] = positions[0]
        weight = sum(exp(-p / POSITION_SCALE) for p in positions[:50]) + (2.0 if titled else 0.0)
        values += [float(titled), float(in_lead[family]), log1p(len(positions)), min(weight, 5.0) / 5.0]

    def get(table: dict, family: str, default: Any) -> Any:
        return table.get(family, default)

    empty: set[int] = set()
    ma, deal = sentences["morocco"], sentences["deal"]
    # AI evidence: AI words, or a company whose business is AI. A cloud, telecom or database vendor
    # (tech_partner) is not AI by itself.
    ai = sentences["ai"] | get(sentences, "ai_company", empty)
    ai_title = in_title["ai"] or get(in_title, "ai_company", False)
    ai_lead = in_lead["ai"] or get(in_lead, "ai_company", False)
    ma_title, deal_title = in_title["morocco"], in_title["deal"]
    all3 = ma & ai & deal
    # Sentence index of character 1,000: "early" sentences start before it.
    early = bisect_right(ends, 1000)
    ai_positions = [p for fam in ("ai", "ai_company") for p in body_hits.get(fam, [])]
    all3_weight = sum(exp(-(ends[i - 1] if i > 0 else 0) / POSITION_SCALE) for i in all3 if i >= 0)
    tech = get(sentences, "tech_partner", empty)
    elsewhere = len(get(sentences, "elsewhere", empty))
    denial = get(sentences, "denial", empty)
    intent_lead = get(in_title, "intent", False) or get(in_lead, "intent", False)
    coop_lead = get(in_title, "coop", False) or get(in_lead, "coop", False)
    values += [
        float(ma_title and ai_title and deal_title),
        float(in_lead["morocco"] and ai_lead and in_lead["deal"]),
        float(bool(all3)),
        float(any(i < early for i in all3)),
        min(all3_weight + (1.0 if -1 in all3 else 0.0), 3.0) / 3.0,
        float(ma_title and ai_title), float(ma_title and deal_title), float(ai_title and deal_title),
        float(bool(ma & deal)), float(bool(ai & deal)), float(bool(ma & ai)),
        float(bool(get(sentences, "ai_company", empty) & ma)),
        float(bool(tech & ma) and not bool(sentences["ai"] & (tech | ma))),
        float(deal_title),
        float(coop_lead and not (in_title["deal"] or in_lead["deal"])),
        float(intent_lead and not deal_title),
        float(bool(denial) and bool(denial & (deal | ai | {-1}))),
        float(get(in_title, "ranking", False) or get(in_lead, "ranking", False)),
        float(not ma),
        float(not ai),
        float(bool(ai_positions) and min(ai_positions) > 1000 and not ai_title),
        len(ma - {-1}) / n_sentences,
        first["morocco"] / max(len(body), 1) if first["morocco"] >= 0 else 1.0,
        (elsewhere - len(ma)) / n_sentences,
        float(not body), float(len(body) < 300), log1p(len(body)) / 9.0,
    ]
    values += _elsewhere_cues(title_hits, {**in_title, "partnership": deal_title},
                              {**in_lead, "partnership": in_lead["deal"]})
    # A deal between named foreign parties in the headline, no Moroccan party in the headline or the
    # lead: someone else's deal, even when the body muses on what it means for Morocco.
    foreign_title = get(in_title, "ai_company", False) or get(in_title, "tech_partner", False) or \
        get(in_title, "elsewhere", False)
    forum_lead = get(in_title, "forum", False) or get(in_lead, "forum", False)
    values += [float(deal_title and foreign_title and not ma_title and not party_lead),
               float(forum_lead), float(forum_lead and not deal_title), float(party_title), float(party_lead)]
    return values
