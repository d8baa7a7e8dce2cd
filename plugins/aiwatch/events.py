"""Partnership events: which relevant reports tell the same partnership, so Slack hears once.

One MoU is reported by several outlets, in French, Arabic, English and Spanish, over several days;
each report must land in one event, and two partnerships that share a party or a week must stay
two. An event's identity is its *parties, both sides* (a ministry × a university is as much an event
as Morocco × OpenAI), compared through the language-independent facts of :mod:`aiwatch.evidence`.

Two reports are compared (:func:`compare`) within a time window:

* **Conflict.** Each names a main party (or describes one: "a US start-up") that the other neither
  names nor describes, or names only in passing (an attendee), and at least one of those is truly
  absent from the other: two different deals ("OCP × Microsoft" and "Maroc Telecom × Microsoft";
  "ministry × CNDP" and "ministry × Mistral AI" the next day). Headline places that differ
  (Dakhla vs Nador) count the same way. A conflict keeps the two apart whatever else they share.
* **Link.** Otherwise the shared evidence is scored: a main party of both (a foreign company counts
  most, a ministry least: it signs many deals), a party main in one and present in the other, a
  description that fits the other's party, an unknown organisation named in both (across scripts,
  by transliteration skeleton), figures ("500 MW"), other shared names, similar text in the same
  language, the same kind, nearness in time. A score of LINK or more is a link.

Grouping (:func:`resolve`) is order-independent: every candidate pair is scored, links are taken
strongest first (ties broken by content, never by arrival order) and two groups merge unless a
conflict separates any two of their members (single linkage with cannot-links); an existing event
never merges with another, so an alert posted stays the only alert. A report that fits nothing
opens a new event, keyed by its article, so a re-run finds the event it made before.

Everything here is pure: evidence in, decisions out; the store and Slack live elsewhere.
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from aiwatch import quantities, translit
from aiwatch.discovery import ORG_WORDS as _ORG_WORDS
from aiwatch.evidence import Evidence, similarity
from aiwatch.gazetteer import Entry, Gazetteer
from aiwatch.kinds import KIND_LABELS, KINDS, event_kind, most_specific
from classifiers.normalise import normalise

__all__ = ["KINDS", "KIND_LABELS", "event_kind", "most_specific", "DEFAULT_WINDOW", "LINK", "Report", "EventState",
           "Link", "Decision", "compare", "resolve", "headline", "sides", "event_key", "content_key"]

log = logging.getLogger(__name__)

DEFAULT_WINDOW = timedelta(days=10)
#: Score at or above which two reports without conflict tell one partnership.
LINK = 3.0
#: Same-language word cosine (aiwatch.evidence.similarity) that counts as similar / very similar text.
SIMILAR, VERY_SIMILAR = 0.28, 0.45
# What a shared main party is worth, by what it is.
_SHARED_FOREIGN = 4.0
_SHARED_MOROCCAN = 3.0
_SHARED_STATE = 2.5
_SHARED_PLACE = 1.5
_PRESENT_IN_OTHER = 1.0
_ORGANISATION = 3.0
_DESCRIPTION = 2.0
_FIGURE, _FIGURES_MAX = 2.0, 4.0
_HEADLINE_FIGURE = 1.0
_NAME, _NAMES_MAX = 1.5, 3.0
_SAME_KIND = 0.5
_CLOSE_IN_TIME, _CLOSE = 0.5, timedelta(hours=36)
_FAR_IN_TIME, _FAR = -1.0, timedelta(days=5)
#: A report with less body than this is headline-only: what it does not name, it may still be about.
BRIEF_CHARS = 200
# Weight (summed over an event's reports) a non-main party needs to stand as the other side.
_SECOND_PARTY_WEIGHT = 1.5


@dataclass(frozen=True)
class Report:
    """One relevant article to place: its id, its evidence, and ``key``, a digest of its content
    that breaks ties the same way whatever order the reports come in."""

    article_id: int
    evidence: Evidence
    key: str


def content_key(title: str, text: str, url: str = "") -> str:
    """The tie-breaking key of a report: a digest of what it says, not of when it arrived."""
    return hashlib.sha1(f"{title}\n{text}\n{url}".encode("utf-8", "replace")).hexdigest()[:16]


@dataclass(frozen=True)
class EventState:
    """An existing event with the evidence of each of its reports (first report first)."""

    event_id: int
    key: str
    members: tuple[Evidence, ...]
    first_seen: datetime
    last_seen: datetime


@dataclass(frozen=True)
class Link:
    """How two reports compare: ``score`` (LINK or more: one partnership), ``conflict`` (why they
    cannot be one, or None), and ``why``, the evidence in words for the log and the operator."""

    score: float
    conflict: str | None = None
    why: tuple[str, ...] = ()

    @property
    def linked(self) -> bool:
        return self.conflict is None and self.score >= LINK


@dataclass(frozen=True)
class Decision:
    """Where a report goes: ``event_id`` of an existing event, or None for a new event, which all
    reports of one ``group`` share (its first report is ``first``). ``reason`` says why, in words."""

    article_id: int
    event_id: int | None
    group: int
    first: bool
    reason: str
    score: float = 0.0


# --- comparing two reports ------------------------------------------------------------------------


@lru_cache(maxsize=8192)
def _words_keys(name: str) -> frozenset[str]:
    keys = set()
    for word in name.split():
        if len(word) >= 2 and word.isupper():
            keys.add(normalise(word))    # an acronym is its own key ("IAI" has no consonant skeleton)
        elif len(key := translit.skeleton_word(word)) >= 3:
            keys.add(key)
    return frozenset(keys)


@lru_cache(maxsize=8192)
def _entry_keys(display: str, name: str, acronym: str | None) -> frozenset[str]:
    """The word keys of a party's display name, canonical name and acronym together."""
    return _words_keys(display) | _words_keys(name) | (_words_keys(acronym) if acronym else frozenset())


