"""Slack Block Kit payloads: partnership alerts, thread follow-ups and the daily review digest.

Pure functions from data to ``chat.postMessage`` payloads (no sending, no store). Every value that
comes from an article (title, URL, outlet, summary, explanation, even the headline) is untrusted:
feeds anyone can write end up in a channel of people who trust the bot. Such values never go into
mrkdwn, where ``*Official*`` would turn bold and a triple backtick into a code block: they go into
``plain_text`` objects and ``rich_text`` text and link elements, which Slack shows exactly as
written. They are cleaned first (controls, bidi and invisible characters removed) and have their
angle brackets swapped for look-alikes, so no ``<!channel>``-like sequence exists anywhere in a
payload. The only links are ``rich_text`` links built here from a validated http(s) URL. mrkdwn is
kept for our own words (field labels, the reaction hint), ``verbatim`` so Slack auto-links nothing.
The notification fallback (``text``) is escaped mrkdwn. ``validate_message`` re-checks the result
against Slack's limits and these rules, so the sender can refuse a payload instead of having Slack
reject (or worse, render) it.
"""

from __future__ import annotations

import json
import logging
import math
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import quote, urlsplit

from aiwatch.slack_text import HEADER_MAX, SECTION_MAX, bounded, clean, escape_mrkdwn, plain
from aiwatch.summary import summarise

log = logging.getLogger(__name__)

REACTION_RELEVANT = "white_check_mark"  # ✅
REACTION_NOT_RELEVANT = "x"  # ❌

#: Slack limits (Block Kit reference) beyond those in slack_text.
MAX_BLOCKS = 50
FIELD_MAX = 2000
FIELDS_MAX = 10
CONTEXT_ELEMENTS_MAX = 10
BLOCK_ID_MAX = 255
#: Blocks are counted as characters of their JSON (``ensure_ascii=False``); Slack's own ceiling for
#: a message's blocks is about this, and alerts aim for half of it.
BLOCKS_JSON_MAX = 12000
#: Slack truncates longer ``text`` and recommends at most 4,000; the builders stay within 3,000.
TEXT_MAX = 4000
FALLBACK_MAX = 3000
#: Longer URLs are shown unlinked: they would crowd the message budget, and no news URL needs it.
URL_MAX = 1000

_TITLE_MAX = 300
_OUTLET_MAX = 100
_EXPLANATION_MAX = 500
_OUTLET_LIST_MAX = 400
_LANGUAGES = {"fr": "French", "ar": "Arabic", "en": "English", "es": "Spanish"}
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
# RFC 3986 characters kept as they are in a path, query or fragment; everything else (spaces,
# < > | " \ ^ ` { } [ ], controls, bidi marks, non-ASCII) is percent-encoded, so the URL cannot end
# or split the <url|text> link it sits in. "%" stays: existing escapes are kept, not doubled.
_URL_SAFE = "-._~:/?@!$&'()*+,;=%"
_HOST_RE = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,62})(?:\.[a-z0-9-]{1,63})*\.?")
# A link this module builds: validated URL (no space, < > |), optional label without | < >.
_LINK_RE = re.compile(r"<https?://[^\s<>|]+(?:\|[^<>|]*)?>")
_MENTION_RE = re.compile(r"<[!@#]")


@dataclass(frozen=True)
class ArticleRef:
    """One article as the messages show it; every text field is untrusted."""

    article_id: int
    title: str
    url: str
    outlet: str
    lang: str | None
    published: datetime | None
    score: float
    explanation: str = ""


@dataclass(frozen=True)
class AlertView:
    """One partnership event as its alert shows it (headline and summary may hold untrusted bits)."""

    event_id: int
    headline: str
    kind_label: str
    summary: str
    article: ArticleRef
    outlets: tuple[str, ...] = ()


# --- safe pieces ---------------------------------------------------------------------------------


def _safe_url(url: str | None) -> str | None:
    """The URL made safe to put inside ``<url|text>``, or None when it must not be linked.

    Only http/https with a plausible host; credentials are dropped (``https://bank@evil`` reads as
    the bank), the host is IDNA-encoded, and the rest is percent-encoded beyond RFC 3986's set.
    """
    if not url or not isinstance(url, str):
        return None
    text = url.strip()
    if len(text) > URL_MAX * 3:
        return None
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".")
    if scheme not in ("http", "https") or not host:
        return None
    if ":" in host:  # IPv6 literal
        if not re.fullmatch(r"[0-9a-f:.]+", host):
            return None
        host = f"[{host}]"
    else:
        try:
            host = host.encode("idna").decode("ascii") if not host.isascii() else host
        except UnicodeError:
            return None
        host = host.lower()
        if not _HOST_RE.fullmatch(host):
            return None
    netloc = f"{host}:{port}" if port is not None else host
    rest = quote(parts.path, safe=_URL_SAFE) or "/"
    if parts.query:
        rest += "?" + quote(parts.query, safe=_URL_SAFE)
    if parts.fragment:
        rest += "#" + quote(parts.fragment, safe=_URL_SAFE)
    safe = f"{scheme}://{netloc}{rest}"
    return safe if len(safe) <= URL_MAX else None


