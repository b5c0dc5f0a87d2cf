"""SIP messages: model, parser and serialiser (RFC 3261 §7, §8.2.6, §18.3, §19.1, §20, §25).

The grammar is the one devices really send: compact header names, folded lines, odd
whitespace, bare LF line ends, several Via in one line or many. Header text is decoded as
UTF-8 with ``surrogateescape``, so raw control bytes and invalid UTF-8 survive a round trip
byte for byte. Messages are frozen: ``with_header`` and friends return new ones.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Self, TypeAlias

from xueliang.gb28181.errors import MessageTooLarge, ParseError

__all__ = [
    "BRANCH_MAGIC_COOKIE",
    "DEFAULT_MAX_MESSAGE_SIZE",
    "REASON_PHRASES",
    "AbsoluteUri",
    "Address",
    "CSeq",
    "NameAddr",
    "Params",
    "SipMessage",
    "SipRequest",
    "SipResponse",
    "SipUri",
    "Via",
    "canonical_name",
    "make_response",
    "parse_message",
    "parse_uri",
    "response_address",
    "salvage_error_response",
    "split_header_list",
    "stamp_received",
]

DEFAULT_MAX_MESSAGE_SIZE = 64 * 1024
SIP_VERSION = "SIP/2.0"
BRANCH_MAGIC_COOKIE = "z9hG4bK"  # RFC 3261 §8.1.1.7
CSEQ_LIMIT = 2**31  # RFC 3261 §8.1.1.5: the sequence number MUST be less than 2**31
DELTA_SECONDS_LIMIT = 2**32 - 1

Address: TypeAlias = tuple[str, int]
Header: TypeAlias = tuple[str, str]
Params: TypeAlias = tuple[tuple[str, str | None], ...]

# RFC 3261 §7.3.3 plus the compact forms registered since (RFC 3265, 3515, 3841, 3892, 4028).
COMPACT_FORMS = {
    "a": "Accept-Contact", "b": "Referred-By", "c": "Content-Type", "d": "Request-Disposition",
    "e": "Content-Encoding", "f": "From", "i": "Call-ID", "j": "Reject-Contact", "k": "Supported",
    "l": "Content-Length", "m": "Contact", "n": "Identity-Info", "o": "Event", "r": "Refer-To",
    "s": "Subject", "t": "To", "u": "Allow-Events", "v": "Via", "x": "Session-Expires",
    "y": "Identity",
}  # fmt: skip
_KNOWN = (
    "Accept", "Accept-Encoding", "Accept-Language", "Alert-Info", "Allow", "Authentication-Info",
    "Authorization", "Call-ID", "Call-Info", "Contact", "Content-Disposition", "Content-Encoding",
    "Content-Language", "Content-Length", "Content-Type", "CSeq", "Date", "Error-Info", "Event",
    "Expires", "From", "In-Reply-To", "Max-Forwards", "MIME-Version", "Min-Expires",
    "Organization", "Priority", "Proxy-Authenticate", "Proxy-Authorization", "Proxy-Require",
    "Record-Route", "Reply-To", "Require", "Retry-After", "Route", "Server", "Subject",
    "Subscription-State", "Supported", "Timestamp", "To", "Unsupported", "User-Agent", "Via",
    "Warning", "WWW-Authenticate", "X-GB-Ver",
)  # fmt: skip
_CANONICAL = {name.lower(): name for name in _KNOWN}
# RFC 3261 §7.3.1: headers whose values may be joined by commas on one line.
LIST_HEADERS = frozenset(
    {"via", "contact", "route", "record-route", "allow", "supported", "require",
     "proxy-require", "unsupported", "accept", "accept-encoding", "accept-language"}
)  # fmt: skip
# RFC 4475 §3.3.8: these appear at most once.
SINGLE_HEADERS = frozenset(
    {"call-id", "cseq", "from", "to", "max-forwards", "content-length", "content-type", "expires"}
)
_REQUIRED = ("Via", "From", "To", "Call-ID", "CSeq")  # RFC 3261 §8.1.1, §8.2.6.2

REASON_PHRASES = {
    100: "Trying", 180: "Ringing", 181: "Call Is Being Forwarded", 182: "Queued",
    183: "Session Progress", 200: "OK", 202: "Accepted", 301: "Moved Permanently",
    302: "Moved Temporarily", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden",
    404: "Not Found", 405: "Method Not Allowed", 406: "Not Acceptable",
    407: "Proxy Authentication Required", 408: "Request Timeout", 410: "Gone",
    413: "Request Entity Too Large", 415: "Unsupported Media Type",
    416: "Unsupported URI Scheme", 420: "Bad Extension", 423: "Interval Too Brief",
    480: "Temporarily Unavailable", 481: "Call/Transaction Does Not Exist",
    482: "Loop Detected", 483: "Too Many Hops", 486: "Busy Here", 487: "Request Terminated",
    488: "Not Acceptable Here", 500: "Server Internal Error", 501: "Not Implemented",
    503: "Service Unavailable", 504: "Server Time-out", 505: "Version Not Supported",
    513: "Message Too Large", 600: "Busy Everywhere", 603: "Decline",
}  # fmt: skip

# RFC 3261 §25.1: token = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~")
_TOKEN = re.compile(r"[A-Za-z0-9\-.!%*_+`'~]+")
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+\-.]*):(.*)", re.S)
_HOST = re.compile(r"\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_\-.]+")
_HEADER_END = re.compile(rb"\r?\n\r?\n")
_VERSION = re.compile(r"SIP/(\d+)\.(\d+)", re.I)
_RESPONSE_LINE = re.compile(r"(SIP/\d+\.\d+) (\d+)(?: (.*))?", re.I | re.S)
_VIA = re.compile(
    r"\s*([^\s/]+)\s*/\s*([^\s/]+)\s*/\s*([^\s/]+)\s+(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_\-.]+)"
    r"(?:\s*:\s*(\d{1,5}))?\s*(?:;(.*))?",
    re.S,
)
_CSEQ = re.compile(r"\s*(\d+)\s+(\S+)\s*")
_WS = re.compile(r"\s")
# display-name = *(token LWS) (RFC 3261 §25.1); non-ASCII letters tolerated for devices.
_DISPLAY_WORD = re.compile(r"(?:[A-Za-z0-9\-.!%*_+`'~]|[^\x00-\x7f])+")


def canonical_name(name: str) -> str:
    """The canonical spelling of a header name; compact forms expand (RFC 3261 §7.3.3)."""
    lower = name.lower()
    if len(lower) == 1 and lower in COMPACT_FORMS:
        return COMPACT_FORMS[lower]
    return _CANONICAL.get(lower, name)


def is_token(text: str) -> bool:
    """True if ``text`` is an RFC 3261 §25.1 token."""
    return _TOKEN.fullmatch(text) is not None


# ---------------------------------------------------------------------------------- scanners


def _split_outside(text: str, sep: str, *, angle: bool) -> list[str]:
    """Split on ``sep`` outside quoted strings (and ``<...>`` if ``angle``); RFC 3261 §7.3.1."""
    parts: list[str] = []
    start, i, depth, quoted = 0, 0, 0, False
    while i < len(text):
        ch = text[i]
        if quoted:
            if ch == "\\":
                i += 1
            elif ch == '"':
                quoted = False
        elif ch == '"':
            quoted = True
        elif angle and ch == "<":
            depth += 1
        elif angle and ch == ">":
            depth = max(depth - 1, 0)
        elif ch == sep and depth == 0:
            parts.append(text[start:i])
            start = i + 1
        i += 1
    if quoted:
        raise ParseError("unterminated quoted string")
    parts.append(text[start:])
    return parts


def split_header_list(value: str) -> list[str]:
    """Split a comma-joined header value into its elements (RFC 3261 §7.3.1)."""
    parts = [p.strip(" \t") for p in _split_outside(value, ",", angle=True)]
    if any(not p for p in parts):
        raise ParseError(f"empty element in header list: {value!r}")
    return parts


def _unquote(text: str) -> str:
    """Remove the quotes and quoted-pair escapes of an RFC 3261 §25.1 quoted-string."""
    if len(text) >= 2 and text[0] == '"' and text[-1] == '"':
        return re.sub(r"\\(.)", r"\1", text[1:-1], flags=re.S)
    return text


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def parse_params(text: str) -> Params:
    """Parse ``name[=value]`` items separated by ``;`` (generic-param, RFC 3261 §25.1).

    Whitespace around ``;`` and ``=`` is tolerated (RFC 4475 §3.1.1.1); quoted values keep
    their quotes so they serialise back unchanged. An empty parameter is an error.
    """
    params: list[tuple[str, str | None]] = []
    for piece in _split_outside(text, ";", angle=False):
        name, eq, value = piece.partition("=")
        name, value = name.strip(" \t"), value.strip(" \t")
        if not is_token(name) or (eq and not value):
            raise ParseError(f"bad parameter {piece!r}")
        params.append((name, value if eq else None))
    return tuple(params)


def _param(params: Params, name: str) -> str | None:
    lower = name.lower()
    for key, value in params:
        if key.lower() == lower:
            return _unquote(value) if value is not None else None
    return None


def _has_param(params: Params, name: str) -> bool:
    return any(key.lower() == name.lower() for key, _ in params)


def _set_param(params: Params, name: str, value: str | None) -> Params:
    """Set a parameter, keeping its position if it is already there."""
    if _has_param(params, name):
        return tuple((k, value) if k.lower() == name.lower() else (k, v) for k, v in params)
    return (*params, (name, value))


def _format_params(params: Params) -> str:
    return "".join(f";{k}" if v is None else f";{k}={v}" for k, v in params)


# -------------------------------------------------------------------------------------- URIs


@dataclass(frozen=True, slots=True)
class SipUri:
    """A ``sip:`` or ``sips:`` URI (RFC 3261 §19.1.1). Escapes are kept as sent."""

    host: str
    user: str | None = None
    password: str | None = None
    port: int | None = None
    params: Params = ()
    headers: tuple[tuple[str, str], ...] = ()
    scheme: str = "sip"

    def __post_init__(self) -> None:
        if self.scheme.lower() not in ("sip", "sips"):
            raise ParseError(f"not a SIP URI scheme: {self.scheme!r}")
        if not _HOST.fullmatch(self.host):
            raise ParseError(f"bad host {self.host!r}")
        if self.port is not None and not 0 <= self.port <= 65535:
            raise ParseError(f"bad port {self.port}")
        for part in (self.user or "", self.password or ""):
            if _WS.search(part):
                raise ParseError("whitespace in URI user part")

    def param(self, name: str) -> str | None:
        """A URI parameter's value (``None`` if absent or valueless)."""
        return _param(self.params, name)

    def has_param(self, name: str) -> bool:
        return _has_param(self.params, name)

    @property
    def host_port(self) -> str:
        return self.host if self.port is None else f"{self.host}:{self.port}"

    def __str__(self) -> str:
        userinfo = ""
        if self.user is not None:
            userinfo = self.user + (f":{self.password}" if self.password is not None else "") + "@"
        text = f"{self.scheme}:{userinfo}{self.host_port}{_format_params(self.params)}"
        if self.headers:
            text += "?" + "&".join(f"{k}={v}" for k, v in self.headers)
        return text


