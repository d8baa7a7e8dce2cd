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


# --- feeds ---------------------------------------------------------------------------------------

_XML_DECL_RE = re.compile(rb"^\s*<\?xml[^>]{0,200}?encoding\s*=\s*[\"']([A-Za-z0-9_.:\-]+)[\"']", re.I)
_XML_DECL_TEXT_RE = re.compile(r"^(\s*<\?xml[^>]{0,200}?encoding\s*=\s*)([\"'])[A-Za-z0-9_.:\-]+\2", re.I)
#: A document whose non-ASCII characters are at least this share valid UTF-8 sequences is UTF-8 with
#: some bad bytes. Legacy (Latin-1, cp1252, Arabic code page) text almost never forms a valid multi-byte
#: UTF-8 sequence by chance, so valid sequences outnumbering invalid ones already says UTF-8; a small
#: French feed with 10 accented letters and two stray Latin-1 bytes is UTF-8, not cp1252 mojibake.
UTF8_TOLERANCE = 0.6
#: The same when the document itself says it is UTF-8.
DECLARED_UTF8_TOLERANCE = 0.5
#: Fewer valid sequences than this say nothing: detection decides.
UTF8_MIN_VALID = 2
#: Any number of digits: feedparser reads ``&#x00000000D800;`` as U+D800 too. Values are bounded
#: by :func:`_char_ref_value`, so a reference of thousands of digits costs nothing.
_CHARREF_RE = re.compile(r"&#(?:[xX]([0-9a-fA-F]+)|([0-9]+));")
_BEYOND_UNICODE = 0x110000
_REPLACEMENT_REF = "&#xFFFD;"


@dataclass(frozen=True)
class DecodedFeed:
    """Feed text as UTF-8 bytes with a matching XML declaration, ready for feedparser, plus what we
    had to do to get there (an overruled or lying charset, replaced bytes): real problems for the log."""

    body: bytes
    encoding: str
    source: str
    problems: tuple[str, ...] = ()


def _invalid_utf8_share(body: bytes) -> tuple[int, int]:
    """(bytes sequences that are not UTF-8, non-ASCII characters that are) in ``body``."""
    text = body.decode("utf-8", errors="replace")
    bad = text.count("\ufffd") - body.count(b"\xef\xbf\xbd")
    return bad, sum(1 for ch in text if ord(ch) > 127) - bad


def _feed_text(body: bytes, content_type: str | None) -> tuple[str, str, str, list[str]]:
    for bom, encoding in _BOMS:
        if body.startswith(bom):
            return body[len(bom):].decode(encoding, errors="replace"), encoding, "bom", []
    problems: list[str] = []
    candidates: list[tuple[str, str]] = []
    header_label = charset_from_content_type(content_type)
    if header_label:
        candidates.append((header_label, "http"))
    declared = _XML_DECL_RE.match(body[:1024])
    if declared:
        candidates.append((declared.group(1).decode("ascii", "ignore"), "xml"))
    for label, source in candidates:
        codec = _codec(label)
        if codec is None:
            problems.append(f"unknown charset {label!r} declared ({source}); ignored")
            continue
        if (label.lower() in _LATIN1_LABELS or codec == "cp1252") and _valid_utf8_with_non_ascii(body):
            problems.append(f"charset {label!r} declared ({source}) but the bytes are UTF-8; read as UTF-8")
            return body.decode("utf-8"), "utf-8", f"{source}-overruled", problems
        try:
            return body.decode(codec), codec, source, problems
        except UnicodeDecodeError:
            if codec == "utf-8":
                bad, good = _invalid_utf8_share(body)
                if good and good / (good + bad) >= DECLARED_UTF8_TOLERANCE:
                    problems.append(f"declared UTF-8 ({source}) but {bad} invalid byte sequence(s); replaced, "
                                    "the rest read as UTF-8")
                    return body.decode("utf-8", errors="replace"), "utf-8", f"{source}-tolerant", problems
            problems.append(f"charset {label!r} declared ({source}) but the bytes are not {label}")
    if body.isascii() or _valid_utf8_with_non_ascii(body):
        return body.decode("utf-8"), "utf-8", "xml-default", problems
    bad, good = _invalid_utf8_share(body)
    if good >= UTF8_MIN_VALID and good / (good + bad) >= UTF8_TOLERANCE:
        problems.append(f"{bad} invalid UTF-8 byte sequence(s) replaced; the rest of the feed is valid UTF-8")
        return body.decode("utf-8", errors="replace"), "utf-8", "utf-8-tolerant", problems
    best = charset_normalizer.from_bytes(body[:200_000]).best()
    if best is not None and best.encoding:
        try:
            text = body.decode(best.encoding, errors="replace")
        except LookupError:
            pass
        else:
            problems.append(f"no usable charset declared; detected {best.encoding}")
            return text, best.encoding, "detected", problems
    problems.append("charset unknown; decoded as UTF-8 with replacement characters")
    return body.decode("utf-8", errors="replace"), "utf-8", "fallback", problems