def _mrkdwn_url(url: str) -> str:
    """A validated URL as mrkdwn text: Slack decodes &amp; &lt; &gt; everywhere, URLs included."""
    return url.replace("&", "&amp;")


def _text(value: str | None, limit: int) -> str:
    """Untrusted text for mrkdwn (the notification fallback only): escaped, bounded on whole words."""
    return bounded(escape_mrkdwn(value), limit)


def _plain_text(value: str | None, limit: int) -> str:
    """Untrusted text for plain_text objects and rich_text elements: Slack does not parse them, but the
    payload must not carry ``<!channel>``-like sequences anywhere, so angle brackets become look-alikes."""
    return bounded(plain(value).replace("<", "‹").replace(">", "›"), limit)


def _outlet(article: ArticleRef) -> str:
    """The outlet's name, or the article's host when the feed gave none."""
    if clean(article.outlet):
        return article.outlet
    safe = _safe_url(article.url)
    return (urlsplit(safe).hostname or "").removeprefix("www.") if safe else "unknown outlet"


def _date(published: datetime | None) -> str:
    """The day as "1 Sep 2025" in UTC (a naive datetime is taken as UTC), or "date unknown"."""
    if published is None:
        return "date unknown"
    if published.tzinfo is None:
        published = published.replace(tzinfo=UTC)
    day = published.astimezone(UTC)
    return f"{day.day} {_MONTHS[day.month - 1]} {day.year}"


def _day(day: date) -> str:
    return f"{day.day} {_MONTHS[day.month - 1]} {day.year}"


def _language(lang: str | None) -> str:
    code = clean(lang).lower()
    if not code:
        return "unknown"
    name = _LANGUAGES.get(code)
    return f"{name} ({code})" if name else _plain_text(code, 20)


def _percent(score: float) -> str:
    """A probability as "92%"; out-of-range values are clamped, non-numbers shown as "n/a"."""
    try:
        value = float(score)
    except (TypeError, ValueError):
        return "n/a"
    if not math.isfinite(value):
        return "n/a"
    return f"{round(min(1.0, max(0.0, value)) * 100)}%"


def _summary(summary: str | None, fallback: str | None, limit: int = SECTION_MAX) -> str:
    """Never empty: the summary (or the fallback title), shortened to whole sentences when it is
    too long (via ``summarise``), as literal text bounded on whole words."""
    text = clean(summary) or clean(fallback) or "(no summary)"
    if len(text) > limit:
        text = summarise("", text, max_sentences=3, max_chars=limit * 2 // 3) or text
    return _plain_text(text, limit)


def _mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text, "verbatim": True}


def _plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text, "emoji": False}


def _section(text: str) -> dict[str, Any]:
    """A section of literal text (untrusted values welcome: Slack shows it as written)."""
    return {"type": "section", "text": _plain(text)}


def _context(*texts: str) -> dict[str, Any]:
    """A context line of literal text."""
    return {"type": "context", "elements": [_plain(t) for t in texts]}


def _header(text: str) -> dict[str, Any]:
    return {"type": "header", "text": {"type": "plain_text", "text": text, "emoji": True}}


# rich_text: literal text, explicit styles, and links whose label is literal too.

def _rt(value: str | None, limit: int = SECTION_MAX, *, bold: bool = False) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "text", "text": _plain_text(value, limit) if value is not None else ""}
    if bold:
        element["style"] = {"bold": True}
    return element


def _rt_ours(text: str, *, bold: bool = False) -> dict[str, Any]:
    """Our own words in rich text (labels, separators), not cleaned or cut."""
    element: dict[str, Any] = {"type": "text", "text": text}
    if bold:
        element["style"] = {"bold": True}
    return element


def _rt_link(url: str | None, label: str | None, limit: int = _TITLE_MAX) -> dict[str, Any]:
    """A link to a validated URL with a literal label, else the label alone (never an empty element)."""
    safe = _safe_url(url)
    text = _plain_text(label, limit) if clean(label) else ""
    if safe is None:
        return _rt_ours(text or "(no title)")
    element: dict[str, Any] = {"type": "link", "url": safe}
    if text:
        element["text"] = text
    return element


