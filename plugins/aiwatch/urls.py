"""Canonical URLs: the identity of an article across runs and feeds.

Feeds decorate links with tracking parameters, switch between http and https, add or drop
``www.`` and reorder query strings; all of these must map to one key or the same story is
stored (and later alerted) twice.
"""

from __future__ import annotations

import hashlib
import re
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

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
    """The URL to fetch: trimmed, host lowercased, fragment and tracking parameters removed."""
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
    """Scheme- and www-agnostic identity of a URL, with sorted query parameters."""
    parts = urlsplit(clean_url(url))
    host = parts.netloc.removeprefix("www.")
    query = urlencode(sorted(parse_qsl(parts.query, keep_blank_values=True)))
    path = parts.path.rstrip("/") or "/"
    key = f"{host}{path}" + (f"?{query}" if query else "")
    if len(key) > MAX_KEY_CHARS:  # keep the unique index within PostgreSQL's btree limits
        key = key[: MAX_KEY_CHARS - 41] + "#" + hashlib.sha1(key.encode()).hexdigest()
    return key


def host_of(url: str) -> str:
    """Lowercased host without ``www.``; the outlet key used for per-outlet duplicate checks."""
    return (urlsplit(url.strip()).hostname or "").lower().removeprefix("www.")


def is_http_url(url: str | None) -> bool:
    if not url:
        return False
    parts = urlsplit(url.strip())
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)
