"""MPEG-2 Program Stream (ISO/IEC 13818-1 section 2.5) as GB/T 28181 Appendix C uses it.

One PS pack per frame: a pack header (0xBA, with the SCR); on keyframes a system header
(0xBB) and a program stream map (0xBC); then PES packets (video 0xE0, audio 0xC0) with PTS
(and DTS), a frame larger than one PES packet being split over several.

- Codec pairs ``build_*`` / ``parse_*`` for the pack header, system header, program stream
  map and PES packet; ``parse_*(data, offset)`` returns ``(value, end_offset)`` and raises
  :class:`PsError` for any length field that disagrees with the bytes.
- :class:`PsMuxer`: one frame in, one PS pack out.
- :class:`PsDemuxer`: a streaming demuxer fed RTP payloads split anywhere; emits
  :class:`PsFrame` values. Every length field is checked against what follows it (the next
  packet must begin with a start code); on any inconsistency the frames in progress are
  dropped and the demuxer resynchronises on the next pack header. Buffering is bounded.

Hot-path notes: start codes are found with ``bytes.find``; payload bytes are never touched
one by one, only sliced (``memoryview``) and joined once per frame.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum

from xueliang.media.errors import PsError
from xueliang.media.h26x import VideoCodec, guess_codec, is_keyframe

__all__ = [
    "PS_END_CODE",
    "STREAM_CODECS",
    "PackHeader",
    "PesPacket",
    "ProgramStreamMap",
    "PsDemuxer",
    "PsFrame",
    "PsMuxer",
    "PsStats",
    "PsmEntry",
    "StreamBound",
    "StreamType",
    "SystemHeader",
    "build_pack_header",
    "build_pes",
    "build_psm",
    "build_system_header",
    "crc32_mpeg2",
    "parse_pack_header",
    "parse_pes",
    "parse_psm",
    "parse_system_header",
]

PACK_START = b"\x00\x00\x01\xba"
PS_END_CODE = b"\x00\x00\x01\xb9"  # MPEG_program_end_code, 2.5.3.1
_PREFIX = b"\x00\x00\x01"
_PACK_ID, _SYSTEM_ID, _PSM_ID, _END_ID = 0xBA, 0xBB, 0xBC, 0xB9
VIDEO_ID, AUDIO_ID = 0xE0, 0xC0
MAX_PES_LENGTH = 0xFFFF
MAX_PSM_LENGTH = 0x3FA  # 2.5.4.2: program_stream_map_length shall not exceed 1018
_MAX_SYSTEM_HEADER_LENGTH = 6 + 3 * 64


class StreamType(IntEnum):
    """PSM stream_type values used by GB/T 28181 (Appendix C, ISO/IEC 13818-1 Table 2-34)."""

    AAC = 0x0F
    MPEG4_VIDEO = 0x10
    H264 = 0x1B
    H265 = 0x24
    SVAC_VIDEO = 0x80
    G711A = 0x90
    G711U = 0x91
    G722_1 = 0x92
    G723_1 = 0x93
    G729 = 0x99
    SVAC_AUDIO = 0x9B


# stream_type -> FFmpeg/PyAV codec name
STREAM_CODECS: dict[int, str] = {
    StreamType.AAC: "aac",
    StreamType.MPEG4_VIDEO: "mpeg4",
    StreamType.H264: "h264",
    StreamType.H265: "hevc",
    StreamType.SVAC_VIDEO: "svac",
    StreamType.G711A: "pcm_alaw",
    StreamType.G711U: "pcm_mulaw",
    StreamType.G722_1: "g722_1",
    StreamType.G723_1: "g723_1",
    StreamType.G729: "g729",
    StreamType.SVAC_AUDIO: "svac_audio",
}
_VIDEO_CODECS: dict[int, VideoCodec] = {StreamType.H264: VideoCodec.H264, StreamType.H265: VideoCodec.H265}
_CODEC_STREAM_TYPES = {VideoCodec.H264: StreamType.H264, VideoCodec.H265: StreamType.H265}


def _check_ts(name: str, value: int | None) -> None:
    if value is not None and not 0 <= value < 1 << 33:
        raise PsError(f"{name} {value} is not a 33-bit 90 kHz value")


def _is_video(stream_id: int) -> bool:
    return 0xE0 <= stream_id <= 0xEF


def _is_audio(stream_id: int) -> bool:
    return 0xC0 <= stream_id <= 0xDF


# -- CRC (program stream map), ISO/IEC 13818-1 Annex A -----------------------------------------


def _crc_table() -> tuple[int, ...]:
    table = []
    for i in range(256):
        c = i << 24
        for _ in range(8):
            c = ((c << 1) ^ 0x04C11DB7) if c & 0x80000000 else c << 1
        table.append(c & 0xFFFFFFFF)
    return tuple(table)


_CRC_TABLE = _crc_table()


def crc32_mpeg2(data: bytes) -> int:
    """CRC-32/MPEG-2: polynomial 0x04C11DB7, initial 0xFFFFFFFF, no reflection or xor-out."""
    crc = 0xFFFFFFFF
    table = _CRC_TABLE
    for b in data:
        crc = ((crc << 8) & 0xFFFFFFFF) ^ table[(crc >> 24) ^ b]
    return crc


# -- pack header, 2.5.3.3 ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PackHeader:
    """pack_header: SCR (33-bit base at 90 kHz + 9-bit extension at 27 MHz), mux rate in
    units of 50 bytes/s, and the count of stuffing bytes (0..7)."""

    scr: int
    scr_ext: int = 0
    mux_rate: int = 0x3FFF
    stuffing: int = 0

    def __post_init__(self) -> None:
        _check_ts("SCR", self.scr)
        if not 0 <= self.scr_ext < 300:
            raise PsError(f"SCR extension {self.scr_ext} is not 0..299")
        if not 0 < self.mux_rate < 1 << 22:
            raise PsError(f"program_mux_rate {self.mux_rate} is not 1..2**22-1")
        if not 0 <= self.stuffing <= 7:
            raise PsError(f"pack_stuffing_length {self.stuffing} is not 0..7")


def build_pack_header(header: PackHeader) -> bytes:
    scr, ext, mux = header.scr, header.scr_ext, header.mux_rate
    return (
        PACK_START
        + bytes(
            (
                0x44 | ((scr >> 27) & 0x38) | ((scr >> 28) & 3),
                (scr >> 20) & 0xFF,
                ((scr >> 12) & 0xF8) | 4 | ((scr >> 13) & 3),
                (scr >> 5) & 0xFF,
                ((scr << 3) & 0xF8) | 4 | ((ext >> 7) & 3),
                ((ext << 1) & 0xFE) | 1,
                (mux >> 14) & 0xFF,
                (mux >> 6) & 0xFF,
                ((mux << 2) & 0xFC) | 3,
                0xF8 | header.stuffing,
            )
        )
        + b"\xff" * header.stuffing
    )


def _pack_fields(buf: bytes, pos: int) -> tuple[int, int, int, int]:
    """(scr, scr_ext, mux_rate, stuffing) of the MPEG-2 pack header at ``pos`` (14 bytes
    present, prefix '01' already checked)."""
    b4, b5, b6, b7, b8, b9, b10, b11, b12, b13 = buf[pos + 4 : pos + 14]
    scr = (
        ((b4 >> 3) & 7) << 30
        | (b4 & 3) << 28
        | b5 << 20
        | (b6 >> 3) << 15
        | (b6 & 3) << 13
        | b7 << 5
        | b8 >> 3
    )
    return scr, (b8 & 3) << 7 | b9 >> 1, b10 << 14 | b11 << 6 | b12 >> 2, b13 & 7


def parse_pack_header(data: bytes, offset: int = 0) -> tuple[PackHeader, int]:
    """Parse a pack header (MPEG-2 form) including its stuffing bytes."""
    if len(data) - offset < 14 or data[offset : offset + 4] != PACK_START:
        raise PsError("truncated pack header or missing 0x000001BA")
    if data[offset + 4] >> 6 != 1:
        raise PsError("pack header is not MPEG-2 ('01' marker missing)")
    scr, ext, mux, stuffing = _pack_fields(data, offset)
    end = offset + 14 + stuffing
    if end > len(data):
        raise PsError(f"pack_stuffing_length {stuffing} overruns the data")
    try:
        return PackHeader(scr, ext, mux, stuffing), end
    except PsError as exc:
        raise PsError(f"pack header: {exc}") from None


# -- system header, 2.5.3.5 ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StreamBound:
    """One stream entry of the system header: P-STD buffer size bound (scale 0: x128 bytes,
    scale 1: x1024 bytes)."""

    stream_id: int
    buffer_bound_scale: int
    buffer_size_bound: int

    def __post_init__(self) -> None:
        if not 0xB8 <= self.stream_id <= 0xFF or self.buffer_bound_scale not in (0, 1):
            raise PsError(f"system header stream entry {self.stream_id:#x} is invalid")
        if not 0 <= self.buffer_size_bound < 1 << 13:
            raise PsError(f"P-STD_buffer_size_bound {self.buffer_size_bound} is not 13-bit")


@dataclass(frozen=True, slots=True)
class SystemHeader:
    rate_bound: int
    audio_bound: int
    video_bound: int
    streams: tuple[StreamBound, ...] = ()
    fixed: bool = False
    csps: bool = False
    audio_lock: bool = True
    video_lock: bool = True

    def __post_init__(self) -> None:
        if not 0 <= self.rate_bound < 1 << 22:
            raise PsError(f"rate_bound {self.rate_bound} is not 22-bit")
        if not 0 <= self.audio_bound <= 32 or not 0 <= self.video_bound <= 16:
            raise PsError("audio_bound must be 0..32 and video_bound 0..16")
        if len(self.streams) > 64:
            raise PsError("more than 64 stream entries in a system header")


def build_system_header(header: SystemHeader) -> bytes:
    rate = header.rate_bound
    body = bytearray(
        (
            0x80 | ((rate >> 15) & 0x7F),
            (rate >> 7) & 0xFF,
            ((rate << 1) & 0xFE) | 1,
            (header.audio_bound << 2) | (header.fixed << 1) | header.csps,
            (header.audio_lock << 7) | (header.video_lock << 6) | 0x20 | header.video_bound,
            0x7F,  # packet_rate_restriction_flag 0, reserved
        )
    )
    for s in header.streams:
        body += bytes(
            (
                s.stream_id,
                0xC0 | (s.buffer_bound_scale << 5) | (s.buffer_size_bound >> 8),
                s.buffer_size_bound & 0xFF,
            )
        )
    return b"\x00\x00\x01\xbb" + struct.pack("!H", len(body)) + bytes(body)


def parse_system_header(data: bytes, offset: int = 0) -> tuple[SystemHeader, int]:
    """Parse a system header; its header_length must be 6 + 3 x (stream entries)."""
    if len(data) - offset < 6 or data[offset : offset + 4] != b"\x00\x00\x01\xbb":
        raise PsError("truncated system header or missing 0x000001BB")
    length = (data[offset + 4] << 8) | data[offset + 5]
    end = offset + 6 + length
    if length < 6 or (length - 6) % 3 or length > _MAX_SYSTEM_HEADER_LENGTH:
        raise PsError(f"system header_length {length} is not 6 + 3n")
    if end > len(data):
        raise PsError(f"system header_length {length} overruns the data")
    b = data[offset + 6 : end]
    if not b[0] & 0x80 or not b[2] & 1 or not b[4] & 0x20:
        raise PsError("system header marker bits missing")
    streams = []
    for i in range(6, length, 3):
        if b[i] < 0xB8 or b[i + 1] >> 6 != 3:
            raise PsError(f"system header stream entry {i // 3 - 1} is malformed")
        streams.append(StreamBound(b[i], (b[i + 1] >> 5) & 1, ((b[i + 1] & 0x1F) << 8) | b[i + 2]))
    header = SystemHeader(
        rate_bound=((b[0] & 0x7F) << 15) | (b[1] << 7) | (b[2] >> 1),
        audio_bound=b[3] >> 2,
        video_bound=b[4] & 0x1F,
        streams=tuple(streams),
        fixed=bool(b[3] & 2),
        csps=bool(b[3] & 1),
        audio_lock=bool(b[4] & 0x80),
        video_lock=bool(b[4] & 0x40),
    )
    return header, end


# -- program stream map, 2.5.4 -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PsmEntry:
    stream_type: int
    stream_id: int
    info: bytes = b""  # elementary stream descriptors, kept opaque

    def __post_init__(self) -> None:
        if not 0 <= self.stream_type <= 0xFF or not 0 <= self.stream_id <= 0xFF:
            raise PsError("PSM stream_type and elementary_stream_id are 8-bit")


@dataclass(frozen=True, slots=True)
class ProgramStreamMap:
    entries: tuple[PsmEntry, ...]
    version: int = 0
    current_next: bool = True
    info: bytes = b""  # program stream descriptors, kept opaque

    def __post_init__(self) -> None:
        if not 0 <= self.version <= 31:
            raise PsError(f"program_stream_map_version {self.version} is not 5-bit")
        size = 10 + len(self.info) + sum(4 + len(e.info) for e in self.entries)
        if size > MAX_PSM_LENGTH:
            raise PsError(f"program stream map of {size} bytes exceeds {MAX_PSM_LENGTH}")

    def stream_types(self) -> dict[int, int]:
        """elementary_stream_id -> stream_type."""
        return {e.stream_id: e.stream_type for e in self.entries}


def build_psm(psm: ProgramStreamMap) -> bytes:
    es_map = b"".join(
        bytes((e.stream_type, e.stream_id)) + struct.pack("!H", len(e.info)) + e.info for e in psm.entries
    )
    body = (
        bytes(((psm.current_next << 7) | 0x60 | psm.version, 0xFF))
        + struct.pack("!H", len(psm.info))
        + psm.info
        + struct.pack("!H", len(es_map))
        + es_map
    )
    head = b"\x00\x00\x01\xbc" + struct.pack("!H", len(body) + 4) + body
    return head + struct.pack("!I", crc32_mpeg2(head))


def parse_psm(data: bytes, offset: int = 0) -> tuple[ProgramStreamMap, int]:
    """Parse a program stream map; all inner lengths must fit program_stream_map_length.
    The CRC is not enforced (cameras in the field often get it wrong)."""
    if len(data) - offset < 6 or data[offset : offset + 4] != b"\x00\x00\x01\xbc":
        raise PsError("truncated program stream map or missing 0x000001BC")
    length = (data[offset + 4] << 8) | data[offset + 5]
    end = offset + 6 + length
    if not 10 <= length <= MAX_PSM_LENGTH:
        raise PsError(f"program_stream_map_length {length} is not 10..{MAX_PSM_LENGTH}")
    if end > len(data):
        raise PsError(f"program_stream_map_length {length} overruns the data")
    pos = offset + 6
    flags = data[pos]
    info_len = (data[pos + 2] << 8) | data[pos + 3]
    pos += 4
    if pos + info_len + 2 > end - 4:
        raise PsError(f"program_stream_info_length {info_len} overruns the map")
    info = bytes(data[pos : pos + info_len])
    pos += info_len
    es_len = (data[pos] << 8) | data[pos + 1]
    pos += 2
    es_end = pos + es_len
    if es_end > end - 4:
        raise PsError(f"elementary_stream_map_length {es_len} overruns the map")
    entries = []
    while pos < es_end:
        if pos + 4 > es_end:
            raise PsError("truncated elementary stream map entry")
        stream_type, stream_id = data[pos], data[pos + 1]
        es_info_len = (data[pos + 2] << 8) | data[pos + 3]
        pos += 4
        if pos + es_info_len > es_end:
            raise PsError(f"elementary_stream_info_length {es_info_len} overruns the map")
        entries.append(PsmEntry(stream_type, stream_id, bytes(data[pos : pos + es_info_len])))
        pos += es_info_len
    return ProgramStreamMap(tuple(entries), flags & 0x1F, bool(flags & 0x80), info), end


# -- PES packet, 2.4.3.6 -------------------------------------------------------------------


def _encode_ts(prefix: int, ts: int) -> bytes:
    return bytes(
        (
            (prefix << 4) | ((ts >> 29) & 0x0E) | 1,
            (ts >> 22) & 0xFF,
            ((ts >> 14) & 0xFE) | 1,
            (ts >> 7) & 0xFF,
            ((ts << 1) & 0xFE) | 1,
        )
    )


def _decode_ts(b: bytes, i: int) -> int:
    return ((b[i] >> 1) & 7) << 30 | b[i + 1] << 22 | (b[i + 2] >> 1) << 15 | b[i + 3] << 7 | b[i + 4] >> 1


@dataclass(frozen=True, slots=True)
class PesPacket:
    """A PES packet of an audio (0xC0..0xDF) or video (0xE0..0xEF) stream."""

    stream_id: int
    payload: bytes
    pts: int | None = None
    dts: int | None = None
    data_alignment: bool = False

    def __post_init__(self) -> None:
        if not 0xC0 <= self.stream_id <= 0xEF:
            raise PsError(f"stream_id {self.stream_id:#x} is not an audio or video stream")
        _check_ts("PTS", self.pts)
        _check_ts("DTS", self.dts)
        if self.dts is not None and self.pts is None:
            raise PsError("a DTS without a PTS is forbidden (PTS_DTS_flags '01')")
        header = 3 + (10 if self.dts is not None else 5 if self.pts is not None else 0)
        if header + len(self.payload) > MAX_PES_LENGTH:
            raise PsError(f"PES payload of {len(self.payload)} bytes exceeds PES_packet_length")


def build_pes(pes: PesPacket) -> bytes:
    return _pes_bytes(pes.stream_id, pes.payload, pes.pts, pes.dts, pes.data_alignment)


def _pes_bytes(
    stream_id: int,
    payload: bytes | memoryview,
    pts: int | None,
    dts: int | None,
    alignment: bool,
) -> bytes:
    if pts is None:
        fields, flags = b"", 0
    elif dts is None:
        fields, flags = _encode_ts(2, pts), 0x80
    else:
        fields, flags = _encode_ts(3, pts) + _encode_ts(1, dts), 0xC0
    length = 3 + len(fields) + len(payload)
    return (
        bytes(
            (0, 0, 1, stream_id, length >> 8, length & 0xFF, 0x84 if alignment else 0x80, flags, len(fields))
        )
        + fields
        + payload
    )


def _pes_header(buf: bytes, pos: int, length: int) -> tuple[int, int | None, int | None]:
    """(header end, pts, dts) of the PES at ``pos`` whose first 9 bytes and
    PES_header_data_length bytes are present. Raises PsError on inconsistency."""
    if length < 3:
        raise PsError(f"PES_packet_length {length} is too short for the PES header")
    if buf[pos + 6] >> 6 != 2:
        raise PsError("PES header is not MPEG-2 ('10' marker missing)")
    hdr_len = buf[pos + 8]
    if 3 + hdr_len > length:
        raise PsError(f"PES_header_data_length {hdr_len} exceeds PES_packet_length {length}")
    flags = buf[pos + 7] >> 6
    pts = dts = None
    if flags == 2:
        if hdr_len < 5:
            raise PsError("PTS flag set but PES_header_data_length < 5")
        pts = _decode_ts(buf, pos + 9)
    elif flags == 3:
        if hdr_len < 10:
            raise PsError("PTS and DTS flags set but PES_header_data_length < 10")
        pts = _decode_ts(buf, pos + 9)
        dts = _decode_ts(buf, pos + 14)
    elif flags == 1:
        raise PsError("PTS_DTS_flags '01' is forbidden")
    return pos + 9 + hdr_len, pts, dts


def parse_pes(data: bytes, offset: int = 0) -> tuple[PesPacket, int]:
    """Parse one audio/video PES packet whose bytes are all present."""
    n = len(data)
    if n - offset < 9 or data[offset : offset + 3] != _PREFIX:
        raise PsError("truncated PES header or missing start code prefix")
    sid = data[offset + 3]
    if not 0xC0 <= sid <= 0xEF:
        raise PsError(f"stream_id {sid:#x} is not an audio or video stream")
    length = (data[offset + 4] << 8) | data[offset + 5]
    end = offset + 6 + length
    if end > n:
        raise PsError(f"PES_packet_length {length} overruns the data by {end - n}")
    start, pts, dts = _pes_header(data, offset, length)
    return PesPacket(sid, bytes(data[start:end]), pts, dts, bool(data[offset + 6] & 4)), end


# -- frames, muxer -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PsFrame:
    """One elementary-stream frame (access unit) taken out of a program stream.

    ``stream_type`` comes from the program stream map (or is guessed for H.264/H.265 video
    when no map was seen; 0 when unknown); ``pts``/``dts`` are 33-bit 90 kHz values
    (``dts`` equals ``pts`` when the PES carried none; wrap-around is the caller's
    concern); video ``data`` is Annex B; audio frames count as keyframes.
    """

    stream_id: int
    stream_type: int
    pts: int | None
    dts: int | None
    keyframe: bool
    data: bytes

    def __post_init__(self) -> None:
        if not 0xC0 <= self.stream_id <= 0xEF:
            raise PsError(f"stream_id {self.stream_id:#x} is not an audio or video stream")
        _check_ts("PTS", self.pts)
        _check_ts("DTS", self.dts)

    @property
    def is_video(self) -> bool:
        return _is_video(self.stream_id)

    @property
    def is_audio(self) -> bool:
        return _is_audio(self.stream_id)

    @property
    def codec(self) -> str | None:
        """FFmpeg/PyAV codec name, e.g. ``h264``, ``hevc``, ``pcm_alaw``."""
        return STREAM_CODECS.get(self.stream_type)


class PsMuxer:
    """Build one PS pack per frame the way GB/T 28181 devices do (Appendix C)."""

    def __init__(
        self,
        video_stream_type: int = StreamType.H264,
        audio_stream_type: int | None = None,
        *,
        max_pes_payload: int = MAX_PES_LENGTH - 13,
        mux_rate: int = 0x3FFF,
        headers_on_keyframes: bool = True,
    ) -> None:
        if not 1 <= max_pes_payload <= MAX_PES_LENGTH - 13:
            raise PsError(f"max_pes_payload {max_pes_payload} is not 1..{MAX_PES_LENGTH - 13}")
        self.video_stream_type = video_stream_type
        self.audio_stream_type = audio_stream_type
        self.max_pes_payload = max_pes_payload
        self.mux_rate = mux_rate
        self.headers_on_keyframes = headers_on_keyframes  # False: act like devices without PSM
        entries = [PsmEntry(video_stream_type, VIDEO_ID)]
        bounds = [StreamBound(VIDEO_ID, 1, 1024)]
        if audio_stream_type is not None:
            entries.append(PsmEntry(audio_stream_type, AUDIO_ID))
            bounds.append(StreamBound(AUDIO_ID, 0, 32))
        self._headers = build_system_header(
            SystemHeader(mux_rate, int(audio_stream_type is not None), 1, tuple(bounds))
        ) + build_psm(ProgramStreamMap(tuple(entries)))

    def mux_video(self, data: bytes, pts: int, dts: int | None = None, keyframe: bool | None = None) -> bytes:
        """A pack carrying one video access unit (Annex B); ``keyframe=None`` looks at the
        NAL units. Keyframes also carry the system header and the program stream map."""
        if keyframe is None:
            codec = _VIDEO_CODECS.get(self.video_stream_type)
            keyframe = codec is not None and is_keyframe(data, codec)
        with_headers = keyframe and self.headers_on_keyframes
        return self._pack(VIDEO_ID, data, pts, None if dts == pts else dts, with_headers)

    def mux_audio(self, data: bytes, pts: int) -> bytes:
        """A pack carrying one audio frame."""
        if self.audio_stream_type is None:
            raise PsError("this muxer has no audio stream")
        return self._pack(AUDIO_ID, data, pts, None, False)

    def _pack(self, stream_id: int, data: bytes, pts: int, dts: int | None, with_headers: bool) -> bytes:
        _check_ts("PTS", pts)
        _check_ts("DTS", dts)
        parts = [build_pack_header(PackHeader(dts if dts is not None else pts, 0, self.mux_rate))]
        if with_headers:
            parts.append(self._headers)
        view = memoryview(data)
        step = self.max_pes_payload
        parts.append(_pes_bytes(stream_id, view[:step], pts, dts, True))
        for i in range(step, len(data), step):
            parts.append(_pes_bytes(stream_id, view[i : i + step], None, None, False))
        return b"".join(parts)


# -- demuxer -------------------------------------------------------------------------------


@dataclass(slots=True)
class PsStats:
    """Demuxer counters, updated in place."""

    packs: int = 0
    system_headers: int = 0
    psms: int = 0
    pes_packets: int = 0
    skipped_packets: int = 0  # padding, private and other streams
    frames: int = 0
    frames_dropped: int = 0  # damaged by an error, or continuation without a start
    errors: int = 0
    junk_bytes: int = 0  # skipped while resynchronising


class _Pending:
    __slots__ = ("damaged", "dts", "parts", "pts", "size", "stream_id")

    def __init__(self, stream_id: int, pts: int | None, dts: int | None) -> None:
        self.stream_id = stream_id
        self.pts = pts
        self.dts = dts
        self.parts: list[bytes | memoryview] = []
        self.size = 0
        self.damaged = False


class PsDemuxer:
    """Streaming program stream demuxer (sans-I/O): ``push(chunk)`` returns the frames that
    became complete. A frame is complete when a PES of the same stream with a different PTS
    starts, or at ``flush()`` -- call it after pushing a whole RTP frame (marker bit) to get
    each frame without waiting for the next. ``reset()`` after lost data.

    Errors (a length field that disagrees with the bytes, junk between packets, a frame
    above ``max_frame_size``) drop the frames in progress, count in ``stats.errors`` with
    the reason in ``last_error``, and resynchronise on the next pack header; with
    ``strict=True`` they also raise :class:`PsError` (the rest of that chunk is discarded).
    Held bytes never exceed one partial header (< 1.1 KiB) plus frames in progress.
    """

    def __init__(self, *, max_frame_size: int = 8 << 20, strict: bool = False) -> None:
        if max_frame_size < 1:
            raise PsError("max_frame_size must be positive")
        self.max_frame_size = max_frame_size
        self.strict = strict
        self.stats = PsStats()
        self.last_error: str | None = None
        self.stream_types: dict[int, int] = {}  # from the PSM, or guessed
        self.scr: int | None = None  # of the last pack header
        self._tail = b""  # an incomplete header, waiting for more bytes
        self._need = 0  # bytes of the current packet still to come
        self._target: _Pending | None = None  # where they go (None: skip them)
        self._pending: dict[int, _Pending] = {}
        self._hunting = False  # after an error: skip to the next pack header

    # -- public ----------------------------------------------------------------------------

    def push(self, data: bytes) -> list[PsFrame]:
        if type(data) is not bytes:
            data = bytes(data)
        out: list[PsFrame] = []
        need = self._need
        pos = 0
        if need:
            n = len(data)
            take = need if need < n else n
            self._need = need - take
            target = self._target
            if target is not None and not target.damaged:
                self._append(target, data if take == n else memoryview(data)[:take], take)
            if take == n:
                return out
            pos = take
        if self._tail:
            data = self._tail + data[pos:]
            pos = 0
            self._tail = b""
        self._parse(data, pos, out)
        return out

    @property
    def buffered(self) -> int:
        """Bytes held: a partial header plus the frames in progress."""
        return len(self._tail) + sum(p.size for p in self._pending.values() if p.parts)

    def flush(self) -> list[PsFrame]:
        """Emit every frame in progress whose PES packets are complete."""
        out: list[PsFrame] = []
        busy = self._target if self._need else None
        for p in list(self._pending.values()):
            if p is not busy:
                self._emit(p, out)
        return out

    def reset(self) -> None:
        """Forget partial data (after a loss); learned stream types are kept."""
        self.stats.frames_dropped += sum(1 for p in self._pending.values() if p.parts)
        self._pending.clear()
        self._tail = b""
        self._need = 0
        self._target = None
        self._hunting = True

    # -- internals -------------------------------------------------------------------------

    def _append(self, p: _Pending, chunk: bytes | memoryview, size: int) -> None:
        p.size += size
        if p.size > self.max_frame_size:
            p.parts = []
            self._error(f"frame of stream {p.stream_id:#x} exceeds {self.max_frame_size} bytes")
        else:
            p.parts.append(chunk)

    def _error(self, message: str) -> None:
        self.stats.errors += 1
        self.last_error = message
        for p in self._pending.values():
            p.damaged = True
        self._hunting = True
        if self.strict:
            raise PsError(message)

    def _emit(self, p: _Pending, out: list[PsFrame]) -> None:
        if self._pending.get(p.stream_id) is p:
            del self._pending[p.stream_id]
        if p.damaged or not p.parts:
            self.stats.frames_dropped += 1
            return
        parts = p.parts
        data = parts[0] if len(parts) == 1 and type(parts[0]) is bytes else b"".join(parts)
        assert type(data) is bytes
        sid = p.stream_id
        stream_type = self.stream_types.get(sid, 0)
        keyframe = True
        if sid >= VIDEO_ID:
            codec = _VIDEO_CODECS.get(stream_type)
            if codec is None and not stream_type:
                codec = guess_codec(data)
                if codec is not None:
                    stream_type = self.stream_types[sid] = _CODEC_STREAM_TYPES[codec]
            keyframe = codec is not None and is_keyframe(data, codec)
        self.stats.frames += 1
        dts = p.dts if p.dts is not None else p.pts  # 2.4.3.7: no DTS means DTS = PTS
        out.append(PsFrame(sid, stream_type, p.pts, dts, keyframe, data))

    def _parse(self, buf: bytes, pos: int, out: list[PsFrame]) -> None:
        n = len(buf)
        stats = self.stats
        mv: memoryview | None = None
        while True:
            if n - pos < 4:
                self._tail = buf[pos:]
                return
            if self._hunting:
                q = buf.find(PACK_START, pos)
                if q < 0:
                    keep = max(pos, n - 3)
                    stats.junk_bytes += keep - pos
                    self._tail = buf[keep:]
                    return
                stats.junk_bytes += q - pos
                pos = q
            elif buf[pos] or buf[pos + 1] or buf[pos + 2] != 1:
                q = buf.find(_PREFIX, pos)
                if q < 0:
                    q = max(pos, n - 2)
                    if buf.count(0, pos, q) != q - pos:
                        self._error("junk instead of a start code")
                    stats.junk_bytes += q - pos
                    self._tail = buf[q:]
                    return
                stats.junk_bytes += q - pos
                if buf.count(0, pos, q) != q - pos:  # zero stuffing is tolerated
                    pos = q
                    self._error("junk between packets (a length field lied?)")
                    continue
                pos = q
                continue
            sid = buf[pos + 3]
            if sid == _PACK_ID:
                if n - pos < 14:
                    self._tail = buf[pos:]
                    return
                marker = buf[pos + 4] >> 4
                if marker >> 2 == 1:
                    size = 14 + (buf[pos + 13] & 7)
                    if n - pos < size:
                        self._tail = buf[pos:]
                        return
                    self.scr = _pack_fields(buf, pos)[0]
                elif marker == 2:  # MPEG-1 pack header (ISO/IEC 11172-1), 12 bytes
                    size = 12
                else:
                    pos += 4
                    self._error("pack header is neither MPEG-2 nor MPEG-1")
                    continue
                self._hunting = False
                stats.packs += 1
                pos += size
                continue
            if sid == _END_ID:
                pos += 4
                continue
            if sid < _END_ID:
                pos += 3
                self._error(f"start code {sid:#04x} is not a program stream packet")
                continue
            if n - pos < 6:
                self._tail = buf[pos:]
                return
            length = (buf[pos + 4] << 8) | buf[pos + 5]
            end = pos + 6 + length
            if 0xC0 <= sid <= 0xEF:
                if length < 3:
                    pos += 4
                    self._error(f"PES_packet_length {length} of stream {sid:#x}")
                    continue
                if n - pos < 9 or n - pos < 9 + buf[pos + 8]:
                    self._tail = buf[pos:]
                    return
                try:
                    start, pts, dts = _pes_header(buf, pos, length)
                except PsError as exc:
                    pos += 4
                    self._error(str(exc))
                    continue
                stats.pes_packets += 1
                pending = self._pending.get(sid)
                if pts is not None and (pending is None or pending.pts != pts):
                    if pending is not None:
                        self._emit(pending, out)
                    pending = self._pending[sid] = _Pending(sid, pts, dts)
                elif pending is None:
                    stats.frames_dropped += 1  # a continuation whose start was lost
                target = pending
                if end <= n:
                    if target is not None and not target.damaged and end > start:
                        if mv is None:
                            mv = memoryview(buf)
                        self._append(target, mv[start:end], end - start)
                    pos = end
                    continue
                if target is not None and not target.damaged and n > start:
                    if mv is None:
                        mv = memoryview(buf)
                    self._append(target, mv[start:], n - start)
                self._need = end - n
                self._target = target
                return
            if sid in (_PSM_ID, _SYSTEM_ID):
                limit = MAX_PSM_LENGTH if sid == _PSM_ID else _MAX_SYSTEM_HEADER_LENGTH
                if length > limit:
                    pos += 4
                    self._error(f"header length {length} of {sid:#x} exceeds {limit}")
                    continue
                if end > n:
                    self._tail = buf[pos:]
                    return
                try:
                    if sid == _PSM_ID:
                        psm, _ = parse_psm(buf, pos)
                        self.stream_types.update(psm.stream_types())
                        stats.psms += 1
                    else:
                        parse_system_header(buf, pos)
                        stats.system_headers += 1
                except PsError as exc:
                    pos += 4
                    self._error(str(exc))
                    continue
                pos = end
                continue
            # padding, private streams, ECM/EMM, directory...: skipped by length
            stats.skipped_packets += 1
            if end <= n:
                pos = end
                continue
            self._need = end - n
            self._target = None
            return
