"""The classifier: normalisation, features, model behaviour, registry safety and the CLI."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO

from classifiers import registry
from classifiers.data import load_labelled, seed_articles
from classifiers.features import WINDOW_CHARS, CompiledLexicon, fold_cased, load_lexicon, prepare
from classifiers.model import choose_threshold, metrics_at, train
from classifiers.normalise import normalise

HOLDOUT = REPO / "classifiers" / "data" / "validation.jsonl"


# --- normalisation and features --------------------------------------------------------------------

@pytest.mark.parametrize(("raw", "expected"), [
    ("Mémorandum d’Entente", "memorandum d'entente"),
    ("Ça, c'est l'ÉTÉ à Fès — «IA»", 'ca, c\'est l\'ete a fes - "ia"'),
    ("الذَّكَاءُ الاصْطِنَاعِيّ", "الذكاء الاصطناعي"),  # harakat and shadda removed
    ("المغـــــرب", "المغرب"),  # tatweel removed
    ("أإآ", "ااا"),  # alef forms unified
    ("مستشفى المملكة", "مستشفي المملكه"),  # alef maqsura -> ya, ta marbuta -> ha
    ("مؤسسة رئيسية", "موسسه رييسيه"),  # hamza on waw / ya
    ("٢٠٢٥ و۲۰۲۵", "2025 و2025"),  # Arabic-Indic and Persian digits
    ("  many\n\tspaces\u00a0here\u200b ", "many spaces here"),
])
def test_normalise(raw, expected):
    assert normalise(raw) == expected


def test_arabic_cues_match_with_clitics_and_without_article():
    lexicon = CompiledLexicon(load_lexicon())
    families = ["morocco_country", "morocco", "ai", "partnership", "partner"]
    for text in ("شراكة للذكاء الاصطناعي بالمغرب", "ذكاء اصطناعي: المغرب يوقع اتفاقية", "والذكاء الاصطناعي وللمغرب"):
        found = lexicon.scan(normalise(text), families)
        # The kingdom itself is its own family since layout 3; a specific Moroccan party is another.
        assert found["ai"] and found["morocco_country"] and not found["morocco"], text
    found = lexicon.scan(normalise("وقع الاتفاق بالرباط وفي طنجة"), families)
    assert len(found["morocco"]) == 2 and not found["morocco_country"]


def test_first_char_regex_finds_what_each_pattern_finds():
    """The optimised scanner must agree with a plain per-pattern search."""
    lexicon = load_lexicon()
    compiled = CompiledLexicon(lexicon)
    rows, _ = load_labelled(sorted((REPO / "classifiers" / "data" / "parts").glob("*.jsonl")))
    for row in rows[::25]:
        text = normalise(f"{row['title']} {row['text']}")
        found = compiled.scan(text, list(lexicon))
        for family, scripts in lexicon.items():
            naive = [m.start() for p in scripts["latin"] for m in re.finditer(rf"\b(?:{p})\b", text)]
            naive += [m.start() for p in scripts["ar"] for m in re.finditer(p, text)]
            # Every position the scanner reports is a real match of that family (overlaps aside).
            assert set(found[family]) <= set(naive) | {p for f in found.values() for p in f}, family
            if naive and family in ("morocco", "ai", "partnership"):
                assert found[family] or any(found.values()), (family, row["id"])


def test_lean_tfidf_equals_scikit_learn():
    from sklearn.feature_extraction.text import TfidfVectorizer

    from classifiers.features import word_unigrams_bigrams
    from classifiers.tfidf import LeanTfidf

    rows, _ = load_labelled([REPO / "classifiers" / "data" / "parts" / "fr-a.jsonl"])
    docs = [normalise(r["title"] + " " + r["text"]) for r in rows]
    reference = TfidfVectorizer(analyzer=word_unigrams_bigrams, min_df=2, max_df=0.9, sublinear_tf=True).fit(docs)
    lean = LeanTfidf(analyzer=word_unigrams_bigrams, min_df=2, max_df=0.9).fit(docs)
    probe = docs[::-1] + ["", "mots inconnus seulement"]
    assert abs(reference.transform(probe) - lean.transform(probe)).max() < 1e-6
    assert list(reference.get_feature_names_out()) == list(lean.get_feature_names_out())


def test_prepare_accepts_dicts_pairs_and_headlines():
    assert prepare({"title": "Titre", "text": None})[0] == "titre"
    assert prepare(("Titre", "Texte"))[2] == "texte"
    assert prepare("Seulement un titre") == ("seulement un titre", "", "", "", "")  # layout 1-2 reading
    assert prepare("Seulement un titre", 6000) == ("seulement un titre", "", "", "Seulement un titre", "")
    title, lead, body, cased_title, cased_body = prepare({"title": "L'IA au Maroc", "text": "Le DG de l'ADD. " * 600}, 6000)
    assert len(body) <= 6000 and lead == body[:300] and cased_title == "L'IA au Maroc" and "ADD" in cased_body


# --- model behaviour --------------------------------------------------------------------------------

OBVIOUS_POSITIVE = [
    {"title": "Le Maroc signe un mémorandum d'entente avec Mistral AI sur l'intelligence artificielle", "text": ""},
    {"title": "Morocco and OpenAI sign agreement on AI skills and research", "text": ""},
    {"title": "المغرب ومايكروسوفت يوقعان اتفاقية شراكة في مجال الذكاء الاصطناعي", "text": ""},
    {"title": "Marruecos firma un acuerdo con Google sobre inteligencia artificial", "text": ""},
]
OBVIOUS_NEGATIVE = [
    {"title": "Botola : le Raja bat le Wydad dans le derby de Casablanca", "text": "Le match s'est joué au stade."},
    {"title": "Egypt signs AI agreement with Microsoft", "text": "Cairo and Microsoft agreed on AI training."},
    {"title": "المغرب وألمانيا يوقعان اتفاقية حول الهيدروجين الأخضر", "text": ""},
    {"title": "Lluvias intensas en Andalucía este fin de semana", "text": ""},
]


@pytest.fixture(scope="module")
def small_model():
    """A model trained on a quarter of the corpus: it must still separate obvious cases."""
    rows, _ = load_labelled(sorted((REPO / "classifiers" / "data" / "parts").glob("*.jsonl")))
    model, report = train(rows[::4], c_grid=(8.0,), n_splits=3)
    return model, report


def test_small_model_separates_obvious_cases(small_model):
    model, _ = small_model
    positives = model.predict(OBVIOUS_POSITIVE)
    negatives = model.predict(OBVIOUS_NEGATIVE)
    assert all(p.label == 1 for p in positives), [(p.score, p.explanation) for p in positives]
    assert all(p.label == 0 for p in negatives), [(p.score, p.explanation) for p in negatives]
    assert min(p.score for p in positives) > max(p.score for p in negatives)
    assert all(p.explanation.startswith("alert:") for p in positives)
    assert all(p.explanation.startswith("no alert:") for p in negatives)


def test_scores_are_probabilities_and_calibrated(small_model):
    model, report = small_model
    rows, _ = load_labelled([HOLDOUT])
    scores = model.scores(rows)
    assert ((scores >= 0) & (scores <= 1)).all()
    labels = np.array([r["label"] for r in rows])
    # Calibration: the mean predicted probability is close to the observed positive rate.
    assert abs(scores.mean() - labels.mean()) < 0.1
    assert report["cv"]["brier"] < 0.12
    assert 0.2 <= model.threshold <= 0.95


def test_threshold_is_chosen_for_precision():
    rng = np.random.default_rng(0)
    labels = np.r_[np.ones(200), np.zeros(300)].astype(int)
    scores = np.clip(np.r_[rng.normal(0.75, 0.15, 200), rng.normal(0.35, 0.15, 300)], 0, 1)
    cut = choose_threshold(labels, scores, target_precision=0.95)
    chosen = metrics_at(labels, scores, cut)
    assert chosen["precision"] >= 0.95
    assert metrics_at(labels, scores, 0.5)["precision"] < chosen["precision"]


def test_default_model_on_independent_holdout(model_registry):
    """Items written independently of the training corpus: the real measure of generalisation."""
    model, meta = registry.load_live(model_registry)
    rows, _ = load_labelled([HOLDOUT])
    labels = np.array([r["label"] for r in rows])
    result = metrics_at(labels, model.scores(rows), model.threshold)
    assert result["precision"] >= 0.9 and result["f1"] >= 0.9, result


def test_founding_articles_are_positive(model_registry):
    seeds = seed_articles()
    if not seeds:
        pytest.skip("../shared/seeds is absent")
    model, _ = registry.load_live(model_registry)
    assert all(p.label == 1 for p in model.predict(seeds))


# --- registry -------------------------------------------------------------------------------------


@pytest.fixture
def registry_copy(tmp_path, model_registry):
    import shutil

    root = tmp_path / "models"
    shutil.copytree(model_registry, root)
    return root


def test_registry_lists_and_promotes(registry_copy):
    [version] = registry.versions(registry_copy)
    assert version.live and version.meta["sklearn_version"]
    for key in ("version", "created_at", "data_hash", "data_counts", "threshold", "metrics", "model_sha256"):
        assert key in version.meta
    with pytest.raises(registry.ModelError, match="no version 'v0099'"):
        registry.promote("v0099", registry_copy)


def test_corrupt_model_file_is_refused(registry_copy):
    path = registry_copy / "v0001" / registry.MODEL_FILE
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(registry.ModelError, match="does not match the checksum"):
        registry.load(path.parent)


def _reseal(model_file: Path) -> None:
    """Make meta.json's checksum match a replaced model file, so the next check is the one tested."""
    meta_path = model_file.parent / registry.META_FILE
    meta = json.loads(meta_path.read_text())
    meta["model_sha256"] = registry._sha256(model_file)
    meta_path.write_text(json.dumps(meta))