@dataclass(frozen=True, slots=True)
class AbsoluteUri:
    """A URI of any other scheme (``tel:``, ``isbn:``...), kept opaque (RFC 3261 §19.1.6)."""

    scheme: str
    opaque: str

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9+\-.]*", self.scheme):
            raise ParseError(f"bad URI scheme {self.scheme!r}")
        if not self.opaque or re.search(r'[\s<>"]', self.opaque):
            raise ParseError(f"bad URI {self.scheme}:{self.opaque!r}")

    def __str__(self) -> str:
        return f"{self.scheme}:{self.opaque}"


def parse_uri(text: str, *, request_uri: bool = False) -> SipUri | AbsoluteUri:
    """Parse a URI; ``request_uri`` forbids ``?headers`` (RFC 3261 §19.1.1 table 1)."""
    match = _SCHEME.fullmatch(text)
    if match is None or _WS.search(text) or any(c in text for c in '<>"'):
        raise ParseError(f"bad URI {text!r}")
    scheme, rest = match.groups()
    if scheme.lower() not in ("sip", "sips"):
        return AbsoluteUri(scheme, rest)
    user = password = None
    at = rest.rfind("@")  # '@' cannot appear unescaped after the userinfo (§25.1)
    if at >= 0:
        userinfo, rest = rest[:at], rest[at + 1 :]
        user, colon, pw = userinfo.partition(":")
        password = pw if colon else None
        if not user:
            raise ParseError(f"empty user in {text!r}")
    rest, qmark, header_text = rest.partition("?")
    if qmark and request_uri:
        raise ParseError("headers are not allowed in a Request-URI (RFC 3261 §19.1.1)")
    hostport, semi, param_text = rest.partition(";")
    if hostport.startswith("["):  # IPv6 reference (RFC 3261 §25.1)
        end = hostport.find("]") + 1
        host, tail = hostport[:end], hostport[end:]
        colon, port_text = tail[:1], tail[1:]
        if tail and colon != ":":
            raise ParseError(f"bad host in {text!r}")
    else:
        host, colon, port_text = hostport.partition(":")
    if colon and not (port_text.isascii() and port_text.isdigit()):
        raise ParseError(f"bad port in {text!r}")
    headers: list[tuple[str, str]] = []
    if qmark:
        for item in header_text.split("&"):
            name, eq, value = item.partition("=")
            if not name or not eq:
                raise ParseError(f"bad URI header {item!r}")
            headers.append((name, value))
    return SipUri(
        host=host,
        user=user,
        password=password,
        port=int(port_text) if port_text else None,
        params=parse_params(param_text) if semi else (),
        headers=tuple(headers),
        scheme=scheme.lower(),
    )


