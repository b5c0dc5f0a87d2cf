"""Run ``xueliang serve`` as a real process on free loopback ports, for integration tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from tests.support.auth import ADMIN, PASSWORD, login_sync


def free_port() -> int:
    """A port free on 127.0.0.1 for both TCP and UDP right now."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
            tcp.bind(("127.0.0.1", 0))
            port = int(tcp.getsockname()[1])
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                try:
                    udp.bind(("127.0.0.1", port))
                except OSError:
                    continue
            return port
    raise RuntimeError("no free port")


@dataclass
class RunningPlatform:
    process: subprocess.Popen[str]
    http: str
    sip_port: int
    data_dir: Path
    log_path: Path
    headers: dict[str, str] = field(default_factory=dict)  # an administrator's bearer token

    @property
    def api(self) -> str:
        return f"http://{self.http}/api/v1"

    def get(self, path: str, **params: Any) -> Any:
        response = httpx.get(f"{self.api}{path}", params=params, timeout=10, headers=self.headers)
        response.raise_for_status()
        return response.json()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_for(self, predicate: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            assert self.process.poll() is None, f"serve exited:\n{self.log()}"
            time.sleep(0.2)
        raise AssertionError(
            f"timed out after {timeout} s waiting for {what}\n--- serve log ---\n{self.log()[-4000:]}"
        )


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("XUELIANG_")}
    env.update(extra)
    return env


@contextmanager
def running_platform(tmp_path: Path, **settings: str) -> Iterator[RunningPlatform]:
    """``xueliang serve`` with its own data dir and free HTTP/SIP ports; stopped afterwards."""
    http = f"127.0.0.1:{free_port()}"
    sip_port = free_port()
    data_dir = tmp_path / "platform"
    log_path = tmp_path / "serve.log"
    env = _clean_env(
        XUELIANG_DATA_DIR=str(data_dir),
        XUELIANG_HTTP=http,
        XUELIANG_SIP=f"127.0.0.1:{sip_port}",
        XUELIANG_LOG_LEVEL="INFO",
        **{f"XUELIANG_{k.upper()}": v for k, v in settings.items()},
    )
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "xueliang", "serve"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
    platform = RunningPlatform(process, http, sip_port, data_dir, log_path)
    try:

        def healthy() -> bool:
            try:
                return httpx.get(f"{platform.api}/health", timeout=1).status_code == 200
            except httpx.TransportError:
                return False

        platform.wait_for(healthy, 60, "serve to answer /health")
        subprocess.run(  # the administrator, made as an operator would make one
            [sys.executable, "-m", "xueliang", "user", "add", ADMIN, "--role", "admin", "--password-stdin"],
            input=PASSWORD + "\n",
            env=env,
            check=True,
            capture_output=True,
            text=True,
            timeout=60,
        )
        platform.headers = login_sync(platform.api, ADMIN)
        yield platform
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