def _keys_named(keys: frozenset[str], ev: Evidence, memo: dict[Any, Any]) -> bool:
    """Whether ``ev`` writes a name, given by its word ``keys`` (:func:`_words_keys`), in its names
    or (Arabic script) its words, by skeleton (short keys never match fuzzily).

    Each key's fuzzy answer is kept in ``memo`` (``ev``'s, see :func:`_memo`): the words of party
    names recur (ministère, agence, université) and grouping asks them of every report."""
    if not keys:
        return False
    if not keys.isdisjoint(ev.key_pool):
        return True
    long_keys = ev.long_keys
    if not long_keys:
        return False
    for k in keys:
        found = memo.get(("key", k))
        if found is None:
            found = memo[("key", k)] = translit.matches_any(k, long_keys)
        if found:
            return True
    return False


def _describes(g: Gazetteer, descriptor: tuple[str, str], entry: Entry) -> bool:
    """Whether a description ("French operator") fits a party: its country, or the country of a
    body it belongs to (Orange Maroc is a subsidiary of the French Orange)."""
    country, label = descriptor
    if entry.generic:
        return False
    described = g.descriptors.get(label)
    if described is not None and described.kinds and entry.kind not in described.kinds and not entry.is_country:
        return False   # "a US university" is not Microsoft
    if entry.country == country and (entry.side == "foreign" or country == g.home):
        return True
    return any((parent := g.get(a)) is not None and parent.country == country for a in g.ancestors(entry.name))


@dataclass
class _Side:
    """What one report leaves unexplained in the other, and what the other only mentions."""

    absent: list[str] = field(default_factory=list)
    passing: list[str] = field(default_factory=list)
    replaced: bool = False    # the other's headline names another deal (see _replaced_in_title)


def _explained(g: Gazetteer, a: Evidence, b: Evidence, memo: dict[Any, Any]) -> tuple[_Side, list[str]]:
    """How far ``b`` accounts for the main parties, organisations and descriptions of ``a``; the
    second value lists the evidence that ``b`` does account for (for the link's score and reasons).

    Places never count as missing (a report names where, or not; see the title-place rule of
    :func:`compare`), and a headline-only ``b`` misses nothing: a headline cannot name everyone.
    """
    side = _Side()
    matched: list[str] = []
    brief = b.body_chars < BRIEF_CHARS
    unknown: list[Entry] | None = None     # b's headline parties that a never mentions, when asked
    for party in a.main:
        found = memo.get(party)    # the same party is asked of the same report for every pair: kept
        if found is None:
            found = memo[party] = _party_status(g, party, b, memo)
        status, text = found
        if status == "matched":
            matched.append(text)
        elif status == "passing":
            side.passing.append(text)
        elif status == "missing":
            if unknown is None and party in a.title_parties:
                unknown = [e for e in _title_deal(g, b, memo)[0] if not g.related_to_any(e.name, a.party_set)]
            if unknown is not None and _replaced_in_title(g, party, a, b, unknown, memo):
                side.replaced = True
                side.absent.append(text)
            elif not brief:
                side.absent.append(text)
    for name in a.organisations:
        status, text = _organisation_in(g, name, b)
        if status == "matched":
            matched.append(text)
        elif not brief:
            side.absent.append(text)
    for descriptor in a.descriptors:
        if not brief and not _description_in(g, descriptor, b):
            side.absent.append(f"a {g.adjective(descriptor[0])} {descriptor[1]}")
    return side, matched