# --------------------------------------------------------------------------- typed headers


@dataclass(frozen=True, slots=True)
class NameAddr:
    """``[display-name] <URI> *(;param)`` of From, To, Contact, Route (RFC 3261 §20.10, §25.1)."""

    uri: SipUri | AbsoluteUri
    display_name: str | None = None
    params: Params = ()

    @property
    def tag(self) -> str | None:
        return _param(self.params, "tag")

    def param(self, name: str) -> str | None:
        return _param(self.params, name)

    def has_param(self, name: str) -> bool:
        return _has_param(self.params, name)

    def with_tag(self, tag: str) -> NameAddr:
        return replace(self, params=_set_param(self.params, "tag", tag))

    def __str__(self) -> str:
        name = f"{_quote(self.display_name)} " if self.display_name is not None else ""
        return f"{name}<{self.uri}>{_format_params(self.params)}"

    @classmethod
    def parse(cls, text: str) -> NameAddr:
        """Parse name-addr or addr-spec. Without ``<>``, ``;params`` belong to the header."""
        s = text.strip(" \t")
        display: str | None = None
        if s.startswith('"'):
            end = _quoted_end(s)
            display = _unquote(s[: end + 1])
            rest = s[end + 1 :].lstrip(" \t")
            if not rest.startswith("<"):
                raise ParseError(f"quoted display name without <URI>: {text!r}")
        elif "<" in s:
            lt = s.index("<")
            words = s[:lt].split()
            if not all(_DISPLAY_WORD.fullmatch(word) for word in words):
                raise ParseError(f"bad display name {s[:lt]!r}")  # RFC 4475 §3.1.2.15
            display = " ".join(words) or None
            rest = s[lt:]
        else:
            rest = s
        if rest.startswith("<"):
            gt = rest.find(">")
            if gt < 0:
                raise ParseError(f"unterminated <URI> in {text!r}")
            uri_text, after = rest[1:gt], rest[gt + 1 :].strip(" \t")
            if _WS.search(uri_text):  # RFC 4475 §3.1.2.14
                raise ParseError("whitespace inside <URI>")
            uri = parse_uri(uri_text)
        else:
            uri_text, semi, after = rest.partition(";")
            uri_text = uri_text.strip(" \t")
            if "?" in uri_text or "," in uri_text:  # RFC 3261 §20.10, RFC 4475 §3.1.2.13
                raise ParseError("an addr-spec with '?' or ',' must be in <>")
            uri = parse_uri(uri_text)
            after = ";" + after if semi else ""
        if after and not after.startswith(";"):
            raise ParseError(f"junk after URI: {after!r}")
        return cls(uri, display, parse_params(after[1:]) if after else ())


