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

State bodies (ministries, agencies: ``state: true`` in the file) are distinct parties for grouping but
show as the country in headlines (:meth:`Gazetteer.display_name`). Partners the file lacks ("Canada's
Northlake AI") are *discovered* in Latin-script headlines and standfirsts by :meth:`Gazetteer.discover`,
conservatively: a wrong name in an alert header is worse than none.
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

from aiwatch.config import ConfigError, load_yaml, project_root
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
_ENTRY_KEYS = {"partners": {"name", "kind", "aliases", "cased"},
               "moroccan": {"name", "generic", "state", "aliases", "cased"}}
_SECTIONS = {"partners", "moroccan", "ignore", "common_words", "country"}
DEFAULT_COUNTRY = "Morocco"


class GazetteerError(ConfigError):
    """The gazetteer file is missing or wrong; the message names the file and the entry at fault."""


@dataclass(frozen=True)
class Entry:
    """One party: ``section`` is "partners" or "moroccan"; ``kind`` is the partner kind or "moroccan".

    ``state``: a body of the State (ministry, agency); headlines show it as the country.
    """

    name: str
    section: str
    kind: str
    generic: bool = False
    state: bool = False


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


@dataclass(frozen=True)
class Discovery:
    """Organisations a story names that the gazetteer lacks (see :meth:`Gazetteer.discover`).

    ``partners``: names as written, best first (headline before standfirst), e.g. ("Northlake AI",).
    ``moroccan``: a Moroccan-looking organisation that is the headline's subject ("la Banque
    Chérifienne de l'Atlas s'allie à ..."), for the headline only; None when there is none.
    """

    partners: tuple[str, ...] = ()
    moroccan: str | None = None


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
                 common_words: frozenset[str] = frozenset(), country: str = DEFAULT_COUNTRY) -> None:
        self.source = source
        #: How headlines name the country side when no specific non-State party is known.
        self.country = country
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
            raw = load_yaml(path.read_text(encoding="utf-8"))
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
        unknown = set(raw) - _SECTIONS
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
        country = raw.get("country", DEFAULT_COUNTRY)
        if not isinstance(country, str) or not country.strip():
            raise GazetteerError(f"gazetteer file {source}: 'country' must be a non-empty string")
        gazetteer = cls(entries, plain, cased, source,
                        frozenset(t for w in common for t in normalise(w).split()), country.strip())
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

    def known(self, name: str) -> bool:
        """Whether ``name`` is the canonical name of an entry (discovered names are not)."""
        return name in self._entries

    def display_name(self, name: str) -> str:
        """How a headline shows party ``name``: the country for State bodies, else the name itself.

        Grouping keeps ministries and agencies apart (two ministries, two partnerships); a reader
        only needs to know the State signed. Names the file lacks (discovered ones) pass through.
        """
        entry = self._entries.get(name)
        return self.country if entry is not None and entry.state else name

    def discover(self, title: str, text: str = "", *, outlet: str = "") -> Discovery:
        """Organisations the file lacks, found in a Latin-script headline and the first
        DISCOVERY_LEAD_CHARS characters of the lead.

        A name is a run of capitalised words that ends with an organisation word ("Northlake AI",
        "Nimbra Cloud", "Qalam Labs") or follows a company noun ("la start-up Qalam", "shipping group
        Nordhavn Lines"), or a camel-cased word after a partnership cue ("s'allie à DataVox"). Never
        one overlapping a party of the file (known or generic: "Maroc Digital"), a stop word, the
        outlet's own name or a byline, nor one an adjective marks as Moroccan ("la start-up marocaine
        X"). Where capitals prove nothing (a Title Case headline, a sentence's first words) the name
        must be written the same way mid-sentence in the lead too. Arabic-script stories give nothing.
        """
        if not _latin_script(title or (text or "")[:DISCOVERY_LEAD_CHARS]):
            return Discovery()
        title = " ".join((title or "").split())
        lead = re.sub(r"[ \t\r\f\v]+", " ", (text or "")[:LEAD_CHARS])
        if title:
            lead = _strip_copies(lead, title)
        title_case = _title_case(title)
        confirm = [lead] if title_case else [title, lead]
        outlet_key = normalise(outlet.replace("-", " ").replace("_", " ")) if outlet else ""
        found: list[tuple[str, str]] = []   # (normalised key, name)
        for source, scope in ((title, "title"), (lead[:DISCOVERY_LEAD_CHARS], "lead")):
            if scope == "lead" and found:
                break      # the headline named someone: the standfirst adds no partner
            for name, start, needs_proof in _candidates(source):
                must_prove = needs_proof or (scope == "title" and title_case)
                if must_prove and not any(_written_mid_sentence(name, t) for t in (confirm if scope == "title"
                                                                                  else [lead])):
                    continue
                key = normalise(name)
                if key == outlet_key or any(k == key for k, _ in found) or self._overlaps_party(source, start, name):
                    continue
                if _BYLINE_RE.search(source[max(0, start - 30):start]) or self._moroccan_before(source, start):
                    continue
                found.append((key, name))
        partners = tuple(name for _, name in found[:2])
        moroccan = self._moroccan_subject(title, lead, title_case)
        if partners or moroccan:
            log.debug("discovered partners=%s moroccan=%r in %r", list(partners), moroccan, title[:80])
        return Discovery(partners, moroccan if moroccan and normalise(moroccan) not in
                         {normalise(p) for p in partners} else None)

    def _overlaps_party(self, text: str, start: int, name: str, *, allow_generic: bool = False) -> bool:
        """Whether ``name`` (at ``start`` in ``text``) overlaps a party of the file where it stands:
        "Digital" of "Ministerio de Transición Digital", "Banque" of "Banque mondiale", or inside itself
        ("Maroc Digital"). ``allow_generic`` lets the country, regions and cities through."""
        window = text[max(0, start - 80):start + len(name) + 80]
        spans = [(b, e) for b, e, entry in self._spans(window) if entry is not None
                 and not (allow_generic and entry.section == "moroccan" and entry.generic)]
        if not spans:
            return False
        folded = normalise(fold_cased(window))
        words = normalise(fold_cased(name)).split()
        pattern = r"(?<!\w)" + r"\s+".join(map(re.escape, words)) + r"(?!\w)"
        return any(b < m.end() and m.start() < e for m in re.finditer(pattern, folded) for b, e in spans)

    def _moroccan_before(self, text: str, start: int) -> bool:
        """Whether the noun phrase right before ``start`` calls the organisation Moroccan."""
        window = re.split(r"[.,;:!?()«»\"\n—–]", text[max(0, start - 60):start])[-1]
        words = _TOKEN_RE.findall(window)
        for i in range(len(words) - 1, -1, -1):
            if normalise(words[i]) in _PHRASE_BREAKS:
                words = words[i + 1:]
                break
        return any(e is not None and e.section == "moroccan" and e.generic
                   for _, _, e in self._spans(" ".join(words)))

    def _moroccan_subject(self, title: str, lead: str, title_case: bool) -> str | None:
        """The headline's subject when it is a Moroccan organisation the file lacks."""
        for m in _SUBJECT_VERB_RE.finditer(title):
            tokens = list(_TOKEN_RE.finditer(title[:m.start()]))
            name_tokens: list[re.Match[str]] = []
            for tok in reversed(tokens):
                nxt = name_tokens[0].start() if name_tokens else m.start()
                if title[tok.end():nxt].strip(" ") or len(name_tokens) >= 6:
                    break
                word = tok.group()
                if not (_is_name_word(_unglue(word)) or (name_tokens and normalise(word) in _CONNECTORS)):
                    break
                name_tokens.insert(0, tok)
            while name_tokens and normalise(name_tokens[0].group()) in _CONNECTORS:
                name_tokens.pop(0)
            if len(name_tokens) < 2 or not _is_name_word(name_tokens[0].group()):
                continue
            start, name = name_tokens[0].start(), title[name_tokens[0].start():name_tokens[-1].end()]
            if (title_case or _at_sentence_start(title, start)) and not _written_mid_sentence(name, lead):
                continue
            if self._overlaps_party(title, start, name, allow_generic=True):
                continue   # part of a listed party ("Air Maroc" of "Royal Air Maroc"): find() has it
            spans = self._spans(name)
            covered = sum(end - begin for begin, end, e in spans if e is not None)
            if (spans and covered < len(normalise(name)) * 0.7) or self._moroccan_before(title, start):
                return name   # "la Banque Chérifienne de l'Atlas", "Morocco's Qalam Labs"
        return None

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
        return [(entry, start) for start, _, entry in self._spans(raw) if entry is not None]

    def _spans(self, raw: str) -> list[tuple[int, int, Entry | None]]:
        """(start, end, entry) of each non-overlapping match, in text order; None for `ignore` phrases."""
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
        return sorted(kept, key=lambda s: s[0])


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
    state = item.get("state", False)
    if not isinstance(state, bool):
        raise GazetteerError(f"{where}: 'state' must be true or false, not {state!r}")
    if state and generic:
        raise GazetteerError(f"{where}: a State body is a specific party: 'state: true' needs 'generic: false'")
    return Entry(name.strip(), section, "moroccan", generic, state), lists[0], lists[1]


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


