from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from xueliang.quality import (
    DefectKind,
    Diagnosis,
    Thresholds,
    diagnose,
    diagnose_with_reference,
    evalset,
    make_reference,
)

from .conftest import camera_like, sample_photo

K = DefectKind


def kinds(d: Diagnosis) -> set[DefectKind]:
    return set(d.kinds)


def assert_finite(d: Diagnosis) -> None:
    assert all(math.isfinite(v) for v in d.metrics.values())
    assert all(math.isfinite(v) for v in d.scores.values())
    assert all(math.isfinite(x.score) and x.score >= 1.0 for x in d.defects)


def test_clean_photo_is_ok(photo: np.ndarray) -> None:
    d = diagnose(photo)
    assert d.ok, d.defects
    assert_finite(d)
    assert set(d.scores) == {k.value for k in K} - {"frozen", "jitter", "scene_change"}


def test_clean_other_photo_is_ok(other_photo: np.ndarray) -> None:
    assert diagnose(other_photo).ok


@pytest.mark.parametrize("sigma", [2.0, 3.0, 5.0])
def test_blur(photo: np.ndarray, sigma: float) -> None:
    d = diagnose(camera_like(cv2.GaussianBlur(photo, (0, 0), sigma)))
    assert kinds(d) == {K.BLUR}


def test_too_dark(photo: np.ndarray) -> None:
    assert kinds(diagnose(camera_like(photo * 0.3))) == {K.TOO_DARK}


def test_too_bright(photo: np.ndarray) -> None:
    lifted = 255 - (255 - photo.astype(np.float32)) * 0.3
    assert kinds(diagnose(camera_like(lifted))) == {K.TOO_BRIGHT}


def test_color_cast(photo: np.ndarray) -> None:
    cast = photo.astype(np.float32) * np.array([0.65, 1.4, 0.65], np.float32)  # green
    assert kinds(diagnose(camera_like(np.minimum(cast, 255)))) == {K.COLOR_CAST}


def test_gaussian_noise(photo: np.ndarray) -> None:
    assert kinds(diagnose(camera_like(photo, sigma=20))) == {K.NOISE}


def test_salt_and_pepper(photo: np.ndarray) -> None:
    rng = np.random.default_rng(5)
    noisy = photo.copy()
    hit = rng.random(photo.shape[:2]) < 0.02
    noisy[hit] = np.where(rng.random((int(hit.sum()), 1)) < 0.5, 0, 255).astype(np.uint8)
    assert kinds(diagnose(noisy)) == {K.NOISE}


@pytest.mark.parametrize(("period", "angle"), [(10, 0), (16, 90), (24, 30)])
def test_stripes(photo: np.ndarray, period: int, angle: float) -> None:
    y, x = np.mgrid[0:360, 0:640].astype(np.float32)
    a = math.radians(angle)
    wave = 30 * np.sin(2 * math.pi * (x * math.sin(a) + y * math.cos(a)) / period)
    d = diagnose(np.clip(photo + wave[..., None], 0, 255).astype(np.uint8))
    assert kinds(d) == {K.STRIPES}


def test_color_cast_on_a_colourful_scene(other_photo: np.ndarray) -> None:
    """A cool cast on an orange cat: the gray-world mean moves towards neutral, the
    brightest (near-white) pixels do not."""
    assert K.COLOR_CAST not in kinds(diagnose(other_photo))
    cast = other_photo.astype(np.float32) * np.array([1.35, 1.0, 0.65], np.float32)
    assert K.COLOR_CAST in kinds(diagnose(camera_like(np.minimum(cast, 255))))


def _street(seed: int) -> np.ndarray:
    """A static street under a deep-blue sky: gray buildings with windows, a gray road with
    white lane marks.  The brightest area is the sky, not a white object."""
    rng = np.random.default_rng(seed)
    scene = np.empty((360, 640, 3), np.float32)
    y = np.linspace(0, 1, 200, dtype=np.float32)[:, None, None]
    scene[:200] = np.array([205, 150, 90]) * (1 - y) + np.array([225, 200, 175]) * y
    x = 0
    while x < 640:
        width, top = int(rng.integers(50, 110)), int(rng.integers(50, 160))
        shade = float(rng.integers(70, 150))
        scene[top:200, x : x + width] = (shade, shade, shade + 8)
        for wy in range(top + 6, 194, 10):
            for wx in range(x + 4, x + width - 6, 10):
                scene[wy : wy + 4, wx : wx + 4] = shade * 0.5
        x += width + int(rng.integers(2, 10))
    scene[200:] = (72, 74, 76)
    for lane in range(0, 640, 80):
        scene[288:291, lane : lane + 40] = 225
    return scene


