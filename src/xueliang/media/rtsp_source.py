"""RTSP pull (RFC 2326 / 7826) through PyAV (FFmpeg's RTSP client) in a worker thread.

Packets are demuxed, never decoded: H.264/H.265 pass through as Annex B. FFmpeg hands RTSP
video over as Annex B already, with the SDP's ``sprop-parameter-sets`` in the extradata; a
keyframe that carries no SPS is given the known parameter sets in front, so every keyframe
can start a decoder. Length-prefixed (``avcC``/``hvcC``) extradata is converted too. The
connection is reopened with exponential backoff when it drops.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import AsyncIterator
from fractions import Fraction
from urllib.parse import quote, urlsplit, urlunsplit

import av

from xueliang.media.errors import MediaError
from xueliang.media.frames import CLOCK_RATE, FrameQueue, FrameSource, MediaFrame, iterate_queue
from xueliang.media.h26x import (
    VideoCodec,
    avcc_to_annexb,
    is_keyframe,
    parameter_sets,
    parse_avcc_config,
)
from xueliang.media.live_errors import LiveError, SourceClosed, SourceUnavailable

__all__ = ["AnnexBConverter", "RtspSource", "url_with_credentials"]

log = logging.getLogger(__name__)

_CODECS = {"h264": VideoCodec.H264, "hevc": VideoCodec.H265}


def url_with_credentials(url: str, username: str | None, password: str | None) -> str:
    """``rtsp://host/path`` with ``user:password@`` put in (percent-encoded)."""
    if not username and not password:
        return url
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    if parts.port:
        host = f"{host}:{parts.port}"
    auth = quote(username or "", safe="") + (":" + quote(password or "", safe="") if password else "")
    return urlunsplit((parts.scheme, f"{auth}@{host}", parts.path, parts.query, parts.fragment))


def redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None and parts.username is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, f"***@{host}", parts.path, parts.query, parts.fragment))


def _hvcc_parameter_sets(data: bytes) -> tuple[int, list[bytes]]:
    """(NAL length size, VPS/SPS/PPS NAL units) of an ``hvcC`` record (14496-15 8.3.3.1)."""
    if len(data) < 23 or data[0] != 1:
        raise MediaError("hvcC shorter than 23 bytes or configurationVersion != 1")
    length_size = (data[21] & 3) + 1
    count = data[22]
    pos = 23
    nals = []
    for _ in range(count):
        if pos + 3 > len(data):
            raise MediaError("hvcC truncated in an array header")
        n = (data[pos + 1] << 8) | data[pos + 2]
        pos += 3
        for _ in range(n):
            if pos + 2 > len(data):
                raise MediaError("hvcC truncated in a NAL length")
            size = (data[pos] << 8) | data[pos + 1]
            pos += 2
            if pos + size > len(data):
                raise MediaError("hvcC NAL unit overruns the record")
            nals.append(data[pos : pos + size])
            pos += size
    return length_size, nals


class AnnexBConverter:
    """Packets of one stream -> Annex B access units whose keyframes carry parameter sets
    (pure). ``extradata`` is Annex B (RTSP's sprop-parameter-sets) or avcC/hvcC."""

    def __init__(self, codec: VideoCodec, extradata: bytes | None) -> None:
        self.codec = codec
        self.length_size = 0  # 0: packets are Annex B
        self.headers = b""
        data = extradata or b""
        if data[:1] == b"\x01":
            if codec is VideoCodec.H264:
                config = parse_avcc_config(data)
                self.length_size = config.length_size
                nals: list[bytes] = [*config.sps, *config.pps]
            else:
                self.length_size, nals = _hvcc_parameter_sets(data)
            self.headers = b"".join(b"\x00\x00\x00\x01" + n for n in nals)
        elif data:
            self.headers = data if data.startswith((b"\x00\x00\x01", b"\x00\x00\x00\x01")) else b""

    def convert(self, packet: bytes) -> tuple[bytes, bool]:
        """(Annex B access unit, keyframe)."""
        data = avcc_to_annexb(packet, self.length_size) if self.length_size else packet
        keyframe = is_keyframe(data, self.codec)
        if keyframe:
            sets = parameter_sets(data, self.codec)
            if sets.sps and sets.pps:
                self.headers = b"".join(b"\x00\x00\x00\x01" + n for n in (*sets.vps, *sets.sps, *sets.pps))
            elif self.headers:
                data = self.headers + data
        return data, keyframe


