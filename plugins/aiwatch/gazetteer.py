"""The topic's gazetteer: which parties a story names, in four languages, from a YAML file.

Grouping articles into partnership events hinges on *who* the partners are, and outlets spell them
in Latin script (fr/en/es) or Arabic script, with Arabic proclitics glued on (وميسترال, بالمغرب).
The list of parties is data (``config/gazetteer.yaml``): a second topic is a new file, not new code.

Text and aliases go through the same :func:`classifiers.normalise.normalise` (case, Latin accents,
Arabic letter forms), then three compiled alternations run over it:

* Latin aliases, whole words only, so "Meta" never matches "métaverse" and "IA" is no party;
* Arabic aliases, whole tokens after an optional proclitic (و ف then ب ل ال بال لل);
* ``cased`` aliases, matched as written on an accent-folded but case-kept copy, for names that are
  also common words or short forms ("Orange", "Meta", "EU", "US").

Overlapping matches resolve to the longest, so "Orange Maroc" (Moroccan) beats "Orange" (partner) and
"المملكة المتحدة" (UK) beats "المملكة" (Morocco). Mentions are weighed by place: the headline counts
most, then the lead with a weight halving every 500 characters, so a partner named only in a recap
paragraph does not become the story's partner.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from aiwatch.config import ConfigError, project_root
from classifiers.normalise import normalise

log = logging.getLogger(__name__)

PARTNER_KINDS = ("company", "government", "international", "research")
#: How much of the body is read: the lead, where a story names its parties.
LEAD_CHARS = 1500
TITLE_WEIGHT = 4.0
LEAD_WEIGHT = 2.0
#: A lead mention's weight halves every this many characters.
LEAD_HALF_LIFE = 500.0
#: A party is one of the story's main parties when it weighs at least this share of the best one.
MAIN_SHARE = 0.5

_ARABIC_RE = re.compile("[\u0600-\u06ff\u0750-\u077f\ufb50-\ufdff\ufe70-\ufeff]")
_JOIN = r"[\s\-]+"
_SPLIT_RE = re.compile(r"[\s\-]+")
# Case-kept folding for `cased` aliases: the same decomposition and mark removal as normalise(), and
# the same length-changing replacements, so offsets line up with the normalised text.
_FOLD_MARKS_RE = re.compile("[\u0300-\u036f\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0640\u200b-\u200f\ufeff]")
_FOLD_WIDE = (("œ", "oe"), ("Œ", "OE"), ("æ", "ae"), ("Æ", "AE"), ("ß", "ss"))
_ENTRY_KEYS = {"partners": {"name", "kind", "aliases", "cased"}, "moroccan": {"name", "generic", "aliases", "cased"}}


class GazetteerError(ConfigError):
    """The gazetteer file is missing or wrong; the message names the file and the entry at fault."""


@dataclass(frozen=True)
class Entry:
    """One party: ``section`` is "partners" or "moroccan"; ``kind`` is the partner kind or "moroccan"."""

    name: str
    section: str
    kind: str
    generic: bool = False


@dataclass(frozen=True)
class Mention:
    """One match: where it is (title or lead offset, normalised text) and what it weighs."""

    entry: Entry
    in_title: bool
    pos: int
    weight: float


@dataclass(frozen=True)
class Parties:
    """Who a story names.

    ``partners`` and ``moroccan`` are the *main* parties, best first: those named in the headline when
    the headline names any, weighing at least half the best one; governments give way to a company or
    body named alongside them ("France's Mistral AI" -> Mistral AI). ``mentioned_*`` keep every party
    found in the headline and lead, ranked, for explanations.
    """

    partners: tuple[str, ...]
    moroccan: tuple[str, ...]
    morocco: bool
    mentioned_partners: tuple[str, ...] = ()
    mentioned_moroccan: tuple[str, ...] = ()


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


def _is_arabic(alias: str) -> bool:
    return bool(_ARABIC_RE.search(alias))


def _key(text: str) -> str:
    return " ".join(t for t in _SPLIT_RE.split(text) if t)


def _pattern(key: str) -> str:
    return _JOIN.join(re.escape(t) for t in key.split(" "))


def _alternation(keys: Iterable[str]) -> str:
    # Longest first: at one start position the regex engine takes the first alternative that fits.
    return "|".join(_pattern(k) for k in sorted(set(keys), key=lambda k: (-len(k), k)))


class Gazetteer:
    """Compiled aliases of one gazetteer file; build with :meth:`load` (cached per file version)."""

    def __init__(self, entries: dict[str, Entry], plain: dict[str, Entry | None],
                 cased: dict[str, Entry | None], source: str = "<memory>",
                 common_words: frozenset[str] = frozenset()) -> None:
        self.source = source
        #: Normalised words every story of the topic uses ("maroc", "الذكاء"): no evidence of sameness.
        self.common_words = common_words
        self._entries = entries
        self._plain = plain            # normalised alias key -> entry (None: an `ignore` phrase)
        self._cased = cased            # case-kept alias key -> entry
        latin = [k for k in plain if not _is_arabic(k)]
        arabic_al = [k[2:] for k in plain if _is_arabic(k) and k.startswith("ال") and len(k) > 3]
        arabic = [k for k in plain if _is_arabic(k) and not (k.startswith("ال") and len(k) > 3)]
        never = r"(?!x)x"
        self._latin_re = re.compile(rf"(?<!\w)(?:{_alternation(latin) or never})(?!\w)")
        self._arabic_al_re = re.compile(rf"(?<!\w)[وف]?(?:بال|لل|ال)({_alternation(arabic_al) or never})(?!\w)")
        self._arabic_re = re.compile(rf"(?<!\w)[وف]?[بل]?({_alternation(arabic) or never})(?!\w)")
        self._cased_re = re.compile(rf"(?<!\w)(?:{_alternation(cased) or never})(?!\w)")

    # --- loading ---------------------------------------------------------------------------------

    @classmethod
    def load(cls, path: Path | str) -> Gazetteer:
        """The compiled gazetteer of ``path``; compiled once per file version (path, size, mtime)."""
        path = Path(path).resolve()
        try:
            stat = path.stat()
        except OSError as exc:
            raise GazetteerError(f"gazetteer file {path}: cannot read ({exc.strerror or exc})") from None
        key = (str(path), stat.st_size, stat.st_mtime_ns)
        with _CACHE_LOCK:
            cached = _CACHE.get(key)
        if cached is not None:
            return cached
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" line {mark.line + 1} column {mark.column + 1}" if mark is not None else ""
            problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
            raise GazetteerError(f"gazetteer file {path}:{where} is not valid YAML ({problem})") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise GazetteerError(f"gazetteer file {path}: cannot read ({exc})") from None
        gazetteer = cls.from_data(raw, source=str(path))
        with _CACHE_LOCK:
            _CACHE[key] = gazetteer
        return gazetteer

    @classmethod
    def from_data(cls, raw: Any, source: str = "<memory>") -> Gazetteer:
        """Validate and compile parsed YAML; errors name ``source`` and the entry at fault."""
        if not isinstance(raw, dict):
            raise GazetteerError(f"gazetteer file {source}: expected a mapping with 'partners' and 'moroccan'")
        unknown = set(raw) - {"partners", "moroccan", "ignore", "common_words"}
        if unknown:
            raise GazetteerError(f"gazetteer file {source}: unknown section(s) {sorted(unknown)}")
        entries: dict[str, Entry] = {}
        plain: dict[str, Entry | None] = {}
        cased: dict[str, Entry | None] = {}
        owner: dict[str, str] = {}      # lower-cased alias -> entry name, to refuse one alias for two parties
        for section in ("partners", "moroccan"):
            items = raw.get(section)
            if not isinstance(items, list) or not items:
                raise GazetteerError(f"gazetteer file {source}: '{section}' must be a non-empty list of entries")
            for index, item in enumerate(items):
                where = f"gazetteer file {source}: {section}[{index}]"
                entry, aliases, cased_aliases = _parse_entry(section, item, where)
                where = f"{where} ({entry.name!r})"
                if entry.name in entries:
                    raise GazetteerError(f"{where}: duplicate name")
                entries[entry.name] = entry
                for alias in aliases:
                    key = _key(normalise(alias))
                    _claim(owner, key.lower(), entry.name, alias, where)
                    plain[key] = entry
                for alias in cased_aliases:
                    key = _key(fold_cased(alias))
                    if _is_arabic(key):
                        raise GazetteerError(f"{where}: cased alias {alias!r} must be in Latin script")
                    _claim(owner, normalise(key), entry.name, alias, where)
                    cased[key] = entry
        ignore = raw.get("ignore") or []
        if not isinstance(ignore, list) or not all(isinstance(p, str) and p.strip() for p in ignore):
            raise GazetteerError(f"gazetteer file {source}: 'ignore' must be a list of phrases")
        for phrase in ignore:
            plain.setdefault(_key(normalise(phrase)), None)
        common = raw.get("common_words") or []
        if not isinstance(common, list) or not all(isinstance(w, str) and w.strip() for w in common):
            raise GazetteerError(f"gazetteer file {source}: 'common_words' must be a list of words")
        gazetteer = cls(entries, plain, cased, source,
                        frozenset(t for w in common for t in normalise(w).split()))
        log.info("gazetteer=%s partners=%d moroccan=%d aliases=%d", source,
                 sum(e.section == "partners" for e in entries.values()),
                 sum(e.section == "moroccan" for e in entries.values()), len(plain) + len(cased))
        return gazetteer

    # --- matching --------------------------------------------------------------------------------

    @property
    def entries(self) -> tuple[Entry, ...]:
        return tuple(self._entries.values())

    def entry(self, name: str) -> Entry:
        """The entry with canonical ``name`` (KeyError names it when unknown)."""
        try:
            return self._entries[name]
        except KeyError:
            raise KeyError(f"no gazetteer entry named {name!r} in {self.source}") from None

    def mentions(self, title: str, text: str = "") -> list[Mention]:
        """Every party named in the headline and the lead (first LEAD_CHARS characters), in text order."""
        found = [Mention(entry, True, pos, TITLE_WEIGHT) for entry, pos in self._scan(title or "")]
        found += [Mention(entry, False, pos, LEAD_WEIGHT * 0.5 ** (pos / LEAD_HALF_LIFE))
                  for entry, pos in self._scan((text or "")[:LEAD_CHARS])]
        return found

    def find(self, title: str, text: str = "") -> Parties:
        """The parties of a story: main partners and Moroccan parties, best first (see :class:`Parties`)."""
        mentions = self.mentions(title, text)
        partners = _ranked([m for m in mentions if m.entry.section == "partners"])
        moroccan = _ranked([m for m in mentions if m.entry.section == "moroccan" and not m.entry.generic])
        return Parties(
            partners=tuple(e.name for e in _main(partners, demote_governments=True)),
            moroccan=tuple(e.name for e in _main(moroccan, demote_governments=False)),
            morocco=any(m.entry.section == "moroccan" for m in mentions),
            mentioned_partners=tuple(e.name for e, _, _ in partners),
            mentioned_moroccan=tuple(e.name for e, _, _ in moroccan),
        )

    def _scan(self, raw: str) -> list[tuple[Entry, int]]:
        """(entry, offset) of each non-overlapping match in ``raw``, longest match winning."""
        if not raw:
            return []
        cased_text = fold_cased(raw)
        text = normalise(cased_text)
        aligned = len(text) == len(cased_text)
        spans: list[tuple[int, int, Entry | None]] = []
        for m in self._latin_re.finditer(text):
            spans.append((m.start(), m.end(), self._plain.get(_key(m.group()))))
        for regex, prefix in ((self._arabic_al_re, "ال"), (self._arabic_re, "")):
            for m in regex.finditer(text):
                spans.append((m.start(), m.end(), self._plain.get(prefix + _key(m.group(1)))))
        for m in self._cased_re.finditer(cased_text):
            start = m.start() if aligned else min(m.start(), max(len(text) - 1, 0))
            spans.append((start, start + len(m.group()), self._cased.get(_key(m.group()))))
        kept: list[tuple[int, int, Entry | None]] = []
        for start, end, entry in sorted(spans, key=lambda s: (s[0] - s[1], s[0])):
            if all(end <= s or start >= e for s, e, _ in kept):
                kept.append((start, end, entry))
        return [(entry, start) for start, _, entry in sorted(kept, key=lambda s: s[0]) if entry is not None]


def _claim(owner: dict[str, str], folded: str, name: str, alias: str, where: str) -> None:
    if not folded:
        raise GazetteerError(f"{where}: alias {alias!r} is empty once normalised")
    if len(folded) < 2:
        raise GazetteerError(f"{where}: alias {alias!r} is too short to match safely")
    other = owner.setdefault(folded, name)
    if other != name:
        raise GazetteerError(f"{where}: alias {alias!r} already belongs to {other!r}")


def _parse_entry(section: str, item: Any, where: str) -> tuple[Entry, list[str], list[str]]:
    if not isinstance(item, dict):
        raise GazetteerError(f"{where}: expected a mapping like {{name: ..., aliases: [...]}}")
    name = item.get("name")
    if not isinstance(name, str) or not name.strip():
        raise GazetteerError(f"{where}: 'name' must be a non-empty string (quote numbers: name: \"1337\")")
    where = f"{where} ({name!r})"
    unknown = set(item) - _ENTRY_KEYS[section]
    if unknown:
        raise GazetteerError(f"{where}: unknown key(s) {sorted(unknown)}")
    lists = []
    for field in ("aliases", "cased"):
        value = item.get(field) or []
        if not isinstance(value, list) or not all(isinstance(a, str) and a.strip() for a in value):
            raise GazetteerError(f"{where}: '{field}' must be a list of non-empty strings")
        lists.append([a.strip() for a in value])
    if not lists[0] and not lists[1]:
        raise GazetteerError(f"{where}: needs at least one alias")
    if section == "partners":
        kind = item.get("kind")
        if kind not in PARTNER_KINDS:
            raise GazetteerError(f"{where}: 'kind' must be one of {', '.join(PARTNER_KINDS)}, not {kind!r}")
        return Entry(name.strip(), section, kind), lists[0], lists[1]
    generic = item.get("generic", False)
    if not isinstance(generic, bool):
        raise GazetteerError(f"{where}: 'generic' must be true or false, not {generic!r}")
    return Entry(name.strip(), section, "moroccan", generic), lists[0], lists[1]


def _ranked(mentions: list[Mention]) -> list[tuple[Entry, float, bool]]:
    """(entry, total weight, named in title) best first; ties go to the first named."""
    totals: dict[Entry, list[Any]] = {}
    for order, m in enumerate(mentions):
        slot = totals.setdefault(m.entry, [0.0, False, order])
        slot[0] += m.weight
        slot[1] = slot[1] or m.in_title
    ranked = sorted(totals.items(), key=lambda kv: (-kv[1][0], kv[1][2]))
    return [(entry, weight, in_title) for entry, (weight, in_title, _) in ranked]


def _main(ranked: list[tuple[Entry, float, bool]], *, demote_governments: bool) -> list[Entry]:
    pool = [r for r in ranked if r[2]] or ranked
    if demote_governments and any(e.kind != "government" for e, _, _ in pool):
        pool = [r for r in pool if r[0].kind != "government"]
    if not pool:
        return []
    best = pool[0][1]
    return [entry for entry, weight, _ in pool if weight >= MAIN_SHARE * best]


_CACHE: dict[tuple[str, int, int], Gazetteer] = {}
_CACHE_LOCK = threading.Lock()


def default_gazetteer(path: Path | str | None = None) -> Gazetteer:
    """The topic's gazetteer: ``path``, else WATCH_GAZETTEER_FILE, else config/gazetteer.yaml of the project."""
    if path is None:
        path = os.environ.get("WATCH_GAZETTEER_FILE") or project_root() / "config" / "gazetteer.yaml"
    return Gazetteer.load(Path(path))
