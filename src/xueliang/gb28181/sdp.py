"""GB/T 28181 SDP for INVITE (RFC 4566 with GB/T 28181-2022 Appendix G extensions).

One media description (video, or audio for talk-back) carrying PS over RTP; ``y=`` is the
10-digit SSRC and ``f=`` the media format. :meth:`SessionDescription.to_bytes` writes ``y=``
as the last line (some devices reject anything else); :func:`parse_sdp` tolerates a
missing ``y=`` (some upper platforms omit it), CRLF or bare LF, and unknown lines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from xueliang.gb28181.errors import SdpError

__all__ = [
    "DEFAULT_RTPMAP",
    "MediaDescription",
    "MediaFormat",
    "SessionDescription",
    "make_ssrc",
    "parse_sdp",
    "play_answer",
    "parse_ssrc",
]

SESSION_NAMES = frozenset({"Play", "Playback", "Download", "Talk"})
TRANSPORTS = frozenset({"RTP/AVP", "TCP/RTP/AVP", "RTP/AVP/TCP"})
DIRECTIONS = frozenset({"recvonly", "sendonly", "sendrecv", "inactive"})
# Appendix G: 96 PS, 97 MPEG-4, 98 H.264 (PS first: the payload GB devices send).
DEFAULT_RTPMAP: tuple[tuple[int, str], ...] = ((96, "PS/90000"), (98, "H264/90000"),
                                               (97, "MPEG4/90000"))  # fmt: skip
_SSRC = re.compile(r"[01]\d{9}")


def make_ssrc(domain: str, sequence: int, *, history: bool = False) -> str:
    """The 10-digit SSRC of ``y=`` (GB/T 28181-2022 Appendix G).

    Digit 1: 0 live, 1 history; digits 2–6: digits 4–8 of the 10-digit domain ID;
    digits 7–10: ``sequence`` modulo 10000.
    """
    if not (len(domain) >= 8 and domain[:8].isdigit()):
        raise SdpError(f"domain must start with 8 digits: {domain!r}")
    if sequence < 0:
        raise SdpError("negative SSRC sequence")
    return f"{int(history)}{domain[3:8]}{sequence % 10000:04d}"


def parse_ssrc(ssrc: str) -> tuple[bool, str, int]:
    """``(history, domain digits 4–8, sequence)`` from a 10-digit ``y=`` value."""
    if not _SSRC.fullmatch(ssrc):
        raise SdpError(f"bad SSRC {ssrc!r}")
    return ssrc[0] == "1", ssrc[1:6], int(ssrc[6:])


@dataclass(frozen=True, slots=True)
class MediaFormat:
    """``f=v/codec/resolution/fps/ratetype/kbps a/codec/kbps/samplerate`` (Appendix G).

    Video codec 1 MPEG-4, 2 H.264, 3 SVAC, 4 3GP, 5 H.265; resolution 1 QCIF, 2 CIF,
    3 4CIF, 4 D1, 5 720P, 6 1080P; rate type 1 CBR, 2 VBR. Empty fields are None.
    """

    video_codec: int | None = None
    resolution: int | None = None
    frame_rate: int | None = None
    rate_type: int | None = None
    bitrate: int | None = None
    audio_codec: int | None = None
    audio_bitrate: int | None = None
    sample_rate: int | None = None

    def __str__(self) -> str:
        def s(v: int | None) -> str:
            return "" if v is None else str(v)

        video = [self.video_codec, self.resolution, self.frame_rate, self.rate_type, self.bitrate]
        audio = [self.audio_codec, self.audio_bitrate, self.sample_rate]
        return "v/" + "/".join(map(s, video)) + "a/" + "/".join(map(s, audio))

    @classmethod
    def parse(cls, text: str) -> MediaFormat:
        match = re.fullmatch(r"\s*v/([^a]*)a/(.*?)\s*", text)
        if match is None:
            raise SdpError(f"bad f= line {text!r}")
        video, audio = match.group(1).split("/"), match.group(2).split("/")
        values: list[int | None] = []
        for part in (video + [""] * 5)[:5] + (audio + [""] * 3)[:3]:
            part = part.strip()
            if part and not part.isdigit():
                raise SdpError(f"bad f= field {part!r}")
            values.append(int(part) if part else None)
        return cls(*values)


@dataclass(frozen=True, slots=True)
class MediaDescription:
    """An ``m=`` section with its attributes (RFC 4566 §5.14; RFC 4145 setup/connection)."""

    port: int
    transport: str = "RTP/AVP"
    payloads: tuple[int, ...] = (96, 98, 97)
    rtpmap: tuple[tuple[int, str], ...] = DEFAULT_RTPMAP
    direction: str | None = "recvonly"
    setup: str | None = None  # TCP: "passive" | "active" (RFC 4145 §4)
    connection: str | None = None  # TCP: "new" | "existing" (RFC 4145 §5)
    media: str = "video"
    attributes: tuple[str, ...] = ()  # other a= lines, verbatim (e.g. "downloadspeed:4")

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65535:
            raise SdpError(f"bad media port {self.port}")
        if self.transport not in TRANSPORTS:
            raise SdpError(f"unsupported media transport {self.transport!r}")
        if self.direction is not None and self.direction not in DIRECTIONS:
            raise SdpError(f"bad direction {self.direction!r}")
        if self.setup not in (None, "active", "passive", "actpass"):
            raise SdpError(f"bad a=setup {self.setup!r}")
        if not self.payloads or any(not 0 <= p <= 127 for p in self.payloads):
            raise SdpError("bad payload type list")

    @property
    def is_tcp(self) -> bool:
        return self.transport.startswith("TCP") or self.transport.endswith("TCP")

    def encoding(self, payload: int) -> str | None:
        """The rtpmap encoding of a payload type, e.g. ``PS/90000``."""
        return dict(self.rtpmap).get(payload)

    def lines(self) -> list[str]:
        out = [f"m={self.media} {self.port} {self.transport} {' '.join(map(str, self.payloads))}"]
        if self.direction:
            out.append(f"a={self.direction}")
        out += [f"a=rtpmap:{pt} {enc}" for pt, enc in self.rtpmap]
        if self.setup:
            out.append(f"a=setup:{self.setup}")
        if self.connection:
            out.append(f"a=connection:{self.connection}")
        out += [f"a={a}" for a in self.attributes]
        return out


@dataclass(frozen=True, slots=True)
class SessionDescription:
    """A GB/T 28181 INVITE offer or answer (§9.2, Appendix G)."""

    origin_user: str  # o= username: the sender's 20-digit ID
    connection_address: str  # c=IN IP4 <address>
    media: tuple[MediaDescription, ...]
    session_name: str = "Play"
    ssrc: str | None = None  # y=
    uri: str | None = None  # u=<channel id>:<type> for playback/download
    start_time: int = 0
    stop_time: int = 0
    session_id: str = "0"
    session_version: str = "0"
    origin_address: str | None = None  # defaults to connection_address
    media_format: MediaFormat | None = None  # f=
    extra: tuple[str, ...] = field(default=())  # unknown lines, verbatim

    def __post_init__(self) -> None:
        if not self.media:
            raise SdpError("SDP without m= line")
        if self.ssrc is not None and not re.fullmatch(r"\d{1,10}", self.ssrc):
            raise SdpError(f"bad y= SSRC {self.ssrc!r}")
        for text in (self.origin_user, self.connection_address, self.session_name):
            if not text or re.search(r"[\r\n]", text):
                raise SdpError(f"bad SDP field {text!r}")
        if self.start_time < 0 or self.stop_time < 0:
            raise SdpError("negative t= time")

    @property
    def video(self) -> MediaDescription | None:
        return next((m for m in self.media if m.media == "video"), None)

    @property
    def ssrc_value(self) -> int | None:
        """The SSRC as the RTP header carries it (decimal y= value)."""
        return int(self.ssrc) if self.ssrc is not None else None

    def to_bytes(self) -> bytes:
        """Serialise; ``f=`` then ``y=`` come last, ``y=`` being the very last line."""
        origin = self.origin_address or self.connection_address
        lines = [
            "v=0",
            f"o={self.origin_user} {self.session_id} {self.session_version} IN IP4 {origin}",
            f"s={self.session_name}",
        ]
        if self.uri is not None:
            lines.append(f"u={self.uri}")
        lines += [f"c=IN IP4 {self.connection_address}", f"t={self.start_time} {self.stop_time}"]
        for media in self.media:
            lines += media.lines()
        lines += list(self.extra)
        if self.media_format is not None:
            lines.append(f"f={self.media_format}")
        if self.ssrc is not None:
            lines.append(f"y={self.ssrc}")
        return ("\r\n".join(lines) + "\r\n").encode("utf-8")


def _media_from(m_line: str, attributes: list[str]) -> MediaDescription:
    parts = m_line.split()
    if len(parts) < 4 or not parts[1].split("/")[0].isdigit():
        raise SdpError(f"bad m= line {m_line!r}")
    try:
        payloads = tuple(int(p) for p in parts[3:])
    except ValueError:
        raise SdpError(f"bad payload list in {m_line!r}") from None
    rtpmap: list[tuple[int, str]] = []
    direction = setup = connection = None
    other: list[str] = []
    for attr in attributes:
        name, _, value = attr.partition(":")
        if name == "rtpmap":
            pt, _, encoding = value.partition(" ")
            if not pt.isdigit():
                raise SdpError(f"bad rtpmap {attr!r}")
            rtpmap.append((int(pt), encoding.strip()))
        elif attr in DIRECTIONS:
            direction = attr
        elif name == "setup":
            setup = value.strip()
        elif name == "connection":
            connection = value.strip()
        else:
            other.append(attr)
    return MediaDescription(
        port=int(parts[1].split("/")[0]),
        transport=parts[2].upper(),
        payloads=payloads,
        rtpmap=tuple(rtpmap),
        direction=direction,
        setup=setup,
        connection=connection,
        media=parts[0],
        attributes=tuple(other),
    )


def parse_sdp(data: bytes | str) -> SessionDescription:
    """Parse a GB/T 28181 SDP body; raises :class:`SdpError` (488) on anything unusable."""
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    values: dict[str, str] = {}
    extra: list[str] = []
    media_blocks: list[tuple[str, list[str]]] = []
    session_attrs: list[str] = []
    for raw in re.split(r"\r?\n", text):
        line = raw.strip()
        if not line:
            continue
        if len(line) < 2 or line[1] != "=":
            raise SdpError(f"bad SDP line {line[:60]!r}")
        key, value = line[0], line[2:].strip()
        if key == "m":
            media_blocks.append((value, []))
        elif key == "a":
            (media_blocks[-1][1] if media_blocks else session_attrs).append(value)
        elif key in "vosuctyf" and key not in values:
            values[key] = value
        else:
            extra.append(line)
    if "o" not in values or "c" not in values or not media_blocks:
        raise SdpError("SDP needs o=, c= and m= lines")
    origin = values["o"].split()
    connection = values["c"].split()
    if len(origin) != 6 or len(connection) != 3:
        raise SdpError("bad o= or c= line")
    times = values.get("t", "0 0").split()
    if len(times) != 2 or not all(t.isdigit() for t in times):
        raise SdpError(f"bad t= line {values.get('t')!r}")
    media = tuple(_media_from(m, attrs + session_attrs) for m, attrs in media_blocks)
    return SessionDescription(
        origin_user=origin[0],
        connection_address=connection[2],
        media=media,
        session_name=values.get("s", "Play"),
        ssrc=values.get("y") or None,
        uri=values.get("u"),
        start_time=int(times[0]),
        stop_time=int(times[1]),
        session_id=origin[1],
        session_version=origin[2],
        origin_address=None if origin[5] == connection[2] else origin[5],
        media_format=MediaFormat.parse(values["f"]) if values.get("f") else None,
        extra=tuple(extra),
    )


def play_answer(
    *, origin: str, host: str, port: int, transport: str, sdp_transport: str, ssrc: str, codec: str
) -> bytes:
    """A media sender's 200 to a live-view INVITE (GB/T 28181 §9.2): ``s=Play``, ``c=`` ``host``,
    ``a=sendonly``, PS on 96, for TCP the opposite ``a=setup`` of the offer's ``transport``
    (``UDP``, ``TCP-active`` or ``TCP-passive``, as the offerer reads it), ``f=`` with the
    codec (``h264``/``h265``), ``y=`` last."""
    setup = connection = None
    if transport != "UDP":
        setup = "passive" if transport == "TCP-active" else "active"
        connection = "new"
    media = MediaDescription(
        port=port,
        transport=sdp_transport,
        payloads=(96,),
        rtpmap=((96, "PS/90000"),),
        direction="sendonly",
        setup=setup,
        connection=connection,
    )
    return SessionDescription(
        origin_user=origin,
        connection_address=host,
        media=(media,),
        session_name="Play",
        ssrc=ssrc,
        media_format=MediaFormat(video_codec=5 if codec == "h265" else 2),
    ).to_bytes()
