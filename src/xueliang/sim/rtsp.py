"""Simulated RTSP cameras: one RTSP server (RFC 2326) on loopback serving any number of
cameras at ``rtsp://HOST:PORT/cam/<channel ID>``, each showing its own clip (the channel's
ID, a clock and the picture fault the fleet's :class:`VideoFaultSpec` gives it) as H.264
over RTP (RFC 6184) interleaved in the RTSP connection (TCP).

The request parsing and the H.264 packetisation are pure; :class:`RtspCameraServer` is the
asyncio adapter. UDP transport is answered ``461 Unsupported Transport``: clients then ask
for TCP, as FFmpeg does with ``rtsp_transport=tcp``.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from xueliang.gbcode import GbCodeError, parse_gb_id
from xueliang.media.clips import FaultPattern, clip_frames
from xueliang.media.frames import MediaFrame
from xueliang.media.h26x import H264NalType, VideoCodec, iter_nal_units, parameter_sets
from xueliang.media.sender import ClipPacer
from xueliang.sim.media import VideoFaultSpec, channel_serial

__all__ = [
    "H264RtpPacer",
    "RtspCameraServer",
    "RtspRequest",
    "RtspRequestError",
    "camera_path",
    "encoded_clip",
    "parse_request",
    "session_description",
]

log = logging.getLogger(__name__)

_MAX_HEAD = 8192
_PATH = re.compile(r"^/cam/(\d{20})(?:/.*)?$")
_METHODS = "OPTIONS, DESCRIBE, SETUP, PLAY, PAUSE, TEARDOWN, GET_PARAMETER"


class RtspRequestError(ValueError):
    """A request that is not RTSP/1.0."""


@dataclass(frozen=True, slots=True)
class RtspRequest:
    method: str
    uri: str
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names

    @property
    def cseq(self) -> str:
        return self.headers.get("cseq", "0")


def parse_request(head: bytes) -> RtspRequest:
    """Parse a request's line and headers (the bytes before the blank line)."""
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        raise RtspRequestError("request head is not UTF-8") from None
    lines = text.split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or parts[2] != "RTSP/1.0" or not parts[0].isalpha():
        raise RtspRequestError(f"not an RTSP/1.0 request line: {lines[0][:80]!r}")
    headers = {}
    for line in lines[1:]:
        if not line:
            continue
        name, colon, value = line.partition(":")
        if not colon or not name.strip():
            raise RtspRequestError(f"malformed header line {line[:80]!r}")
        headers[name.strip().lower()] = value.strip()
    if "cseq" not in headers or not headers["cseq"].isdigit():
        raise RtspRequestError("request has no numeric CSeq")
    return RtspRequest(parts[0].upper(), parts[1], headers)


def camera_path(uri: str) -> str | None:
    """The channel ID a request URI addresses (``rtsp://h:p/cam/<id>[/track]``), or None."""
    path = re.sub(r"^rtsp://[^/]*", "", uri)
    match = _PATH.match(path)
    if match is None:
        return None
    try:
        parse_gb_id(match.group(1))
    except GbCodeError:
        return None
    return match.group(1)


def session_description(frames: Sequence[MediaFrame], channel_id: str) -> bytes:
    """The SDP of a camera's H.264 stream, parameter sets in ``sprop-parameter-sets``."""
    sets = parameter_sets(frames[0].data, VideoCodec.H264)
    if not sets.sps or not sets.pps:
        raise ValueError("the clip's first keyframe carries no SPS/PPS")
    sprop = ",".join(base64.b64encode(nal).decode() for nal in (sets.sps[0], sets.pps[0]))
    profile = sets.sps[0][1:4].hex().upper()
    return (
        "v=0\r\n"
        "o=- 0 0 IN IP4 127.0.0.1\r\n"
        f"s=xueliang simulated camera {channel_id}\r\n"
        "c=IN IP4 0.0.0.0\r\n"
        "t=0 0\r\n"
        "a=control:*\r\n"
        "m=video 0 RTP/AVP 96\r\n"
        "a=rtpmap:96 H264/90000\r\n"
        f"a=fmtp:96 packetization-mode=1;profile-level-id={profile};sprop-parameter-sets={sprop}\r\n"
        "a=control:track0\r\n"
    ).encode()


