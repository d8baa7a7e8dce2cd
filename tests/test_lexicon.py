"""The cue lexicon against real word frequencies: no cue fires inside, or as, a common word of another
meaning, in any of the four languages (issue 13: «سلا», Salé, fired inside «السلامة», safety)."""

from __future__ import annotations

import functools
from typing import Any

import pytest
import yaml

from classifiers.features import TOPIC_FILE, CompiledLexicon, fold_cased, load_lexicon
from classifiers.normalise import normalise

wordfreq = pytest.importorskip("wordfreq", reason="wordfreq (in the lock) gives the word-frequency lists")

COMMON_OK = TOPIC_FILE.with_name("common_ok.yaml")
#: Zipf frequency of a common word: 3.5 is about one in 300,000 words, the top 15,000 or so words.
ZIPF = 3.5
LANGS = ("fr", "en", "es", "ar")


@functools.lru_cache(maxsize=1)
def compiled() -> tuple[CompiledLexicon, list[str]]:
    lexicon = load_lexicon()
    return CompiledLexicon(lexicon, whole_words=True), list(lexicon)


def fires(text: str, cased: str = "") -> dict[str, list[int]]:
    lexicon, families = compiled()
    return {f: p for f, p in lexicon.scan(normalise(text), families, fold_cased(cased or text)).items() if p}


@functools.lru_cache(maxsize=4)
def common_words(lang: str) -> tuple[str, ...]:
    return tuple(w for w in wordfreq.top_n_list(lang, 60_000) if wordfreq.zipf_frequency(w, lang) >= ZIPF)


def test_no_cue_fires_on_a_common_word_of_another_meaning():
    """Every common word a cue fires on (as a whole word, with Arabic clitics and endings) must be one
    whose common meaning is the cue's meaning, listed in common_ok.yaml; anything else is a loose cue."""
    allowed = {family: set(words) for family, words in yaml.safe_load(COMMON_OK.read_text(encoding="utf-8")).items()}
    lexicon, families = compiled()
    unexpected: dict[str, set[tuple[str, str]]] = {}
    for lang in LANGS:
        for word in common_words(lang):
            normalised = normalise(word)
            for family, positions in lexicon.scan(normalised, families, "").items():
                if positions and normalised not in allowed.get(family, set()):
                    unexpected.setdefault(family, set()).add((lang, normalised))
            for form in {word.capitalize(), word.upper()}:  # a headline's capitals must not wake a cased cue
                for family, positions in lexicon.scan("", families, fold_cased(form)).items():
                    if positions and fold_cased(form) not in allowed.get(f"{family}:cased", set()):
                        unexpected.setdefault(f"{family}:cased", set()).add((lang, form))
    assert not unexpected, {family: sorted(words)[:40] for family, words in unexpected.items()}


@pytest.mark.parametrize(("text", "family"), [
    ("السلامة الطرقية في الإمارات", "morocco"),  # safety: contains سلا (Salé)
    ("الإسلام والسلام", "morocco"),
    ("قطرات المطر", "elsewhere"),  # drops: contains قطر (Qatar)
    ("ترومان رئيس أمريكي سابق", "intent"),  # Truman: تروم + ان
    ("عقد اجتماعا مع النقابات", "deal"),  # held a meeting: عقد is not a contract here
    ("داخل القاعة وبداخله", "morocco"),  # inside: not Dakhla
    ("حمل الكرسي إلى الإطار", "coop"),
    ("الشركات المعرضة للخطر", "forum"),  # exposed to: not an exhibition
    ("Ellos se llaman a la cooperación", "ai"),  # llama/llaman: not the model
    ("J'ai vu le film hier, il est mou", "ai"),
    ("J'ai vu le film hier, il est mou", "deal"),
    ("Le Royaume-Uni et la France", "morocco_country"),
    ("Jean-Claude Van Damme", "ai"),
    ("Sale of the year at the mall", "morocco"),
    ("Una taza de café y una onda", "morocco"),
])
def test_cues_do_not_fire_inside_or_as_other_words(text, family):
    assert family not in fires(text), fires(text)


@pytest.mark.parametrize(("text", "family"), [
    ("وقع المغرب وشركة ميسترال مذكرة تفاهم", "morocco_country"),
    ("بالرباط وفي مدينة سلا", "morocco"),
    ("الشركات المغربية والمقاولات", "morocco_country"),
    ("وقعت جامعة محمد السادس متعددة التخصصات", "morocco"),
    ("وقعت مذكرة تفاهم في الذكاء الاصطناعي", "ai"),
    ("وقعت مذكرة تفاهم في الذكاء الاصطناعي", "deal"),
    ("اتفاقيات شراكة جديدة", "deal"),
    ("تعاون مغربي قطري", "elsewhere"),
    ("بقطر والدوحة", "elsewhere"),
    ("Le Maroc et Mistral AI signent un mémorandum", "morocco_country"),
    ("L'UM6P et l'Agence de développement du digital", "morocco"),
    ("Le Maroc et Mistral AI signent un mémorandum", "deal"),
    ("Le Maroc et Mistral AI signent un mémorandum", "ai_company"),
    ("L'IA au service de l'administration", "ai"),
    ("Morocco, OpenAI in talks on AI", "ai"),
    ("Morocco, OpenAI in talks on AI", "deal"),
    ("Marruecos firma un acuerdo de inteligencia artificial", "deal"),
    ("Marruecos firma un acuerdo de inteligencia artificial", "ai"),
    ("Le ministère dément tout accord avec OpenAI", "denial"),
    ("وزارة الانتقال الرقمي تنفي وجود مفاوضات", "denial"),
    ("Le Maroc gagne 5 places dans le classement mondial de l'IA", "ranking"),
    ("المغرب يحتل المرتبة الأولى في مؤشر الذكاء الاصطناعي", "ranking"),
    ("Huawei et le ministère unissent leurs efforts", "tech_partner"),
    ("Orange Maroc et l'ADD", "morocco"),
    ("The MoU was signed in Rabat", "deal"),
    ("يهدف البرنامج إلى تكوين الشباب", "intent"),
    ("تعزيز التعاون بين البلدين", "coop"),
    ("Colloque international sur l'IA à Oujda", "forum"),
    ("على هامش معرض جيتكس إفريقيا", "forum"),
])
def test_each_family_fires_where_it_should(text, family):
    assert family in fires(text), (family, fires(text))


