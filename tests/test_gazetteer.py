"""The topic's gazetteer (aiwatch.gazetteer): parties, places, states and nationalities named in
French, English, Spanish and Arabic, and clear errors for wrong data files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from aiwatch.gazetteer import Gazetteer, GazetteerError, default_gazetteer
from hypothesis import given, settings
from hypothesis import strategies as st

from classifiers.normalise import normalise

REPO = Path(__file__).resolve().parents[1]
MINISTRY = "Ministère de la Transition numérique et de la Réforme de l'administration"
UM6P = "Université Mohammed VI Polytechnique"
ADD = "Agence de développement du digital"


@pytest.fixture(scope="module")
def gaz() -> Gazetteer:
    return default_gazetteer()


def test_default_load_is_cached(gaz: Gazetteer) -> None:
    """Compiling takes a while: every caller shares one gazetteer per version of the files."""
    assert default_gazetteer() is gaz
    assert Gazetteer.load(REPO / "config" / "gazetteer.yaml") is gaz
    assert gaz.known(MINISTRY) and gaz.known("Mistral AI") and not gaz.known("Nobody Inc")


@pytest.mark.parametrize(("text", "party"), [
    ("Le ministère de la Transition numérique signe avec une start-up", MINISTRY),
    ("The Ministry of Digital Transition welcomed the plan", MINISTRY),
    ("El Ministerio de Transición Digital presentó el plan", MINISTRY),
    ("أعلنت وزارة الانتقال الرقمي عن برنامج جديد", MINISTRY),
    ("Des chercheurs de l'UM6P à Benguerir", UM6P),
    ("Mohammed VI Polytechnic University opens a lab", UM6P),
    ("شراكة مع جامعة محمد السادس متعددة التخصصات", UM6P),
    ("Mistral AI ouvre un bureau", "Mistral AI"),
    ("اتفاق بين الحكومة وميسترال", "Mistral AI"),
    ("La ADD lanza una plataforma", ADD),
])
def test_parties_by_alias_in_four_languages(gaz: Gazetteer, text: str, party: str) -> None:
    """One body is found whatever the language, script or Arabic proclitic."""
    assert party in [e.name for e in gaz.names_in(text)]


@pytest.mark.parametrize("text", ["la um6p", "add a new feature", "Add the files", "un mistral glacial"])
def test_acronyms_and_cased_aliases_are_case_sensitive(gaz: Gazetteer, text: str) -> None:
    """Short forms that are also common words only match as written."""
    assert gaz.names_in(text) == []


def test_places_and_their_parents(gaz: Gazetteer) -> None:
    """The city and its region are one body for grouping; a ministry does not absorb its agency."""
    names = [e.name for e in gaz.names_in("La région Dakhla-Oued Ed-Dahab et la ville de Dakhla")]
    assert names == ["Dakhla-Oued Ed-Dahab", "Dakhla"]
    assert gaz.entry("Dakhla").is_place and not gaz.entry("Dakhla-Oued Ed-Dahab").is_place
    assert gaz.ancestors("Dakhla") == ("Dakhla-Oued Ed-Dahab",)
    assert gaz.related("Dakhla", "Dakhla-Oued Ed-Dahab") and gaz.related("Dakhla-Oued Ed-Dahab", "Dakhla")
    assert gaz.ancestors(ADD) == (MINISTRY,) and not gaz.related(ADD, MINISTRY)
    [span] = gaz.spans("الداخلة")  # also "the inside": weak evidence on its own
    assert span.entry is not None and span.entry.name == "Dakhla" and span.weak


@pytest.mark.parametrize("text", ["La France et le Maroc", "فرنسا والمغرب", "Francia y Marruecos"])
def test_foreign_states_are_parties_of_kind_state(gaz: Gazetteer, text: str) -> None:
    """A country name standing alone is a party; the home country is the Moroccan side."""
    france, morocco = gaz.names_in(text)
    assert (france.name, france.kind, france.side, france.country) == ("France", "state", "foreign", "FR")
    assert (morocco.name, morocco.side) == ("Morocco", "moroccan")


@pytest.mark.parametrize("text", ["une start-up américaine", "an American start-up", "شركة ناشئة أمريكية",
                                  "una empresa emergente estadounidense"])
def test_demonyms_describe_and_are_not_parties(gaz: Gazetteer, text: str) -> None:
    """"an American start-up" says what kind of party it is, not that the United States signs."""
    kinds = sorted(s.entry.kind for s in gaz.spans(text) if s.entry is not None)
    assert kinds == ["demonym", "noun"]
    assert gaz.names_in(text) == []
    assert gaz.adjective("US") == "US" and gaz.adjective("FR") == "French"


@pytest.mark.parametrize(("name", "shown"), [
    (MINISTRY, "Ministry of Digital Transition and Administrative Reform"),
    (UM6P, "UM6P"),  # long English name: the acronym
    ("Dakhla-Oued Ed-Dahab", "Dakhla-Oued Ed-Dahab region"), ("Mistral AI", "Mistral AI"),
    ("Une start-up inconnue", "Une start-up inconnue"),  # discovered names pass through
])
def test_display_name_is_english(gaz: Gazetteer, name: str, shown: str) -> None:
    """Headlines are written in English whatever the language of the report."""
    assert gaz.display_name(name) == shown


@pytest.mark.parametrize(("text", "expected"), [
    ("Digital transition and education ministries sign an AI memorandum", {"MTNRA", "MENPS"}),
    ("Les ministères de l'Industrie et du Commerce, de l'Enseignement supérieur et de la Transition numérique",
     {"MIC", "MESRSI", "MTNRA"}),
    ("Los ministerios de Transición Digital y de Educación firmaron un memorando", {"MTNRA", "MENPS"}),
    ("وقعت وزارتا الانتقال الرقمي والتربية الوطنية مذكرة تفاهم", {"MTNRA", "MENPS"}),
    ("The education ministry and a start-up sign a deal", set()),          # one short name is not enough
    ("Education and health matter to the digital transition", set()),      # and none without the plural noun
])
def test_short_names_beside_a_plural_noun_name_bodies(gaz: Gazetteer, text: str, expected: set[str]) -> None:
    """Headlines coordinate ministries by their short names; alone, a short name is a common word."""
    found = {gaz.entry(e.name).acronym or e.name for _, e in gaz.coordinated(normalise(text))}
    assert found == expected


# --- wrong files: each error names the file and the entry at fault -----------------------------

_HOME = [{"name": "Morocco", "side": "moroccan", "kind": "state", "aliases": ["Maroc", "المغرب"]},
         {"name": "Chef du gouvernement", "side": "moroccan", "kind": "government", "aliases": ["Chef du gouvernement"]}]
_AGENCY = {"name": "Agence de test", "side": "moroccan", "kind": "agency", "aliases": ["Agence de test", "وكالة الاختبار"]}


def _write(tmp_path: Path, parties: Any, countries: Any = None, **settings: Any) -> Path:
    """A copy of config/gazetteer.yaml in tmp_path whose data files are the ones given (absolute paths)."""
    raw = yaml.safe_load((REPO / "config" / "gazetteer.yaml").read_text(encoding="utf-8"))
    (tmp_path / "parties.yaml").write_text(parties if isinstance(parties, str) else
                                           yaml.safe_dump({"parties": parties}, allow_unicode=True), encoding="utf-8")
    raw["parties_file"] = str(tmp_path / "parties.yaml")
    raw["countries_file"] = str(REPO / "classifiers" / "topics" / "countries.yaml")
    if countries is not None:
        (tmp_path / "countries.yaml").write_text(yaml.safe_dump({"countries": countries}), encoding="utf-8")
        raw["countries_file"] = str(tmp_path / "countries.yaml")
    raw.update(settings)
    path = tmp_path / "gazetteer.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


def test_small_copy_loads_and_reloads_when_a_file_changes(tmp_path: Path) -> None:
    """The cache follows file versions: an edited parties file is compiled again."""
    path = _write(tmp_path, _HOME)
    first = Gazetteer.load(path)
    assert Gazetteer.load(path) is first and not first.known("Agence de test")
    _write(tmp_path, [*_HOME, _AGENCY])
    assert [e.name for e in Gazetteer.load(path).names_in("بوكالة الاختبار")] == ["Agence de test"]


@pytest.mark.parametrize(("parties", "countries", "settings", "needles"), [
    (_HOME, None, {"parties_file": "/nonexistent/parties.yaml"}, ["/nonexistent/parties.yaml", "cannot read"]),
    ("parties: [{name: Maroc, aliases: [", None, {}, ["parties.yaml", "line", "not valid YAML"]),
    ([*_HOME, {"side": "moroccan", "kind": "agency", "aliases": ["Sans nom"]}], None, {}, ["parties[2]", "'name'"]),
    ([*_HOME, {**_AGENCY, "side": "marocain"}], None, {}, ["parties[2] ('Agence de test')", "'side'", "'marocain'"]),
    ([*_HOME, _AGENCY, {**_AGENCY, "name": "Autre agence"}], None, {},
     ["parties[3] ('Autre agence')", "'Agence de test' already belongs to 'Agence de test'"]),
    (_HOME, [{"code": "FR", "names": ["France"]}], {}, ["countries file", "countries[0] (FR)", "'names'"]),
    (_HOME, None, {"units": ["MW"]}, ["gazetteer.yaml", "'units'"]),
    (_HOME, None, {"multipliers": {"beaucoup": ["beaucoup"]}}, ["multipliers", "'beaucoup' is not a number"]),
    ([*_HOME, {**_AGENCY, "short": ["test"]}, {**_AGENCY, "name": "Autre", "aliases": ["Autre"], "short": ["Test"]}],
     None, {}, ["parties[3] ('Autre')", "short name 'Test'", "'Agence de test'"]),
    (_HOME, None, {"coordination": {"nouns": "ministries"}}, ["coordination", "'nouns'"]),
])
def test_wrong_files_raise_a_named_error(tmp_path: Path, parties: Any, countries: Any, settings: dict[str, Any],
                                         needles: list[str]) -> None:
    """A broken data file stops loading with a message a maintainer can act on."""
    path = _write(tmp_path, parties, countries, **settings)
    with pytest.raises(GazetteerError) as info:
        Gazetteer.load(path)
    for needle in needles:
        assert needle in str(info.value)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_related_to_any_is_any_related(data: st.DataObject) -> None:
    """The set-based lookup grouping uses is the pairwise rule, for every party and group."""
    gaz = default_gazetteer()
    names = sorted(e.name for e in gaz.parties())
    with_parents = sorted({n for n in names if gaz.ancestors(n)} | {a for n in names for a in gaz.ancestors(n)})
    pool = st.sampled_from(with_parents) | st.sampled_from(names)
    name = data.draw(pool)
    group = frozenset(data.draw(st.lists(pool, max_size=6)))
    assert gaz.related_to_any(name, group) == any(gaz.related(name, other) for other in group)
