"""Slack payloads for alerts, follow-ups and the review digest: content, limits and hostile input."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime

import pytest
from aiwatch.slack.blocks import (
    REACTION_NOT_RELEVANT,
    REACTION_RELEVANT,
    AlertView,
    ArticleRef,
    alert_message,
    digest_header_message,
    digest_line_message,
    followup_message,
    validate_message,
)
from aiwatch.slack_text import WORD_JOINER
from slack_sdk.models.blocks import Block, ContextBlock, HeaderBlock, RichTextBlock, SectionBlock

URL = "https://www.hespress.com/tech/maroc-mistral-ai-123.html"
PUBLISHED = datetime(2025, 9, 1, 9, 30, tzinfo=UTC)
SUMMARY = ("Le ministère de la transition numérique a conclu un mémorandum d'entente avec Mistral AI. "
           "L'accord couvre la formation et la recherche appliquée.")
LINK_RE = re.compile(r"<(https?://[^\s<>|]+)(?:\|([^<>|]*))?>")


def article(**changes) -> ArticleRef:
    values = dict(article_id=7, title="Le Maroc signe un mémorandum avec Mistral AI", url=URL,
                  outlet="Hespress", lang="fr", published=PUBLISHED, score=0.92,
                  explanation="mentions: mémorandum, Mistral AI, Maroc")
    values.update(changes)
    return ArticleRef(**values)


def view(**changes) -> AlertView:
    values = dict(event_id=3, headline="Morocco × Mistral AI: memorandum of understanding",
                  kind_label="memorandum of understanding", summary=SUMMARY, article=article(),
                  outlets=("Hespress", "Le360", "Médias24"))
    values.update(changes)
    return AlertView(**values)


def rich_leaves(block: dict) -> list[dict]:
    return [leaf for container in block.get("elements", []) if container.get("type", "").startswith("rich_text")
            for leaf in container.get("elements", [])]


def texts(message: dict) -> list[str]:
    """Every text a reader can see: fallback, header, section text and fields, context elements,
    rich text (a link shows as "<url|label>", so the link checks below read it like mrkdwn)."""
    found = [message["text"]]
    for block in message["blocks"]:
        if block["type"] == "rich_text":
            line = ""
            for leaf in rich_leaves(block):
                line += f"<{leaf['url']}|{leaf.get('text', '')}>" if leaf["type"] == "link" else leaf["text"]
            found.append(line)
            continue
        if block.get("text"):
            found.append(block["text"]["text"])
        found += [f["text"] for f in block.get("fields", [])]
        found += [e["text"] for e in block.get("elements", [])]
    return found


def literal_texts(message: dict) -> list[str]:
    """The texts Slack shows as written (plain_text objects and rich text elements)."""
    found = []
    for block in message["blocks"]:
        if block["type"] == "rich_text":
            found += [leaf.get("text", "") for leaf in rich_leaves(block)]
            continue
        for obj in [block.get("text"), *block.get("fields", []), *block.get("elements", [])]:
            if obj and obj.get("type") == "plain_text":
                found.append(obj["text"])
    return found


def mrkdwn_texts(message: dict) -> list[str]:
    found = []
    for block in message["blocks"]:
        for obj in [block.get("text"), *block.get("fields", []), *(block.get("elements", [])
                                                                  if block["type"] != "rich_text" else [])]:
            if obj and obj.get("type") == "mrkdwn":
                found.append(obj["text"])
    return found


def visible(message: dict) -> str:
    return "\n".join(texts(message))


def links(message: dict) -> list[tuple[str, str | None]]:
    """(url, label) of every link: rich text links, and any mrkdwn <url|label> (there should be none)."""
    found = [(leaf["url"], leaf.get("text")) for block in message["blocks"] if block["type"] == "rich_text"
             for leaf in rich_leaves(block) if leaf["type"] == "link"]
    found += [(m.group(1), m.group(2)) for t in mrkdwn_texts(message) for m in LINK_RE.finditer(t)]
    return found


def assert_slack_valid(message: dict) -> None:
    """slack-sdk's Block Kit models accept every block, our validator accepts the message."""
    classes = {"header": HeaderBlock, "section": SectionBlock, "context": ContextBlock, "rich_text": RichTextBlock}
    assert 1 <= len(message["blocks"]) <= 50
    for raw in message["blocks"]:
        block = Block.parse(raw)
        assert isinstance(block, classes[raw["type"]])
        block.validate_json()
        for field in raw.get("fields", []):
            assert len(field["text"]) <= 2000
        if raw["type"] != "rich_text":
            for element in raw.get("elements", []):
                assert element["text"].strip()
    assert message["text"].strip() and len(message["text"]) <= 3000
    assert message["unfurl_links"] is False and message["unfurl_media"] is False
    assert len(json.dumps(message["blocks"], ensure_ascii=False)) < 6000
    validate_message(message)


