"""Shared bits for benchmarks: peak memory, timing, a seeded city on disk."""

from __future__ import annotations

import resource
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far, MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def children_peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def p99_ms(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000


def verdict(ok: bool) -> str:
    return "meets target" if ok else "MISSES target"


BENCH_USER, BENCH_PASSWORD = "bench", "Load-Test-Passw0rd-1"


def add_bench_admin(env: dict[str, str]) -> None:
    """An administrator in the platform at ``env``'s data directory, made with ``xueliang user add``."""
    import subprocess

    subprocess.run(
        [sys.executable, "-m", "xueliang", "user", "add", BENCH_USER, "--role", "admin", "--password-stdin"],
        input=BENCH_PASSWORD + "\n",
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )


def bench_headers(api: str) -> dict[str, str]:
    """The bench administrator's bearer header from a login at ``api`` (…/api/v1)."""
    import httpx

    response = httpx.post(f"{api}/auth/token", data={"username": BENCH_USER, "password": BENCH_PASSWORD})
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['access_token']}"}
