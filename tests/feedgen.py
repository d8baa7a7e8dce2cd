"""Build small RSS documents for tests (our own words, no network)."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime
from xml.sax.saxutils import escape


def item(title: str, link: str | None, guid: str | None = None, summary: str = "",
         published: datetime | None = None) -> str:
    parts = [f"<title>{escape(title)}</title>"]
    if link is not None:
        parts.append(f"<link>{escape(link)}</link>")
    if guid is not None:
        parts.append(f'<guid isPermaLink="false">{escape(guid)}</guid>')
    if summary:
        parts.append(f"<description>{escape(summary)}</description>")
    when = published or datetime(2025, 9, 12, 9, 0, tzinfo=UTC)
    parts.append(f"<pubDate>{format_datetime(when)}</pubDate>")
    return "<item>" + "".join(parts) + "</item>"


def rss(*items: str, title: str = "Test outlet", encoding: str = "utf-8") -> bytes:
    doc = (f'<?xml version="1.0" encoding="{encoding}"?><rss version="2.0"><channel><title>{title}</title>'
           f"<link>http://example.ma/</link><description>test</description>{''.join(items)}</channel></rss>")
    return doc.encode(encoding, errors="xmlcharrefreplace")


def article_html(title: str, body: str, lang: str = "fr") -> bytes:
    paragraphs = "".join(f"<p>{escape(body)} ({i})</p>" for i in range(5))
    return (f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8"><title>{escape(title)}</title>'
            f'</head><body><nav><a href="/">Accueil</a> <a href="/eco">Économie</a></nav><article>'
            f"<h1>{escape(title)}</h1>{paragraphs}</article><footer>Tous droits réservés</footer></body></html>"
            ).encode()
