"""Charset handling for MANSCDP bodies (GB/T 28181-2022 §6.10; 2016 said GB2312).

Devices send GB2312, GBK, GB18030 or UTF-8, and sometimes declare one and send another.
The decoder trusts the bytes over the declaration, never loses a byte (``raw`` is kept)
and reports which codec it actually used.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from xueliang.gb28181.errors import CharsetError

__all__ = ["DecodedBody", "GB_FAMILY", "decode_body", "encode_xml", "normalise_encoding"]

GB_FAMILY = frozenset({"gb2312", "gbk", "gb18030", "cp936", "euc-cn", "hz-gb-2312"})
_DECLARATION = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9_.:\-]+)["']""")


def normalise_encoding(name: str) -> str:
    """``GB2312``/``gb_2312``/``UTF8`` → ``gb2312``/``utf-8``; unknown names lower-cased."""
    lower = name.strip().lower().replace("_", "").replace(" ", "")
    aliases = {"utf8": "utf-8", "gb2312": "gb2312", "gbk": "gbk", "gb18030": "gb18030",
               "cp936": "gbk", "euccn": "gb2312", "x-gbk": "gbk", "us-ascii": "ascii"}  # fmt: skip
    return aliases.get(lower, lower)


@dataclass(frozen=True, slots=True)
class DecodedBody:
    """A decoded body: ``text`` came from ``raw`` with the codec ``encoding``.

    ``declared`` is the XML declaration's encoding (normalised) or None; ``mismatch`` is
    True when the bytes were not in the declared charset.
    """

    text: str
    encoding: str
    declared: str | None
    raw: bytes

    @property
    def mismatch(self) -> bool:
        if self.declared is None or self.encoding == "ascii":
            return False
        declared_gb = self.declared in GB_FAMILY
        return declared_gb != (self.encoding == "gb18030")


def _try(raw: bytes, codec: str) -> str | None:
    try:
        return raw.decode(codec)
    except UnicodeDecodeError:
        return None


def _cjk_ratio(text: str) -> float:
    """Share of the non-ASCII characters that are CJK (ideographs, punctuation, full-width)."""
    wide = [c for c in text if ord(c) > 0x7F]
    if not wide:
        return 0.0
    cjk = sum(
        1
        for c in wide
        if 0x2E80 <= ord(c) <= 0x9FFF or 0xF900 <= ord(c) <= 0xFAFF or 0xFF00 <= ord(c) <= 0xFFEF
    )
    return cjk / len(wide)


def decode_body(raw: bytes) -> DecodedBody:
    """Decode a MANSCDP body by its declaration, falling back by validity.

    Rules (GB/T 28181-2022 §6.10 and field practice):

    1. Pure ASCII decodes as ASCII whatever is declared.
    2. Bytes valid as both strict UTF-8 and GB18030 (whatever the declaration says): the
       reading with more CJK text wins, UTF-8 on a tie. UTF-8 Chinese read as GB is mojibake,
       and short GB text that happens to be valid UTF-8 reads as Latin letters.
    3. Otherwise the declared charset (GB2312/GBK read as their superset GB18030), then
       strict UTF-8, then GB18030.

    Raises :class:`CharsetError` carrying ``raw`` when nothing decodes strictly.
    """
    match = _DECLARATION.match(raw)
    declared = normalise_encoding(match.group(1).decode("ascii")) if match else None
    if raw.isascii():
        return DecodedBody(raw.decode("ascii"), "ascii", declared, raw)
    utf8, gb = _try(raw, "utf-8"), _try(raw, "gb18030")
    if utf8 is not None and gb is not None:
        if _cjk_ratio(gb) > _cjk_ratio(utf8):
            return DecodedBody(gb, "gb18030", declared, raw)
        return DecodedBody(utf8, "utf-8", declared, raw)
    if declared in GB_FAMILY:
        order = ["gb18030", "utf-8"]
    elif declared in (None, "utf-8"):
        order = ["utf-8", "gb18030"]
    else:
        order = [declared, "utf-8", "gb18030"]
    for codec in order:
        try:
            text = raw.decode(codec)
        except (UnicodeDecodeError, LookupError):
            continue
        return DecodedBody(text, codec, declared, raw)
    raise CharsetError(
        f"body is neither UTF-8 nor GB18030 (declared {declared or 'nothing'})", raw=raw
    )


def encode_xml(text: str, encoding: str) -> bytes:
    """Encode an XML document; characters the charset lacks become ``&#N;`` references.

    That keeps e.g. a rare name lossless in a GB2312 body (the text must not contain the
    characters in markup names, which MANSCDP never does).
    """
    codec = normalise_encoding(encoding)
    try:
        return text.encode(codec, "xmlcharrefreplace")
    except LookupError:
        raise CharsetError(f"unknown encoding {encoding!r}") from None
