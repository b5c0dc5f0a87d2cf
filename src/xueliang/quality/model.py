"""Value objects of video quality diagnosis (视频质量诊断, VQD).

Everything here is a frozen, slotted dataclass that validates on construction: the
detectors in :mod:`xueliang.quality.detect` return them, the inspection plane stores and
serialises them.  No I/O, no clock.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from enum import StrEnum

import numpy as np

__all__ = ["DefectKind", "Defect", "Diagnosis", "Thresholds", "Reference"]


class DefectKind(StrEnum):
    """The eleven VQD defects (names are part of the public contract, see DESIGN.md)."""

    SIGNAL_LOSS = "signal_loss"  # 信号丢失: black / blue / green screen
    BLUR = "blur"  # 模糊 / 失焦
    TOO_DARK = "too_dark"  # 过暗
    TOO_BRIGHT = "too_bright"  # 过亮
    COLOR_CAST = "color_cast"  # 偏色
    NOISE = "noise"  # 噪声 / 雪花
    STRIPES = "stripes"  # 条纹 / 滚屏
    FROZEN = "frozen"  # 画面冻结
    OCCLUSION = "occlusion"  # 遮挡
    SCENE_CHANGE = "scene_change"  # 场景变换 / 移位
    JITTER = "jitter"  # 抖动


SINGLE_IMAGE_KINDS: tuple[DefectKind, ...] = (
    DefectKind.SIGNAL_LOSS,
    DefectKind.BLUR,
    DefectKind.TOO_DARK,
    DefectKind.TOO_BRIGHT,
    DefectKind.COLOR_CAST,
    DefectKind.NOISE,
    DefectKind.STRIPES,
    DefectKind.OCCLUSION,
)
PAIR_KINDS: tuple[DefectKind, ...] = (DefectKind.FROZEN, DefectKind.JITTER)
REFERENCE_KINDS: tuple[DefectKind, ...] = (DefectKind.SCENE_CHANGE,)


@dataclass(frozen=True, slots=True)
class Defect:
    """One detected defect.

    ``score`` is the detector's measure relative to its threshold: ``1.0`` is exactly at
    the threshold, ``2.0`` twice as far past it (for "below" thresholds the ratio is
    inverted), so scores of different detectors are comparable severities.  A defect is
    only ever reported with ``score >= 1``.
    """

    kind: DefectKind
    score: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", DefectKind(self.kind))
        if not math.isfinite(self.score) or self.score < 0:
            raise ValueError(f"defect score must be finite and >= 0, got {self.score!r}")


@dataclass(frozen=True, slots=True)
class Diagnosis:
    """Result of :func:`xueliang.quality.diagnose` for one frame.

    ``ok`` is true exactly when ``defects`` is empty.  ``scores`` holds the score (see
    :class:`Defect`) of every detector that ran, including those below 1; detectors that
    need a previous frame or a reference and got none are absent.  ``metrics`` holds the
    raw, finite measures behind the scores (mean luminance, blur ratio, cast chroma, ...).
    """

    ok: bool
    defects: tuple[Defect, ...]
    metrics: dict[str, float] = field(default_factory=dict)
    scores: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.ok != (not self.defects):
            raise ValueError("ok must be true exactly when there are no defects")
        for name, value in self.metrics.items():
            if not math.isfinite(value):
                raise ValueError(f"metric {name} is not finite: {value!r}")

    @property
    def kinds(self) -> frozenset[DefectKind]:
        return frozenset(d.kind for d in self.defects)

    def to_json(self) -> dict[str, object]:
        """The public JSON shape: ``{"ok", "defects": [{"kind", "score"}], "metrics"}``."""
        return {
            "ok": self.ok,
            "defects": [{"kind": str(d.kind), "score": round(d.score, 3)} for d in self.defects],
            "metrics": {k: round(v, 4) for k, v in self.metrics.items()},
        }


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Decision thresholds of every detector.

    Defaults start from the published values in ``reference/vqd.md`` and are tuned on the
    labelled evaluation set of :mod:`xueliang.quality.evalset` (``bench/vqd_eval.py``).
    Luminance values are 8-bit gray levels at the analysis size (about 640×360); block
    measures use a grid of blocks of about 40×40 pixels.
    """

    # signal_loss -------------------------------------------------------------------
    #: A pixel is black below or at this gray level (video black is 16).
    black_level: float = 18.0
    #: Share of black pixels, or of saturated blue / green "no video" screen pixels, that
    #: is signal loss.  Published: gray < 20 on >= 72 %, blue >= 80 %; raised because a
    #: dark occluder can cover 80 % of a picture that still has a live scene.
    signal_loss_share: float = 0.9
    #: A blue / green screen is flat: median block gray sigma below this.
    screen_flat_sigma: float = 4.0

    # too_dark / too_bright -----------------------------------------------------------
    #: Mean luminance of the visible (not occluded) scene below which it is too dark.
    #: Published: < 60 (stricter deployments: < 30).
    dark_mean: float = 60.0
    #: Mean luminance above which it is too bright.  Published: > 190 (stricter: > 220);
    #: 180 catches a lifted (washed-out) picture of a dark scene.
    bright_mean: float = 180.0

    # blur ------------------------------------------------------------------------------
    #: Sharpness (fine-to-coarse Laplacian energy ratio, median over textured blocks)
    #: below which the image is blurred.  The ratio is independent of contrast and of how
    #: much texture the scene has; low-texture frames are never judged.
    blur_ratio: float = 0.28
    #: With a reference frame: blurred when sharpness < this × the reference sharpness.
    blur_baseline_drop: float = 0.5
    #: A block is "textured" (judged for blur) when its coarse-scale Laplacian energy
    #: exceeds this (gray levels², half resolution).
    texture_energy: float = 60.0
    #: Minimum share of textured blocks for a blur verdict without a reference.
    texture_min_share: float = 0.02

    # color_cast ------------------------------------------------------------------------
    #: Length of the consensus log chromaticity (ln R/G, ln B/G) above which the picture
    #: has a colour cast: the component-wise median of three illuminant estimates (the
    #: white patch, the gray edge and the gray world), so that one estimate fooled by the
    #: scene (a blue sky as the brightest area, an orange cat, colourful edges) is
    #: outvoted.  A white-balance gain of 1 ± 0.3 on two channels moves it by about 0.44.
    #: (The published Lab equivalent-circle factor K = D / M > 1.5 flags every
    #: single-coloured scene, a sky or a lawn, and misses casts on colourful scenes.)
    cast_chroma: float = 0.34
    #: Pixels with a channel below this gray level are too dark for a chromaticity ...
    cast_dark: float = 12.0
    #: ... and pixels with a channel above this are clipped: their colour is not the scene's.
    cast_clipped: float = 250.0

    # noise -----------------------------------------------------------------------------
    #: Estimated noise standard deviation (gray levels) from the smoothest blocks.
    noise_sigma: float = 6.0

    # stripes ---------------------------------------------------------------------------
    #: Prominence of the strongest off-centre spectral peak over its frequency ring.
    stripe_prominence: float = 40.0
    #: ... and its amplitude (gray levels) at least this (a flat sky has faint peaks).
    stripe_amplitude: float = 4.0
    #: A candidate peak is part of the scene's own periodic structure (bricks, railings:
    #: sharp edges, hence a harmonic series) when one of f/2 ... f/8 is a peak of its own
    #: (whitened prominence above ``stripe_prominence``) with at least this share of the
    #: candidate's power ...
    stripe_subharmonic: float = 0.15
    #: ... or when the whitened spectrum at 2·f reaches this share of the candidate's.
    #: Interference is a smooth wave: its harmonics (from clipping) stay far below.
    stripe_harmonic: float = 0.5

    # occlusion ------------------------------------------------------------------------
    #: Share of the picture that is covered that is occlusion (published: > 0.32).  With
    #: a reference: share of the reference's textured blocks that went flat.  Without: area
    #: share of the occluder region on the fine (about 20×20-pixel) block grid.
    occlusion_share: float = 0.27
    #: Without a reference, a frame flatter than this share is a low-texture scene.
    occlusion_max_share: float = 0.97
    #: With a reference, a block is flat when its gray sigma is below this (published:
    #: 25, far too loose for a compressed picture: a clear sky is flat too) ...
    occlusion_sigma: float = 6.0
    #: ... and its half-size Laplacian energy (gray levels²) below this.
    occlusion_energy: float = 4.0
    #: Without a reference, a fine-grid block is featureless when its half-size Laplacian
    #: energy is below this ...
    occlusion_fine_energy: float = 8.0
    #: ... and its quarter-size Laplacian energy below this (noise energy removed).
    occlusion_coarse_energy: float = 10.0
    #: The rest of the picture must be this sharp (blur measure of its textured blocks):
    #: a frame that is soft everywhere is blurred, not occluded.
    occlusion_rest_sharpness: float = 0.25
    #: ... judged when at least this share of the blocks outside the region is textured.
    occlusion_rest_texture: float = 0.15
    #: An unlit occluder: mean gray below this ...
    occlusion_dark: float = 80.0
    #: ... and below this share of the median brightness of the textured rest.
    occlusion_contrast: float = 1.0
    #: An out-of-focus occluder: large soft shapes in it (RMS residual, gray levels, of a
    #: quadratic fit of its block means; a sky or a wall is a smooth gradient) ...
    occlusion_structure: float = 5.0
    #: ... not brighter than this share of the textured rest ...
    occlusion_defocus_contrast: float = 0.95
    #: ... nor than this gray level (an object at the lens is not lit like the scene).
    occlusion_bright: float = 140.0
    #: Instead of the soft shapes, a compact silhouette also marks an object at the lens
    #: (a card, a hand, a leaf: no scene shows through it and it is nearly convex; a sky
    #: or a wall wraps around the scene's objects): its solidity (area over the area of
    #: its convex hull) at least this ...
    occlusion_solidity: float = 0.9
    #: ... with at most this share of its outline taken by islands of scene.
    occlusion_holes: float = 0.02
    #: A region with both cues, soft shapes and a compact silhouette, is an occluder up to
    #: this share of the brightness of the textured rest (an out-of-focus hand or leaf
    #: lit like the scene).
    occlusion_compact_contrast: float = 1.05

    # frozen ----------------------------------------------------------------------------
    #: Share of pixels whose gray value changed by >= ``frozen_delta`` between the two
    #: frames below which the picture is frozen.  A live static scene still changes
    #: almost every pixel by sensor noise.
    frozen_changed_share: float = 0.05
    frozen_delta: int = 2

    # jitter ----------------------------------------------------------------------------
    #: Global shift (pixels at analysis size) between the two frames that is jitter.
    jitter_shift: float = 3.0
    #: Minimum phase-correlation response for a shift estimate to count.
    jitter_response: float = 0.05

    # scene_change ----------------------------------------------------------------------
    #: Zero-mean normalised correlation with the reference thumbnail below which the
    #: camera looks at another scene (moved, turned, replaced).
    scene_correlation: float = 0.65

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
                raise ValueError(f"threshold {f.name} must be a finite number >= 0")

    def replace(self, **changes: float) -> Thresholds:
        """A copy with some thresholds changed (unknown names raise ``TypeError``)."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        unknown = set(changes) - set(values)
        if unknown:
            raise TypeError(f"unknown thresholds: {sorted(unknown)}")
        values.update(changes)
        return Thresholds(**values)


@dataclass(frozen=True, slots=True, eq=False)
class Reference:
    """A camera's reference view, built by :func:`xueliang.quality.make_reference`.

    Set on the first healthy inspection and re-settable by an operator; the caller stores
    it (its arrays are small: a 64×36 thumbnail).  ``sharpness`` is the blur measure of the
    reference frame, the per-camera blur baseline; ``thumbnail`` is a float32 zero-mean,
    unit-variance gray thumbnail used for scene-change correlation; ``textured`` marks the
    blocks of the analysis grid that had texture (for occlusion against the reference).
    """

    sharpness: float
    texture_share: float
    thumbnail: np.ndarray
    textured: np.ndarray

    def __post_init__(self) -> None:
        if not math.isfinite(self.sharpness) or not math.isfinite(self.texture_share):
            raise ValueError("reference measures must be finite")
        thumb = np.ascontiguousarray(self.thumbnail, dtype=np.float32)
        if thumb.ndim != 2:
            raise ValueError("reference thumbnail must be a 2-D array")
        textured = np.ascontiguousarray(self.textured, dtype=bool)
        thumb.setflags(write=False)
        textured.setflags(write=False)
        object.__setattr__(self, "thumbnail", thumb)
        object.__setattr__(self, "textured", textured)

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Arrays for storage (e.g. ``np.savez``); :meth:`from_arrays` reverses it."""
        return {
            "sharpness": np.float64(self.sharpness),
            "texture_share": np.float64(self.texture_share),
            "thumbnail": self.thumbnail,
            "textured": self.textured,
        }

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> Reference:
        return cls(
            sharpness=float(arrays["sharpness"]),
            texture_share=float(arrays["texture_share"]),
            thumbnail=np.asarray(arrays["thumbnail"]),
            textured=np.asarray(arrays["textured"]),
        )
