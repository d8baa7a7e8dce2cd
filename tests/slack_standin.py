"""A local stand-in for the Slack Web API methods we use, on loopback, for tests.

It answers the way Slack does for the parts our code relies on, so the gateway and outbox are
tested through a real ``slack_sdk.WebClient`` and real HTTP:

- ``auth.test``, ``chat.postMessage``, ``chat.update``, ``conversations.history``,
  ``conversations.replies``, ``reactions.get``; anything else is ``unknown_method``.
- A Bearer token check (``invalid_auth``), channels resolved from ``#name``/``name`` to stable IDs
  (``C0001``...) by chat.postMessage only: like Slack, the other methods need the channel *ID*.
- Validation worth catching in tests: ``no_text``, ``msg_too_long`` (40,000), ``invalid_blocks``
  (more than 50 blocks, a block without ``type``, header text over 150 or section text over 3,000),
  ``invalid_metadata_format``, ``thread_not_found``, ``message_not_found``.
- History newest first; replies parent first then oldest first (as Slack); cursor pagination with
  ``limit`` (capped by ``page_cap`` to force several pages), ``oldest``/``latest``/``inclusive``;
  ``metadata`` only with ``include_all_metadata``.

Faults, consumed in order per method by ``fail_next(method, *faults)``: ``429`` (Retry-After 1),
``("ratelimited", seconds)``, any other HTTP status like ``500``/``503``/``404``, ``"timeout"``
(hold the request ``timeout_fault_s`` then close without processing it), ``"drop_after_post"``
(process the request, then close without answering: the ambiguous case), or a Slack error code
such as ``"invalid_auth"`` (HTTP 200, ok false).
"""

from __future__ import annotations

import base64
import copy
import json
import re
import threading
import time
from collections.abc import Callable, Iterable
from decimal import Decimal, InvalidOperation
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

Fault = int | str | tuple[str | int, float]
Json = dict[str, Any]

TEXT_MAX = 40_000
BLOCKS_MAX = 50
HEADER_MAX = 150
SECTION_MAX = 3000
_CHANNEL_ID_RE = re.compile(r"^[CGD][A-Z0-9]{2,}$")
BOT = {"user": "U0BOT", "bot_id": "B0BOT", "app_id": "A0AIWATCH", "team": "T0STANDIN"}


class _SlackFailure(Exception):
    """A Slack ok:false answer from inside a method handler."""

    def __init__(self, error: str) -> None:
        self.error = error
        super().__init__(error)


def _ts_us(value: Any, what: str = "ts") -> int:
    try:
        return int(Decimal(str(value)) * 1_000_000)
    except (InvalidOperation, ValueError) as exc:
        raise _SlackFailure(f"invalid_{what}") from exc


def _truthy(value: Any) -> bool:
    return value is True or str(value).lower() in ("1", "true")


def _maybe_json(value: Any) -> Any:
    """Form-encoded calls send blocks/metadata as JSON strings; JSON calls send structures."""
    if isinstance(value, str) and value[:1] in ("[", "{"):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def _encode_cursor(ts: str) -> str:
    return base64.b64encode(f"next_ts:{ts}".encode()).decode()


