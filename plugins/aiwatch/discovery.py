"""Names the gazetteer lacks: unknown organisations for headlines, and every name-like string of a
report (organisations, programmes, people, acronyms) as evidence that two reports tell one story.

New partnerships are exactly the ones with parties nobody listed, so a report's own names matter:

* :func:`discover` finds organisation names for headlines, conservatively (a wrong name in an alert
  header is worse than none): a run of capitalised words that ends with an organisation word
  ("Northlake AI", "Qalam Labs") or follows a company noun ("la start-up Qalam"), or a camel-cased
  word after a partnership cue ("s'allie à DataVox"); in Arabic text, a Latin name in parentheses
  after a company noun («شركة ناشئة أمريكية (Larkspur Speech)»).
* :func:`name_strings` collects, more generously, every name-like string of the headline and lead:
  capitalised words written mid-sentence, acronyms, quoted names (« Igoudar », «جزري روت»), and
  Latin words inside Arabic text. Their transliteration skeletons (:mod:`aiwatch.translit`) are
  compared across scripts: the Latin "Igoudar" of one report meets the Arabic «إيگودار» of another.

Language data (function words, organisation words) lives below; the topic's data (parties,
nationalities) comes from the gazetteer.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from aiwatch.gazetteer import DEMONYM, Entry, Gazetteer, fold_cased
from classifiers.normalise import normalise

log = logging.getLogger(__name__)
_ARABIC_LETTER_RE = re.compile("[\u0600-\u06ff]")

#: How much of the body is read: the lead, where a story names its parties.
LEAD_CHARS = 1500


@dataclass(frozen=True)
class Discovery:
    """Organisations a story names that the gazetteer lacks (see :func:`discover`).

    ``partners``: names as written, best first (headline before standfirst), e.g. ("Northlake AI",).
    ``moroccan``: a Moroccan-looking organisation that is the headline's subject ("la Banque
    Chérifienne de l'Atlas s'allie à ..."), for the headline only; None when there is none.
    """

    partners: tuple[str, ...] = ()
    moroccan: str | None = None


def _generic_moroccan(g: Gazetteer, entry: Entry) -> bool:
    """The home country, its nationality, or one of its places: says "Moroccan", not who."""
    return (entry.generic or (entry.kind == DEMONYM and entry.country == g.home)
            or (entry.side == "moroccan" and entry.kind in ("region", "city")))


def discover(g: Gazetteer, title: str, text: str = "", *, outlet: str = "") -> Discovery:
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
            if key == outlet_key or any(k == key for k, _ in found) or _overlaps_party(g, source, start, name):
                continue
            if _BYLINE_RE.search(source[max(0, start - 30):start]) or _moroccan_before(g, source, start):
                continue
            found.append((key, name))
    partners = tuple(name for _, name in found[:2])
    moroccan = _moroccan_subject(g, title, lead, title_case)
    if partners or moroccan:
        log.debug("discovered partners=%s moroccan=%r in %r", list(partners), moroccan, title[:80])
    return Discovery(partners, moroccan if moroccan and normalise(moroccan) not in
                     {normalise(p) for p in partners} else None)

def _overlaps_party(g: Gazetteer, text: str, start: int, name: str, *, allow_generic: bool = False) -> bool:
    """Whether ``name`` (at ``start`` in ``text``) overlaps a party of the file where it stands:
    "Digital" of "Ministerio de Transición Digital", "Banque" of "Banque mondiale", or inside itself
    ("Maroc Digital"). ``allow_generic`` lets the country, regions and cities through."""
    window = text[max(0, start - 80):start + len(name) + 80]
    spans = [(s.start, s.end) for s in g.spans(window) if s.entry is not None and s.entry.is_party
             and not (allow_generic and _generic_moroccan(g, s.entry))]
    if not spans:
        return False
    folded = normalise(fold_cased(window))
    words = normalise(fold_cased(name)).split()
    pattern = r"(?<!\w)" + r"\s+".join(map(re.escape, words)) + r"(?!\w)"
    return any(b < m.end() and m.start() < e for m in re.finditer(pattern, folded) for b, e in spans)

def _moroccan_before(g: Gazetteer, text: str, start: int) -> bool:
    """Whether the noun phrase right before ``start`` calls the organisation Moroccan."""
    window = re.split(r"[.,;:!?()«»\"\n—–]", text[max(0, start - 60):start])[-1]
    words = _TOKEN_RE.findall(window)
    for i in range(len(words) - 1, -1, -1):
        if normalise(words[i]) in _PHRASE_BREAKS:
            words = words[i + 1:]
            break
    return any(s.entry is not None and _generic_moroccan(g, s.entry) for s in g.spans(" ".join(words)))

def _moroccan_subject(g: Gazetteer, title: str, lead: str, title_case: bool) -> str | None:
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
        if _overlaps_party(g, title, start, name, allow_generic=True):
            continue   # part of a listed party ("Air Maroc" of "Royal Air Maroc"): find() has it
        spans = g.spans(name)
        covered = sum(s.end - s.start for s in spans if s.entry is not None and s.entry.is_party)
        if (spans and covered < len(normalise(name)) * 0.7) or _moroccan_before(g, title, start):
            return name   # "la Banque Chérifienne de l'Atlas", "Morocco's Qalam Labs"
    return None


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
    arabic = len(_ARABIC_LETTER_RE.findall(text))
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


# --- names as evidence ----------------------------------------------------------------------------

#: How much of the lead gives names (the standfirst and first paragraph, where a story names them).
NAME_LEAD_CHARS = 700
MAX_NAMES = 16
_QUOTED_RE = re.compile(r"[«“\"‘]\s*([^«»“”\"‘’\n]{2,60}?)\s*[»”\"’]")
_LATIN_IN_ARABIC_RE = re.compile(r"[A-Za-z][A-Za-z0-9&.'’\-]*(?:[ \t]+[A-Za-z0-9][A-Za-z0-9&.'’\-]*){0,4}")
_CAPITALISED_RE = re.compile(r"(?<![\w'’])(?:[A-ZÀ-Ý][\w'’\-]*|[A-Z0-9]{2,}[\w\-]*)"
                             r"(?:[ \t]+(?:(?:de|du|des|of|del|la|le|y|&)[ \t]+)?(?:[A-ZÀ-Ý][\w'’\-]*|[A-Z0-9]{2,}))*")
_PAREN_LATIN_RE = re.compile(r"\(\s*([A-Za-z][A-Za-z0-9&.'’ \-]{1,60}?)\s*\)")
# Arabic company nouns a Latin name in parentheses may follow: "شركة ناشئة أمريكية (Larkspur Speech)".
_ARABIC_ORG_BEFORE_RE = re.compile(r"(?:شركة|الشركة|مجموعة|المجموعة|مؤسسة|منصة|مختبر|بنك)[^().،,:؛]{0,30}$")


def _is_acronym(word: str) -> bool:
    return len(word) >= 2 and word.isupper() and any(c.isalpha() for c in word)


def name_words(g: Gazetteer, name: str) -> list[str]:
    """The words of a name that can tell it apart: no function, stop or topic words ("IA", "MoU"),
    no bare numbers, no lower-case compounds ("Paris-based")."""
    out = []
    for word in re.split(r"[\s/]+", name):
        word = word.strip("'’.,;:()-")
        key = normalise(word)
        if (not key or key in _STOP_WORDS or key in _CONNECTORS or key in g.common_words or key in _NAME_NOISE
                or not any(c.isalpha() for c in word) or any(p[:1].islower() for p in word.split("-")[1:])):
            continue
        if len(key) >= 3 or _is_acronym(word):
            out.append(word)
    return out


# Short forms every story of the field uses, in any language: never a name of its own.
_NAME_NOISE = frozenset(normalise("""mou mou's llm llms pme pmes tpe ceo pdg dg cto gpu gpus api apis it ict tic
r&d rd ue eu un onu usa ai's ia's gen genai""").split())


def _words_ok(name: str, g: Gazetteer | None = None) -> bool:
    if g is not None:
        return bool(name_words(g, name))
    words = [w for w in re.split(r"[\s\-]+", name) if w]
    content = [w for w in words if normalise(w) not in _STOP_WORDS and normalise(w) not in _CONNECTORS]
    return bool(content) and any(len(w) >= 3 or _is_acronym(w) for w in content)


def name_strings(g: Gazetteer, title: str, text: str = "") -> list[str]:
    """Name-like strings of a report's headline and lead that the gazetteer does not already know,
    as written: capitalised words written mid-sentence ("Igoudar", "Jazari Root", "Ali Khalil"),
    acronyms ("IRESEN", "UIZ"), quoted names (« Open Start », «إيگودار»), Latin words inside Arabic
    text ("(Larkspur Speech)"). Evidence that two reports tell one story, not parties."""
    title = " ".join((title or "").split())
    lead = " ".join((text or "")[:NAME_LEAD_CHARS].split())
    found: list[str] = []

    def add(name: str) -> None:
        name = _unglue(name.strip(" -'’.,;:"))
        key = normalise(name)
        if not key or len(key) < 2 or any(normalise(f) == key for f in found) or not _words_ok(name, g):
            return
        spans = [s for s in g.spans(name) if s.entry is not None]
        covered = sum(s.end - s.start for s in spans)
        if covered >= 0.7 * len(key):
            return  # a party, a nationality or a noun the gazetteer knows: counted as such
        found.append(name)

    for source in (title, lead):
        for m in _QUOTED_RE.finditer(source):
            if len(m.group(1).split()) <= 5:
                add(m.group(1))
        if not _latin_script(source):
            for m in _LATIN_IN_ARABIC_RE.finditer(source):
                add(m.group())
            continue
        title_case = source is title and _title_case(title)
        for m in _CAPITALISED_RE.finditer(source):
            name = m.group()
            words = name.split()
            if len(words) > 6:
                continue
            at_start = _at_sentence_start(source, m.start())
            if (at_start or title_case) and not all(_is_acronym(w) for w in words):
                # Capitals prove nothing here: keep the words written the same way mid-sentence elsewhere.
                others = [t for t in (title, lead) if t is not source] + [source]
                words = [w for w in words if any(_written_mid_sentence(w, t) for t in others)]
                name = " ".join(words)
            if name:
                add(name)
    return found[:MAX_NAMES]


def arabic_partners(g: Gazetteer, title: str, text: str = "") -> tuple[str, ...]:
    """Organisations an Arabic-script report names in Latin letters after a company noun
    («شركة ناشئة أمريكية (Larkspur Speech)») that the gazetteer lacks: the Arabic side of
    :func:`discover`."""
    found: list[str] = []
    for source in (title or "", (text or "")[:DISCOVERY_LEAD_CHARS]):
        for m in _PAREN_LATIN_RE.finditer(source):
            name = m.group(1).strip()
            if not _ARABIC_ORG_BEFORE_RE.search(source[max(0, m.start() - 40):m.start()]):
                continue
            if not _words_ok(name, g) or name in found:
                continue
            if any(s.entry is not None and s.entry.is_party for s in g.spans(name)):
                continue
            found.append(name)
        if found:
            break
    return tuple(found[:2])


def is_arabic_script(text: str) -> bool:
    """Whether ``text`` is written mostly in Arabic letters."""
    return bool(text) and not _latin_script(text)
