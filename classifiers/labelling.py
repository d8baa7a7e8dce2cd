"""The analysts' labelling round trip: export the stored articles the live model is least sure
about, let people fill in a ``label`` column, import the file back as labels in the store.

Labels teach the model most where it hesitates, so the export ranks unlabelled articles by how
close their score is to the live model's decision threshold. The import is forgiving (CSV or JSON
Lines, labels as 0/1 or words, articles by id or by any form of their URL) but never silent: each
bad row is reported by file and line and skipped, and the rest still lands. Importing the same
file twice changes nothing, so a re-run after fixing a few rows is always safe.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import re
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TextIO

from aiwatch.store import Store, upgrade
from aiwatch.store.labels import (
    LabelInput,
    ScoredArticle,
    article_ids_by_url_key,
    article_url_keys,
    classification_count,
    least_certain,
    record_labels,
)
from aiwatch.textutil import truncate_words
from aiwatch.urls import is_http_url, url_key

from classifiers import registry
from classifiers.data import CATEGORIES, LineError

log = logging.getLogger(__name__)

DEFAULT_THRESHOLD = 0.5
TEXT_CHARS = 2000
#: Columns of an export, in order; ``label``, ``category`` and ``note`` are left empty for the analyst.
EXPORT_FIELDS = ("article_id", "url", "outlet", "lang", "published", "score", "model_version", "title",
                 "text", "label", "category", "note")
Format = Literal["jsonl", "csv"]

_POSITIVE = {"1", "yes", "y", "true", "t", "relevant", "pos", "positive"}
_NEGATIVE = {"0", "no", "n", "false", "f", "not relevant", "not-relevant", "not_relevant", "irrelevant",
             "neg", "negative"}
_ARTICLE_REF = re.compile(r"^(?:article:)?\s*(\d+)(?:\.0*)?$")
MAX_WHO_CHARS = 255


class LabelFileError(ValueError):
    """A labels file cannot be read at all; the message names the file and what is wrong."""


def open_store(db_url: str) -> Store:
    """The store, migrated to the newest schema (the commands may be the first thing run on it)."""
    store = Store(db_url)
    upgrade(store)
    return store


def shown_url(db_url: str) -> str:
    """A store URL as messages show it: the password hidden, the rest (server, database) kept."""
    from sqlalchemy.engine import make_url

    return make_url(db_url).render_as_string(hide_password=True)


def output_format(path: str | Path | None) -> Format:
    """CSV when the file name ends with ``.csv``; JSON Lines otherwise (and on stdout)."""
    return "csv" if path and Path(path).suffix.lower() == ".csv" else "jsonl"


def input_format(path: str | Path, text: str) -> Format:
    """By extension (``.csv``/``.tsv`` or ``.jsonl``/``.json``/``.ndjson``), else by content:
    a first ``{`` means JSON Lines."""
    suffix = Path(path).suffix.lower()
    if suffix in (".csv", ".tsv"):
        return "csv"
    if suffix in (".jsonl", ".json", ".ndjson"):
        return "jsonl"
    return "jsonl" if text.lstrip().startswith(("{", "[")) else "csv"


# --- export ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LiveModel:
    """The model version whose verdicts are ranked and the threshold they are ranked around."""

    name: str | None
    threshold: float
    threshold_from: str


def live_model(models_dir: Path) -> LiveModel:
    """The live version and its decision threshold from its meta.json (no need to load the model);
    0.5 when there is no live model or its metadata lacks a threshold."""
    name = registry.live_name(models_dir)
    if name is None:
        return LiveModel(None, DEFAULT_THRESHOLD, f"the default; no live model in {models_dir}")
    meta_file = models_dir / name / registry.META_FILE
    try:
        threshold = float(json.loads(meta_file.read_text(encoding="utf-8"))["threshold"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("no usable threshold in %s (%s); ranking around %.1f", meta_file, exc, DEFAULT_THRESHOLD)
        return LiveModel(name, DEFAULT_THRESHOLD, f"the default; {meta_file} has no usable threshold")
    return LiveModel(name, threshold, f"from {name} meta.json")


@dataclass(frozen=True)
class UncertainExport:
    rows: tuple[dict[str, Any], ...]
    threshold: float
    threshold_from: str
    #: The model version ranked, or None when each article's newest verdict was used.
    model_version: str | None
    live_name: str | None
    band: float
    limit: int
    in_band: int
    candidates: int
    #: The store read, password hidden: an analyst with a demo and a real store must see which one.
    store: str = ""

    def summary(self, destination: str) -> str:
        if self.model_version:
            scored_by = self.model_version
        else:
            why = f"live model {self.live_name} has scored none" if self.live_name else "no live model"
            scored_by = f"each article's newest classification ({why})"
        outside = len(self.rows) - self.in_band
        return (f"exported {len(self.rows)} article(s) from store {self.store} to {destination}: {self.in_band} within "
                f"±{self.band:g} of threshold {self.threshold:.3f} ({self.threshold_from}), {outside} outside the band to "
                f"reach --limit {self.limit}; {self.candidates} unlabelled article(s) scored by {scored_by}")


def export_row(article: ScoredArticle) -> dict[str, Any]:
    """One row of the export: what an analyst needs to judge the story, and empty answer columns."""
    return {
        "article_id": article.article_id, "url": article.url, "outlet": article.outlet, "lang": article.lang,
        "published": article.published.isoformat() if article.published else None,
        "score": round(article.score, 4), "model_version": article.model_version, "title": article.title,
        "text": truncate_words(article.text, TEXT_CHARS), "label": None, "category": None, "note": None,
    }


def export_uncertain(store: Store, models_dir: Path, limit: int = 200, band: float = 0.2) -> UncertainExport:
    """The ``limit`` unlabelled articles nearest the live threshold, nearest first.

    The band is how far from the threshold counts as unsure. The export holds at most ``limit``
    rows; when fewer than ``limit`` articles lie within the band, the nearest ones outside it fill
    the rest (analysts asked for a full batch), and the summary says how many those are. The live
    model's own verdicts are used when it has scored anything; otherwise (just promoted, or no
    registry) each article's newest verdict is.
    """
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    if band < 0:
        raise ValueError(f"band must not be negative, got {band}")
    live = live_model(models_dir)
    version = live.name if live.name and classification_count(store, live.name) else None
    articles, candidates = least_certain(store, live.threshold, limit, version)
    in_band = sum(1 for a in articles if a.margin <= band + 1e-9)
    log.info("uncertain export: %d rows (%d in band ±%g of %.3f) out of %d unlabelled scored articles",
             len(articles), in_band, band, live.threshold, candidates)
    return UncertainExport(tuple(export_row(a) for a in articles), live.threshold, live.threshold_from,
                           version, live.name, band, limit, in_band, candidates, shown_url(store.url))


def write_rows(rows: Iterable[dict[str, Any]], handle: TextIO, fmt: Format) -> int:
    """Write export rows as JSON Lines or CSV (RFC 4180 quoting, so newlines and commas in texts
    survive a spreadsheet); returns the count."""
    count = 0
    if fmt == "csv":
        writer = csv.DictWriter(handle, fieldnames=EXPORT_FIELDS, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow(row)
            count += 1
        return count
    for row in rows:
        handle.write(json.dumps({k: row.get(k) for k in EXPORT_FIELDS}, ensure_ascii=False) + "\n")
        count += 1
    return count


def write_file(rows: Iterable[dict[str, Any]], path: Path) -> int:
    """Write rows to ``path`` in the format its name says, atomically: an interrupted export never
    leaves half a file where an analyst might start labelling."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            count = write_rows(rows, handle, output_format(path))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return count


