"""Article extraction: page bytes in, clean text and metadata out (trafilatura does the heavy lifting).

A pure function of its inputs, so the cycle can run it in a worker process and tests can call it
on stored pages. Decoding is ours (see :mod:`aiwatch.decode`): trafilatura is handed text, never
bytes, so it cannot guess an encoding wrongly.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime

import trafilatura

from aiwatch.decode import decode_bytes
from aiwatch.lang import detect_language
from aiwatch.textutil import html_to_text, truncate_words

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


def extract_article(body: bytes, url: str, content_type: str | None = None,
                    lang_hint: str | None = None) -> Extracted:
    """Extract the main text of an article page; raises :class:`ExtractError` when there is none."""
    if not looks_like_html(body, content_type):
        raise ExtractError("not-html", f"content type {content_type or 'unknown'!r}")
    decoded = decode_bytes(body, content_type)
    try:
        document = trafilatura.bare_extraction(
            decoded.text, url=url, with_metadata=True, include_comments=False, include_tables=False,
            include_images=False, deduplicate=False,
        )
    except Exception as exc:  # trafilatura/lxml raise assorted errors on hostile markup
        raise ExtractError("extract-failed", f"{type(exc).__name__}: {exc}"[:300]) from None
    if document is None or not (document.text or "").strip():
        raise ExtractError("extract-empty", "no main text found")
    text = document.text.strip()[:MAX_TEXT_CHARS]
    title = truncate_words(html_to_text(document.title), 500) if document.title else None
    return Extracted(
        text=text,
        title=title or None,
        published=_parse_date(document.date),
        lang=detect_language(f"{title or ''}\n{text}", hint=lang_hint or document.language),
        site_name=html_to_text(document.sitename)[:200] or None if document.sitename else None,
        encoding=decoded.encoding,
    )