def assert_inert(message: dict, allowed_urls: set[str]) -> None:
    """No mention, broadcast or channel link anywhere; links only to allowed URLs; no raw < > in mrkdwn."""
    serialised = json.dumps(message, ensure_ascii=False)
    for sequence in ("<!", "<@", "<#", "<javascript", "@channel", "@here", "@everyone"):
        assert sequence not in serialised.lower(), sequence
    for url, _ in links(message):
        assert url in allowed_urls, url
    for text in [message["text"], *mrkdwn_texts(message)]:
        for position in [i for i, c in enumerate(text) if c == "<"]:
            match = LINK_RE.match(text, position)
            assert match, f"raw < in {text[position:position + 60]!r}"
            assert match.group(1).replace("&amp;", "&") in allowed_urls, match.group(1)
        assert ">" not in LINK_RE.sub("", text), text
    for text in literal_texts(message):
        assert "<" not in text and ">" not in text, text


def fields_of(message: dict) -> str:
    return "\n".join(f["text"] for f in message["blocks"][1]["fields"])


# --- content -------------------------------------------------------------------------------------


def test_alert_shows_kind_date_language_source_confidence_explanation_and_summary():
    message = alert_message(view())
    assert_slack_valid(message)
    header, fields_block, source, summary, covered, react = message["blocks"]
    assert header == {"type": "header", "text": {"type": "plain_text", "emoji": True,
                                                 "text": "Morocco × Mistral AI: memorandum of understanding"}}
    fields = fields_of(message)
    assert "Kind\nmemorandum of understanding" in fields
    assert "Date\n1 Sep 2025" in fields
    assert "Language\nFrench (fr)" in fields
    assert "Confidence\n92%" in fields
    source_line = texts({"text": "", "blocks": [source]})[1]
    assert source_line == (f"Source: <{URL}|Hespress> — Le Maroc signe un mémorandum avec Mistral AI\n"
                           "Why: mentions: mémorandum, Mistral AI, Maroc")
    assert summary["text"] == {"type": "plain_text", "text": SUMMARY, "emoji": False}
    assert covered["elements"][0]["text"] == "Covered by 3 outlets: Hespress, Le360, Médias24"
    react_text = react["elements"][0]["text"]
    assert f":{REACTION_RELEVANT}:" in react_text and f":{REACTION_NOT_RELEVANT}:" in react_text
    assert (REACTION_RELEVANT, REACTION_NOT_RELEVANT) == ("white_check_mark", "x")
    assert "relevant" in react_text and "classifier" in react_text
    # Fallback: plain headline + summary + the link, no markup of ours.
    assert message["text"].startswith("Morocco × Mistral AI: memorandum of understanding — Le ministère")
    assert message["text"].endswith(" " + URL) and "*" not in message["text"]
    assert links(message) == [(URL, "Hespress")]


def test_alert_counts_one_outlet_and_handles_missing_date_language_and_explanation():
    message = alert_message(view(outlets=(), article=article(published=None, lang=None, explanation="")))
    assert_slack_valid(message)
    assert message["blocks"][4]["elements"][0]["text"] == "Covered by 1 outlet"
    fields = fields_of(message)
    assert "date unknown" in fields and "Language\nunknown" in fields and "Why:" not in visible(message)
    one = alert_message(view(outlets=("Hespress",)))
    assert one["blocks"][4]["elements"][0]["text"] == "Covered by 1 outlet"