class RtspSource(FrameSource):
    """Pull ``url`` (credentials given apart, never logged). ``transport`` is ``tcp`` or
    ``udp`` (RTP interleaved in RTSP, or RTP over UDP). The first connection failing raises
    :class:`SourceUnavailable`; later drops reconnect after ``backoff`` seconds, doubling
    up to ``max_backoff``, at most ``max_reconnects`` times in a row (None: no limit)."""

    def __init__(
        self,
        url: str,
        *,
        username: str | None = None,
        password: str | None = None,
        transport: str = "tcp",
        open_timeout: float = 5.0,
        read_timeout: float = 5.0,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        max_reconnects: int | None = 8,
        queue_frames: int = 256,
    ) -> None:
        if transport not in ("tcp", "udp"):
            raise ValueError(f"RTSP transport {transport!r} is not tcp or udp")
        self.url = url
        self._full_url = url_with_credentials(url, username, password)
        self.transport = transport
        self.open_timeout = open_timeout
        self.read_timeout = read_timeout
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.max_reconnects = max_reconnects
        self.description = f"RTSP {redact(url)}"
        self.connections = 0
        self.frames_read = 0
        self._queue: FrameQueue[MediaFrame] = FrameQueue(queue_frames, start_on_keyframe=True)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def frames(self) -> AsyncIterator[MediaFrame]:
        if self._thread is None:
            self._loop = asyncio.get_running_loop()
            self._thread = threading.Thread(target=self._work, name=f"rtsp-{redact(self.url)}", daemon=True)
            self._thread.start()
        # the worker reports timeouts itself (read_timeout); this only guards a stuck thread
        async for frame in iterate_queue(self._queue, self.open_timeout + self.read_timeout + 5):
            yield frame

    async def close(self) -> None:
        self._stop.set()
        self._queue.close(SourceClosed("closed"))
        thread = self._thread
        if thread is not None and thread.is_alive():
            await asyncio.to_thread(thread.join, self.read_timeout + self.open_timeout + 1)

    # -- worker thread -----------------------------------------------------------------------

    def _post(self, frame: MediaFrame | None, error: LiveError | None = None) -> None:
        loop = self._loop
        assert loop is not None
        with contextlib.suppress(RuntimeError):  # the loop is gone: nobody is listening
            if error is not None:
                loop.call_soon_threadsafe(self._queue.close, error)
            else:
                loop.call_soon_threadsafe(self._queue.put, frame)

    def _open(self) -> av.container.InputContainer:
        options = {
            "rtsp_transport": self.transport,
            "fflags": "nobuffer",
            "flags": "low_delay",
            "analyzeduration": "500000",
            "probesize": "262144",
            "timeout": str(int(self.read_timeout * 1_000_000)),
        }
        container = av.open(self._full_url, options=options, timeout=(self.open_timeout, self.read_timeout))
        assert isinstance(container, av.container.InputContainer)
        return container

    def _work(self) -> None:
        failures = 0
        while not self._stop.is_set():
            try:
                container = self._open()
            except (av.FFmpegError, OSError) as exc:
                failures += 1
                reason = f"cannot open {redact(self.url)}: {self._describe(exc)}"
                if self.connections == 0 or (
                    self.max_reconnects is not None and failures > self.max_reconnects
                ):
                    self._post(None, SourceUnavailable(reason))
                    return
                log.warning("%s; retrying", reason)
                if self._stop.wait(min(self.max_backoff, self.backoff * 2 ** (failures - 1))):
                    return
                continue
            self.connections += 1
            try:
                if self._relay(container):
                    failures = 0
            except LiveError as exc:
                self._post(None, exc)
                return
            except (av.FFmpegError, OSError, MediaError) as exc:
                log.warning("%s: %s; reconnecting", self.description, self._describe(exc))
            finally:
                container.close()
            if self._stop.is_set():
                return
            failures += 1
            if self.max_reconnects is not None and failures > self.max_reconnects:
                self._post(None, SourceClosed(f"{self.description} kept failing"))
                return
            self._stop.wait(min(self.max_backoff, self.backoff * 2 ** (failures - 1)))

    def _relay(self, container: av.container.InputContainer) -> bool:
        """Demux until the stream ends or stop; True when frames came."""
        if not container.streams.video:
            raise SourceUnavailable(f"{self.description} has no video stream")
        stream = container.streams.video[0]
        codec = _CODECS.get(stream.codec_context.name)
        if codec is None:
            raise SourceUnavailable(f"{self.description} sends {stream.codec_context.name}, not H.264/H.265")
        converter = AnnexBConverter(codec, stream.codec_context.extradata)
        time_base = stream.time_base or Fraction(1, CLOCK_RATE)
        scale = time_base * CLOCK_RATE
        got = False
        last_pts: int | None = None
        for packet in container.demux(stream):
            if self._stop.is_set():
                break
            if packet.size == 0:
                continue
            data, keyframe = converter.convert(bytes(packet))
            ts = packet.pts if packet.pts is not None else packet.dts
            pts = (last_pts or 0) + CLOCK_RATE // 25 if ts is None else int(ts * scale)
            dts = int(packet.dts * scale) if packet.dts is not None and packet.dts != packet.pts else None
            last_pts = pts
            got = True
            self.frames_read += 1
            self._post(MediaFrame(codec, pts, keyframe, data, dts))
        return got

    def _describe(self, exc: BaseException) -> str:
        """The error's text with the URL's credentials taken out."""
        text = str(exc) or type(exc).__name__
        return text.replace(self._full_url, redact(self._full_url))