def _char_ref_value(hex_digits: str | None, decimal: str | None) -> int:
    """The code point a reference names, or :data:`_BEYOND_UNICODE` for anything larger (leading zeros
    do not count: ``&#0000000000055357;`` is U+D83D); never parses an unbounded number."""
    digits = (hex_digits if hex_digits else decimal or "").lstrip("0") or "0"
    if len(digits) > (6 if hex_digits else 7):
        return _BEYOND_UNICODE
    return min(int(digits, 16 if hex_digits else 10), _BEYOND_UNICODE)


def repair_char_refs(text: str) -> tuple[str, int]:
    """Numeric character references XML forbids, made harmless before parsing: a UTF-16 pair written
    as two references (``&#55357;&#56832;``) becomes the one character it means; a lone surrogate,
    NUL, a C0 control or a code point beyond U+10FFFF becomes U+FFFD. feedparser crashes on the whole
    feed (UnicodeEncodeError) for one of these. Returns the text and how many were repaired."""
    if "&#" not in text:
        return text, 0
    repaired = 0
    pieces: list[str] = []
    last = 0
    pending_high: tuple[int, int] | None = None  # (start of the reference, value)

    for match in _CHARREF_RE.finditer(text):
        code = _char_ref_value(*match.groups())
        bad = 0xD800 <= code <= 0xDFFF or code > 0x10FFFF or (code < 0x20 and code not in (9, 10, 13))
        if not bad:
            continue
        pieces.append(text[last:match.start()])
        last = match.end()
        repaired += 1
        if 0xDC00 <= code <= 0xDFFF and pending_high is not None and pieces[-1] == "":
            high = pending_high[1]
            pieces[-2] = f"&#x{0x10000 + ((high - 0xD800) << 10) + (code - 0xDC00):X};"
            pending_high = None
            continue
        pending_high = (match.start(), code) if 0xD800 <= code <= 0xDBFF else None
        pieces.append(_REPLACEMENT_REF)
    if not repaired:
        return text, 0
    pieces.append(text[last:])
    return "".join(pieces), repaired


def decode_feed(body: bytes, content_type: str | None = None) -> DecodedFeed:
    """Decode feed bytes ourselves (BOM, HTTP charset, XML declaration, then a tolerant UTF-8 read
    when the document is overwhelmingly UTF-8, then detection) and hand feedparser UTF-8 it cannot
    misread: one invalid byte in one item no longer makes it decode a whole Arabic feed as another
    charset. Never raises."""
    text, encoding, source, problems = _feed_text(body, content_type)
    text, repaired = repair_char_refs(text)
    if repaired:
        problems.append(f"{repaired} invalid numeric character reference(s) (surrogates, NUL, controls) repaired")
    text = _XML_DECL_TEXT_RE.sub(lambda m: f"{m.group(1)}{m.group(2)}utf-8{m.group(2)}", text, count=1)
    return DecodedFeed(text.encode("utf-8", errors="replace"), encoding, source, tuple(problems))