def _rich(*lines: list[dict[str, Any]]) -> dict[str, Any]:
    """One rich_text block, its lines separated by newlines; empty text elements dropped."""
    elements: list[dict[str, Any]] = []
    for number, line in enumerate(lines):
        if number:
            elements.append(_rt_ours("\n"))
        elements += [e for e in line if e.get("type") != "text" or e.get("text")]
    return {"type": "rich_text", "elements": [{"type": "rich_text_section", "elements": elements}]}


def _fallback(*parts: str, url: str | None = None) -> str:
    """The notification text: escaped parts then the bare validated URL, within FALLBACK_MAX."""
    safe = _safe_url(url)
    tail = f" {_mrkdwn_url(safe)}" if safe else ""
    body = escape_mrkdwn(" — ".join(p for p in (clean(p) for p in parts) if p)) or "Morocco AI Watch"
    return bounded(body, FALLBACK_MAX - len(tail)) + tail


def _message(text: str, blocks: list[dict[str, Any]]) -> dict[str, Any]:
    return {"text": text, "blocks": blocks, "unfurl_links": False, "unfurl_media": False}


_REACT_LINE = (f"React :{REACTION_RELEVANT}: relevant or :{REACTION_NOT_RELEVANT}: not relevant "
               "to teach the classifier.")


# --- messages ------------------------------------------------------------------------------------


def alert_message(view: AlertView) -> dict[str, Any]:
    """The alert for a new partnership event: readable in ten seconds, safe whatever the feed says."""
    article = view.article
    headline = next((h for h in (view.headline, article.title) if clean(h)), "New Moroccan AI partnership")
    outlet = _outlet(article)
    fields = [
        _plain(f"Kind\n{_plain_text(view.kind_label or 'partnership', 100)}"),
        _plain(f"Date\n{_date(article.published)}"),
        _plain(f"Language\n{_language(article.lang)}"),
        _plain(f"Confidence\n{_percent(article.score)}"),
    ]
    source = [_rt_ours("Source: ", bold=True), _rt_link(article.url, outlet, _OUTLET_MAX)]
    if clean(article.title) and clean(article.title) != clean(headline):
        source += [_rt_ours(" — "), _rt(article.title, _TITLE_MAX)]
    lines = [source]
    if clean(article.explanation):
        lines.append([_rt_ours("Why: ", bold=True), _rt(article.explanation, _EXPLANATION_MAX)])
    outlets = [o for o in view.outlets if clean(o)] or [outlet]
    count = len(outlets)
    covered = f"Covered by {count} outlet{'s' if count != 1 else ''}"
    if count > 1:
        covered += ": " + _plain_text(", ".join(clean(o) for o in outlets), _OUTLET_LIST_MAX)
    summary_source = view.summary if clean(view.summary) else article.title
    blocks = [
        _header(_plain_text(headline, HEADER_MAX)),
        {"type": "section", "fields": fields},
        _rich(*lines),
        _section(_summary(summary_source, headline)),
        _context(covered),
        {"type": "context", "elements": [_mrkdwn(_REACT_LINE)]},
    ]
    text = _fallback(headline, clean(summary_source) or article.title, url=article.url)
    message = _message(text, blocks)
    log.debug("alert for event %s: %d blocks, %d characters of blocks", view.event_id, len(blocks),
              _blocks_chars(blocks))
    return message


def followup_message(article: ArticleRef, summary: str = "") -> dict[str, Any]:
    """A reply in the alert's thread: one more outlet covering the event, linked to its article."""
    outlet = _outlet(article)
    title = article.title if clean(article.title) else outlet
    blocks = [_rich([_rt_ours("Also covered by "), _rt(outlet, _OUTLET_MAX, bold=True), _rt_ours(": "),
                     _rt_link(article.url, title)])]
    if clean(summary):
        blocks.append(_section(_summary(summary, title)))
    blocks.append(_context(f"{_language(article.lang)} · {_date(article.published)} · "
                           f"confidence {_percent(article.score)}"))
    text = _fallback(f"Also covered by {clean(outlet)}: {clean(title)}", url=article.url)
    return _message(text, blocks)