def _organisation_in(g: Gazetteer, name: str, b: Evidence) -> tuple[str, str]:
    """Whether ``b`` names an unknown organisation (across scripts, or as the longer form of one
    name) or describes it as foreign: ("matched", reason) or ("missing", name); kept with ``b``."""
    memo = _memo(g, b)
    found = memo.get(("org", name))
    if found is None:
        if any(translit.same_name(name, other) or _same_organisation(name, other) for other in b.organisations) \
                or _keys_named(_words_keys(name), b, memo):
            found = ("matched", f"organisation {name}")
        elif any(country != g.home for country, _ in b.descriptors):
            found = ("matched", f"{name} described as {_description(g, b.descriptors)}")
        else:
            found = ("missing", name)
        memo[("org", name)] = found
    return found


def _description_in(g: Gazetteer, descriptor: tuple[str, str], b: Evidence) -> bool:
    """Whether ``b`` accounts for a description ("a US start-up"): the home country's own, a party
    of ``b`` it fits (counted from ``b``'s side), the same nationality, or an unknown organisation."""
    memo = _memo(g, b)
    found = memo.get(("desc", descriptor))
    if found is None:
        country, _ = descriptor
        found = (country == g.home
                 or any(_describes(g, descriptor, e) for p in b.parties if (e := g.get(p)) is not None)
                 or any(d[0] == country for d in b.descriptors) or bool(b.organisations))
        memo[("desc", descriptor)] = found
    return found


def _memo(g: Gazetteer, ev: Evidence) -> dict[Any, Any]:
    """Answers about one report kept with it, for one gazetteer (Evidence is immutable; the memo
    is not a field, so equality and the stored form ignore it)."""
    held = ev.__dict__.get("_memo")
    if held is None or held[0] is not g:
        held = ev.__dict__["_memo"] = (g, {})
    return held[1]


def _party_status(g: Gazetteer, party: str, b: Evidence, memo: dict[Any, Any]) -> tuple[str, str]:
    """How report ``b`` accounts for ``party`` (a main party of another report): "main" (one of
    its main parties), "place" (a place: never missing), "passing", "matched" (described or named
    by skeleton), "covered" (a country whose company ``b`` names) or "missing"; with the words for
    the reasons. ``memo`` is ``b``'s (see :func:`_memo`), where :func:`_explained` keeps the answer."""
    entry = g.get(party)
    shown = g.display_name(party)
    if g.related_to_any(party, b.main_set):
        return "main", shown
    if entry is not None and entry.is_place:
        return "place", shown
    if g.related_to_any(party, b.party_set):
        return "passing", shown
    if entry is None:
        return "missing", shown
    if any(_describes(g, d, entry) for d in b.descriptors):
        return "matched", f"{shown} described as {_description(g, b.descriptors, entry)}"
    if _keys_named(_entry_keys(entry.display or entry.name, entry.name, entry.acronym), b, memo):
        return "matched", f"{shown} named"
    if entry.is_country and (b.organisations or any(
            (e := g.get(p)) is not None and e.side == "foreign" and not e.generic and e.country == entry.country
            for p in b.parties)):
        return "covered", shown   # "Israel" where the other names an Israeli company or an unknown one
    return "missing", shown


