"""A naive VQD suite: the same eleven detectors written the straightforward way.

Each detector converts the colour itself and works at full resolution (full-size FFT for
stripes, 3×3 median on the whole frame for noise, Lab on every pixel for the colour
cast, block loops in Python for occlusion).  It is the baseline ``bench/vqd_speed.py``
measures the project's suite against; its verdicts are not evaluated.
"""

from __future__ import annotations

import cv2
import numpy as np


def _gray(frame: np.ndarray) -> np.ndarray:
    return frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)


def _bgr(frame: np.ndarray) -> np.ndarray:
    return frame if frame.ndim == 3 else cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)


def signal_loss(frame: np.ndarray) -> bool:
    gray = _gray(frame)
    bgr = _bgr(frame).astype(np.int32)
    blue = (bgr[..., 0] > 100) & (bgr[..., 0] - np.maximum(bgr[..., 1], bgr[..., 2]) > 60)
    return bool(np.mean(gray < 20) >= 0.72 or np.mean(blue) >= 0.8)


def blur(frame: np.ndarray) -> bool:
    gray = _gray(frame)
    return bool(cv2.Laplacian(gray, cv2.CV_64F).var() < 100)


def too_dark(frame: np.ndarray) -> bool:
    return bool(_gray(frame).astype(np.float64).mean() < 60)


def too_bright(frame: np.ndarray) -> bool:
    return bool(_gray(frame).astype(np.float64).mean() > 190)


def color_cast(frame: np.ndarray) -> bool:
    lab = cv2.cvtColor(_bgr(frame), cv2.COLOR_BGR2Lab).astype(np.float64)
    a, b = lab[..., 1] - 128, lab[..., 2] - 128
    da, db = a.mean(), b.mean()
    d = np.hypot(da, db)
    m = np.hypot(np.abs(a - da).mean(), np.abs(b - db).mean())
    return bool(d / max(m, 1e-6) > 1.5)


def noise(frame: np.ndarray) -> bool:
    gray = _gray(frame)
    median = cv2.medianBlur(gray, 3)
    residual = np.abs(gray.astype(np.int16) - median.astype(np.int16))
    edges = cv2.Canny(gray, 50, 150) > 0
    return bool(np.mean((residual > 20) & ~edges) > 0.005)


def stripes(frame: np.ndarray) -> bool:
    gray = _gray(frame).astype(np.float64)
    spectrum = np.abs(np.fft.fftshift(np.fft.fft2(gray - gray.mean())))
    h, w = spectrum.shape
    spectrum[h // 2 - 3 : h // 2 + 4, w // 2 - 3 : w // 2 + 4] = 0
    peak = spectrum.max()
    return bool(peak > max(spectrum.mean() + 3 * spectrum.std(), 0.5 * peak) * 4)


def occlusion(frame: np.ndarray) -> bool:
    gray = _gray(frame)
    lap = cv2.Laplacian(gray, cv2.CV_64F)
    h, w = gray.shape
    covered = 0
    for by in range(8):
        for bx in range(8):
            ys, xs = slice(by * h // 8, (by + 1) * h // 8), slice(bx * w // 8, (bx + 1) * w // 8)
            if gray[ys, xs].std() < 25 and lap[ys, xs].std() < 10:
                covered += 1
    return covered / 64 > 0.32


def frozen(frame: np.ndarray, previous: np.ndarray) -> bool:
    diff = np.abs(_gray(frame).astype(np.int16) - _gray(previous).astype(np.int16))
    return bool(diff.mean() < 0.5)


def jitter(frame: np.ndarray, previous: np.ndarray) -> bool:
    a = _gray(previous).astype(np.float64)
    b = _gray(frame).astype(np.float64)
    (dx, dy), _ = cv2.phaseCorrelate(a, b)
    return bool(np.hypot(dx, dy) > 3)


def scene_change(frame: np.ndarray, reference: np.ndarray) -> bool:
    orb = cv2.ORB_create(500)
    _, da = orb.detectAndCompute(_gray(reference), None)
    _, db = orb.detectAndCompute(_gray(frame), None)
    if da is None or db is None:
        return True
    matches = cv2.BFMatcher(cv2.NORM_HAMMING, crossCheck=True).match(da, db)
    return len([m for m in matches if m.distance < 40]) < 10


def diagnose(frame: np.ndarray, previous: np.ndarray | None = None) -> list[str]:
    """The single-image and two-frame detectors (what ``vqd_speed`` times)."""
    found = [
        name
        for name, detector in (
            ("signal_loss", signal_loss),
            ("blur", blur),
            ("too_dark", too_dark),
            ("too_bright", too_bright),
            ("color_cast", color_cast),
            ("noise", noise),
            ("stripes", stripes),
            ("occlusion", occlusion),
        )
        if detector(frame)
    ]
    if previous is not None:
        found += [n for n, d in (("frozen", frozen), ("jitter", jitter)) if d(frame, previous)]
    return found