def _quoted_end(text: str) -> int:
    """Index of the closing quote of the quoted-string starting at ``text[0]``."""
    i = 1
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] == '"':
            return i
        i += 1
    raise ParseError("unterminated quoted string")


@dataclass(frozen=True, slots=True)
class Via:
    """One Via value ``SIP/2.0/UDP host:port;branch=...`` (RFC 3261 §20.42, RFC 3581)."""

    transport: str
    host: str
    port: int | None = None
    params: Params = ()

    def __post_init__(self) -> None:
        if not is_token(self.transport) or not _HOST.fullmatch(self.host):
            raise ParseError(f"bad Via sent-by {self.transport} {self.host}")
        if self.port is not None and not 0 <= self.port <= 65535:
            raise ParseError(f"bad Via port {self.port}")

    def param(self, name: str) -> str | None:
        return _param(self.params, name)

    def has_param(self, name: str) -> bool:
        return _has_param(self.params, name)

    @property
    def branch(self) -> str | None:
        return self.param("branch")

    @property
    def received(self) -> str | None:
        return self.param("received")

    @property
    def rport(self) -> int | None:
        """The filled-in ``rport`` value, or None (RFC 3581 §4)."""
        value = self.param("rport")
        return int(value) if value is not None and value.isdigit() else None

    @property
    def sent_by(self) -> str:
        return self.host if self.port is None else f"{self.host}:{self.port}"

    @property
    def is_rfc3261_branch(self) -> bool:
        """A branch with the magic cookie and something after it (RFC 3261 §8.1.1.7)."""
        branch = self.branch or ""
        return branch.startswith(BRANCH_MAGIC_COOKIE) and len(branch) > len(BRANCH_MAGIC_COOKIE)

    def with_param(self, name: str, value: str | None) -> Via:
        return replace(self, params=_set_param(self.params, name, value))

    def __str__(self) -> str:
        return f"SIP/2.0/{self.transport} {self.sent_by}{_format_params(self.params)}"

    @classmethod
    def parse(cls, text: str, *, any_version: bool = False) -> Via:
        """Parse one Via value; ``any_version`` accepts SIP/x.y (to answer 505 to it)."""
        match = _VIA.fullmatch(text)
        if match is None:
            raise ParseError(f"bad Via {text!r}")
        name, version, transport, host, port, params = match.groups()
        if name.upper() != "SIP" or (version != "2.0" and not any_version):
            raise ParseError(f"bad Via protocol {name}/{version}")
        return cls(
            transport.upper(),
            host,
            int(port) if port else None,
            parse_params(params) if params is not None else (),
        )