def _replaced_in_title(g: Gazetteer, party: str, a: Evidence, b: Evidence, unknown_to_a: Sequence[Entry],
                       memo: dict[Any, Any] | None = None) -> bool:
    """A headline names its deal's parties. ``party``, named in ``a``'s headline, is missing from
    ``b`` even when ``b`` is only a headline, if ``b``'s headline names another party of the same
    side that ``a`` never mentions ("OCP et Microsoft..." vs "Maroc Telecom et Microsoft...") or
    names both sides of its own deal ("La CNDP et le ministère..." vs "Le Maroc et Mistral AI...")."""
    entry = g.get(party)
    if entry is None or party not in a.title_parties:
        return False
    _, both_sides = _title_deal(g, b, memo)
    if any(e.side == entry.side for e in unknown_to_a):
        return True
    return both_sides and bool(unknown_to_a)


def _headline_figures(g: Gazetteer, ev: Evidence) -> frozenset[str]:
    """The figures of a report's headline (the first line of its signature); kept with the report."""
    memo = _memo(g, ev)
    found = memo.get(":figures")
    if found is None:
        headline = ev.signature.split("\n", 1)[0]
        found = memo[":figures"] = frozenset(str(f) for f in quantities.reader(g.settings).figures(headline))
    return found


def _title_deal(g: Gazetteer, b: Evidence, memo: dict[Any, Any] | None = None) -> tuple[tuple[Entry, ...], bool]:
    """The parties ``b``'s headline names (places and generic names aside), and whether they are two
    distinct bodies at least (the headline names a whole deal); kept with the report."""
    memo = _memo(g, b) if memo is None else memo
    found = memo.get(":title")
    if found is None:
        named = tuple(e for p in b.title_parties if (e := g.get(p)) is not None and not e.is_place and not e.generic)
        distinct: list[Entry] = []
        for e in named:
            if not any(g.related(e.name, d.name) for d in distinct):
                distinct.append(e)
        found = memo[":title"] = (named, len(distinct) >= 2)
    return found


def _same_organisation(a: str, b: str) -> bool:
    """"AXA" and "AXA Group", "Current AI" and "Current AI Foundation": one name is the other's
    first words (organisation words aside)."""
    wa = [w for w in normalise(a).split()]
    wb = [w for w in normalise(b).split()]
    short, long_ = (wa, wb) if len(wa) <= len(wb) else (wb, wa)
    return bool(short) and long_[:len(short)] == short and all(
        w.upper() in _ORG_WORDS or w.capitalize() in _ORG_WORDS or w in _ORG_WORDS for w in long_[len(short):])


def _description(g: Gazetteer, descriptors: Sequence[tuple[str, str]], entry: Entry | None = None) -> str:
    for country, label in descriptors:
        if entry is None or _describes(g, (country, label), entry):
            return f"{g.adjective(country)} {label}"
    return "a foreign party"


def _title_places(g: Gazetteer, ev: Evidence, memo: dict[Any, Any] | None = None) -> list[str]:
    """The Moroccan cities and regions of a report's headline; kept with the report."""
    memo = _memo(g, ev) if memo is None else memo
    found = memo.get(":places")
    if found is None:
        found = memo[":places"] = [p for p in ev.title_parties if (e := g.get(p)) is not None
                                   and e.side == "moroccan" and e.kind in ("city", "region")]
    return found


def _shared_value(g: Gazetteer, party: str) -> float:
    entry = g.get(party)
    if entry is None:
        return _SHARED_MOROCCAN
    if entry.is_place or entry.is_country:
        return _SHARED_PLACE
    if entry.side == "foreign":
        return _SHARED_FOREIGN
    return _SHARED_STATE if entry.state else _SHARED_MOROCCAN


