"""Packaging H.264 frames for Media Source Extensions (pure): an init segment built from
the SPS/PPS of each keyframe, and one fMP4 fragment (``moof`` + ``mdat``) per frame.

A fragment is built once per frame and shared by every viewer of a stream: fragments carry
the hub's continuous timeline (``tfdt``) and a stream-wide sequence number, so relaying to
many viewers costs no per-viewer packaging.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from xueliang.media.errors import MediaError
from xueliang.media.fmp4 import Sample, codec_string, init_segment, media_segment
from xueliang.media.frames import CLOCK_RATE, MediaFrame
from xueliang.media.h26x import VideoCodec, annexb_to_avcc, parameter_sets, parse_h264_sps

__all__ = ["Fmp4Packager", "MseFragment", "MseInit"]


@dataclass(frozen=True, slots=True, eq=False)
class MseInit:
    """What a player needs before fragments: the ``codec`` string for ``addSourceBuffer``,
    the picture size and the init segment (``ftyp`` + ``moov``)."""

    codec: str
    width: int
    height: int
    segment: bytes

    def message(self) -> str:
        """The JSON text message sent before the init segment."""
        return json.dumps({"type": "init", "codec": self.codec, "width": self.width, "height": self.height})


@dataclass(frozen=True, slots=True, eq=False)
class MseFragment:
    """One frame as a media segment, with the init segment it belongs to."""

    init: MseInit
    data: bytes
    keyframe: bool

    @property
    def size(self) -> int:
        return len(self.data)


class Fmp4Packager:
    """H.264 :class:`MediaFrame` -> :class:`MseFragment`. Frames before the first keyframe
    carrying SPS and PPS give None; a keyframe whose SPS/PPS differ starts a new init."""

    def __init__(self) -> None:
        self.init: MseInit | None = None
        self.sequence = 0
        self.duration = CLOCK_RATE // 25
        self._params: tuple[tuple[bytes, ...], tuple[bytes, ...]] | None = None
        self._last_dts: int | None = None

    def package(self, frame: MediaFrame) -> MseFragment | None:
        if frame.codec is not VideoCodec.H264:
            raise MediaError(f"fMP4 for MSE carries H.264, not {frame.codec.value}")
        if frame.keyframe:
            self._update_init(frame.data)
        init = self.init
        if init is None:
            return None
        dts = frame.decode_time
        if self._last_dts is not None and 0 < dts - self._last_dts < CLOCK_RATE:
            self.duration = dts - self._last_dts
        self._last_dts = dts
        self.sequence = (self.sequence + 1) & 0xFFFFFFFF
        sample = Sample(annexb_to_avcc(frame.data), self.duration, frame.pts, dts, frame.keyframe)
        return MseFragment(init, media_segment(self.sequence, [sample]), frame.keyframe)

    def _update_init(self, access_unit: bytes) -> None:
        sets = parameter_sets(access_unit, VideoCodec.H264)
        if not sets.sps or not sets.pps:
            return
        params = (sets.sps, sets.pps)
        if params == self._params:
            return
        sps = parse_h264_sps(sets.sps[0])
        self.init = MseInit(
            codec_string(sets.sps[0]),
            sps.width,
            sps.height,
            init_segment(sets.sps, sets.pps, sps.width, sps.height),
        )
        self._params = params