# --- discovery helpers ----------------------------------------------------------------------------
# Language data (fr/en/es), not topic data: what can end, introduce or never be an organisation name.

#: How much of the lead is searched for names: the standfirst, where a story names its parties.
DISCOVERY_LEAD_CHARS = 300
#: Words an organisation's name ends with, matched as written ("Nimbra Cloud", not "nimbra cloud").
ORG_WORDS = frozenset("""AI Cloud Labs Lab Technologies Tech Systems Group Analytics Robotics Data Digital
Software Solutions Networks Intelligence Ventures Computing Inc Ltd SA SAS SARL GmbH AG Corp Corporation
LLC PLC""".split())
_TOKEN_RE = re.compile(r"[^\W_]+(?:['’\-][^\W_]+)*")
_SENTENCE_MARKS = ".!?:;—–·|\n"
# Function words (fr/en/es), normalised: lower-case even in many Title Case headlines.
_FUNCTION_WORDS = frozenset(normalise("""
the a an and or of in on at to by for with from into as is are was its it this that these their our
his her new how why what when where who which after before over under about more most than not no
le la les l un une des du de d et ou avec pour par sur dans en au aux ce cette ces son sa ses leur
leurs nos notre qui que quoi comment pourquoi apres avant selon entre chez vers sous lors
el los las lo y o con para por sobre del al su sus este esta como tras ante segun
""").split())
# Words that are never part of a name: function words, titles, time words, and the nouns and
# adjectives that start capitalised phrases ("Generative AI", "Big Data", "Ministry of").
_STOP_WORDS = _FUNCTION_WORDS | frozenset(normalise("""
transition transicion transformation transformacion development developpement desarrollo reform reforme
reforma ministry ministere ministerio minister ministre ministro government gouvernement gobierno state etat
estado agency agence agencia department departement office national royal kingdom royaume reino
president presidente chief ceo cto founder fondateur director directeur directora head chairman
deputy secretary spokesman spokeswoman mr mrs ms dr prof professor king roi rey prince princess
monday tuesday wednesday thursday friday saturday sunday lundi mardi mercredi jeudi vendredi samedi
dimanche lunes martes miercoles jueves viernes sabado domingo january february march april may june
july august september october november december janvier fevrier mars avril mai juin juillet aout
septembre octobre novembre decembre enero febrero marzo abril mayo junio julio agosto septiembre
octubre noviembre diciembre
artificial generative responsible sovereign trustworthy ethical explainable agentic conversational
applied open big smart green global international regional local public private joint first next
general physical edge gen deep machine quantum cyber mobile business market human collective
emerging advanced modern future african arab arabic european french american canadian chinese
german british spanish italian japanese korean indian israeli emirati saudi qatari turkish dutch
danish swiss swedish russian moroccan maghreb world digital data cloud tech technology technologies
intelligence innovation research science redaction photo source update exclusive breaking live video
interview report
""").split())
# Connectors inside a multi-word name ("Banque Chérifienne de l'Atlas").
_CONNECTORS = frozenset({"de", "du", "des", "of", "del", "la", "d", "l"})
# Words after which the noun phrase before a name has ended ("Moroccan bank signs with X").
_PHRASE_BREAKS = frozenset(normalise("""with avec and et y con a à signs sign signe signent signed firma
firman s'allie s'associe partners joins teams par by por entre between""").split())
# A company noun right before a name, lower-case as written, with up to two French or Spanish
# adjectives of origin after it ("la start-up française X", "la empresa estadounidense X"); English
# puts those before the noun ("Danish shipping group X"), so any other word in between breaks the cue
# ("the firm told Reuters").
_TYPE_CUE_RE = re.compile(
    r"(?<![\w'’])(?:soci[ée]t[ée]|start-?up|jeune pousse|entreprise|firme|groupe|compagnie|consortium|fintech"
    r"|[ée]diteur|fournisseur|op[ée]rateur|company|firm|group|provider|developer|maker|empresa|compa[ñn][íi]a"
    r"|grupo|proveedor)s?(?:\s+[a-zà-ÿ]+(?:ais|aises?|ains?|aines?|iens?|iennes?|ois|oises?|ands?|andes?"
    r"|anos?|anas?|enses?|[ée]s|esas?|iques?|icas?|icos?)){0,2}\s+$")