def compare(a: Evidence, b: Evidence, g: Gazetteer, *, window: timedelta = DEFAULT_WINDOW) -> Link:
    """Whether two reports tell one partnership (see the module docstring)."""
    gap = abs(a.seen_at - b.seen_at)
    if gap > window:
        return Link(0.0, None, (f"{gap.days} days apart",))
    memo_a, memo_b = _memo(g, a), _memo(g, b)
    side_a, found_a = _explained(g, a, b, memo_b)
    side_b, found_b = _explained(g, b, a, memo_a)
    places_a, places_b = _title_places(g, a, memo_a), _title_places(g, b, memo_b)
    if places_a and places_b and not any(g.related(p, q) for p in places_a for q in places_b):
        for places, other, side in ((places_a, b, side_a), (places_b, a, side_b)):
            side.absent += [g.display_name(p) for p in places if not g.related_to_any(p, other.party_set)]
    if (side_a.replaced or side_b.replaced or (side_a.absent and (side_b.absent or side_b.passing))
            or (side_b.absent and (side_a.absent or side_a.passing))):
        return Link(0.0, f"different parties: {_listed(side_a)} vs {_listed(side_b)}")
    score = 0.0
    why: list[str] = []
    shared: list[str] = []
    # The statuses _explained just asked: a main party of one that is main in the other is shared.
    for party in a.main:
        if memo_b[party][0] == "main" and not any(g.related(party, s) for s in shared):
            shared.append(party)
    for party in b.main:
        if memo_a[party][0] == "main" and not any(g.related(party, s) for s in shared):
            shared.append(party)
    if shared:
        score += sum(_shared_value(g, p) for p in shared)
        why.append("shared " + " & ".join(g.display_name(p) for p in shared))
    passing = side_a.passing + side_b.passing
    if passing:
        score += _PRESENT_IN_OTHER * len(passing)
        why.append("also named " + " & ".join(passing))
    for found in found_a + found_b:
        score += _ORGANISATION if found.startswith("organisation ") else _DESCRIPTION
    if found_a or found_b:
        why.append("; ".join(found_a + found_b))
    figures = sorted(a.figures & b.figures)
    if figures:
        score += min(_FIGURES_MAX, _FIGURE * len(figures))
        why.append("figures " + ", ".join(figures))
        if set(figures) & _headline_figures(g, a) & _headline_figures(g, b):
            score += _HEADLINE_FIGURE    # "200 000 enfants" / "200.000 niños" in both headlines
            why.append("the same figure in both headlines")
    names = (a.name_keys & b.name_keys) | (a.name_keys & b.script_keys) | (a.script_keys & b.name_keys)
    if names:
        score += min(_NAMES_MAX, _NAME * len(names))
        why.append(f"{len(names)} shared name{'s' if len(names) != 1 else ''}")
    if a.lang and a.lang == b.lang:
        sim = similarity(a.signature, b.signature, g.common_words)
        if sim >= SIMILAR:
            score += 3.5 if sim >= VERY_SIMILAR else 2.5
            why.append(f"similar text {sim:.2f}")
    if a.kind == b.kind and a.kind != "partnership":
        score += _SAME_KIND
    if gap <= _CLOSE:
        score += _CLOSE_IN_TIME
    elif gap > _FAR:
        score += _FAR_IN_TIME
    why.append(_days(gap))
    return Link(round(score, 2), None, tuple(why))


def _listed(side: _Side) -> str:
    items = side.absent + [f"{p} (in passing)" for p in side.passing]
    return " & ".join(items) or "nothing"


def _days(delta: timedelta) -> str:
    days = abs(delta).total_seconds() / 86400
    return "the same day" if days < 1 else f"{days:.0f} day{'s' if round(days) != 1 else ''} apart"


# --- grouping -------------------------------------------------------------------------------------


@dataclass
class _Group:
    members: list[int]            # node indexes
    event: int | None             # node index of the existing event in it


