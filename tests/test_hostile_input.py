"""Hostile and unlucky input at the edges, unit by unit: URLs, redirects, the address guard, feed bytes.

Every case here was a real defect (issue 12): an input that raised out of the fetcher or the feed
parser, or slipped past the address guard. Each must now end in a clear, typed reason.
"""

from __future__ import annotations

import logging
import os
import time

import httpcore
import pytest
from aiwatch import feeds as feeds_module
from aiwatch.config import ConfigError, Feed, load_feeds
from aiwatch.decode import decode_feed, repair_char_refs
from aiwatch.devserver import Route
from aiwatch.feeds import parse_entries, structure_problem
from aiwatch.fetcher import Fetcher, FetchError, FetchLimits, address_is_public
from aiwatch.urls import MAX_URL_CHARS, BadURL, normalise_url, redact, url_key
from feedgen import item, rss
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

FEED = Feed("t", "http://example.ma/rss", "ar")
LONG_LINK = "http://example.ma/" + "a" * 100_000


# --- URLs where they enter ---------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "why"), [
    (LONG_LINK, "longer than"),
    ("http://xn--zz.example/x", "not valid IDNA"),
    ("http://xn--ls8h.la/", "not valid IDNA"),
    ("javascript:alert(1)", "scheme 'javascript'"),
    ("data:text/html,<b>x</b>", "scheme 'data'"),
    ("http://[::1/", "malformed"),
    ("http://a.example:99999/", "malformed"),
    ("http://exa mple.com/", "invalid host"),
    ("http://a.example/\x07bell", "control characters"),
    ("http://a..example/", "invalid host"),
    ("", "empty"),
    ("/relative/only", "relative URL"),
])
def test_urls_that_cannot_be_fetched_are_refused_with_a_reason(raw, why):
    with pytest.raises(BadURL, match=why) as info:
        normalise_url(raw)
    assert str(info.value).startswith("bad-url: ") and len(str(info.value)) < 500


@pytest.mark.parametrize(("raw", "expected"), [
    ("http:\\\\127.0.0.1/x", "http://127.0.0.1/x"),  # a browser reads backslashes as slashes
    ("  https://Example.MA/a b?q=é  ", "https://example.ma/a%20b?q=%C3%A9"),
    ("https://bücher.example/", "https://xn--bcher-kva.example/"),
    ("http://a.example/\n\tpath", "http://a.example/path"),
    ("http:/a.example/x", "http://a.example/x"),
    ("HTTPS://a.example:443/x#frag", "https://a.example:443/x"),
])
def test_urls_are_read_the_way_a_browser_reads_them(raw, expected):
    assert normalise_url(raw) == expected


def test_relative_links_resolve_against_their_base():
    assert normalise_url("../b?x=1", base="http://site.ma/a/c/d") == "http://site.ma/a/b?x=1"


def test_credentials_are_redacted_wherever_text_is_shown():
    assert redact("failed http://user:secret@host.ma/feed (401)") == "failed http://***@host.ma/feed (401)"
    assert "secret" not in str(BadURL("http://user:secret@host.ma/" + "x" * 5000, "too long"))
    error = FetchError("http-401", "https://user:secret@host.ma/feed.xml", "see https://u:p@other.ma")
    assert "secret" not in str(error) and ":p@" not in str(error)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=300) | st.from_regex(r"\A[a-zA-Z]{0,6}:[/\\]{0,4}[^\s]{0,80}\Z"))
def test_property_any_string_is_a_fetchable_url_or_bad_url(raw):
    try:
        url = normalise_url(raw, base="http://base.ma/dir/")
    except BadURL as exc:
        assert exc.why
    else:
        assert url.startswith(("http://", "https://")) and len(url) <= MAX_URL_CHARS
        assert normalise_url(url) == url  # normalising twice changes nothing
    assert isinstance(url_key(raw), str)


# --- the fetcher: redirects and hosts ------------------------------------------------------------------


def guarded(server, **limits):
    base = dict(timeout_s=3.0, connect_timeout_s=2.0, max_bytes=200_000, max_redirects=4,
                private_allowlist=frozenset({server.host_port}))
    base.update(limits)
    return Fetcher(FetchLimits(**base))