# A partnership verb right before a name: only a camel-cased word ("DataVox") is taken on its strength
# (after a bare "with" or "et" it is as often a product: "avec WhatsApp", "with ChatGPT").
_PARTNER_CUE_RE = re.compile(
    r"(?<![\w'’])(?:s['’]all(?:ie|ient) (?:à|avec)|s['’]associ(?:e|ent) (?:à|avec)|partners? with"
    r"|teams? up with|joins? forces with|signs? (?:an? )?(?:deal|agreement|mou|contract) with"
    r"|se (?:asocia|al[íi]a|al[íi]an|asocian) con)\s+$", re.IGNORECASE)
# A connector after a capitalised word: what follows is the end of a longer name ("Institute for
# Solar Energy Systems", "Agencia de Desarrollo Digital").
_FRAGMENT_RE = re.compile(r"[A-ZÀ-Ý][\w'’\-]*\s+(?:of|for|de|du|des|del|de la|d['’]|l['’])\s*$")
# A quote right before a name: a product or a programme ('Mowatin AI', « Cap IA »), not a company.
_QUOTED_RE = re.compile(r"['‘’\"“«]\s*$")
# A noun right after a name makes it a modifier ("Accra AI research centre", "Atlas Cloud programme").
_MODIFIES_RE = re.compile(
    r"\s+(?:research|innovation|training|data|computing)?\s*(?:cent(?:re|er)s?|labs?|laborator(?:y|ies)|hubs?|campus"
    r"|programmes?|programs?|strateg(?:y|ies)|initiatives?|weeks?|summits?|forums?|conferences?|laws?"
    r"|models?|chatbots?|assistants?|platforms?|projects?|awards?|prizes?|challenges?|hackathons?|festivals?"
    r"|days|expo|fund)(?!\w)")
