from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from xueliang.cli_vqd import vqd


@pytest.fixture
def app() -> typer.Typer:
    app = typer.Typer()
    app.command("vqd")(vqd)

    @app.callback()
    def main() -> None:
        """xueliang (test harness)."""

    return app


def _write(path: Path, image: np.ndarray) -> Path:
    ok, data = cv2.imencode(path.suffix, image)
    assert ok
    data.tofile(str(path))
    return path


@pytest.fixture
def files(tmp_path: Path, photo: np.ndarray) -> dict[str, Path]:
    return {
        "good": _write(tmp_path / "good.png", photo),
        "black": _write(tmp_path / "black.jpg", np.zeros((360, 640, 3), np.uint8)),
        "chinese": _write(tmp_path / "雪亮工程_摄像机一号.png", photo),
        "corrupt": (tmp_path / "corrupt.jpg"),
        "text": (tmp_path / "notes.txt"),
        "missing": tmp_path / "missing.png",
    }


def _run(app: typer.Typer, *args: str) -> tuple[int, list[str]]:
    result = CliRunner().invoke(app, ["vqd", *args])
    return result.exit_code, [line for line in result.output.splitlines() if line]


def test_json_lines(app: typer.Typer, files: dict[str, Path]) -> None:
    files["corrupt"].write_bytes(b"\xff\xd8\xff\xe0 this is not really a jpeg")
    files["text"].write_text("hello", encoding="utf-8")
    order = ["good", "black", "chinese", "corrupt", "text", "missing"]
    code, lines = _run(app, *(str(files[k]) for k in order), "--json")
    assert code == 0
    rows = [json.loads(line) for line in lines]
    assert [r["file"] for r in rows] == [str(files[k]) for k in order]
    good, black, chinese, corrupt, text, missing = rows
    assert good["ok"] is True and good["defects"] == [] and "luminance" in good["metrics"]
    assert black["ok"] is False and black["defects"][0]["kind"] == "signal_loss"
    assert set(black["defects"][0]) == {"kind", "score"}
    assert chinese["ok"] is True and "雪亮工程" in chinese["file"]
    for bad in (corrupt, text, missing):
        assert bad["ok"] is False and bad["error"] and "defects" not in bad


def test_human_output(app: typer.Typer, files: dict[str, Path]) -> None:
    code, lines = _run(app, str(files["good"]), str(files["black"]), str(files["missing"]))
    assert code == 0
    assert lines[0].endswith(": ok")
    assert "signal_loss" in lines[1]
    assert "ERROR" in lines[2]


def test_reference_option(
    app: typer.Typer, files: dict[str, Path], tmp_path: Path, other_photo: np.ndarray
) -> None:
    moved = _write(tmp_path / "moved.png", other_photo)
    code, lines = _run(app, str(moved), "--reference", str(files["good"]), "--json")
    assert code == 0
    row = json.loads(lines[0])
    assert [d["kind"] for d in row["defects"]] == ["scene_change"]


def test_bad_reference_is_reported_not_fatal(app: typer.Typer, files: dict[str, Path]) -> None:
    code, lines = _run(app, str(files["good"]), "--reference", str(files["missing"]), "--json")
    assert code == 0
    assert "reference" in json.loads(lines[0])["error"]
    assert json.loads(lines[1])["ok"] is True
