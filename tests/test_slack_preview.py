"""The operator's preview of a Slack message: the blocks we compose, laid out as Slack shows them,
every value from a feed kept as text and only http(s) links kept as links."""

from __future__ import annotations

from datetime import UTC, datetime

from aiwatch.slack import blocks
from aiwatch.slack.preview import Block, Span, mrkdwn_spans, render

HOSTILE = "<script>alert(1)</script> *bold* <https://evil.example|click> @channel"


def article(**extra) -> blocks.ArticleRef:
    values = dict(article_id=1, title="Le Maroc et Mistral AI signent un mémorandum", url="https://le360.ma/a",
                  outlet="Le360", lang="fr", published=datetime(2025, 9, 16, 9, 0, tzinfo=UTC), score=0.93,
                  explanation="«mémorandum» + Moroccan party")
    values.update(extra)
    return blocks.ArticleRef(**values)


def test_an_alert_renders_its_header_fields_source_summary_and_context():
    message = blocks.alert_message(blocks.AlertView(
        event_id=3, headline="Morocco × Mistral AI: memorandum of understanding", kind_label="memorandum",
        summary="Le ministère et Mistral AI signent un mémorandum.", article=article(),
        outlets=("Le360", "Hespress")))
    shown = render(message)
    assert [b.kind for b in shown] == ["header", "fields", "text", "text", "context", "context"]
    assert shown[0].text == "Morocco × Mistral AI: memorandum of understanding"
    assert [label for label, _ in shown[1].fields] == ["Kind", "Date", "Language", "Confidence"]
    assert dict(shown[1].fields)["Kind"] == "memorandum"
    source = shown[2].spans
    assert source[0] == Span("Source: ", bold=True)
    assert Span("Le360", url="https://le360.ma/a") in source
    assert any(s.text.startswith("Why: ") and s.bold for s in source)
    assert "Covered by 2 outlets: Le360, Hespress" in "".join(s.text for s in shown[4].spans)


def test_hostile_text_stays_text_and_only_http_links_are_links():
    reply = blocks.followup_message(article(title=HOSTILE, url="javascript:alert(1)"))
    spans = [s for b in render(reply) for s in b.spans]
    assert all(s.url is None or s.url.startswith("https://") for s in spans)
    shown = "".join(s.text for s in spans)
    # What Slack receives, shown as it is: the composer's neutralised title, literal asterisks (rich
    # text is not mrkdwn), no live mention; nothing of it became a link or bold.
    assert "‹script›alert(1)‹/script› *bold* ‹https://evil.example|click› @\u2060channel" in shown
    assert not [s for s in spans if s.url and "evil" in s.url] and not [s for s in spans if s.bold and "bold" in s.text]
    # mrkdwn: links with a safe scheme only, bold and italic runs, entities decoded once.
    assert mrkdwn_spans("see <https://a.ma/x|the story> and <javascript:alert(1)|this>") == [
        Span("see "), Span("the story", url="https://a.ma/x"), Span(" and "), Span("<javascript:alert(1)|this>")]
    assert mrkdwn_spans("*React* _here_ &lt;b&gt;") == [Span("React", bold=True), Span(" "),
                                                         Span("here", italic=True), Span(" <b>")]


def test_unknown_blocks_and_payloads_without_blocks_still_show():
    assert render({"text": "plain *text*", "blocks": []}) == [Block("text", spans=[Span("plain "),
                                                                                   Span("text", bold=True)])]
    assert render({"blocks": [{"type": "image", "image_url": "https://x"}, {"type": "divider"}]}) == [
        Block("other", text="[image block]"), Block("divider")]
    assert render(None) == [Block("other", text="(no payload)")]