# A byline or credit right before a name ("Par Rédaction Atlas Tech", "\nBy Maghreb Wire").
_BYLINE_RE = re.compile(r"(?:(?:^|\n)\s*(?:par|by|por)|(?<!\w)(?:r[ée]daction|source|cr[ée]dit|credit|photo)|©)"
                        r"\s*:?\s*$", re.IGNORECASE)
# What follows the subject of a headline ("X s'allie à", "X signs", "X et Y signent").
_SUBJECT_VERB_RE = re.compile(
    r"\s+(?:s['’]all(?:ie|ient)|s['’]associ(?:e|ent)|sign(?:e|ent|s)|conclut|noue|lance|partners|teams up"
    r"|joins forces|inks|launches|se asocia|se al[íi]a|firma|lanza|et|and|y)(?!\w)")
_CAMEL_RE = re.compile(r"^(?!Mc|Mac)[A-Z][a-z]{2,}[A-Z][A-Za-z]+$")


def _latin_script(text: str) -> bool:
    arabic = len(_ARABIC_RE.findall(text))
    return arabic == 0 or sum(c.isalpha() for c in text) > 3 * arabic


def _unglue(word: str) -> str:
    """"l'Atlas" -> "Atlas" (French elision inside a name)."""
    return word[2:] if len(word) > 2 and word[:2].lower() in ("l'", "d'", "l’", "d’") else word


