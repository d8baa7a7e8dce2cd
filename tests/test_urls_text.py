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
