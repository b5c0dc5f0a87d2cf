"""``xueliang vqd FILE... [--reference REF] [--json]``: diagnose image files.

A Typer-compatible command function; the lead registers it with
``app.command("vqd")(vqd)``.  One line per file: with ``--json`` one JSON object
``{"file", "ok", "defects": [{"kind", "score"}], "metrics"}``; a file that cannot be read
or decoded gets ``{"file", "ok": false, "error"}``.  The exit code is 0 either way.
Images are read with ``cv2.imdecode(np.fromfile(...))`` so non-ASCII paths work.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import cv2
import numpy as np
import typer

from xueliang.quality import Reference, diagnose, make_reference

__all__ = ["vqd", "read_image"]


class ImageError(Exception):
    """A file that is not a readable image."""


def read_image(path: Path) -> np.ndarray:
    """Decode an image file (any path, any OpenCV-readable format) to BGR or gray uint8."""
    try:
        data = np.fromfile(str(path), dtype=np.uint8)
    except OSError as exc:
        raise ImageError(exc.strerror or str(exc)) from exc
    if data.size == 0:
        raise ImageError("empty file")
    image = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    if image is None:
        raise ImageError("not a decodable image")
    if image.dtype != np.uint8:  # 16-bit PNG/TIFF: keep the high byte
        image = (image >> 8).astype(np.uint8) if image.dtype == np.uint16 else None
        if image is None:
            raise ImageError("unsupported sample type")
    if image.ndim == 3 and image.shape[2] == 4:
        image = cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    return image


def _line(file: Path, json_output: bool, result: dict[str, object]) -> str:
    if json_output:
        return json.dumps({"file": str(file), **result}, ensure_ascii=False)
    if "error" in result:
        return f"{file}: ERROR {result['error']}"
    defects = result["defects"]
    assert isinstance(defects, list)
    if not defects:
        return f"{file}: ok"
    return f"{file}: " + ", ".join(f"{d['kind']} ({d['score']:.2f})" for d in defects)


def vqd(
    files: Annotated[list[Path], typer.Argument(help="Image files to diagnose.")],
    reference: Annotated[
        Path | None,
        typer.Option(
            "--reference",
            help="The camera's reference image (scene change, "
            "blur baseline, occlusion against the reference).",
        ),
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help="One JSON object per file and line.")] = False,
) -> None:
    """Diagnose images for video quality defects (视频质量诊断)."""
    ref: Reference | None = None
    if reference is not None:
        try:
            ref = make_reference(read_image(reference))
        except (ImageError, ValueError) as exc:
            typer.echo(_line(reference, json_output, {"ok": False, "error": f"reference: {exc}"}))
    for file in files:
        try:
            result: dict[str, object] = diagnose(read_image(file), reference=ref).to_json()
        except (ImageError, ValueError) as exc:
            result = {"ok": False, "error": str(exc)}
        typer.echo(_line(file, json_output, result))