def test_dates_are_shown_in_utc_and_languages_by_name():
    late = datetime.fromisoformat("2025-12-31T23:30:00-02:00")  # 1 Jan 2026 01:30 UTC
    fields = fields_of(alert_message(view(article=article(published=late, lang="ar"))))
    assert "1 Jan 2026" in fields and "Arabic (ar)" in fields
    naive = alert_message(view(article=article(published=datetime(2025, 3, 7, 12), lang="es")))
    assert "7 Mar 2025" in visible(naive) and "Spanish (es)" in visible(naive)


@pytest.mark.parametrize("score,shown", [(0.92, "92%"), (0.0, "0%"), (1.0, "100%"), (1.7, "100%"),
                                         (-0.2, "0%"), (float("nan"), "n/a")])
def test_confidence_is_a_bounded_percentage(score, shown):
    fields = alert_message(view(article=article(score=score)))["blocks"][1]["fields"]
    assert f"Confidence\n{shown}" in [f["text"] for f in fields]


def test_blank_summary_falls_back_to_title_then_headline():
    message = alert_message(view(summary="  \n "))
    assert_slack_valid(message)
    assert message["blocks"][3]["text"]["text"] == "Le Maroc signe un mémorandum avec Mistral AI"
    assert "Le Maroc signe un mémorandum avec Mistral AI" in message["text"]
    bare = alert_message(view(summary="", article=article(title="")))
    assert_slack_valid(bare)
    assert bare["blocks"][3]["text"]["text"] == "Morocco × Mistral AI: memorandum of understanding"
    nothing = alert_message(view(summary="", headline="", article=article(title="", outlet="")))
    assert_slack_valid(nothing)
    assert nothing["blocks"][0]["text"]["text"].strip() and nothing["blocks"][3]["text"]["text"].strip()


def test_followup_mentions_outlet_and_links_the_article():
    other = article(article_id=9, outlet="Le360", url="https://le360.ma/economie/ia-accord?id=4&lang=fr",
                    title="Accord IA: le Maroc et Mistral AI", lang="fr", score=0.81)
    message = followup_message(other)
    assert_slack_valid(message)
    first = texts(message)[1]
    assert first == "Also covered by Le360: <https://le360.ma/economie/ia-accord?id=4&lang=fr|" \
                    "Accord IA: le Maroc et Mistral AI>"
    assert {"type": "text", "text": "Le360", "style": {"bold": True}} in rich_leaves(message["blocks"][0])
    assert "French (fr) · 1 Sep 2025 · confidence 81%" == message["blocks"][-1]["elements"][0]["text"]
    assert len(message["blocks"]) == 2
    assert message["text"] == ("Also covered by Le360: Accord IA: le Maroc et Mistral AI "
                               "https://le360.ma/economie/ia-accord?id=4&amp;lang=fr")
    with_summary = followup_message(other, "Le360 détaille l'accord signé à Rabat.")
    assert_slack_valid(with_summary)
    assert with_summary["blocks"][1]["text"]["text"] == "Le360 détaille l'accord signé à Rabat."


def test_digest_header_and_lines():
    header = digest_header_message(date(2025, 9, 1), 4, 0.7)
    assert_slack_valid(header)
    assert header["blocks"][0]["text"]["text"] == "AI Watch review — 1 Sep 2025"
    body = header["blocks"][1]["text"]["text"]
    assert "4 stories" in body and "70%" in body and f":{REACTION_RELEVANT}:" in body
    assert "4 uncertain stories" in header["text"] and "1 Sep 2025" in header["text"]
    assert "1 story" in digest_header_message(date(2025, 9, 1), 1, 0.7)["blocks"][1]["text"]["text"]
    empty = digest_header_message(date(2025, 9, 2), 0, 0.5)
    assert_slack_valid(empty)
    assert "No uncertain stories" in visible(empty)
    for bad in [(-1, 0.5), (2, 1.5), (2, float("nan"))]:
        with pytest.raises(ValueError, match="count|threshold"):
            digest_header_message(date(2025, 9, 2), *bad)

    line = digest_line_message(article(score=0.46))
    assert_slack_valid(line)
    assert len(line["blocks"]) == 1
    text = texts(line)[1]
    assert text.startswith(f"<{URL}|Le Maroc signe un mémorandum avec Mistral AI>\nHespress · score 46%")
    assert "Le Maroc signe" in line["text"] and "Hespress" in line["text"] and "46%" in line["text"]