def test_truncated_or_garbage_file_is_refused_even_with_matching_checksum(registry_copy):
    path = registry_copy / "v0001" / registry.MODEL_FILE
    path.write_bytes(b"not a zip file at all")
    _reseal(path)
    with pytest.raises(registry.ModelError, match="not a readable skops file|could not be loaded"):
        registry.load(path.parent)


def test_foreign_types_are_refused(registry_copy):
    import skops.io as sio

    path = registry_copy / "v0001" / registry.MODEL_FILE
    sio.dump({"payload": subprocess.Popen}, path)  # a type outside the allow-list
    _reseal(path)
    with pytest.raises(registry.ModelError, match="outside the allow-list"):
        registry.load(path.parent)


def test_other_sklearn_version_is_refused(registry_copy):
    meta_path = registry_copy / "v0001" / registry.META_FILE
    meta = json.loads(meta_path.read_text())
    meta["sklearn_version"] = "0.24.2"
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(registry.ModelError, match="scikit-learn 0.24.2 .* retrain"):
        registry.load(meta_path.parent)


def test_missing_metadata_is_refused(registry_copy):
    (registry_copy / "v0001" / registry.META_FILE).unlink()
    with pytest.raises(registry.ModelError, match="cannot be verified"):
        registry.load(registry_copy / "v0001")


