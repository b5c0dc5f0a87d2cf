from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from xueliang.quality import Defect, DefectKind, Diagnosis, Reference, Thresholds, make_reference


def test_defect_kinds_are_the_public_names() -> None:
    assert [k.value for k in DefectKind] == [
        "signal_loss",
        "blur",
        "too_dark",
        "too_bright",
        "color_cast",
        "noise",
        "stripes",
        "frozen",
        "occlusion",
        "scene_change",
        "jitter",
    ]


def test_defect_validates() -> None:
    assert Defect("blur", 1.5).kind is DefectKind.BLUR  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Defect("smudge", 1.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Defect(DefectKind.BLUR, float("nan"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        Defect(DefectKind.BLUR, 1.0).score = 2.0  # type: ignore[misc]


def test_diagnosis_ok_matches_defects_and_metrics_are_finite() -> None:
    with pytest.raises(ValueError):
        Diagnosis(ok=True, defects=(Defect(DefectKind.BLUR, 1.2),))
    with pytest.raises(ValueError):
        Diagnosis(ok=True, defects=(), metrics={"x": float("inf")})
    d = Diagnosis(ok=False, defects=(Defect(DefectKind.NOISE, 2.0),), metrics={"a": 1.0})
    assert json.loads(json.dumps(d.to_json())) == {
        "ok": False,
        "defects": [{"kind": "noise", "score": 2.0}],
        "metrics": {"a": 1.0},
    }


def test_thresholds_validate_and_replace() -> None:
    t = Thresholds()
    assert t.replace(dark_mean=30).dark_mean == 30
    assert t.dark_mean == 60
    with pytest.raises(TypeError):
        t.replace(nope=1)
    with pytest.raises(ValueError):
        Thresholds(blur_ratio=float("nan"))
    with pytest.raises(ValueError):
        Thresholds(noise_sigma=-1)


def test_reference_round_trips_through_arrays() -> None:
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 256, (360, 640, 3), dtype=np.uint8)
    ref = make_reference(frame)
    assert ref.thumbnail.nbytes <= 64 * 36 * 4
    again = Reference.from_arrays(ref.to_arrays())
    assert again.sharpness == ref.sharpness
    assert np.array_equal(again.thumbnail, ref.thumbnail)
    assert np.array_equal(again.textured, ref.textured)
    with pytest.raises(ValueError):
        ref.thumbnail[0, 0] = 1.0  # read-only
