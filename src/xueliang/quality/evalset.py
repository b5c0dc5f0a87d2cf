"""Labelled VQD evaluation set, generated deterministically in memory.

Clean scenes are real photographs shipped with scikit-image (``skimage.data``; imported
lazily, it is a test extra) plus two synthetic low-texture scenes (an evening sky and a
concrete wall, blurred random fields).  ``coffee`` (a close-up filled by one brown colour)
and ``text`` (ruled paper: a genuine periodic pattern) are left out: without a reference
no single-image detector can tell them from a colour cast and from stripes.

Every image goes through a simulated camera: random 16:9 view (crop, scale, flip),
exposure jitter, sensor noise, then a real H.264 encode/decode round trip through PyAV
(libx264, intra frames, QP 24/28/32), so clean images carry compression artefacts like real video frames.
Every second clean image carries the camera's on-screen clock (white text, no outline): on a
low-texture scene the text is all the detail there is.

Degradations are applied to the scene before the sensor and codec, at graded severities.
The **documented severities** (``DOCUMENTED``) are the ones the acceptance targets hold
at (F1 >= 0.95 per single-image defect, <= 1 % false alarms on clean images):

=============  ==========================================================================
defect         documented severities
=============  ==========================================================================
signal_loss    black screen (level 0-16) or blue screen, with or without OSD text
blur           Gaussian sigma 2, 3, 5 px; defocus disk radius 4 px (at 640×360)
too_dark       gain 0.40, 0.30, 0.20 on the gamma-encoded image
too_bright     lift 255-(255-x)*g with g 0.40, 0.30, 0.20; over-exposure gain 2.2, 3.0
color_cast     white-balance gains of strength 0.30, 0.40, 0.50 (warm, cool, green, magenta)
noise          Gaussian sigma 12, 18, 25; salt-and-pepper density 1 %, 2 %, 4 %
stripes        sinusoidal stripes, amplitude 20, 30, 45 gray levels, period 10, 16, 24 px,
               at 0, 30, 45, 60, 90 degrees, gray or coloured
occlusion      dark, uniform-colour or out-of-focus patch covering 35, 50, 65, 80 % of frame
frozen         identical decoded pair (optionally with a ticking OSD clock)
jitter         pair shifted by 5, 8, 12, 20 px
scene_change   another scene; the same scene panned >= 25 % or rotated 20-30 degrees
=============  ==========================================================================

``HARD`` severities (blur sigma 1.2, dark gain 0.5, lift 0.55, cast 0.2, noise sigma 7 /
0.5 %, stripe amplitude 10, slow rolling bars of period 40-100 px) are below what the
targets promise; the bench reports their recall separately.  Negatives for the pair
detectors are a *live static* scene (the same view, fresh sensor noise and a small
illumination flicker per frame) and, for the reference, the same view re-exposed and slightly shifted.
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

from .detect import diagnose, make_reference
from .model import PAIR_KINDS, REFERENCE_KINDS, SINGLE_IMAGE_KINDS, DefectKind, Thresholds

__all__ = [
    "Sample",
    "KindScore",
    "Evaluation",
    "base_scenes",
    "build",
    "evaluate",
]

SIZE = (640, 360)
QPS = (24, 28, 32)

DOCUMENTED: dict[DefectKind, tuple[str, ...]] = {
    DefectKind.SIGNAL_LOSS: ("black", "blue", "black+osd", "blue+osd"),
    DefectKind.BLUR: ("gauss2", "gauss3", "gauss5", "disk4"),
    DefectKind.TOO_DARK: ("gain0.40", "gain0.30", "gain0.20"),
    DefectKind.TOO_BRIGHT: ("lift0.40", "lift0.30", "lift0.20", "over2.2", "over3.0"),
    DefectKind.COLOR_CAST: ("cast0.30", "cast0.40", "cast0.50"),
    DefectKind.NOISE: ("gauss12", "gauss18", "gauss25", "sp0.01", "sp0.02", "sp0.04"),
    DefectKind.STRIPES: ("amp20", "amp30", "amp45"),
    DefectKind.OCCLUSION: ("cover0.35", "cover0.50", "cover0.65", "cover0.80"),
}
HARD: dict[DefectKind, tuple[str, ...]] = {
    DefectKind.BLUR: ("gauss1.2",),
    DefectKind.TOO_DARK: ("gain0.50",),
    DefectKind.TOO_BRIGHT: ("lift0.55",),
    DefectKind.COLOR_CAST: ("cast0.20",),
    DefectKind.NOISE: ("gauss7", "sp0.005"),
    DefectKind.STRIPES: ("amp10", "bars"),
}


@dataclass(frozen=True, slots=True, eq=False)
class Sample:
    """One labelled case: ``label`` None is a clean image (or a clean pair)."""

    name: str
    image: np.ndarray
    label: DefectKind | None
    severity: str = ""
    previous: np.ndarray | None = None
    reference_image: np.ndarray | None = None
    documented: bool = True


# ---------------------------------------------------------------------------------------
# scenes


def _synthetic_scenes() -> list[tuple[str, np.ndarray]]:
    rng = np.random.default_rng(20240601)
    h, w = 540, 960
    # evening sky: vertical gradient with faint, very soft clouds
    y = np.linspace(0.0, 1.0, h, dtype=np.float32)[:, None, None]
    top = np.array([150, 95, 60], np.float32)  # BGR, deep blue
    bottom = np.array([185, 170, 155], np.float32)
    sky = top + (bottom - top) * y
    clouds = cv2.GaussianBlur(rng.normal(0, 1, (h, w)).astype(np.float32), (0, 0), 40)
    clouds *= 10.0 / max(float(clouds.std()), 1e-6)
    sky = sky + clouds[..., None]
    # plastered wall: beige with large soft shading and a faint fine grain
    wall = np.empty((h, w, 3), np.float32)
    wall[:] = (136, 140, 144)  # weathered concrete
    shade = cv2.GaussianBlur(rng.normal(0, 1, (h, w)).astype(np.float32), (0, 0), 60)
    shade *= 12.0 / max(float(shade.std()), 1e-6)
    grain = cv2.GaussianBlur(rng.normal(0, 1, (h, w)).astype(np.float32), (0, 0), 1.5)
    grain *= 2.0 / max(float(grain.std()), 1e-6)
    wall = wall + (shade + grain)[..., None]
    return [
        ("sky", np.clip(sky, 0, 255).astype(np.uint8)),
        ("wall", np.clip(wall, 0, 255).astype(np.uint8)),
    ]


def base_scenes() -> list[tuple[str, np.ndarray]]:
    """Clean BGR base scenes: ``skimage.data`` photographs and synthetic flat scenes.

    Each photograph is gamma-normalised to a mean gray of about 115 (a correctly exposed
    camera); gray photographs are made 3-channel.
    """
    from skimage import data  # test extra: imported lazily

    photos: list[tuple[str, np.ndarray]] = []
    for name in ("astronaut", "rocket", "chelsea", "camera", "coins", "moon", "brick", "gravel", "clock"):
        photos.append((name, getattr(data, name)()))
    left, right, _ = data.stereo_motorcycle()
    photos += [("motorcycle_left", left), ("motorcycle_right", right)]
    scenes: list[tuple[str, np.ndarray]] = []
    for name, image in photos:
        if image.ndim == 2:
            bgr = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
        else:
            bgr = cv2.cvtColor(image[..., :3], cv2.COLOR_RGB2BGR)
        mean = float(cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY).mean()) / 255.0
        gamma = math.log(115.0 / 255.0) / math.log(min(max(mean, 0.05), 0.95))
        lut = np.clip(255.0 * (np.arange(256) / 255.0) ** gamma, 0, 255).astype(np.uint8)
        scenes.append((name, cv2.LUT(bgr, lut)))
    return scenes + _synthetic_scenes()


LOW_TEXTURE_SCENES = ("sky", "wall", "moon", "clock")


@dataclass(frozen=True, slots=True)
class _View:
    scene: int
    scale: float  # output pixels per scene pixel
    cx: float  # scene coordinates of the view centre
    cy: float
    angle: float = 0.0
    flip: bool = False
    gain: float = 1.0
    gamma: float = 1.0

    def moved(self, dx: float = 0.0, dy: float = 0.0, angle: float = 0.0) -> _View:
        """The same camera with the picture shifted by (dx, dy) output px and rotated."""
        return _View(
            self.scene,
            self.scale,
            self.cx - dx / self.scale,
            self.cy - dy / self.scale,
            self.angle + angle,
            self.flip,
            self.gain,
            self.gamma,
        )


def _random_view(
    rng: np.random.Generator,
    scenes: Sequence[tuple[str, np.ndarray]],
    scene: int | None = None,
    margin: float = 0.0,
) -> _View:
    index = int(rng.integers(len(scenes))) if scene is None else scene
    h, w = scenes[index][1].shape[:2]
    max_scale_w = w / (SIZE[0] + 2 * margin)
    max_scale_h = h / (SIZE[1] + 2 * margin)
    full = min(max_scale_w, max_scale_h)  # scene px per output px for the widest view
    # never enlarge a photograph by more than 1.3× (or what filling the frame needs):
    # an enlarged picture is soft, and a soft picture is not a clean camera image
    zoom = float(rng.uniform(max(0.6, min(1.0, 1.0 / (1.3 * full))), 1.0))
    scene_per_out = full * zoom
    half_w = (SIZE[0] / 2 + margin) * scene_per_out
    half_h = (SIZE[1] / 2 + margin) * scene_per_out
    cx = float(rng.uniform(half_w, max(half_w, w - half_w)))
    cy = float(rng.uniform(half_h, max(half_h, h - half_h)))
    return _View(
        index,
        1.0 / scene_per_out,
        cx,
        cy,
        0.0,
        bool(rng.integers(2)),
        float(rng.uniform(0.85, 1.15)),
        float(rng.uniform(0.85, 1.15)),
    )


def _render(view: _View, scenes: Sequence[tuple[str, np.ndarray]]) -> np.ndarray:
    """The scene as the lens sees it: float32 BGR at the output size."""
    image = scenes[view.scene][1]
    if view.flip:
        image = image[:, ::-1]
    m = cv2.getRotationMatrix2D((view.cx, view.cy), view.angle, view.scale)
    m[0, 2] += SIZE[0] / 2 - view.cx
    m[1, 2] += SIZE[1] / 2 - view.cy
    out = cv2.warpAffine(
        np.ascontiguousarray(image),
        m,
        SIZE,
        flags=cv2.INTER_AREA if view.scale < 1 else cv2.INTER_CUBIC,
        borderMode=cv2.BORDER_REFLECT_101,
    ).astype(np.float32)
    out = 255.0 * np.power(np.clip(out, 0, 255) / 255.0, view.gamma) * view.gain
    return out


_POOL_SIZE = 1 << 22
_pools: dict[np.random.Generator, np.ndarray] = {}


def _gaussian(rng: np.random.Generator, shape: tuple[int, ...], sigma: float) -> np.ndarray:
    """Unit normal noise from a seeded pool (a random window of it), times sigma."""
    n = int(np.prod(shape))
    pool = _pools.get(rng)
    if pool is None:
        _pools.clear()  # keyed by the generator object itself: no reuse across builds
        pool = _pools[rng] = rng.standard_normal(_POOL_SIZE, dtype=np.float32)
    start = int(rng.integers(0, _POOL_SIZE - n))
    return pool[start : start + n].reshape(shape) * np.float32(sigma)


def _sensor(
    image: np.ndarray, rng: np.random.Generator, sigma: float | None = None, flicker: float = 0.0
) -> np.ndarray:
    s = float(rng.uniform(0.8, 2.0)) if sigma is None else sigma
    gain = 1.0 + float(rng.uniform(-flicker, flicker))
    noisy = image * np.float32(gain) + _gaussian(rng, image.shape, s)
    return np.clip(noisy + 0.5, 0, 255).astype(np.uint8)


# ---------------------------------------------------------------------------------------
# degradations (float32 BGR scene in, float32 or uint8 out)


def _blur(img: np.ndarray, sev: str) -> np.ndarray:
    if sev.startswith("disk"):
        r = int(sev[4:])
        k = np.zeros((2 * r + 1, 2 * r + 1), np.float32)
        cv2.circle(k, (r, r), r, 1.0, -1)
        return cv2.filter2D(img, -1, k / k.sum(), borderType=cv2.BORDER_REFLECT_101)
    return cv2.GaussianBlur(img, (0, 0), float(sev[5:]))


def _dark(img: np.ndarray, sev: str) -> np.ndarray:
    return img * float(sev[4:])


def _bright(img: np.ndarray, sev: str) -> np.ndarray:
    if sev.startswith("over"):
        return np.minimum(img * float(sev[4:]), 255.0)
    g = float(sev[4:])
    return 255.0 - (255.0 - np.clip(img, 0, 255)) * g


_CASTS = {  # BGR gain directions
    "warm": (-1.0, 0.0, 1.0),
    "cool": (1.0, 0.0, -1.0),
    "green": (-0.6, 1.0, -0.6),
    "magenta": (0.6, -1.0, 0.6),
}


def _cast(img: np.ndarray, sev: str, rng: np.random.Generator) -> np.ndarray:
    s = float(sev[4:])
    direction = list(_CASTS.values())[int(rng.integers(len(_CASTS)))]
    gains = np.array([1.0 + s * d for d in direction], np.float32)
    return np.minimum(img * gains, 255.0)


def _noise(img: np.ndarray, sev: str, rng: np.random.Generator) -> np.ndarray:
    if sev.startswith("gauss"):
        sigma = float(sev[5:])
        return img + _gaussian(rng, img.shape[:2], sigma)[..., None]
    density = float(sev[2:])
    out = img.copy()
    hit = rng.random(img.shape[:2]) < density
    salt = rng.random(img.shape[:2]) < 0.5
    out[hit & salt] = 255.0
    out[hit & ~salt] = 0.0
    return out


def _stripes(img: np.ndarray, sev: str, rng: np.random.Generator) -> np.ndarray:
    if sev == "bars":  # slow rolling bars: HARD
        amplitude, period = 30.0, float(rng.choice([40, 64, 100]))
    else:
        amplitude, period = float(sev[3:]), float(rng.choice([10, 16, 24]))
    angle = math.radians(float(rng.choice([0, 90, 30, -45, 60])))
    y, x = np.mgrid[0 : SIZE[1], 0 : SIZE[0]].astype(np.float32)
    phase = float(rng.uniform(0, 2 * math.pi))
    wave = np.sin(2 * math.pi * (x * math.sin(angle) + y * math.cos(angle)) / period + phase)
    bars = (amplitude * wave).astype(np.float32)
    if rng.random() < 0.3:  # coloured interference
        tint = rng.uniform(0.3, 1.0, 3).astype(np.float32)
        return img + bars[..., None] * tint
    return img + bars[..., None]


def _occlude(img: np.ndarray, sev: str, rng: np.random.Generator) -> np.ndarray:
    share = float(sev[5:])
    h, w = SIZE[1], SIZE[0]
    mask = np.zeros((h, w), np.float32)
    if rng.random() < 0.5:  # tape / card / sign from one border
        side = int(rng.integers(4))
        if side in (0, 1):
            depth = int(round(share * h))
            if side == 0:
                mask[:depth] = 1
            else:
                mask[h - depth :] = 1
        else:
            depth = int(round(share * w))
            if side == 2:
                mask[:, :depth] = 1
            else:
                mask[:, w - depth :] = 1
    else:  # hand / leaf: a blob grown from a corner until it covers the share
        corner = (int(rng.integers(2)) * w, int(rng.integers(2)) * h)
        aspect = float(rng.uniform(0.7, 1.4))
        lo, hi = 10.0, 3.0 * w
        for _ in range(30):
            r = (lo + hi) / 2
            mask[:] = 0
            cv2.ellipse(mask, corner, (int(r * aspect), int(r)), 0, 0, 360, 1.0, -1)
            if mask.mean() < share:
                lo = r
            else:
                hi = r
    mask = cv2.GaussianBlur(mask, (0, 0), 4.0)[..., None]  # out-of-focus edge
    kind = int(rng.integers(3))
    if kind == 0:  # dark occluder near the lens
        level = float(rng.uniform(8, 45))
        shade = cv2.GaussianBlur(_gaussian(rng, (h, w), 1.0), (0, 0), 50)
        patch = np.full_like(img, level) + (4.0 * shade / max(float(shade.std()), 1e-6))[..., None]
    elif kind == 1:  # uniform-coloured object (bag, sign) in the shade at the lens
        patch = np.empty_like(img)
        patch[:] = rng.uniform(15, 70, 3).astype(np.float32)
    else:  # out-of-focus leaf / hand: the scene blurred away and darkened
        patch = cv2.GaussianBlur(img, (0, 0), 30.0) * float(rng.uniform(0.35, 0.8))
        patch[..., 1] *= float(rng.uniform(1.0, 1.3))
    return img * (1 - mask) + patch * mask


_OSD = ("NO SIGNAL", "CH 12  LOSS", "VIDEO LOSS", "Camera 01")


def _signal_loss(sev: str, rng: np.random.Generator) -> np.ndarray:
    h, w = SIZE[1], SIZE[0]
    screen = np.empty((h, w, 3), np.uint8)
    if sev.startswith("black"):
        screen[:] = int(rng.integers(0, 17))
    else:
        screen[:] = (int(rng.integers(180, 256)), int(rng.integers(0, 41)), int(rng.integers(0, 41)))
    if sev.endswith("+osd"):
        text = _OSD[int(rng.integers(len(_OSD)))]
        cv2.putText(
            screen,
            text,
            (int(rng.uniform(40, 260)), int(rng.uniform(150, 220))),
            cv2.FONT_HERSHEY_SIMPLEX,
            1.4,
            (235, 235, 235),
            3,
            cv2.LINE_AA,
        )
        cv2.putText(
            screen,
            "2024-06-01 12:00:00",
            (20, 30),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.7,
            (235, 235, 235),
            2,
            cv2.LINE_AA,
        )
    return screen.astype(np.float32)


def _osd_clock(img: np.ndarray, second: int) -> np.ndarray:
    out = img.copy()
    cv2.putText(
        out,
        f"2024-06-01 12:00:{second:02d}",
        (20, 30),
        cv2.FONT_HERSHEY_SIMPLEX,
        0.7,
        (235, 235, 235),
        2,
        cv2.LINE_AA,
    )
    return out


# ---------------------------------------------------------------------------------------
# codec


def _h264_roundtrip(frames: Sequence[np.ndarray], qp: int) -> list[np.ndarray]:
    """Encode frames as H.264 intra pictures at a fixed QP and decode them again."""
    import av  # PyAV, a project dependency; imported here to keep the module light

    if not frames:
        return []
    buf = io.BytesIO()
    with av.open(buf, mode="w", format="h264") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height = SIZE
        stream.pix_fmt = "yuv420p"
        stream.options = {
            "preset": "veryfast",
            "qp": str(qp),
            "x264-params": "keyint=1:min-keyint=1:scenecut=0",
        }
        for frame in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="bgr24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    with av.open(io.BytesIO(buf.getvalue()), format="h264") as container:
        out = [f.to_ndarray(format="bgr24") for f in container.decode(video=0)]
    if len(out) != len(frames):
        raise RuntimeError(f"codec round trip lost frames: {len(out)} of {len(frames)}")
    return out


class _Camera:
    """Collects sensor images, then passes them all through the codec at once."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.frames: list[np.ndarray] = []
        self.qps: list[int] = []

    def shoot(self, image: np.ndarray, qp: int | None = None) -> int:
        self.frames.append(image)
        self.qps.append(QPS[int(self.rng.integers(len(QPS)))] if qp is None else qp)
        return len(self.frames) - 1

    def develop(self) -> list[np.ndarray]:
        out: list[np.ndarray | None] = [None] * len(self.frames)
        for qp in QPS:
            idx = [i for i, q in enumerate(self.qps) if q == qp]
            for i, frame in zip(idx, _h264_roundtrip([self.frames[i] for i in idx], qp), strict=True):
                out[i] = frame
        return [f for f in out if f is not None]