def resolve(reports: Sequence[Report], events: Sequence[EventState], g: Gazetteer, *,
            window: timedelta = DEFAULT_WINDOW) -> list[Decision]:
    """Place every report: into an existing event, or into new events shared with other reports.

    The result does not depend on the order of ``reports`` or ``events``. Returns one decision per
    report, in the order given.
    """
    # Nodes: one per event (its members' evidence), one per report.
    ordered_events = sorted(events, key=lambda e: e.key)
    ordered_reports = sorted(reports, key=lambda r: (r.evidence.seen_at, r.key))
    nodes: list[tuple[str, tuple[Evidence, ...]]] = [(f"event:{e.key}", e.members) for e in ordered_events]
    nodes += [(f"report:{r.key}", (r.evidence,)) for r in ordered_reports]
    n_events = len(ordered_events)
    links: dict[tuple[int, int], Link] = {}

    def link(i: int, j: int) -> Link:
        if i > j:
            i, j = j, i
        found = links.get((i, j))
        if found is None:
            found = _node_link(nodes[i][1], nodes[j][1], g, window)
            links[(i, j)] = found
        return found

    pairs = _candidate_pairs(nodes, n_events, g, window)
    edges = []
    for i, j in pairs:
        found = link(i, j)
        if found.linked:
            edges.append((-found.score, min(nodes[i][0], nodes[j][0]), max(nodes[i][0], nodes[j][0]), i, j))
    edges.sort()
    group_of = list(range(len(nodes)))
    groups = {i: _Group([i], i if i < n_events else None) for i in range(len(nodes))}
    for _, _, _, i, j in edges:
        gi, gj = group_of[i], group_of[j]
        if gi == gj:
            continue
        a, b = groups[gi], groups[gj]
        if a.event is not None and b.event is not None:
            continue   # two existing events never merge: each already has its alert
        if any(link(x, y).conflict for x in a.members for y in b.members):
            continue
        a.members += b.members
        a.event = a.event if a.event is not None else b.event
        for member in b.members:
            group_of[member] = gi
        del groups[gj]
    decisions: dict[str, Decision] = {}
    for gid, group in groups.items():
        report_nodes = sorted((m for m in group.members if m >= n_events),
                              key=lambda m: (ordered_reports[m - n_events].evidence.seen_at, nodes[m][0]))
        for position, node in enumerate(report_nodes):
            report = ordered_reports[node - n_events]
            others = [m for m in group.members if m != node]
            event = ordered_events[group.event] if group.event is not None else None
            reason, score = _reason(node, others, link, links, event, position == 0, ordered_events)
            decisions[report.key + f"|{report.article_id}"] = Decision(
                article_id=report.article_id, event_id=event.event_id if event is not None else None, group=gid,
                first=event is None and position == 0, reason=reason, score=score)
    return [decisions[r.key + f"|{r.article_id}"] for r in reports]


def _node_link(a: Sequence[Evidence], b: Sequence[Evidence], g: Gazetteer, window: timedelta) -> Link:
    """Two nodes (an event's reports, or one report) compared: any conflict between their reports
    keeps them apart; otherwise the strongest link between two of their reports counts."""
    best: Link | None = None
    for x in a:
        for y in b:
            found = compare(x, y, g, window=window)
            if found.conflict:
                return found
            if best is None or found.score > best.score:
                best = found
    return best or Link(0.0)


def _candidate_pairs(nodes: Sequence[tuple[str, tuple[Evidence, ...]]], n_events: int, g: Gazetteer,
                     window: timedelta) -> list[tuple[int, int]]:
    """Pairs of nodes worth comparing: at least one report in them, within the window of each other,
    and sharing some evidence (a party or its parent, a figure, a name, a description and a party
    or organisation it may stand for, or a content word). Events are not compared with each other.

    Some keys pair only across roles: an Arabic word's skeleton with a Latin name (two Arabic
    reports share words through their content words already), a described nationality with a
    foreign party of that country (two US companies are no evidence of one deal). A description
    and an unknown organisation sharing nothing else are not compared: "a US start-up" and any
    unknown name the same day would be a guess, not evidence."""
    postings: dict[str, dict[str, list[int]]] = defaultdict(lambda: {"both": [], "a": [], "b": []})
    spans: list[tuple[datetime, datetime]] = []
    for index, (_, members) in enumerate(nodes):
        keys: dict[str, set[str]] = defaultdict(set)
        for ev in members:
            for key, role in _blocking_keys(ev, g):
                keys[key].add(role)
        for key, roles in keys.items():
            for role in ("both",) if "both" in roles or roles == {"a", "b"} else roles:
                postings[key][role].append(index)
        times = [ev.seen_at for ev in members]
        spans.append((min(times), max(times)))
    pairs: set[tuple[int, int]] = set()

    def add(i: int, j: int) -> None:
        if i == j or (i < n_events and j < n_events):
            return
        (si, ei), (sj, ej) = spans[i], spans[j]
        if sj - ei > window or si - ej > window:
            return
        pairs.add((i, j) if i < j else (j, i))

    # A word or name in many reports (the topic's own vocabulary: "memorandum", الانتقال) tells
    # no story from another: such keys are dropped, as blocking does with stop words.
    crowded = max(_CROWDED_MIN, int(_CROWDED_SHARE * len(nodes)))
    for key, roles in postings.items():
        both, left, right = roles["both"], roles["a"], roles["b"]
        if key[:2] in ("w:", "n:") and len(both) + len(left) + len(right) > crowded:
            continue

        for x, i in enumerate(both):
            for j in both[x + 1:]:
                add(i, j)
            for j in left:
                add(i, j)
            for j in right:
                add(i, j)
        for i in left:
            for j in right:
                add(i, j)
    return sorted(pairs)


