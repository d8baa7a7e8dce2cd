"""Article extraction: page bytes in, clean text and metadata out (trafilatura does the heavy lifting).

A pure function of its inputs, so the cycle can run it in a worker process and tests can call it
on stored pages. Decoding is ours (see :mod:`aiwatch.decode`): trafilatura is handed text, never
bytes, so it cannot guess an encoding wrongly.

Speed: extraction is the cycle's dominant cost. trafilatura's ``with_metadata=True`` also looks
for authors, categories, tags and a licence (a deep copy of the page and dozens of XPath scans,
about 20% of the time), none of which we keep. :func:`_metadata` runs the same steps as
``trafilatura.metadata.extract_metadata`` for the fields we use (title, date, site name), in the
same order and on the same tree, so results are identical (``tests/test_bench.py`` compares
both paths on the real-world pages).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import trafilatura
from htmldate import find_date
from trafilatura.metadata import (
    META_URL,
    examine_meta,
    extract_meta_json,
    extract_sitename,
    extract_title,
    extract_url,
)
from trafilatura.settings import DEFAULT_CONFIG, Document, set_date_params
from trafilatura.utils import load_html

from aiwatch.decode import decode_bytes
from aiwatch.lang import detect_language
from aiwatch.textutil import html_to_text, simhash, truncate_words

log = logging.getLogger(__name__)

MAX_TEXT_CHARS = 100_000
_HTML_TYPES = ("text/html", "application/xhtml+xml")
_HTML_SNIFF_RE = re.compile(rb"^\s*(<!--.*?-->\s*)*<(!doctype\s+html|html|head|body|meta|title|div|p|article)\b",
                            re.I | re.S)


class ExtractError(Exception):
    def __init__(self, reason: str, detail: str = "") -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}" if detail else reason)


@dataclass(frozen=True)
class Extracted:
    text: str
    title: str | None
    published: datetime | None
    lang: str | None
    site_name: str | None
    encoding: str
    #: ``simhash(text)``, computed where the extraction ran when that is a pool worker
    #: (``fingerprinted``), so the cycle's main process does not spend its time on it.
    text_fp: int | None = None
    fingerprinted: bool = False


def looks_like_html(body: bytes, content_type: str | None) -> bool:
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media in _HTML_TYPES:
        return True
    if media and not media.startswith(("text/plain", "application/octet-stream", "binary/")):
        return False
    return bool(_HTML_SNIFF_RE.match(body[:2048]))


def _parse_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _metadata(tree: object, url: str, with_date: bool = True) -> Document:
    """Title, date and site name exactly as ``extract_metadata`` finds them, without the author,
    category, tag and licence searches (read-only on the tree, so skipping them changes nothing).
    ``with_date=False`` also skips the date search (htmldate, about 13% of the extraction time)."""
    metadata = examine_meta(tree)
    try:
        metadata = extract_meta_json(tree, metadata)
    except Exception as exc:  # trafilatura tolerates bugs in its JSON-LD reader the same way
        log.debug("JSON metadata extraction failed for %s: %s", url, exc)
    if not metadata.title:
        metadata.title = extract_title(tree)
    if not metadata.url:
        metadata.url = extract_url(tree, url)
    if with_date:  # htmldate works on its own copy of the tree: skipping it changes nothing else
        date_config = set_date_params(DEFAULT_CONFIG.getboolean("DEFAULT", "EXTENSIVE_DATE_SEARCH"))
        date_config["url"] = metadata.url
        metadata.date = find_date(tree, **date_config)
    if not metadata.sitename:
        metadata.sitename = extract_sitename(tree)
    if metadata.sitename:
        metadata.sitename = metadata.sitename.lstrip("@")
        if metadata.sitename and "." not in metadata.sitename and not metadata.sitename[0].isupper():
            metadata.sitename = metadata.sitename.title()
    elif metadata.url:
        match = META_URL.match(metadata.url)
        if match:
            metadata.sitename = match[1]
    metadata.clean_and_trim()
    return metadata


def _extract_document(text: str, url: str, with_date: bool = True) -> tuple[Document, Document | None]:
    """(metadata, main content) of a decoded page: the page is parsed once, metadata is read
    first and the content extracted from the same tree, as ``bare_extraction`` does."""
    tree = load_html(text)
    if tree is None:
        return Document(), None
    try:
        metadata = _metadata(tree, url, with_date)
    except (TypeError, ValueError):  # bare_extraction turns these into "nothing extracted"
        return Document(), None
    content = trafilatura.bare_extraction(
        tree, url=url, with_metadata=False, include_comments=False, include_tables=False,
        include_images=False, deduplicate=False,
    )
    return metadata, content


def extract_article(body: bytes, url: str, content_type: str | None = None,
                    lang_hint: str | None = None, *, with_date: bool = True) -> Extracted:
    """Extract the main text of an article page; raises :class:`ExtractError` when there is none.

    ``with_date=False`` when the feed already dated the article (the page's date is only a
    fallback, see :func:`aiwatch.store.repo.save_pages`): ``published`` is then None.
    """
    if not looks_like_html(body, content_type):
        raise ExtractError("not-html", f"content type {content_type or 'unknown'!r}")
    decoded = decode_bytes(body, content_type)
    try:
        metadata, document = _extract_document(decoded.text, url, with_date)
    except Exception as exc:  # trafilatura/lxml raise assorted errors on hostile markup
        raise ExtractError("extract-failed", f"{type(exc).__name__}: {exc}"[:300]) from None
    if document is None or not (document.text or "").strip():
        raise ExtractError("extract-empty", "no main text found")
    text = document.text.strip()[:MAX_TEXT_CHARS]
    title = truncate_words(html_to_text(metadata.title), 500) if metadata.title else None
    return Extracted(
        text=text,
        title=title or None,
        published=_parse_date(metadata.date),
        lang=detect_language(f"{title or ''}\n{text}", hint=lang_hint or metadata.language),
        site_name=html_to_text(metadata.sitename)[:200] or None if metadata.sitename else None,
        encoding=decoded.encoding,
    )


def extract_in_worker(body: bytes, url: str, content_type: str | None, lang_hint: str | None,
                      with_date: bool = True) -> Extracted | tuple[str, str]:
    """:func:`extract_article` for a process pool: an :class:`ExtractError` comes back as
    ``(reason, message)`` (plain data pickles reliably; the exception's own arguments do not)."""
    try:
        extracted = extract_article(body, url, content_type, lang_hint, with_date=with_date)
    except ExtractError as exc:
        return exc.reason, str(exc)
    return replace(extracted, text_fp=simhash(extracted.text or ""), fingerprinted=True)
