"""Partnership events: which relevant articles report the same partnership, so Slack hears once.

The same MoU is reported by several outlets, in French, Arabic, English and Spanish, on the day and
the day after; each report must land in one event. Two partnerships with different partners are two
events even on the same day. Text similarity cannot bridge languages, but partner names can: the
gazetteer recognises "Mistral AI", "ميسترال" and "Mistral" as one party. So the rules are:

1. A candidate naming partners joins the most recent event within the window that shares one,
   unless both name specific Moroccan parties, these are disjoint, and the texts are not alike
   ("OCP × Microsoft" and "Maroc Telecom × Microsoft" the same week are two events). Among the
   events it may join, one sharing a Moroccan party comes first.
2. A candidate naming no partner joins the most similar recent event when the texts are alike
   (same-language rewrites of one dispatch) and their specific Moroccan parties, if both name
   some, overlap. A candidate whose partners are new may join a partner-less event the same way.
3. Anything else is a new event, with a key that depends only on the input (partners and first
   article id), so a re-run finds the event it created before.

Partners the gazetteer lacks are discovered in Latin-script headlines (``Gazetteer.discover``) and used
when no listed partner is named: they group like listed ones (the same unknown company in two outlets
is one event, two unknown companies the same day are two), and an event's discovered partner named
early in a later report that names no partner of its own counts as shared. Headlines show State bodies as the
country ("Morocco × OpenAI: talks"), see :func:`headline`.

Everything here is pure: data in, a :class:`Placement` out; the store and Slack live elsewhere.
"""

from __future__ import annotations

import logging
import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from aiwatch.gazetteer import Gazetteer
from classifiers.normalise import normalise

log = logging.getLogger(__name__)

KINDS = ("mou", "agreement", "talks", "programme", "investment", "partnership")  # "partnership" = unspecified
KIND_LABELS = {"mou": "memorandum of understanding", "agreement": "agreement", "talks": "talks",
               "programme": "programme", "investment": "investment", "partnership": "partnership"}
DEFAULT_WINDOW = timedelta(days=10)
#: Word-cosine of two signatures (topic words removed) at or above which two texts report one story.
#: Validated in tests/test_events.py on the demo web and the seed articles: same-language rewrites of
#: one story score 0.32-0.43, different partnerships of the same weeks (which cite each other) <= 0.21.
SIMILAR = 0.28
#: Fewer distinct shared content words than this is no evidence at all (two headlines sharing "signent").
MIN_SHARED_WORDS = 3
SIGNATURE_LEAD_CHARS = 600
KIND_LEAD_CHARS = 1500

# --- kind cues ------------------------------------------------------------------------------------
# Written on normalised text (lower case, accents folded, Arabic unified: ة -> ه, أ -> ا).
_AR_PREFIX = "(?:[وف]?(?:بال|لل|ال|[بل])?)"


def _ar(*words: str) -> str:
    return "|".join(_AR_PREFIX + re.escape(normalise(w)) for w in words)


