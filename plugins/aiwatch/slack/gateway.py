"""One Slack Web API call, performed reliably, with a typed answer about what happened.

The outbox needs to know, for every call, which of four things happened, because each leads to a
different state change: it worked (``Posted``); it will never work (``SlackFatal``: bad token,
missing scope, wrong channel: the task must fail loudly so an operator looks); this one message was
refused (``SlackRejected``: mark the row failed, carry on); or Slack could not be reached or asked us
to slow down (``SlackUnavailable``: the row stays pending for the next run).

The retrying happens here and not in slack-sdk so that we control every wait: a Retry-After longer
than ``max_wait_s`` is reported at once instead of blocking a worker for minutes.

``chat.postMessage`` is not idempotent. When an attempt fails *after the request may have reached
Slack* (a read timeout, a connection closed without an answer) a blind retry could post the alert
twice. So before retrying a post the gateway looks in the channel for a message carrying the same
metadata key (``find_posted``); if it cannot look (no key, or the channel ID is not known yet: Slack's
history methods need the ID, not ``#name``), it raises ``SlackUnavailable(ambiguous=True)`` instead of
retrying, and the caller reconciles with ``find_posted`` on its next run.
"""

from __future__ import annotations

import http.client
import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.error import URLError

import slack_sdk
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.web import SlackResponse

log = logging.getLogger("aiwatch.slack")

#: Errors that will not heal by waiting: configuration, credentials, permissions, the channel.
FATAL_ERRORS = frozenset({
    "invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired",
    "no_permission", "missing_scope", "channel_not_found", "not_in_channel", "is_archived",
    "org_login_required", "ekm_access_denied", "team_access_not_granted",
    "invalid_token", "not_allowed_token_type", "access_denied",
})
#: Slack-side trouble worth retrying with backoff.
TRANSIENT_ERRORS = frozenset({"internal_error", "fatal_error", "service_unavailable", "request_timeout"})
#: The server does not know the method (an older stand-in, a proxy, a wrong base URL).
UNSUPPORTED_ERRORS = frozenset({"unknown_method"})

_NON_JSON = "Received a response in a non-JSON format"
_CHANNEL_ID_RE = re.compile(r"^[CGD][A-Z0-9]{2,}$")


def is_channel_id(channel: str) -> bool:
    """A Slack channel ID (``C0123ABCD``), not a ``#name``: what conversations.* methods need."""
    return bool(_CHANNEL_ID_RE.match(channel))
#: How far before the first attempt a reconciling look into the channel starts (clock skew).
_RECONCILE_MARGIN_S = 300.0
_PAGE_SIZE = 200


class SlackError(Exception):
    """A Slack call that did not succeed; ``method`` and Slack's ``error`` code name what failed."""

    def __init__(self, method: str, error: str, detail: str = "") -> None:
        self.method = method
        self.error = error
        self.detail = detail
        super().__init__(f"Slack {method} failed: {error}" + (f" ({detail})" if detail else ""))


class SlackFatal(SlackError):
    """Will not heal by retrying (credentials, scopes, channel): the task must fail loudly."""


class SlackMethodUnsupported(SlackFatal):
    """The server does not implement the method (``unknown_method`` or HTTP 404)."""


class SlackRejected(SlackError):
    """Slack refused this one message (bad blocks, too long...): mark that outbox row failed."""


class SlackUnavailable(SlackError):
    """Transient trouble still failing after the in-call retries: the row stays pending.

    ``retry_after`` is Slack's requested wait when it rate-limited us; ``ambiguous`` is True when the
    last attempt may have reached Slack (so a post may exist: reconcile with ``find_posted``).
    """

    def __init__(self, method: str, error: str, detail: str = "", *, retry_after: float | None = None,
                 ambiguous: bool = False) -> None:
        self.retry_after = retry_after
        self.ambiguous = ambiguous
        super().__init__(method, error, detail)


@dataclass(frozen=True)
class Posted:
    """Where a message lives: the channel *ID* Slack answered (history and update need it) and its ts."""

    channel: str
    ts: str


@dataclass(frozen=True)
class _Failure:
    """One failed attempt, classified."""

    error: str
    detail: str
    kind: str  # "fatal" | "unsupported" | "rejected" | "ratelimited" | "transient"
    retry_after: float | None = None
    ambiguous: bool = False  # the request may have been processed by Slack