@dataclass(frozen=True, slots=True)
class CSeq:
    """``CSeq: number METHOD`` (RFC 3261 §20.16; number < 2**31 per §8.1.1.5)."""

    number: int
    method: str

    def __post_init__(self) -> None:
        if not 0 <= self.number < CSEQ_LIMIT:
            raise ParseError(f"CSeq number out of range: {self.number}")
        if not is_token(self.method):
            raise ParseError(f"bad CSeq method {self.method!r}")

    def __str__(self) -> str:
        return f"{self.number} {self.method}"

    @classmethod
    def parse(cls, text: str) -> CSeq:
        match = _CSEQ.fullmatch(text)
        if match is None:
            raise ParseError(f"bad CSeq {text!r}")
        return cls(int(match.group(1)), match.group(2))


# ---------------------------------------------------------------------------------- messages


class SipMessage:
    """Header access shared by requests and responses. Names are case-insensitive."""

    __slots__ = ()
    headers: tuple[Header, ...]
    body: bytes

    def _check_headers(self) -> None:
        for name, value in self.headers:
            if not is_token(name):
                raise ParseError(f"bad header name {name!r}")
            if "\r" in value or "\n" in value:  # no header injection through values
                raise ParseError(f"line break in {name} value")

    def get_all(self, name: str) -> list[str]:
        """Every value line of a header, in order."""
        wanted = canonical_name(name).lower()
        return [v for n, v in self.headers if n.lower() == wanted]

    def get(self, name: str) -> str | None:
        """The first value line of a header, or None."""
        values = self.get_all(name)
        return values[0] if values else None

    def values(self, name: str) -> list[str]:
        """All elements of a list header, comma-joined lines split (RFC 3261 §7.3.1)."""
        out: list[str] = []
        for line in self.get_all(name):
            out.extend(split_header_list(line))
        return out

    def require_header(self, name: str) -> str:
        """The first value of a header that must be present (ParseError if missing)."""
        value = self.get(name)
        if value is None:
            raise ParseError(f"missing {name}")
        return value

    @property
    def vias(self) -> list[Via]:
        return [Via.parse(v) for v in self.values("Via")]

    @property
    def top_via(self) -> Via:
        vias = self.values("Via")
        if not vias:
            raise ParseError("missing Via")
        return Via.parse(vias[0])

    @property
    def call_id(self) -> str:
        return self.require_header("Call-ID")

    @property
    def cseq(self) -> CSeq:
        return CSeq.parse(self.require_header("CSeq"))

    @property
    def from_(self) -> NameAddr:
        return NameAddr.parse(self.require_header("From"))

    @property
    def to(self) -> NameAddr:
        return NameAddr.parse(self.require_header("To"))

    @property
    def contacts(self) -> list[NameAddr]:
        """Contact values; empty for none and for the ``*`` wildcard (RFC 3261 §10.2.2)."""
        return [NameAddr.parse(v) for v in self.values("Contact") if v != "*"]

    @property
    def contact(self) -> NameAddr | None:
        contacts = self.contacts
        return contacts[0] if contacts else None

    @property
    def expires(self) -> int | None:
        """Expires in seconds, capped at 2**32-1; None when absent."""
        return _delta_seconds(self.get("Expires"), "Expires")

    @property
    def max_forwards(self) -> int | None:
        return _delta_seconds(self.get("Max-Forwards"), "Max-Forwards")

    @property
    def content_type(self) -> str | None:
        """The media type, lower-cased and without parameters."""
        value = self.get("Content-Type")
        return value.split(";", 1)[0].strip().lower() if value is not None else None

    def with_header(self, name: str, value: str, *, first: bool = False) -> Self:
        """A copy with one more header line (at the top if ``first``)."""
        line = (canonical_name(name), value)
        headers = (line, *self.headers) if first else (*self.headers, line)
        return replace(self, headers=headers)

    def without_header(self, name: str) -> Self:
        wanted = canonical_name(name).lower()
        headers = tuple(h for h in self.headers if h[0].lower() != wanted)
        return replace(self, headers=headers)

    def with_replaced(self, name: str, value: str) -> Self:
        """A copy where every line of ``name`` is replaced by one line (in the first's place)."""
        wanted, out, done = canonical_name(name).lower(), [], False
        for h in self.headers:
            if h[0].lower() == wanted:
                if not done:
                    out.append((canonical_name(name), value))
                    done = True
            else:
                out.append(h)
        if not done:
            out.append((canonical_name(name), value))
        return replace(self, headers=tuple(out))

    def _serialise(self, start_line: str) -> bytes:
        lines = [start_line]
        lines += [f"{n}: {v}" for n, v in self.headers if n.lower() != "content-length"]
        lines.append(f"Content-Length: {len(self.body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8", "surrogateescape") + self.body


