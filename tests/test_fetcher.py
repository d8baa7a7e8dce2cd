"""The safe fetcher against a misbehaving local web: every fault ends in a clear FetchError."""

import time

import pytest
from aiwatch.devserver import Route
from aiwatch.fetcher import Fetcher, FetchError, FetchLimits, address_is_public, parse_retry_after


def fetcher(server, **limits):
    base = dict(timeout_s=3.0, connect_timeout_s=2.0, max_bytes=200_000, max_redirects=4,
                private_allowlist=frozenset({server.host_port}))
    base.update(limits)
    return Fetcher(FetchLimits(**base))


@pytest.mark.parametrize(("address", "public"), [
    ("8.8.8.8", True), ("196.200.1.1", True), ("2a00:1450:4007:80e::200e", True),
    ("127.0.0.1", False), ("127.8.9.10", False), ("10.1.2.3", False), ("172.16.0.1", False),
    ("192.168.1.1", False), ("169.254.169.254", False), ("100.64.0.1", False), ("0.0.0.0", False),
    ("::1", False), ("fe80::1", False), ("fd00:ec2::254", False), ("::ffff:127.0.0.1", False),
    ("::ffff:10.0.0.1", False), ("224.0.0.1", False), ("not-an-ip", False),
])
def test_address_classification(address, public):
    assert address_is_public(address) is public


def test_retry_after_parsing():
    assert parse_retry_after("120") == 120
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412480 - 60) == pytest.approx(60, abs=1)
    assert parse_retry_after("soon") is None
    assert parse_retry_after("999999") == 86400


def test_ok_and_user_agent(server):
    server.add("/a", body=b"<html>hello</html>")
    with fetcher(server) as f:
        response = f.get(server.url("/a"))
    assert response.status == 200 and response.body == b"<html>hello</html>"
    assert "MoroccoAIWatch" in server.request_headers["/a"][0]["user-agent"]


def test_guard_refuses_loopback_unless_allowed(server):
    server.add("/a", body=b"x")
    with Fetcher(FetchLimits(timeout_s=2)) as f, pytest.raises(FetchError) as info:
        f.get(server.url("/a"))
    assert info.value.reason == "blocked-address" and "WATCH_ALLOW_PRIVATE_NETWORKS" in str(info.value)
    assert server.hits["/a"] == 0
    with Fetcher(FetchLimits(timeout_s=2, allow_private=True)) as f:
        assert f.get(server.url("/a")).body == b"x"


def test_guard_applies_to_every_redirect_hop(server):
    # The first hop is allowed (allow-listed), the redirect goes to another loopback address.
    port = server.host_port.split(":")[1]
    server.add("/hop", redirect_to=f"http://127.0.0.2:{port}/secret")
    server.add("/meta", redirect_to="http://169.254.169.254/latest/meta-data/")
    with fetcher(server) as f:
        for path in ("/hop", "/meta"):
            with pytest.raises(FetchError) as info:
                f.get(server.url(path))
            assert info.value.reason == "blocked-address"
    assert server.hits["/secret"] == 0


def test_guard_uses_resolved_addresses():
    resolver = lambda host, port: ["10.0.0.5"]  # noqa: E731 - a DNS answer pointing inside
    with Fetcher(FetchLimits(timeout_s=2), resolver=resolver) as f, pytest.raises(FetchError) as info:
        f.get("http://innocent.example/")
    assert info.value.reason == "blocked-address" and "10.0.0.5" in str(info.value)


def test_scheme_is_checked():
    with Fetcher(FetchLimits()) as f:
        for url in ("file:///etc/passwd", "ftp://x.example/", "gopher://x/"):
            with pytest.raises(FetchError) as info:
                f.get(url)
            assert info.value.reason == "bad-url"


def test_redirects_followed_loops_and_limits(server):
    server.add("/r1", redirect_to="/r2", status=301)
    server.add("/r2", redirect_to="/final", status=307)
    server.add("/final", body=b"done")
    server.add("/loop-a", redirect_to="/loop-b")
    server.add("/loop-b", redirect_to="/loop-a")
    for i in range(10):
        server.add(f"/chain{i}", redirect_to=f"/chain{i + 1}")
    with fetcher(server) as f:
        response = f.get(server.url("/r1"))
        assert response.body == b"done" and response.final_url.endswith("/final")
        with pytest.raises(FetchError) as info:
            f.get(server.url("/loop-a"))
        assert info.value.reason == "redirect-loop"
        with pytest.raises(FetchError) as info:
            f.get(server.url("/chain0"))
        assert info.value.reason == "too-many-redirects"


def test_http_errors_carry_status_and_retry_after(server):
    server.add("/500", status=500, body=b"boom")
    server.add("/429", status=429, headers={"Retry-After": "90"})
    server.add("/404", status=404)
    with fetcher(server) as f:
        with pytest.raises(FetchError) as info:
            f.get(server.url("/500"))
        assert (info.value.reason, info.value.status, info.value.transient) == ("http-500", 500, True)
        with pytest.raises(FetchError) as info:
            f.get(server.url("/429"))
        assert info.value.retry_after == 90 and info.value.status == 429
        with pytest.raises(FetchError) as info:
            f.get(server.url("/404"))
        assert not info.value.transient


def test_size_caps_declared_and_streamed(server):
    server.add("/big", body=b"x" * 300_000)
    server.add("/liar", body=b"x" * 300_000, declared_length=300_000)
    server.add("/endless", endless=True, endless_cap_s=10)
    with fetcher(server) as f:
        for path in ("/big", "/liar", "/endless"):
            with pytest.raises(FetchError) as info:
                f.get(server.url(path))
            assert info.value.reason == "too-large", path


def test_gzip_bomb_is_capped_after_decompression(server):
    import gzip

    bomb = gzip.compress(b"\0" * 5_000_000)
    server.add("/bomb", body=bomb, headers={"Content-Encoding": "gzip"})
    with fetcher(server) as f, pytest.raises(FetchError) as info:
        f.get(server.url("/bomb"))
    assert info.value.reason == "too-large"


def test_timeouts_slow_headers_and_dripping_body(server):
    server.add("/slow", delay_s=5, body=b"late")
    server.add("/drip", drip_interval_s=0.05, body=b"<html>" + b"." * 5000, endless_cap_s=10)
    with fetcher(server, timeout_s=1.0, connect_timeout_s=1.0) as f:
        for path in ("/slow", "/drip"):
            started = time.monotonic()
            with pytest.raises(FetchError) as info:
                f.get(server.url(path))
            assert info.value.reason == "timeout", path
            assert time.monotonic() - started < 3.5


def test_connection_refused_is_clear():
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    with Fetcher(FetchLimits(timeout_s=2, allow_private=True)) as f, pytest.raises(FetchError) as info:
        f.get(f"http://127.0.0.1:{port}/")
    assert info.value.reason == "connection"


def test_conditional_get_returns_304(server):
    server.add("/feed", Route(body=b"<rss/>", etag='"v1"'))
    with fetcher(server) as f:
        assert f.get(server.url("/feed")).status == 200
        assert f.get(server.url("/feed"), {"If-None-Match": '"v1"'}).status == 304