def test_the_http_clients_request_log_never_shows_credentials(server, caplog):
    """httpx logs each request's URL at INFO; a feed URL with credentials must reach the log redacted."""
    server.add("/private.xml", Route(body=b"<rss/>"))
    url = server.url("/private.xml").replace("http://", "http://reader:hunter2@")
    httpx_log = logging.getLogger("httpx")
    saved = httpx_log.disabled, httpx_log.propagate
    httpx_log.disabled, httpx_log.propagate = False, True  # whatever logging set-up an earlier test loaded
    try:
        with caplog.at_level(logging.DEBUG, logger="httpx"):
            assert guarded(server).get(url).status == 200
    finally:
        httpx_log.disabled, httpx_log.propagate = saved
    assert "HTTP Request: GET http://***@" in caplog.text and "hunter2" not in caplog.text


@pytest.mark.parametrize(("location", "reason"), [
    ("javascript:alert(1)", "bad-url"),
    ("http:\\\\127.0.0.1/x", "blocked-address"),  # read as http://127.0.0.1/x, then refused by the guard
    ("http://xn--zz.example/x", "bad-url"),
    ("http://xn--ls8h.la/", "bad-url"),
    ("http://example.ma/" + "b" * 70_000, "bad-url"),
    ("http://[::1/", "bad-url"),
    ("http://169.254.169.254/latest/meta-data/", "blocked-address"),
])
def test_hostile_redirects_end_in_a_reason_not_an_exception(server, location, reason):
    server.add("/r", Route(status=302, headers={"Location": location}))
    with guarded(server) as fetcher, pytest.raises(FetchError) as info:
        fetcher.get(server.url("/r"))
    assert info.value.reason == reason, str(info.value)
    assert len(str(info.value)) < 700


def test_post_never_follows_a_redirect(server):
    server.add("/form", Route(status=302, headers={"Location": "/elsewhere"}))
    with guarded(server) as fetcher, pytest.raises(FetchError) as info:
        fetcher.post_form(server.url("/form"), {"a": "1"})
    assert info.value.reason == "http-302" and server.hits["/elsewhere"] == 0


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(location=st.text(max_size=200))
def test_property_any_redirect_target_ends_in_a_response_or_a_fetch_error(server, location):
    server.add("/any", Route(status=302, headers={"Location": location.encode("utf-8", "surrogatepass")
                                                  .decode("latin-1")}))
    server.add("/target", body=b"<html>ok</html>")
    with guarded(server, timeout_s=2.0) as fetcher:
        try:
            response = fetcher.get(server.url("/any"))
        except FetchError as exc:
            assert exc.reason and exc.url
        else:
            assert response.status in (200, 304) or 200 <= response.status < 300


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(host=st.text(max_size=80))
def test_property_any_host_ends_in_a_fetch_error_without_network(host):
    """Every host resolves to loopback here, so a URL that parses is refused by the guard and one that
    does not is refused as bad-url: either way a reason, and no request leaves the machine."""
    with Fetcher(FetchLimits(timeout_s=1.0), resolver=lambda _h, _p: ["127.0.0.1"]) as fetcher:
        with pytest.raises(FetchError) as info:
            fetcher.get(f"http://{host}/x")
    assert info.value.reason in ("bad-url", "blocked-address", "dns"), str(info.value)


# --- the address guard ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("address", "public"), [
    ("::7f00:1", False),  # IPv4-compatible ::127.0.0.1
    ("::169.254.169.254", False),
    ("::8.8.8.8", True),
    ("64:ff9b::7f00:1", False),  # NAT64 well-known prefix embedding 127.0.0.1
    ("64:ff9b::808:808", True),
    ("64:ff9b:1::7f00:1", False),  # local-use NAT64 (RFC 8215)
    ("64:ff9b:1::808:808", False),
    ("fec0::1", False),  # deprecated site-local
    ("2002:7f00:1::", False),  # 6to4 of 127.0.0.1
    ("2002:808:808::1", True),
    ("2001:0:4136:e378:8000:63bf:3fff:fdd2", False),  # Teredo
    ("::ffff:169.254.169.254", False),
    ("ff02::1", False),
    ("[::1]", False),
    ("100::1", False),  # discard-only
    ("::ffff:0:7f00:1", False),  # SIIT IPv4-translated 127.0.0.1 (RFC 2765)
    ("::ffff:0:a9fe:a9fe", False),
    ("::ffff:0:808:808", True),
    ("::1:0:0:1", False),  # IETF-reserved ::/8 embedding nothing
    ("::ffff:8.8.8.8", True),
])
def test_every_ipv6_form_that_embeds_ipv4_is_judged_by_the_embedded_address(address, public):
    assert address_is_public(address) is public