# ---------------------------------------------------------------------------------------
# the set


def build(
    *,
    per_defect: int = 120,
    clean: int = 240,
    pairs: int = 100,
    seed: int = 7,
    hard: bool = False,
) -> list[Sample]:
    """The labelled set.

    ``per_defect`` degraded images per single-image defect (severities cycled), ``clean``
    clean images, ``pairs`` positive and ``pairs`` negative cases per pair/reference
    defect.  With ``hard`` the HARD severities are added (marked ``documented=False``).
    """
    scenes = base_scenes()
    rng = np.random.default_rng(seed)
    _pools.clear()
    cam = _Camera(rng)
    # (name, label, severity, documented, current index, previous index, reference index)
    plan: list[tuple[str, DefectKind | None, str, bool, int, int | None, int | None]] = []

    for i in range(clean):
        scene = i % len(scenes)
        view = _random_view(rng, scenes, scene)
        image = _sensor(_render(view, scenes), rng)
        idx = cam.shoot(_osd_clock(image, i % 60) if i % 2 else image)  # most cameras draw a clock
        plan.append((f"clean/{scenes[scene][0]}/{i}", None, "", True, idx, None, None))

    def degraded_cases() -> Iterable[tuple[DefectKind, str, bool]]:
        for kind, severities in DOCUMENTED.items():
            for j in range(per_defect):
                yield kind, severities[j % len(severities)], True
        if hard:
            for kind, severities in HARD.items():
                for j in range(max(per_defect // 3, len(severities))):
                    yield kind, severities[j % len(severities)], False

    textured_scenes = [i for i, (name, _) in enumerate(scenes) if name not in LOW_TEXTURE_SCENES]
    for n, (kind, sev, documented) in enumerate(degraded_cases()):
        if kind in (DefectKind.BLUR, DefectKind.OCCLUSION):
            # blur and an occluder are invisible on a flat scene: judged on textured ones
            view = _random_view(rng, scenes, textured_scenes[n % len(textured_scenes)])
        else:
            view = _random_view(rng, scenes)
        name = f"{kind.value}/{sev}/{scenes[view.scene][0]}/{n}"
        if kind is DefectKind.SIGNAL_LOSS:
            image = np.clip(_signal_loss(sev, rng) + 0.5, 0, 255).astype(np.uint8)
        else:
            scene = _render(view, scenes)
            if kind is DefectKind.BLUR:
                image = _sensor(_blur(scene, sev), rng)
            elif kind is DefectKind.OCCLUSION:
                image = _sensor(_occlude(scene, sev, rng), rng)
            elif kind is DefectKind.TOO_DARK:
                image = _sensor(_dark(scene, sev), rng)
            elif kind is DefectKind.TOO_BRIGHT:
                image = _sensor(_bright(scene, sev), rng)
            elif kind is DefectKind.COLOR_CAST:
                image = _sensor(_cast(scene, sev, rng), rng)
            elif kind is DefectKind.NOISE:
                noisy = _noise(_sensor(scene, rng).astype(np.float32), sev, rng)
                image = np.clip(noisy + 0.5, 0, 255).astype(np.uint8)
            else:  # stripes
                striped = _stripes(_sensor(scene, rng).astype(np.float32), sev, rng)
                image = np.clip(striped + 0.5, 0, 255).astype(np.uint8)
        plan.append((name, kind, sev, documented, cam.shoot(image), None, None))

    for j in range(pairs):  # frozen: positives identical, negatives live static
        view = _random_view(rng, scenes)
        base = _render(view, scenes)
        sname = scenes[view.scene][0]
        first = cam.shoot(_sensor(base, rng))
        if j % 3 == 2:  # frozen picture under a ticking OSD clock
            qp = cam.qps[first]
            prev = cam.shoot(_osd_clock(cam.frames[first], 1), qp)
            cur = cam.shoot(_osd_clock(cam.frames[first], 4), qp)
            plan.append((f"frozen/osd/{sname}/{j}", DefectKind.FROZEN, "osd", True, cur, prev, None))
        else:
            plan.append(
                (f"frozen/identical/{sname}/{j}", DefectKind.FROZEN, "identical", True, first, -1, None)
            )  # -1: the same decoded frame
        view = _random_view(rng, scenes)
        base = _render(view, scenes)
        prev = cam.shoot(_sensor(base, rng, flicker=0.02))
        cur = cam.shoot(_sensor(base, rng, flicker=0.02))
        plan.append((f"live/{scenes[view.scene][0]}/{j}", None, "live", True, cur, prev, None))

    shifts = (5, 8, 12, 20)
    for j in range(pairs):  # jitter
        view = _random_view(rng, scenes, margin=24)
        magnitude = shifts[j % len(shifts)]
        angle = float(rng.uniform(0, 2 * math.pi))
        moved = view.moved(magnitude * math.cos(angle), magnitude * math.sin(angle))
        prev = cam.shoot(_sensor(_render(view, scenes), rng, flicker=0.01))
        cur = cam.shoot(_sensor(_render(moved, scenes), rng, flicker=0.01))
        plan.append(
            (
                f"jitter/{magnitude}px/{scenes[view.scene][0]}/{j}",
                DefectKind.JITTER,
                f"{magnitude}px",
                True,
                cur,
                prev,
                None,
            )
        )
        view = _random_view(rng, scenes, margin=24)
        base = _render(view, scenes)
        prev = cam.shoot(_sensor(base, rng, flicker=0.02))
        cur = cam.shoot(_sensor(base, rng, flicker=0.02))
        plan.append((f"steady/{scenes[view.scene][0]}/{j}", None, "steady", True, cur, prev, None))

    for j in range(pairs):  # scene change against the reference
        view = _random_view(rng, scenes, margin=24)
        ref = cam.shoot(_sensor(_render(view, scenes), rng))
        mode = j % 4
        if mode in (0, 1):
            other = _random_view(
                rng, scenes, (view.scene + 1 + int(rng.integers(len(scenes) - 1))) % len(scenes)
            )
            moved, sev = other, "other"
        elif mode == 2:
            sign = 1 if rng.random() < 0.5 else -1
            moved, sev = view.moved(dx=sign * float(rng.uniform(0.25, 0.4)) * SIZE[0]), "pan"
        else:
            sign = 1 if rng.random() < 0.5 else -1
            moved, sev = view.moved(angle=sign * float(rng.uniform(20, 30))), "rotate"
        cur = cam.shoot(_sensor(_render(moved, scenes), rng))
        plan.append(
            (
                f"scene_change/{sev}/{scenes[view.scene][0]}/{j}",
                DefectKind.SCENE_CHANGE,
                sev,
                True,
                cur,
                None,
                ref,
            )
        )
        view = _random_view(rng, scenes, margin=24)
        ref = cam.shoot(_sensor(_render(view, scenes), rng))
        same = view.moved(float(rng.uniform(-3, 3)), float(rng.uniform(-3, 3)))
        same = _View(
            same.scene,
            same.scale,
            same.cx,
            same.cy,
            same.angle,
            same.flip,
            same.gain * float(rng.uniform(0.85, 1.15)),
            same.gamma,
        )
        cur = cam.shoot(_sensor(_render(same, scenes), rng))
        plan.append((f"same_view/{scenes[view.scene][0]}/{j}", None, "same", True, cur, None, ref))

    developed = cam.develop()
    samples = []
    for name, label, sev, documented, cur, prev, ref in plan:
        image = developed[cur]
        previous = image if prev == -1 else (developed[prev] if prev is not None else None)
        reference = developed[ref] if ref is not None else None
        samples.append(Sample(name, image, label, sev, previous, reference, documented))
    return samples


# ---------------------------------------------------------------------------------------
# scoring


@dataclass(frozen=True, slots=True)
class KindScore:
    kind: DefectKind
    tp: int
    fp: int
    fn: int

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


@dataclass(frozen=True, slots=True)
class Evaluation:
    """Per-defect counts on the documented cases, and the false-alarm figures.

    ``false_alarm_rate``: share of clean single images flagged with any defect.
    ``pair_false_alarm_rate``: share of clean pairs (live static, steady, same view)
    flagged with any defect.  ``hard_recall``: recall per defect on HARD severities.
    ``mistakes``: names of misjudged cases with what was predicted, for debugging.
    """

    kinds: dict[DefectKind, KindScore]
    clean_images: int
    false_alarms: int
    clean_pairs: int
    pair_false_alarms: int
    hard_recall: dict[DefectKind, float] = field(default_factory=dict)
    mistakes: tuple[str, ...] = ()

    @property
    def false_alarm_rate(self) -> float:
        return self.false_alarms / self.clean_images if self.clean_images else 0.0

    @property
    def pair_false_alarm_rate(self) -> float:
        return self.pair_false_alarms / self.clean_pairs if self.clean_pairs else 0.0


def evaluate(samples: Sequence[Sample], thresholds: Thresholds | None = None) -> Evaluation:
    """Diagnose every sample and count hits per defect.

    A sample counts toward a defect's precision and recall when that defect can be judged
    on it: single-image defects on every single image, ``frozen``/``jitter`` on every pair,
    ``scene_change`` on every case with a reference.
    """
    t = thresholds or Thresholds()
    counts = {k: [0, 0, 0] for k in DefectKind}
    hard_hits: dict[DefectKind, list[int]] = {}
    clean_images = false_alarms = clean_pairs = pair_false_alarms = 0
    mistakes: list[str] = []
    for s in samples:
        reference = (
            make_reference(s.reference_image, thresholds=t) if (s.reference_image is not None) else None
        )
        found = diagnose(s.image, previous=s.previous, reference=reference, thresholds=t).kinds
        if not s.documented:
            if s.label is not None:
                hit = hard_hits.setdefault(s.label, [0, 0])
                hit[0] += s.label in found
                hit[1] += 1
            continue
        if s.previous is not None:
            judged: tuple[DefectKind, ...] = PAIR_KINDS
        elif s.reference_image is not None:
            judged = REFERENCE_KINDS
        else:
            judged = SINGLE_IMAGE_KINDS
        for k in judged:
            if k == s.label and k in found:
                counts[k][0] += 1
            elif k in found:
                counts[k][1] += 1
            elif k == s.label:
                counts[k][2] += 1
        if s.label is None:
            if s.previous is None and s.reference_image is None:
                clean_images += 1
                false_alarms += bool(found)
            else:
                clean_pairs += 1
                pair_false_alarms += bool(found)
        if found != ({s.label} if s.label is not None else set()):
            mistakes.append(f"{s.name}: {sorted(k.value for k in found)}")
    return Evaluation(
        kinds={k: KindScore(k, *counts[k]) for k in DefectKind},
        clean_images=clean_images,
        false_alarms=false_alarms,
        clean_pairs=clean_pairs,
        pair_false_alarms=pair_false_alarms,
        hard_recall={k: v[0] / v[1] for k, v in hard_hits.items() if v[1]},
        mistakes=tuple(mistakes),
    )
