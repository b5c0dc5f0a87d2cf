"""VQD speed: the project's detector suite against the naive suite, in the same run.

    .venv/bin/python bench/vqd_speed.py [--frames N] [--size 640x360]

One thread (``cv2.setNumThreads(1)``).  Both suites diagnose the same frames with a
previous frame (so frozen and jitter run too); the project's suite also gets the
camera's reference (scene change, blur baseline).  Prints ms/frame for both, the ratio,
and the peak RSS of the process.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import vqd_naive  # noqa: E402

from xueliang.quality import diagnose, make_reference  # noqa: E402


def _frames(count: int, size: tuple[int, int]) -> list[np.ndarray]:
    try:
        from xueliang.quality import evalset

        samples = evalset.build(per_defect=max(1, count // 12), clean=count // 3, pairs=2)
        frames = [s.image for s in samples][:count]
    except ImportError:  # scikit-image missing: smooth random scenes instead
        rng = np.random.default_rng(1)
        frames = [
            cv2.GaussianBlur(rng.integers(0, 256, (360, 640, 3), dtype=np.uint8), (0, 0), 2)
            for _ in range(count)
        ]
    if size != (640, 360):
        frames = [cv2.resize(f, size, interpolation=cv2.INTER_LINEAR) for f in frames]
    return frames


def _time(fn, frames: list[np.ndarray], repeat: int) -> float:
    for f in frames[:5]:
        fn(f, frames[0])
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for i, f in enumerate(frames):
            fn(f, frames[i - 1])
        best = min(best, (time.perf_counter() - start) / len(frames))
    return best * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=120)
    parser.add_argument("--size", default="640x360")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    cv2.setNumThreads(1)
    width, height = (int(v) for v in args.size.split("x"))
    frames = _frames(args.frames, (width, height))
    reference = make_reference(frames[0])

    project = _time(lambda f, p: diagnose(f, previous=p, reference=reference), frames, args.repeat)
    single = _time(lambda f, p: diagnose(f), frames, args.repeat)
    naive = _time(lambda f, p: vqd_naive.diagnose(f, previous=p), frames, args.repeat)
    rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"frames: {len(frames)} at {width}x{height}, 1 thread (cv2.setNumThreads(1))")
    print(f"project suite (11 detectors, previous + reference): {project:7.3f} ms/frame")
    print(f"project suite (single image only):                  {single:7.3f} ms/frame")
    print(f"naive suite   (10 detectors, previous):             {naive:7.3f} ms/frame")
    print(f"ratio naive / project:                              {naive / project:7.2f}x")
    print(f"peak RSS:                                           {rss_mib:7.1f} MiB")


if __name__ == "__main__":
    main()
