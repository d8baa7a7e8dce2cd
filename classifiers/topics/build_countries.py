"""Build classifiers/topics/countries.yaml: the world's states with their names in en/fr/es/ar.

    .venv/bin/python classifiers/topics/build_countries.py            # writes countries.yaml
    .venv/bin/python classifiers/topics/build_countries.py --check    # exit 1 if it is out of date

Sources, merged in this order (duplicates dropped, first spelling kept):
  1. the CLDR territory names shipped with the `babel` package (`Locale(lang).territories[code]`),
     for en, fr, es and ar; the babel and CLDR versions are written into the output header;
  2. the hand-written countries_extra.yaml next to this script: short and variant names, demonyms,
     capitals (and seats of government), and the `ambiguous` forms.

Coverage: the 193 UN member states plus Palestine (PS), the Holy See / Vatican (VA), Kosovo (XK) and
Taiwan (TW). Western Sahara (EH) is deliberately absent: it is part of Morocco's claimed territory.
Morocco (MA) comes first with `home: true`; the others follow in code order.

Mechanical expansions (so that countries_extra.yaml stays short), applied to every list:
  - CLDR names: the typographic apostrophe is written ' ; "Myanmar (Burma)" also yields "Myanmar" and
    "Burma".
  - Arabic names, demonyms and capitals also get a spelling without hamza on alif and without harakat
    (إسبانيا -> اسبانيا, عُمان -> عمان), as many writers type them.
  - Demonyms: a form containing "|" is taken literally ("turc|turque|turcs|turques"); otherwise a
    masculine singular is inflected:
      en  -an / -i  -> +s                         (Moroccan -> Moroccans, Iraqi -> Iraqis)
      fr  -en -> -enne -ens -ennes; -an/-in/-ain -> +e +s +es; -s -> +e +es; -e -> +s;
          -on -> +ne +s +nes; otherwise +e +s +es  (marocain, marocaine, marocains, marocaines)
      es  -o -> -a -os -as; -és -> -esa -eses -esas; -án/-ín/-ón -> -ana/-anes/-anas...;
          -í -> -íes; -e / -a -> +s; -ol -> +a +es +as; -r -> +es
      ar  one-word masculine nisba in -ي -> +ة, +ون, +ين (فرنسي فرنسية فرنسيون فرنسيين); then every
          one-word form also gets the article (الفرنسي ...). Multi-word forms are taken as written.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import babel
import babel.core
import yaml
from babel import Locale

HERE = Path(__file__).resolve().parent
EXTRA = HERE / "countries_extra.yaml"
OUT = HERE / "countries.yaml"
LANGS = ("en", "fr", "es", "ar")

UN_MEMBERS = """
AF AL DZ AD AO AG AR AM AU AT AZ BS BH BD BB BY BE BZ BJ BT BO BA BW BR BN BG BF BI CV KH CM CA CF TD
CL CN CO KM CG CD CR CI HR CU CY CZ DK DJ DM DO EC EG SV GQ ER EE SZ ET FJ FI FR GA GM GE DE GH GR GD
GT GN GW GY HT HN HU IS IN ID IR IQ IE IL IT JM JP JO KZ KE KI KP KR KW KG LA LV LB LS LR LY LI LT LU
MG MW MY MV ML MT MH MR MU MX FM MD MC MN ME MA MZ MM NA NR NP NL NZ NI NE NG MK NO OM PK PW PA PG PY
PE PH PL PT QA RO RU RW KN LC VC WS SM ST SA SN RS SC SL SG SK SI SB SO ZA SS ES LK SD SR SE CH SY TJ
TZ TH TL TG TO TT TN TR TM TV UG UA AE GB US UY UZ VU VE VN YE ZM ZW
""".split()
OTHERS = ["PS", "VA", "XK", "TW"]  # observer states and partially recognised states
HOME = "MA"

_ARABIC = re.compile("[\u0600-\u06ff]")
_HARAKAT = re.compile("[\u064b-\u065f\u0670\u0640]")


def _dedup(items):
    seen, out = set(), []
    for item in items:
        item = " ".join(str(item).split())
        if item and item not in seen:
            seen.add(item)
            out.append(item)
    return out


def _arabic_variants(form: str) -> list[str]:
    bare = _HARAKAT.sub("", form)
    bare = bare.replace("أ", "ا").replace("إ", "ا").replace("آ", "ا")
    return [form, bare] if bare != form else [form]


def _cldr(code: str, lang: str) -> list[str]:
    name = Locale(lang).territories[code].replace("\u2019", "'")
    forms = [name]
    m = re.fullmatch(r"(.+?)\s*\((.+)\)", name)
    if m:
        forms += [m.group(1), m.group(2)]
    return forms


def _fr(m: str) -> list[str]:
    if m.endswith("en"):
        return [m, m + "ne", m + "s", m + "nes"]
    if m.endswith("on"):
        return [m, m + "ne", m + "s", m + "nes"]
    if m.endswith("s"):
        return [m, m + "e", m + "es"]
    if m.endswith("e"):
        return [m, m + "s"]
    return [m, m + "e", m + "s", m + "es"]


def _es(m: str) -> list[str]:
    for acc, plain in (("és", "es"), ("án", "an"), ("ín", "in"), ("ón", "on")):
        if m.endswith(acc):
            stem = m[: -len(acc)] + plain
            return [m, stem + "a", stem + "es", stem + "as"]
    if m.endswith("o"):
        return [m, m[:-1] + "a", m + "s", m[:-1] + "as"]
    if m.endswith("í"):
        return [m, m + "es"]
    if m.endswith(("e", "a")):
        return [m, m + "s"]
    if m.endswith("ol"):
        return [m, m + "a", m + "es", m + "as"]
    if m.endswith("r"):
        return [m, m + "es"]
    return [m]


def _en(m: str) -> list[str]:
    return [m, m + "s"] if m.endswith(("an", "i")) else [m]


def _ar(m: str) -> list[str]:
    if " " in m:
        return [m]
    forms = [m]
    if m.endswith("ي") and not m.startswith("ال"):
        forms += [m + "ة", m + "ون", m + "ين"]
    return forms + ["ال" + f for f in forms if not f.startswith("ال")]


_INFLECT = {"en": _en, "fr": _fr, "es": _es, "ar": _ar}


def _demonyms(lang: str, items) -> list[str]:
    out = []
    for item in items or []:
        out += item.split("|") if "|" in item else _INFLECT[lang](item)
    return out


def _by_lang(block) -> dict[str, list[str]]:
    """{en, fr, es, ar} from a block that may use `lat` for a form shared by en, fr and es."""
    block = block or {}
    unknown = set(block) - set(LANGS) - {"lat"}
    if unknown:
        raise ValueError(f"unknown language keys {sorted(unknown)}")
    return {lang: list(block.get("lat", []) if lang != "ar" else []) + list(block.get(lang, []))
            for lang in LANGS}


def _finish(lang: str, forms: list[str]) -> list[str]:
    if lang == "ar":
        forms = [v for f in forms for v in (_arabic_variants(f) if _ARABIC.search(f) else [f])]
    return _dedup(forms)


def build() -> tuple[list[dict], list[str]]:
    extra = yaml.safe_load(EXTRA.read_text(encoding="utf-8")) or {}
    codes = [HOME] + sorted(c for c in UN_MEMBERS + OTHERS if c != HOME)
    problems = [f"{c}: in countries_extra.yaml but not a listed state" for c in extra if c not in codes]
    entries = []
    for code in codes:
        ext = extra.get(code) or {}
        if not ext:
            problems.append(f"{code}: no entry in countries_extra.yaml")
        names = _by_lang(ext.get("names"))
        dem = _by_lang(ext.get("demonyms"))
        caps = _by_lang(ext.get("capitals"))
        entry = {"code": code}
        if code == HOME:
            entry["home"] = True
        entry["names"] = {lang: _finish(lang, _cldr(code, lang) + names[lang]) for lang in LANGS}
        entry["demonyms"] = {lang: _finish(lang, _demonyms(lang, dem[lang])) for lang in LANGS}
        entry["capitals"] = {lang: _finish(lang, caps[lang]) for lang in LANGS}
        amb = _dedup(ext.get("ambiguous") or [])
        every = {f for part in ("names", "demonyms", "capitals") for lang in LANGS for f in entry[part][lang]}
        for form in amb:
            if form not in every:
                problems.append(f"{code}: ambiguous form {form!r} is not one of its forms")
        entry["ambiguous"] = amb
        entries.append(entry)
    return entries, problems


def _scalar(s) -> str:
    if isinstance(s, bool):
        return "true" if s else "false"
    s = str(s)
    try:
        if yaml.safe_load(f"k: [{s}]") == {"k": [s]} and yaml.safe_load(f"k: {s}") == {"k": s}:
            return s
    except yaml.YAMLError:
        pass
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _flow_list(items) -> str:
    return "[" + ", ".join(_scalar(i) for i in items) + "]"


def _flow_map(d) -> str:
    return "{" + ", ".join(f"{k}: {_flow_list(v)}" for k, v in d.items()) + "}"


def render(entries: list[dict]) -> str:
    head = [
        "# Countries for the Morocco AI Watch topic: every sovereign state (the 193 UN members) plus",
        "# Palestine, the Holy See (Vatican), Kosovo and Taiwan; Western Sahara is not listed (it is part",
        "# of Morocco's claimed territory). Morocco comes first with `home: true`.",
        "#",
        "# GENERATED FILE - do not edit by hand. Regenerate with",
        "#     .venv/bin/python classifiers/topics/build_countries.py",
        "# Names: CLDR territory names (en, fr, es, ar) from the `babel` package",
        f"#     (babel {babel.__version__}, CLDR {babel.core.get_cldr_version()}), always listed first,",
        "#     followed by the short and variant forms of classifiers/topics/countries_extra.yaml.",
        "# Demonyms, capitals (plus seat of government where different) and `ambiguous`: hand-written in",
        "#     countries_extra.yaml; the generator inflects demonyms (feminine, plurals; Arabic with and",
        "#     without the article) and adds Arabic spellings without hamza on alif (see its docstring).",
        "#",
        "# Fields: code (ISO 3166-1 alpha-2; XK for Kosovo), names / demonyms / capitals: {en, fr, es, ar}",
        "#     lists of surface forms; ambiguous: forms that are also common words, first names, other",
        "#     places or shared by two countries (e.g. Jordan, Turkey, ar عمان = Oman and Amman, مصر, قطر):",
        "#     a reader should require capitalisation or context before counting them as the country.",
        "",
        "countries:",
    ]
    lines = list(head)
    for e in entries:
        lines.append(f"  - code: {_scalar(e['code'])}")
        if e.get("home"):
            lines.append("    home: true")
        for part in ("names", "demonyms", "capitals"):
            lines.append(f"    {part}: {_flow_map(e[part])}")
        lines.append(f"    ambiguous: {_flow_list(e['ambiguous'])}")
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    entries, problems = build()
    for p in problems:
        print("warning:", p, file=sys.stderr)
    text = render(entries)
    parsed = yaml.safe_load(text)["countries"]
    assert [c["code"] for c in parsed] == [e["code"] for e in entries], "round trip failed"
    if "--check" in argv:
        current = OUT.read_text(encoding="utf-8") if OUT.exists() else ""
        if current != text:
            print(f"{OUT.name} is out of date", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT} ({len(entries)} countries)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
