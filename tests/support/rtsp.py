"""Start the GStreamer RTSP camera stand-in (``rtsp_camera.py``) as a subprocess of
Debian's ``/usr/bin/python3``; tests skip with the reason when GStreamer is absent."""

from __future__ import annotations

import functools
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.platform import free_port

SYSTEM_PYTHON = "/usr/bin/python3"
SCRIPT = Path(__file__).with_name("rtsp_camera.py")
PACKAGES = (
    "python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-base gstreamer1.0-plugins-good "
    "gstreamer1.0-plugins-ugly gstreamer1.0-plugins-bad gstreamer1.0-libav"
)
_PROBE = (
    "import gi; gi.require_version('Gst', '1.0'); gi.require_version('GstRtspServer', '1.0'); "
    "from gi.repository import Gst, GstRtspServer; Gst.init(None); "
    "missing = [e for e in ('x264enc', 'x265enc', 'rtph264pay', 'rtph265pay', 'videotestsrc') "
    "if Gst.ElementFactory.find(e) is None]; print(' '.join(missing))"
)


@functools.cache
def gstreamer_missing() -> str | None:
    """Why the RTSP stand-in cannot run here, or None."""
    if not Path(SYSTEM_PYTHON).exists():
        return f"{SYSTEM_PYTHON} not found (Debian's python3 with gi is needed: apt-get install {PACKAGES})"
    probe = subprocess.run([SYSTEM_PYTHON, "-c", _PROBE], capture_output=True, text=True, timeout=60)
    if probe.returncode:
        detail = probe.stderr.strip()[-200:]
        return f"GStreamer RTSP server not importable ({detail}): apt-get install {PACKAGES}"
    if probe.stdout.strip():
        return f"GStreamer elements missing: {probe.stdout.strip()} (apt-get install {PACKAGES})"
    return None


@contextmanager
def rtsp_camera(
    codec: str = "h264", user: str | None = None, password: str | None = None, path: str = "/live"
) -> Iterator[str]:
    """A live RTSP camera on 127.0.0.1; yields its URL (without credentials)."""
    port = free_port()
    args = [SYSTEM_PYTHON, str(SCRIPT), "--port", str(port), "--codec", codec, "--path", path]
    if user:
        args += ["--user", user, "--password", password or ""]
    with tempfile.TemporaryFile("w+") as errors:
        process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=errors, text=True)
        try:
            assert process.stdout is not None
            line = process.stdout.readline()
            if not line.startswith("READY "):
                process.wait(5)
                errors.seek(0)
                raise RuntimeError(f"RTSP camera did not start: {line!r} {errors.read()[-500:]}")
            yield line.split()[1]
        finally:
            process.kill()
            process.wait()
