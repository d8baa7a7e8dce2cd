"""Canonical URLs: the identity of an article across runs and feeds.

Feeds decorate links with tracking parameters, switch between http and https, add or drop
``www.`` and reorder query strings; all of these must map to one key or the same story is
stored (and later alerted) twice.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from urllib.parse import parse_qsl, quote, unquote, urlencode, urljoin, urlsplit, urlunsplit

import idna

# Query parameters that only track the reader and never select content.
_TRACKING_EXACT = {
    "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "igshid", "mc_cid", "mc_eid",
    "_ga", "_gl", "_hsenc", "_hsmi", "mkt_tok", "ocid", "cmpid", "xtor", "ref_src", "ref_url",
    "spm", "share", "s_cid", "ito", "icid", "oly_enc_id", "oly_anon_id", "vero_id", "wt_mc", "twclid",
    "ttclid", "sc_cid", "cid_source", "rss", "from_rss", "feed", "outputtype",
}
_TRACKING_PREFIXES = ("utm_", "at_", "ns_", "pk_", "mtm_", "hsa_", "__s")

_DEFAULT_PORTS = {"http": 80, "https": 443}
MAX_KEY_CHARS = 1000
_SAFE_PATH = "/:@!$&'()*+,;=-._~%"


def _is_tracking(name: str) -> bool:
    lowered = name.lower()
    return lowered in _TRACKING_EXACT or lowered.startswith(_TRACKING_PREFIXES)


def _normalise_path(path: str) -> str:
    # Decode then re-encode so that %7E and ~, or é and %C3%A9, give the same key.
    path = quote(unquote(path), safe=_SAFE_PATH)
    path = re.sub(r"/{2,}", "/", path)
    return path or "/"


def clean_url(url: str) -> str:
    """The URL to fetch: trimmed, host lowercased, fragment and tracking parameters removed.

    Never raises: a URL too broken to take apart is returned trimmed (``normalise_url`` is what
    refuses such URLs, with a reason; this is only the canonical form of what it accepted)."""
    try:
        return _clean_url(url)
    except ValueError:
        return url.strip()


def _clean_url(url: str) -> str:
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower().rstrip(".")
    try:
        host = host.encode("idna").decode("ascii") if host and not host.isascii() else host
    except UnicodeError:
        pass
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    port = parts.port if parts.port and parts.port != _DEFAULT_PORTS.get(scheme) else None
    netloc = f"{host}:{port}" if port else host
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _is_tracking(k)]
    return urlunsplit((scheme, netloc, _normalise_path(parts.path), urlencode(query, doseq=True), ""))


def url_key(url: str) -> str:
    """Scheme- and www-agnostic identity of a URL, with sorted query parameters (never raises)."""
    try:
        parts = urlsplit(clean_url(url))
    except ValueError:
        return _bounded_key("invalid:" + url.strip())
    host = parts.netloc.removeprefix("www.")
    query = urlencode(sorted(parse_qsl(parts.query, keep_blank_values=True)))
    path = parts.path.rstrip("/") or "/"
    return _bounded_key(f"{host}{path}" + (f"?{query}" if query else ""))


def _bounded_key(key: str) -> str:
    if len(key) > MAX_KEY_CHARS:  # keep the unique index within PostgreSQL's btree limits
        key = key[: MAX_KEY_CHARS - 41] + "#" + hashlib.sha1(key.encode("utf-8", "surrogatepass")).hexdigest()
    return key


def host_of(url: str) -> str:
    """Lowercased host without ``www.``; the outlet key used for per-outlet duplicate checks."""
    try:
        return (urlsplit(url.strip()).hostname or "").lower().removeprefix("www.")
    except ValueError:
        return ""


def is_http_url(url: str | None) -> bool:
    """An http(s) URL that :func:`normalise_url` accepts (so it can really be fetched or linked to)."""
    if not url or not isinstance(url, str):
        return False
    try:
        normalise_url(url)
    except BadURL:
        return False
    return True


# --- validation where URLs enter: feed entries, redirect targets ---------------------------------

#: Longest URL we fetch. Real article URLs stay far below; httpx itself refuses 65,536 characters.
MAX_URL_CHARS = 4096
_STRIP = "".join(chr(c) for c in range(0x21))  # C0 controls and space, stripped at both ends (WHATWG)
_TAB_NEWLINE_RE = re.compile("[\t\n\r]")
_CONTROL_RE = re.compile("[\x00-\x1f\x7f]")
_SCHEME_RE = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*):")
_HOST_LABEL_RE = re.compile(r"^[a-z0-9_](?:[a-z0-9_\-]{0,61}[a-z0-9_])?$")
_USERINFO_RE = re.compile(r"(?<=://)[^/?#@\s]+@")


class BadURL(ValueError):
    """A URL that cannot be fetched; ``why`` says what is wrong with it, in words."""

    def __init__(self, url: str, why: str) -> None:
        self.url = url
        self.why = why
        super().__init__(f"bad-url: {why}: {shorten(redact(url))}")


def shorten(text: str, limit: int = 200) -> str:
    """A long value for a log line: its start, and how long it really was."""
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text):,} characters)"


def redact(text: str) -> str:
    """``text`` with the credentials of any URL in it hidden (``http://user:pass@host`` -> ``http://***@host``)."""
    return _USERINFO_RE.sub("***@", text) if "@" in text else text


def _host(host: str, url: str) -> str:
    """The host in the ASCII form httpx will send (IDNA), or BadURL."""
    if host.startswith("[") or ":" in host:
        try:
            return f"[{ipaddress.IPv6Address(host.strip('[]').split('%', 1)[0])}]"
        except ValueError:
            raise BadURL(url, "invalid IPv6 address") from None
    if not host.isascii():
        try:
            host = idna.encode(host, uts46=True).decode("ascii")
        except (idna.IDNAError, UnicodeError, ValueError) as exc:
            raise BadURL(url, f"host is not a valid internationalised name ({exc})") from None
    if len(host) > 253:
        raise BadURL(url, "host name longer than 253 characters")
    for label in host.split("."):
        if not _HOST_LABEL_RE.match(label):
            raise BadURL(url, f"invalid host name label {label[:70]!r}")
        if label.startswith("xn--"):
            try:
                idna.decode(label)
            except (idna.IDNAError, UnicodeError, ValueError) as exc:
                raise BadURL(url, f"host label {label!r} is not valid IDNA ({exc})") from None
    return host


def normalise_url(raw: object, base: str | None = None) -> str:
    """The fetchable form of a URL from untrusted input, or :class:`BadURL` saying why there is none.

    Done once, where a URL enters (a feed entry's link, a redirect's ``Location``), the way a browser
    reads it: surrounding spaces and controls dropped, tabs and newlines removed, backslashes read as
    slashes, resolved against ``base``. Then refused unless it is http(s) with a valid host and port,
    within :data:`MAX_URL_CHARS`, and something httpx can send.
    """
    if not isinstance(raw, str):
        raise BadURL(repr(raw)[:200], f"not a string ({type(raw).__name__})")
    url = _TAB_NEWLINE_RE.sub("", raw.strip(_STRIP))
    if not url:
        raise BadURL(raw, "empty")
    if len(url) > MAX_URL_CHARS:
        raise BadURL(url, f"longer than {MAX_URL_CHARS} characters")
    if _CONTROL_RE.search(url):
        raise BadURL(url, "control characters")
    try:
        url.encode("utf-8")
    except UnicodeEncodeError:
        raise BadURL(url, "not valid Unicode (lone surrogate)") from None
    # Special schemes read "\\" as "/" before the query (WHATWG URL), and any number of slashes
    # after "http:" as the start of the host: "http:\\\\127.0.0.1/x" is http://127.0.0.1/x to a browser.
    head, sep, tail = url.partition("?") if "?" in url.split("#", 1)[0] else url.partition("#")
    scheme_match = _SCHEME_RE.match(head)
    if scheme_match is None or scheme_match.group(1).lower() in ("http", "https"):
        head = head.replace("\\", "/")
        if scheme_match is not None:
            scheme = scheme_match.group(1).lower()
            head = f"{scheme}://" + head[scheme_match.end():].lstrip("/")
    url = head + sep + tail
    if base is not None and _SCHEME_RE.match(url) is None:
        try:
            url = urljoin(base, url)
        except ValueError as exc:
            raise BadURL(url, f"cannot be resolved against {shorten(redact(base), 100)} ({exc})") from None
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise BadURL(url, f"malformed ({exc})") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise BadURL(url, f"scheme {scheme[:20]!r} is not fetched (only http and https)" if scheme
                     else "relative URL with nothing to resolve it against")
    if not parts.hostname:
        raise BadURL(url, "no host")
    if port == 0:
        raise BadURL(url, "port 0")
    host = _host(parts.hostname.rstrip("."), url)
    userinfo = parts.netloc.rpartition("@")[0]
    netloc = (f"{userinfo}@" if userinfo else "") + host + (f":{port}" if port is not None else "")
    path = quote(parts.path, safe=_SAFE_PATH) or "/"
    query = quote(parts.query, safe=_SAFE_PATH + "?/")
    url = urlunsplit((scheme, netloc, path, query, ""))
    if len(url) > MAX_URL_CHARS:
        raise BadURL(url, f"longer than {MAX_URL_CHARS} characters once encoded")
    try:
        import httpx

        httpx.URL(url)
    except Exception as exc:  # whatever httpx would refuse at request time, refused here with its reason
        raise BadURL(url, f"{type(exc).__name__}: {exc}"[:200]) from None
    return url
