"""Alert text building blocks: extractive summaries and Slack-safe text (groundwork for alerts)."""

import pytest
from aiwatch.slack_text import HEADER_MAX, WORD_JOINER, bounded, escape_mrkdwn, plain
from aiwatch.summary import split_sentences, summarise

ARTICLE = (
    "Le ministère de la transition numérique a conclu vendredi un mémorandum d'entente avec Mistral AI. "
    "Selon M. Mensch, l'accord couvre la formation, la recherche appliquée et l'appui aux start-up. "
    "La cérémonie a réuni plusieurs ministres et dirigeants d'institutions publiques à Rabat. "
    "Il a fait beau toute la journée sur la capitale, avec 24 degrés à 15 h.\n"
    "Le Maroc veut devenir un pôle régional de l'intelligence artificielle d'ici 2030."
)


def test_sentences_respect_abbreviations_initials_and_numbers():
    sentences = split_sentences(ARTICLE)
    assert sentences[1].startswith("Selon M. Mensch") and len(sentences) == 5
    assert split_sentences("Le taux est de 3.5 %. Fin.") == ["Le taux est de 3.5 %.", "Fin."]
    assert split_sentences("وقع المغرب اتفاقية. هل تنجح؟ نعم.") == ["وقع المغرب اتفاقية.", "هل تنجح؟", "نعم."]


def test_summary_is_two_or_three_whole_sentences_in_original_order():
    summary = summarise("Le Maroc signe un mémorandum avec Mistral AI", ARTICLE)
    sentences = split_sentences(ARTICLE)
    parts = split_sentences(summary)
    assert 2 <= len(parts) <= 3 and all(p in sentences for p in parts)
    assert [sentences.index(p) for p in parts] == sorted(sentences.index(p) for p in parts)
    assert sentences[0] in parts and len(summary) <= 600


@pytest.mark.parametrize("limit", [90, 150, 250, 400])
def test_summary_never_cuts_a_word_or_sentence(limit):
    summary = summarise("Maroc Mistral", ARTICLE, max_chars=limit)
    assert len(summary) <= limit
    assert all(p in split_sentences(ARTICLE) for p in split_sentences(summary)) or summary == "Maroc Mistral"


def test_summary_falls_back_to_feed_summary_then_headline():
    assert summarise("Titre", "", "Le résumé du flux tient en une phrase assez longue.") == \
        "Le résumé du flux tient en une phrase assez longue."
    assert summarise("Titre seul", "") == "Titre seul"
    long_sentence = "mot " * 400
    assert summarise("Titre", long_sentence) == "Titre"


@pytest.mark.parametrize("hostile", ["<!channel> urgent", "<!here>", "<@U123ABC> look", "<http://evil.example|click me>",
                                     "<#C123|general>", "@channel @here @everyone", "a & b < c > d"])
def test_hostile_text_is_inert_in_mrkdwn(hostile):
    safe = escape_mrkdwn(hostile)
    assert "<" not in safe and ">" not in safe
    assert "@channel" not in safe and "@here" not in safe and "@everyone" not in safe
    assert "&amp;" in escape_mrkdwn("a & b")
    assert WORD_JOINER in escape_mrkdwn("@here") and WORD_JOINER in plain("@channel now")


def test_control_and_bidi_override_characters_are_removed():
    assert escape_mrkdwn("safe\u202etxt.exe\x00") == "safetxt.exe"
    assert plain("ok\u2066hidden\u2069") == "okhidden"


def test_bounded_cuts_on_words_and_never_inside_an_escape():
    title = escape_mrkdwn("Le Maroc & Mistral " * 40)
    short = bounded(title, HEADER_MAX)
    assert len(short) <= HEADER_MAX and short.endswith("…")
    assert not short.rstrip("…").endswith(("&", "&a", "&am", "&amp"))
    assert bounded("x" * 200, 150) == "x" * 149 + "…"
    arabic = bounded("المغرب يوقع مذكرة تفاهم " * 20, 100)
    assert len(arabic) <= 100 and arabic.endswith("…")


def test_summary_skips_the_repeated_headline_and_kicker_lines():
    title = "Le Maroc et Mistral AI signent un mémorandum d'entente sur l'intelligence artificielle"
    text = ("Intelligence artificielle\n" + title + "\n"
            "Amal El Fallah Seghrouchni et Arthur Mensch ont signé ce vendredi un mémorandum d'entente qui ouvre "
            "la voie à des projets communs.\nPar Salma Bennani · Publié le\n"
            "C'est une étape symbolique pour l'écosystème numérique marocain, selon le ministère.\n"
            "Le texte prévoit aussi des formations pour les fonctionnaires dans les prochains mois.")
    out = summarise(title, text)
    assert not out.startswith("Le Maroc et Mistral AI signent")
    assert out.startswith("Amal El Fallah Seghrouchni") and "Publié" not in out
    assert out.endswith(".")


def test_unpunctuated_lines_are_only_a_last_resort():
    text = "A heading line that is long enough to count as one\nThe real sentence of the article, with a full stop."
    assert summarise("Something else entirely", text) == "The real sentence of the article, with a full stop."


def test_every_invisible_or_reordering_character_is_removed():
    """Every Unicode format character (bidi marks and controls, zero-width space, tag characters, the
    invisible operators...) is removed, checked against the installed Unicode database; only the
    zero-width joiner and non-joiner stay (emoji sequences and Arabic-script typography need them)."""
    import unicodedata

    from aiwatch.slack_text import clean

    kept = {0x200C, 0x200D}
    for code in range(0x110000):
        if unicodedata.category(chr(code)) == "Cf" and code not in kept:
            assert clean(f"a{chr(code)}b") == "ab", hex(code)
    for mark in ("\u200e", "\u200f", "\u061c", "\u202e", "\u2066", "\u00ad", "\u3164", "\U000e0041", "\ufe0e"):
        assert clean(f"Rabat{mark}Casablanca") == "RabatCasablanca", repr(mark)
    assert clean("👨\u200d👩\u200d👧 famille") == "👨\u200d👩\u200d👧 famille"
    assert clean("\u2764\ufe0f") == "\u2764\ufe0f"  # VS16 keeps a heart an emoji