def test_dns_rebinding_cannot_steer_the_connection(server, monkeypatch):
    """The name resolves public at first and to loopback afterwards: the guard resolves once, checks
    what it got, and connects to exactly that address, so the loopback server is never reached."""
    answers = iter([["93.184.216.34"], ["127.0.0.1"], ["127.0.0.1"]])
    calls = []
    with Fetcher(FetchLimits(timeout_s=2), resolver=lambda host, port: next(answers)) as fetcher:
        def refuse(host, port, timeout=None, local_address=None, socket_options=None):
            calls.append(host)
            raise httpcore.ConnectError("no route in this test")

        monkeypatch.setattr(fetcher.backend._inner, "connect_tcp", refuse)
        with pytest.raises(FetchError) as info:
            fetcher.get(f"http://rebind.example:{server.host_port.split(':')[1]}/secret")
    assert info.value.reason == "connection"
    assert calls == ["93.184.216.34"]  # the checked address, and only it
    assert server.hits["/secret"] == 0


def test_the_checked_address_is_connected_with_the_original_host_header(server):
    port = server.host_port.split(":")[1]
    server.add("/x", body=b"hello")
    limits = FetchLimits(timeout_s=2, private_allowlist=frozenset({f"news.example:{port}"}))
    with Fetcher(limits, resolver=lambda host, p: ["127.0.0.1"]) as fetcher:
        assert fetcher.get(f"http://news.example:{port}/x").body == b"hello"
    assert server.request_headers["/x"][0]["host"] == f"news.example:{port}"


def test_a_name_with_any_private_address_is_refused_before_connecting(server, monkeypatch):
    with Fetcher(FetchLimits(timeout_s=2), resolver=lambda h, p: ["8.8.8.8", "10.0.0.7"]) as fetcher:
        monkeypatch.setattr(fetcher.backend._inner, "connect_tcp", lambda *a, **k: pytest.fail("connected"))
        with pytest.raises(FetchError) as info:
            fetcher.get("http://mixed.example/")
    assert info.value.reason == "blocked-address" and "10.0.0.7" in str(info.value)


# --- feed bytes -------------------------------------------------------------------------------------------

ARABIC_TITLE = "المغرب يوقع مذكرة تفاهم مع شركة ميسترال في مجال الذكاء الاصطناعي"


def test_one_invalid_byte_does_not_turn_an_arabic_feed_into_mojibake(caplog):
    body = rss(item(ARABIC_TITLE, "http://example.ma/1", summary="وقعت وزارة الانتقال الرقمي مذكرة تفاهم"),
               item("خبر آخر عن الطقس في الرباط", "http://example.ma/2"))
    body = body.replace("الطقس".encode(), b"\xff" + "الطقس".encode())
    with caplog.at_level(logging.WARNING):
        result = parse_entries(body, FEED, content_type="application/rss+xml; charset=utf-8")
    assert result.status == "ok" and result.entries[0].title == ARABIC_TITLE
    assert "\ufffd" in result.entries[1].title  # the bad byte alone is replaced
    assert any("invalid" in w and "UTF-8" in w for w in result.warnings), result.warnings


@pytest.mark.parametrize("content_type", ["application/rss+xml; charset=utf-8", "application/rss+xml", None])
def test_two_stray_latin1_bytes_do_not_turn_a_small_french_feed_into_mojibake(content_type):
    title = "Le Maroc signe un accord avec Mistral sur l'IA générative à Rabat"
    body = rss(item(title, "http://example.ma/1", summary="Le ministère a signé un mémorandum d'entente."),
               item("Météo : journée ensoleillée à Fès", "http://example.ma/2"))
    body = body.replace("Fès".encode(), b"F\xe8s").replace("journée".encode(), b"journ\xe9e")
    if content_type is None:  # nothing declared at all: XML's default, UTF-8
        body = body.replace(b' encoding="utf-8"', b"")
    result = parse_entries(body, FEED, content_type=content_type)
    assert result.status == "ok" and result.entries[0].title == title
    assert result.entries[1].title.startswith("Météo : journ")
    assert any("invalid" in w and "UTF-8" in w for w in result.warnings), result.warnings


