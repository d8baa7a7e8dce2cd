"""A stand-in of Google News on loopback, speaking the protocol its RSS links need since 2024.

- ``/rss/search``: an RSS feed whose items link to ``/rss/articles/<id>`` and name their outlet in
  ``<source url="...">``, with the outlet appended to the title (" - Outlet"), as Google does;
- ``/rss/articles/<id>``: the JavaScript page, carrying ``data-n-a-sg`` / ``data-n-a-ts``;
- ``POST /_/DotsSplashUi/data/batchexecute``: the ``Fbv4je`` RPC answering the publisher's URL.

Ids come in the old format (a base64 protobuf carrying the URL, resolved without a request) and the
new one (``AU_yqL...``, only the RPC can resolve). A story can also answer a consent page instead.
Served under the real host name: tests map ``news.google.com`` to 127.0.0.1 (Settings.static_hosts).
"""

from __future__ import annotations

import base64
import json
import secrets
from dataclasses import dataclass
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

from aiwatch.devserver import DevServer, Route

HOST = "news.google.com"


@dataclass
class Story:
    identifier: str
    title: str
    target: str
    source_name: str
    source_url: str
    kind: str  # modern | legacy | consent


class GoogleNewsStandIn:
    def __init__(self) -> None:
        self.server = DevServer()
        self.stories: list[Story] = []
        self.rpc_calls = 0
        self.server.add("/_/DotsSplashUi/data/batchexecute", Route(body=self._rpc, content_type="application/json"))
        self.server.add("/rss/search", Route(body=lambda _h: self.feed(), content_type="application/rss+xml"))

    def __enter__(self) -> GoogleNewsStandIn:
        self.server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.stop()

    @property
    def port(self) -> int:
        return int(self.server.host_port.split(":")[1])

    @property
    def origin(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def feed_url(self) -> str:
        return f"{self.origin}/rss/search?q=maroc+ia&hl=fr"

    def add(self, title: str, target: str, source_name: str, source_url: str, kind: str = "modern") -> Story:
        if kind == "legacy":
            raw = b"\x08\x13\x22" + bytes([len(target)]) + target.encode() + b"\xd2\x01\x00"
        else:
            raw = b"\x08\x13\x22" + b"\x1a" + b"AU_yqL" + secrets.token_bytes(24)
        identifier = "CBMi" + base64.urlsafe_b64encode(raw).decode().rstrip("=")
        story = Story(identifier, title, target, source_name, source_url, kind)
        self.stories.append(story)
        self.server.add(f"/rss/articles/{identifier}", Route(body=self._page(story)))
        return story

    def link(self, story: Story) -> str:
        return f"{self.origin}/rss/articles/{story.identifier}?oc=5"

    def feed(self) -> bytes:
        items = "".join(
            f"<item><title>{escape(s.title)} - {escape(s.source_name)}</title><link>{escape(self.link(s))}</link>"
            f'<guid isPermaLink="false">{s.identifier}</guid><pubDate>Fri, 12 Sep 2025 09:00:00 GMT</pubDate>'
            f'<description>{escape(s.title)}</description><source url="{escape(s.source_url)}">'
            f"{escape(s.source_name)}</source></item>" for s in self.stories)
        return (f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>"maroc ia" - Google '
                f"News</title><link>{self.origin}/</link>{items}</channel></rss>").encode()

    @staticmethod
    def _page(story: Story) -> bytes:
        if story.kind == "consent":
            return b"<html><body><form action='https://consent.google.com/save'>Before you continue</form></body></html>"
        return (f'<html><body><c-wiz><div jscontroller="aLI87" data-n-a-id="{story.identifier}" '
                f'data-n-a-ts="1757667600" data-n-a-sg="AZ5r3e{story.identifier[-12:]}"></div></c-wiz>'
                "<script>window.location = ...</script></body></html>").encode()

    def _rpc(self, handler) -> bytes:  # type: ignore[no-untyped-def]
        self.rpc_calls += 1
        form = parse_qs(getattr(handler, "request_body", b"").decode())
        request = json.loads(form["f.req"][0])
        inner = json.loads(request[0][0][1])
        identifier, signature = inner[2], inner[4]
        story = next((s for s in self.stories if s.identifier == identifier), None)
        if story is None or not signature.startswith("AZ5r3e"):
            return b")]}'\n\n[[\"wrb.fr\",\"Fbv4je\",null,null,null,[3]]]"
        payload = json.dumps(["garturlres", story.target, 1])
        return (")]}'\n\n" + json.dumps([["wrb.fr", "Fbv4je", payload, None, None, None, "generic"],
                                         ["di", 42], ["af.httprm", 41, "123", 1]])).encode()