def _is_name_word(word: str) -> bool:
    """A capitalised word that can be part of a name: every hyphen part capitalised ("Coca-Cola",
    not "Toronto-based" or "Start-up"), no English possessive, no stop word."""
    if not word or not word[0].isupper() or word.endswith(("'s", "’s")):
        return False
    if any(part and not (part[0].isupper() or part[0].isdigit()) for part in word.split("-")[1:]):
        return False
    return normalise(word) not in _STOP_WORDS or word in ORG_WORDS


def _at_sentence_start(text: str, start: int) -> bool:
    before = text[:start].rstrip(" \t")
    return not before or before[-1] in _SENTENCE_MARKS


def _title_case(title: str) -> bool:
    """Whether a headline capitalises its content words ("Nador West Med Signs Container Terminal
    Concession"): then capitals prove nothing about names."""
    words = [w for w in _TOKEN_RE.findall(title)[1:] if len(w) >= 4 and w[0].isalpha()
             and normalise(w) not in _FUNCTION_WORDS and w not in ORG_WORDS]
    return len(words) >= 3 and 4 * sum(w[0].islower() for w in words) < len(words)


def _strip_copies(lead: str, title: str) -> str:
    """The lead without the page's repeats of its own headline (outlets print it above the text)."""
    return re.sub(r"\s+".join(re.escape(w) for w in title.split()), " \n ", lead)


def _written_mid_sentence(name: str, text: str) -> bool:
    """Whether ``text`` writes ``name`` exactly (case kept) somewhere other than a sentence start."""
    pattern = re.compile(r"(?<![\w'’])" + r"\s+".join(re.escape(w) for w in name.split()) + r"(?![\w'’])")
    return any(not _at_sentence_start(text, m.start()) for m in pattern.finditer(text))


def _candidates(text: str) -> list[tuple[str, int, bool]]:
    """(name, start, needs proof) for each organisation-like run of capitalised words in ``text``.

    A run is a sequence of name words separated by spaces only; it is a candidate when it ends with
    ORG_WORDS after one to three other words, follows a company noun (one to four words), or is one
    camel-cased word after a partnership cue. Runs at a sentence start need proof (see discover()).
    """
    tokens = list(_TOKEN_RE.finditer(text))
    runs: list[list[re.Match[str]]] = []
    for tok in tokens:
        if not _is_name_word(tok.group()):
            runs.append([])
            continue
        if runs and runs[-1] and not text[runs[-1][-1].end():tok.start()].strip(" \t"):
            runs[-1].append(tok)
        else:
            runs.append([tok])
    out: list[tuple[str, int, bool]] = []
    for run in (r for r in runs if r):
        words = [t.group() for t in run]
        start, end = run[0].start(), run[-1].end()
        name, before = text[start:end], text[max(0, start - 60):start]
        if _FRAGMENT_RE.search(before) or _QUOTED_RE.search(before) or _MODIFIES_RE.match(text, end):
            continue
        heads = len(words)
        while heads and words[heads - 1] in ORG_WORDS:
            heads -= 1
        # "AI Compute Lab", "500 MW AI": a name starts with a word of its own, not an organisation word
        # or a unit.
        if 1 <= heads <= 3 and heads < len(words) and words[0] not in ORG_WORDS and len(words[0]) > 2:
            out.append((name, start, _at_sentence_start(text, start)))
        elif _TYPE_CUE_RE.search(before) and len(words) <= 4:
            out.append((name, start, False))
        elif _PARTNER_CUE_RE.search(before) and len(words) == 1 and _CAMEL_RE.match(words[0]):
            out.append((name, start, False))
    return out


_CACHE: dict[tuple[str, int, int], Gazetteer] = {}
_CACHE_LOCK = threading.Lock()


def default_gazetteer(path: Path | str | None = None) -> Gazetteer:
    """The topic's gazetteer: ``path``, else WATCH_GAZETTEER_FILE, else config/gazetteer.yaml of the project."""
    if path is None:
        path = os.environ.get("WATCH_GAZETTEER_FILE") or project_root() / "config" / "gazetteer.yaml"
    return Gazetteer.load(Path(path))