def test_cased_acronyms_need_their_capitals():
    assert "ai" in fires("Une stratégie IA pour le Royaume")
    assert "ai" not in fires("la ia de la fiesta", "la ia de la fiesta")
    assert "morocco" in fires("Accord entre l'ADD et Microsoft")
    assert "morocco" not in fires("Add the item to the cart")


def test_every_family_of_the_lexicon_has_positive_examples_here():
    import inspect

    source = inspect.getsource(test_each_family_fires_where_it_should)
    for family in load_lexicon():
        assert f'"{family}")' in source or family in ("recap", "precedent", "elsewhere"), family


@functools.lru_cache(maxsize=1)
def model_reading() -> tuple[CompiledLexicon, list[str], Any]:
    from classifiers.features import load_accent_kept, load_lowercase_headline
    from classifiers.normalise import kept_words_regex

    lexicon = load_lexicon()
    scanner = CompiledLexicon(lexicon, whole_words=True, lowercase_headline=load_lowercase_headline())
    return scanner, list(lexicon), kept_words_regex(list(load_accent_kept()))


def read_as_the_model_does(title: str, text: str = "") -> dict[str, list[int]]:
    """Families found the way layout 3 reads an item: accent-kept words, lifted lower-case headline."""
    from classifiers.features import prepare

    scanner, families, kept = model_reading()
    title_n, _, body, ctitle, cbody = prepare({"title": title, "text": text}, 6000, kept)
    ctitle = scanner.lift_lowercase(ctitle)
    return {f: p for f, p in scanner.scan(f"{title_n} \n {body}", families, f"{ctitle} \n {cbody}").items() if p}


@pytest.mark.parametrize(("title", "family"), [
    # Salé the city, written with its accent, is a Moroccan party
    ("IA : plusieurs accords signés lors des Assises nationales à Salé", "morocco"),
    ("Salé accueille un centre de formation en intelligence artificielle", "morocco"),
    ("La ville de Salé et une start-up signent une convention", "morocco"),
    # an all-lower-case headline (a feed or slug that lost case) still spells AI
    ("morocco and eu sign deals to become third voice in global ai", "ai"),
    ("le maroc et mistral signent un accord sur l'ia", "ai"),
    ("marruecos firma un acuerdo de ia con una empresa francesa", "ai"),
    ("morocco signs genai memorandum with us start-up", "ai"),
])
def test_headlines_are_read_as_the_model_reads_them(title, family):
    found = read_as_the_model_does(title)
    assert family in found, found


@pytest.mark.parametrize(("title", "family"), [
    # sale the word is no Moroccan party
    ("Black Friday Sale: AI gadgets at half price", "morocco"),
    ("Sale of the year at the mall", "morocco"),
    ("Le caramel salé, star des desserts", "morocco"),
    ("SALE : tout doit disparaître", "morocco"),
    ("C'est sale, mais c'est la vie", "morocco"),
    # acronyms are lifted only in headlines that lost case
    ("Morocco signs a deal to add 500 MW of solar", "ai"),  # a capital: "add" and "ai" are words here
    ("j'ai signé: le maroc et la france renouvellent leur accord", "ai"),  # French "j'ai" is no acronym
    ("la maison de l'aide sociale signe un accord", "ai"),
    ("Ai Weiwei exhibits in Marrakech", "ai"),
])
def test_headlines_read_as_the_model_reads_them_do_not_fire(title, family):
    found = read_as_the_model_does(title)
    assert family not in found, found


def test_the_accent_kept_copy_keeps_offsets_and_the_normalised_copy_folds():
    from classifiers.normalise import kept_words_regex, normalise_and_fold

    text = "Accords signés à Salé, près de Rabat"
    normalised, cased = normalise_and_fold(text, kept_words_regex(["Salé"]))
    assert normalised == normalise(text) and "sale" in normalised
    assert cased == "Accords signes a Salé, pres de Rabat"
    assert len(cased) == len(normalised)
    decomposed = text.replace("é", "e\u0301")  # the same words written with a combining accent
    assert normalise_and_fold(decomposed, kept_words_regex(["Salé"]))[1] == cased


def test_the_lowercase_headline_forms_are_cased_ai_cues_and_no_common_words():
    """Only acronyms the four languages do not use as words may be lifted from a lower-case headline."""
    from classifiers.features import load_lowercase_headline

    # Frequent only as the acronym itself, except French "ai" (j'ai), which the lift refuses after j'.
    frequent_as_the_acronym = {"ai", "ia"}
    lexicon = load_lexicon()
    cased = set(lexicon["ai"]["cased"])
    for form in load_lowercase_headline():
        assert form in cased, f"{form} is not a cased cue of the ai family"
        for lang in LANGS:
            assert wordfreq.zipf_frequency(form.lower(), lang) < ZIPF or form.lower() in frequent_as_the_acronym, \
                (form, lang)