def _delta_seconds(value: str | None, name: str) -> int | None:
    if value is None:
        return None
    value = value.strip()
    if not value.isdigit() or not value.isascii():
        raise ParseError(f"bad {name} {value!r}")
    return min(int(value), DELTA_SECONDS_LIMIT)


@dataclass(frozen=True, slots=True)
class SipRequest(SipMessage):
    """A SIP request (RFC 3261 §7.1). ``uri`` is the Request-URI text as sent."""

    method: str
    uri: str
    headers: tuple[Header, ...] = ()
    body: bytes = b""

    def __post_init__(self) -> None:
        if not is_token(self.method):
            raise ParseError(f"bad method {self.method!r}")
        if not self.uri or _WS.search(self.uri):
            raise ParseError(f"bad Request-URI {self.uri!r}")
        self._check_headers()

    @property
    def request_uri(self) -> SipUri | AbsoluteUri:
        return parse_uri(self.uri, request_uri=True)

    def to_bytes(self) -> bytes:
        return self._serialise(f"{self.method} {self.uri} {SIP_VERSION}")

    __bytes__ = to_bytes


@dataclass(frozen=True, slots=True)
class SipResponse(SipMessage):
    """A SIP response (RFC 3261 §7.2); status 100–699 (§21)."""

    status: int
    reason: str = ""
    headers: tuple[Header, ...] = ()
    body: bytes = b""

    def __post_init__(self) -> None:
        if not 100 <= self.status <= 699:
            raise ParseError(f"status code out of range: {self.status}")
        if "\r" in self.reason or "\n" in self.reason:
            raise ParseError("line break in reason phrase")
        self._check_headers()

    @property
    def is_final(self) -> bool:
        return self.status >= 200

    def to_bytes(self) -> bytes:
        return self._serialise(f"{SIP_VERSION} {self.status} {self.reason}")

    __bytes__ = to_bytes


# ------------------------------------------------------------------------------------ parser


