"""Figures with units, read the same way in every language: "500 MW", "500 ميغاواط" and "500
megavatios" are one fact; so are "1 milliard de dirhams", "one billion dirhams", "مليار درهم" and
"mil millones de dírhams". Two reports quoting the same figures are likely one deal, whatever their
language, so figures are evidence for grouping (never alone: two 500 MW projects exist).

A figure is a number (digits with the separators outlets use: "4 000", "4,000", "4.000", "1,5";
Arabic-Indic digits are already Latin once normalised; or a number word: "un", "one", "مليار" alone)
then an optional multiplier (thousand, million, billion in four languages) then a unit of the
settings file (``units`` / ``multipliers`` of config/gazetteer.yaml). A bare number is no figure:
years, days and counts without a unit say nothing about the deal.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from aiwatch.gazetteer import alias_key, is_arabic, trie_pattern
from classifiers.normalise import normalise

# Number words standing for one before a multiplier ("un milliard", "one billion", "mil millones").
_ONE_WORDS = ("un", "une", "one", "a", "uno", "una")
# Currency symbols written before the number.
_PREFIX_UNITS = {"$": "USD", "€": "EUR"}
_NUMBER = r"(?:(?<![\w.,])|(?<=(?<!\w)[وفبل]))(\d{1,3}(?:(?:[ \u00a0\u202f]|,(?=\d{3}(?!\d))|\.(?=\d{3}(?!\d)))\d{3})+|\d+)(?:[.,](\d+))?"


@dataclass(frozen=True)
class Figure:
    """A value in a canonical unit: ``value`` 500.0, ``unit`` "MW"; shown as "500 MW"."""

    value: float
    unit: str

    def __str__(self) -> str:
        value = self.value
        for factor, suffix in ((1e9, " billion"), (1e6, " million")):
            scaled = value / factor
            if value >= factor and self.unit in ("MAD", "USD", "EUR") and abs(round(scaled, 3) - scaled) < 1e-9:
                return f"{_plain(scaled)}{suffix} {self.unit}"
        return f"{_plain(value)} {self.unit}"


def _plain(value: float) -> str:
    """Every digit an outlet wrote (1234567, 1.5), never an exponent: figures are compared by text."""
    return f"{value:.3f}".rstrip("0").rstrip(".") if value != int(value) else str(int(value))


class FigureReader:
    """Compiled unit and multiplier words of one settings mapping (see :func:`reader`)."""

    def __init__(self, units: Mapping[str, Iterable[str]], multipliers: Mapping[str, Iterable[str]]) -> None:
        self._unit_of = {alias_key(normalise(str(f))): str(unit) for unit, forms in units.items() for f in forms}
        self._factor_of = {alias_key(normalise(str(f))): float(factor)
                           for factor, forms in multipliers.items() for f in forms if len(str(f)) > 1}
        words = list(self._unit_of) + list(self._factor_of)
        arabic = [w for w in words if is_arabic(w)]
        latin = [w for w in words if not is_arabic(w) and w.replace(" ", "").replace("-", "").isalnum()]
        symbols = [w for w in words if not is_arabic(w) and w not in latin]
        self._word_re = re.compile(rf"(?:(?:{trie_pattern(latin)})(?!\w)"
                                   rf"|[وفب]?[بل]?(?:{trie_pattern(arabic)})(?:ا|ات)?(?!\w)"
                                   rf"|(?:{trie_pattern(symbols)}))")
        self._number_re = re.compile(_NUMBER)
        self._one_re = re.compile(rf"(?<!\w)(?:{'|'.join(_ONE_WORDS)})$")

    def figures(self, raw: str) -> list[Figure]:
        """The figures of ``raw`` in text order (duplicates kept; callers take sets)."""
        if not raw:
            return []
        text = normalise(raw)
        out: list[Figure] = []
        for number in self._number_re.finditer(text):
            value = _value(number.group(1), number.group(2))
            figure = self._after(value, text[number.end():number.end() + 40])
            symbol = text[max(0, number.start() - 2):number.start()].rstrip()[-1:]
            if figure is None and symbol in _PREFIX_UNITS:   # "$100 million", "€ 50 millions"
                figure = self._prefixed(value, symbol, text[number.end():number.end() + 20])
            if figure is not None:
                out.append(figure)
        # "مليار درهم", "un milliard de dirhams": a multiplier without digits stands for one.
        for m in self._word_re.finditer(text):
            if m.start() and text[m.start() - 1].isalnum():
                continue
            factor = self._factor_of.get(_strip_clitics(alias_key(m.group())))
            if factor is None:
                continue
            before = text[max(0, m.start() - 12):m.start()].rstrip()
            alone = is_arabic(m.group()) or " " in alias_key(m.group()) or self._one_re.search(before)
            if before and (before[-1].isdigit() or not alone):
                continue
            figure = self._unit_after(factor, text[m.end():m.end() + 30])
            if figure is not None:
                out.append(figure)
        return out

    def _after(self, value: float, rest: str) -> Figure | None:
        """The figure a number starts: an optional multiplier, then a unit (``rest`` normalised)."""
        stripped = rest.lstrip()
        m = self._word_re.match(stripped)
        if m is not None:
            factor = self._factor_of.get(_strip_clitics(alias_key(m.group())))
            if factor is not None:
                value, stripped = value * factor, stripped[m.end():]
        return self._unit_after(value, stripped)

    def _prefixed(self, value: float, symbol: str, rest: str) -> Figure:
        """"$1.5 billion", "€300 millions": the currency before the number, a multiplier after it."""
        m = self._word_re.match(rest.lstrip())
        factor = self._factor_of.get(alias_key(m.group()), 1.0) if m is not None else 1.0
        return Figure(value * factor, _PREFIX_UNITS[symbol])

    def _unit_after(self, value: float, rest: str) -> Figure | None:
        rest = re.sub(r"^\s*(?:de |d'|of |del )?", "", rest)
        m = self._word_re.match(rest)
        if m is not None:
            unit = self._unit_of.get(_strip_clitics(alias_key(m.group())))
            if unit is not None:
                return Figure(value, unit)
        return None


def _strip_clitics(key: str) -> str:
    """An Arabic unit or multiplier word without what Arabic glues to it (بمليار, دولارا)."""
    if not is_arabic(key):
        return key
    for prefix in ("وب", "فب", "ب", "و", "ل"):
        if key.startswith(prefix) and len(key) - len(prefix) >= 3:
            candidate = key[len(prefix):]
            if candidate != key:
                key = candidate
                break
    return key[:-1] if key.endswith("ا") and len(key) > 4 and not key.endswith("واط") else key


def _value(integer: str, decimals: str | None) -> float:
    digits = re.sub(r"[^\d]", "", integer)
    return float(f"{digits}.{decimals}") if decimals else float(digits)


@lru_cache(maxsize=8)
def _reader(units: tuple[tuple[str, tuple[str, ...]], ...],
            multipliers: tuple[tuple[str, tuple[str, ...]], ...]) -> FigureReader:
    return FigureReader(dict(units), dict(multipliers))


def reader(settings: Mapping[str, Any]) -> FigureReader:
    """The figure reader of a gazetteer's settings (``units`` and ``multipliers``), compiled once."""
    units = tuple((str(k), tuple(str(f) for f in v or ())) for k, v in (settings.get("units") or {}).items())
    multipliers = tuple((str(k), tuple(str(f) for f in v or ()))
                        for k, v in (settings.get("multipliers") or {}).items())
    return _reader(units, multipliers)
