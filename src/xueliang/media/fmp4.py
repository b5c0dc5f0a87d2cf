"""Fragmented MP4 (ISO/IEC 14496-12 ISO BMFF, 8.8 movie fragments) carrying H.264
(ISO/IEC 14496-15 ``avc1``/``avcC``), for Media Source Extensions in the browser.

``init_segment`` once per stream (and again when SPS/PPS change), then one
``media_segment`` per group of samples. Boxes are written with :func:`box` /
:func:`full_box` and read back with :func:`iter_boxes`.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from xueliang.media.errors import Mp4Error
from xueliang.media.h26x import build_avcc_config

__all__ = [
    "Sample",
    "box",
    "codec_string",
    "full_box",
    "init_segment",
    "iter_boxes",
    "media_segment",
]

_MATRIX = struct.pack("!9I", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)  # unity, 8.2.2
_SYNC = 0x02000000  # sample_depends_on = 2 (does not depend on others), 8.8.3.1
_NON_SYNC = 0x01010000  # sample_depends_on = 1, sample_is_non_sync_sample = 1


def box(kind: bytes, *payload: bytes) -> bytes:
    """A box (8.2 of ISO/IEC 14496-12): 32-bit size, 4-character type, payload."""
    if len(kind) != 4:
        raise Mp4Error(f"box type {kind!r} is not 4 characters")
    body = b"".join(payload)
    size = 8 + len(body)
    if size > 0xFFFFFFFF:
        raise Mp4Error(f"box {kind!r} of {size} bytes needs a 64-bit size")
    return struct.pack("!I", size) + kind + body


def full_box(kind: bytes, version: int, flags: int, *payload: bytes) -> bytes:
    """A FullBox: a box whose payload starts with an 8-bit version and 24-bit flags."""
    if not 0 <= version <= 255 or not 0 <= flags < 1 << 24:
        raise Mp4Error(f"full box {kind!r}: version or flags out of range")
    return box(kind, struct.pack("!I", (version << 24) | flags), *payload)


def iter_boxes(data: bytes, offset: int = 0, end: int | None = None) -> Iterator[tuple[bytes, bytes]]:
    """``(type, payload)`` of each box in ``data[offset:end]``; sizes are validated
    (64-bit ``largesize`` and size 0 "to the end" are understood)."""
    end = len(data) if end is None else end
    pos = offset
    while pos < end:
        if end - pos < 8:
            raise Mp4Error(f"{end - pos} trailing bytes are too few for a box header")
        size, kind = struct.unpack_from("!I4s", data, pos)
        header = 8
        if size == 1:
            if end - pos < 16:
                raise Mp4Error("truncated 64-bit box size")
            size = struct.unpack_from("!Q", data, pos + 8)[0]
            header = 16
        elif size == 0:
            size = end - pos
        if size < header or pos + size > end:
            raise Mp4Error(f"box {kind!r} of size {size} does not fit at offset {pos}")
        yield kind, bytes(data[pos + header : pos + size])
        pos += size


def codec_string(sps: bytes) -> str:
    """RFC 6381 codecs parameter for MSE ``addSourceBuffer``: ``avc1.PPCCLL`` from the SPS
    profile_idc, constraint flags and level_idc."""
    if len(sps) < 4 or sps[0] & 0x1F != 7:
        raise Mp4Error("not an H.264 SPS NAL unit")
    return f"avc1.{sps[1]:02x}{sps[2]:02x}{sps[3]:02x}"


def _as_list(value: bytes | Sequence[bytes]) -> list[bytes]:
    return [value] if isinstance(value, bytes | bytearray) else list(value)


def init_segment(
    sps: bytes | Sequence[bytes],
    pps: bytes | Sequence[bytes],
    width: int,
    height: int,
    timescale: int = 90000,
    track_id: int = 1,
) -> bytes:
    """``ftyp`` + ``moov`` for one H.264 video track with empty sample tables and ``mvex``.
    ``sps``/``pps`` are NAL units without start codes."""
    if not 0 < width < 1 << 16 or not 0 < height < 1 << 16:
        raise Mp4Error(f"picture size {width}x{height} out of range")
    if not 0 < timescale < 1 << 32 or not 0 < track_id < 1 << 32:
        raise Mp4Error("timescale and track_id must be positive 32-bit values")
    avcc = build_avcc_config(_as_list(sps), _as_list(pps))
    ftyp = box(b"ftyp", b"iso5", struct.pack("!I", 512), b"iso5", b"iso6", b"avc1", b"mp41")
    mvhd = full_box(
        b"mvhd",
        0,
        0,
        struct.pack("!IIII", 0, 0, timescale, 0),
        struct.pack("!IH", 0x00010000, 0x0100),
        bytes(10),
        _MATRIX,
        bytes(24),
        struct.pack("!I", track_id + 1),
    )
    tkhd = full_box(
        b"tkhd",
        0,
        3,  # track_enabled | track_in_movie
        struct.pack("!IIIII", 0, 0, track_id, 0, 0),
        bytes(8),
        struct.pack("!hhhH", 0, 0, 0, 0),
        _MATRIX,
        struct.pack("!II", width << 16, height << 16),
    )
    mdhd = full_box(b"mdhd", 0, 0, struct.pack("!IIIIHH", 0, 0, timescale, 0, 0x55C4, 0))
    hdlr = full_box(b"hdlr", 0, 0, struct.pack("!I4s", 0, b"vide"), bytes(12), b"VideoHandler\0")
    avc1 = box(
        b"avc1",
        bytes(6),
        struct.pack("!H", 1),  # data_reference_index
        bytes(16),
        struct.pack("!HHIIIH", width, height, 0x00480000, 0x00480000, 0, 1),
        bytes(32),
        struct.pack("!Hh", 0x0018, -1),
        box(b"avcC", avcc),
    )
    stbl = box(
        b"stbl",
        full_box(b"stsd", 0, 0, struct.pack("!I", 1), avc1),
        full_box(b"stts", 0, 0, struct.pack("!I", 0)),
        full_box(b"stsc", 0, 0, struct.pack("!I", 0)),
        full_box(b"stsz", 0, 0, struct.pack("!II", 0, 0)),
        full_box(b"stco", 0, 0, struct.pack("!I", 0)),
    )
    minf = box(
        b"minf",
        full_box(b"vmhd", 0, 1, bytes(8)),
        box(b"dinf", full_box(b"dref", 0, 0, struct.pack("!I", 1), full_box(b"url ", 0, 1))),
        stbl,
    )
    trak = box(b"trak", tkhd, box(b"mdia", mdhd, hdlr, minf))
    mvex = box(b"mvex", full_box(b"trex", 0, 0, struct.pack("!IIIII", track_id, 1, 0, 0, 0)))
    return ftyp + box(b"moov", mvhd, trak, mvex)


@dataclass(frozen=True, slots=True)
class Sample:
    """One video sample: ``data`` is length-prefixed (4-byte lengths, ``avcC`` style);
    ``duration``, ``pts`` and ``dts`` are in the init segment's timescale."""

    data: bytes
    duration: int
    pts: int
    dts: int
    keyframe: bool

    def __post_init__(self) -> None:
        if not 0 <= self.duration < 1 << 32:
            raise Mp4Error(f"sample duration {self.duration} is not 32-bit")
        if not 0 <= self.dts < 1 << 64 or self.pts < 0:
            raise Mp4Error(f"sample dts {self.dts} / pts {self.pts} must be non-negative")
        if not -(1 << 31) <= self.pts - self.dts < 1 << 31:
            raise Mp4Error("composition offset pts - dts does not fit 32 bits")