# --- hostile input -------------------------------------------------------------------------------

HOSTILE = [
    "<!channel> hello",
    "<!here>",
    "@channel wake up",
    "<@U123> look",
    "<http://evil.example|click me>",
    "<!subteam^S1> team",
    "<#C123|general>",
    "*bold* _it_ ~s~ `code`",
    "<!everyone>",
    "a & b > c | d",
]


def hostile_messages(value: str) -> list[dict]:
    hostile_article = article(title=value, outlet=value, explanation=value)
    return [
        alert_message(view(headline=value, summary=value, kind_label=value, article=hostile_article,
                           outlets=(value, "Le360"))),
        alert_message(view(summary="", article=hostile_article)),
        followup_message(hostile_article, value),
        digest_line_message(hostile_article),
    ]


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_text_cannot_ping_or_forge_links_anywhere(value):
    for message in hostile_messages(value):
        assert_slack_valid(message)
        assert_inert(message, {URL})
        assert all(url == URL for url, _ in links(message))
        shown = visible(message)
        for word in re.findall(r"[a-z]{2,}", value.replace("http", "")):
            assert word in shown, word


def test_broadcast_words_keep_a_word_joiner_and_markup_words_survive():
    message = alert_message(view(headline="@here news", summary="@channel *bold* _it_ ~s~ `code`"))
    assert message["blocks"][3]["text"] == {"type": "plain_text", "emoji": False,
                                            "text": f"@{WORD_JOINER}channel *bold* _it_ ~s~ `code`"}
    assert f"@{WORD_JOINER}here news" == message["blocks"][0]["text"]["text"]
    assert f"@{WORD_JOINER}channel" in message["text"]
    forged = alert_message(view(summary="<http://evil.example|click me>"))
    assert forged["blocks"][3]["text"]["text"] == "‹http://evil.example|click me›"


@pytest.mark.parametrize("value", ["*Official*", "```rm -rf```", "_italic_ and ~struck~", "> quoted", "`x`",
                                   ":rotating_light: urgent"])
def test_article_values_render_as_the_plain_text_they_are(value):
    """Formatting characters from an article (an og:site_name of "*Official*", a title with triple
    backticks) never reach a mrkdwn object, where Slack would render them as bold, code or a quote;
    they are shown literally (plain_text, rich text), and :emoji: codes are not expanded."""
    hostile_article = article(title=value, outlet=value, explanation=value)
    for message in [alert_message(view(summary=value, article=hostile_article, outlets=(value, "Le360"))),
                    followup_message(hostile_article, value), digest_line_message(hostile_article)]:
        assert_slack_valid(message)
        assert not any(value.strip("> ") in text for text in mrkdwn_texts(message)), value
        fallback = message["text"]  # mrkdwn too: notifications and clients without blocks render it
        assert not re.search(r"[*_~`]|^(>|&gt;)|:rotating", fallback.split(" <http", 1)[0]), fallback
        assert any(value.replace(">", "›") in text for text in literal_texts(message)), value
        for obj in [b.get("text") for b in message["blocks"] if b["type"] in ("section", "context")]:
            if obj and obj["type"] == "plain_text":
                assert obj["emoji"] is False


def test_mrkdwn_objects_are_verbatim():
    for message in hostile_messages("see #general and https://evil.example"):
        for block in message["blocks"]:
            for obj in [block.get("text"), *block.get("fields", []), *block.get("elements", [])]:
                if obj and obj["type"] == "mrkdwn":
                    assert obj["verbatim"] is True


