"""Shared bits for benchmarks: peak memory, timing, a seeded city on disk."""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.support


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
    subprocess.run(
        [sys.executable, "-m", "xueliang", "user", "add", BENCH_USER, "--role", "admin", "--password-stdin"],
        input=BENCH_PASSWORD + "\n",
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )


def start_serve(
    data_dir: str, settings: dict[str, str], stderr: Path | None = None
) -> tuple[subprocess.Popen[bytes], str, str, dict[str, str]]:
    """`xueliang serve` on free loopback ports, its data in ``data_dir``, with ``settings``
    (names without the ``XUELIANG_`` prefix) and no ``XUELIANG_`` setting of this process.
    Returns the process, the API URL, the SIP address and the environment for other commands."""
    from tests.support.platform import free_port

    env = {k: v for k, v in os.environ.items() if not k.startswith("XUELIANG_")}
    http, sip = f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"
    serve = subprocess.Popen(
        [sys.executable, "-m", "xueliang", "serve"],
        env={
            **env,
            "XUELIANG_DATA_DIR": data_dir,
            "XUELIANG_HTTP": http,
            "XUELIANG_SIP": sip,
            "XUELIANG_LOG_LEVEL": "WARNING",
            "XUELIANG_ACCESS_TOKEN_TTL": "86400",  # a run can outlast a default token
            **{f"XUELIANG_{k.upper()}": v for k, v in settings.items()},
        },
        stdout=subprocess.DEVNULL,
        stderr=stderr.open("wb") if stderr else subprocess.DEVNULL,
    )
    return serve, f"http://{http}/api/v1", sip, env


def admin_headers(api: str, env: dict[str, str], data_dir: str) -> dict[str, str]:
    """Once ``serve`` at ``api`` answers, the bench administrator's bearer header (the account
    made in ``data_dir`` with ``xueliang user add``)."""
    import httpx

    for _ in range(300):
        try:
            if httpx.get(f"{api}/health", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.2)
    add_bench_admin({**env, "XUELIANG_DATA_DIR": data_dir})
    return bench_headers(api)


def bench_headers(api: str) -> dict[str, str]:
    """The bench administrator's bearer header from a login at ``api`` (…/api/v1)."""
    import httpx

    response = httpx.post(f"{api}/auth/token", data={"username": BENCH_USER, "password": BENCH_PASSWORD})
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['access_token']}"}