_WORDS_FOR_BLOCKING = 12
_CROWDED_MIN = 12
_CROWDED_SHARE = 0.04


def _blocking_keys(ev: Evidence, g: Gazetteer) -> set[tuple[str, str]]:
    """(key, role) pairs of a report: nodes sharing a key in role "both", or one in "a" and the other
    in "b", are compared."""
    keys: set[tuple[str, str]] = set()
    for party in ev.main:
        keys.add((f"p:{party}", "both"))
        keys.update((f"p:{a}", "both") for a in g.ancestors(party))
    for party in ev.parties:
        entry = g.get(party)
        if entry is not None and not entry.generic:
            keys.add((f"p:{party}", "both"))
    keys.update((f"n:{k}", "both") for k in ev.name_keys)
    keys.update((f"n:{k}", "b") for k in ev.script_keys - ev.name_keys)
    keys.update((f"f:{f}", "both") for f in ev.figures)
    for country, label in ev.descriptors:
        described = g.descriptors.get(label)
        for kind in described.kinds if described is not None and described.kinds else ("*",):
            keys.add((f"c:{country}:{kind}", "a"))
    for party in ev.main:
        entry = g.get(party)
        if entry is not None and entry.side == "foreign":
            keys.add((f"c:{entry.country}:{entry.kind}", "b"))
            keys.add((f"c:{entry.country}:*", "b"))
    words = [w for w in ev.signature.split() if len(w) >= 5 and w not in g.common_words]
    keys.update((f"w:{ev.lang}:{w}", "both")
                for w in sorted(set(words), key=lambda w: (-len(w), w))[:_WORDS_FOR_BLOCKING])
    return keys


def _reason(node: int, others: Sequence[int], link, links: Mapping[tuple[int, int], Link],  # type: ignore[no-untyped-def]
            event: EventState | None, first: bool, events: Sequence[EventState]) -> tuple[str, float]:
    """Why a report went where it did, in words an operator can check."""
    best = None
    for other in others:
        found = link(node, other)
        if found.linked and (best is None or found.score > best[1].score):
            best = (other, found)
    if event is not None and best is not None:
        return f"joined event {event.event_id}: {'; '.join(best[1].why)} (score {best[1].score:.1f})", best[1].score
    if not first and best is not None:
        return f"joined a new event with another report: {'; '.join(best[1].why)} (score {best[1].score:.1f})", \
            best[1].score
    # First report of a new event: say why the recent events it was compared with did not take it.
    notes = []
    for index, state in enumerate(events):
        found = links.get((index, node))
        if found is None:
            continue
        if found.conflict:
            notes.append((0, f"event {state.event_id} kept apart ({found.conflict})"))
        elif found.score > 0:
            notes.append((1, f"event {state.event_id} too weak (score {found.score:.1f}: {'; '.join(found.why)})"))
    if notes:
        return "new event; " + "; ".join(text for _, text in sorted(notes)[:3]), 0.0
    return "new event: no recent event shares a party, organisation, figure or name", 0.0


def event_key(article_id: int, members: Sequence[Evidence] = ()) -> str:
    """Stable key of a new event: its first article's id (a re-run finds the event it made)."""
    return f"article:{article_id}"


# --- headlines ------------------------------------------------------------------------------------


def _side_weights(g: Gazetteer, members: Sequence[Evidence]) -> Counter[str]:
    totals: Counter[str] = Counter()
    for ev in members:
        for party in ev.main:
            totals[party] += ev.parties.get(party, 1.0) + 1.0
    return totals


