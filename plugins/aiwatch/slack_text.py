"""Making untrusted article text safe and bounded for Slack messages.

Titles and summaries come from feeds anyone can write. In Slack's mrkdwn, ``<!channel>``,
``<@U123>`` and ``<http://evil|click>`` are control sequences: escaping ``&``, ``<`` and ``>``
turns them into plain text. Plain ``@channel``/``@here``/``@everyone`` only notify when a message
asks for ``link_names``; we never do, and also put a word joiner after the ``@`` so the text stays
inert wherever it is pasted. Lengths are bounded on whole words, and control characters, every
bidirectional control (embeddings, overrides, isolates, and the LRM/RLM/ALM marks) and invisible
formatting characters (zero-width space, soft hyphen, tag characters, fillers...) are removed: they
can make a title display as something else, or hide text. Only the zero-width joiner and non-joiner
stay, which emoji and Arabic-script typography need and which reorder nothing.
"""

from __future__ import annotations

import re

#: C0/C1 controls, and every format (Cf) character of Unicode but ZWNJ/ZWJ (tests check this against the
#: installed Unicode database), plus invisible fillers that are letters (Hangul fillers, Khmer vowels).
_CONTROL_RE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u00ad\u034f\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891"
    "\u08e2\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064"
    "\u2066-\u206f\u3164\ufe00-\ufe0e\ufeff\uffa0\ufff9-\ufffb\U000110bd\U000110cd\U00013430-\U0001343f"
    "\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f\U000e0100-\U000e01ef]")
_BROADCAST_RE = re.compile(r"@(?=(?:channel|here|everyone)\b)", re.IGNORECASE)
WORD_JOINER = "\u2060"
#: mrkdwn markup characters and the look-alikes they become in escaped text: asterisk operator, modifier
#: letter low macron, tilde operator, modifier letter grave accent; angle brackets become ‹› as in
#: plain text (``&gt;`` at the start of a line would still quote).
_MARKUP_LOOKALIKES = str.maketrans({"*": "\u2217", "_": "\u02cd", "~": "\u223c", "`": "\u02cb",
                                    ">": "\u203a", "<": "\u2039"})
_EMOJI_CODE_RE = re.compile(r":(?=[a-z0-9+\-\u02cd']+:)", re.IGNORECASE)

#: Slack limits (Block Kit reference): header text 150, section text 3,000 characters.
HEADER_MAX = 150
SECTION_MAX = 3000


def clean(text: str | None) -> str:
    """Untrusted text without control or bidi-override characters, whitespace collapsed."""
    return " ".join(_CONTROL_RE.sub("", text or "").split())


def escape_mrkdwn(text: str | None) -> str:
    """Escape for mrkdwn (the notification fallback, failure alerts): no mention, broadcast, link or
    markup can come from the text. mrkdwn has no escape for ``*_~` `` or a leading ``>``, so they become
    look-alikes that format nothing (the way angle brackets elsewhere become ‹›), and ``:name:`` gets a
    word joiner so no emoji code is expanded."""
    text = clean(text).translate(_MARKUP_LOOKALIKES).replace("&", "&amp;")
    text = _EMOJI_CODE_RE.sub(":" + WORD_JOINER, text)
    return _BROADCAST_RE.sub("@" + WORD_JOINER, text)


def plain(text: str | None) -> str:
    """For plain_text fields (headers, fallback): Slack does not parse them, but clean anyway."""
    return _BROADCAST_RE.sub("@" + WORD_JOINER, clean(text))


def bounded(text: str, limit: int) -> str:
    """``text`` within ``limit`` characters, cut on a word boundary with an ellipsis."""
    if len(text) <= limit:
        return text
    cut = text[: max(1, limit - 1)]
    if " " in cut[limit // 2:]:
        cut = cut[: cut.rfind(" ")]
    # Never leave half an escape sequence (&amp; &lt; &gt;) at the end.
    cut = re.sub(r"&[a-z]{0,3}$", "", cut)
    return cut.rstrip(" ,;:-") + "…"
