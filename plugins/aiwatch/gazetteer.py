"""The topic's gazetteer: which parties, places, nationalities and organisation nouns a story names,
in four languages and two scripts, from data files.

Grouping reports into partnership events hinges on *who* the parties are, on both sides: a deal
between a police directorate and a university is as much an event as Morocco × OpenAI. The parties
are data (``config/parties.yaml``: every body, place and company with its side, kind, country,
parent and aliases), foreign states come from ``classifiers/topics/countries.yaml`` (CLDR names,
demonyms, capitals) and the settings file ``config/gazetteer.yaml`` ties them together with the
language data (organisation nouns, phrases to ignore). A second topic is new files, not new code.

Text and aliases go through the same :func:`classifiers.normalise.normalise` (case, Latin accents,
Arabic letter forms), then compiled trie-shaped regexes run over it:

* Latin aliases, whole words only, so "Meta" never matches "métaverse" and "IA" is no party;
* Arabic aliases, whole tokens after an optional proclitic (و ف then ب ل ك ال بال لل), except short
  stems, which take و alone (a three-letter stem with clitics makes other words);
* ``cased`` aliases and acronyms, matched as written on an accent-folded but case-kept copy, for
  names that are also common words or short forms ("Orange", "ADD", "EMI", "US").

Overlapping matches resolve to the longest, so "Orange Maroc" (Moroccan) beats "Orange" (foreign)
and "American University of Beirut" beats "American". A match is a :class:`Span`; what it means for
an event (a party, a description, a place) is decided in :mod:`aiwatch.evidence`.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from aiwatch.config import ConfigError, load_yaml, project_root
from classifiers.normalise import normalise

log = logging.getLogger(__name__)

SIDES = ("moroccan", "foreign")
#: Party kinds of the parties file, plus "state" (a country) for the states of the countries file.
KINDS = ("state", "ministry", "agency", "public-body", "region", "city", "university", "school", "research",
         "company", "bank", "telecom", "startup", "foundation", "association", "government", "international",
         "ai-company", "cloud", "chip")
#: Kinds whose entries are places: they say where, and only name a party when nothing else does.
PLACE_KINDS = frozenset({"city"})
#: Parents that sign too many deals of their own to stand for their children.
_HUB_KINDS = frozenset({"ministry", "state", "government"})
#: Entry kinds that are not parties: a nationality, an organisation noun.
DEMONYM, NOUN = "demonym", "noun"
_SETTINGS_KEYS = {"country", "home", "government", "parties_file", "countries_file", "generic", "ignore",
                  "descriptors", "units", "multipliers", "common_words", "coordination"}
_PARTY_KEYS = {"name", "display_en", "side", "kind", "state", "country", "acronyms", "aliases", "cased", "people",
               "parent", "ambiguous", "source", "short"}
_ARABIC_RE = re.compile("[\u0600-\u06ff\u0750-\u077f\ufb50-\ufdff\ufe70-\ufeff]")
_SPLIT_RE = re.compile(r"[\s\-]+")
_FOLD_MARKS_RE = re.compile("[\u0300-\u036f\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0640\u200b-\u200f\ufeff]")
_FOLD_WIDE = (("œ", "oe"), ("Œ", "OE"), ("æ", "ae"), ("Æ", "AE"), ("ß", "ss"))
DEFAULT_COUNTRY = "Morocco"


class GazetteerError(ConfigError):
    """A gazetteer file is missing or wrong; the message names the file and the entry at fault."""


@dataclass(frozen=True)
class Entry:
    """One thing the text can name.

    For a party: ``side`` moroccan or foreign, ``kind`` one of KINDS, ``country`` its ISO code,
    ``state`` for bodies of the home State (headlines show them as the country when the other side
    is foreign), ``generic`` for the home country as a whole (never evidence), ``parent`` the
    canonical name of the body it belongs to. For a nationality: kind DEMONYM, ``country`` set. For
    an organisation noun: kind NOUN, ``name`` its English class ("start-up"), ``kinds`` the party
    kinds it can describe.
    """

    name: str
    side: str
    kind: str
    country: str = ""
    state: bool = False
    generic: bool = False
    parent: str | None = None
    display: str = ""
    acronym: str = ""
    kinds: tuple[str, ...] = ()

    @property
    def is_party(self) -> bool:
        return self.kind not in (DEMONYM, NOUN)

    @property
    def is_place(self) -> bool:
        return self.kind in PLACE_KINDS

    @property
    def is_country(self) -> bool:
        return self.kind == "state"


@dataclass(frozen=True)
class Span:
    """One match in a text: offsets in the normalised text, the entry, and whether the form matched
    is one the data marks ``ambiguous`` (a city name that is also a common word: weak evidence)."""

    start: int
    end: int
    entry: Entry | None
    weak: bool = False


@dataclass(frozen=True)
class Descriptor:
    """An organisation noun of the settings file: its English class and the party kinds it describes."""

    label: str
    kinds: tuple[str, ...]


@dataclass
class _Compiled:
    plain: dict[str, Entry | None] = field(default_factory=dict)
    cased: dict[str, Entry | None] = field(default_factory=dict)
    weak: set[str] = field(default_factory=set)
    owner: dict[tuple[str, str], str] = field(default_factory=dict)
    arabic_short: set[str] = field(default_factory=set)
    arabic_al: set[str] = field(default_factory=set)
    # A body's short name that stands for it only beside a plural noun of its kind ("the digital
    # transition and education ministries"): key -> entry name.
    short: dict[str, str] = field(default_factory=dict)


def fold_cased(text: str) -> str:
    """Accent-folded, whitespace-collapsed text that keeps its case (for ``cased`` aliases)."""
    if not text:
        return ""
    if not text.isascii():
        text = _FOLD_MARKS_RE.sub("", unicodedata.normalize("NFKD", text))
        for old, new in _FOLD_WIDE:
            if old in text:
                text = text.replace(old, new)
    return " ".join(text.split())


def is_arabic(text: str) -> bool:
    return bool(_ARABIC_RE.search(text))


def alias_key(text: str) -> str:
    """An alias or matched text as a lookup key: words joined by single spaces (hyphens are spaces)."""
    return " ".join(t for t in _SPLIT_RE.split(text) if t)


def trie_pattern(keys: Iterable[str]) -> str:
    """One regex for many literal keys, shaped as their character trie (a space in a key matches any
    run of spaces and hyphens): the engine follows one branch per character instead of trying
    thousands of alternatives, and longer continuations come first, so the longest key wins."""
    trie: dict[str, Any] = {}
    for key in keys:
        node = trie
        for char in key:
            node = node.setdefault(char, {})
        node[""] = True

    def build(node: dict[str, Any]) -> str:
        branches = [(r"[\s\-]+" if char == " " else re.escape(char)) + build(child)
                    for char, child in sorted(node.items()) if char]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{body})?" if "" in node else body

    return build(trie) if trie else r"(?!x)x"


class Gazetteer:
    """Compiled aliases of one topic; build with :meth:`load` (cached per file versions)."""

    def __init__(self, entries: Mapping[str, Entry], compiled: _Compiled, *, source: str = "<memory>",
                 country: str = DEFAULT_COUNTRY, home: str = "MA", government: str = "Government",
                 descriptors: Mapping[str, Descriptor] | None = None, settings: Mapping[str, Any] | None = None,
                 common_words: frozenset[str] = frozenset()) -> None:
        self.source = source
        #: How headlines name the home country's side facing a foreign party.
        self.country = country
        self.home = home
        #: How headlines name the State as a whole facing another Moroccan party.
        self.government = government
        self.descriptors = dict(descriptors or {})
        #: The settings file as parsed (units and multipliers are read by aiwatch.quantities).
        self.settings = dict(settings or {})
        #: Normalised words every story of the topic uses ("maroc", "الذكاء"): no evidence of sameness.
        self.common_words = common_words
        self._entries = dict(entries)
        self._plain = compiled.plain
        self._cased = compiled.cased
        self._weak = compiled.weak
        self._children: dict[str, set[str]] = {}
        # Memos of the pure lookups grouping calls for every pair of reports (the data never changes).
        self._ancestors: dict[str, tuple[str, ...]] = {}
        self._related: dict[tuple[str, str], bool] = {}
        self._hub_free_ancestors: dict[str, tuple[str, ...]] = {}
        self._closures: dict[frozenset[str], frozenset[str]] = {}
        for entry in self._entries.values():
            if entry.parent:
                self._children.setdefault(entry.parent, set()).add(entry.name)
        latin = [k for k in self._plain if not is_arabic(k)]
        arabic_al = [k[2:] for k in self._plain if k in compiled.arabic_al]
        arabic_short = [k for k in self._plain if k in compiled.arabic_short]
        arabic = [k for k in self._plain if is_arabic(k) and k not in compiled.arabic_al
                  and k not in compiled.arabic_short]
        self._latin_re = re.compile(rf"(?<!\w)(?:{trie_pattern(latin)})(?!\w)")
        self._arabic_al_re = re.compile(rf"(?<!\w)[وف]?(?:بال|لل|ال|كال)({trie_pattern(arabic_al)})(?!\w)")
        self._arabic_re = re.compile(rf"(?<!\w)[وف]?[بلك]?({trie_pattern(arabic)})(?!\w)")
        self._arabic_short_re = re.compile(rf"(?<!\w)و?({trie_pattern(arabic_short)})(?!\w)")
        self._cased_re = re.compile(rf"(?<!\w)(?:{trie_pattern(self._cased)})(?!\w)")
        self._short = dict(compiled.short)
        coordination = self.settings.get("coordination") or {}
        nouns = [alias_key(normalise(str(n))) for n in coordination.get("nouns") or ()]
        self._plural_re = re.compile(rf"(?<!\w)[وف]?(?:{trie_pattern(nouns)})(?!\w)") if nouns else None
        self._short_re = (re.compile(rf"(?<!\w)(?:[وف]?(?:ال|لل)?)({trie_pattern(list(self._short))})(?!\w)")
                          if self._short else None)
        self._window = int(coordination.get("window_chars", 80))

    # --- loading ---------------------------------------------------------------------------------

    @classmethod
    def load(cls, path: Path | str) -> Gazetteer:
        """The compiled gazetteer of settings file ``path``; compiled once per version of its files."""
        path = Path(path).resolve()
        raw = _read_yaml(path)
        if not isinstance(raw, dict):
            raise GazetteerError(f"gazetteer file {path}: expected a mapping of settings (parties_file, ...)")
        files = [path] + [(path.parent / str(raw[k])).resolve() for k in ("parties_file", "countries_file")
                          if raw.get(k)]
        key = tuple(_stamp(f) for f in files)
        with _CACHE_LOCK:
            cached = _CACHE.get(key)
        if cached is not None:
            return cached
        parties = _read_yaml(files[1]) if raw.get("parties_file") else {"parties": []}
        countries = _read_yaml(files[-1]) if raw.get("countries_file") else {"countries": []}
        gazetteer = cls.from_data(raw, parties, countries, source=str(path))
        with _CACHE_LOCK:
            _CACHE[key] = gazetteer
        return gazetteer

    @classmethod
    def from_data(cls, settings: Any, parties: Any, countries: Any = None, source: str = "<memory>") -> Gazetteer:
        """Validate and compile parsed YAML; errors name ``source`` and the entry at fault."""
        if not isinstance(settings, dict):
            raise GazetteerError(f"gazetteer file {source}: expected a mapping of settings")
        unknown = set(settings) - _SETTINGS_KEYS
        if unknown:
            raise GazetteerError(f"gazetteer file {source}: unknown setting(s) {sorted(unknown)}")
        country = settings.get("country", DEFAULT_COUNTRY)
        home = settings.get("home", "MA")
        government = settings.get("government", "Government")
        for name, value in (("country", country), ("home", home), ("government", government)):
            if not isinstance(value, str) or not value.strip():
                raise GazetteerError(f"gazetteer file {source}: '{name}' must be a non-empty string")
        generic = _strings(settings.get("generic"), f"gazetteer file {source}: 'generic'")
        compiled = _Compiled()
        entries: dict[str, Entry] = {}
        items = parties.get("parties") if isinstance(parties, dict) else None
        where_file = f"parties file of {source}"
        if not isinstance(items, list) or not items:
            raise GazetteerError(f"{where_file}: 'parties' must be a non-empty list of entries")
        for index, item in enumerate(items):
            _add_party(entries, compiled, item, f"{where_file}: parties[{index}]", set(generic), home.strip())
        missing = [g for g in generic if g not in entries]
        if missing:
            raise GazetteerError(f"gazetteer file {source}: 'generic' names no party: {missing}")
        for entry in entries.values():
            if entry.parent and entry.parent not in entries:
                raise GazetteerError(f"{where_file}: {entry.name!r} has parent {entry.parent!r}, which is not a party")
        _add_countries(entries, compiled, countries, f"countries file of {source}", home.strip())
        descriptors = _add_descriptors(entries, compiled, settings.get("descriptors") or {},
                                       f"gazetteer file {source}: descriptors")
        for phrase in _strings(settings.get("ignore"), f"gazetteer file {source}: 'ignore'"):
            key = alias_key(normalise(phrase))
            compiled.plain.setdefault(key, None)
            _arabic_form(compiled, phrase, key)
        common = _strings(settings.get("common_words"), f"gazetteer file {source}: 'common_words'")
        for table_key in ("units", "multipliers"):  # read by aiwatch.quantities: check their shape here
            table = settings.get(table_key) or {}
            if not isinstance(table, dict):
                raise GazetteerError(f"gazetteer file {source}: '{table_key}' must be a mapping of "
                                     f"{'unit' if table_key == 'units' else 'factor'} -> list of words")
            for label, forms in table.items():
                _strings(forms, f"gazetteer file {source}: {table_key}: {label!r}")
                if table_key == "multipliers" and not _is_number(label):
                    raise GazetteerError(f"gazetteer file {source}: multipliers: {label!r} is not a number (\"1e6\")")
        coordination = settings.get("coordination") or {}
        if not isinstance(coordination, dict) or set(coordination) - {"nouns", "window_chars"}:
            raise GazetteerError(f"gazetteer file {source}: 'coordination' must be a mapping with 'nouns' (a list) "
                                 f"and 'window_chars' (a number)")
        _strings(coordination.get("nouns"), f"gazetteer file {source}: coordination: 'nouns'")
        if not isinstance(coordination.get("window_chars", 80), int):
            raise GazetteerError(f"gazetteer file {source}: coordination: 'window_chars' must be a whole number")
        gazetteer = cls(entries, compiled, source=source, country=country.strip(), home=home.strip(),
                        government=government.strip(), descriptors=descriptors, settings=settings,
                        common_words=frozenset(t for w in common for t in normalise(w).split()))
        log.info("gazetteer=%s parties=%d (moroccan=%d foreign=%d) aliases=%d", source,
                 sum(e.is_party for e in entries.values()), sum(e.side == "moroccan" and e.is_party
                                                                for e in entries.values()),
                 sum(e.side == "foreign" and e.is_party for e in entries.values()),
                 len(compiled.plain) + len(compiled.cased))
        return gazetteer

    # --- what is known ---------------------------------------------------------------------------

    @property
    def entries(self) -> tuple[Entry, ...]:
        return tuple(self._entries.values())

    def parties(self) -> tuple[Entry, ...]:
        return tuple(e for e in self._entries.values() if e.is_party)

    def entry(self, name: str) -> Entry:
        """The entry with canonical ``name`` (KeyError names it when unknown)."""
        try:
            return self._entries[name]
        except KeyError:
            raise KeyError(f"no gazetteer entry named {name!r} in {self.source}") from None

    def get(self, name: str) -> Entry | None:
        return self._entries.get(name)

    def adjective(self, country: str) -> str:
        """The English adjective of a country ("French", "US") for descriptions in headlines."""
        entry = self._entries.get(f"{DEMONYM}:{country}")
        return entry.display if entry is not None else country

    def known(self, name: str) -> bool:
        """Whether ``name`` is the canonical name of a party (discovered names are not)."""
        entry = self._entries.get(name)
        return entry is not None and entry.is_party

    def ancestors(self, name: str) -> tuple[str, ...]:
        """The chain of parents of party ``name`` (OCP for Rock Solutions), nearest first."""
        cached = self._ancestors.get(name)
        if cached is not None:
            return cached
        chain: list[str] = []
        entry = self._entries.get(name)
        while entry is not None and entry.parent and entry.parent not in chain and len(chain) < 8:
            chain.append(entry.parent)
            entry = self._entries.get(entry.parent)
        self._ancestors[name] = found = tuple(chain)
        return found

    def related(self, a: str, b: str) -> bool:
        """Whether two parties are one body for grouping: the same, or one belongs to the other
        (a city and its region, OCP and its subsidiary). Two subsidiaries of one group are not, nor a
        body and its ministry: a ministry oversees many bodies and signs many deals of its own."""
        if a == b:
            return True
        cached = self._related.get((a, b))
        if cached is None:
            cached = False
            for child, parent in ((a, b), (b, a)):
                entry = self._entries.get(parent)
                if entry is not None and entry.kind not in _HUB_KINDS and parent in self.ancestors(child):
                    cached = True
                    break
            self._related[(a, b)] = cached
        return cached

    def related_to_any(self, name: str, group: frozenset[str]) -> bool:
        """``any(self.related(name, other) for other in group)``, by set lookups (grouping asks it
        of every pair of reports)."""
        if name in group:
            return True
        up = self._hub_free_ancestors.get(name)
        if up is None:
            up = self._hub_free_ancestors[name] = tuple(
                a for a in self.ancestors(name) if (e := self._entries.get(a)) is not None and e.kind not in _HUB_KINDS)
        if any(a in group for a in up):
            return True
        entry = self._entries.get(name)
        if entry is None or entry.kind in _HUB_KINDS:
            return False
        closure = self._closures.get(group)
        if closure is None:
            if len(self._closures) > 50_000:
                self._closures.clear()
            closure = self._closures[group] = frozenset(a for other in group for a in self.ancestors(other))
        return name in closure

    def display_name(self, name: str) -> str:
        """How a headline writes party ``name``: its English display name (or acronym when that is
        long), else the name; names the file lacks (discovered ones) pass through."""
        entry = self._entries.get(name)
        if entry is None:
            return name
        shown = entry.display or entry.name
        if entry.acronym and len(shown) > 32 and entry.kind not in ("ministry", "region", "city"):
            return entry.acronym
        return shown

    # --- matching --------------------------------------------------------------------------------

    def spans(self, raw: str) -> list[Span]:
        """Every non-overlapping match in ``raw``, in text order, longest first where they overlap;
        offsets are in ``normalise(fold_cased(raw))``. ``entry`` is None for an `ignore` phrase."""
        if not raw:
            return []
        cased_text = fold_cased(raw)
        text = normalise(cased_text)
        return self.spans_of(text, cased_text)

    def spans_of(self, text: str, cased_text: str) -> list[Span]:
        """:meth:`spans` over already normalised ``text`` and its case-kept twin ``cased_text``."""
        aligned = len(text) == len(cased_text)
        found: list[tuple[int, int, Entry | None, bool]] = []
        plain, weak = self._plain, self._weak
        for m in self._latin_re.finditer(text):
            key = alias_key(m.group())
            found.append((m.start(), m.end(), plain.get(key), key in weak))
        if is_arabic(text):
            for regex, prefix in ((self._arabic_al_re, "ال"), (self._arabic_re, ""), (self._arabic_short_re, "")):
                for m in regex.finditer(text):
                    key = prefix + alias_key(m.group(1))
                    found.append((m.start(), m.end(), plain.get(key), key in weak))
        for m in self._cased_re.finditer(cased_text):
            if not aligned:
                continue  # offsets would not line up (a rare ligature): the plain aliases still match
            key = alias_key(m.group())
            found.append((m.start(), m.end(), self._cased.get(key), key in weak))
        kept: list[tuple[int, int, Entry | None, bool]] = []
        for start, end, entry, is_weak in sorted(found, key=lambda s: (s[0] - s[1], s[0])):
            if all(end <= s or start >= e for s, e, _, _ in kept):
                kept.append((start, end, entry, is_weak))
        return [Span(s, e, entry, w) for s, e, entry, w in sorted(kept, key=lambda s: s[0])]

    def coordinated(self, text: str) -> list[tuple[int, Entry]]:
        """Bodies named by their short names beside one plural noun ("the digital transition and
        education ministries", "les ministères de l'Industrie et de la Transition numérique", "وزارتا
        الانتقال الرقمي والتربية الوطنية"): (offset, entry) in normalised ``text``, two bodies at least
        per noun; a short name alone ("education") names nothing."""
        if self._plural_re is None or self._short_re is None:
            return []
        found: list[tuple[int, Entry]] = []
        for noun in self._plural_re.finditer(text):
            start, end = max(0, noun.start() - self._window), min(len(text), noun.end() + self._window)
            window = text[start:end]
            named: dict[str, int] = {}
            for m in self._short_re.finditer(window):
                name = self._short.get(alias_key(m.group(1)))
                if name is not None:
                    named.setdefault(name, start + m.start(1))
            if len(named) >= 2:
                found += [(offset, self._entries[name]) for name, offset in named.items()]
        return found

    def names_in(self, raw: str) -> list[Entry]:
        """The parties ``raw`` names, in text order (for tests and explanations)."""
        return [s.entry for s in self.spans(raw) if s.entry is not None and s.entry.is_party]


# --- loading helpers --------------------------------------------------------------------------


def _stamp(path: Path) -> tuple[str, int, int]:
    try:
        stat = path.stat()
    except OSError as exc:
        raise GazetteerError(f"gazetteer file {path}: cannot read ({exc.strerror or exc})") from None
    return str(path), stat.st_size, stat.st_mtime_ns


def _read_yaml(path: Path) -> Any:
    try:
        return load_yaml(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1} column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise GazetteerError(f"gazetteer file {path}:{where} is not valid YAML ({problem})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise GazetteerError(f"gazetteer file {path}: cannot read ({exc})") from None


def _strings(value: Any, where: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, (str, int, float)) and str(v).strip() for v in value):
        raise GazetteerError(f"{where} must be a list of non-empty strings")
    return [str(v).strip() for v in value]


def _is_number(value: Any) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True


def _arabic_form(compiled: _Compiled, alias: str, key: str) -> None:
    """Record how an Arabic key takes clitics: a written article (ال, not أل/إل, which start names
    such as ألمانيا) is replaced by the article forms; a short stem takes only و."""
    if not is_arabic(key):
        return
    stripped = alias.strip()
    if stripped.startswith("ال") and key.startswith("ال") and len(key.replace(" ", "")) > 4:
        compiled.arabic_al.add(key)
    elif len(key.replace(" ", "")) <= 3:
        compiled.arabic_short.add(key)


def _claim(compiled: _Compiled, key: str, name: str, alias: str, where: str, *, strict: bool = True,
           cased: bool = False) -> bool:
    """Register ``alias`` (as ``key``) for ``name``; one alias never belongs to two entries (a cased
    alias also clashes with another entry's plain alias of the same letters: that one matches every
    case). With ``strict`` False (countries, nouns, ambiguous forms) an alias already owned is skipped."""
    folded = normalise(key)
    if not folded:
        raise GazetteerError(f"{where}: alias {alias!r} is empty once normalised")
    if len(folded) < 2:
        raise GazetteerError(f"{where}: alias {alias!r} is too short to match safely")
    slots = [("cased", key), ("plain", folded)] if cased else [("plain", folded), ("cased-any", folded)]
    for slot in slots:
        other = compiled.owner.get(slot)  # type: ignore[call-overload]
        if other is not None and other != name:
            if strict:
                raise GazetteerError(f"{where}: alias {alias!r} already belongs to {other!r}")
            return False
    if cased:
        compiled.owner[("cased", key)] = name  # type: ignore[index]
        compiled.owner.setdefault(("cased-any", folded), name)  # type: ignore[call-overload]
    else:
        compiled.owner[("plain", folded)] = name  # type: ignore[index]
    return True


def _add_party(entries: dict[str, Entry], compiled: _Compiled, item: Any, where: str, generic: set[str],
               home: str) -> None:
    if not isinstance(item, dict):
        raise GazetteerError(f"{where}: expected a mapping like {{name: ..., side: ..., aliases: [...]}}")
    name = item.get("name")
    if not isinstance(name, str) or not name.strip():
        raise GazetteerError(f"{where}: 'name' must be a non-empty string (quote numbers: name: \"1337\")")
    name = name.strip()
    where = f"{where} ({name!r})"
    unknown = set(item) - _PARTY_KEYS
    if unknown:
        raise GazetteerError(f"{where}: unknown key(s) {sorted(unknown)}")
    if name in entries:
        raise GazetteerError(f"{where}: duplicate name")
    side, kind = item.get("side"), item.get("kind")
    if side not in SIDES:
        raise GazetteerError(f"{where}: 'side' must be one of {', '.join(SIDES)}, not {side!r}")
    if kind not in KINDS:
        raise GazetteerError(f"{where}: 'kind' must be one of {', '.join(KINDS)}, not {kind!r}")
    state = item.get("state", False)
    if not isinstance(state, bool):
        raise GazetteerError(f"{where}: 'state' must be true or false, not {state!r}")
    lists = {f: _strings(item.get(f), f"{where}: '{f}'") for f in ("aliases", "cased", "acronyms", "people",
                                                                  "ambiguous", "short")}
    if not (lists["aliases"] or lists["cased"] or lists["acronyms"]):
        raise GazetteerError(f"{where}: needs at least one alias")
    country = str(item.get("country") or (home if side == "moroccan" else "")).strip().upper()
    parent = item.get("parent")
    display = str(item.get("display_en") or "").strip()
    acronym = lists["acronyms"][0] if lists["acronyms"] else ""
    entry = Entry(name, side, kind, country, state, name in generic, str(parent).strip() if parent else None,
                  display, acronym)
    entries[name] = entry
    for short in lists["short"]:
        key = alias_key(normalise(short))
        if compiled.short.setdefault(key, name) != name:
            raise GazetteerError(f"{where}: short name {short!r} is also {compiled.short[key]!r}'s")
    ambiguous = set(lists["ambiguous"])
    for alias in lists["aliases"] + lists["people"] + [a for a in ambiguous if is_arabic(a)]:
        key = alias_key(normalise(alias))
        if not _claim(compiled, key, name, alias, where, strict=alias not in ambiguous):
            continue
        compiled.plain[key] = entry
        _arabic_form(compiled, alias, key)
        if alias in ambiguous:
            compiled.weak.add(key)
    for alias in lists["cased"] + lists["acronyms"] + [a for a in ambiguous if not is_arabic(a)]:
        key = alias_key(fold_cased(alias))
        if is_arabic(key):
            raise GazetteerError(f"{where}: cased alias or acronym {alias!r} must be in Latin script")
        if alias in ambiguous and compiled.owner.get(("plain", normalise(key))) == name:
            compiled.plain.pop(alias_key(normalise(alias)), None)  # listed as alias too: case it is
            del compiled.owner[("plain", normalise(key))]
        if not _claim(compiled, key, name, alias, where, strict=alias not in ambiguous, cased=True):
            continue
        compiled.cased[key] = entry
        if alias in ambiguous:
            compiled.weak.add(key)


def _add_countries(entries: dict[str, Entry], compiled: _Compiled, document: Any, where: str, home: str) -> None:
    """Foreign states as parties (their names), and every country's demonyms as nationalities.
    Forms the file marks ambiguous match case-sensitively (Latin) or not at all (Arabic)."""
    if document is None:
        return
    items = document.get("countries") if isinstance(document, dict) else None
    if not isinstance(items, list):
        raise GazetteerError(f"{where}: 'countries' must be a list")
    for index, country in enumerate(items):
        if not isinstance(country, dict) or not country.get("code"):
            raise GazetteerError(f"{where}: countries[{index}] needs a 'code'")
        code = str(country["code"]).upper()
        names, demonyms = country.get("names") or {}, country.get("demonyms") or {}
        for label, table in (("names", names), ("demonyms", demonyms)):
            if not isinstance(table, dict):
                raise GazetteerError(f"{where}: countries[{index}] ({code}): '{label}' must be a mapping of "
                                     f"language -> list of forms")
            for lang, forms in table.items():
                _strings(forms, f"{where}: countries[{index}] ({code}): '{label}' {lang}")
        ambiguous = set(_strings(country.get("ambiguous"), f"{where}: countries[{index}] ({code}): 'ambiguous'"))
        english = (names.get("en") or [code])[0]
        adjective = (demonyms.get("en") or [english])[0]
        demonym = Entry(f"{DEMONYM}:{code}", "moroccan" if code == home else "foreign", DEMONYM, code,
                        display="US" if code == "US" else str(adjective))
        entries[demonym.name] = demonym
        groups: list[tuple[Entry, list[str]]] = [(demonym, [str(w) for ws in demonyms.values() for w in ws or []])]
        if code != home:
            state = Entry(english, "foreign", "state", code, display=english)
            if english in entries:
                continue
            entries[english] = state
            groups.append((state, [str(w) for ws in names.values() for w in ws or []]))
        for entry, forms in groups:
            for form in forms:
                arabic = is_arabic(form)
                if form in ambiguous:
                    if arabic:
                        continue
                    key = alias_key(fold_cased(form))
                    if _claim(compiled, key, entry.name, form, where, strict=False, cased=True):
                        compiled.cased.setdefault(key, entry)
                    continue
                key = alias_key(normalise(form))
                if _claim(compiled, key, entry.name, form, where, strict=False):
                    compiled.plain.setdefault(key, entry)
                    _arabic_form(compiled, form, key)


def _add_descriptors(entries: dict[str, Entry], compiled: _Compiled, raw: Any, where: str) -> dict[str, Descriptor]:
    if not isinstance(raw, dict):
        raise GazetteerError(f"{where}: expected a mapping of class -> {{kinds, forms}}")
    out: dict[str, Descriptor] = {}
    for label, spec in raw.items():
        if not isinstance(spec, dict):
            raise GazetteerError(f"{where}: {label!r} must be a mapping with 'kinds' and 'forms'")
        kinds = tuple(_strings(spec.get("kinds"), f"{where}: {label}: 'kinds'"))
        bad = [k for k in kinds if k not in KINDS]
        if bad:
            raise GazetteerError(f"{where}: {label}: unknown kind(s) {bad}")
        descriptor = Descriptor(str(label), kinds)
        out[descriptor.label] = descriptor
        entry = Entry(f"{NOUN}:{label}", "foreign", NOUN, kinds=kinds, display=str(label))
        entries[entry.name] = entry
        for form in _strings(spec.get("forms"), f"{where}: {label}: 'forms'"):
            cased = form.isupper() and not is_arabic(form)
            key = alias_key(fold_cased(form) if cased else normalise(form))
            if _claim(compiled, key, entry.name, form, where, strict=False, cased=cased):
                (compiled.cased if cased else compiled.plain).setdefault(key, entry)
                _arabic_form(compiled, form, key)
    return out


_CACHE: dict[tuple[tuple[str, int, int], ...], Gazetteer] = {}
_CACHE_LOCK = threading.Lock()


def default_gazetteer(path: Path | str | None = None) -> Gazetteer:
    """The topic's gazetteer: ``path``, else WATCH_GAZETTEER_FILE, else config/gazetteer.yaml of the project."""
    if path is None:
        path = os.environ.get("WATCH_GAZETTEER_FILE") or project_root() / "config" / "gazetteer.yaml"
    return Gazetteer.load(Path(path))