def media_segment(sequence_number: int, samples: Sequence[Sample], track_id: int = 1) -> bytes:
    """``moof`` (``mfhd``, ``traf``: ``tfhd``, ``tfdt``, ``trun``) + ``mdat`` for samples
    in decode order. Uses default-base-is-moof and a version-1 ``trun`` (signed
    composition offsets, so B-frames need no edit list)."""
    if not samples:
        raise Mp4Error("a media segment needs at least one sample")
    if not 0 <= sequence_number < 1 << 32:
        raise Mp4Error(f"sequence number {sequence_number} is not 32-bit")
    entries = b"".join(
        struct.pack("!IIIi", s.duration, len(s.data), _SYNC if s.keyframe else _NON_SYNC, s.pts - s.dts)
        for s in samples
    )
    trun_flags = 0x001 | 0x100 | 0x200 | 0x400 | 0x800  # offset, duration, size, flags, cto

    def moof(data_offset: int) -> bytes:
        return box(
            b"moof",
            full_box(b"mfhd", 0, 0, struct.pack("!I", sequence_number)),
            box(
                b"traf",
                full_box(b"tfhd", 0, 0x020000, struct.pack("!I", track_id)),
                full_box(b"tfdt", 1, 0, struct.pack("!Q", samples[0].dts)),
                full_box(b"trun", 1, trun_flags, struct.pack("!Ii", len(samples), data_offset), entries),
            ),
        )

    size = len(moof(0))
    return moof(size + 8) + box(b"mdat", *(s.data for s in samples))