class H264RtpPacer(ClipPacer):
    """RFC 6184: a NAL unit that fits is one packet, a larger one is split into FU-A
    fragments; the RTP timestamp is the presentation time. Access unit delimiters are left
    out (they carry nothing over RTP)."""

    def payloads(self, frame: MediaFrame, pts: int, dts: int) -> tuple[int, list[bytes]]:
        room = self.max_packet_size - 12
        out: list[bytes] = []
        for nal in iter_nal_units(frame.data):
            kind = nal[0] & 0x1F
            if kind == H264NalType.AUD:
                continue
            if len(nal) <= room:
                out.append(nal)
                continue
            indicator = (nal[0] & 0xE0) | 28
            body = memoryview(nal)[1:]
            step = room - 2
            for offset in range(0, len(body), step):
                start = 0x80 if offset == 0 else 0
                end = 0x40 if offset + step >= len(body) else 0
                out.append(bytes((indicator, start | end | kind)) + body[offset : offset + step])
        return pts & 0xFFFFFFFF, out


ClipSource = Callable[[str, FaultPattern], Awaitable[Sequence[MediaFrame]]]


async def encoded_clip(channel_id: str, fault: FaultPattern) -> Sequence[MediaFrame]:
    """The camera's H.264 clip, encoded in a worker thread (cached by :func:`clip_frames`)."""
    return await asyncio.to_thread(clip_frames, channel_id, fault, VideoCodec.H264)


class RtspCameraServer:
    """Serve every ``/cam/<channel ID>`` on ``host:port``. ``clips(channel_id, fault)`` gives a
    camera's H.264 frames; ``faults`` and ``seed`` pick each camera's fault as the fleet does."""

    def __init__(
        self, clips: ClipSource = encoded_clip, *, faults: VideoFaultSpec | None = None, seed: int = 1
    ) -> None:
        self.clips = clips
        self.faults = faults or VideoFaultSpec()
        self.seed = seed
        self.streams = 0  # playing now
        self.requests = 0
        self._server: asyncio.AbstractServer | None = None
        self._sessions = itertools.count(1)

    def fault_of(self, channel_id: str) -> FaultPattern:
        return self.faults.fault_for(self.seed, channel_serial(channel_id))

    async def start(self, host: str, port: int) -> tuple[str, int]:
        self._server = await asyncio.start_server(self._serve, host, port)
        address = self._server.sockets[0].getsockname()
        return str(address[0]), int(address[1])

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._server.wait_closed(), 2)
            self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connection = _Connection(self, reader, writer)
        try:
            await connection.run()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        except Exception:  # noqa: BLE001 - one camera's connection never takes the server down
            log.exception("RTSP connection failed")
        finally:
            await connection.stop_stream()
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()


