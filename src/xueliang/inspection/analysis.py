"""Decode and diagnose (blocking: run in a worker pool, never on the event loop).

Only keyframes are decoded (``skip_frame = "NONKEY"``), each by a fresh decoder since every
keyframe a camera sends carries its parameter sets, and the picture is scaled by swscale
straight into the ~640×360 BGR array the VQD detectors analyse: the decode, not the
analysis, is the dominant cost of an inspection.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import av
import cv2
import numpy as np

from xueliang.inspection.check import Capture, FailureClass, OutputFailure
from xueliang.media import MediaFrame
from xueliang.quality import (
    ANALYSIS_SIZE,
    Diagnosis,
    Reference,
    Thresholds,
    diagnose,
    diagnose_with_reference,
)

__all__ = [
    "Analysis",
    "analyse_capture",
    "decode_picture",
    "diagnosis_state",
    "reference_from_bytes",
    "reference_to_bytes",
]

THUMBNAIL_SIZE = (320, 180)


@dataclass(frozen=True, slots=True)
class Analysis:
    """What the worker returns: the diagnosis, the source picture size, a JPEG thumbnail,
    and the reference built from this frame when one was asked for."""

    diagnosis: Diagnosis
    width: int
    height: int
    thumbnail: bytes
    reference: bytes | None = None
    metrics: dict[str, float] = field(default_factory=dict)


def _fit(width: int, height: int, box: tuple[int, int]) -> tuple[int, int]:
    """The size of a ``width``×``height`` picture scaled down to fit ``box`` (even sizes)."""
    scale = min(1.0, box[0] / width, box[1] / height)
    return max(2, round(width * scale / 2) * 2), max(2, round(height * scale / 2) * 2)


def decode_picture(frame: MediaFrame, size: tuple[int, int] = ANALYSIS_SIZE) -> tuple[np.ndarray, int, int]:
    """A keyframe as a BGR array scaled to fit ``size``, and the picture's own size.

    Raises :class:`OutputFailure` (``undecodable``) when it yields no picture.
    """
    decoder = av.CodecContext.create(frame.codec.value, "r")
    decoder.thread_type = "NONE"  # one picture: FFmpeg's threads would only cost their start-up
    decoder.skip_frame = "NONKEY"
    try:
        pictures = list(decoder.decode(av.Packet(frame.data)))
        if not pictures:
            pictures = list(decoder.decode(None))
    except (av.FFmpegError, ValueError) as exc:
        raise OutputFailure(FailureClass.UNDECODABLE, f"the keyframe could not be decoded: {exc}") from exc
    if not pictures:
        raise OutputFailure(FailureClass.UNDECODABLE, "the keyframe decoded to no picture")
    picture = pictures[0]
    width, height = picture.width, picture.height
    out_w, out_h = _fit(width, height, size)
    scaled = picture.reformat(width=out_w, height=out_h, format="bgr24", interpolation="AREA")
    return scaled.to_ndarray(), width, height


def reference_to_bytes(reference: Reference) -> bytes:
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **reference.to_arrays())
    return buffer.getvalue()


def reference_from_bytes(data: bytes) -> Reference:
    with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
        return Reference.from_arrays({name: arrays[name] for name in arrays.files})


# Root causes first: a black screen also looks frozen, an occluded lens also looks dark.
SEVERITY = (
    "signal_loss",
    "occlusion",
    "scene_change",
    "frozen",
    "too_dark",
    "too_bright",
    "blur",
    "color_cast",
    "stripes",
    "noise",
    "jitter",
)


def diagnosis_state(diagnosis: Diagnosis) -> str:
    """The ``integrity`` availability state: ``intact``, or the name of the defect that
    most likely causes the others (:data:`SEVERITY` order), e.g. ``signal_loss``."""
    if diagnosis.ok or not diagnosis.defects:
        return "intact"
    names = [d.kind.value for d in diagnosis.defects]
    ranked = sorted(names, key=lambda n: SEVERITY.index(n) if n in SEVERITY else len(SEVERITY))
    return str(ranked[0])[:16]


def _jpeg(picture: np.ndarray, quality: int = 70) -> bytes:
    small = cv2.resize(
        picture, _fit(picture.shape[1], picture.shape[0], THUMBNAIL_SIZE), interpolation=cv2.INTER_AREA
    )
    ok, buffer = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return buffer.tobytes()


def analyse_capture(
    capture: Capture,
    reference: bytes | None,
    thresholds: Thresholds | None = None,
    *,
    make_reference_if: str = "healthy",
) -> Analysis:
    """Decode the capture and diagnose it against the stored ``reference`` (npz bytes).

    ``make_reference_if``: ``"healthy"`` builds a reference when there is none and the
    picture is healthy (the first healthy inspection sets it); ``"always"`` builds one from
    this picture whatever it shows (an operator re-setting it); ``"never"``.
    """
    picture, width, height = decode_picture(capture.first)
    previous = None
    if capture.second is not None:
        try:
            # the later frame is the one diagnosed; the first is its "previous"
            previous, picture = picture, decode_picture(capture.second)[0]
        except OutputFailure:
            previous = None
    ref = reference_from_bytes(reference) if reference is not None else None
    new_reference = None
    if make_reference_if == "always" or (make_reference_if == "healthy" and ref is None):
        result, view = diagnose_with_reference(
            picture, previous=previous, reference=ref, thresholds=thresholds
        )
        if make_reference_if == "always" or result.ok:
            new_reference = reference_to_bytes(view)
    else:  # a reference is kept: none is built
        result = diagnose(picture, previous=previous, reference=ref, thresholds=thresholds)
    return Analysis(result, width, height, _jpeg(picture), new_reference, dict(result.metrics))