_CUES: dict[str, re.Pattern[str]] = {
    "mou": re.compile(
        r"(?<!\w)(?:memorand(?:um|ums|a|o|os)|protocoles? d'accord|protocolos? de (?:acuerdo|entendimiento)"
        r"|lettres? d'intention|letters? of intent|cartas? de intencion|mous?"
        r"|" + _ar("مذكرة تفاهم", "مذكرات تفاهم", "مذكرة التفاهم", "بروتوكول اتفاق") + r")(?!\w)"),
    "agreement": re.compile(
        r"(?<!\w)(?:(?<!d')accords?(?:-cadres?)?|conventions?|agreements?|contracts?|contrats?|deals?|pacts?|pactes?"
        r"|acuerdos?|convenios?|contratos?|" + _ar("اتفاقية", "اتفاقيات", "اتفاق", "اتفاقا", "عقد شراكة") + r")(?!\w)"),
    "talks": re.compile(
        r"(?<!\w)(?:talks|discussions?|discuss(?:es|ed|ing)?|discutent|negotiations?|negotiat(?:e|es|ing)"
        r"|negociations?|negocient|pourparlers|negociaciones|negocian|conversaciones"
        r"|" + _ar("مباحثات", "محادثات", "مفاوضات", "مشاورات") + r")(?!\w)"),
    "programme": re.compile(
        r"(?<!\w)(?:programmes?|programs?|programas?|initiatives?|iniciativas?|academ(?:y|ies|ie|ies|ia|ias)"
        r"|labs?|laboratoires?|laborator(?:y|ies|io|ios)|incubat(?:eur|eurs|or|ors)"
        r"|centres? (?:d'excellence|de recherche|d'innovation|de competences|of excellence)"
        r"|(?:research|innovation|excellence|training) cent(?:er|re)s?"
        r"|centros? de (?:investigacion|excelencia|innovacion)"
        r"|" + _ar("برنامج", "برامج", "مبادرة", "أكاديمية", "مختبر", "مختبرات", "مركز للبحث", "مركز بحث",
                   "مركز التميز", "مركز للتميز", "مركز الابتكار", "مركز للابتكار") + r")(?!\w)"),
    "investment": re.compile(
        r"(?<!\w)(?:invest(?:issements?|ments?|ir|it|ira|iront|s|ed|ing|or|ors)?|inversion(?:es)?|invertir|invierte"
        r"|invertira|" + _ar("استثمار", "استثمارات", "يستثمر", "ستستثمر", "تستثمر") + r")(?!\w)"),
}
# A cue right after one of these is denied ("no agreement was signed", "aucun accord", "وليس بعقد").
_NEGATION_RE = re.compile(
    r"(?:(?<!\w)(?:no|not|without|rather than|instead of|aucun|aucune|pas|sans|plutot qu|au lieu d|ningun|ninguna|sin"
    r"|en lugar de|لم|ليس|وليس|دون|بدون|غير|لا)(?!\w))[^.;:]{0,18}$")
_SIGNING_RE = re.compile(
    r"(?<!\w)(?:sign(?:s|ed|ing|ature|atures)?|ink(?:s|ed)?|seal(?:s|ed)?|signe(?:nt|r)?|conclu(?:t|ent|ont)?|paraphe(?:nt)?"
    r"|firma(?:n|do|ron)?|suscribe(?:n)?|" + _ar("وقع", "يوقع", "يوقعان", "توقع", "توقيع", "وقعت", "يوقعون") + r")(?!\w)")
_MOU_CASED_RE = re.compile(r"(?<![A-Za-z])(?:MoUs?|MOUs?)(?![A-Za-z])")
_PRIORITY = {kind: i for i, kind in enumerate(KINDS)}

# --- similarity -----------------------------------------------------------------------------------
_WORD_RE = re.compile(r"\w+")
# Function words of the four languages (language data, not topic data: the topic's own common words
# come from the gazetteer file).
_STOPWORDS = frozenset(normalise("""
le la les de des du un une et en au aux a à ce ces cet cette se sa son ses ne pas ou où qui que qu
d l s n y est sont été être ont avec pour par sur dans plus mais comme leur leurs entre dont lors
the of to in on an is as at by be it or but not which who also its said says after two had has have
was were are will been their than this that these those from with for and into about over under
el los las lo al es se su sus un una más sobre con por para del que como este esta estos estas
في من على إلى الى عن مع أن ان التي الذي الذين هذا هذه ذلك تلك كما بين حول خلال بعد قبل عبر وقد قد
كان كانت لم ما أو او ثم حيث وذلك إلى أي اي وهو وهي هو هي عن منذ يوم
""").split())


def signature(title: str, text: str) -> str:
    """The text an event keeps to compare later reports with: normalised headline and lead."""
    return f"{normalise(title)}\n{normalise((text or '')[:SIGNATURE_LEAD_CHARS])}".strip()


def _bag(sig: str, common: frozenset[str]) -> Counter[str]:
    return Counter(t for t in _WORD_RE.findall(sig)
                   if len(t) >= 3 and not t.isdigit() and t not in _STOPWORDS and t not in common)


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


# --- kinds ----------------------------------------------------------------------------------------

def _kinds_in(raw: str) -> set[str]:
    text = normalise(raw)
    found = set()
    for kind, regex in _CUES.items():
        for m in regex.finditer(text):
            if not _NEGATION_RE.search(text[max(0, m.start() - 40):m.start()]):
                found.add(kind)
                break
    if _MOU_CASED_RE.search(raw):
        found.add("mou")
    elif "mou" in found and not re.search(r"(?<!\w)(?:memorand|protocol|lettre|letter|carta|مذكر|بروتوكول)", text):
        found.discard("mou")  # lower-case "mou" is French for "soft": only "MoU"/"MOU" as written count
    if "talks" in found and not _SIGNING_RE.search(text):
        return {"talks"}  # "en discussions pour un accord": nothing signed yet, so talks
    return found


