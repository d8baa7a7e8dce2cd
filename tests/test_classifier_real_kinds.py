"""The kinds of mistakes the classifier made on real published articles (issue 13), one test each,
with examples written for the test (never the real articles themselves): the model must judge the
kind right, and its explanation must name evidence it really found."""

from __future__ import annotations

import re

import pytest

from classifiers import registry

# (title, text, label, why)
KINDS = {
    "substring-cue": (
        "هيئة الإسعاف في دبي توقع اتفاقية مع شركة صينية لتطوير السلامة المرورية",
        "وقعت هيئة الإسعاف والطوارئ في إمارة دبي اتفاقية مع شركة تكنولوجيا صينية لتطوير منظومة السلامة "
        "على الطرق السريعة. وتشمل الاتفاقية تزويد سيارات الإسعاف بأجهزة ملاحة حديثة وتدريب المسعفين على "
        "استعمالها، وتحسين أوقات الوصول إلى الحوادث في الإمارة.",
        0, "«سلا» (Salé) inside «السلامة» (safety) is no Moroccan party"),
    "telecom-not-ai": (
        "Un équipementier télécoms et le ministère de l'Éducation nationale signent une convention pour les compétences numériques",
        "Le ministère de l'Éducation nationale et un équipementier chinois de télécommunications ont signé à "
        "Rabat une convention pour former 5 000 enseignants aux outils bureautiques, à la maintenance des "
        "réseaux et à la cybersécurité de base. Les formations se tiendront dans les centres régionaux.",
        0, "a telecom equipment maker with a Moroccan ministry, no AI"),
    "database-caption": (
        "Bases de données : un éditeur américain et la Caisse nationale de sécurité sociale modernisent leurs systèmes",
        "Photo : DR. Signature de la convention au siège de la CNSS à Casablanca. L'éditeur américain de "
        "bases de données migrera les applications de la caisse vers son nuage, avec un plan de reprise "
        "d'activité et la formation de 80 informaticiens.",
        0, "a database vendor's cloud migration, the lead a photo caption"),
    "headline-event-over-wish": (
        "Morocco signs AI memorandum with US start-up to host a regional AI hub in Rabat",
        "Morocco's Ministry of Digital Transition signed a memorandum of understanding on Tuesday with a "
        "US artificial intelligence start-up that aims to open a regional AI hub in Rabat. The hub aims to "
        "train 2,000 engineers in machine learning and to support Moroccan start-ups with computing credits.",
        1, "the headline states a signed AI memorandum; 'aims to' in the lead is no veto"),
    "cooperation-word-only": (
        "السيادة في مجال الذكاء الاصطناعي: دعوات لتعزيز التعاون بين الدول الإفريقية",
        "دعا خبراء في ندوة احتضنتها العاصمة إلى تعزيز التعاون الإفريقي من أجل سيادة رقمية في مجال "
        "الذكاء الاصطناعي، مؤكدين أهمية الاستثمار في مراكز البيانات والكفاءات المحلية.",
        0, "«التعاون» in a headline about AI sovereignty is no partnership event"),
    "ranking": (
        "Intelligence artificielle : le Maroc gagne six places dans le classement mondial de préparation",
        "Le Royaume se classe désormais 82e de l'indice mondial de préparation des gouvernements à "
        "l'intelligence artificielle. Le rapport salue la stratégie Maroc Digital 2030 et rappelle "
        "le mémorandum signé l'an dernier avec un éditeur français de modèles de langage.",
        0, "a ranking story with a passing recall of a past deal"),
    "look-back": (
        "عامان على إطلاق برنامج الذكاء الاصطناعي في الجامعات المغربية",
        "مرت سنتان على إطلاق البرنامج الذي كانت وزارة التعليم العالي قد وقعته بتعاون مع شركة أمريكية "
        "للذكاء الاصطناعي سنة 2023. وتقول الوزارة إن آلاف الطلبة استفادوا منه في السنوات الماضية.",
        0, "a look back at a past deal 'in cooperation with' an AI company"),
    "other-countries": (
        "الأردن والبحرين يوقعان مذكرة تفاهم في مجال الذكاء الاصطناعي",
        "وقعت وزارة الاقتصاد الرقمي الأردنية وهيئة المعلومات البحرينية مذكرة تفاهم لتبادل الخبرات في "
        "الذكاء الاصطناعي وتدريب الكوادر الحكومية، وذلك خلال زيارة رسمية إلى المنامة.",
        0, "an AI memorandum between two other countries, no Moroccan party"),
    "ai-late-in-body": (
        "Alianza tecnológica entre una universidad marroquí y una empresa española",
        "La Universidad Abdelmalek Essaadi de Tetuán y una empresa tecnológica de Valencia firmaron el lunes "
        "un convenio de colaboración en la sede del rectorado. Al acto asistieron el rector, el cónsul de "
        "España en Tetuán y representantes de la cámara de comercio. Ambas partes destacaron los lazos "
        "históricos entre las dos orillas del Estrecho y la importancia de la movilidad de estudiantes. "
        "El rector recordó que la universidad cuenta con más de 100.000 alumnos en nueve ciudades del norte "
        "de Marruecos y que sus escuelas de ingeniería han crecido en los últimos años. " * 2
        + "El convenio crea un laboratorio conjunto de inteligencia artificial dedicado al aprendizaje "
        "automático aplicado a la agricultura y al turismo, con veinte doctorandos y becas de investigación "
        "en inteligencia artificial financiadas por la empresa durante cuatro años.",
        1, "the AI words come after the first 1,000 characters"),
    "lower-case-headline": (
        "morocco signs ai memorandum with french start-up",
        "",
        1, "a feed that lost case: «ai» in an all-lower-case headline is still the acronym"),
    "accented-city": (
        "IA : trois conventions signées à Salé entre la commune et des start-up",
        "Trois conventions de partenariat ont été signées à Salé pour créer un laboratoire commun "
        "d'intelligence artificielle appliquée à la santé et former 300 ingénieurs en apprentissage automatique.",
        1, "«Salé» with its accent is the city, a Moroccan party (unlike the word 'sale')"),
    "denial": (
        "Le ministère de la Transition numérique dément toute négociation avec une société d'IA américaine",
        "Dans un communiqué, le ministère a démenti les informations faisant état de discussions avancées "
        "avec une entreprise américaine d'intelligence artificielle, qualifiant ces informations d'infondées.",
        0, "a denied event is not an event"),
}