def make_client(token: str, base_url: str | None = None, timeout_s: float = 15.0) -> slack_sdk.WebClient:
    """A WebClient without slack-sdk's own retry handlers, so the gateway alone decides every wait.

    ``retry_handlers=[]`` disables them (the default list holds a ConnectionErrorRetryHandler that
    would retry behind our back, and re-send a post whose answer was lost).
    """
    if not token or not token.strip():
        raise ValueError("Slack token is empty: set the Slack connection's password/token")
    if timeout_s <= 0:
        raise ValueError(f"Slack timeout_s must be positive, got {timeout_s!r}")
    return slack_sdk.WebClient(token=token.strip(), base_url=base_url or slack_sdk.WebClient.BASE_URL,
                               timeout=timeout_s, retry_handlers=[])  # type: ignore[arg-type]


def _header(headers: Mapping[str, Any] | None, name: str) -> str | None:
    for key, value in (headers or {}).items():
        if key.lower() == name.lower():
            if isinstance(value, list | tuple):
                value = value[0] if value else None
            return None if value is None else str(value)
    return None


def _retry_after(headers: Mapping[str, Any] | None, default: float = 1.0) -> float:
    raw = _header(headers, "Retry-After")
    try:
        value = float(raw) if raw is not None else default
    except ValueError:
        return default
    return max(0.0, value)


def classify_response(response: SlackResponse) -> _Failure:
    """What a non-ok Slack answer means for us (status code first, then Slack's error code)."""
    status = int(response.status_code or 0)
    data = response.data if isinstance(response.data, dict) else {}
    error = str(data.get("error") or "")
    detail = ""
    if not error or error.startswith(_NON_JSON):
        detail, error = error, f"http_{status}"
    if status == 429 or error == "ratelimited":
        return _Failure("ratelimited", detail, "ratelimited", retry_after=_retry_after(response.headers))
    if status >= 500 or error in TRANSIENT_ERRORS:
        return _Failure(error, detail, "transient")
    if status == 404 or error in UNSUPPORTED_ERRORS:
        return _Failure(error, detail, "unsupported")
    if error in FATAL_ERRORS or status in (401, 403):
        return _Failure(error, detail, "fatal")
    if status == 200 and detail:  # 200 with a body that is not JSON: a proxy page, not Slack
        return _Failure("invalid_response", detail, "transient")
    return _Failure(error, detail, "rejected")


def _classify_exception(exc: Exception) -> _Failure:
    """Transport failures. urllib wraps errors while *sending* in URLError (Slack saw nothing);
    anything raised while waiting for the answer means Slack may have processed the request."""
    if isinstance(exc, URLError):
        return _Failure("connection_error", f"{type(exc.reason).__name__}: {exc.reason}", "transient")
    if isinstance(exc, TimeoutError):
        return _Failure("timeout", "no answer within the client timeout", "transient", ambiguous=True)
    return _Failure("connection_error", f"{type(exc).__name__}: {exc}", "transient", ambiguous=True)


def _raise(method: str, failure: _Failure, *, ambiguous: bool = False) -> None:
    if failure.kind == "unsupported":
        raise SlackMethodUnsupported(method, failure.error, failure.detail)
    if failure.kind == "fatal":
        raise SlackFatal(method, failure.error, failure.detail)
    if failure.kind == "rejected":
        raise SlackRejected(method, failure.error, failure.detail)
    raise SlackUnavailable(method, failure.error, failure.detail, retry_after=failure.retry_after,
                           ambiguous=ambiguous or failure.ambiguous)