def _decode_cursor(cursor: str) -> int:
    try:
        raw = base64.b64decode(cursor.encode(), validate=True).decode()
    except (ValueError, UnicodeDecodeError) as exc:
        raise _SlackFailure("invalid_cursor") from exc
    if not raw.startswith("next_ts:"):
        raise _SlackFailure("invalid_cursor")
    return _ts_us(raw.removeprefix("next_ts:"), "cursor")


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - http.server API
        return

    def do_POST(self) -> None:  # noqa: N802 - http.server API
        self._handle()

    def do_GET(self) -> None:  # noqa: N802 - http.server API
        self._handle()

    def _handle(self) -> None:
        owner = self.server.owner
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if not url.path.startswith("/api/"):
            self._send(404, b"<html><body>Not Found</body></html>", "text/html")
            return
        method = url.path.removeprefix("/api/")
        params = dict(parse_qsl(url.query))
        ctype = (self.headers.get("Content-Type") or "").lower()
        try:
            if "json" in ctype and body:
                params.update(json.loads(body))
            elif body:
                params.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
        except (ValueError, UnicodeDecodeError):
            self._json(200, {"ok": False, "error": "invalid_json"})
            return
        token = params.pop("token", None)
        auth = self.headers.get("Authorization") or ""
        if auth.startswith("Bearer "):
            token = auth.removeprefix("Bearer ")
        fault = owner._record_call(method, params)
        try:
            self._answer(owner, method, params, token, fault)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _answer(self, owner: SlackStandIn, method: str, params: Json, token: str | None,
                fault: Fault | None) -> None:
        if fault == "timeout":
            owner._stopping.wait(owner.timeout_fault_s)
            self.close_connection = True
            return
        if isinstance(fault, tuple) or fault == 429:
            retry_after = fault[1] if isinstance(fault, tuple) else 1
            self._json(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": f"{retry_after:g}"})
            return
        if isinstance(fault, int):
            self._send(fault, f"<html><body>HTTP {fault}</body></html>".encode(), "text/html")
            return
        if isinstance(fault, str) and fault != "drop_after_post":
            self._json(200, {"ok": False, "error": fault})
            return
        answer = owner._dispatch(method, params, token)
        if fault == "drop_after_post":
            self.close_connection = True  # processed, but the client never hears back
            return
        self._json(200, answer)

    def _json(self, status: int, data: Json, headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(data).encode(), "application/json; charset=utf-8", headers)

    def _send(self, status: int, body: bytes, ctype: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: SlackStandIn


class SlackStandIn:
    """``with SlackStandIn(token="xoxb-test") as slack:`` then point a WebClient at ``slack.base_url``."""

    def __init__(self, token: str = "xoxb-test", *, strict_channels: Iterable[str] | None = None,
                 page_cap: int | None = None, timeout_fault_s: float = 3.0,
                 disabled_methods: Iterable[str] = (), clock: Callable[[], float] = time.time) -> None:
        self.token = token
        self.page_cap = page_cap
        self.timeout_fault_s = timeout_fault_s
        self.disabled_methods = frozenset(disabled_methods)
        self._clock = clock
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._faults: dict[str, list[Fault]] = {}
        self._calls: list[tuple[str, Json]] = []
        self._posts: list[Json] = []
        self._updates: list[Json] = []
        self._channels: dict[str, str] = {}  # name -> ID
        self._messages: dict[str, list[Json]] = {}  # ID -> messages, oldest first (top level and replies)
        self._last_us = 0
        self._strict = None if strict_channels is None else {c.lstrip("#") for c in strict_channels}
        for name in sorted(self._strict or ()):
            self._new_channel(name)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> SlackStandIn:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.owner = self
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="slack-standin", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> SlackStandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def base_url(self) -> str:
        """What ``WebClient(base_url=...)`` expects: it joins ``base_url + "chat.postMessage"``."""
        if self._server is None:
            raise RuntimeError("SlackStandIn is not started: use it as a context manager")
        return f"http://127.0.0.1:{self._server.server_address[1]}/api/"

    # -- test controls and inspection -------------------------------------------------------------

    def fail_next(self, method: str, *faults: Fault) -> None:
        """Make the next calls of ``method`` fail, one fault per call, in order."""
        for fault in faults:
            ok = (isinstance(fault, int) and 400 <= fault <= 599) or isinstance(fault, str) or (
                isinstance(fault, tuple) and len(fault) == 2 and fault[0] in ("ratelimited", 429))
            if not ok:
                raise ValueError(f"unknown Slack stand-in fault for {method}: {fault!r}")
        with self._lock:
            self._faults.setdefault(method, []).extend(faults)

    def react(self, channel: str, ts: str, name: str, user: str) -> None:
        """Add reaction ``name`` by ``user`` to a message (as a person in Slack would)."""
        with self._lock:
            msg = self._find(self._resolve_existing(channel), ts)
            for reaction in msg.setdefault("reactions", []):
                if reaction["name"] == name:
                    if user not in reaction["users"]:
                        reaction["users"].append(user)
                    reaction["count"] = len(reaction["users"])
                    return
            msg["reactions"].append({"name": name, "users": [user], "count": 1})

    def unreact(self, channel: str, ts: str, name: str, user: str) -> None:
        """Remove ``user``'s reaction ``name`` from a message (a person changing their mind)."""
        with self._lock:
            msg = self._find(self._resolve_existing(channel), ts)
            for reaction in list(msg.get("reactions", [])):
                if reaction["name"] == name and user in reaction["users"]:
                    reaction["users"].remove(user)
                    reaction["count"] = len(reaction["users"])
                    if not reaction["users"]:
                        msg["reactions"].remove(reaction)

    def channel_id(self, channel: str) -> str:
        """The ID of a channel name (or ID) that has been posted to."""
        with self._lock:
            return self._resolve_existing(channel)

    @property
    def calls(self) -> list[tuple[str, Json]]:
        """Every request received, faulted ones included: (method, params without the token)."""
        with self._lock:
            return copy.deepcopy(self._calls)

    @property
    def posts(self) -> list[Json]:
        """Every successful chat.postMessage: channel (ID), ts, text, blocks, thread_ts, metadata, unfurls."""
        with self._lock:
            return copy.deepcopy(self._posts)

    @property
    def updates(self) -> list[Json]:
        """Every successful chat.update: channel, ts, text, blocks, metadata."""
        with self._lock:
            return copy.deepcopy(self._updates)

    def messages(self, channel: str | None = None) -> list[Json]:
        """Top-level messages (not thread replies), oldest first, in one channel or all of them."""
        with self._lock:
            ids = [self._resolve_existing(channel)] if channel is not None else list(self._messages)
            return [copy.deepcopy(m) for cid in ids for m in self._messages.get(cid, [])
                    if m.get("thread_ts", m["ts"]) == m["ts"]]

    def replies(self, ts: str) -> list[Json]:
        """Replies in the thread of message ``ts`` (the parent excluded), oldest first."""
        with self._lock:
            return [copy.deepcopy(m) for msgs in self._messages.values() for m in msgs
                    if m.get("thread_ts") == ts and m["ts"] != ts]

    # -- the server side --------------------------------------------------------------------------

    def _record_call(self, method: str, params: Json) -> Fault | None:
        with self._lock:
            self._calls.append((method, copy.deepcopy(params)))
            queue = self._faults.get(method)
            return queue.pop(0) if queue else None

    def _dispatch(self, method: str, params: Json, token: str | None) -> Json:
        handler = self._methods().get(method)
        if handler is None or method in self.disabled_methods:
            return {"ok": False, "error": "unknown_method"}
        if not token:
            return {"ok": False, "error": "not_authed"}
        if token != self.token:
            return {"ok": False, "error": "invalid_auth"}
        with self._lock:
            try:
                return {"ok": True, **handler(params)}
            except _SlackFailure as exc:
                return {"ok": False, "error": exc.error}

    def _methods(self) -> dict[str, Callable[[Json], Json]]:
        return {"auth.test": self._auth_test, "chat.postMessage": self._post, "chat.update": self._update,
                "conversations.history": self._history, "conversations.replies": self._replies,
                "reactions.get": self._reactions_get}

    def _new_channel(self, name: str) -> str:
        cid = f"C{len(self._channels) + 1:04d}"
        self._channels[name] = cid
        self._messages[cid] = []
        return cid

    def _resolve_for_post(self, channel: Any) -> str:
        channel = str(channel or "")
        if channel in self._messages:
            return channel
        name = channel.lstrip("#")
        if not name or (channel == name and _CHANNEL_ID_RE.match(name)):
            raise _SlackFailure("channel_not_found")  # nothing, or an ID we never issued
        if name in self._channels:
            return self._channels[name]
        if self._strict is not None:
            raise _SlackFailure("channel_not_found")
        return self._new_channel(name)

    def _resolve_existing(self, channel: Any) -> str:
        channel = str(channel or "")
        if channel in self._messages:
            return channel
        if channel.lstrip("#") in self._channels:  # names: for the test helpers only (API: _known_id)
            return self._channels[channel.lstrip("#")]
        raise KeyError(f"no channel {channel!r} in the Slack stand-in")

    def _known_id(self, channel: Any) -> str:
        if str(channel) not in self._messages:
            raise _SlackFailure("channel_not_found")
        return str(channel)

    def _find(self, cid: str, ts: Any) -> Json:
        for msg in self._messages[cid]:
            if msg["ts"] == str(ts):
                return msg
        raise _SlackFailure("message_not_found")

    def _next_ts(self) -> str:
        us = max(int(self._clock() * 1_000_000) // 100 * 100, self._last_us + 100)
        self._last_us = us
        return f"{us // 1_000_000}.{us % 1_000_000:06d}"

    @staticmethod
    def _content(params: Json, *, require: bool = True) -> tuple[str | None, list[Json] | None]:
        text = params.get("text")
        blocks = _maybe_json(params.get("blocks"))
        if require and not (text and str(text).strip()) and not blocks:
            raise _SlackFailure("no_text")
        if text is not None and len(str(text)) > TEXT_MAX:
            raise _SlackFailure("msg_too_long")
        if blocks is not None:
            if not isinstance(blocks, list) or len(blocks) > BLOCKS_MAX:
                raise _SlackFailure("invalid_blocks")
            for block in blocks:
                if not isinstance(block, dict) or not isinstance(block.get("type"), str):
                    raise _SlackFailure("invalid_blocks")
                inner = block.get("text")
                inner_text = inner.get("text", "") if isinstance(inner, dict) else ""
                limit = {"header": HEADER_MAX, "section": SECTION_MAX}.get(block["type"])
                if limit is not None and len(str(inner_text)) > limit:
                    raise _SlackFailure("invalid_blocks")
        return (None if text is None else str(text)), blocks

    @staticmethod
    def _metadata(params: Json) -> Json | None:
        metadata = _maybe_json(params.get("metadata"))
        if metadata is None:
            return None
        if not (isinstance(metadata, dict) and isinstance(metadata.get("event_type"), str)
                and isinstance(metadata.get("event_payload"), dict)):
            raise _SlackFailure("invalid_metadata_format")
        return metadata

    @staticmethod
    def _public(msg: Json, *, with_metadata: bool = True) -> Json:
        out = copy.deepcopy(msg)
        if not with_metadata:
            out.pop("metadata", None)
        return out

    def _auth_test(self, params: Json) -> Json:
        return {"url": "https://aiwatch-standin.slack.com/", "team": "AI Watch Stand-in", "user": "aiwatch",
                "team_id": BOT["team"], "user_id": BOT["user"], "bot_id": BOT["bot_id"],
                "is_enterprise_install": False}

    def _post(self, params: Json) -> Json:
        cid = self._resolve_for_post(params.get("channel"))
        text, blocks = self._content(params)
        metadata = self._metadata(params)
        thread_ts = params.get("thread_ts") or None
        if thread_ts is not None:
            parent = self._find_or(cid, thread_ts, "thread_not_found")
            if parent.get("thread_ts", parent["ts"]) != parent["ts"]:
                thread_ts = parent["thread_ts"]  # a reply to a reply joins the same thread
                parent = self._find(cid, thread_ts)
        ts = self._next_ts()
        msg: Json = {"type": "message", **BOT, "text": text or "", "ts": ts}
        if blocks is not None:
            msg["blocks"] = blocks
        if metadata is not None:
            msg["metadata"] = metadata
        if thread_ts is not None:
            msg["thread_ts"] = str(thread_ts)
            parent["thread_ts"] = parent["ts"]
            parent["reply_count"] = parent.get("reply_count", 0) + 1
            parent["latest_reply"] = ts
        self._messages[cid].append(msg)
        unfurls = {k: (None if params.get(k) is None else _truthy(params[k]))
                   for k in ("unfurl_links", "unfurl_media")}
        self._posts.append({"channel": cid, "ts": ts, "text": text, "blocks": blocks, "thread_ts": thread_ts,
                            "metadata": metadata, **unfurls})
        return {"channel": cid, "ts": ts, "message": self._public(msg)}

    def _find_or(self, cid: str, ts: Any, error: str) -> Json:
        try:
            return self._find(cid, ts)
        except _SlackFailure:
            raise _SlackFailure(error) from None

    def _update(self, params: Json) -> Json:
        cid = self._known_id(params.get("channel"))
        msg = self._find(cid, params.get("ts"))
        if msg.get("bot_id") != BOT["bot_id"]:
            raise _SlackFailure("cant_update_message")
        text, blocks = self._content(params)
        metadata = self._metadata(params)
        if text is not None:
            msg["text"] = text
        if blocks is not None:  # like Slack: without blocks, the previous blocks are kept
            msg["blocks"] = blocks
        if metadata is not None:
            msg["metadata"] = metadata
        msg["edited"] = {"user": BOT["user"], "ts": self._next_ts()}
        self._updates.append({"channel": cid, "ts": msg["ts"], "text": text, "blocks": blocks,
                              "metadata": metadata})
        return {"channel": cid, "ts": msg["ts"], "text": msg["text"], "message": self._public(msg)}

    def _page(self, msgs: list[Json], params: Json, *, newest_first: bool) -> Json:
        """Filter by oldest/latest, order, and cut one page at the cursor."""
        inclusive = _truthy(params.get("inclusive"))
        oldest = _ts_us(params["oldest"], "oldest") if params.get("oldest") not in (None, "") else None
        latest = _ts_us(params["latest"], "latest") if params.get("latest") not in (None, "") else None

        def keep(msg: Json) -> bool:
            us = _ts_us(msg["ts"])
            if oldest is not None and (us < oldest or (us == oldest and not inclusive)):
                return False
            return latest is None or us < latest or (us == latest and inclusive)

        chosen = sorted((m for m in msgs if keep(m)), key=lambda m: _ts_us(m["ts"]), reverse=newest_first)
        if params.get("cursor"):
            start = _decode_cursor(str(params["cursor"]))
            chosen = [m for m in chosen if (_ts_us(m["ts"]) <= start if newest_first else _ts_us(m["ts"]) >= start)]
        try:
            limit = int(params.get("limit") or 100)
        except ValueError:
            raise _SlackFailure("invalid_limit") from None
        limit = max(1, min(limit, 999, self.page_cap or 999))
        page, rest = chosen[:limit], chosen[limit:]
        with_metadata = _truthy(params.get("include_all_metadata"))
        return {"messages": [self._public(m, with_metadata=with_metadata) for m in page],
                "has_more": bool(rest),
                "response_metadata": {"next_cursor": _encode_cursor(rest[0]["ts"]) if rest else ""}}

    def _history(self, params: Json) -> Json:
        cid = self._known_id(params.get("channel"))
        top = [m for m in self._messages[cid] if m.get("thread_ts", m["ts"]) == m["ts"]]
        return {**self._page(top, params, newest_first=True), "pin_count": 0}

    def _replies(self, params: Json) -> Json:
        cid = self._known_id(params.get("channel"))
        parent = self._find_or(cid, params.get("ts"), "thread_not_found")
        thread = [parent] + [m for m in self._messages[cid]
                             if m.get("thread_ts") == parent["ts"] and m["ts"] != parent["ts"]]
        return self._page(thread, params, newest_first=False)

    def _reactions_get(self, params: Json) -> Json:
        cid = self._known_id(params.get("channel"))
        msg = self._find(cid, params.get("timestamp"))
        return {"type": "message", "channel": cid, "message": self._public(msg)}
