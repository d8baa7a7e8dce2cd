"""A stored Slack message as Slack would show it, for the operator's view.

Block Kit JSON (the outbox payload) becomes a few plain structures (a header, labelled fields, lines
of spans with bold, italic and links) that a template renders with autoescaping: nothing from a feed
ever becomes markup, and a link is kept only when its URL is http(s). Only the blocks this monitor
composes are rendered faithfully (header, section text and fields, rich_text, context, divider); any
other block shows as its type, so a preview never hides that something else was sent.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Any

_LINK_RE = re.compile(r"<([^<>|]+)(?:\|([^<>]*))?>")
_BOLD_RE = re.compile(r"(?<![\w*])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![\w*])")
_ITALIC_RE = re.compile(r"(?<![\w_])_(?=\S)([^_\n]+?)(?<=\S)_(?![\w_])")


@dataclass(frozen=True)
class Span:
    text: str
    bold: bool = False
    italic: bool = False
    url: str | None = None


@dataclass(frozen=True)
class Block:
    """One rendered block: ``kind`` is header, fields, text, context, divider or other."""

    kind: str
    text: str = ""                                               # header, other
    fields: list[tuple[str, str]] = field(default_factory=list)  # (label, value) of a fields section
    spans: list[Span] = field(default_factory=list)              # text, context


def _safe(url: str) -> str | None:
    url = url.strip()
    return url if re.match(r"^https?://[^\s<>\"']+$", url) else None


def _styled(text: str, bold: bool = False) -> list[Span]:
    """Bold (``*x*``) and italic (``_x_``) runs of mrkdwn text, entities decoded."""
    spans: list[Span] = []
    for number, part in enumerate(_BOLD_RE.split(text)):
        is_bold = bold or number % 2 == 1
        for inner, piece in enumerate(_ITALIC_RE.split(part)):
            if piece:
                spans.append(Span(html.unescape(piece), bold=is_bold, italic=inner % 2 == 1))
    return spans


def mrkdwn_spans(text: str) -> list[Span]:
    """Slack mrkdwn as spans: ``<url|label>`` links (http(s) only), bold, italic; the rest literal."""
    spans: list[Span] = []
    position = 0
    for match in _LINK_RE.finditer(text):
        spans += _styled(text[position:match.start()])
        target, label = match.group(1), match.group(2)
        url = _safe(html.unescape(target))
        shown = html.unescape(label) if label else html.unescape(target)
        spans.append(Span(shown, url=url) if url else Span(html.unescape(match.group(0))))
        position = match.end()
    spans += _styled(text[position:])
    return spans


def _text_spans(obj: Any) -> list[Span]:
    if not isinstance(obj, dict):
        return []
    text = str(obj.get("text", ""))
    return mrkdwn_spans(text) if obj.get("type") == "mrkdwn" else [Span(text)]


def _rich_spans(block: dict[str, Any]) -> list[Span]:
    spans: list[Span] = []
    for container in block.get("elements") or []:
        for leaf in (container.get("elements") or []) if isinstance(container, dict) else []:
            if not isinstance(leaf, dict):
                continue
            style = leaf.get("style") or {}
            if leaf.get("type") == "link":
                url = _safe(str(leaf.get("url", "")))
                shown = str(leaf.get("text") or leaf.get("url") or "")
                spans.append(Span(shown, bold=bool(style.get("bold")), url=url))
            elif leaf.get("type") == "text":
                spans.append(Span(str(leaf.get("text", "")), bold=bool(style.get("bold")),
                                  italic=bool(style.get("italic"))))
    return spans


def _field(obj: Any) -> tuple[str, str]:
    """A field "Kind\\nmemorandum" as (label, value); a field without a first line has no label."""
    text = str(obj.get("text", "")) if isinstance(obj, dict) else ""
    if obj.get("type") == "mrkdwn":
        text = html.unescape(text.replace("*", ""))
    label, _, value = text.partition("\n")
    return (label, value) if value else ("", label)


def render(payload: Any) -> list[Block]:
    """The blocks of a ``chat.postMessage`` / ``chat.update`` payload, as Slack lays them out; a
    payload without blocks shows its notification text."""
    if not isinstance(payload, dict):
        return [Block("other", text="(no payload)")]
    blocks = payload.get("blocks")
    if not isinstance(blocks, list) or not blocks:
        return [Block("text", spans=mrkdwn_spans(str(payload.get("text", ""))))]
    out: list[Block] = []
    for block in blocks:
        kind = block.get("type") if isinstance(block, dict) else None
        if kind == "header":
            out.append(Block("header", text=str((block.get("text") or {}).get("text", ""))))
        elif kind == "section":
            if block.get("text"):
                out.append(Block("text", spans=_text_spans(block["text"])))
            if block.get("fields"):
                out.append(Block("fields", fields=[_field(f) for f in block["fields"]]))
        elif kind == "rich_text":
            out.append(Block("text", spans=_rich_spans(block)))
        elif kind == "context":
            spans: list[Span] = []
            for number, element in enumerate(block.get("elements") or []):
                if number:
                    spans.append(Span("  "))
                spans += _text_spans(element)
            out.append(Block("context", spans=spans))
        elif kind == "divider":
            out.append(Block("divider"))
        else:
            out.append(Block("other", text=f"[{kind or 'unknown'} block]"))
    return out