def test_a_legacy_feed_without_a_charset_is_still_read_as_legacy():
    body = rss(item("Économie : l'État mise sur l'IA générative à Fès", "http://example.ma/e"),
               encoding="iso-8859-1").replace(b'encoding="iso-8859-1"', b"")
    result = parse_entries(body, FEED)
    assert result.entries[0].title == "Économie : l'État mise sur l'IA générative à Fès"


def test_a_lying_charset_header_is_overruled_and_reported():
    body = rss(item("Le Maroc et l'IA : un accord signé à Rabat", "http://example.ma/fr"))
    result = parse_entries(body, FEED, content_type="application/rss+xml; charset=iso-8859-1")
    assert result.entries[0].title == "Le Maroc et l'IA : un accord signé à Rabat"
    assert any("encoding:" in w and "UTF-8" in w for w in result.warnings)


def test_decoded_feed_keeps_legacy_encodings():
    body = rss(item("Économie : l'État mise sur l'IA", "http://example.ma/e"), encoding="iso-8859-1")
    decoded = decode_feed(body, "text/xml")
    assert decoded.encoding in ("cp1252", "iso8859-1", "latin-1") and "Économie".encode() in decoded.body
    assert b'encoding="utf-8"' in decoded.body[:80]


@pytest.mark.parametrize(("reference", "becomes"), [
    ("&#xD800;", "\ufffd"), ("&#55357;&#56832;", "😀"), ("&#xd83d;&#xde00;", "😀"), ("&#x110000;", "\ufffd"),
    ("&#0;", "\ufffd"), ("&#xDC00;&#xD800;", "\ufffd\ufffd"), ("&#233;", "é"),
    ("&#x00000000D800;", "\ufffd"), ("&#0000000000055357;&#0000000056832;", "😀"), ("&#99999999999;", "\ufffd"),
    ("&#x" + "F" * 5000 + ";", "\ufffd"), ("&#" + "9" * 5000 + ";", "\ufffd"), ("&#x0000000000E9;", "é"),
])
def test_character_references_xml_forbids_are_repaired_not_fatal(reference, becomes):
    raw = f"<item><title>Titre A {reference} fin</title><link>http://example.ma/a</link></item>"
    body = rss(raw, item("Titre B intact", "http://example.ma/b"))
    result = parse_entries(body, FEED)
    assert result.status == "ok" and [e.title for e in result.entries] == [f"Titre A {becomes} fin", "Titre B intact"]


def test_repair_counts_what_it_changed():
    assert repair_char_refs("a &#xD800; b &#65; c") == ("a &#xFFFD; b &#65; c", 1)
    assert repair_char_refs("plain") == ("plain", 0)


def test_a_deeply_nested_document_is_refused_fast_with_a_reason():
    depth = 400_000
    body = rss(item("Titre", "http://example.ma/x")).replace(
        b"</channel>", b"<a>" * depth + b"x" + b"</a>" * depth + b"</channel>")
    assert len(body) > 2_000_000
    started = time.monotonic()
    result = parse_entries(body, FEED)
    assert result.status == "failed" and result.reason == "too-deep" and "deeper than 100" in result.error
    assert time.monotonic() - started < 5


def test_structure_check_ignores_cdata_comments_and_self_closing_tags():
    body = b"<rss><channel>" + b"<br/>" * 500 + b"<![CDATA[" + b"<a>" * 500 + b"]]><!--" + b"<a>" * 500 + \
        b"--></channel></rss>"
    assert structure_problem(body) is None


def test_a_document_that_takes_too_long_to_parse_fails_that_feed(monkeypatch):
    def slow(*args):
        time.sleep(30)

    monkeypatch.setattr(feeds_module, "PARSE_IN_CHILD_BYTES", 0)
    monkeypatch.setattr(feeds_module, "_parse_document", slow)
    started = time.monotonic()
    result = parse_entries(rss(item("Titre", "http://example.ma/x")), FEED, timeout_s=1.0)
    assert result.status == "failed" and result.reason == "parse-timeout" and "1s" in result.error
    assert time.monotonic() - started < 5


