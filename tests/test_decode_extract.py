import codecs

import pytest
from aiwatch.decode import decode_bytes
from aiwatch.extract import ExtractError, extract_article, looks_like_html
from aiwatch.lang import detect_language

FR = "Le Maroc signe un mémorandum d'entente avec Mistral AI à Rabat : «une étape clé» pour l'IA."
AR = "وقّع المغرب مذكرة تفاهم مع شركة ميسترال للذكاء الاصطناعي في الرباط."


def page(body: str, meta: str = "") -> str:
    paragraphs = "".join(f"<p>{body} Paragraphe {i} avec assez de texte pour l'extracteur.</p>" for i in range(6))
    return (f"<!DOCTYPE html><html><head>{meta}<title>Titre</title></head><body><nav>Menu Accueil</nav>"
            f"<article><h1>Titre</h1>{paragraphs}</article><footer>© 2025</footer></body></html>")


def test_bom_wins():
    assert decode_bytes(codecs.BOM_UTF8 + FR.encode()).text == FR
    assert decode_bytes(codecs.BOM_UTF16_LE + FR.encode("utf-16-le")).text == FR


def test_http_charset_then_meta():
    assert decode_bytes(FR.encode("cp1252"), "text/html; charset=windows-1252").text == FR
    html = page(FR, '<meta charset="iso-8859-1">').encode("latin-1", errors="replace")
    assert "mémorandum" in decode_bytes(html, "text/html").text
    arabic = page(AR, '<meta http-equiv="Content-Type" content="text/html; charset=windows-1256">')
    assert AR in decode_bytes(arabic.encode("cp1256"), "text/html").text


def test_latin1_label_on_utf8_bytes_is_overruled():
    decoded = decode_bytes(FR.encode("utf-8"), "text/html; charset=ISO-8859-1")
    assert decoded.text == FR and "Ã" not in decoded.text


def test_wrong_label_falls_back_to_detection():
    decoded = decode_bytes(AR.encode("utf-8"), "text/html; charset=no-such-charset")
    assert decoded.text == AR


def test_unlabelled_legacy_bytes_are_detected_not_mojibake():
    text = ("Le gouvernement a annoncé des mesures énergiques pour la région, où les élèves déçus "
            "réclament davantage de moyens. ") * 5
    decoded = decode_bytes(text.encode("cp1252"))
    assert "énergiques" in decoded.text


def test_undecodable_bytes_never_raise():
    decoded = decode_bytes(b"\xff\xfe\xfa\x80\x81" * 100 + b"<html>", "text/html; charset=utf-8")
    assert isinstance(decoded.text, str)


def test_extract_article_french_and_arabic():
    fr = extract_article(page(FR).encode("cp1252", errors="replace"), "https://a.ma/x",
                         "text/html; charset=windows-1252")
    assert "mémorandum" in fr.text and fr.lang == "fr"
    ar = extract_article(page(AR).encode("utf-8"), "https://a.ma/y", "text/html")
    assert "ميسترال" in ar.text and ar.lang == "ar"
    assert "Menu Accueil" not in fr.text


def test_not_html_and_empty_pages_are_refused():
    with pytest.raises(ExtractError) as info:
        extract_article(b"%PDF-1.7 ...", "https://a.ma/x.pdf", "application/pdf")
    assert info.value.reason == "not-html"
    with pytest.raises(ExtractError) as info:
        extract_article(b"<html><body></body></html>", "https://a.ma/e", "text/html")
    assert info.value.reason == "extract-empty"
    assert looks_like_html(b"<!doctype html><html>", None)
    assert not looks_like_html(b"\x89PNG", "image/png")


@pytest.mark.parametrize(("text", "lang"), [
    ("Le ministère a signé un accord avec la société pour les données et la formation des jeunes.", "fr"),
    ("The ministry signed an agreement with the company for data and the training of young people.", "en"),
    ("El ministerio firmó un acuerdo con la empresa para los datos y la formación de los jóvenes.", "es"),
    (AR, "ar"),
])
def test_detect_language(text, lang):
    assert detect_language(text) == lang