def test_color_cast_under_a_blue_sky() -> None:
    """The white patch alone takes the sky for white: a healthy street reads as blue, a
    warm cast that neutralises the sky reads as none.  The gray world and the gray edge
    outvote it."""
    street = _street(5)
    healthy = diagnose(camera_like(street, seed=5))
    assert healthy.ok, healthy.metrics
    warm = np.minimum(street * np.array([0.55, 0.85, 1.45], np.float32), 255)  # B, G, R gains
    assert kinds(diagnose(camera_like(warm, seed=6))) == {K.COLOR_CAST}


def test_periodic_scene_is_not_stripes(photo: np.ndarray) -> None:
    """A railing or a brick wall (thin sharp lines, a harmonic series) is scene content;
    interference stripes on it are still found."""
    scene = np.full((360, 640, 3), 120.0, np.float32)
    scene[:, ::40] = 200.0  # bright thin lines every 40 px: a railing
    scene[:, 1::40] = 200.0
    scene = cv2.GaussianBlur(scene, (0, 0), 1.0)
    railing = camera_like(scene)
    assert K.STRIPES not in kinds(diagnose(railing))
    y, x = np.mgrid[0:360, 0:640].astype(np.float32)
    wave = 25 * np.sin(2 * math.pi * (x * math.sin(0.5) + y * math.cos(0.5)) / 14)
    assert K.STRIPES in kinds(diagnose(camera_like(scene + wave[..., None])))


def test_stripes_on_a_low_texture_scene(sky: np.ndarray) -> None:
    y = np.arange(360, dtype=np.float32)[:, None, None]
    striped = np.clip(sky + 20 * np.sin(2 * math.pi * y / 10), 0, 255).astype(np.uint8)
    assert kinds(diagnose(striped)) == {K.STRIPES}


def test_out_of_focus_occluder(photo: np.ndarray) -> None:
    """A leaf at the lens: the scene behind it defocused away, darker; the rest sharp."""
    mask = np.zeros(photo.shape[:2], np.float32)
    cv2.ellipse(mask, (640, 360), (420, 300), 0, 0, 360, 1.0, -1)
    mask = cv2.GaussianBlur(mask, (0, 0), 4)[..., None]
    leaf = cv2.GaussianBlur(photo.astype(np.float32), (0, 0), 30) * 0.7
    d = diagnose(camera_like(photo.astype(np.float32) * (1 - mask) + leaf * mask))
    assert kinds(d) == {K.OCCLUSION}


@pytest.mark.parametrize("name", ["brick", "gravel"])
def test_out_of_focus_card_over_a_uniform_texture(name: str) -> None:
    """A card held in front of the lens over a wall of bricks: defocused, it is as plain
    as the blurred bricks (no soft shapes in it); its compact silhouette gives it away."""
    scene = sample_photo(name).astype(np.float32)
    assert diagnose(camera_like(scene, seed=1)).ok
    mask = np.zeros(scene.shape[:2], np.float32)
    mask[:, :384] = 1.0  # 60 % of the frame, from the left edge
    mask = cv2.GaussianBlur(mask, (0, 0), 4)[..., None]
    card = cv2.GaussianBlur(scene, (0, 0), 30) * 0.75
    assert kinds(diagnose(camera_like(scene * (1 - mask) + card * mask, seed=2))) == {K.OCCLUSION}


def test_on_screen_clock_over_a_low_texture_view_is_not_occlusion() -> None:
    """A plain wall or sky under the camera's clock: the text is all the detail there is,
    it is not a scene beside an occluder."""
    scenes = evalset.base_scenes()
    plain = [i for i, (name, _) in enumerate(scenes) if name in ("wall", "sky")]
    rng = np.random.default_rng(0)
    frames = []
    for second in range(16):
        view = evalset._random_view(rng, scenes, plain[second % 2])
        frames.append(evalset._osd_clock(evalset._sensor(evalset._render(view, scenes), rng), second))
    for frame in evalset._h264_roundtrip(frames, 32):
        assert diagnose(frame).ok, diagnose(frame).defects