def sides(g: Gazetteer, members: Sequence[Evidence]) -> tuple[list[str], list[str]]:
    """The two sides of an event as headline labels, best first: (Moroccan side, other side).

    The other side is the foreign parties; failing those, unknown organisations named in the
    reports, foreign states, then a description ("US start-up"). With no foreign side, the deal is
    between Moroccan parties: the other side is the second Moroccan party, where State bodies facing
    a non-State party show as the government ("Région Souss-Massa × Government").
    """
    totals = _side_weights(g, members)
    ranked = [p for p, _ in sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))]
    foreign = [p for p in ranked if (e := g.get(p)) is not None and e.side == "foreign" and not e.is_country]
    states = [p for p in ranked if (e := g.get(p)) is not None and e.side == "foreign" and e.is_country]
    moroccan = [p for p in ranked if (e := g.get(p)) is not None and e.side == "moroccan"]
    organisations = Counter(o for ev in members for o in ev.organisations)
    subjects = Counter(ev.subject for ev in members if ev.subject)
    other: list[str] = []
    if foreign:
        best = totals[foreign[0]]
        other = [g.display_name(p) for p in foreign[:3] if totals[p] >= 0.6 * best][:2]
    elif organisations:
        other = [organisations.most_common(1)[0][0]]
    elif states:
        other = [g.display_name(states[0])]
    else:
        described = Counter(d for ev in members for d in ev.descriptors if d[0] != g.home)
        if described:
            (country, label), _ = described.most_common(1)[0]
            other = [f"{g.adjective(country)} {label}"]
    non_state = [p for p in moroccan if not g.entry(p).state and not g.entry(p).is_place]
    state = [p for p in moroccan if g.entry(p).state]
    places = [p for p in moroccan if g.entry(p).is_place]
    ours: list[str] = []
    if other:
        if non_state:
            ours = [g.display_name(non_state[0])]
        elif subjects:
            ours = [subjects.most_common(1)[0][0]]
        else:
            ours = [g.country]
        return ours, other
    # Moroccan parties on both sides.
    distinct: list[str] = []
    for party in non_state + state + places:
        if not any(g.related(party, d) for d in distinct):
            distinct.append(party)
    if subjects and not non_state:
        distinct.insert(0, subjects.most_common(1)[0][0])
    if len(distinct) >= 2:
        first, second = distinct[0], distinct[1]
        first_entry, second_entry = g.get(first), g.get(second)
        if first_entry is not None and not first_entry.state and second_entry is not None and second_entry.state:
            return [g.display_name(first)], [g.government]
        return [g.display_name(first)], [g.display_name(second)]
    if distinct:
        first = distinct[0]
        second = _second_party(g, members, first)
        return [g.display_name(first)], [second] if second else []
    return [g.country], []


def _second_party(g: Gazetteer, members: Sequence[Evidence], first: str) -> str | None:
    """The other side when the reports' main parties are one body: the party they name most
    beside it (a ministry in the lead: "Orange Morocco × Government"; a city in a headline), else
    a name several reports write (an unknown company: "UM6P × Africorp")."""
    first_entry = g.get(first)
    totals: Counter[str] = Counter()
    for ev in members:
        for party, weight in ev.parties.items():
            entry = g.get(party)
            if (entry is None or entry.generic or g.related(party, first)
                    or (entry.is_place and party not in ev.title_parties)):
                continue
            totals[party] += weight
    if totals:
        party, weight = max(totals.items(), key=lambda kv: (kv[1], kv[0]))
        if weight >= _SECOND_PARTY_WEIGHT:
            entry = g.entry(party)
            if entry.state and first_entry is not None and not first_entry.state:
                return g.government
            return g.display_name(party)
    own = _words_keys(first_entry.display or first_entry.name) | _words_keys(first) if first_entry else frozenset()
    written: Counter[str] = Counter()
    for ev in members:
        for name in dict.fromkeys(ev.names):
            keys = _words_keys(name)
            if keys and keys.isdisjoint(own):
                written[name] += 1
    recurring = [(n, c) for n, c in written.items() if c >= 2 or len(members) == 1]
    if recurring:
        return max(recurring, key=lambda nc: (nc[1], -len(nc[0]), nc[0]))[0]
    return None


def headline(g: Gazetteer, members: Sequence[Evidence]) -> str:
    """"Morocco × Mistral AI: memorandum of understanding", "Bank of Africa × ENSAM: agreement",
    "Région Souss-Massa × Government: agreement"; a side the reports never name shows as what they
    call it ("US start-up") or, failing everything, "partner not named"."""
    ours, other = sides(g, members)
    kind = most_specific(ev.kind for ev in members) if members else "partnership"
    label = KIND_LABELS.get(kind, kind)
    return f"{' & '.join(ours)} × {' & '.join(other) or 'partner not named'}: {label}"


def reports_by_event(decisions: Iterable[Decision]) -> Mapping[int, list[Decision]]:
    """Decisions grouped by their group (for tests and evaluation)."""
    out: dict[int, list[Decision]] = defaultdict(list)
    for decision in decisions:
        out[decision.group].append(decision)
    return out