# --- CLI ---------------------------------------------------------------------------------------------


def run_cli(*args: str, env_extra: dict[str, str] | None = None, cwd: Path | None = None):
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("WATCH_")}
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-m", "classifiers", *args], capture_output=True, text=True, env=env,
                          cwd=cwd, timeout=600)


def test_cli_end_to_end_on_a_temporary_registry(tmp_path):
    root = tmp_path / "registry"
    small = tmp_path / "small.jsonl"
    rows, _ = load_labelled(sorted((REPO / "classifiers" / "data" / "parts").glob("*.jsonl")))
    small.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows[::3]) + "\n", encoding="utf-8")
    env = {"WATCH_MODEL_DIR": str(root)}

    first = run_cli("train", "--no-corpus", "--data", str(small), "--c", "8", env_extra=env)
    assert first.returncode == 0, first.stderr
    summary = json.loads(first.stdout)
    assert summary["version"] == "v0001" and summary["live"] is True and summary["items"] == len(rows[::3])
    assert 0 <= summary["cv_precision"] <= 1 and "[" in first.stderr  # progress display
    second = run_cli("train", "--no-corpus", "--data", str(small), "--c", "8", env_extra=env)
    assert json.loads(second.stdout)["live"] is False  # a new version is not promoted silently

    listing = run_cli("list", env_extra=env)
    assert "* v0001" in listing.stdout and "  v0002" in listing.stdout
    assert run_cli("promote", "v0002", env_extra=env).returncode == 0
    assert "* v0002" in run_cli("list", env_extra=env).stdout
    assert run_cli("promote", "v0042", env_extra=env).returncode == 2

    source = tmp_path / "in.jsonl"
    source.write_text("\n".join([
        json.dumps({"id": "pos", "title": "Le Maroc et Mistral AI signent un accord sur l'intelligence artificielle",
                    "text": "", "ignored": True}, ensure_ascii=False),
        "{broken json",
        json.dumps({"id": "neg", "title": "Météo : pluies sur le Rif", "text": "Des averses sont attendues."},
                   ensure_ascii=False),
        json.dumps([1, 2]),
        json.dumps({"id": "empty", "title": "", "text": ""}),
        json.dumps({"id": "headline", "title": "المغرب وأوبن إيه آي يبحثان شراكة في الذكاء الاصطناعي"},
                   ensure_ascii=False),
    ]) + "\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    predicted = run_cli("predict", "--input", str(source), "--output", str(out), env_extra=env)
    assert predicted.returncode == 0, predicted.stderr
    assert "line 2:" in predicted.stderr and "line 4:" in predicted.stderr and "line 5:" in predicted.stderr
    results = {r["id"]: r for r in map(json.loads, out.read_text(encoding="utf-8").splitlines())}
    assert set(results) == {"pos", "neg", "headline"}
    for result in results.values():
        assert set(result) == {"id", "score", "label", "explanation"}
        assert 0 <= result["score"] <= 1 and result["label"] in (0, 1) and result["explanation"]
    assert results["pos"]["label"] == 1 and results["neg"]["label"] == 0

    data = tmp_path / "eval.jsonl"
    data.write_text(HOLDOUT.read_text(encoding="utf-8"), encoding="utf-8")
    evaluated = run_cli("evaluate", "--data", str(data), "--model", str(root / "v0001"), "--json",
                        "--plots", str(tmp_path / "plots"), env_extra=env)
    assert evaluated.returncode == 0, evaluated.stderr
    metrics = json.loads(evaluated.stdout)
    assert {"precision", "recall", "f1", "confusion_matrix", "per_language", "misclassified"} <= set(metrics)
    assert (tmp_path / "plots" / "eval.pr_curve.png").stat().st_size > 1000
    assert (tmp_path / "plots" / "eval.confusion.png").stat().st_size > 1000
    assert not (tmp_path / "eval.pr_curve.png").exists()  # never beside the data (or in the repository)
    readable = run_cli("evaluate", "--data", str(data), "--model", str(root / "v0001"), "--plots",
                       str(tmp_path / "plots"), env_extra=env)
    assert readable.returncode == 0, readable.stderr
    for needle in ("precision=", "\nfr ", "\nar ", "\nen ", "\nes ", "category", "misclassified ("):
        assert needle in readable.stdout, needle
    for error in metrics["misclassified"]:
        assert error["explanation"] and error["id"] in readable.stdout

    (root / "v0001" / registry.MODEL_FILE).write_bytes(b"corrupted")
    refused = run_cli("predict", "--input", str(source), "--model", str(root / "v0001"), env_extra=env)
    assert refused.returncode == 2 and "checksum" in refused.stderr


def test_cli_without_model_says_what_to_do(tmp_path):
    source = tmp_path / "in.jsonl"
    source.write_text('{"id": 1, "title": "x"}\n')
    result = run_cli("predict", "--input", str(source), env_extra={"WATCH_MODEL_DIR": str(tmp_path / "empty")})
    assert result.returncode == 2 and "python -m classifiers train" in result.stderr


def test_promotion_requires_not_worse_precision_and_f1():
    from classifiers.promotion import decide

    def comparison(candidate, live):
        return {"candidate": "v2", "candidate_metrics": candidate, "live_metrics": live}

    better = comparison({"precision": 0.95, "f1": 0.93}, {"precision": 0.94, "f1": 0.93})
    assert decide(better) == (True, "precision 0.950 >= 0.940, F1 0.930 >= 0.930")
    worse_precision = comparison({"precision": 0.90, "f1": 0.95}, {"precision": 0.94, "f1": 0.93})
    promoted, reason = decide(worse_precision)
    assert not promoted and "precision 0.900 < live 0.940" in reason
    assert decide(worse_precision, force=True)[0]
    close = comparison({"precision": 0.96875, "f1": 0.95}, {"precision": 0.96921, "f1": 0.93})
    assert decide(close) == (False, "precision 0.9688 < live 0.9692")   # enough digits to explain itself
    assert decide({"candidate": "v1", "candidate_metrics": {"precision": 0.5, "f1": 0.5}})[0]


@pytest.mark.parametrize(("family", "phrase"), [
    ("morocco", "la région Souss-Massa"), ("morocco", "l'Université Ibn Zohr d'Agadir"), ("morocco_country", "Marruecos"),
    ("morocco_country", "بالمغرب"), ("morocco", "جامعة ابن زهر"), ("morocco", "a Moroccan start-up"),
    ("ai", "l'intelligence artificielle"), ("ai", "machine learning"), ("ai", "visión artificial"),
    ("ai", "un modèle de langage"), ("ai", "la maintenance prédictive"), ("ai", "للذكاء الاصطناعي"),
    ("ai", "ذكاء اصطناعي"), ("ai", "asistente virtual"),
    ("deal", "un mémorandum d'entente"), ("deal", "l'ONDA confie à"), ("deal", "wins a contract"),
    ("deal", "un acuerdo de colaboración"), ("coop", "en discussion avec"), ("deal", "مذكرة تفاهم"),
    ("deal", "يتفقان على"), ("deal", "firman un acuerdo"),
    ("ai_company", "OpenAI"), ("ai_company", "Mistral AI"), ("ai_company", "أوبن إيه آي"), ("ai_company", "جي 42"),
    ("elsewhere", "le Sénégal"), ("elsewhere", "مصر"), ("recap", "un an après"), ("recap", "les 5 partenariats"),
    ("intent", "ouvert à tous les partenaires"),
])
def test_lexicon_families_match_their_phrases(family, phrase):
    """Guards the lexicon file: an edit that silently fails to load would fail here."""
    lexicon = load_lexicon()
    found = CompiledLexicon(lexicon, whole_words=True).scan(normalise(phrase), list(lexicon), fold_cased(phrase))
    assert found[family], (family, phrase, found)


# --- hard negatives: another party's AI deal that recalls Morocco's --------------------------------

@pytest.mark.parametrize("phrase", [
    "Après le Maroc, la Tunisie", "à l'instar du Maroc", "dans le sillage de Rabat", "emboîte le pas au Maroc",
    "une semaine après l'accord entre Rabat et Mistral AI", "After Morocco, Kenya", "weeks after Morocco's deal",
    "hot on the heels of Morocco", "a week after the memorandum between Rabat and", "Tras Marruecos, Túnez",
    "siguiendo los pasos de Marruecos", "tras el acuerdo entre Rabat y Mistral", "al igual que el reino alauí",
    "على غرار المغرب", "بعد المغرب، جاء دور", "بعد أسبوع من توقيع الرباط", "أسوة بالمغرب", "بحال المغرب",
])
def test_precedent_cues_take_the_moroccan_name_they_contain(phrase):
    """Morocco named as the earlier deal is a precedent cue, not a Moroccan party of this story."""
    lexicon = load_lexicon()
    found = CompiledLexicon(lexicon, whole_words=True).scan(normalise(phrase), list(lexicon), fold_cased(phrase))
    assert found["precedent"], (phrase, found)
    assert not found["morocco"], (phrase, found)


@pytest.mark.parametrize("phrase", ["Egypt", "Tunisia", "Argelia", "Ivory Coast", "Mauritania", "Jordan", "India",
                                    "Nairobi", "Dakar", "Kenia", "Costa de Marfil", "الأردن", "كينيا", "نواكشوط"])
def test_every_other_country_alternative_matches(phrase):
    """Alternatives after the first of an ``a|b`` cue used to be unreachable by the fast scanner."""
    lexicon = load_lexicon()
    assert CompiledLexicon(lexicon, whole_words=True).scan(normalise(phrase), list(lexicon),
                                                         fold_cased(phrase))["elsewhere"], phrase


def _cue_row(title: str, text: str = "") -> dict[str, float]:
    from classifiers.features import CueFeatures

    cues = CueFeatures(load_lexicon()).fit([])
    values = cues.transform([prepare({"title": title, "text": text}, WINDOW_CHARS)])[0]
    return dict(zip(cues.get_feature_names_out(), values, strict=True))


def test_headline_deal_between_other_parties_is_a_feature():
    row = _cue_row("Kenya signs AI skills pact with Microsoft",
                   "Weeks after Morocco's memorandum with Mistral AI, Nairobi has signed its own agreement.")
    assert row["elsewhere_deal_in_title"] == row["headline_deal_not_moroccan"] == 1.0
    assert row["morocco_lead_only_as_precedent"] == 1.0 and row["morocco_in_lead"] == 0.0
    moroccan = _cue_row("Le Maroc et le Sénégal signent un accord sur l'intelligence artificielle",
                        "Rabat et Dakar formeront ensemble des ingénieurs.")
    assert moroccan["elsewhere_deal_in_title"] == moroccan["headline_deal_not_moroccan"] == 0.0
    assert moroccan["morocco_lead_only_as_precedent"] == 0.0
    follower = _cue_row("Après les Émirats, Nvidia choisit le Maroc pour un centre de formation à l'IA")
    assert follower["headline_deal_not_moroccan"] == 0.0 and follower["morocco_in_title"] == 1.0


def test_models_saved_before_the_new_cues_keep_their_columns():
    """A CueFeatures restored from an older model has no ``layout_``: it must emit the old columns only."""
    from classifiers.compare import TOPICS
    from classifiers.features import CueFeatures

    cues = CueFeatures(load_lexicon(TOPICS / "morocco_ai.layout2.yaml"), layout=2).fit([])
    new_width = cues.transform([prepare("Le Maroc signe avec Mistral AI")]).shape[1]
    del cues.layout_
    old = cues.transform([prepare("Le Maroc signe avec Mistral AI")])
    assert old.shape[1] == len(cues.get_feature_names_out()) == new_width - len(CueFeatures.ELSEWHERE_NAMES)
    current = CueFeatures(load_lexicon()).fit([])
    assert current.layout_ == 3
    assert current.transform([prepare("Le Maroc signe avec Mistral AI", WINDOW_CHARS)]).shape[1] == \
        len(current.get_feature_names_out())


# Fresh variants (not in any training file) of a story about another country's AI deal whose lead recalls
# Morocco's: Morocco, AI and a partnership all appear in the lead, yet the news is not Moroccan.
OTHER_COUNTRY_DEALS_RECALLING_MOROCCO = [
    {"title": "Kenya teams up with a Berlin start-up to build a Swahili voice assistant",
     "text": "Barely a week after Rabat's memorandum of understanding with Mistral AI, Nairobi is also betting on a "
             "European artificial intelligence company. After Morocco, Kenya: the ICT ministry signed an agreement on "
             "Thursday with the German firm to develop a voice assistant that understands Swahili and Kikuyu, starting "
             "with birth registration and hospitals."},
    {"title": "Costa de Marfil se alía con una start-up de Barcelona para crear un asistente de voz en baulé",
     "text": "Una semana después del acuerdo entre Rabat y Mistral AI, Abiyán también apuesta por una empresa europea "
             "de inteligencia artificial. Tras Marruecos, Costa de Marfil: el ministerio marfileño de Economía Digital "
             "firmó el viernes un convenio con la compañía catalana para desarrollar un asistente que entienda el "
             "baulé y el diula."},
    {"title": "غانا تتحالف مع شركة ناشئة ألمانية لتطوير مساعد صوتي بلغة التوي",
     "text": "بعد أسبوع من توقيع مذكرة التفاهم بين الرباط وميسترال للذكاء الاصطناعي، تراهن أكرا بدورها على شركة "
             "أوروبية. فبعد المغرب، جاء دور غانا: وقعت وزارة الاتصالات الغانية يوم الجمعة اتفاقية مع الشركة الألمانية "
             "لتطوير مساعد صوتي يفهم لغة التوي، بدءا بالحالة المدنية والصحة."},
    {"title": "Le Cameroun choisit une jeune pousse bruxelloise pour un agent conversationnel en ewondo",
     "text": "Dix jours après l'accord conclu entre Rabat et Mistral AI, Yaoundé se tourne à son tour vers une "
             "entreprise européenne d'intelligence artificielle. À l'instar du Maroc, le Cameroun a signé mercredi avec "
             "la société belge une convention pour concevoir un agent capable de dialoguer en ewondo et en duala."},
]
# Moroccan deals phrased unusually (metonyms, "the kingdom", another country named first): still alerts.
UNUSUAL_MOROCCAN_DEALS = [
    {"title": "The kingdom and Nvidia sign deal for Morocco's first AI supercomputer",
     "text": "Morocco's digital transition ministry signed an agreement with Nvidia on Monday in Rabat for a national "
             "AI compute cluster and training for Moroccan engineers."},
    {"title": "المغرب يوقع مذكرة تفاهم مع غوغل لتكوين الشباب في الذكاء الاصطناعي", "text": ""},
    {"title": "Après Paris, Mistral AI signe avec Rabat un accord sur l'IA dans l'administration",
     "text": "Le ministère marocain de la Transition numérique et Mistral AI ont signé jeudi un accord pour déployer "
             "des assistants dans les services publics."},
    {"title": "El reino alauí y OpenAI firman un memorando sobre inteligencia artificial en la educación", "text": ""},
]


def test_other_countrys_deal_recalling_morocco_does_not_alert(model_registry):
    model, _ = registry.load_live(model_registry)
    predictions = model.predict(OTHER_COUNTRY_DEALS_RECALLING_MOROCCO)
    assert all(p.score < model.threshold for p in predictions), [(p.score, p.explanation) for p in predictions]
    assert all(p.explanation.startswith("no alert:") for p in predictions)


def test_unusually_phrased_moroccan_deals_still_alert(model_registry):
    model, _ = registry.load_live(model_registry)
    predictions = model.predict(UNUSUAL_MOROCCAN_DEALS)
    assert all(p.label == 1 for p in predictions), [(p.score, p.explanation) for p in predictions]


def test_list_shows_every_figure_with_three_decimals(tmp_path, monkeypatch, capsys):
    """A column of figures lines up and compares: 0.970 above 0.969, never 0.97 above 0.9688."""
    from classifiers.cli import main

    for name, metrics, threshold in (("v0001", {"precision": 0.97, "recall": 1, "f1": 0.96884}, 0.5),
                                     ("v0002", {"precision": 0.9692, "recall": 0.9}, 0.41234)):
        (tmp_path / name).mkdir()
        (tmp_path / name / registry.META_FILE).write_text(json.dumps(
            {"created_at": "2026-12-04T10:00:00+00:00", "metrics": metrics, "threshold": threshold,
             "data_counts": {"items": 10}}), encoding="utf-8")
    (tmp_path / registry.LIVE_FILE).write_text("v0001\n", encoding="utf-8")
    monkeypatch.setenv("WATCH_MODEL_DIR", str(tmp_path))
    assert main(["list"]) == 0
    lines = {line.split()[1] if line.startswith("*") else line.split()[0]: line
             for line in capsys.readouterr().out.splitlines() if "v000" in line}
    assert lines["v0001"].split()[-4:] == ["0.970", "1.000", "0.969", "0.500"]
    assert lines["v0002"].split()[-4:] == ["0.969", "0.900", "–", "0.412"]
    assert lines["v0001"].startswith("* ")
