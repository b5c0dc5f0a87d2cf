"""H.264 / H.265 elementary streams: Annex B NAL units, keyframes, parameter sets, SPS
parsing, Annex B <-> length-prefixed conversion and decoder configuration records.

References: ITU-T H.264 (7.3.1 NAL header, 7.3.2.1.1 SPS, E.1.1 VUI, Annex B byte stream),
ITU-T H.265 (7.3.1.2 NAL header, 7.3.2.2 SPS, 7.3.3 profile_tier_level), ISO/IEC 14496-15
(5.3.3.1 AVCDecoderConfigurationRecord ``avcC``, 8.3.3.1 HEVCDecoderConfigurationRecord
``hvcC``).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from enum import IntEnum, StrEnum

from xueliang.media.errors import BitstreamError

__all__ = [
    "AvcConfig",
    "BitReader",
    "H264NalType",
    "H264Sps",
    "H265NalType",
    "H265Sps",
    "ParameterSets",
    "VideoCodec",
    "annexb_to_avcc",
    "avcc_to_annexb",
    "build_avcc_config",
    "build_hvcc_config",
    "escape_rbsp",
    "guess_codec",
    "is_keyframe",
    "iter_nal_units",
    "nal_type",
    "parameter_sets",
    "parse_avcc_config",
    "parse_h264_sps",
    "parse_h265_sps",
    "split_annexb",
    "unescape_rbsp",
]

_START = b"\x00\x00\x01"


class VideoCodec(StrEnum):
    """Video codecs carried in GB/T 28181 PS; values are FFmpeg/PyAV decoder names."""

    H264 = "h264"
    H265 = "hevc"


class H264NalType(IntEnum):
    """nal_unit_type, H.264 Table 7-1."""

    SLICE = 1
    SLICE_DPA = 2
    SLICE_DPB = 3
    SLICE_DPC = 4
    IDR = 5
    SEI = 6
    SPS = 7
    PPS = 8
    AUD = 9
    END_OF_SEQUENCE = 10
    END_OF_STREAM = 11
    FILLER = 12
    SPS_EXT = 13
    PREFIX = 14
    SUBSET_SPS = 15


class H265NalType(IntEnum):
    """nal_unit_type, H.265 Table 7-1 (VCL 0..31; IRAP 16..23)."""

    TRAIL_N = 0
    TRAIL_R = 1
    TSA_N = 2
    TSA_R = 3
    STSA_N = 4
    STSA_R = 5
    RADL_N = 6
    RADL_R = 7
    RASL_N = 8
    RASL_R = 9
    BLA_W_LP = 16
    BLA_W_RADL = 17
    BLA_N_LP = 18
    IDR_W_RADL = 19
    IDR_N_LP = 20
    CRA = 21
    VPS = 32
    SPS = 33
    PPS = 34
    AUD = 35
    EOS = 36
    EOB = 37
    FILLER = 38
    PREFIX_SEI = 39
    SUFFIX_SEI = 40


# -- Annex B ------------------------------------------------------------------------------


def _nal_starts(data: bytes) -> Iterator[int]:
    """Offsets of NAL unit headers: the byte after each ``00 00 01`` (Annex B.2)."""
    find = data.find
    i = find(_START)
    while i >= 0:
        i += 3
        yield i
        i = find(_START, i)


def iter_nal_units(data: bytes) -> Iterator[bytes]:
    """NAL units of an Annex B byte stream, start codes and trailing zero bytes removed
    (3- and 4-byte start codes; bytes before the first start code are ignored)."""
    find = data.find
    i = find(_START)
    while i >= 0:
        start = i + 3
        nxt = find(_START, start)
        end = len(data) if nxt < 0 else nxt
        while end > start and data[end - 1] == 0:  # zero_byte / trailing_zero_8bits
            end -= 1
        if end > start:
            yield data[start:end]
        i = nxt


def split_annexb(data: bytes) -> list[bytes]:
    """All NAL units of an Annex B access unit (see :func:`iter_nal_units`)."""
    return list(iter_nal_units(data))


def nal_type(nal: bytes, codec: VideoCodec) -> int:
    """nal_unit_type of a NAL unit (H.264 7.3.1, H.265 7.3.1.2)."""
    if not nal:
        raise BitstreamError("empty NAL unit")
    return nal[0] & 0x1F if codec is VideoCodec.H264 else (nal[0] >> 1) & 0x3F


def is_keyframe(access_unit: bytes, codec: VideoCodec) -> bool:
    """True when the access unit's first slice is IDR (H.264) or IRAP (H.265).

    Only the NAL headers up to the first slice are looked at (``bytes.find`` hops over
    slice data), so this is cheap for large frames.
    """
    for i in _nal_starts(access_unit):
        if i >= len(access_unit):
            break
        b = access_unit[i]
        if codec is VideoCodec.H264:
            t = b & 0x1F
            if 1 <= t <= 5:
                return t == 5
        else:
            t = (b >> 1) & 0x3F
            if t < 32:
                return 16 <= t <= 23
    return False


_H264_NONREF_ONLY = {6, 9, 10, 11, 12}  # must have nal_ref_idc == 0 (7.4.1)
_H264_REF_ONLY = {5, 7, 8}  # must have nal_ref_idc != 0
# unspecified/reserved, and data partitioning (Extended profile only, never met in GB gear)
_H264_UNUSED = {0, 2, 3, 4} | set(range(16, 32))
_H265_KNOWN = set(range(0, 10)) | set(range(16, 22)) | set(range(32, 41))


def guess_codec(access_unit: bytes, max_nals: int = 16) -> VideoCodec | None:
    """Tell H.264 from H.265 by which one's NAL header rules every NAL unit obeys (for
    streams that arrive without a program stream map). None when neither or both fit."""
    h264 = h265 = True
    h264_strong = h265_strong = False
    n = len(access_unit)
    for seen, i in enumerate(_nal_starts(access_unit), 1):
        if i + 1 >= n:
            break
        b0, b1 = access_unit[i], access_unit[i + 1]
        if b0 & 0x80:
            return None  # forbidden_zero_bit
        t4, ref = b0 & 0x1F, b0 >> 5
        if t4 in _H264_UNUSED or (t4 in _H264_NONREF_ONLY and ref) or (t4 in _H264_REF_ONLY and not ref):
            h264 = False
        h264_strong |= t4 in (5, 7)
        t5 = (b0 >> 1) & 0x3F
        layer = ((b0 & 1) << 5) | (b1 >> 3)
        if t5 not in _H265_KNOWN or layer != 0 or (b1 & 7) == 0:
            h265 = False
        h265_strong |= t5 in (19, 20, 32, 33)
        if seen >= max_nals:
            break
    if h264 and not h265:
        return VideoCodec.H264
    if h265 and not h264:
        return VideoCodec.H265
    if h264 and h265 and h264_strong != h265_strong:
        return VideoCodec.H264 if h264_strong else VideoCodec.H265
    return None


@dataclass(frozen=True, slots=True)
class ParameterSets:
    """Parameter sets found in an access unit (``vps`` is empty for H.264)."""

    sps: tuple[bytes, ...] = ()
    pps: tuple[bytes, ...] = ()
    vps: tuple[bytes, ...] = ()


def parameter_sets(access_unit: bytes, codec: VideoCodec) -> ParameterSets:
    """The VPS/SPS/PPS NAL units (without start codes) of an Annex B access unit."""
    vps: list[bytes] = []
    sps: list[bytes] = []
    pps: list[bytes] = []
    table: dict[int, list[bytes]]
    if codec is VideoCodec.H264:
        table = {H264NalType.SPS: sps, H264NalType.PPS: pps}
    else:
        table = {H265NalType.VPS: vps, H265NalType.SPS: sps, H265NalType.PPS: pps}
    for nal in iter_nal_units(access_unit):
        bucket = table.get(nal_type(nal, codec))
        if bucket is not None:
            bucket.append(nal)
    return ParameterSets(tuple(sps), tuple(pps), tuple(vps))


def annexb_to_avcc(data: bytes, length_size: int = 4) -> bytes:
    """Annex B -> length-prefixed NAL units (ISO/IEC 14496-15 5.3.2 sample format)."""
    if length_size not in (1, 2, 4):
        raise BitstreamError(f"NAL length size {length_size} is not 1, 2 or 4")
    limit = 1 << (8 * length_size)
    parts = []
    for nal in iter_nal_units(data):
        if len(nal) >= limit:
            raise BitstreamError(f"NAL unit of {len(nal)} bytes exceeds {length_size}-byte length")
        parts.append(len(nal).to_bytes(length_size, "big"))
        parts.append(nal)
    return b"".join(parts)


def avcc_to_annexb(data: bytes, length_size: int = 4) -> bytes:
    """Length-prefixed NAL units -> Annex B with 4-byte start codes; validates lengths."""
    if length_size not in (1, 2, 4):
        raise BitstreamError(f"NAL length size {length_size} is not 1, 2 or 4")
    parts = []
    pos, n = 0, len(data)
    while pos < n:
        if pos + length_size > n:
            raise BitstreamError("truncated NAL length field")
        size = int.from_bytes(data[pos : pos + length_size], "big")
        pos += length_size
        if pos + size > n:
            raise BitstreamError(f"NAL length {size} overruns the sample by {pos + size - n}")
        parts.append(b"\x00\x00\x00\x01")
        parts.append(data[pos : pos + size])
        pos += size
    return b"".join(parts)


# -- RBSP and the bit reader ---------------------------------------------------------------


def unescape_rbsp(nal: bytes) -> bytes:
    """Remove emulation prevention bytes (``00 00 03`` -> ``00 00``, H.264 7.4.1)."""
    i = nal.find(b"\x00\x00\x03")
    if i < 0:
        return bytes(nal)
    parts = []
    start = 0
    while i >= 0:
        parts.append(nal[start : i + 2])
        start = i + 3
        i = nal.find(b"\x00\x00\x03", start)
    parts.append(nal[start:])
    return b"".join(parts)


def escape_rbsp(rbsp: bytes) -> bytes:
    """Insert emulation prevention bytes: ``00 00`` followed by 00..03 gets a 03 between."""
    out = bytearray()
    zeros = 0
    for b in rbsp:
        if zeros >= 2 and b <= 3:
            out.append(3)
            zeros = 0
        out.append(b)
        zeros = zeros + 1 if b == 0 else 0
    return bytes(out)


class BitReader:
    """MSB-first bit reader with Exp-Golomb codes (H.264 7.2, 9.1); overruns raise
    :class:`BitstreamError`."""

    __slots__ = ("_bits", "_pos", "_value")

    def __init__(self, data: bytes) -> None:
        self._value = int.from_bytes(data, "big")
        self._bits = 8 * len(data)
        self._pos = 0

    @property
    def remaining(self) -> int:
        return self._bits - self._pos

    def u(self, n: int) -> int:
        """u(n): an n-bit unsigned integer."""
        if n == 0:
            return 0
        end = self._pos + n
        if end > self._bits:
            raise BitstreamError(f"read of {n} bits overruns the data")
        self._pos = end
        return (self._value >> (self._bits - end)) & ((1 << n) - 1)

    def flag(self) -> bool:
        return bool(self.u(1))

    def skip(self, n: int) -> None:
        if self._pos + n > self._bits:
            raise BitstreamError(f"skip of {n} bits overruns the data")
        self._pos += n

    def ue(self) -> int:
        """ue(v): unsigned Exp-Golomb."""
        zeros = 0
        while not self.u(1):
            zeros += 1
            if zeros > 31:
                raise BitstreamError("Exp-Golomb code longer than 32 bits")
        return (1 << zeros) - 1 + self.u(zeros)

    def se(self) -> int:
        """se(v): signed Exp-Golomb (9.1.1)."""
        k = self.ue()
        return (k + 1) // 2 if k & 1 else -(k // 2)


# -- H.264 SPS ------------------------------------------------------------------------------

_H264_HIGH_PROFILES = {100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135}


@dataclass(frozen=True, slots=True)
class H264Sps:
    """What a player needs from an H.264 sequence parameter set (7.3.2.1.1); ``width`` and
    ``height`` are after frame cropping; ``fps`` comes from VUI timing when present."""

    profile_idc: int
    constraint_flags: int
    level_idc: int
    sps_id: int
    chroma_format_idc: int
    bit_depth_luma: int
    bit_depth_chroma: int
    width: int
    height: int
    frame_mbs_only: bool
    fps: float | None = None

    def __post_init__(self) -> None:
        if self.width <= 0 or self.height <= 0:
            raise BitstreamError(f"SPS gives a picture of {self.width}x{self.height}")
        if self.sps_id > 31 or self.chroma_format_idc > 3:
            raise BitstreamError("SPS id or chroma_format_idc out of range")


def _skip_scaling_list(r: BitReader, size: int) -> None:
    last = nxt = 8
    for _ in range(size):
        if nxt:
            nxt = (last + r.se() + 256) % 256
        last = nxt or last


def parse_h264_sps(nal: bytes) -> H264Sps:
    """Parse an H.264 SPS NAL unit (with its 1-byte header, emulation prevention intact)."""
    if not nal or nal[0] & 0x1F != H264NalType.SPS:
        raise BitstreamError("not an H.264 SPS NAL unit")
    r = BitReader(unescape_rbsp(nal[1:]))
    profile, constraints, level = r.u(8), r.u(8), r.u(8)
    sps_id = r.ue()
    chroma, separate, depth_l, depth_c = 1, False, 8, 8
    if profile in _H264_HIGH_PROFILES:
        chroma = r.ue()
        if chroma > 3:
            raise BitstreamError(f"chroma_format_idc {chroma}")
        if chroma == 3:
            separate = r.flag()
        depth_l, depth_c = 8 + r.ue(), 8 + r.ue()
        r.skip(1)  # qpprime_y_zero_transform_bypass_flag
        if r.flag():  # seq_scaling_matrix_present_flag
            for i in range(8 if chroma != 3 else 12):
                if r.flag():
                    _skip_scaling_list(r, 16 if i < 6 else 64)
    r.ue()  # log2_max_frame_num_minus4
    poc_type = r.ue()
    if poc_type == 0:
        r.ue()
    elif poc_type == 1:
        r.skip(1)
        r.se()
        r.se()
        cycle = r.ue()
        if cycle > 255:
            raise BitstreamError(f"num_ref_frames_in_pic_order_cnt_cycle {cycle}")
        for _ in range(cycle):
            r.se()
    elif poc_type != 2:
        raise BitstreamError(f"pic_order_cnt_type {poc_type}")
    r.ue()  # max_num_ref_frames
    r.skip(1)  # gaps_in_frame_num_value_allowed_flag
    width_mbs = r.ue() + 1
    height_units = r.ue() + 1
    frame_mbs_only = r.flag()
    if not frame_mbs_only:
        r.skip(1)  # mb_adaptive_frame_field_flag
    r.skip(1)  # direct_8x8_inference_flag
    crop = (0, 0, 0, 0)
    if r.flag():
        crop = (r.ue(), r.ue(), r.ue(), r.ue())
    # 7.4.2.1.1: CropUnitX/Y from ChromaArrayType (0 when monochrome or separate planes).
    array_type = 0 if separate else chroma
    sub_w, sub_h = {0: (1, 1), 1: (2, 2), 2: (2, 1), 3: (1, 1)}[array_type]
    if array_type == 0:
        unit_x, unit_y = 1, 2 - frame_mbs_only
    else:
        unit_x, unit_y = sub_w, sub_h * (2 - frame_mbs_only)
    width = width_mbs * 16 - unit_x * (crop[0] + crop[1])
    height = (2 - frame_mbs_only) * height_units * 16 - unit_y * (crop[2] + crop[3])
    fps = None
    if r.flag():  # vui_parameters_present_flag
        try:
            fps = _h264_vui_fps(r)
        except BitstreamError:
            fps = None  # a truncated VUI does not spoil the picture size
    return H264Sps(
        profile,
        constraints,
        level,
        sps_id,
        chroma,
        depth_l,
        depth_c,
        width,
        height,
        frame_mbs_only,
        fps,
    )


def _h264_vui_fps(r: BitReader) -> float | None:
    """Frame rate from VUI timing_info (E.1.1): time_scale / (2 * num_units_in_tick)."""
    if r.flag() and r.u(8) == 255:  # aspect_ratio_info_present_flag, Extended_SAR
        r.skip(32)
    if r.flag():  # overscan_info_present_flag
        r.skip(1)
    if r.flag():  # video_signal_type_present_flag
        r.skip(4)
        if r.flag():
            r.skip(24)
    if r.flag():  # chroma_loc_info_present_flag
        r.ue()
        r.ue()
    if r.flag():  # timing_info_present_flag
        units, scale = r.u(32), r.u(32)
        if units and scale:
            return scale / (2 * units)
    return None


# -- H.265 SPS ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class H265Sps:
    """What a player (and ``hvcC``) needs from an H.265 SPS (7.3.2.2, 7.3.3); ``width``
    and ``height`` are after the conformance window."""

    profile_space: int
    tier_flag: bool
    profile_idc: int
    profile_compatibility_flags: int
    constraint_indicator_flags: int  # 48 bits
    level_idc: int
    max_sub_layers: int
    temporal_id_nesting: bool
    sps_id: int
    chroma_format_idc: int
    bit_depth_luma: int
    bit_depth_chroma: int
    width: int
    height: int

    def __post_init__(self) -> None:
        if self.width <= 0 or self.height <= 0:
            raise BitstreamError(f"SPS gives a picture of {self.width}x{self.height}")
        if not 1 <= self.max_sub_layers <= 7 or self.chroma_format_idc > 3:
            raise BitstreamError("sub-layer count or chroma_format_idc out of range")


def parse_h265_sps(nal: bytes) -> H265Sps:
    """Parse an H.265 SPS NAL unit (with its 2-byte header, emulation prevention intact)."""
    if len(nal) < 3 or (nal[0] >> 1) & 0x3F != H265NalType.SPS:
        raise BitstreamError("not an H.265 SPS NAL unit")
    r = BitReader(unescape_rbsp(nal[2:]))
    r.skip(4)  # sps_video_parameter_set_id
    max_sub_layers = r.u(3) + 1
    nesting = r.flag()
    # profile_tier_level(1, sps_max_sub_layers_minus1), 7.3.3
    space, tier, profile = r.u(2), r.flag(), r.u(5)
    compat = r.u(32)
    constraints = r.u(48)
    level = r.u(8)
    sub_profile = []
    sub_level = []
    for _ in range(max_sub_layers - 1):
        sub_profile.append(r.flag())
        sub_level.append(r.flag())
    if max_sub_layers > 1:
        r.skip(2 * (9 - max_sub_layers))  # reserved_zero_2bits for i in [msl-1, 8)
    for has_profile, has_level in zip(sub_profile, sub_level, strict=True):
        if has_profile:
            r.skip(88)
        if has_level:
            r.skip(8)
    sps_id = r.ue()
    if sps_id > 15:
        raise BitstreamError(f"sps_seq_parameter_set_id {sps_id}")
    chroma = r.ue()
    if chroma > 3:
        raise BitstreamError(f"chroma_format_idc {chroma}")
    separate = r.flag() if chroma == 3 else False
    width, height = r.ue(), r.ue()
    if r.flag():  # conformance_window_flag; offsets in chroma units (7.4.3.2.1)
        left, right, top, bottom = r.ue(), r.ue(), r.ue(), r.ue()
        array_type = 0 if separate else chroma
        sub_w, sub_h = {0: (1, 1), 1: (2, 2), 2: (2, 1), 3: (1, 1)}[array_type]
        width -= sub_w * (left + right)
        height -= sub_h * (top + bottom)
    depth_l, depth_c = 8 + r.ue(), 8 + r.ue()
    return H265Sps(
        space,
        tier,
        profile,
        compat,
        constraints,
        level,
        max_sub_layers,
        nesting,
        sps_id,
        chroma,
        depth_l,
        depth_c,
        width,
        height,
    )


# -- decoder configuration records ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AvcConfig:
    """AVCDecoderConfigurationRecord (ISO/IEC 14496-15 5.3.3.1)."""

    profile_idc: int
    profile_compatibility: int
    level_idc: int
    length_size: int
    sps: tuple[bytes, ...]
    pps: tuple[bytes, ...]

    def __post_init__(self) -> None:
        if self.length_size not in (1, 2, 4):
            raise BitstreamError(f"NAL length size {self.length_size} is not 1, 2 or 4")
        if not 1 <= len(self.sps) <= 31 or len(self.pps) > 255:
            raise BitstreamError("avcC needs 1..31 SPS and at most 255 PPS")


def build_avcc_config(sps: list[bytes] | tuple[bytes, ...], pps: list[bytes] | tuple[bytes, ...]) -> bytes:
    """``avcC`` payload from SPS and PPS NAL units (4-byte NAL lengths)."""
    if not sps or not pps:
        raise BitstreamError("avcC needs at least one SPS and one PPS")
    first = sps[0]
    if len(first) < 4:
        raise BitstreamError("SPS too short for profile and level")
    config = AvcConfig(first[1], first[2], first[3], 4, tuple(sps), tuple(pps))
    parts = [
        bytes(
            (
                1,
                config.profile_idc,
                config.profile_compatibility,
                config.level_idc,
                0xFC | 3,
                0xE0 | len(config.sps),
            )
        )
    ]
    for nal in config.sps:
        parts.append(struct.pack("!H", len(nal)) + nal)
    parts.append(bytes((len(config.pps),)))
    for nal in config.pps:
        parts.append(struct.pack("!H", len(nal)) + nal)
    if config.profile_idc in (100, 110, 122, 144):
        info = parse_h264_sps(first)
        parts.append(
            bytes(
                (
                    0xFC | info.chroma_format_idc,
                    0xF8 | (info.bit_depth_luma - 8),
                    0xF8 | (info.bit_depth_chroma - 8),
                    0,
                )
            )
        )
    return b"".join(parts)


def parse_avcc_config(data: bytes) -> AvcConfig:
    """Parse an ``avcC`` payload, validating every length."""
    if len(data) < 7 or data[0] != 1:
        raise BitstreamError("avcC shorter than 7 bytes or configurationVersion != 1")
    length_size = (data[4] & 3) + 1
    pos = 5
    sets: list[tuple[bytes, ...]] = []
    for count_mask in (0x1F, 0xFF):
        if pos >= len(data):
            raise BitstreamError("avcC truncated before a parameter set count")
        count = data[pos] & count_mask
        pos += 1
        items = []
        for _ in range(count):
            if pos + 2 > len(data):
                raise BitstreamError("avcC truncated in a parameter set length")
            size = (data[pos] << 8) | data[pos + 1]
            pos += 2
            if pos + size > len(data):
                raise BitstreamError(f"avcC parameter set length {size} overruns the record")
            items.append(bytes(data[pos : pos + size]))
            pos += size
        sets.append(tuple(items))
    return AvcConfig(data[1], data[2], data[3], length_size, sets[0], sets[1])


def build_hvcc_config(
    vps: list[bytes] | tuple[bytes, ...],
    sps: list[bytes] | tuple[bytes, ...],
    pps: list[bytes] | tuple[bytes, ...],
) -> bytes:
    """``hvcC`` payload (ISO/IEC 14496-15 8.3.3.1) from VPS, SPS and PPS NAL units."""
    if not vps or not sps or not pps:
        raise BitstreamError("hvcC needs at least one VPS, SPS and PPS")
    info = parse_h265_sps(sps[0])
    head = struct.pack(
        "!BBIHIBHBBBBHB",
        1,
        (info.profile_space << 6) | (info.tier_flag << 5) | info.profile_idc,
        info.profile_compatibility_flags,
        info.constraint_indicator_flags >> 32,
        info.constraint_indicator_flags & 0xFFFFFFFF,
        info.level_idc,
        0xF000,  # min_spatial_segmentation_idc 0
        0xFC,  # parallelismType 0 (unknown)
        0xFC | info.chroma_format_idc,
        0xF8 | (info.bit_depth_luma - 8),
        0xF8 | (info.bit_depth_chroma - 8),
        0,  # avgFrameRate unspecified
        (info.max_sub_layers << 3) | (info.temporal_id_nesting << 2) | 3,
    )
    parts = [head, bytes((3,))]
    for kind, nals in ((H265NalType.VPS, vps), (H265NalType.SPS, sps), (H265NalType.PPS, pps)):
        parts.append(struct.pack("!BH", 0x80 | kind, len(nals)))  # array_completeness = 1
        for nal in nals:
            parts.append(struct.pack("!H", len(nal)) + nal)
    return b"".join(parts)