def test_occlusion_by_a_dark_object(photo: np.ndarray) -> None:
    mask = np.zeros(photo.shape[:2], np.float32)
    mask[:, :352] = 1.0  # 55 % of the frame
    mask = cv2.GaussianBlur(mask, (0, 0), 3)[..., None]  # the occluder's soft edge
    covered = photo.astype(np.float32) * (1 - mask) + 25.0 * mask
    d = diagnose(camera_like(covered))
    assert kinds(d) == {K.OCCLUSION}
    assert d.metrics["luminance"] > 60  # exposure judged on the visible part


def test_bright_occluder_needs_the_reference(photo: np.ndarray) -> None:
    covered = photo.copy()
    covered[:, :352] = (200, 200, 200)
    reference = make_reference(photo)
    assert K.OCCLUSION in kinds(diagnose(covered, reference=reference))


def test_diagnose_with_reference_is_both_calls_in_one(photo: np.ndarray) -> None:
    earlier = make_reference(photo)
    covered = photo.copy()
    covered[:, :352] = (200, 200, 200)
    diagnosis, view = diagnose_with_reference(covered, previous=photo, reference=earlier)
    assert diagnosis == diagnose(covered, previous=photo, reference=earlier)
    alone = make_reference(covered)
    assert (view.sharpness, view.texture_share) == (alone.sharpness, alone.texture_share)
    assert np.array_equal(view.thumbnail, alone.thumbnail) and np.array_equal(view.textured, alone.textured)


@pytest.mark.parametrize("screen", [(0, 0, 0), (16, 16, 16), (255, 0, 0), (200, 30, 20)])
def test_signal_loss_screens(screen: tuple[int, int, int]) -> None:
    frame = np.empty((360, 640, 3), np.uint8)
    frame[:] = screen
    cv2.putText(frame, "NO SIGNAL", (200, 190), cv2.FONT_HERSHEY_SIMPLEX, 1.4, (235, 235, 235), 3)
    assert kinds(diagnose(frame)) == {K.SIGNAL_LOSS}


def test_all_black_and_all_white() -> None:
    black = np.zeros((360, 640, 3), np.uint8)
    white = np.full((360, 640, 3), 255, np.uint8)
    assert kinds(diagnose(black)) == {K.SIGNAL_LOSS}
    d = diagnose(white)
    assert kinds(d) == {K.TOO_BRIGHT}
    assert_finite(d)


def test_frozen_pair(photo: np.ndarray) -> None:
    d = diagnose(photo, previous=photo.copy())
    assert kinds(d) == {K.FROZEN}


def test_live_static_scene_is_not_frozen(photo: np.ndarray) -> None:
    scene = cv2.GaussianBlur(photo, (0, 0), 0.5).astype(np.float32)
    first = camera_like(scene, seed=10, sigma=1.0)
    second = camera_like(scene * 1.01, seed=11, sigma=1.0)  # fresh noise, flicker
    d = diagnose(second, previous=first)
    assert d.ok, d.defects
    assert d.metrics["changed_share"] > 0.1


def test_frozen_with_ticking_osd_clock(photo: np.ndarray) -> None:
    a, b = photo.copy(), photo.copy()
    cv2.putText(a, "2024-06-01 12:00:01", (20, 30), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (255, 255, 255), 2)
    cv2.putText(b, "2024-06-01 12:00:04", (20, 30), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (255, 255, 255), 2)
    assert K.FROZEN in kinds(diagnose(b, previous=a))


@pytest.mark.parametrize(("dx", "dy"), [(5, 0), (0, 8), (12, -9), (-20, 0)])
def test_jitter(big_scene: np.ndarray, dx: int, dy: int) -> None:
    prev = camera_like(big_scene[100:460, 300:940], seed=1)
    cur = camera_like(big_scene[100 + dy : 460 + dy, 300 + dx : 940 + dx], seed=2)
    d = diagnose(cur, previous=prev)
    assert kinds(d) == {K.JITTER}
    assert d.metrics["shift"] == pytest.approx(math.hypot(dx, dy), abs=1.5)


def test_steady_pair_is_not_jitter(big_scene: np.ndarray) -> None:
    view = big_scene[100:460, 300:940]
    d = diagnose(camera_like(view, seed=2), previous=camera_like(view, seed=1))
    assert d.ok, d.defects