# --- import ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FileRow:
    """One record of a labels file: its fields (names lower-cased) or why it could not be read."""

    line: int
    fields: dict[str, Any] | None
    error: str | None = None


#: A bad row of a labels file: the same record (file, line, message) as a bad line of the corpus.
RowError = LineError


def _read_text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise LabelFileError(f"{path}: no such file") from None
    except OSError as exc:
        raise LabelFileError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise LabelFileError(f"{path}: not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
                             "save it as UTF-8 (in a spreadsheet: 'CSV UTF-8')") from None


def _jsonl_rows(text: str, path: Path) -> Iterator[FileRow]:
    if text.lstrip().startswith("["):
        raise LabelFileError(f"{path}: a JSON array; expected JSON Lines (one object per line), as the "
                             "export writes")
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            yield FileRow(number, None, f"not valid JSON ({exc.msg} at column {exc.colno})")
            continue
        if not isinstance(value, dict):
            yield FileRow(number, None, f"expected a JSON object, got {type(value).__name__}")
            continue
        yield FileRow(number, {str(k).strip().lower(): v for k, v in value.items()})


def _csv_rows(text: str, path: Path) -> Iterator[FileRow]:
    first_line = next((line for line in text.splitlines() if line.strip()), "")
    try:
        dialect: Any = csv.Sniffer().sniff(first_line, delimiters=",;\t")
        delimiter = dialect.delimiter
    except csv.Error:
        delimiter = ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header: list[str] | None = None
    while True:
        start = reader.line_num + 1
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise LabelFileError(f"{path}:{start}: not readable as CSV ({exc})") from None
        if not any(cell.strip() for cell in record):
            continue
        if header is None:
            header = [cell.strip().lower() for cell in record]
            if "label" not in header or not {"article_id", "url"} & set(header):
                found = ", ".join(header) or "nothing"
                raise LabelFileError(f"{path}:{start}: the header needs a 'label' column and an 'article_id' "
                                     f"or 'url' column (found: {found})")
            continue
        if len(record) > len(header):
            yield FileRow(start, None, f"{len(record)} fields but the header has {len(header)} "
                                       "(an unquoted comma or semicolon?)")
            continue
        yield FileRow(start, dict(zip(header, record, strict=False)))