class _Connection:
    """One client connection: requests in, responses and interleaved RTP out."""

    def __init__(self, server: RtspCameraServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.server = server
        self.reader = reader
        self.writer = writer
        self.session = f"{next(server._sessions):08d}"
        self.channel_id: str | None = None
        self.interleaved = 0
        self.stream: asyncio.Task[None] | None = None

    def respond(
        self, request_cseq: str, status: str, headers: dict[str, str] | None = None, body: bytes = b""
    ) -> None:
        lines = [f"RTSP/1.0 {status}", f"CSeq: {request_cseq}", "Server: xueliang-sim"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        if body:
            lines.append(f"Content-Length: {len(body)}")
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)

    async def run(self) -> None:
        while True:
            first = await self.reader.readexactly(1)
            if first == b"$":  # interleaved RTCP from the client: read and drop
                header = await self.reader.readexactly(3)
                await self.reader.readexactly(int.from_bytes(header[1:3], "big"))
                continue
            head = first + await self.reader.readuntil(b"\r\n\r\n")
            if len(head) > _MAX_HEAD:
                self.respond("0", "431 Request Header Fields Too Large")
                return
            try:
                request = parse_request(head[:-4])
            except RtspRequestError as exc:
                log.info("bad RTSP request: %s", exc)
                self.respond("0", "400 Bad Request")
                await self.writer.drain()
                return
            length = request.headers.get("content-length", "0")
            if length.isdigit() and int(length):
                await self.reader.readexactly(min(int(length), _MAX_HEAD))
            self.server.requests += 1
            if not await self.handle(request):
                await self.writer.drain()
                return
            await self.writer.drain()

    async def handle(self, request: RtspRequest) -> bool:
        """Answer one request; False closes the connection."""
        cseq = request.cseq
        if request.method in ("OPTIONS", "GET_PARAMETER", "SET_PARAMETER"):
            self.respond(cseq, "200 OK", {"Public": _METHODS} if request.method == "OPTIONS" else {})
            return True
        channel_id = camera_path(request.uri)
        if channel_id is None:
            self.respond(cseq, "404 Not Found")
            return True
        if request.method == "DESCRIBE":
            frames = await self.server.clips(channel_id, self.server.fault_of(channel_id))
            body = session_description(frames, channel_id)
            base = request.uri.rstrip("/") + "/"
            self.respond(cseq, "200 OK", {"Content-Type": "application/sdp", "Content-Base": base}, body)
        elif request.method == "SETUP":
            transport = request.headers.get("transport", "")
            match = re.search(r"interleaved=(\d+)", transport)
            if "TCP" not in transport.upper() or match is None:
                self.respond(cseq, "461 Unsupported Transport")
                return True
            self.channel_id = channel_id
            self.interleaved = int(match.group(1))
            channels = f"{self.interleaved}-{self.interleaved + 1}"
            self.respond(
                cseq,
                "200 OK",
                {
                    "Transport": f"RTP/AVP/TCP;unicast;interleaved={channels}",
                    "Session": f"{self.session};timeout=60",
                },
            )
        elif request.method == "PLAY":
            if self.channel_id is None:
                self.respond(cseq, "455 Method Not Valid in This State")
                return True
            await self.stop_stream()
            frames = await self.server.clips(self.channel_id, self.server.fault_of(self.channel_id))
            pacer = H264RtpPacer(frames, int(self.session) & 0xFFFFFFFF)
            seq = pacer.packetizer.sequence_number
            self.respond(
                cseq,
                "200 OK",
                {
                    "Session": self.session,
                    "Range": "npt=0.000-",
                    "RTP-Info": f"url={request.uri};seq={seq};rtptime=0",
                },
            )
            await self.writer.drain()
            self.stream = asyncio.create_task(self._send(pacer))
        elif request.method == "PAUSE":
            await self.stop_stream()
            self.respond(cseq, "200 OK", {"Session": self.session})
        elif request.method == "TEARDOWN":
            await self.stop_stream()
            self.respond(cseq, "200 OK", {"Session": self.session})
            return False
        else:
            self.respond(cseq, "405 Method Not Allowed", {"Allow": _METHODS})
        return True

    async def _send(self, pacer: H264RtpPacer) -> None:
        loop = asyncio.get_running_loop()
        start = loop.time()
        prefix = bytes((0x24, self.interleaved))
        self.server.streams += 1
        try:
            while (item := pacer.next()) is not None:
                due, packets = item
                delay = start + due - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                self.writer.writelines([prefix + len(p).to_bytes(2, "big") + p for p in packets])
                await self.writer.drain()
        except ConnectionError:
            pass
        finally:
            self.server.streams -= 1

    async def stop_stream(self) -> None:
        if self.stream is not None:
            self.stream.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.stream
            self.stream = None