def test_link_text_with_pipe_and_angle_brackets_is_literal():
    message = followup_message(article(title="A|B > C <D>"))
    label = links(message)[0][1]
    assert label == "A|B › C ‹D›"


def test_huge_title_and_summary_stay_within_limits_and_cut_on_whole_words():
    # Fixed-width words ending in a letter: any cut inside a word leaves a token not in the text.
    title = " ".join(f"mot{i:04d}x" for i in range(1200))
    summary = " ".join(f"word{i:05d}z" for i in range(10_000))
    assert len(title) > 10_000 and len(summary) >= 100_000
    words = set(title.split()) | set(summary.split())
    big = article(title=title, explanation=title, outlet=title)
    for message in [alert_message(view(headline=title, summary=summary, article=big, outlets=(title,) * 30)),
                    alert_message(view(summary="", article=big)),
                    followup_message(big, summary), digest_line_message(big)]:
        assert_slack_valid(message)
        shown = 0
        for text in texts(message):
            plain_text = LINK_RE.sub(lambda m: m.group(2) or "", text)
            for token in re.findall(r"(?:mot|word)\w*", plain_text):
                assert token in words, token
                shown += 1
        assert shown > 20
    header = alert_message(view(headline=title))["blocks"][0]["text"]["text"]
    assert len(header) <= 150 and header.endswith("…") and header[:-1].split()[-1] in words


def test_long_summary_with_sentences_is_cut_to_whole_sentences():
    sentences = [f"Sentence number {i} says the partnership covers training and research." for i in range(2000)]
    message = alert_message(view(summary=" ".join(sentences)))
    assert_slack_valid(message)
    shown = message["blocks"][3]["text"]["text"]
    assert shown == " ".join(sentences[:3])


def test_arabic_and_mixed_script_titles_stay_readable_without_bidi_overrides():
    title = "\u202eالمغرب يوقع مذكرة تفاهم مع Mistral AI في الذكاء الاصطناعي\u202c"
    message = alert_message(view(headline=title, summary="", article=article(title=title, lang="ar")))
    assert_slack_valid(message)
    serialised = json.dumps(message, ensure_ascii=False)
    assert "\u202e" not in serialised and "\u202c" not in serialised
    expected = "المغرب يوقع مذكرة تفاهم مع Mistral AI في الذكاء الاصطناعي"
    assert message["blocks"][0]["text"]["text"] == expected
    assert message["blocks"][3]["text"]["text"] == expected
    assert "Arabic (ar)" in visible(message) and expected in message["text"]
    spoof = followup_message(article(title="invoice\u202egpj.exe", outlet="Out\u202elet"))
    assert "\u202e" not in json.dumps(spoof, ensure_ascii=False) and "invoicegpj.exe" in visible(spoof)


@pytest.mark.parametrize("url", ["javascript:alert(1)", "JavaScript:alert(1)", "data:text/html,<b>x</b>",
                                 "ftp://files.example/a", "//evil.example/x", "http:///nohost", "",
                                 "http://exa mple.com/", "https://[::1/", "https://host:99999/"])
def test_unsafe_urls_show_the_outlet_unlinked(url):
    for message in [alert_message(view(article=article(url=url))), followup_message(article(url=url)),
                    digest_line_message(article(url=url))]:
        assert_slack_valid(message)
        assert_inert(message, set())
        assert links(message) == []
        assert "Hespress" in visible(message)
        serialised = json.dumps(message).lower()
        assert "javascript" not in serialised and "data:" not in serialised