def read_label_file(path: Path | str) -> list[FileRow]:
    """Every non-blank record of a CSV or JSON Lines labels file (format by extension, else sniffed).
    Raises :class:`LabelFileError` when the file as a whole is unusable."""
    path = Path(path)
    text = _read_text(path)
    if input_format(path, text) == "jsonl":
        return list(_jsonl_rows(text, path))
    return list(_csv_rows(text, path))


def parse_label(value: Any) -> int | None:
    """0 or 1 from the forms analysts write; None for a blank (not labelled yet). Raises ValueError."""
    if value is None:
        return None
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float) and value in (0, 1):
        return int(value)
    if isinstance(value, str):
        word = " ".join(value.strip().lower().split())
        if not word:
            return None
        if word in _POSITIVE:
            return 1
        if word in _NEGATIVE:
            return 0
        try:
            number = float(word)
        except ValueError:
            number = None
        if number in (0.0, 1.0):
            return int(number)  # type: ignore[arg-type]
    raise ValueError(f"label {value!r} is not one of 0/1, yes/no, true/false, relevant/not relevant, pos/neg")


def _text(value: Any, name: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise ValueError(f"'{name}' must be text, got {type(value).__name__}")
    return str(value).strip() or None


def _article_ref(value: Any) -> int | None:
    if value is None or isinstance(value, str) and not value.strip():
        return None
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    if isinstance(value, float) and value.is_integer() and value > 0:
        return int(value)
    match = _ARTICLE_REF.match(value.strip()) if isinstance(value, str) else None
    if match and int(match.group(1)) > 0:
        return int(match.group(1))
    raise ValueError(f"article_id {value!r} is not an article number")


@dataclass(frozen=True)
class _Parsed:
    line: int
    article_id: int | None
    key: str | None
    url: str | None
    label: int
    who: str
    note: str | None
    category: str | None = None


def parse_row(row: FileRow, default_who: str, forced_who: str | None = None) -> _Parsed | None:
    """The label a row carries, or None when its label is blank. Raises ValueError naming the problem.

    The labeller is ``forced_who`` when given (an explicit ``--who`` says who labelled the whole
    file), else the row's ``who``, else ``default_who``."""
    if row.fields is None:
        raise ValueError(row.error or "unreadable row")
    fields = row.fields
    label = parse_label(fields.get("label"))
    if label is None:
        return None
    article_id = _article_ref(fields.get("article_id"))
    url = _text(fields.get("url"), "url")
    if article_id is None and url is None:
        raise ValueError("no 'article_id' or 'url' to say which article")
    if url is not None and not is_http_url(url):
        raise ValueError(f"url {url!r} is not an http(s) URL")
    category = _text(fields.get("category"), "category")
    if category is not None:
        category = category.lower()
        if category not in CATEGORIES:
            raise ValueError(f"unknown category {category!r} (known: {', '.join(sorted(CATEGORIES))})")
        if (category == "pos") != (label == 1):
            raise ValueError(f"label {label} contradicts category {category!r}")
    note = _text(fields.get("note"), "note")
    who = forced_who if forced_who is not None else (_text(fields.get("who"), "who") or default_who)
    if len(who) > MAX_WHO_CHARS:
        raise ValueError(f"'who' is longer than {MAX_WHO_CHARS} characters")
    return _Parsed(row.line, article_id, url_key(url) if url else None, url, label, who, note, category)


@dataclass(frozen=True)
class ImportResult:
    path: str
    new: int
    updated: int
    unchanged: int
    blank: int
    errors: tuple[RowError, ...]
    dry_run: bool = False

    @property
    def fine(self) -> int:
        return self.new + self.updated + self.unchanged

    @property
    def exit_code(self) -> int:
        """0 when a row was usable or every row was still unlabelled; 1 when every labelled row failed."""
        return 0 if self.fine or not self.errors else 1

    def summary(self) -> str:
        prefix = "dry run, nothing written: " if self.dry_run else ""
        return (f"{prefix}{self.path}: {self.new} new, {self.updated} updated, {self.unchanged} unchanged, "
                f"{self.blank} skipped blank, {len(self.errors)} error(s)")


def import_labels(store: Store, path: Path | str, who: str = "", source: str = "file",
                  dry_run: bool = False, forced_who: str | None = None) -> ImportResult:
    """Record the labels of a CSV or JSON Lines file in the store.

    ``who`` names the labeller of rows without a ``who`` column; ``forced_who`` names the labeller
    of every row (see :func:`parse_row`). A row's ``category`` is kept as the label's category.

    Articles are found by ``article_id`` or by ``url`` (canonicalised, so tracking parameters,
    ``www.`` and http/https do not matter); when both are given they must agree, which catches
    rows pasted into the wrong line. Raises :class:`LabelFileError` for an unreadable file.
    """
    path = Path(path)
    rows = read_label_file(path)
    errors: list[RowError] = []
    parsed: list[_Parsed] = []
    blank = 0
    for row in rows:
        try:
            item = parse_row(row, who, forced_who)
        except ValueError as exc:
            errors.append(RowError(str(path), row.line, str(exc)))
            continue
        if item is None:
            blank += 1
        else:
            parsed.append(item)
    keys_of = article_url_keys(store, (p.article_id for p in parsed if p.article_id is not None))
    ids_of = article_ids_by_url_key(store, (p.key for p in parsed if p.article_id is None and p.key))
    resolved: list[LabelInput] = []
    for item in parsed:
        if item.article_id is not None:
            stored_key = keys_of.get(item.article_id)
            if stored_key is None:
                errors.append(RowError(str(path), item.line, f"no stored article with id {item.article_id}"))
                continue
            if item.key is not None and item.key != stored_key:
                reason = f"article {item.article_id} is {stored_key}, but the row's url is {item.url}"
                errors.append(RowError(str(path), item.line, reason))
                continue
            article_id = item.article_id
        else:
            found = ids_of.get(item.key or "")
            if found is None:
                errors.append(RowError(str(path), item.line, f"no stored article with url {item.url}"))
                continue
            article_id = found
        resolved.append(LabelInput(article_id, item.label, item.who, item.note, item.category))
    outcomes = record_labels(store, resolved, source, dry_run=dry_run) if resolved else []
    errors.sort(key=lambda e: e.line)
    result = ImportResult(str(path), outcomes.count("new"), outcomes.count("updated"),
                          outcomes.count("unchanged"), blank, tuple(errors), dry_run)
    log.info("label import %s", result.summary())
    return result