@pytest.fixture(scope="module")
def model(model_registry):
    loaded, _ = registry.load_live(model_registry)
    return loaded


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_each_real_failure_kind_is_judged_right(model, kind):
    title, text, label, why = KINDS[kind]
    [prediction] = model.predict([{"title": title, "text": text}])
    assert prediction.label == label, (kind, why, prediction.score, prediction.explanation)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_explanations_quote_only_words_that_are_really_there(model, kind):
    """Every «quoted» word of an explanation is a whole word (or phrase) of the article, never a piece
    of a longer word: «سلا» is never quoted for an article that only says «السلامة»."""
    from classifiers.normalise import normalise

    title, text, _, _ = KINDS[kind]
    [prediction] = model.predict([{"title": title, "text": text}])
    article = " " + normalise(f"{title} {text}") + " "
    folded = " " + " ".join(f"{title} {text}".split()) + " "
    for quoted in re.findall("«([^»]+)»", prediction.explanation):
        words = normalise(quoted)
        pattern = rf"(?<!\w)(?:[وفبلك]|ال|لل|وال|بال)*{re.escape(words)}(?:\w{{0,3}})(?!\w)"
        assert re.search(pattern, article) or quoted in folded, (kind, quoted, prediction.explanation)
    assert "سلا" not in prediction.explanation


def test_an_alert_explanation_names_the_deal_the_parties_and_the_place():
    from classifiers.data import default_training_rows
    from classifiers.model import train

    rows = [r for r in default_training_rows() if r.get("lang") == "fr"][:400]
    model, _ = train(rows, c_grid=(32.0,))
    [prediction] = model.predict([{"title": "L'UM6P et IBM signent un mémorandum d'entente sur l'intelligence artificielle",
                                   "text": "L'Université Mohammed VI Polytechnique et IBM ont signé un mémorandum "
                                           "pour créer un laboratoire d'IA à Benguerir."}])
    assert prediction.label == 1, prediction
    explanation = prediction.explanation
    assert "memorandum" in explanation and "um6p" in explanation.lower() and "in the headline" in explanation


def test_the_committed_real_article_list_carries_labels_and_never_text():
    from classifiers import realset
    from classifiers.data import CATEGORIES

    rows = realset.entries()
    summary = realset.summary(rows)
    assert summary["items"] >= 200 and len({r["source_url"] for r in rows}) == len(rows)
    for lang in ("fr", "ar", "en", "es"):
        assert sum(r["lang"] == lang for r in rows) >= 30, lang
    assert {r["category"] for r in rows} == CATEGORIES  # every category, positives and the six negatives
    for row in rows:
        assert set(row) <= realset.LIST_KEYS and row["source_url"].startswith(("http://", "https://"))
        assert (row["label"] == 1) == (row["category"] == "pos") and len(row["reason"]) <= 300
    assert summary["positive_events"] >= 30


def test_a_local_real_set_is_scored_per_language_and_category(tmp_path, model_registry):
    """`python -m classifiers evaluate` on a local copy (here: a few items of our own with the real
    list's fields) prints per-language and per-category figures and lists the errors with explanations."""
    import json
    import subprocess
    import sys

    from conftest import REPO

    local = tmp_path / "articles.jsonl"
    items = [{"id": f"t-{k}", "lang": k, "label": label, "category": "pos" if label else "neg-other",
              "doubtful": k == "es", "title": title, "text": ""}
             for k, label, title in [("fr", 1, KINDS["headline-event-over-wish"][0]), ("en", 0, KINDS["denial"][0]),
                                     ("ar", 0, KINDS["other-countries"][0]), ("es", 1, KINDS["ai-late-in-body"][0])]]
    local.write_text("\n".join(json.dumps(i, ensure_ascii=False) for i in items) + "\n", encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "classifiers", "evaluate", "--data", str(local), "--model",
                           str(model_registry), "--plots", str(tmp_path / "plots")], capture_output=True, text=True,
                          cwd=REPO, timeout=300)
    assert done.returncode == 0, done.stderr
    for needle in ("without doubtful", "\nfr ", "\nar ", "\nen ", "\nes ", "neg-other", "misclassified ("):
        assert needle in done.stdout, (needle, done.stdout)
