"""The VQD detector suite: one frame (plus optionally the previous frame and the camera's
reference) in, a :class:`~xueliang.quality.model.Diagnosis` out.

Pure NumPy/OpenCV, no I/O, no clock.  Every detector works on intermediate results that
are computed once per frame (``_Frame``):

* the frame is brought to the analysis size (about 640×360) once, with ``INTER_AREA``;
* one gray conversion; a half- and a quarter-size gray pyramid (``INTER_AREA``);
* one Laplacian per pyramid level; block statistics on a grid of about 40×40-pixel blocks
  by ``cv2.resize(..., INTER_AREA)`` (a block mean is an area resize);
* colour only on an 80×45 subsample (block colour means, log chromaticity for the cast)
  and its gradients on a 160×90 one (the gray-edge estimate of the cast);
* the stripe spectrum on a 256×256 resampling of the half-size picture;
* a fine (about 20×20-pixel) block grid of the same measures for the occluder region.

Defect precedence: a lost signal hides every other single-image defect (there is no picture
to judge); exposure, colour cast and blur are judged on the visible (not occluded) blocks;
a scene change that disappears once the occluded blocks are left out is occlusion.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

from .model import Defect, DefectKind, Diagnosis, Reference, Thresholds

__all__ = ["ANALYSIS_SIZE", "diagnose", "diagnose_with_reference", "make_reference"]

#: Analysis size (width, height).  Larger frames are downscaled once to about this many
#: pixels, keeping their aspect ratio; smaller frames are analysed as they are.
ANALYSIS_SIZE = (640, 360)
_ANALYSIS_PIXELS = ANALYSIS_SIZE[0] * ANALYSIS_SIZE[1]
_GRID = (16, 9)  # blocks across, down (40×40 px at 640×360)
_COLOUR_SIZE = (80, 45)
_EDGE_SIZE = (160, 90)
_SPECTRUM = 256
_THUMB = (64, 36)
_MAX_SCORE = 100.0
_EPS = 1e-6
_MIN_TEXTURED_BLOCKS = 3
_MAX_SUBHARMONIC = 8
_MIN_REST_BLOCKS = 12  # fine-grid blocks of scene an occlusion verdict needs
_MIN_REGION_BLOCKS = 8  # fine-grid blocks of the smallest occluder candidate
_GLYPH_LEVEL = 200  # on-screen text: strokes at least this bright (half size) ...
_GLYPH_CONTRAST = 48  # ... and this much brighter than a 3×3 opening removes


# ---------------------------------------------------------------------------------------
# input normalisation


def _as_bgr_or_gray(frame: np.ndarray) -> np.ndarray:
    if not isinstance(frame, np.ndarray):
        raise TypeError(f"frame must be a numpy array, got {type(frame).__name__}")
    if frame.dtype != np.uint8:
        raise ValueError(f"frame must be uint8 (8-bit BGR or gray), got {frame.dtype}")
    if frame.ndim == 3 and frame.shape[2] == 1:
        frame = frame[:, :, 0]
    elif frame.ndim == 3 and frame.shape[2] == 4:
        frame = frame[:, :, :3]
    if frame.ndim not in (2, 3) or (frame.ndim == 3 and frame.shape[2] != 3):
        raise ValueError(f"frame must be H×W gray or H×W×3 BGR, got shape {frame.shape}")
    if frame.shape[0] < 1 or frame.shape[1] < 1:
        raise ValueError("frame is empty")
    return np.ascontiguousarray(frame)


def _analysis_size(width: int, height: int) -> tuple[int, int]:
    if width * height <= _ANALYSIS_PIXELS * 1.25:
        return width, height
    scale = math.sqrt(_ANALYSIS_PIXELS / (width * height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def _resize(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    if (image.shape[1], image.shape[0]) == size:
        return image
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def _analysis_gray(frame: np.ndarray, size: tuple[int, int] | None = None) -> np.ndarray:
    frame = _as_bgr_or_gray(frame)
    h, w = frame.shape[:2]
    target = size or _analysis_size(w, h)
    if frame.ndim == 3:
        if w * h > target[0] * target[1]:
            frame = _resize(frame, target)
        gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    else:
        gray = frame
    return _resize(gray, target)


@lru_cache(maxsize=16)
def _hann(width: int, height: int) -> np.ndarray:
    return cv2.createHanningWindow((width, height), cv2.CV_32F)


@lru_cache(maxsize=4)
def _spectrum_geometry(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Ring index, ring sizes and (ky, kx) of the n×(n/2) layout of ``_power_spectrum``."""
    ky = np.fft.fftfreq(n, 1.0 / n).astype(np.int32)[:, None]
    kx = np.arange(n // 2, dtype=np.int32)[None, :]
    ky_full = np.ascontiguousarray(np.broadcast_to(ky, (n, n // 2)))
    kx_full = np.ascontiguousarray(np.broadcast_to(kx, (n, n // 2)))
    ring = np.rint(np.hypot(ky_full, kx_full)).astype(np.int32)
    counts = np.bincount(ring.ravel()).astype(np.float64)
    return ring, counts, ky_full, kx_full


def _block_mean(image: np.ndarray, grid: tuple[int, int]) -> np.ndarray:
    return cv2.resize(image, grid, interpolation=cv2.INTER_AREA).astype(np.float32)


def _laplacian_energy(gray: np.ndarray, grid: tuple[int, int]) -> np.ndarray:
    lap = cv2.Laplacian(gray, cv2.CV_32F)
    return _block_mean(cv2.multiply(lap, lap), grid)


def _laplacian_energies(
    gray: np.ndarray, grid: tuple[int, int], fine: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    lap = cv2.Laplacian(gray, cv2.CV_32F)
    energy = cv2.multiply(lap, lap)
    return _block_mean(energy, grid), _block_mean(energy, fine)


def _above(value: float, threshold: float) -> float:
    """Score of a measure that is a defect at or above ``threshold``."""
    if threshold <= 0:
        return _MAX_SCORE if value > 0 else 0.0
    return float(min(max(value, 0.0) / threshold, _MAX_SCORE))


def _below(value: float, threshold: float) -> float:
    """Score of a measure that is a defect at or below ``threshold``."""
    if threshold <= 0:
        return 0.0
    return float(min(threshold / max(value, threshold / _MAX_SCORE), _MAX_SCORE))


# ---------------------------------------------------------------------------------------
# shared per-frame analysis


@dataclass(slots=True)
class _Frame:
    gray: np.ndarray  # analysis size, uint8
    half: np.ndarray  # half size, uint8
    quarter: np.ndarray  # quarter size, uint8
    colour: np.ndarray | None  # 80×45 BGR subsample, None for gray input
    colour_edges: np.ndarray | None  # 160×90 BGR subsample (gray edge), None for gray input
    mean: np.ndarray  # block mean gray
    sigma: np.ndarray  # block gray standard deviation
    e1: np.ndarray  # block Laplacian energy, analysis size
    e2: np.ndarray  # ... half size
    e4: np.ndarray  # ... quarter size
    grid: tuple[int, int]
    fine_mean: np.ndarray  # block mean gray on the fine (2× denser) grid, for occlusion
    fine_e2: np.ndarray  # half-size Laplacian energy on the fine grid
    fine_e4: np.ndarray  # quarter-size Laplacian energy on the fine grid
    overlay: np.ndarray  # blocks holding on-screen text (OSD): sharp whatever the lens does


def _analyse(frame: np.ndarray) -> _Frame:
    frame = _as_bgr_or_gray(frame)
    h, w = frame.shape[:2]
    size = _analysis_size(w, h)
    colour: np.ndarray | None = None
    colour_edges: np.ndarray | None = None
    if frame.ndim == 3:
        frame = _resize(frame, size)
        gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        half_bgr = _resize(frame, (max(1, size[0] // 2), max(1, size[1] // 2)))
        colour = _resize(half_bgr, (min(_COLOUR_SIZE[0], size[0]), min(_COLOUR_SIZE[1], size[1])))
        colour_edges = _resize(half_bgr, (min(_EDGE_SIZE[0], size[0]), min(_EDGE_SIZE[1], size[1])))
    else:
        gray = _resize(frame, size)
    width, height = size
    grid = (max(1, min(_GRID[0], width // 8)), max(1, min(_GRID[1], height // 8)))
    half = _resize(gray, (max(1, width // 2), max(1, height // 2)))
    quarter = _resize(half, (max(1, width // 4), max(1, height // 4)))
    fine = (min(2 * grid[0], max(1, width // 8)), min(2 * grid[1], max(1, height // 8)))
    half_f = half.astype(np.float32)
    mean = _block_mean(half_f, grid)
    sq = _block_mean(cv2.multiply(half_f, half_f), grid)
    sigma = np.sqrt(np.maximum(sq - mean * mean, 0.0))
    e2, fine_e2 = _laplacian_energies(half, grid, fine)
    e4, fine_e4 = _laplacian_energies(quarter, grid, fine)
    return _Frame(
        gray=gray,
        half=half,
        quarter=quarter,
        colour=colour,
        colour_edges=colour_edges,
        mean=mean,
        sigma=sigma,
        e1=_laplacian_energy(gray, grid),
        e2=e2,
        e4=e4,
        grid=grid,
        fine_mean=_block_mean(half_f, fine),
        fine_e2=fine_e2,
        fine_e4=fine_e4,
        overlay=_overlay(gray, grid),
    )


def _overlay(gray: np.ndarray, grid: tuple[int, int]) -> np.ndarray:
    """Blocks that hold on-screen text (the channel name, the clock).

    A camera draws its OSD after the lens, as white glyphs with a black outline: a block
    with both near-white and near-black pixels side by side.  The OSD stays sharp on a
    defocused picture, so it must not stand for the scene's focus.
    """
    # uint8 area means of 0/255 masks: >= 1 when at least about 0.2 % of a block is set
    white = cv2.resize(
        cv2.threshold(gray, 229, 255, cv2.THRESH_BINARY)[1], grid, interpolation=cv2.INTER_AREA
    )
    black = cv2.resize(
        cv2.threshold(gray, 30, 255, cv2.THRESH_BINARY_INV)[1], grid, interpolation=cv2.INTER_AREA
    )
    return (white > 0) & (black > 0)


# ---------------------------------------------------------------------------------------
# single-image detectors; each returns (score, metrics)


def _signal_loss(f: _Frame, t: Thresholds) -> tuple[float, dict[str, float]]:
    """Share of black pixels (analysis size) or of blue / green screen pixels (80×45).

    OSD text ("NO SIGNAL", clock) on a lost-signal screen covers only a few per cent.
    """
    black_px = cv2.threshold(f.gray, t.black_level, 255, cv2.THRESH_BINARY_INV)[1]
    black = cv2.countNonZero(black_px) / f.gray.size
    blue = green = 0.0
    # a blue / green screen is flat: a blue-cast scene is not
    if f.colour is not None and float(np.median(f.sigma)) < t.screen_flat_sigma:
        c = f.colour.reshape(-1, 3).astype(np.int16)
        b, g, r = c[:, 0], c[:, 1], c[:, 2]
        # a "no video" screen is saturated: the other two channels stay low
        blue = float(np.mean((np.maximum(g, r) < 80) & (b - np.maximum(g, r) > 110)))
        green = float(np.mean((np.maximum(b, r) < 80) & (g - np.maximum(b, r) > 110)))
    share = max(black, blue, green)
    return _above(share, t.signal_loss_share), {
        "black_share": black,
        "blue_share": blue,
        "green_share": green,
    }


def _noise_energy(f: _Frame) -> float:
    """Laplacian energy of the noise, from the blocks with the least coarse structure.

    White noise of standard deviation s has Laplacian energy 20·s² at full size but a
    quarter of that after a 2×2 average; scene texture (and everything a codec keeps) has
    no more fine-scale than half-size energy.  The fine-scale energy in excess of the
    half-size energy, in the quarter of the blocks with the least coarse structure, is the
    noise.  It is 0 on clean, compressed frames.
    """
    excess = np.maximum(f.e1 - f.e2, 0.0) / 0.75
    order = np.argsort(f.e4, axis=None)
    quiet = order[: max(1, order.size // 4)]
    return float(np.median(excess.ravel()[quiet]))


def _noise(f: _Frame, t: Thresholds, noise_e: float) -> tuple[float, dict[str, float]]:
    sigma = math.sqrt(noise_e / 20.0)
    return _above(sigma, t.noise_sigma), {"noise_sigma": sigma}


def _flat(f: _Frame, t: Thresholds, noise_e: float) -> np.ndarray:
    return (f.sigma < t.occlusion_sigma) & (f.e2 - noise_e / 4.0 < t.occlusion_energy)


def _covered(
    f: _Frame, t: Thresholds, noise_e: float, reference: Reference | None = None
) -> tuple[np.ndarray, float]:
    """Blocks (analysis grid) that show no scene, and the covered share of the picture.

    With a reference any block that was textured and is now flat is covered; the share
    is of the blocks the reference had texture in.  Without one, see :func:`_occluder`
    (the share is measured on its finer grid).
    """
    if reference is not None and reference.textured.shape == f.grid[::-1]:
        covered = _flat(f, t, noise_e) & reference.textured
        textured = int(reference.textured.sum())
        return covered, (float(covered.sum()) / textured if textured else 0.0)
    region = _occluder(f, t, noise_e)
    if not region.any():
        return np.zeros(f.grid[::-1], bool), 0.0
    return _block_mean(region.astype(np.float32), f.grid) >= 0.5, float(np.mean(region))


def _occluder(f: _Frame, t: Thresholds, noise_e: float) -> np.ndarray:
    """Fine-grid mask of an occluder in front of the lens, found in a single frame.

    Candidates are the connected regions of featureless blocks (no fine- nor coarse-scale
    detail) that touch the frame border: an object at the lens comes in from an edge.  A
    clear sky, a plain wall or a smooth road is such a region too, so a candidate counts
    only when the rest of the picture is still textured and sharp (a defocused frame is
    blur, a flat frame a low-texture scene) and the region is either

    * unlit: darker than ``occlusion_dark`` and than ``occlusion_contrast`` × the median
      brightness of the textured rest (tape, a card, a bag in the shade of the camera), or
    * out of focus and darker than the textured rest (``occlusion_defocus_contrast``),
      with either large soft shapes in it (a defocused leaf or hand, :func:`_soft_shapes`;
      a sky or a wall is a smooth gradient) or the compact silhouette of an object at the
      lens (:func:`_compact`; a sky or a wall wraps around the scene's objects), or
    * out of focus with both cues, and lit like the scene (``occlusion_compact_contrast``).
    """
    ne = noise_e
    flat = (f.fine_e2 - ne / 4.0 < t.occlusion_fine_energy) & (
        f.fine_e4 - ne / 16.0 < t.occlusion_coarse_energy
    )
    rows, cols = flat.shape
    empty = np.zeros_like(flat)
    share_flat = float(np.mean(flat))
    if share_flat >= t.occlusion_max_share or share_flat < t.occlusion_share:
        return empty
    rest = ~flat
    if int(rest.sum()) < _MIN_REST_BLOCKS:
        return empty
    count, labels, stats, _ = cv2.connectedComponentsWithStats(flat.astype(np.uint8), connectivity=4)
    border = [
        i
        for i in range(1, count)
        if stats[i, cv2.CC_STAT_AREA] >= _MIN_REGION_BLOCKS
        and (
            stats[i, cv2.CC_STAT_LEFT] == 0
            or stats[i, cv2.CC_STAT_TOP] == 0
            or stats[i, cv2.CC_STAT_LEFT] + stats[i, cv2.CC_STAT_WIDTH] == cols
            or stats[i, cv2.CC_STAT_TOP] + stats[i, cv2.CC_STAT_HEIGHT] == rows
        )
    ]
    if not border:
        return empty
    region = np.isin(labels, border)
    if float(np.mean(region)) < t.occlusion_share:
        return empty
    # a low-texture scene under on-screen text: the text is all the "rest" there is
    glyphs, glyphs_fine = _glyphs(f.half, f.grid, (cols, rows))
    if int(np.count_nonzero(rest & ~glyphs_fine)) < _MIN_REST_BLOCKS:
        return empty
    # the rest of the picture must be in focus: a defocused frame is blur, not occlusion
    region_grid = _block_mean(region.astype(np.float32), f.grid) > 0
    coarse = f.e4 - ne / 16.0
    textured = (coarse > t.texture_energy) & ~region_grid & ~f.overlay
    if int(np.count_nonzero(textured & ~glyphs)) < _MIN_TEXTURED_BLOCKS:
        return empty  # no scene left to compare with: a low-texture scene
    # (a thin strip of scene beside a large occluder's soft edge is no focus measure)
    if float(np.mean(textured)) >= t.occlusion_rest_texture:
        mid = np.maximum(f.e2[textured] - ne / 4.0, 0.0)
        if float(np.percentile(mid / coarse[textured], 90)) < t.occlusion_rest_sharpness:
            return empty
    scene = float(np.median(f.fine_mean[rest]))
    values = f.fine_mean[region]
    level = float(values.mean())
    if level < min(t.occlusion_dark, t.occlusion_contrast * scene):
        return region
    if level >= min(t.occlusion_bright, t.occlusion_compact_contrast * scene):
        return empty
    soft = _soft_shapes(region, values) >= t.occlusion_structure
    compact = _compact(region, t)
    if level < t.occlusion_defocus_contrast * scene and (soft or compact):
        return region
    return region if soft and compact else empty


def _glyphs(half: np.ndarray, grid: tuple[int, int], fine: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Blocks (analysis and fine grid) holding bright strokes one or two pixels wide at
    half size: on-screen text drawn without an outline (the clock, the channel name), and
    some of the scene's own highlights (chrome, wires): only a count of what is left."""
    opened = cv2.morphologyEx(half, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    strokes = cv2.bitwise_and(
        cv2.threshold(cv2.subtract(half, opened), _GLYPH_CONTRAST, 255, cv2.THRESH_BINARY)[1],
        cv2.threshold(half, _GLYPH_LEVEL, 255, cv2.THRESH_BINARY)[1],
    )
    as_blocks = cv2.resize(strokes, grid, interpolation=cv2.INTER_AREA) > 0
    return as_blocks, cv2.resize(strokes, fine, interpolation=cv2.INTER_AREA) > 0


def _soft_shapes(region: np.ndarray, values: np.ndarray) -> float:
    """RMS residual (gray levels) of a quadratic fit of a region's fine-block means: large
    soft shapes (a defocused leaf or hand) leave one, a sky or a wall (a smooth gradient)
    does not."""
    rows, cols = region.shape
    ys, xs = np.nonzero(region)
    x = xs.astype(np.float32) / cols
    y = ys.astype(np.float32) / rows
    design = np.stack([np.ones_like(x), x, y, x * x, y * y, x * y], axis=1)
    coef = np.linalg.lstsq(design, values.astype(np.float32), rcond=None)[0]
    residual = values - design @ coef
    return float(np.sqrt(np.mean(residual * residual)))


def _compact(region: np.ndarray, t: Thresholds) -> bool:
    """Whether a region has the silhouette of an object at the lens.

    No scene shows through an opaque object, and a card, a hand or a leaf is nearly
    convex: its outline holds at most ``occlusion_holes`` of scene islands and fills at
    least ``occlusion_solidity`` of its convex hull.  The plain part of a scene (a sky, a
    wall) wraps around the objects in front of it: holes, bays.
    """
    mask = region.astype(np.uint8)
    contours, hierarchy = cv2.findContours(mask, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    if hierarchy is None:
        return False
    outline = np.zeros_like(mask)
    outer = [c for c, h in zip(contours, hierarchy[0], strict=True) if h[3] < 0]
    cv2.drawContours(outline, outer, -1, 1, thickness=-1)
    area = int(cv2.countNonZero(outline))
    if area == 0 or area - int(cv2.countNonZero(mask)) > t.occlusion_holes * area:
        return False
    hull = np.zeros_like(mask)
    cv2.fillConvexPoly(hull, cv2.convexHull(cv2.findNonZero(outline)), 1)
    return area >= t.occlusion_solidity * int(cv2.countNonZero(hull))


def _occlusion(t: Thresholds, share: float) -> tuple[float, dict[str, float]]:
    return _above(share, t.occlusion_share), {"covered_share": share}


def _sharpness(f: _Frame, t: Thresholds, noise_e: float) -> tuple[float, float]:
    """Sharpness and texture share of a frame.

    Sharpness is the half-size to quarter-size Laplacian energy ratio of a block (noise
    energy removed), taken at the 90th percentile over textured blocks: the in-focus
    part of the picture.  It does not depend on contrast or on how much of the scene is
    textured; a Gaussian blur of sigma s pushes it towards its floor (1/16) from about
    s = 1.5 px on.  A block is textured when its quarter-size energy is above
    ``texture_energy``; a frame without enough textured blocks gets no verdict.
    """
    coarse = f.e4 - noise_e / 16.0
    textured = coarse > t.texture_energy
    share = float(np.mean(textured))
    if int(textured.sum()) < _MIN_TEXTURED_BLOCKS and share < 1.0:
        return 0.0, share
    scene = textured & ~f.overlay  # the OSD is drawn after the lens: no focus measure
    if int(scene.sum()) >= _MIN_TEXTURED_BLOCKS:
        textured = scene
    mid = np.maximum(f.e2[textured] - noise_e / 4.0, 0.0)
    return float(np.percentile(mid / coarse[textured], 90)), share


def _blur(
    t: Thresholds, sharpness: float, texture_share: float, reference: Reference | None
) -> tuple[float, dict[str, float]]:
    metrics = {"sharpness": sharpness, "texture_share": texture_share}
    if reference is not None and reference.texture_share >= t.texture_min_share and reference.sharpness > 0:
        threshold = t.blur_baseline_drop * reference.sharpness
        metrics["sharpness_vs_reference"] = sharpness / reference.sharpness
        if texture_share < t.texture_min_share:
            # the texture the reference had is gone: defocused, or judged by occlusion
            return (_below(0.0, threshold) if texture_share == 0 else 0.0), metrics
        return _below(sharpness, threshold), metrics
    if texture_share < t.texture_min_share:
        return 0.0, metrics  # low-texture scene: no verdict without a baseline
    return _below(sharpness, t.blur_ratio), metrics


def _exposure(f: _Frame, t: Thresholds, visible: np.ndarray) -> tuple[float, float, dict[str, float]]:
    mean = float(np.mean(f.mean[visible])) if visible.any() else float(np.mean(f.mean))
    return _below(mean, t.dark_mean), _above(mean, t.bright_mean), {"luminance": mean}


def _color_cast(f: _Frame, t: Thresholds, visible: np.ndarray) -> tuple[float, dict[str, float]]:
    """Colour cast: the consensus of three illuminant estimates on the visible pixels.

    A white-balance fault multiplies the channels by fixed gains, so it moves the log
    chromaticity (ln R/G, ln B/G) of every pixel, and of every difference between
    neighbouring pixels, by the same vector.  Three estimates of that vector, each fooled
    by a different kind of scene:

    * white patch: the brightest tenth of the unclipped, lit pixels of the 80×45
      subsample, where a scene's whites are (fooled when the brightest area is a blue
      sky or a lit sign);
    * gray edge: the mean gradient magnitude per channel on the 160×90 subsample, away
      from clipped and unlit pixels (fooled by a scene of colourful edges);
    * gray world: the mean of all unclipped, lit pixels (fooled by a single-coloured
      scene: a cat, a lawn).

    ``cast_chroma`` is the length of their component-wise median: a cast moves all three,
    a scene fools one.  Clipped pixels are left out of every estimate: a channel that
    saturates no longer carries the gain.
    """
    zero = {"cast_chroma": 0.0, "cast_white_patch": 0.0, "cast_gray_edge": 0.0, "cast_gray_world": 0.0}
    if f.colour is None or f.colour_edges is None:
        return 0.0, zero
    colour = f.colour
    valid = _lit_unclipped(colour, t)
    if not visible.all():
        mask = _visible_mask(visible, colour)
        if np.count_nonzero(mask) >= 16:
            valid[~mask] = 0
    pixels = colour[valid > 0]
    if len(pixels) < 16:
        return 0.0, zero
    logs = np.log(pixels.astype(np.float32) + 1.0)
    u = logs[:, 2] - logs[:, 1]  # ln R/G
    v = logs[:, 0] - logs[:, 1]  # ln B/G
    count = max(8, len(pixels) // 10)
    brightest = np.argpartition(logs.sum(axis=1), -count)[-count:]
    white_patch = (float(u[brightest].mean()), float(v[brightest].mean()))
    gray_world = (float(u.mean()), float(v.mean()))
    gray_edge = _gray_edge(f.colour_edges, t, visible) or white_patch
    consensus = [sorted(axis)[1] for axis in zip(white_patch, gray_edge, gray_world, strict=True)]
    chroma = float(math.hypot(*consensus))
    return _above(chroma, t.cast_chroma), {
        "cast_chroma": chroma,
        "cast_white_patch": float(math.hypot(*white_patch)),
        "cast_gray_edge": float(math.hypot(*gray_edge)),
        "cast_gray_world": float(math.hypot(*gray_world)),
    }


def _lit_unclipped(image: np.ndarray, t: Thresholds) -> np.ndarray:
    """0/255 mask of the pixels of a BGR image whose colour can be judged: no channel
    unlit (below ``cast_dark``) nor clipped (above ``cast_clipped``)."""
    b, g, r = cv2.split(image)
    lo = cv2.min(cv2.min(b, g), r)
    hi = cv2.max(cv2.max(b, g), r)
    return cv2.bitwise_and(cv2.inRange(lo, t.cast_dark, 255), cv2.inRange(hi, 0, t.cast_clipped))


def _visible_mask(visible: np.ndarray, image: np.ndarray) -> np.ndarray:
    size = (image.shape[1], image.shape[0])
    return cv2.resize(visible.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST).astype(bool)


def _gray_edge(image: np.ndarray, t: Thresholds, visible: np.ndarray) -> tuple[float, float] | None:
    """Log chromaticity of the mean gradient magnitude per channel (None without edges).

    Only gradients whose 3×3 neighbourhood is lit, unclipped and visible count: at a
    clipped highlight the gradient of the saturated channel is cut short.
    """
    valid = _lit_unclipped(image, t)
    if not visible.all():
        valid[~_visible_mask(visible, image)] = 0
    valid = cv2.erode(valid, np.ones((3, 3), np.uint8))
    if cv2.countNonZero(valid) < 16:
        return None
    img = image.astype(np.float32)
    gx = cv2.Sobel(img, cv2.CV_32F, 1, 0)
    gy = cv2.Sobel(img, cv2.CV_32F, 0, 1)
    magnitude = cv2.sqrt(gx * gx + gy * gy)
    b, g, r = (float(m) for m in cv2.mean(magnitude, mask=valid)[:3])
    if g < 1.0:
        return None
    return math.log((r + 1e-3) / g), math.log((b + 1e-3) / g)


def _power_spectrum(image: np.ndarray) -> np.ndarray:
    """|F|² of a real n×n float32 image as an n×(n/2) array (rows: ky in FFT order).

    ``cv2.dft`` of a real image returns the packed CCS layout; unpacking the power from it
    costs far less than a complex-output transform.  The Nyquist column is dropped.
    """
    n = image.shape[0]
    packed = cv2.dft(image)
    power = np.empty((n, n // 2), np.float32)
    re = packed[:, 1 : n - 1 : 2]
    im = packed[:, 2:n:2]
    power[:, 1:] = re * re + im * im
    col_re = packed[1 : n - 1 : 2, 0]
    col_im = packed[2:n:2, 0]
    col = col_re * col_re + col_im * col_im  # ky = 1 .. n/2 - 1
    power[0, 0] = packed[0, 0] * packed[0, 0]
    power[1 : n // 2, 0] = col
    power[n // 2, 0] = 0.0
    power[n // 2 + 1 :, 0] = col[::-1]
    return power


def _stripes(f: _Frame, t: Thresholds) -> tuple[float, dict[str, float]]:
    """Stripes and rolling bars: an isolated peak in the 2-D spectrum.

    The spectrum of a 256×256 resampling of the half-size picture (Hann window) is
    whitened by the mean power of its frequency ring (natural scenes fall off as 1/f); a
    peak's prominence is its power over the ring mean plus the power of its radial
    neighbours (straight scene edges give radial streaks, not isolated peaks).  Only bins
    with the power of a visible wave (``stripe_amplitude``) are candidates, and a
    candidate that belongs to a harmonic series (the scene's own bricks or railings) is
    set aside (reported as ``stripe_harmonic_prominence``).
    """
    n = _SPECTRUM
    small = cv2.resize(f.half, (n, n), interpolation=cv2.INTER_AREA).astype(np.float32)
    small -= float(small.mean())
    power = _power_spectrum(cv2.multiply(small, _hann(n, n)))
    ring, counts, ky, kx = _spectrum_geometry(n)
    flat_ring = ring.ravel()
    flat_power = power.ravel()
    ring_mean = np.bincount(flat_ring, weights=flat_power, minlength=counts.size)
    ring_mean = ring_mean / np.maximum(counts, 1.0)
    for _ in range(2):  # robust ring level: a peak must not raise its own baseline
        clipped = np.minimum(flat_power, 3.0 * ring_mean[flat_ring])
        ring_mean = np.bincount(flat_ring, weights=clipped, minlength=counts.size)
        ring_mean = ring_mean / np.maximum(counts, 1.0)
    if float(ring_mean[3:].sum()) <= _EPS:
        return 0.0, {"stripe_prominence": 0.0, "stripe_amplitude": 0.0, "stripe_harmonic_prominence": 0.0}
    whitened = power / np.maximum(ring_mean[ring], _EPS).astype(np.float32)
    whitened[_spectrum_excluded(n)] = 0.0
    # only peaks strong enough to be visible stripes are candidates: on a smooth scene the
    # nearly empty high-frequency rings would otherwise whiten codec noise into "peaks"
    min_power = (t.stripe_amplitude * n * n / 8.0) ** 2
    flat_whitened = whitened.ravel()
    strong = np.flatnonzero((flat_power >= min_power) & (flat_whitened > 0.0))
    if strong.size > 10:
        strong = strong[np.argpartition(flat_whitened[strong], -10)[-10:]]
    scored = []
    for index in strong:
        y, x = divmod(int(index), whitened.shape[1])
        r = float(ring[y, x])
        fy, fx = float(ky[y, x]), float(kx[y, x])
        neighbours = []
        for step in (-3.0, 3.0):
            scale = (r + step) / r
            ny, nx = int(round(fy * scale)), int(round(fx * scale))
            if nx < 0:
                ny, nx = -ny, -nx
            if nx < n // 2 and -n // 2 <= ny < n // 2:
                neighbours.append(float(power[ny % n, nx]))
        base = ring_mean[int(r)] + (sum(neighbours) / len(neighbours) if neighbours else 0.0)
        scored.append((float(power[y, x]) / max(base, _EPS), y, x))
    best = amplitude = harmonic = 0.0
    for prominence, y, x in sorted(scored, reverse=True):
        # a periodic structure of the scene (brick courses, railings, tiles) is made of
        # sharp edges: its peaks form a harmonic series f0, 2·f0, 3·f0.  A candidate
        # with a strong sub-harmonic (f/2 ... f/8) or a strong second harmonic is one.
        # (Checked only where it matters: for a peak prominent enough to be stripes.)
        if prominence >= t.stripe_prominence and _harmonic(whitened, power, ring, ky, kx, y, x, t):
            harmonic = max(harmonic, prominence)
            continue
        # a sinusoid of amplitude A peaks at A·n²/8 under a 2-D Hann window
        best, amplitude = prominence, 8.0 * math.sqrt(float(power[y, x])) / (n * n)
        break
    metrics = {
        "stripe_prominence": best,
        "stripe_amplitude": amplitude,
        "stripe_harmonic_prominence": harmonic,
    }
    return _above(best, t.stripe_prominence), metrics


def _spectrum_at(values: np.ndarray, fy: float, fx: float) -> float:
    """Largest value of an n×(n/2) half-plane spectrum map within one bin of (fy, fx)."""
    n = values.shape[0]
    y, x = int(round(fy)), int(round(fx))
    if x < 0:
        y, x = -y, -x
    if x >= n // 2 or not -n // 2 <= y < n // 2:
        return 0.0
    rows = np.arange(y - 1, y + 2) % n
    return float(values[rows, max(x - 1, 0) : min(x + 2, n // 2)].max())


def _harmonic(
    whitened: np.ndarray,
    power: np.ndarray,
    ring: np.ndarray,
    ky: np.ndarray,
    kx: np.ndarray,
    y: int,
    x: int,
    t: Thresholds,
) -> bool:
    """Whether the spectral peak at (y, x) belongs to a harmonic series (see _stripes)."""
    r = float(ring[y, x])
    fy, fx = float(ky[y, x]), float(kx[y, x])
    if _spectrum_at(whitened, 2 * fy, 2 * fx) >= t.stripe_harmonic * float(whitened[y, x]):
        return True
    for k in range(2, _MAX_SUBHARMONIC + 1):
        if r / k < 3.0:
            break
        # f/k is a peak of its own and carries a fair share of the candidate's power
        if _spectrum_at(whitened, fy / k, fx / k) >= t.stripe_prominence and _spectrum_at(
            power, fy / k, fx / k
        ) >= t.stripe_subharmonic * float(power[y, x]):
            return True
    return False


@lru_cache(maxsize=4)
def _spectrum_excluded(n: int) -> np.ndarray:
    ring = _spectrum_geometry(n)[0]
    return (ring < 3) | (ring > n // 2 - 2)


# ---------------------------------------------------------------------------------------
# two-frame and reference detectors


def _frozen_and_jitter(
    f: _Frame, previous: np.ndarray, t: Thresholds
) -> tuple[float, float, dict[str, float]]:
    size = (f.gray.shape[1], f.gray.shape[0])
    prev = _analysis_gray(previous, size)
    diff = cv2.absdiff(f.gray, prev)
    changed = cv2.countNonZero(cv2.threshold(diff, max(t.frozen_delta, 1) - 1, 255, cv2.THRESH_BINARY)[1])
    changed_share = changed / diff.size
    frozen = _below(changed_share, t.frozen_changed_share)
    qsize = (f.quarter.shape[1], f.quarter.shape[0])
    metrics = {"changed_share": changed_share, "mean_abs_diff": float(cv2.mean(diff)[0])}
    if qsize[0] < 8 or qsize[1] < 8:
        return frozen, 0.0, metrics | {"shift": 0.0}
    prev_q = _resize(_resize(prev, (max(1, size[0] // 2), max(1, size[1] // 2))), qsize)
    (dx, dy), response = cv2.phaseCorrelate(
        prev_q.astype(np.float32), f.quarter.astype(np.float32), _hann(*qsize)
    )
    scale = size[0] / qsize[0]
    shift = float(math.hypot(dx, dy) * scale) if math.isfinite(dx + dy) else 0.0
    response = float(response) if math.isfinite(response) else 0.0
    metrics |= {"shift": shift, "shift_response": response}
    jitter = _above(shift, t.jitter_shift) if response >= t.jitter_response else 0.0
    return frozen, jitter, metrics


def _thumbnail(f: _Frame) -> np.ndarray:
    thumb = cv2.resize(f.quarter, _THUMB, interpolation=cv2.INTER_AREA).astype(np.float32)
    thumb = cv2.GaussianBlur(thumb, (3, 3), 0)
    thumb -= float(thumb.mean())
    norm = float(np.sqrt(np.mean(thumb * thumb)))
    return thumb / norm if norm > 0.5 else np.zeros_like(thumb)


def _scene_change(
    f: _Frame, reference: Reference, t: Thresholds, visible: np.ndarray | None = None
) -> tuple[float, dict[str, float]]:
    """Zero-mean normalised correlation with the reference thumbnail.

    With ``visible`` (a block mask) only the visible part is compared: an occluder in
    front of an unmoved camera is occlusion, not a scene change.
    """
    current = _thumbnail(f)
    if reference.thumbnail.shape != current.shape:
        return 0.0, {}
    if visible is None:
        correlation = float(np.mean(current * reference.thumbnail))
    else:
        mask = cv2.resize(visible.astype(np.uint8), _THUMB, interpolation=cv2.INTER_NEAREST).astype(bool)
        if mask.sum() < 16:
            return 0.0, {}
        a, b = current[mask], reference.thumbnail[mask]
        a, b = a - a.mean(), b - b.mean()
        denom = float(np.sqrt(np.sum(a * a) * np.sum(b * b)))
        correlation = float(np.sum(a * b)) / denom if denom > _EPS else 0.0
    return _below(max(correlation, 0.0), t.scene_correlation), {"scene_correlation": correlation}


# ---------------------------------------------------------------------------------------
# public API


#: (defect, defects it hides): no picture to judge under a lost signal; focus cannot be
#: judged through an occluder's soft edge, stripes, noise or a wrong exposure; when even
#: the visible part of the picture is too dark, its flat dark blocks are not evidence of
#: an occluder; a frozen picture cannot jitter.
_PRECEDENCE: tuple[tuple[DefectKind, tuple[DefectKind, ...]], ...] = (
    (
        DefectKind.SIGNAL_LOSS,
        tuple(k for k in DefectKind if k not in (DefectKind.SIGNAL_LOSS, DefectKind.FROZEN)),
    ),
    (DefectKind.OCCLUSION, (DefectKind.BLUR,)),
    (DefectKind.STRIPES, (DefectKind.BLUR,)),
    (DefectKind.NOISE, (DefectKind.BLUR,)),
    (DefectKind.TOO_DARK, (DefectKind.BLUR, DefectKind.OCCLUSION)),
    (DefectKind.TOO_BRIGHT, (DefectKind.BLUR,)),
    (DefectKind.FROZEN, (DefectKind.JITTER,)),
)


def make_reference(frame: np.ndarray, *, thresholds: Thresholds | None = None) -> Reference:
    """Build a camera's reference view (blur baseline, thumbnail) from a healthy frame."""
    t = thresholds or Thresholds()
    f = _analyse(frame)
    return _reference(f, t, _noise_energy(f))


def _reference(f: _Frame, t: Thresholds, noise_e: float) -> Reference:
    sharpness, texture_share = _sharpness(f, t, noise_e)
    # clearly textured blocks only, so that a re-exposed view does not read as covered
    textured = (f.sigma >= 2 * t.occlusion_sigma) & (f.e2 - noise_e / 4.0 >= 4 * t.occlusion_energy)
    return Reference(
        sharpness=sharpness,
        texture_share=texture_share,
        thumbnail=_thumbnail(f),
        textured=textured,
    )


def diagnose(
    frame: np.ndarray,
    *,
    previous: np.ndarray | None = None,
    reference: Reference | None = None,
    thresholds: Thresholds | None = None,
) -> Diagnosis:
    """Diagnose one frame (BGR or gray uint8, any size).

    ``previous`` — a frame of the same camera taken seconds earlier — enables ``frozen``
    and ``jitter``; ``reference`` (from :func:`make_reference`) enables ``scene_change``,
    the per-camera blur baseline and occlusion measured against the reference's texture.
    """
    t = thresholds or Thresholds()
    f = _analyse(frame)
    return _diagnose(f, t, _noise_energy(f), previous, reference)


def diagnose_with_reference(
    frame: np.ndarray,
    *,
    previous: np.ndarray | None = None,
    reference: Reference | None = None,
    thresholds: Thresholds | None = None,
) -> tuple[Diagnosis, Reference]:
    """:func:`diagnose` and :func:`make_reference` of the same frame, analysed once (an
    inspection keeps the reference when the camera has none and the picture is healthy)."""
    t = thresholds or Thresholds()
    f = _analyse(frame)
    noise_e = _noise_energy(f)
    return _diagnose(f, t, noise_e, previous, reference), _reference(f, t, noise_e)


def _diagnose(
    f: _Frame, t: Thresholds, noise_e: float, previous: np.ndarray | None, reference: Reference | None
) -> Diagnosis:
    scores: dict[str, float] = {}
    metrics: dict[str, float] = {}

    def add(kind: DefectKind, result: tuple[float, dict[str, float]]) -> None:
        scores[kind.value] = result[0]
        metrics.update(result[1])

    add(DefectKind.SIGNAL_LOSS, _signal_loss(f, t))
    reference_view = reference
    if reference is not None:
        add(DefectKind.SCENE_CHANGE, _scene_change(f, reference, t))
        if scores[DefectKind.SCENE_CHANGE.value] >= 1.0:
            # either another view, or the same view behind an occluder
            covered, share = _covered(f, t, noise_e, reference)
            if _occlusion(t, share)[0] >= 1.0:
                rest = _scene_change(f, reference, t, visible=~covered)
                if rest[0] < 1.0:
                    add(DefectKind.SCENE_CHANGE, rest)
            if scores[DefectKind.SCENE_CHANGE.value] >= 1.0:
                reference_view = None  # another view: its texture map says nothing here
    covered, share = _covered(f, t, noise_e, reference_view)
    add(DefectKind.OCCLUSION, _occlusion(t, share))
    occluded = scores[DefectKind.OCCLUSION.value] >= 1.0
    visible = ~covered if occluded else np.ones_like(covered)
    dark, bright, exposure_metrics = _exposure(f, t, visible)
    scores[DefectKind.TOO_DARK.value] = dark
    scores[DefectKind.TOO_BRIGHT.value] = bright
    metrics.update(exposure_metrics)
    add(DefectKind.COLOR_CAST, _color_cast(f, t, visible))
    add(DefectKind.NOISE, _noise(f, t, noise_e))
    sharpness, texture_share = _sharpness(f, t, noise_e)
    add(DefectKind.BLUR, _blur(t, sharpness, texture_share, reference_view))
    add(DefectKind.STRIPES, _stripes(f, t))
    if previous is not None:
        frozen, jitter, pair_metrics = _frozen_and_jitter(f, previous, t)
        scores[DefectKind.FROZEN.value] = frozen
        scores[DefectKind.JITTER.value] = jitter
        metrics.update(pair_metrics)

    firing = {k for k, v in scores.items() if v >= 1.0}
    for kind, hidden in _PRECEDENCE:
        if kind.value in firing:
            firing -= {h.value for h in hidden}
    defects = tuple(
        Defect(DefectKind(k), round(scores[k], 4)) for k in sorted(firing, key=lambda k: -scores[k])
    )
    metrics = {k: (v if math.isfinite(v) else 0.0) for k, v in metrics.items()}
    return Diagnosis(ok=not defects, defects=defects, metrics=metrics, scores=scores)
