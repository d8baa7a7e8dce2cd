"""Turn page bytes into text ourselves, so French and Arabic never come out as mojibake.

Order of evidence: a byte-order mark, then the HTTP charset, then ``<meta charset>`` /
``http-equiv``, then statistical detection. Servers often label UTF-8 pages as ISO-8859-1
(a web server default); a latin-1 label on bytes that are valid UTF-8 with non-ASCII
characters is therefore overruled, since the reverse accident (latin-1 bytes that happen to
be valid UTF-8) is vanishingly rare for real text.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

import charset_normalizer

_BOMS = [
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
]
_HEADER_CHARSET_RE = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9_.:\-]+)", re.I)
_META_CHARSET_RE = re.compile(rb"<meta[^>]{0,200}?charset\s*=\s*[\"']?\s*([A-Za-z0-9_.:\-]+)", re.I)
_LATIN1_LABELS = {"iso-8859-1", "latin-1", "latin1", "iso8859-1", "windows-1252", "cp1252", "us-ascii", "ascii"}


@dataclass(frozen=True)
class Decoded:
    text: str
    encoding: str
    source: str  # bom | http | meta | detected | fallback


def _codec(label: str | None) -> str | None:
    if not label:
        return None
    try:
        name = codecs.lookup(label.strip().lower()).name
    except LookupError:
        return None
    # Browsers treat latin-1 labels as windows-1252 (a superset with curly quotes and the euro sign).
    return "cp1252" if name in {"latin_1", "iso8859-1", "ascii"} else name


def charset_from_content_type(content_type: str | None) -> str | None:
    match = _HEADER_CHARSET_RE.search(content_type or "")
    return match.group(1) if match else None


def _valid_utf8_with_non_ascii(body: bytes) -> bool:
    if body.isascii():
        return False
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def decode_bytes(body: bytes, content_type: str | None = None) -> Decoded:
    """Decode an HTML (or any text) body; never raises, always returns text."""
    for bom, encoding in _BOMS:
        if body.startswith(bom):
            return Decoded(body[len(bom):].decode(encoding, errors="replace"), encoding, "bom")

    candidates: list[tuple[str, str]] = []
    header_label = charset_from_content_type(content_type)
    if header_label:
        candidates.append((header_label, "http"))
    meta = _META_CHARSET_RE.search(body[:4096])
    if meta:
        candidates.append((meta.group(1).decode("ascii", "ignore"), "meta"))

    for label, source in candidates:
        codec = _codec(label)
        if codec is None:
            continue
        if (label.lower() in _LATIN1_LABELS or codec == "cp1252") and _valid_utf8_with_non_ascii(body):
            return Decoded(body.decode("utf-8"), "utf-8", f"{source}-overruled")
        try:
            return Decoded(body.decode(codec), codec, source)
        except UnicodeDecodeError:
            continue  # the label lies; try the next piece of evidence

    if body.isascii() or _valid_utf8_with_non_ascii(body):
        return Decoded(body.decode("utf-8"), "utf-8", "detected")
    best = charset_normalizer.from_bytes(body[:200_000]).best()
    if best is not None and best.encoding:
        try:
            return Decoded(body.decode(best.encoding, errors="replace"), best.encoding, "detected")
        except LookupError:
            pass
    return Decoded(body.decode("utf-8", errors="replace"), "utf-8", "fallback")