def test_scene_change(photo: np.ndarray, other_photo: np.ndarray) -> None:
    reference = make_reference(photo)
    assert K.SCENE_CHANGE in kinds(diagnose(other_photo, reference=reference))
    same = camera_like(photo.astype(np.float32) * 1.1, seed=9)
    assert diagnose(same, reference=reference).ok


def test_low_texture_scene_is_not_blurred_nor_occluded(sky: np.ndarray) -> None:
    d = diagnose(sky)
    assert d.ok, d.defects
    reference = make_reference(sky)
    d = diagnose(camera_like(cv2.GaussianBlur(sky, (0, 0), 1.0), seed=8), reference=reference)
    assert K.BLUR not in kinds(d)
    assert K.OCCLUSION not in kinds(d)


def test_blur_baseline_from_reference(photo: np.ndarray) -> None:
    soft = cv2.GaussianBlur(photo, (0, 0), 1.0)  # a camera whose normal is a bit soft
    reference = make_reference(soft)
    assert K.BLUR not in kinds(diagnose(soft, reference=reference))
    d = diagnose(cv2.GaussianBlur(photo, (0, 0), 3.0), reference=reference)
    assert K.BLUR in kinds(d)
    assert d.metrics["sharpness_vs_reference"] < 0.5


def test_grayscale_input(photo: np.ndarray) -> None:
    gray = cv2.cvtColor(photo, cv2.COLOR_BGR2GRAY)
    assert diagnose(gray).ok
    assert diagnose(gray[:, :, None]).ok
    assert kinds(diagnose(cv2.GaussianBlur(gray, (0, 0), 3))) == {K.BLUR}
    assert diagnose(gray, previous=photo, reference=make_reference(photo)).kinds == {K.FROZEN}


def test_bgra_input(photo: np.ndarray) -> None:
    assert diagnose(cv2.cvtColor(photo, cv2.COLOR_BGR2BGRA)).ok


@pytest.mark.parametrize("shape", [(9, 17, 3), (9, 17), (1, 1, 3), (3, 200), (200, 3, 3), (31, 47, 3)])
def test_tiny_and_odd_sizes(shape: tuple[int, ...]) -> None:
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 256, shape, dtype=np.uint8)
    d = diagnose(frame, previous=frame, reference=make_reference(frame))
    assert_finite(d)
    flat = np.full(shape, 128, np.uint8)
    assert_finite(diagnose(flat, previous=flat, reference=make_reference(flat)))


def test_full_hd_is_downscaled(photo: np.ndarray) -> None:
    big = cv2.resize(photo, (1920, 1080), interpolation=cv2.INTER_CUBIC)
    d = diagnose(big, previous=big, reference=make_reference(photo))
    assert_finite(d)
    assert d.kinds == {K.FROZEN}
    assert kinds(diagnose(cv2.resize(photo * 0.3, (1920, 1080)).astype(np.uint8))) == {K.TOO_DARK}


def test_mixed_sizes_between_previous_and_current(photo: np.ndarray) -> None:
    small = cv2.resize(photo, (320, 180), interpolation=cv2.INTER_AREA)
    assert_finite(diagnose(photo, previous=small))


@pytest.mark.parametrize(
    "bad",
    [
        np.zeros((10, 10), np.float32),
        np.zeros((0, 5), np.uint8),
        np.zeros((4, 4, 2), np.uint8),
        np.zeros((2, 2, 2, 3), np.uint8),
    ],
)
def test_bad_input_raises_value_error(bad: np.ndarray) -> None:
    with pytest.raises(ValueError):
        diagnose(bad)


def test_not_an_array_raises_type_error() -> None:
    with pytest.raises(TypeError):
        diagnose([[1, 2], [3, 4]])  # type: ignore[arg-type]


def test_thresholds_configure_the_decision(photo: np.ndarray) -> None:
    dim = camera_like(photo * 0.55)
    assert K.TOO_DARK not in kinds(diagnose(dim))
    assert K.TOO_DARK in kinds(diagnose(dim, thresholds=Thresholds(dark_mean=80)))


def test_input_frame_is_not_modified(photo: np.ndarray) -> None:
    before = photo.copy()
    diagnose(photo, previous=photo, reference=make_reference(photo))
    assert np.array_equal(before, photo)