def _split_head(data: bytes) -> tuple[list[str], int]:
    """Decode and unfold the header block; return its lines and where the body starts."""
    match = _HEADER_END.search(data)
    if match is None:
        raise ParseError("no empty line after the headers")
    text = data[: match.start()].decode("utf-8", "surrogateescape")
    lines: list[str] = []
    for raw in text.split("\n"):
        line = raw[:-1] if raw.endswith("\r") else raw
        if line[:1] in (" ", "\t") and lines:  # RFC 3261 §7.3.1 folding
            lines[-1] = lines[-1] + " " + line.strip(" \t")
        else:
            lines.append(line)
    return lines, match.end()


def _parse_header_lines(lines: list[str]) -> tuple[Header, ...]:
    headers: list[Header] = []
    for line in lines:
        name, colon, value = line.partition(":")
        name = name.rstrip(" \t")
        if not colon or not is_token(name):
            raise ParseError(f"bad header line {line[:80]!r}")
        headers.append((canonical_name(name), value.strip(" \t")))
    return tuple(headers)


def _content_length(headers: tuple[Header, ...]) -> int | None:
    """The one Content-Length value (RFC 3261 §20.14); conflicting or negative is an error."""
    values = {v.strip() for n, v in headers if n == "Content-Length"}
    if not values:
        return None
    if len(values) > 1:
        raise ParseError("conflicting Content-Length values")  # RFC 4475 §3.3.9
    (value,) = values
    if not (value.isascii() and value.isdigit()):
        raise ParseError(f"bad Content-Length {value!r}")
    return int(value)


def parse_message(
    data: bytes, *, max_size: int = DEFAULT_MAX_MESSAGE_SIZE
) -> SipRequest | SipResponse:
    """Parse one message from a datagram or an already framed stream message.

    Bytes after Content-Length are ignored (RFC 3261 §18.3); a missing Content-Length means
    the body is the rest of the datagram. Raises :class:`ParseError` (status 400, 505 for a
    version other than SIP/2.0) or :class:`MessageTooLarge` (513).
    """
    if len(data) > max_size:
        raise MessageTooLarge(f"message of {len(data)} bytes exceeds {max_size}")
    data = data.lstrip(b"\r\n")  # RFC 3261 §7.5: ignore empty lines before the start line
    lines, body_start = _split_head(data)
    start, headers = lines[0], _parse_header_lines(lines[1:])
    rest = data[body_start:]
    length = _content_length(headers)
    if length is not None and length > len(rest):
        raise ParseError(f"Content-Length {length} exceeds the {len(rest)} body bytes")
    body = rest if length is None else rest[:length]
    message: SipRequest | SipResponse
    if start[:4].upper() == "SIP/":
        match = _RESPONSE_LINE.fullmatch(start)
        if match is None:
            raise ParseError(f"bad status line {start[:80]!r}")
        _check_version(match.group(1))
        message = SipResponse(int(match.group(2)), match.group(3) or "", headers, body)
    else:
        parts = start.split(" ")
        if len(parts) != 3:  # RFC 3261 §7.1: exactly single SP separators
            raise ParseError(f"bad request line {start[:80]!r}")
        method, uri, version = parts
        if not _VERSION.fullmatch(version):
            raise ParseError(f"bad request line {start[:80]!r}")
        _check_version(version)
        message = SipRequest(method, uri, headers, body)
    validate_message(message)
    return message


def _check_version(version: str) -> None:
    if version.upper() != SIP_VERSION:
        raise ParseError(f"unsupported version {version}", status=505)  # RFC 3261 §21.5.18


def validate_message(message: SipRequest | SipResponse) -> None:
    """Check what every SIP element relies on (RFC 3261 §8.1.1, §8.2.2; RFC 4475 §3.3)."""
    for name in _REQUIRED:
        if message.get(name) is None:
            raise ParseError(f"missing {name}")
    seen: set[str] = set()
    for name, _ in message.headers:
        lower = name.lower()
        if lower in SINGLE_HEADERS and lower != "content-length":
            if lower in seen:
                raise ParseError(f"{name} appears more than once")
            seen.add(lower)
    if not message.vias:
        raise ParseError("missing Via")
    message.from_, message.to  # noqa: B018 - parse to validate
    if not message.call_id:
        raise ParseError("empty Call-ID")
    cseq = message.cseq
    if isinstance(message, SipRequest):
        message.request_uri  # noqa: B018
        if cseq.method != message.method:  # RFC 4475 §3.1.2.17
            raise ParseError(f"CSeq method {cseq.method} does not match {message.method}")
    message.contacts  # noqa: B018
    message.expires  # noqa: B018
    message.max_forwards  # noqa: B018


