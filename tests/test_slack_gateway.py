"""The Slack gateway against the loopback Slack stand-in, through a real slack_sdk WebClient."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator

import pytest
from aiwatch.slack.gateway import (
    Posted,
    SlackFatal,
    SlackGateway,
    SlackMethodUnsupported,
    SlackRejected,
    SlackUnavailable,
    make_client,
)
from slack_standin import SlackStandIn

TOKEN = "xoxb-test-SECRET-4242"
CHANNEL = "#morocco-ai-watch"
EVENT = "aiwatch_alert"
BLOCKS = [{"type": "header", "text": {"type": "plain_text", "text": "OCP and Mistral AI"}},
          {"type": "section", "text": {"type": "mrkdwn", "text": "A new partnership."}}]


def meta(key: str) -> dict:
    return {"event_type": EVENT, "event_payload": {"key": key, "outbox_id": 7}}


def message(text: str = "OCP partners with Mistral AI") -> dict:
    return {"text": text, "blocks": BLOCKS}


@pytest.fixture
def slack() -> Iterator[SlackStandIn]:
    with SlackStandIn(token=TOKEN, timeout_fault_s=2.0) as standin:
        yield standin


@pytest.fixture
def waits() -> list[float]:
    return []


@pytest.fixture
def gateway(slack: SlackStandIn, waits: list[float]) -> SlackGateway:
    return SlackGateway(make_client(TOKEN, base_url=slack.base_url, timeout_s=0.4), attempts=3,
                        max_wait_s=30.0, backoff_s=1.0, sleep=waits.append)


def methods(slack: SlackStandIn) -> list[str]:
    return [method for method, _ in slack.calls]


# -- round trips ------------------------------------------------------------------------------------


def test_make_client_has_no_builtin_retries_and_refuses_an_empty_token(slack: SlackStandIn) -> None:
    client = make_client(TOKEN, base_url=slack.base_url, timeout_s=2.5)
    assert client.retry_handlers == []
    assert client.timeout == 2.5
    assert client.base_url == slack.base_url
    with pytest.raises(ValueError, match="token"):
        make_client("  ")


def test_check_describes_the_bot(gateway: SlackGateway) -> None:
    described = gateway.check()
    assert described is not None
    assert "aiwatch" in described and "AI Watch Stand-in" in described


def test_post_sends_text_blocks_metadata_and_no_unfurls(gateway: SlackGateway, slack: SlackStandIn) -> None:
    posted = gateway.post(CHANNEL, message(), metadata=meta("event-1"))
    cid = slack.channel_id(CHANNEL)
    assert posted == Posted(channel=cid, ts=slack.posts[0]["ts"])
    assert cid.startswith("C") and cid != CHANNEL
    [record] = slack.posts
    assert record["text"] == "OCP partners with Mistral AI"
    assert record["blocks"] == BLOCKS
    assert record["metadata"] == meta("event-1")
    assert record["unfurl_links"] is False and record["unfurl_media"] is False
    assert record["thread_ts"] is None
    second = gateway.post(CHANNEL, message("second"), metadata=meta("event-2"))
    assert float(second.ts) > float(posted.ts)
    assert [m["text"] for m in slack.messages(cid)] == ["OCP partners with Mistral AI", "second"]


def test_post_in_a_thread_is_a_reply_not_a_channel_message(gateway: SlackGateway, slack: SlackStandIn) -> None:
    parent = gateway.post(CHANNEL, message(), metadata=meta("event-1"))
    reply = gateway.post(parent.channel, {"text": "follow-up"}, thread_ts=parent.ts, metadata=meta("event-1-f1"))
    assert [m["ts"] for m in slack.replies(parent.ts)] == [reply.ts]
    assert [m["ts"] for m in slack.messages(parent.channel)] == [parent.ts]
    found = gateway.find_posted(parent.channel, EVENT, "event-1-f1", thread_ts=parent.ts)
    assert found == reply
    assert gateway.find_posted(parent.channel, EVENT, "event-1-f1") is None  # history has no replies


def test_update_changes_the_message(gateway: SlackGateway, slack: SlackStandIn) -> None:
    posted = gateway.post(CHANNEL, message(), metadata=meta("event-1"))
    new_blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "Updated: 3 sources"}}]
    gateway.update(posted.channel, posted.ts, {"text": "updated", "blocks": new_blocks})
    [msg] = slack.messages(posted.channel)
    assert msg["text"] == "updated" and msg["blocks"] == new_blocks and "edited" in msg
    assert msg["metadata"] == meta("event-1")  # kept: reconciliation still works after an update
    assert slack.updates == [{"channel": posted.channel, "ts": posted.ts, "text": "updated",
                              "blocks": new_blocks, "metadata": None}]


def test_update_needs_the_channel_id_not_the_name(gateway: SlackGateway, slack: SlackStandIn) -> None:
    posted = gateway.post(CHANNEL, message())
    with pytest.raises(SlackFatal) as info:
        gateway.update(CHANNEL, posted.ts, {"text": "updated"})
    assert info.value.error == "channel_not_found" and info.value.method == "chat.update"
    with pytest.raises(SlackRejected) as rejected:
        gateway.update(posted.channel, "1.000001", {"text": "updated"})
    assert rejected.value.error == "message_not_found"


def test_reactions_round_trip(gateway: SlackGateway, slack: SlackStandIn) -> None:
    posted = gateway.post(CHANNEL, message())
    assert gateway.reactions(posted.channel, posted.ts) == []
    slack.react(posted.channel, posted.ts, "white_check_mark", "U1")
    slack.react(posted.channel, posted.ts, "white_check_mark", "U2")
    slack.react(posted.channel, posted.ts, "x", "U3")
    slack.react(posted.channel, posted.ts, "x", "U3")  # the same person twice counts once
    assert gateway.reactions(posted.channel, posted.ts) == [("white_check_mark", ("U1", "U2")), ("x", ("U3",))]


def test_find_posted_matches_event_type_and_key_only(gateway: SlackGateway, slack: SlackStandIn) -> None:
    first = gateway.post(CHANNEL, message(), metadata=meta("event-1"))
    gateway.post(CHANNEL, message(), metadata={"event_type": "other_app", "event_payload": {"key": "event-2"}})
    gateway.post(CHANNEL, message())  # no metadata at all
    assert gateway.find_posted(first.channel, EVENT, "event-1") == first
    assert gateway.find_posted(first.channel, EVENT, "event-2") is None
    assert gateway.find_posted(first.channel, EVENT, "event-9") is None
    assert gateway.find_posted(first.channel, EVENT, "event-1", oldest=float(first.ts)) is None  # exclusive
    assert gateway.find_posted(first.channel, EVENT, "event-1", oldest=float(first.ts) - 1) == first
    _, params = [c for c in slack.calls if c[0] == "conversations.history"][0]
    assert params["include_all_metadata"] in ("1", "true", True)


def test_find_posted_follows_the_cursor_over_pages(waits: list[float]) -> None:
    with SlackStandIn(token=TOKEN, page_cap=2) as slack:
        gateway = SlackGateway(make_client(TOKEN, base_url=slack.base_url), sleep=waits.append)
        posted = [gateway.post(CHANNEL, message(f"m{i}"), metadata=meta(f"event-{i}")) for i in range(7)]
        cid = posted[0].channel
        assert gateway.find_posted(cid, EVENT, "event-0") == posted[0]  # the oldest: on the 4th page
        history = [params for method, params in slack.calls if method == "conversations.history"]
        assert len(history) == 4
        assert "cursor" not in history[0] and all(p.get("cursor") for p in history[1:])
        assert len({p["cursor"] for p in history[1:]}) == 3
        assert gateway.find_posted(cid, EVENT, "event-0", limit_pages=2) is None
        assert gateway.find_posted(cid, EVENT, "event-6", limit_pages=1) == posted[6]  # newest first


# -- retries and their waits ---------------------------------------------------------------------------


def test_429_then_ok_waits_retry_after_and_posts_once(gateway: SlackGateway, slack: SlackStandIn,
                                                     waits: list[float], caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="aiwatch.slack")
    slack.fail_next("chat.postMessage", ("ratelimited", 3))
    posted = gateway.post(CHANNEL, message(), metadata=meta("event-1"))
    assert waits == [3.0]
    assert len(slack.posts) == 1 and slack.posts[0]["ts"] == posted.ts
    assert methods(slack) == ["chat.postMessage", "chat.postMessage"]
    retry_logs = [r.getMessage() for r in caplog.records if r.name == "aiwatch.slack"]
    assert any("chat.postMessage" in m and "ratelimited" in m for m in retry_logs)


def test_429_without_a_number_waits_one_second(gateway: SlackGateway, slack: SlackStandIn,
                                               waits: list[float]) -> None:
    slack.fail_next("chat.postMessage", 429)
    gateway.post(CHANNEL, message())
    slack.fail_next("chat.update", "ratelimited")  # ok:false ratelimited on HTTP 200, no header
    gateway.update(slack.posts[0]["channel"], slack.posts[0]["ts"], {"text": "x"})
    assert waits == [1.0, 1.0]
    assert len(slack.posts) == 1 and len(slack.updates) == 1


def test_long_retry_after_is_reported_at_once(gateway: SlackGateway, slack: SlackStandIn,
                                              waits: list[float]) -> None:
    slack.fail_next("chat.postMessage", ("ratelimited", 120))
    with pytest.raises(SlackUnavailable) as info:
        gateway.post(CHANNEL, message())
    assert info.value.retry_after == 120.0 and info.value.error == "ratelimited"
    assert waits == [] and methods(slack) == ["chat.postMessage"] and slack.posts == []


def test_ratelimit_on_every_attempt_gives_up_with_retry_after(gateway: SlackGateway, slack: SlackStandIn,
                                                              waits: list[float]) -> None:
    slack.fail_next("chat.postMessage", ("ratelimited", 2), ("ratelimited", 2), ("ratelimited", 5))
    with pytest.raises(SlackUnavailable) as info:
        gateway.post(CHANNEL, message())
    assert info.value.retry_after == 5.0
    assert waits == [2.0, 2.0] and len(slack.calls) == 3 and slack.posts == []


def test_500_then_ok_posts_once(gateway: SlackGateway, slack: SlackStandIn, waits: list[float]) -> None:
    slack.fail_next("chat.postMessage", 500)
    posted = gateway.post(CHANNEL, message(), metadata=meta("event-1"))
    assert waits == [1.0]
    assert [p["ts"] for p in slack.posts] == [posted.ts]


def test_persistent_5xx_is_unavailable_after_attempts_with_backoff(gateway: SlackGateway, slack: SlackStandIn,
                                                                   waits: list[float]) -> None:
    slack.fail_next("chat.postMessage", 500, 503, 502)
    with pytest.raises(SlackUnavailable) as info:
        gateway.post(CHANNEL, message())
    assert info.value.error == "http_502" and info.value.method == "chat.postMessage"
    assert info.value.retry_after is None and not info.value.ambiguous
    assert waits == [1.0, 2.0]
    assert methods(slack) == ["chat.postMessage"] * 3 and slack.posts == []


def test_slack_internal_error_is_retried(gateway: SlackGateway, slack: SlackStandIn, waits: list[float]) -> None:
    slack.fail_next("reactions.get", "internal_error", "service_unavailable")
    posted = gateway.post(CHANNEL, message())
    assert gateway.reactions(posted.channel, posted.ts) == []
    assert waits == [1.0, 2.0]


def test_backoff_is_capped_by_max_wait(slack: SlackStandIn, waits: list[float]) -> None:
    gateway = SlackGateway(make_client(TOKEN, base_url=slack.base_url), attempts=4, backoff_s=10.0,
                           max_wait_s=15.0, sleep=waits.append)
    slack.fail_next("auth.test", 500, 500, 500)
    assert gateway.check() is not None
    assert waits == [10.0, 15.0, 15.0]


def test_connection_refused_is_unavailable_not_ambiguous(waits: list[float]) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    gateway = SlackGateway(make_client(TOKEN, base_url=f"http://127.0.0.1:{port}/api/", timeout_s=1),
                           sleep=waits.append)
    with pytest.raises(SlackUnavailable) as info:
        gateway.post(CHANNEL, message(), metadata=meta("event-1"))
    assert info.value.error == "connection_error" and not info.value.ambiguous
    assert waits == [1.0, 2.0]  # the request never reached anyone, so it was safe to retry


# -- fatal and rejected: no retry ------------------------------------------------------------------------


def test_wrong_token_is_fatal_and_names_method_and_error(slack: SlackStandIn, waits: list[float]) -> None:
    gateway = SlackGateway(make_client("xoxb-wrong", base_url=slack.base_url), sleep=waits.append)
    with pytest.raises(SlackFatal) as info:
        gateway.post(CHANNEL, message())
    assert info.value.method == "chat.postMessage" and info.value.error == "invalid_auth"
    assert "chat.postMessage" in str(info.value) and "invalid_auth" in str(info.value)
    with pytest.raises(SlackFatal, match="auth.test.*invalid_auth"):
        gateway.check()
    assert waits == [] and len(slack.calls) == 2 and slack.posts == []


@pytest.mark.parametrize("error", ["invalid_auth", "token_revoked", "missing_scope", "not_in_channel",
                                   "is_archived"])
def test_fatal_errors_are_not_retried(gateway: SlackGateway, slack: SlackStandIn, waits: list[float],
                                      error: str) -> None:
    slack.fail_next("chat.postMessage", error)
    with pytest.raises(SlackFatal) as info:
        gateway.post(CHANNEL, message())
    assert info.value.error == error and not isinstance(info.value, SlackMethodUnsupported)
    assert waits == [] and len(slack.calls) == 1


def test_unknown_channel_is_fatal(slack: SlackStandIn, waits: list[float]) -> None:
    with SlackStandIn(token=TOKEN, strict_channels={CHANNEL}) as strict:
        gateway = SlackGateway(make_client(TOKEN, base_url=strict.base_url), sleep=waits.append)
        assert gateway.post("morocco-ai-watch", message()).channel == strict.channel_id(CHANNEL)
        with pytest.raises(SlackFatal) as info:
            gateway.post("#general", message())
        assert info.value.error == "channel_not_found"
        assert len(strict.posts) == 1 and waits == []


@pytest.mark.parametrize("bad", [
    {"text": "ok", "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "x"}}] * 51},
    {"text": "ok", "blocks": [{"type": "header", "text": {"type": "plain_text", "text": "x" * 151}}]},
    {"text": "ok", "blocks": [{"text": "no type"}]},
    {"text": "x" * 40_001},
])
def test_a_refused_message_is_rejected_without_retry(gateway: SlackGateway, slack: SlackStandIn,
                                                     waits: list[float], bad: dict) -> None:
    with pytest.raises(SlackRejected) as info:
        gateway.post(CHANNEL, bad)
    assert info.value.error in ("invalid_blocks", "msg_too_long") and info.value.method == "chat.postMessage"
    assert waits == [] and len(slack.calls) == 1 and slack.posts == []
    assert gateway.post(CHANNEL, message()).ts == slack.posts[0]["ts"]  # the next message still goes out


def test_injected_invalid_blocks_is_rejected(gateway: SlackGateway, slack: SlackStandIn) -> None:
    slack.fail_next("chat.postMessage", "invalid_blocks")
    with pytest.raises(SlackRejected, match="chat.postMessage.*invalid_blocks"):
        gateway.post(CHANNEL, message())
    assert slack.posts == []


def test_bad_input_is_refused_before_any_call(gateway: SlackGateway, slack: SlackStandIn) -> None:
    with pytest.raises(ValueError, match="text"):
        gateway.post(CHANNEL, {"blocks": BLOCKS})
    with pytest.raises(ValueError, match="event_payload"):
        gateway.post(CHANNEL, message(), metadata={"event_type": EVENT})
    assert slack.calls == []


# -- the ambiguous case: the request reached Slack but the answer was lost ------------------------------


def test_dropped_answer_with_unknown_channel_id_is_not_retried_and_can_be_reconciled(
        gateway: SlackGateway, slack: SlackStandIn, waits: list[float]) -> None:
    slack.fail_next("chat.postMessage", "drop_after_post")
    with pytest.raises(SlackUnavailable) as info:
        gateway.post(CHANNEL, message(), metadata=meta("event-1"))
    assert info.value.ambiguous and info.value.method == "chat.postMessage"
    assert len(slack.posts) == 1 and waits == []  # posted once, not posted again blindly
    found = gateway.find_posted(slack.channel_id(CHANNEL), EVENT, "event-1")
    assert found == Posted(channel=slack.channel_id(CHANNEL), ts=slack.posts[0]["ts"])


def test_dropped_answer_is_reconciled_by_the_gateway_when_it_can(gateway: SlackGateway, slack: SlackStandIn,
                                                                 waits: list[float]) -> None:
    gateway.post(CHANNEL, message(), metadata=meta("event-1"))  # teaches the gateway the channel ID
    slack.fail_next("chat.postMessage", "drop_after_post")
    posted = gateway.post(CHANNEL, message("two"), metadata=meta("event-2"))
    assert [p["text"] for p in slack.posts] == ["OCP partners with Mistral AI", "two"]  # no double
    assert posted == Posted(channel=slack.channel_id(CHANNEL), ts=slack.posts[1]["ts"])
    assert waits == []


def test_timeout_before_processing_is_checked_then_retried(gateway: SlackGateway, slack: SlackStandIn,
                                                           waits: list[float]) -> None:
    first = gateway.post(CHANNEL, message(), metadata=meta("event-1"))
    slack.fail_next("chat.postMessage", "timeout")
    posted = gateway.post(first.channel, {"text": "two"}, thread_ts=first.ts, metadata=meta("event-2"))
    assert methods(slack)[1:] == ["chat.postMessage", "conversations.replies", "chat.postMessage"]
    assert waits == [1.0]
    assert [m["ts"] for m in slack.replies(first.ts)] == [posted.ts]


def test_timeout_without_a_key_is_not_retried(gateway: SlackGateway, slack: SlackStandIn,
                                              waits: list[float]) -> None:
    slack.fail_next("chat.postMessage", "timeout")
    with pytest.raises(SlackUnavailable) as info:
        gateway.post(CHANNEL, message())
    assert info.value.error == "timeout" and info.value.ambiguous
    assert waits == [] and methods(slack) == ["chat.postMessage"]


def test_reads_are_simply_retried_after_a_timeout(gateway: SlackGateway, slack: SlackStandIn,
                                                  waits: list[float]) -> None:
    posted = gateway.post(CHANNEL, message(), metadata=meta("event-1"))
    slack.fail_next("conversations.history", "timeout", "drop_after_post")
    assert gateway.find_posted(posted.channel, EVENT, "event-1") == posted
    assert waits == [1.0, 2.0]


def test_find_posted_raises_when_slack_cannot_answer(gateway: SlackGateway, slack: SlackStandIn) -> None:
    posted = gateway.post(CHANNEL, message(), metadata=meta("event-1"))
    slack.fail_next("conversations.history", 503, 503, 503)
    with pytest.raises(SlackUnavailable) as info:
        gateway.find_posted(posted.channel, EVENT, "event-1")
    assert info.value.method == "conversations.history"


# -- methods the server does not have ------------------------------------------------------------------------


def test_unsupported_methods_give_none(waits: list[float]) -> None:
    with SlackStandIn(token=TOKEN, disabled_methods={"auth.test", "conversations.history"}) as slack:
        gateway = SlackGateway(make_client(TOKEN, base_url=slack.base_url), sleep=waits.append)
        assert gateway.check() is None
        posted = gateway.post(CHANNEL, message(), metadata=meta("event-1"))
        assert gateway.find_posted(posted.channel, EVENT, "event-1") is None
        slack.fail_next("conversations.replies", 404)
        assert gateway.find_posted(posted.channel, EVENT, "event-1", thread_ts=posted.ts) is None
        slack.fail_next("chat.postMessage", "unknown_method")
        with pytest.raises(SlackMethodUnsupported):  # a post that cannot be made is fatal
            gateway.post(CHANNEL, message())
        assert waits == []


def test_check_404_is_unsupported(gateway: SlackGateway, slack: SlackStandIn) -> None:
    slack.fail_next("auth.test", 404)
    assert gateway.check() is None
    assert gateway.check() is not None


# -- secrets ---------------------------------------------------------------------------------------------------


def test_the_token_never_reaches_a_log_record(gateway: SlackGateway, slack: SlackStandIn,
                                              caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)  # slack_sdk's own debug logging included
    errors: list[str] = []
    gateway.check()
    first = gateway.post(CHANNEL, message(), metadata=meta("event-1"))
    slack.fail_next("chat.postMessage", 500, ("ratelimited", 1), "drop_after_post")
    gateway.post(CHANNEL, message(), metadata=meta("event-2"))
    for fault in ("invalid_auth", "invalid_blocks", "timeout"):
        slack.fail_next("chat.postMessage", fault)
        try:
            gateway.post(first.channel, message())
        except (SlackFatal, SlackRejected, SlackUnavailable) as exc:
            errors.append(str(exc))
    gateway.find_posted(first.channel, EVENT, "event-2")
    assert len(errors) == 3
    assert any(r.name.startswith("slack_sdk") for r in caplog.records)  # the check saw sdk records
    assert any(r.name == "aiwatch.slack" for r in caplog.records)
    for record in caplog.records:
        assert TOKEN not in record.getMessage(), record.name
        assert TOKEN not in (record.exc_text or "")
    assert all(TOKEN not in e for e in errors)