def digest_header_message(day: date, count: int, threshold: float) -> dict[str, Any]:
    """The parent of the day's review digest; each uncertain story follows as a reply in its thread."""
    if not isinstance(count, int) or isinstance(count, bool) or count < 0:
        raise ValueError(f"digest count must be a non-negative integer, got {count!r}")
    if not isinstance(threshold, int | float) or not 0.0 <= float(threshold) <= 1.0:
        raise ValueError(f"digest threshold must be a probability in [0, 1], got {threshold!r}")
    when = _day(day)
    if count:
        stories = f"{count} stor{'y' if count == 1 else 'ies'}"
        body = (f"*{stories}* the classifier was unsure about (alert threshold {_percent(threshold)}). "
                f"Each is a reply in this thread: react :{REACTION_RELEVANT}: relevant or "
                f":{REACTION_NOT_RELEVANT}: not relevant to teach the classifier.")
    else:
        body = f"No uncertain stories today (alert threshold {_percent(threshold)})."
    blocks = [_header(f"AI Watch review — {when}"), {"type": "section", "text": _mrkdwn(body)}]
    text = f"AI Watch review — {when}: {count} uncertain stor{'y' if count == 1 else 'ies'}"
    return _message(text, blocks)


def digest_line_message(article: ArticleRef) -> dict[str, Any]:
    """One uncertain story, as its own message so that reactions on it label that one article."""
    outlet = _outlet(article)
    title = article.title if clean(article.title) else outlet
    block = _rich([_rt_link(article.url, title)],
                  [_rt(outlet, _OUTLET_MAX), _rt_ours(f" · score {_percent(article.score)} · "
                                                      f"{_language(article.lang)} · {_date(article.published)}")])
    text = _fallback(clean(title), f"{clean(outlet)}, score {_percent(article.score)}", url=article.url)
    return _message(text, [block])


# --- validation ----------------------------------------------------------------------------------


def feed_outage_message(feed: str, url: str, since: datetime, failures: int, error: str | None,
                        now: datetime) -> dict[str, Any]:
    """The ops channel's one notice per outage of one feed (its name, URL and error are literal text)."""
    since = since if since.tzinfo else since.replace(tzinfo=UTC)
    hours = max(0.0, (now - since).total_seconds() / 3600)
    started = since.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [f"Feed {feed} has failed for {hours:.0f} hours ({failures} polls in a row, since {started}).",
             f"Last error: {error or 'unknown'}"]
    blocks = [_header(bounded(f"Feed down: {clean(feed)}", HEADER_MAX)), _section(bounded("\n".join(lines), SECTION_MAX)),
              _context(bounded(f"{url} · it is still polled with back-off; this notice is sent once per outage. "
                               "The Feeds view shows its history.", 300))]
    return _message(_fallback(f"Feed down: {feed}", f"failing for {hours:.0f} h: {error or 'unknown error'}"), blocks)


def _blocks_chars(blocks: Any) -> int:
    return len(json.dumps(blocks, ensure_ascii=False))


def _text_of(obj: Any, where: str) -> tuple[str, str]:
    """(type, text) of a text object, or ValueError naming where it is malformed."""
    if not isinstance(obj, dict) or obj.get("type") not in ("plain_text", "mrkdwn") \
            or not isinstance(obj.get("text"), str):
        raise ValueError(f"{where} is not a plain_text/mrkdwn text object")
    if not obj["text"].strip():
        raise ValueError(f"{where} has empty text")
    return obj["type"], obj["text"]


def _check_inert(kind: str, text: str, where: str) -> None:
    """No mention/broadcast anywhere; in mrkdwn, no angle bracket outside a link built here."""
    if _MENTION_RE.search(text):
        raise ValueError(f"{where} contains a mention or broadcast sequence (<!…>, <@…>, <#…>)")
    if kind == "mrkdwn" and re.search("[<>]", _LINK_RE.sub("", text)):
        raise ValueError(f"{where} contains a raw < or > that is not a validated http(s) link")