def _most_specific(kinds: Iterable[str]) -> str:
    return min(kinds, key=lambda k: _PRIORITY.get(k, len(KINDS)), default="partnership")


def event_kind(title: str, text: str) -> str:
    """The partnership's kind (one of KINDS) from cue words in fr/en/es/ar.

    Headline cues win over body cues (the lead often says what did *not* happen: "no agreement was
    signed"); within one of them the most specific kind wins, except that talks with no signing verb
    stay talks. Denied cues ("aucun accord", "not a purchase agreement") are ignored.
    """
    for part in (title or "", (text or "")[:KIND_LEAD_CHARS]):
        kinds = _kinds_in(part)
        if kinds:
            return _most_specific(kinds)
    return "partnership"


# --- placement ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Candidate:
    """One relevant article to place; ``seen_at`` is UTC aware."""

    article_id: int
    title: str
    text: str
    outlet: str
    lang: str | None
    seen_at: datetime


@dataclass(frozen=True)
class EventInfo:
    """An existing (recent) event; ``signature`` is what :func:`signature` gave for its first article."""

    event_id: int
    partners: tuple[str, ...]
    moroccan: tuple[str, ...]
    kind: str
    first_seen: datetime
    last_seen: datetime
    signature: str


@dataclass(frozen=True)
class Placement:
    """Where a candidate goes: ``event_id`` None means a new event, stored under ``key``.

    For a join, ``partners``/``moroccan``/``signature`` are the event's (filled from the candidate
    where the event had none) and ``kind`` is the more specific of the event's and the candidate's
    (talks that turn into an MoU upgrade the event). ``partners`` may hold discovered names (not in
    the gazetteer); ``moroccan`` only gazetteer names. ``headline`` is the alert header of the event
    as placed (:func:`headline` with the gazetteer, and the discovered Moroccan subject for a new
    event). ``reason`` is for the log.
    """

    event_id: int | None
    partners: tuple[str, ...]
    moroccan: tuple[str, ...]
    kind: str
    signature: str
    key: str
    reason: str
    headline: str


def event_key(partners: Sequence[str], article_id: int) -> str:
    """Stable key of a new event: sorted partners (or "unknown") and the first article's id."""
    return f"{'+'.join(sorted(partners)) or 'unknown'}|{article_id}"


def _days(delta: timedelta) -> str:
    days = abs(delta).total_seconds() / 86400
    return "the same day" if days < 1 else f"{days:.0f} day{'s' if round(days) != 1 else ''}"


