"""Online probe for RTSP cameras (RFC 2326 §10.1 OPTIONS, §10.2 DESCRIBE) over TCP.

GB/T 28181 presence comes from registration and keepalives; an RTSP camera says nothing
unless asked, so it is asked: ``OPTIONS`` (and, when ``describe``, ``DESCRIBE``, which needs
the stream path and the credentials to be right), answered ``200`` -> online. A ``401``
is answered once with Digest (RFC 2617) or Basic credentials when the channel has them.
Time is bounded by one timeout for the whole exchange.

:func:`parse_response` is the pure part (bytes in, status and headers out).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

__all__ = ["ProbeResult", "RtspResponse", "parse_response", "probe_rtsp"]

_STATUS = re.compile(rb"^RTSP/1\.[01] (\d{3}) ?([^\r\n]*)\r\n")
MAX_HEAD = 64 * 1024


@dataclass(frozen=True, slots=True)
class RtspResponse:
    status: int
    reason: str
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """``online`` when the camera answered 200; ``status`` what it last answered (None:
    nothing — refused, timed out, or not RTSP)."""

    online: bool
    status: int | None
    reason: str


def parse_response(head: bytes) -> RtspResponse:
    """Status line and headers of an RTSP response head (up to the blank line).

    Raises ValueError on anything that is not an RTSP response."""
    match = _STATUS.match(head)
    if match is None:
        raise ValueError(f"not an RTSP response: {head[:40]!r}")
    headers: dict[str, str] = {}
    for line in head[match.end() :].split(b"\r\n"):
        if not line:
            continue
        name, sep, value = line.partition(b":")
        if not sep:
            raise ValueError(f"malformed RTSP header line {line[:40]!r}")
        headers[name.strip().decode("latin-1").lower()] = value.strip().decode("latin-1")
    return RtspResponse(int(match.group(1)), match.group(2).decode("latin-1"), headers)


def _authorization(method: str, uri: str, challenge: str, username: str, password: str) -> str | None:
    scheme, _, rest = challenge.partition(" ")
    if scheme.lower() == "basic":
        return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()
    if scheme.lower() != "digest":
        return None
    params = dict(re.findall(r'(\w+)\s*=\s*"?([^",]*)"?', rest))
    realm, nonce = params.get("realm", ""), params.get("nonce", "")

    def md5(text: str) -> str:
        return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()

    response = md5(f"{md5(f'{username}:{realm}:{password}')}:{nonce}:{md5(f'{method}:{uri}')}")
    return (
        f'Digest username="{username}", realm="{realm}", nonce="{nonce}", uri="{uri}", response="{response}"'
    )


async def _exchange(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    method: str,
    uri: str,
    cseq: int,
    auth: str | None,
) -> RtspResponse:
    lines = [f"{method} {uri} RTSP/1.0", f"CSeq: {cseq}", "User-Agent: xueliang-inspection"]
    if method == "DESCRIBE":
        lines.append("Accept: application/sdp")
    if auth:
        lines.append(f"Authorization: {auth}")
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    if len(head) > MAX_HEAD:
        raise ValueError("RTSP response head too long")
    response = parse_response(head)
    length = int(response.headers.get("content-length", "0") or 0)
    if length:
        await reader.readexactly(min(length, MAX_HEAD))
    return response


async def probe_rtsp(
    url: str,
    *,
    username: str | None = None,
    password: str | None = None,
    timeout: float = 5.0,
    describe: bool = False,
) -> ProbeResult:
    """Ask the camera at ``url`` (no credentials in it) whether it is there."""
    parts = urlsplit(url)
    host, port = parts.hostname, parts.port or 554
    if parts.scheme.lower() not in ("rtsp", "rtsps") or not host:
        return ProbeResult(False, None, f"not an rtsp:// URL: {url!r}")
    clean = urlunsplit(
        (parts.scheme, f"{host}:{port}" if parts.port else host, parts.path or "/", parts.query, "")
    )
    writer: asyncio.StreamWriter | None = None
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection(host, port, limit=MAX_HEAD)
            cseq = 0
            methods = ("OPTIONS", "DESCRIBE") if describe else ("OPTIONS",)
            response: RtspResponse | None = None
            for method in methods:
                cseq += 1
                response = await _exchange(reader, writer, method, clean, cseq, None)
                challenge = response.headers.get("www-authenticate")
                if response.status == 401 and challenge and (username or password):
                    auth = _authorization(method, clean, challenge, username or "", password or "")
                    cseq += 1
                    response = await _exchange(reader, writer, method, clean, cseq, auth)
                if response.status != 200:
                    break
            assert response is not None
            return ProbeResult(response.status == 200, response.status, response.reason)
    except TimeoutError:
        return ProbeResult(False, None, f"no answer within {timeout:g} s")
    except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as exc:
        return ProbeResult(False, None, f"{type(exc).__name__}: {exc}")
    finally:
        if writer is not None:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