def test_url_with_pipe_angle_brackets_spaces_and_controls_is_percent_encoded():
    url = "https://news.example/a|b>c<d e\x07f\u202eg?q=1|2&r=<x>#frag|x"
    message = followup_message(article(url=url))
    assert_slack_valid(message)
    expected = "https://news.example/a%7Cb%3Ec%3Cd%20e%07f%E2%80%AEg?q=1%7C2&r=%3Cx%3E#frag%7Cx"
    assert_inert(message, {expected})
    assert links(message)[0][0] == expected
    # Credentials are dropped (they make a link read as another site), IDN hosts are punycoded.
    tricky = followup_message(article(url="https://www.bank.example@evil.example/login"))
    assert links(tricky)[0][0] == "https://evil.example/login"
    idn = followup_message(article(url="https://مثال.المغرب/مقال"))
    target = links(idn)[0][0]
    assert target.startswith("https://xn--") and "%D9%85" in target and target.isascii()


def test_outlet_missing_falls_back_to_host():
    message = alert_message(view(article=article(outlet="  ")))
    assert f"<{URL}|hespress.com>" in visible(message)


# --- validate_message ----------------------------------------------------------------------------


def good() -> dict:
    return alert_message(view())


def with_blocks(blocks: list) -> dict:
    return {**good(), "blocks": blocks}


def section(text: str) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


@pytest.mark.parametrize("message,rule", [
    (with_blocks([section("x")] * 51), "51 blocks"),
    (with_blocks([{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}]), "header.*151.*150"),
    (with_blocks([{"type": "header", "text": {"type": "mrkdwn", "text": "h"}}]), "plain_text"),
    (with_blocks([section("s" * 3001)]), "section.*3001.*3000"),
    (with_blocks([section("s")] + [section("y " * 1400)] * 5), "JSON.*12000"),
    (with_blocks([{"type": "section", "fields": [{"type": "mrkdwn", "text": "f" * 2001}]}]), "field 0.*2000"),
    (with_blocks([{"type": "section", "fields": [{"type": "mrkdwn", "text": "f"}] * 11}]), "11 fields"),
    (with_blocks([{"type": "context", "elements": [{"type": "mrkdwn", "text": "c"}] * 11}]), "11 elements"),
    (with_blocks([section("")]), "empty text"),
    (with_blocks([section("<!channel> hi")]), "mention"),
    (with_blocks([section("<@U123>")]), "mention"),
    (with_blocks([section("see <http://evil.example|a|b>")]), "raw <"),
    (with_blocks([section("see <javascript:alert(1)|x>")]), "raw <"),
    (with_blocks([{"type": "image", "image_url": "https://x.example/a.png", "alt_text": "a"}]), "image"),
    (with_blocks([{"type": "rich_text", "elements": [{"type": "rich_text_section", "elements": [
        {"type": "broadcast", "range": "channel"}]}]}]), "broadcast.*not allowed"),
    (with_blocks([{"type": "rich_text", "elements": [{"type": "rich_text_section", "elements": [
        {"type": "user", "user_id": "U123"}]}]}]), "user.*not allowed"),
    (with_blocks([{"type": "rich_text", "elements": [{"type": "rich_text_section", "elements": [
        {"type": "link", "url": "javascript:alert(1)", "text": "x"}]}]}]), "not a validated http"),
    (with_blocks([{"type": "rich_text", "elements": [{"type": "rich_text_section", "elements": [
        {"type": "text", "text": "<!channel>"}]}]}]), "mention"),
    (with_blocks([{"type": "rich_text", "elements": []}]), "needs elements"),
    (with_blocks([]), "non-empty list"),
    ({**good(), "text": "  "}, "text.*empty"),
    ({**good(), "text": ""}, "text.*empty"),
    ({"blocks": good()["blocks"]}, "text.*empty"),
    ({**good(), "text": "t" * 4001}, "4001"),
    ({**good(), "text": "<!here> now"}, "message text.*mention"),
    ("not a dict", "dict"),
])
def test_validate_message_names_the_rule_broken(message, rule):
    with pytest.raises(ValueError, match=rule):
        validate_message(message)


def test_validate_message_accepts_limits_exactly():
    validate_message(with_blocks([section("x")] * 50))
    validate_message(with_blocks([{"type": "header", "text": {"type": "plain_text", "text": "h" * 150}},
                                  section("s" * 3000)]))
    validate_message(with_blocks([section("ok <https://a.example/x?a=1&amp;b=2|label> and <https://b.example>")]))
