"""One name across scripts (aiwatch.translit): consonant skeletons make "Mistral" and "ميسترال"
one name, and keep different names (and names too short to judge) apart."""

from __future__ import annotations

import pytest
from aiwatch.translit import MIN_SKELETON, same_name, skeleton, skeleton_match, skeleton_set, skeleton_word
from hypothesis import assume, given
from hypothesis import strategies as st

# Latin consonants the skeleton keeps as they are, and how Arabic writes each of them.
_ARABIC_OF = {"b": "ب", "d": "د", "f": "ف", "k": "ك", "l": "ل", "m": "م", "n": "ن", "r": "ر", "s": "س", "t": "ت"}
_ARTICLES = ("وبال", "وال", "بال", "فال", "لل", "ال")


@pytest.mark.parametrize(("latin", "arabic"), [
    ("Mistral", "ميسترال"), ("Dakhla", "الداخلة"), ("Microsoft", "مايكروسوفت"), ("Microsoft", "ميكروسوفت"),
    ("Oriental", "أورينتال"), ("Nvidia", "إنفيديا"), ("Rabat", "الرباط"), ("Kenitra", "القنيطرة"),
    ("Casablanca", "كازابلانكا"), ("Samsung", "سامسونغ"), ("Ouarzazate", "ورزازات"), ("Larkspur", "لاركسبور"),
])
def test_one_name_in_latin_and_arabic_script(latin: str, arabic: str) -> None:
    """Reports in Arabic name the same party as those in French or English."""
    assert same_name(latin, arabic)
    assert same_name(arabic, latin)


@pytest.mark.parametrize(("a", "b"), [
    ("Marrakesh", "Marrakech"), ("Tangier", "Tanger"), ("Tétouan", "Tetouan"), ("Mistral", "MISTRAL"),
    ("Huawei", "huawei"),  # no skeleton at all, yet the same spelling
])
def test_spelling_variants_are_one_name(a: str, b: str) -> None:
    """English/French spellings and case or accents do not split one name."""
    assert same_name(a, b)


@pytest.mark.parametrize(("a", "b"), [
    ("Mistral", "Microsoft"), ("Rabat", "Agadir"), ("Marrakech", "Meknès"), ("Dakhla", "Dakar"),
    ("Safran", "Sefrou"), ("Amazon", "Amazigh"),
    ("Fès", "Fez"), ("Tetouan", "تطوان"), ("Google", "جوجل"), ("Huawei", "هواوي"),  # skeletons too short
    ("", "Mistral"), ("Mistral", ""),
])
def test_different_or_too_short_names_do_not_match(a: str, b: str) -> None:
    """Different names, and short skeletons that say too little, are never one name."""
    assert not same_name(a, b)


def test_moroccan_kaf_for_g_is_one_consonant() -> None:
    """Moroccan outlets write /g/ with ك (أكادير, كوكل): g and k are one consonant."""
    assert same_name("Agadir", "أكادير")


@pytest.mark.xfail(strict=True, reason="known miss: Spanish j for /kh/ is not merged (j is /g/ in French)")
def test_known_transliteration_misses() -> None:
    """An obvious same name the skeleton rules keep apart (remove the mark once fixed)."""
    assert same_name("Dakhla", "Dajla")


@pytest.mark.parametrize("word", ["الداخلة", "بالداخلة", "والداخلة", "وبالداخلة", "فالداخلة", "للداخلة"])
def test_arabic_article_and_proclitics_are_stripped(word: str) -> None:
    """"in Dakhla", "and Dakhla" are still Dakhla."""
    assert skeleton_word(word) == skeleton_word("Dakhla") == "dkl"


def test_article_kept_when_too_little_would_remain_and_latin_al_kept() -> None:
    """Stripping needs three letters left; a Latin "Al" is part of the name, not an article."""
    assert skeleton_word("الله") == "l"
    assert skeleton_word("Alstom") == "lstm"


def test_skeleton_of_a_multiword_name() -> None:
    """Words are split on spaces, hyphens, underscores and slashes; empty skeletons vanish."""
    assert skeleton("Dakhla-Oued Ed-Dahab") == "dkl d d db"
    assert skeleton("Rabat/Salé_Huawei") == "rbt sl"
    assert skeleton("") == ""


def test_skeleton_set_keeps_only_long_skeletons() -> None:
    """Only skeletons of MIN_SKELETON consonants or more are evidence, unless told otherwise."""
    words = ["Mistral", "AI", "Dakhla", "Microsoft", "Huawei"]
    assert skeleton_set(words) == {"mstrl", "mkrsft"}
    assert skeleton_set(words, minimum=3) == {"mstrl", "mkrsft", "dkl"}


@pytest.mark.parametrize(("a", "b", "expected"), [
    ("nfd", "nfd", True), ("fs", "fs", False),  # equal: three consonants suffice, two do not
    ("mstrl", "mnstrl", True), ("mstr", "mst", False),  # one slip: only from MIN_SKELETON up
    ("mkrsft", "mkrsfd", False), ("mkrsftbl", "mkrsftbk", True),  # a substitution costs more in short names
])
def test_skeleton_match_thresholds(a: str, b: str, expected: bool) -> None:
    """The lengths and similarity at which two skeletons are one."""
    assert MIN_SKELETON == 4
    assert skeleton_match(a, b) is expected


_NAMEISH = st.text(alphabet="bdklmnrst aeiou-الدبكلمنرستيو", max_size=12)


@given(_NAMEISH, _NAMEISH)
def test_same_name_is_symmetric(a: str, b: str) -> None:
    """Grouping must not depend on which report came first."""
    assert same_name(a, b) == same_name(b, a)


@given(st.text(min_size=1))
def test_a_name_matches_itself(name: str) -> None:
    """Any non-empty name is the same as itself, whatever its skeleton."""
    assert same_name(name, name)


@given(st.lists(st.sampled_from(sorted(_ARABIC_OF)), min_size=3, max_size=8),
       st.data())
def test_vowels_and_script_do_not_change_a_name(consonants: list[str], data: st.DataObject) -> None:
    """Two vowelings of one consonant frame, and its Arabic writing, are one name when the frame
    keeps at least three consonants once repeats are merged."""
    frame = [c for i, c in enumerate(consonants) if i == 0 or c != consonants[i - 1]]
    assume(len(frame) >= MIN_SKELETON - 1)

    def voweled(vowels: str) -> str:
        return "".join(c + data.draw(st.text(alphabet=vowels, max_size=2)) for c in consonants)

    latin_a, latin_b, arabic = voweled("aei"), voweled("aeo"), "".join(
        _ARABIC_OF[c] + data.draw(st.sampled_from(["", "ا", "ي", "و"])) for c in consonants)
    assume(not arabic.startswith(_ARTICLES))
    assert same_name(latin_a, latin_b)
    assert same_name(latin_a, arabic)