def _check_block(block: Any, index: int) -> None:
    where = f"block {index}"
    if not isinstance(block, dict) or not isinstance(block.get("type"), str):
        raise ValueError(f"{where} is not a block (a dict with a type)")
    block_id = block.get("block_id")
    if block_id is not None and (not isinstance(block_id, str) or len(block_id) > BLOCK_ID_MAX):
        raise ValueError(f"{where} block_id exceeds {BLOCK_ID_MAX} characters")
    kind = block["type"]
    where = f"{where} ({kind})"
    if kind == "header":
        text_type, text = _text_of(block.get("text"), f"{where} text")
        if text_type != "plain_text":
            raise ValueError(f"{where} text must be plain_text")
        if len(text) > HEADER_MAX:
            raise ValueError(f"{where} text is {len(text)} characters, over {HEADER_MAX}")
        _check_inert(text_type, text, f"{where} text")
    elif kind == "section":
        if block.get("text") is None and not block.get("fields"):
            raise ValueError(f"{where} needs text or fields")
        if block.get("text") is not None:
            text_type, text = _text_of(block["text"], f"{where} text")
            if len(text) > SECTION_MAX:
                raise ValueError(f"{where} text is {len(text)} characters, over {SECTION_MAX}")
            _check_inert(text_type, text, f"{where} text")
        fields = block.get("fields") or []
        if len(fields) > FIELDS_MAX:
            raise ValueError(f"{where} has {len(fields)} fields, over {FIELDS_MAX}")
        for number, field in enumerate(fields):
            text_type, text = _text_of(field, f"{where} field {number}")
            if len(text) > FIELD_MAX:
                raise ValueError(f"{where} field {number} is {len(text)} characters, over {FIELD_MAX}")
            _check_inert(text_type, text, f"{where} field {number}")
    elif kind == "context":
        elements = block.get("elements") or []
        if not elements or len(elements) > CONTEXT_ELEMENTS_MAX:
            raise ValueError(f"{where} has {len(elements)} elements, needs 1 to {CONTEXT_ELEMENTS_MAX}")
        for number, element in enumerate(elements):
            text_type, text = _text_of(element, f"{where} element {number}")
            _check_inert(text_type, text, f"{where} element {number}")
    elif kind == "rich_text":
        _check_rich_text(block, where)
    elif kind != "divider":
        raise ValueError(f"{where}: block type {kind!r} is not one these messages use")


_RICH_CONTAINERS = ("rich_text_section", "rich_text_quote", "rich_text_preformatted", "rich_text_list")
#: Rich text elements these messages may carry; user/usergroup/channel/broadcast elements ping people.
_RICH_LEAVES = ("text", "link", "emoji")


def _check_rich_text(block: dict[str, Any], where: str) -> None:
    containers = block.get("elements")
    if not isinstance(containers, list) or not containers:
        raise ValueError(f"{where} needs elements")
    for number, container in enumerate(containers):
        if not isinstance(container, dict) or container.get("type") not in _RICH_CONTAINERS:
            raise ValueError(f"{where} element {number} is not a rich text section")
        leaves = container.get("elements")
        if not isinstance(leaves, list) or not leaves:
            raise ValueError(f"{where} element {number} is empty")
        for index, leaf in enumerate(leaves):
            spot = f"{where} element {number}.{index}"
            leaf_type = leaf.get("type") if isinstance(leaf, dict) else None
            if leaf_type not in _RICH_LEAVES:
                raise ValueError(f"{spot}: rich text element {leaf_type!r} is not allowed (mentions ping people)")
            text = leaf.get("text", "")
            if leaf_type == "text" and (not isinstance(text, str) or not text):
                raise ValueError(f"{spot} has empty text")
            if not isinstance(text, str) or len(text) > SECTION_MAX:
                raise ValueError(f"{spot} text is over {SECTION_MAX} characters")
            _check_inert("plain_text", text, spot)
            if leaf_type == "link":
                url = leaf.get("url")
                if not isinstance(url, str) or _safe_url(url) != url:
                    raise ValueError(f"{spot} links to {str(url)[:80]!r}, not a validated http(s) URL")


def validate_message(message: dict[str, Any]) -> None:
    """Raise ValueError naming the broken rule; the sender calls this before every post.

    Checks Slack's limits (50 blocks, header 150, section 3,000, fields 10 x 2,000, context 10
    elements, blocks JSON 12,000 characters, non-empty fallback text) and this module's safety
    rules (no mention or broadcast sequence, no angle bracket outside a validated link), so a
    payload built elsewhere or by a future bug is refused rather than posted.
    """
    if not isinstance(message, dict):
        raise ValueError(f"message must be a dict, got {type(message).__name__}")
    text = message.get("text")
    if not isinstance(text, str) or not text.strip():
        raise ValueError("message text (the notification fallback) is empty")
    if len(text) > TEXT_MAX:
        raise ValueError(f"message text is {len(text)} characters, over {TEXT_MAX}")
    _check_inert("mrkdwn", text, "message text")
    blocks = message.get("blocks")
    if not isinstance(blocks, list) or not blocks:
        raise ValueError("message blocks must be a non-empty list")
    if len(blocks) > MAX_BLOCKS:
        raise ValueError(f"message has {len(blocks)} blocks, over Slack's {MAX_BLOCKS}")
    chars = _blocks_chars(blocks)
    if chars > BLOCKS_JSON_MAX:
        raise ValueError(f"message blocks are {chars} characters of JSON, over {BLOCKS_JSON_MAX}")
    for index, block in enumerate(blocks):
        _check_block(block, index)