class SlackGateway:
    """Performs single Slack calls with the retry policy above; see the module docstring."""

    def __init__(self, client: slack_sdk.WebClient, *, attempts: int = 3, max_wait_s: float = 30.0,
                 backoff_s: float = 1.0, sleep: Callable[[float], None] = time.sleep) -> None:
        if attempts < 1:
            raise ValueError(f"Slack attempts must be at least 1, got {attempts!r}")
        if client.retry_handlers:
            log.warning("slack client has %d built-in retry handler(s); use make_client() so waits "
                        "are the gateway's alone", len(client.retry_handlers))
        self._client = client
        self.attempts = attempts
        self.max_wait_s = max_wait_s
        self.backoff_s = backoff_s
        self._sleep = sleep
        self._channel_ids: dict[str, str] = {}  # "#name" / "name" -> "C..." learned from answers

    # -- the retry loop -------------------------------------------------------------------------

    def _call(self, method: str, send: Callable[[], SlackResponse], *,
              probe: Callable[[], Any] | None = None, idempotent: bool = True) -> Any:
        """``send()`` with the retry policy. For a non-idempotent call, after an ambiguous failure
        ``probe()`` is asked first: a non-None result is returned instead of retrying; without a
        probe, the call is not retried and SlackUnavailable(ambiguous=True) is raised."""
        ambiguous = False
        for attempt in range(1, self.attempts + 1):
            try:
                return send()
            except SlackApiError as exc:
                failure = classify_response(exc.response)
            except SlackRequestError as exc:  # a client-side misconfiguration (bad URL, proxy)
                raise SlackFatal(method, "request_error", str(exc)) from exc
            except (OSError, http.client.HTTPException) as exc:
                failure = _classify_exception(exc)
            if failure.kind not in ("ratelimited", "transient"):
                _raise(method, failure)
            if failure.kind == "ratelimited" and (failure.retry_after or 0.0) > self.max_wait_s:
                log.warning("slack %s rate-limited: Retry-After %.0fs exceeds max wait %.0fs, giving up "
                            "for now", method, failure.retry_after, self.max_wait_s)
                _raise(method, failure, ambiguous=ambiguous)
            if failure.ambiguous and not idempotent:
                ambiguous = True
                if probe is None:
                    log.warning("slack %s: %s after the request was sent; not retrying, the message may "
                                "exist (reconcile by metadata)", method, failure.error)
                    _raise(method, failure)
                found = probe()
                if found is not None:
                    log.warning("slack %s: %s, but the message had reached Slack; not posting again",
                                method, failure.error)
                    return found
                ambiguous = False  # we looked: it is not there, so a retry cannot double it
            if attempt == self.attempts:
                break
            if failure.kind == "ratelimited":
                wait = failure.retry_after if failure.retry_after is not None else 1.0
            else:
                wait = min(self.backoff_s * 2 ** (attempt - 1), self.max_wait_s)
            log.warning("slack %s: %s%s (attempt %d/%d), retrying in %.1fs", method, failure.error,
                        f" [{failure.detail}]" if failure.detail else "", attempt, self.attempts, wait)
            self._sleep(wait)
        log.error("slack %s: %s after %d attempt(s), giving up for now", method, failure.error,
                  self.attempts)
        _raise(method, failure, ambiguous=ambiguous)
        raise AssertionError("unreachable")  # pragma: no cover

    def _channel_id(self, channel: str) -> str | None:
        if _CHANNEL_ID_RE.match(channel):
            return channel
        return self._channel_ids.get(channel.lstrip("#"))

    # -- the calls ----------------------------------------------------------------------------

    def check(self) -> str | None:
        """auth.test: who we are, for the log line at start. None if the server lacks the method."""
        try:
            resp = self._call("auth.test", self._client.auth_test)
        except SlackMethodUnsupported:
            log.warning("slack auth.test is not supported by %s; skipping the token check",
                        self._client.base_url)
            return None
        return f"{resp.get('user') or resp.get('user_id')} on {resp.get('team') or resp.get('team_id')}" \
               f" ({resp.get('url') or 'no url'})"

    def post(self, channel: str, message: Mapping[str, Any], *, thread_ts: str | None = None,
             metadata: Mapping[str, Any] | None = None) -> Posted:
        """chat.postMessage of ``message`` ({"text", "blocks"}), link previews off, our metadata on.

        ``metadata`` is {"event_type": str, "event_payload": {"key": ..., ...}}; the key is what lets a
        lost answer be reconciled instead of posting twice.
        """
        text = message.get("text")
        if not isinstance(text, str) or not text.strip():
            raise ValueError("Slack message needs a non-empty 'text' (the notification fallback)")
        if metadata is not None and (not isinstance(metadata.get("event_type"), str)
                                     or not isinstance(metadata.get("event_payload"), Mapping)):
            raise ValueError(f"Slack metadata needs 'event_type' (str) and 'event_payload' (dict), "
                             f"got keys {sorted(metadata)}")
        started = time.time()

        def send() -> SlackResponse:
            return self._client.chat_postMessage(
                channel=channel, text=text, blocks=message.get("blocks"), thread_ts=thread_ts,
                unfurl_links=False, unfurl_media=False,
                metadata=dict(metadata) if metadata is not None else None)

        resp = self._call("chat.postMessage", send, probe=self._post_probe(channel, metadata, thread_ts,
                                                                           started), idempotent=False)
        if isinstance(resp, Posted):
            return resp
        posted = Posted(channel=str(resp.get("channel") or channel), ts=self._field(resp, "ts",
                                                                                   "chat.postMessage"))
        if not _CHANNEL_ID_RE.match(channel):  # remember "#name" -> ID for reconciling later posts
            self._channel_ids[channel.lstrip("#")] = posted.channel
        log.info("slack posted channel=%s ts=%s thread=%s", posted.channel, posted.ts, thread_ts or "-")
        return posted

    def _post_probe(self, channel: str, metadata: Mapping[str, Any] | None, thread_ts: str | None,
                    started: float) -> Callable[[], Posted | None] | None:
        """How to look for a post whose answer was lost, or None when we cannot look."""
        payload = (metadata or {}).get("event_payload") or {}
        key = payload.get("key") if isinstance(payload, Mapping) else None
        if metadata is None or key is None:
            return None
        event_type = str(metadata["event_type"])

        def probe() -> Posted | None:
            channel_id = self._channel_id(channel)
            if channel_id is None:
                raise SlackUnavailable("chat.postMessage", "ambiguous", f"answer lost and the ID of "
                                       f"{channel} is unknown, so the channel cannot be searched",
                                       ambiguous=True)
            try:
                return self.find_posted(channel_id, event_type, str(key), thread_ts=thread_ts,
                                        oldest=started - _RECONCILE_MARGIN_S, limit_pages=2)
            except SlackUnavailable as exc:
                raise SlackUnavailable("chat.postMessage", "ambiguous", f"answer lost and the channel "
                                       f"could not be searched: {exc}", ambiguous=True) from exc
        return probe

    def update(self, channel: str, ts: str, message: Mapping[str, Any]) -> None:
        """chat.update of a message we posted (``channel`` must be the ID from ``Posted``)."""
        text = message.get("text")
        if not isinstance(text, str) or not text.strip():
            raise ValueError("Slack message needs a non-empty 'text' (the notification fallback)")
        self._call("chat.update", lambda: self._client.chat_update(
            channel=channel, ts=ts, text=text, blocks=message.get("blocks")))
        log.info("slack updated channel=%s ts=%s", channel, ts)

    def find_posted(self, channel: str, event_type: str, key: str, *, oldest: float | None = None,
                    thread_ts: str | None = None, limit_pages: int = 5) -> Posted | None:
        """A message we posted whose metadata is ``event_type`` with event_payload["key"] == ``key``.

        Reads conversations.history (or .replies of ``thread_ts``) newest pages first, at most
        ``limit_pages`` pages. None if not found, or if the server lacks the method (logged).
        """
        method = "conversations.replies" if thread_ts else "conversations.history"
        cursor: str | None = None
        scanned = 0
        for page in range(1, limit_pages + 1):
            kwargs: dict[str, Any] = {"channel": channel, "include_all_metadata": True,
                                      "limit": _PAGE_SIZE, "cursor": cursor,
                                      "oldest": f"{oldest:.6f}" if oldest is not None else None}
            if thread_ts:
                def send(kw: dict[str, Any] = kwargs) -> SlackResponse:
                    return self._client.conversations_replies(ts=thread_ts, **kw)
            else:
                def send(kw: dict[str, Any] = kwargs) -> SlackResponse:
                    return self._client.conversations_history(**kw)
            try:
                resp = self._call(method, send)
            except SlackMethodUnsupported:
                log.warning("slack %s is not supported by %s; cannot reconcile key=%s", method,
                            self._client.base_url, key)
                return None
            messages = resp.get("messages") or []
            scanned += len(messages)
            for msg in messages:
                meta = msg.get("metadata") or {}
                payload = meta.get("event_payload") or {}
                if (meta.get("event_type") == event_type and payload.get("key") is not None
                        and str(payload["key"]) == key and "ts" in msg):
                    log.info("slack found key=%s channel=%s ts=%s after %d message(s), %d page(s)",
                             key, channel, msg["ts"], scanned, page)
                    return Posted(channel=channel, ts=str(msg["ts"]))
            cursor = ((resp.get("response_metadata") or {}).get("next_cursor") or None)
            if not cursor:
                break
        log.info("slack key=%s not found in %s: %d message(s) scanned%s", key, channel, scanned,
                 ", page limit reached" if cursor else "")
        return None

    def reactions(self, channel: str, ts: str) -> list[tuple[str, tuple[str, ...]]]:
        """reactions.get: [(emoji name, user IDs)] on one message, for the feedback loop."""
        resp = self._call("reactions.get", lambda: self._client.reactions_get(channel=channel, timestamp=ts,
                                                                              full=True))
        found = (resp.get("message") or {}).get("reactions") or []
        return [(str(r.get("name")), tuple(str(u) for u in r.get("users") or ())) for r in found]

    @staticmethod
    def _field(resp: SlackResponse, name: str, method: str) -> str:
        value = resp.get(name)
        if not value:
            raise SlackUnavailable(method, "malformed_response", f"ok answer without {name!r}")
        return str(value)