@pytest.mark.parametrize("in_child", [False, True])
def test_feedparser_raising_fails_that_feed_alone_with_its_reason(monkeypatch, in_child):
    def crash(*args, **kwargs):
        raise RecursionError("maximum recursion depth exceeded (hostile input)")

    if in_child:
        monkeypatch.setattr(feeds_module, "PARSE_IN_CHILD_BYTES", 0)
    monkeypatch.setattr(feeds_module.feedparser, "parse", crash)
    result = parse_entries(rss(item("Titre", "http://example.ma/x")), FEED)
    assert result.status == "failed" and result.reason == "parse-error"
    assert "feedparser crashed" in result.error and FEED.url in result.error and "RecursionError" in result.error


def test_a_parser_that_dies_in_its_child_fails_that_feed_with_its_exit_status(monkeypatch):
    def die(*args):
        os._exit(7)  # as a segfault or the OOM killer would: no result, no exception

    monkeypatch.setattr(feeds_module, "PARSE_IN_CHILD_BYTES", 0)
    monkeypatch.setattr(feeds_module, "_parse_document", die)
    result = parse_entries(rss(item("Titre", "http://example.ma/x")), FEED)
    assert result.status == "failed" and result.reason == "parse-error"
    assert "the parser died" in result.error and FEED.url in result.error


def test_a_large_document_parsed_in_a_child_gives_the_same_entries(monkeypatch):
    body = rss(*[item(f"Article numéro {i} sur l'intelligence artificielle", f"http://example.ma/{i}")
                 for i in range(50)])
    here = parse_entries(body, FEED)
    monkeypatch.setattr(feeds_module, "PARSE_IN_CHILD_BYTES", 0)
    child = parse_entries(body, FEED)
    assert child.status == "ok" and child.entries == here.entries


def test_entries_with_unfetchable_links_are_kept_with_their_reason():
    body = rss(item("Un lien beaucoup trop long vers une page", LONG_LINK),
               item("Un hôte qui n'est pas un nom valide", "http://xn--zz.example/x"),
               item("Un lien javascript au lieu d'une page", "javascript:alert(1)"),
               item("Une bonne nouvelle avec un lien normal", "http://example.ma/ok"))
    result = parse_entries(body, FEED)
    assert result.status == "ok" and len(result.entries) == 4
    bad = [e for e in result.entries if e.link_error]
    assert [e.link_error.split(":", 1)[0] for e in bad] == ["bad-url"] * 3
    assert all(len(e.link) <= 4000 for e in result.entries)
    assert any("cannot be fetched; kept" in w for w in result.warnings)


def test_aggregator_titles_lose_the_outlet_suffix():
    body = rss('<item><title>Le Maroc signe un accord sur l\'IA avec une start-up - Le360</title>'
               '<link>https://news.google.com/rss/articles/CBMiAbc123def456?oc=5</link>'
               '<source url="https://fr.le360.ma">Le360</source></item>')
    [entry] = parse_entries(body, FEED).entries
    assert entry.title == "Le Maroc signe un accord sur l'IA avec une start-up" and entry.outlet == "fr.le360.ma"


# --- configuration ----------------------------------------------------------------------------------------


def test_a_second_feeds_key_is_an_error_naming_the_lines(tmp_path):
    path = tmp_path / "feeds.yaml"
    path.write_text("feeds:\n  - {name: a, url: 'http://a.example/rss'}\n\nfeeds:\n"
                    "  - {name: b, url: 'http://b.example/rss'}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"feeds.yaml:4: not valid YAML: found duplicate key 'feeds' \(first at line 1\)"):
        load_feeds(path)


def test_a_duplicate_key_inside_an_entry_is_an_error_too(tmp_path):
    path = tmp_path / "feeds.yaml"
    path.write_text("feeds:\n  - name: a\n    url: 'http://a.example/rss'\n    url: 'http://b.example/rss'\n",
                    encoding="utf-8")
    with pytest.raises(ConfigError, match="duplicate key 'url'"):
        load_feeds(path)


# --- property: any entry link through parsing --------------------------------------------------------------


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(links=st.lists(st.text(max_size=120), min_size=1, max_size=5))
def test_property_any_entry_link_parses_to_a_kept_entry_or_a_skip(links):
    items = [item(f"Titre numéro {i} assez long", link) for i, link in enumerate(links)]
    body = rss(*items)
    result = parse_entries(body, FEED)
    assert result.status in ("ok", "failed") and (result.error or result.entries or result.skipped_entries)
    for entry in result.entries:
        assert entry.link_error is None or entry.link_error.startswith("bad-url: ")
        if entry.link_error is None:
            assert normalise_url(entry.link) == entry.link
