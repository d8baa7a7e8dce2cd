from aiwatch.textutil import html_to_text, near_duplicate, simhash, title_key, truncate_words
from aiwatch.urls import clean_url, host_of, url_key


def test_tracking_parameters_and_fragments_are_stripped():
    assert clean_url("HTTPS://WWW.Le360.ma:443/tech/article-1?utm_source=rss&utm_medium=feed&id=4#top") == \
        "https://www.le360.ma/tech/article-1?id=4"
    assert clean_url("http://site.ma/a?fbclid=x&gclid=y") == "http://site.ma/a"


def test_url_key_ignores_scheme_www_order_and_trailing_slash():
    keys = {
        url_key("https://www.site.ma/a/b/?x=1&y=2"),
        url_key("http://site.ma/a/b?y=2&x=1&utm_campaign=z"),
        url_key("https://site.ma/a/b?x=1&y=2#comments"),
        url_key("https://site.ma/a/%62?x=1&y=2"),
    }
    assert len(keys) == 1
    assert url_key("https://site.ma/a/b") != url_key("https://site.ma/a/c")
    assert url_key("https://site.ma/a?id=1") != url_key("https://site.ma/a?id=2")


def test_url_key_is_bounded():
    key = url_key("https://site.ma/" + "x" * 5000)
    assert len(key) <= 1000


def test_host_of():
    assert host_of("https://www.Hespress.com/x") == "hespress.com"


def test_html_to_text_and_truncate():
    assert html_to_text("<b>Maroc</b> &amp; <i>IA</i>\u200b  ") == "Maroc & IA"
    assert truncate_words("un deux trois quatre cinq", 12) == "un deux…"
    assert truncate_words("court", 12) == "court"


def test_title_key_ignores_case_accents_punctuation_and_arabic_marks():
    assert title_key("Le Maroc signe avec Mistral AI !") == title_key("le maroc signe avec mistral ai")
    assert title_key("Éducation : le Maroc et l'IA") == title_key("education le maroc et l ia")
    assert title_key("المغرب يوقع مع ميسترال") == title_key("المغرب يُوقِّع مع ميســترال")
    assert title_key("Edito") is None


def test_simhash_near_duplicates():
    text = ("Le ministère de la transition numérique a signé vendredi un mémorandum d'entente avec Mistral AI "
            "pour développer les compétences en intelligence artificielle, la recherche appliquée et les start-up.")
    edited = text.replace("vendredi", "ce vendredi")
    other = ("Le Wydad a battu le Raja dimanche soir au stade Mohammed V devant quarante mille spectateurs "
             "dans un derby tendu jusqu'à la dernière minute du temps additionnel.")
    assert near_duplicate(simhash(text), simhash(edited), 8)
    assert not near_duplicate(simhash(text), simhash(other))
    assert simhash("trop court") is None


def _simhash_reference(text: str, shingle: int = 3) -> int | None:
    """The original bit-by-bit SimHash: stored fingerprints must never change meaning."""
    import hashlib

    from aiwatch.textutil import normalise_for_match

    words = normalise_for_match(text).split()
    if len(words) < 12:
        return None
    weights = [0] * 64
    for i in range(len(words) - shingle + 1):
        value = int.from_bytes(hashlib.blake2b(" ".join(words[i:i + shingle]).encode(), digest_size=8).digest(), "big")
        for bit in range(64):
            weights[bit] += 1 if value >> bit & 1 else -1
    result = sum(1 << bit for bit in range(64) if weights[bit] > 0)
    return result - (1 << 64) if result >= 1 << 63 else result


def test_vectorised_simhash_equals_the_reference_bit_for_bit():
    import random

    from aiwatch.textutil import simhash

    rnd = random.Random(7)
    vocab = ["maroc", "mistral", "accord", "الذكاء", "الاصطناعي", "intelligence", "signe", "rabat"] + \
        [f"w{i}" for i in range(400)]
    texts = [" ".join(rnd.choice(vocab) for _ in range(rnd.randint(3, 2000))) for _ in range(200)]
    texts += ["one two three four five six seven eight nine ten eleven twelve", "x " * 12, "x " * 40, ""]
    for text in texts:
        assert simhash(text) == _simhash_reference(text)