def place(candidate: Candidate, recent: Sequence[EventInfo], gazetteer: Gazetteer, *,
          window: timedelta = DEFAULT_WINDOW) -> Placement:
    """Join the candidate to one of the ``recent`` events or open a new one (rules in the module doc)."""
    if candidate.seen_at.tzinfo is None:
        raise ValueError(f"article {candidate.article_id}: seen_at must be timezone-aware (UTC)")
    parties = gazetteer.find(candidate.title, candidate.text)
    found = gazetteer.discover(candidate.title, candidate.text, outlet=candidate.outlet)
    partners = parties.partners or found.partners
    discovered = not parties.partners and bool(found.partners)
    kind = event_kind(candidate.title, candidate.text)
    sig = signature(candidate.title, candidate.text)
    common = gazetteer.common_words
    seen = candidate.seen_at
    near = sorted((e for e in recent if e.first_seen - window <= seen <= e.last_seen + window),
                  key=lambda e: (e.last_seen, e.event_id), reverse=True)
    ours = set(parties.moroccan)
    keys = {normalise(p) for p in partners}
    # A report naming no partner of its own (an Arabic one: nothing is discovered there) shares an
    # event's discovered partner by writing its name early on ("... فيريديا لابس (Veridia Labs)").
    said = "" if partners else normalise(f"{candidate.title}\n{(candidate.text or '')[:SIGNATURE_LEAD_CHARS]}")

    def shared_with(event: EventInfo) -> list[str]:
        return [p for p in event.partners
                if normalise(p) in keys or (said and not gazetteer.known(p) and _names(said, p))]

    def join(event: EventInfo, reason: str) -> Placement:
        event_partners, event_moroccan = event.partners or partners, event.moroccan or parties.moroccan
        joined_kind = _most_specific((event.kind, kind))
        placement = Placement(event.event_id, event_partners, event_moroccan, joined_kind, event.signature or sig,
                              "", reason, headline(event_partners, event_moroccan, joined_kind, gazetteer=gazetteer))
        log.info("article=%d event=%d joined: %s", candidate.article_id, event.event_id, reason)
        return placement

    split_notes: list[str] = []
    options = []
    for event in near:
        shared = shared_with(event)
        if not shared:
            continue
        theirs = set(event.moroccan)
        score = similarity(sig, event.signature, common)
        if ours and theirs and not ours & theirs and score < SIMILAR:
            split_notes.append(f"{' & '.join(sorted(ours))} vs {' & '.join(sorted(theirs))} of event "
                               f"{event.event_id} (similarity {score:.2f})")
            continue
        options.append((bool(ours & theirs), event, shared))
    if options:
        # Most recent first (``near`` is sorted); an event sharing a Moroccan party beats recency.
        _, event, shared = max(options, key=lambda o: o[0])
        return join(event, f"same partner {' & '.join(shared)} within {_days(seen - event.last_seen)}")
    best: tuple[float, EventInfo] | None = None
    for event in near:
        if partners and event.partners:
            continue  # named, different partners: a different partnership
        theirs = set(event.moroccan)
        if ours and theirs and not ours & theirs:
            continue
        score = similarity(sig, event.signature, common)
        if score >= SIMILAR and (best is None or score > best[0]):
            best = (score, event)
    if best is not None:
        score, event = best
        return join(event, f"similar text ({score:.2f}) within {_days(seen - event.last_seen)}")
    if split_notes:
        reason = "new: different Moroccan party, " + "; ".join(split_notes)
    elif partners:
        reason = f"new: no recent event with {' & '.join(partners)}" + (" (discovered)" if discovered else "")
    else:
        reason = "new: no partner named and no similar recent event"
    # The discovered subject ("la Banque Chérifienne de l'Atlas s'allie à ...") names the Moroccan side
    # unless the headline itself names a listed, non-State Moroccan party.
    in_title = set(gazetteer.find(candidate.title).mentioned_moroccan)
    local = None if any(gazetteer.display_name(m) == m for m in in_title & ours) else found.moroccan
    log.info("article=%d new event partners=%s%s moroccan=%s kind=%s (%s; %d recent events considered)",
             candidate.article_id, list(partners), " (discovered)" if discovered else "", list(parties.moroccan),
             kind, reason, len(near))
    return Placement(None, partners, parties.moroccan, kind, sig, event_key(partners, candidate.article_id), reason,
                     headline(partners, parties.moroccan, kind, gazetteer=gazetteer, local=local))


def _names(normalised_text: str, name: str) -> bool:
    """Whether normalised text names ``name`` as whole words."""
    words = normalise(name).split()
    return bool(words) and re.search(r"(?<!\w)" + r"\s+".join(map(re.escape, words)) + r"(?!\w)",
                                     normalised_text) is not None


def headline(partners: Sequence[str], moroccan: Sequence[str], kind: str, *,
             gazetteer: Gazetteer | None = None, local: str | None = None) -> str:
    """"Morocco × Mistral AI: memorandum of understanding"; "UM6P × Nvidia: agreement"; "Morocco: talks".

    The Moroccan side is ``local`` when given (a Moroccan organisation the gazetteer lacks, the
    headline's subject), else the first named Moroccan party that is not a State body, else the
    country. With a ``gazetteer``, State bodies (ministries, agencies) show as its country: a reader
    needs to know the State signed, not which office; without one, every name shows as given.
    """
    country = gazetteer.country if gazetteer is not None else "Morocco"
    named = [m for m in moroccan if gazetteer is None or gazetteer.display_name(m) == m]
    side = local or (named[0] if named else country)
    label = KIND_LABELS.get(kind, kind)
    if not partners:
        return f"{side}: {label}"
    shown = [gazetteer.display_name(p) if gazetteer is not None else p for p in partners]
    return f"{side} × {' & '.join(shown)}: {label}"
