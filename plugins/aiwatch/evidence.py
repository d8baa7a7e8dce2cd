"""What one report says about its partnership, in a form that compares across languages and scripts.

Two reports of one deal rarely share words (one is in Arabic, one in English), but they share facts:
the parties (Mistral AI and ميسترال are one entry of the gazetteer), descriptions of a party the other
report names ("la start-up américaine" where the other says "Larkspur Speech", an American company),
figures ("500 MW", "مليار درهم"), names nobody listed ("Igoudar", «إيگودار»), and the time. An
:class:`Evidence` holds these facts for one report; :mod:`aiwatch.events` compares two of them.

Reading the parties:

* a mention weighs by place: the headline counts most (TITLE_WEIGHT), then the lead with a weight
  halving every LEAD_HALF_LIFE characters; later mentions only say the party is *present*;
* the *main* parties of each side are those named in the headline when it names any, weighing at
  least MAIN_SHARE of the best; a foreign state gives way to an organisation named alongside it
  ("la France et Mistral AI" -> Mistral AI), a city (a place) to any other Moroccan party;
* a nationality is never a party: "la start-up américaine", "US cloud provider", «شركة ناشئة
  أمريكية» are *descriptions* (country, class), kept when no party of the report has that country;
  next to a name ("la française Mistral AI", «ميسترال» الفرنسية) they only qualify it. A country
  name qualifying an organisation ("Abu Dhabi's G42", "US start-up") is a description too; a
  country standing alone ("le Maroc et la France signent") is a party. "The French government"
  is the state France.

Everything is plain data, serialisable to JSON (:meth:`Evidence.to_json`), so the store keeps each
placed report's evidence and later cycles compare new reports with it without re-reading texts.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property, lru_cache
from typing import Any

from aiwatch import discovery, kinds, quantities, translit
from aiwatch.gazetteer import DEMONYM, NOUN, Entry, Gazetteer, Span, fold_cased
from classifiers.normalise import normalise

#: Bumped whenever the reading below changes: stored evidence of another revision is read again.
REVISION = 1
TITLE_WEIGHT = 4.0
LEAD_WEIGHT = 2.0
LEAD_HALF_LIFE = 500.0
#: Where a party can still be main; later, a mention only says the party is present.
LEAD_CHARS = 1500
#: How far the body is read for presence.
BODY_CHARS = 5000
PRESENT_WEIGHT = 0.05
#: A party is main on its side when it weighs at least this share of the side's best.
MAIN_SHARE = 0.5
#: Ambiguous forms (a city that is also a common word) weigh this share of a plain mention.
WEAK_SHARE = 0.3
#: Characters between a nationality and the noun or name it qualifies.
QUALIFY_GAP = 24
SIGNATURE_LEAD_CHARS = 600
_WORD_RE = re.compile(r"\w+")
_ARABIC_WORD_RE = re.compile(r"[\u0600-\u06ff]{4,}")
_LONG_VOWELS = frozenset("اوي")
# Between a country and the organisation it qualifies: "'s", "-based", or nothing ("US start-up").
_QUALIFIER_GAP_RE = re.compile(r"^(?:'s|-based|-born|'s\s+\w+|\s+\w+)?\s*$")
# Function words of the four languages (language data, not topic data: the topic's own common words
# come from the gazetteer file).
STOPWORDS = frozenset(normalise("""
le la les de des du un une et en au aux a à ce ces cet cette se sa son ses ne pas ou où qui que qu
d l s n y est sont été être ont avec pour par sur dans plus mais comme leur leurs entre dont lors
the of to in on an is as at by be it or but not which who also its said says after two had has have
was were are will been their than this that these those from with for and into about over under
el los las lo al es se su sus un una más sobre con por para del que como este esta estos estas
في من على إلى الى عن مع أن ان التي الذي الذين هذا هذه ذلك تلك كما بين حول خلال بعد قبل عبر وقد قد
كان كانت لم ما أو او ثم حيث وذلك إلى أي اي وهو وهي هو هي عن منذ يوم
""").split())


@dataclass(frozen=True)
class Evidence:
    """The facts of one report (see the module docstring).

    ``parties``: party name -> weight (every party found, generic ones included); ``main``: the
    main parties of both sides, best first; ``descriptors``: (country, class) of parties the report
    describes without naming; ``names``: unknown name-like strings as written; ``name_keys``: their
    word skeletons; ``script_keys``: skeletons of every Arabic word of headline and lead (an Arabic
    report writes foreign names in Arabic letters without marking them); ``figures``: "500 MW";
    ``organisations``: unknown organisations fit for a headline; ``subject``: an unknown Moroccan
    organisation that is the headline's subject.
    """

    seen_at: datetime
    lang: str
    kind: str
    parties: Mapping[str, float] = field(default_factory=dict)
    main: tuple[str, ...] = ()
    title_parties: tuple[str, ...] = ()
    descriptors: tuple[tuple[str, str], ...] = ()
    names: tuple[str, ...] = ()
    name_keys: frozenset[str] = frozenset()
    script_keys: frozenset[str] = frozenset()
    figures: frozenset[str] = frozenset()
    organisations: tuple[str, ...] = ()
    subject: str | None = None
    signature: str = ""
    body_chars: int = 0
    revision: int = REVISION

    # Sets the comparison asks of every pair (computed once per report; not fields: equality and
    # the stored form ignore them).
    @cached_property
    def main_set(self) -> frozenset[str]:
        return frozenset(self.main)

    @cached_property
    def party_set(self) -> frozenset[str]:
        return frozenset(self.parties)

    @cached_property
    def key_pool(self) -> frozenset[str]:
        return self.name_keys | self.script_keys

    @cached_property
    def long_keys(self) -> tuple[str, ...]:
        return tuple(sorted(k for k in self.key_pool if len(k) >= translit.MIN_SKELETON))

    # --- serialisation ---------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        return {"rev": self.revision, "seen_at": self.seen_at.isoformat(), "lang": self.lang, "kind": self.kind,
                "parties": {k: round(v, 3) for k, v in self.parties.items()}, "main": list(self.main),
                "title_parties": list(self.title_parties), "descriptors": [list(d) for d in self.descriptors],
                "names": list(self.names), "name_keys": sorted(self.name_keys),
                "script_keys": sorted(self.script_keys), "figures": sorted(self.figures),
                "organisations": list(self.organisations), "subject": self.subject, "signature": self.signature,
                "body_chars": self.body_chars}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Evidence:
        """The evidence stored by :meth:`to_json`; ValueError when it is of another revision."""
        if data.get("rev") != REVISION:
            raise ValueError(f"evidence of revision {data.get('rev')!r}, not {REVISION}")
        return cls(seen_at=datetime.fromisoformat(data["seen_at"]), lang=data.get("lang") or "",
                   kind=data.get("kind") or "partnership", parties=dict(data.get("parties") or {}),
                   main=tuple(data.get("main") or ()), title_parties=tuple(data.get("title_parties") or ()),
                   descriptors=tuple(tuple(d) for d in data.get("descriptors") or ()),  # type: ignore[misc]
                   names=tuple(data.get("names") or ()), name_keys=frozenset(data.get("name_keys") or ()),
                   script_keys=frozenset(data.get("script_keys") or ()), figures=frozenset(data.get("figures") or ()),
                   organisations=tuple(data.get("organisations") or ()), subject=data.get("subject"),
                   signature=data.get("signature") or "", body_chars=int(data.get("body_chars") or 0))


@dataclass
class _Reading:
    weights: Counter[str] = field(default_factory=Counter)
    in_title: set[str] = field(default_factory=set)
    weak_only: set[str] = field(default_factory=set)
    strong: set[str] = field(default_factory=set)
    descriptors: list[tuple[str, str]] = field(default_factory=list)


def analyse(g: Gazetteer, title: str, text: str, *, seen_at: datetime, lang: str | None = None,
            outlet: str = "") -> Evidence:
    """The evidence of one report (headline ``title``, body ``text``)."""
    title = " ".join((title or "").split())
    body = (text or "")[:BODY_CHARS]
    reading = _Reading()
    for segment, is_title in ((title, True), (body, False)):
        cased = fold_cased(segment)
        normalised = normalise(cased)
        spans = g.spans_of(normalised, cased)
        _read_spans(g, spans, normalised, is_title, reading, (lang or "").lower()[:2])
        named = {s.entry.name for s in spans if s.entry is not None}
        for offset, entry in g.coordinated(normalised):
            if entry.name not in named:   # "the digital transition and education ministries"
                named.add(entry.name)
                _add(reading, entry, is_title, offset, False)
    for name in list(reading.weak_only):
        if name in reading.strong:
            reading.weak_only.discard(name)
    main = _main_parties(g, reading)
    descriptors = _own_descriptors(g, reading)
    names = discovery.name_strings(g, title, body)
    name_keys = {k for name in names for w in discovery.name_words(g, name) if (k := _name_key(w))}
    script_keys: set[str] = set()
    head = f"{title}\n{body[:SIGNATURE_LEAD_CHARS]}"
    if discovery.is_arabic_script(head):
        for word in _ARABIC_WORD_RE.findall(normalise(head)):
            if word in STOPWORDS or word in g.common_words:
                continue
            key = translit.skeleton_word(word)
            if _key_ok(key, word):
                script_keys.add(key)
    figures = {str(f) for f in quantities.reader(g.settings).figures(f"{title}\n{body[:LEAD_CHARS]}")}
    if discovery.is_arabic_script(title or body[:200]):
        organisations = discovery.arabic_partners(g, title, body)
        subject = None
    else:
        found = discovery.discover(g, title, body, outlet=outlet)
        organisations, subject = found.partners, found.moroccan
    return Evidence(seen_at=seen_at, lang=(lang or "").lower()[:2], kind=kinds.event_kind(title, body),
                    parties={k: round(v, 3) for k, v in reading.weights.items()}, main=main,
                    title_parties=tuple(sorted(reading.in_title)), descriptors=tuple(descriptors),
                    names=tuple(names), name_keys=frozenset(name_keys), script_keys=frozenset(script_keys),
                    figures=frozenset(figures), organisations=tuple(organisations), subject=subject,
                    signature=signature(title, body), body_chars=len(body.strip()))


def _name_key(word: str) -> str:
    """The key of one word of a name: an acronym as itself ("iai": it has no consonant skeleton),
    else its transliteration skeleton when that is long enough to be evidence."""
    if len(word) >= 2 and word.isupper():
        return normalise(word)
    key = translit.skeleton_word(word)
    return key if _key_ok(key, word) else ""


def _key_ok(key: str, word: str) -> bool:
    """Whether a skeleton is evidence: four consonants, or three from a word that spells its vowels
    (a transliterated foreign name does: إيگودار; a native Arabic word of three letters often not)."""
    if len(key) >= translit.MIN_SKELETON:
        return True
    if len(key) < 3:
        return False
    if discovery.is_arabic_script(word):
        return sum(c in _LONG_VOWELS for c in word) >= 2
    return len(word) >= 5


def _weight(is_title: bool, pos: int) -> float:
    if is_title:
        return TITLE_WEIGHT
    if pos < LEAD_CHARS:
        return LEAD_WEIGHT * 0.5 ** (pos / LEAD_HALF_LIFE)
    return PRESENT_WEIGHT


def _gap(text: str, a: Span, b: Span) -> str:
    return text[a.end:b.start]


def _read_spans(g: Gazetteer, spans: Sequence[Span], text: str, is_title: bool, reading: _Reading,
                lang: str = "") -> None:
    """Turn the matches of one segment into party weights and descriptions."""
    spans = [s for s in spans if s.entry is not None]
    for i, span in enumerate(spans):
        entry = span.entry
        assert entry is not None
        before = spans[i - 1] if i else None
        after = spans[i + 1] if i + 1 < len(spans) else None
        near_before = before is not None and len(_gap(text, before, span)) <= QUALIFY_GAP
        near_after = after is not None and len(_gap(text, span, after)) <= QUALIFY_GAP
        if entry.kind == DEMONYM:
            gap_before = _gap(text, before, span) if before is not None else ""
            gap_after = _gap(text, span, after) if after is not None else ""
            nouns: list[tuple[int, Span]] = []
            if near_before and before is not None and before.entry.kind == NOUN:
                nouns.append((len(gap_before), before))
            if near_after and after is not None and after.entry.kind == NOUN:
                nouns.append((len(gap_after), after))
            # French, Spanish and Arabic put the nationality after its noun ("la start-up américaine"),
            # English before it ("American start-up").
            if len(nouns) == 2 and lang:
                noun = nouns[1][1] if lang == "en" else nouns[0][1]
            else:
                noun = min(nouns, key=lambda t: t[0])[1] if nouns else None
            # "la française Mistral AI", "French Mistral AI", "«ميسترال» الفرنسية": qualifies the name.
            beside_name = any(other is not None and other.entry.is_party and not other.entry.is_country
                              and len(gap) <= 3 and not gap.strip(" \"'")
                              for other, gap in ((after, gap_after), (before, gap_before)))
            if noun is not None and noun.entry.name == f"{NOUN}:government" and entry.country != g.home:
                state = _state_of(g, entry.country)
                if state is not None:
                    _add(reading, state, is_title, span.start, False)
                continue
            if noun is not None and not beside_name:
                reading.descriptors.append((entry.country, noun.entry.display))
            continue
        if entry.kind == NOUN or not entry.is_party:
            continue
        if entry.is_country and near_after and after is not None and \
                (after.entry.kind == NOUN or (after.entry.is_party and not after.entry.is_country)) and \
                _QUALIFIER_GAP_RE.match(_gap(text, span, after)):
            if after.entry.kind == NOUN:
                reading.descriptors.append((entry.country, after.entry.display))
            continue  # "US start-up", "Abu Dhabi's G42", "UAE technology group G42": a qualifier
        _add(reading, entry, is_title, span.start, span.weak)


def _state_of(g: Gazetteer, country: str) -> Entry | None:
    for entry in g.parties():
        if entry.is_country and entry.country == country:
            return entry
    return None


def _add(reading: _Reading, entry: Entry, is_title: bool, pos: int, weak: bool) -> None:
    weight = _weight(is_title, pos) * (WEAK_SHARE if weak else 1.0)
    reading.weights[entry.name] += weight
    if is_title:
        reading.in_title.add(entry.name)
    (reading.weak_only if weak else reading.strong).add(entry.name)


def _main_parties(g: Gazetteer, reading: _Reading) -> tuple[str, ...]:
    main: list[tuple[float, str]] = []
    for side in ("moroccan", "foreign"):
        pool = []
        for name, weight in reading.weights.items():
            entry = g.get(name)
            if entry is None or entry.side != side or entry.generic or weight < LEAD_WEIGHT * 0.5 ** 3:
                continue
            if name in reading.weak_only and name not in reading.in_title:
                continue
            pool.append((weight, name, entry))
        titled = [p for p in pool if p[1] in reading.in_title]
        pool = titled or pool
        if any(not e.is_country for _, _, e in pool):
            pool = [p for p in pool if not p[2].is_country]
        if any(not e.is_place for _, _, e in pool):
            pool = [p for p in pool if not p[2].is_place]
        if not pool:
            continue
        best = max(w for w, _, _ in pool)
        main += [(w, n) for w, n, _ in pool if w >= MAIN_SHARE * best]
    return tuple(n for _, n in sorted(main, key=lambda t: (-t[0], t[1])))


def _own_descriptors(g: Gazetteer, reading: _Reading) -> list[tuple[str, str]]:
    """Descriptions of parties the report does not name: a nationality no party of it has."""
    out: list[tuple[str, str]] = []
    for country, label in reading.descriptors:
        described = g.descriptors.get(label)
        allowed = set(described.kinds) if described else set()
        named = any((e := g.get(n)) is not None and e.country == country and (not allowed or e.kind in allowed
                                                                            or e.is_country)
                    for n in reading.weights)
        if not named and (country, label) not in out:
            out.append((country, label))
    return out


# --- text similarity (same language) ---------------------------------------------------------------

#: Fewer distinct shared content words than this is no evidence at all (two headlines sharing "signent").
MIN_SHARED_WORDS = 3


def signature(title: str, text: str) -> str:
    """The text compared with other reports' for same-language similarity: normalised headline and lead."""
    return f"{normalise(title)}\n{normalise((text or '')[:SIGNATURE_LEAD_CHARS])}".strip()


@lru_cache(maxsize=8192)
def _bag(sig: str, common: frozenset[str]) -> Counter[str]:
    return Counter(t for t in _WORD_RE.findall(sig)
                   if len(t) >= 3 and not t.isdigit() and t not in STOPWORDS and t not in common)


def similarity(a: str, b: str, common: Iterable[str] = ()) -> float:
    """Cosine of square-rooted word counts of two signatures, ignoring function and topic words.

    Square roots keep one repeated word (a name said five times) from deciding alone; removing the
    words every story of the topic uses ("Maroc", "الذكاء") keeps two different partnerships apart.
    Texts sharing fewer than MIN_SHARED_WORDS content words score 0: short headlines are not evidence.
    """
    common = frozenset(common)
    bag_a, bag_b = _bag(a, common), _bag(b, common)
    if len(bag_a.keys() & bag_b.keys()) < MIN_SHARED_WORDS:
        return 0.0
    dot = sum(math.sqrt(n * bag_b[w]) for w, n in bag_a.items() if w in bag_b)
    return dot / math.sqrt(sum(bag_a.values()) * sum(bag_b.values()))