# --------------------------------------------------------------------------------- responses


def make_response(
    request: SipRequest,
    status: int,
    reason: str | None = None,
    *,
    to_tag: str | None = None,
    headers: Iterable[Header] = (),
    body: bytes = b"",
) -> SipResponse:
    """Build a response per RFC 3261 §8.2.6: copy Via, From, To (+tag), Call-ID, CSeq.

    Record-Route is copied into 1xx/2xx answers to INVITE (§12.1.1).
    """
    copied: list[Header] = [("Via", v) for v in request.get_all("Via")]
    copied.append(("From", request.require_header("From")))
    to = request.require_header("To")
    if to_tag is not None and status != 100 and NameAddr.parse(to).tag is None:
        to = f"{to};tag={to_tag}"
    copied += [("To", to), ("Call-ID", request.call_id), ("CSeq", request.require_header("CSeq"))]
    if request.method == "INVITE" and 100 < status < 300:
        copied += [("Record-Route", v) for v in request.get_all("Record-Route")]
    copied += [(canonical_name(n), v) for n, v in headers]
    return SipResponse(status, reason or REASON_PHRASES.get(status, ""), tuple(copied), body)


def salvage_error_response(data: bytes, status: int, reason: str) -> SipResponse | None:
    """A best-effort error answer to a request that failed to parse, or None.

    Needs a parseable top Via to be routed (RFC 3261 §18.2.2); copies From, To, Call-ID and
    CSeq lines verbatim where present (RFC 4475 §3.3.1 asks for a 400 even without them).
    Responses and anything without a usable Via get None: they are dropped.
    """
    try:
        data = data.lstrip(b"\r\n")
        match = _HEADER_END.search(data)
        head = data[: match.start()] if match else data
        text = head.decode("utf-8", "surrogateescape")
        lines: list[str] = []
        for raw in re.split(r"\r?\n", text):
            if raw[:1] in (" ", "\t") and lines:
                lines[-1] += " " + raw.strip()
            else:
                lines.append(raw)
        if not lines or lines[0][:4].upper() == "SIP/":
            return None
        found: dict[str, list[str]] = {}
        for line in lines[1:]:
            name, colon, value = line.partition(":")
            if colon and is_token(name.strip()):
                found.setdefault(canonical_name(name.strip()), []).append(value.strip())
        vias = found.get("Via", [])
        if not vias:
            return None
        Via.parse(split_header_list(vias[0])[0], any_version=True)
        headers: list[Header] = [("Via", v) for v in vias]
        for name in ("From", "To", "Call-ID", "CSeq"):
            if name in found and "\r" not in found[name][0]:
                headers.append((name, found[name][0]))
        return SipResponse(status, reason, tuple(headers))
    except (ParseError, ValueError):
        return None


# --------------------------------------------------------------------------- via processing


def stamp_received(request: SipRequest, source: Address) -> SipRequest:
    """Add ``received`` (RFC 3261 §18.2.1) and fill ``rport`` (RFC 3581 §4) on the top Via."""
    lines = request.get_all("Via")
    first = split_header_list(lines[0])
    via = Via.parse(first[0])
    host, port = source
    if via.host != host or via.has_param("rport"):
        via = via.with_param("received", host)
    if via.has_param("rport"):
        via = via.with_param("rport", str(port))
    first[0] = str(via)
    new_first = ", ".join(first)
    out, done = [], False
    for name, value in request.headers:
        if name == "Via" and not done:
            out.append((name, new_first))
            done = True
        else:
            out.append((name, value))
    return replace(request, headers=tuple(out))


def response_address(via: Via, source: Address, reliable: bool) -> Address:
    """Where a server sends responses (RFC 3261 §18.2.2, RFC 3581 §4).

    Reliable transports reuse the connection (the source); otherwise ``received`` and
    ``rport`` when present, else the sent-by host and port (default 5060).
    """
    if reliable:
        return source
    host = via.received or via.host
    port = via.rport or (source[1] if via.has_param("rport") else via.port or 5060)
    return host, port
