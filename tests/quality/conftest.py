from __future__ import annotations

import cv2
import numpy as np
import pytest


def sample_photo(name: str) -> np.ndarray:
    from skimage import data

    image = getattr(data, name)()
    bgr = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR if image.ndim == 2 else cv2.COLOR_RGB2BGR)
    h, w = bgr.shape[:2]
    ch = min(h, w * 9 // 16)
    cw = ch * 16 // 9
    y0, x0 = (h - ch) // 2, (w - cw) // 2
    return cv2.resize(bgr[y0 : y0 + ch, x0 : x0 + cw], (640, 360), interpolation=cv2.INTER_AREA)


def camera_like(image: np.ndarray, seed: int = 0, sigma: float = 1.5) -> np.ndarray:
    """Sensor noise on a float scene, then uint8 (what a live camera adds each frame)."""
    rng = np.random.default_rng(seed)
    noisy = image.astype(np.float32) + rng.normal(0, sigma, image.shape).astype(np.float32)
    return np.clip(noisy + 0.5, 0, 255).astype(np.uint8)


@pytest.fixture(scope="session")
def photo() -> np.ndarray:
    """A clean, textured 640×360 BGR photograph (skimage astronaut)."""
    return camera_like(sample_photo("astronaut"), seed=1)


@pytest.fixture(scope="session")
def other_photo() -> np.ndarray:
    return camera_like(sample_photo("chelsea"), seed=2)


@pytest.fixture(scope="session")
def big_scene() -> np.ndarray:
    """A 1280×720 view of the motorcycle photograph, for crops that shift (jitter)."""
    from skimage import data

    left = cv2.cvtColor(data.stereo_motorcycle()[0], cv2.COLOR_RGB2BGR)
    return cv2.resize(left[:416, :741], (1280, 720), interpolation=cv2.INTER_CUBIC)


@pytest.fixture(scope="session")
def sky() -> np.ndarray:
    """A low-texture scene: a smooth sky gradient with faint clouds and sensor noise."""
    rng = np.random.default_rng(3)
    y = np.linspace(0, 1, 360, dtype=np.float32)[:, None, None]
    sky = np.array([170, 120, 80], np.float32) + np.array([20, 50, 80], np.float32) * y
    clouds = cv2.GaussianBlur(rng.normal(0, 1, (360, 640)).astype(np.float32), (0, 0), 30)
    sky = sky + (clouds * 6 / clouds.std())[..., None]
    return camera_like(np.broadcast_to(sky, (360, 640, 3)), seed=4, sigma=1.2)
