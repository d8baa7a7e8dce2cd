"""What kind of partnership a report tells: memorandum, agreement, talks, programme, investment,
from cue words in French, English, Spanish and Arabic. Headline cues win over body cues (a lead often
says what did *not* happen: "no agreement was signed"); denied cues are ignored; talks with no
signing verb stay talks. The kind labels the alert; it never splits two reports of one deal.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from classifiers.normalise import normalise

KIND_LEAD_CHARS = 1500
KINDS = ("mou", "agreement", "talks", "programme", "investment", "partnership")  # "partnership" = unspecified
KIND_LABELS = {"mou": "memorandum of understanding", "agreement": "agreement", "talks": "talks",
               "programme": "programme", "investment": "investment", "partnership": "partnership"}

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


def most_specific(kinds: Iterable[str]) -> str:
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
            return most_specific(kinds)
    return "partnership"


