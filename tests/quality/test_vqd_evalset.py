"""The issue's acceptance criteria on a reduced, still meaningful labelled set.

F1 >= 0.95 per single-image defect at the documented severities and <= 1 % false alarms
on clean images (half of them under the camera's on-screen clock).
"""

from __future__ import annotations

import pytest

pytest.importorskip("skimage")

from xueliang.quality import DefectKind, evalset  # noqa: E402


@pytest.fixture(scope="module")
def evaluation() -> evalset.Evaluation:
    samples = evalset.build(per_defect=60, clean=150, pairs=30, seed=11)
    return evalset.evaluate(samples)


def test_set_is_meaningful(evaluation: evalset.Evaluation) -> None:
    assert evaluation.clean_images == 150
    for kind in (DefectKind.BLUR, DefectKind.NOISE, DefectKind.OCCLUSION):
        score = evaluation.kinds[kind]
        assert score.tp + score.fn == 60


def test_false_alarm_rate_on_clean_images(evaluation: evalset.Evaluation) -> None:
    assert evaluation.false_alarm_rate <= 0.01, evaluation.mistakes


@pytest.mark.parametrize(
    "kind",
    [
        DefectKind.SIGNAL_LOSS,
        DefectKind.BLUR,
        DefectKind.TOO_DARK,
        DefectKind.TOO_BRIGHT,
        DefectKind.COLOR_CAST,
        DefectKind.NOISE,
        DefectKind.STRIPES,
        DefectKind.OCCLUSION,
    ],
    ids=lambda k: k.value,
)
def test_single_image_f1(evaluation: evalset.Evaluation, kind: DefectKind) -> None:
    score = evaluation.kinds[kind]
    assert score.f1 >= 0.95, (score, [m for m in evaluation.mistakes if kind.value in m])


@pytest.mark.parametrize(
    "kind", [DefectKind.FROZEN, DefectKind.JITTER, DefectKind.SCENE_CHANGE], ids=lambda k: k.value
)
def test_pair_detectors_are_useful(evaluation: evalset.Evaluation, kind: DefectKind) -> None:
    assert evaluation.kinds[kind].f1 >= 0.9


def test_build_is_deterministic() -> None:
    a = evalset.build(per_defect=1, clean=2, pairs=1, seed=3)
    b = evalset.build(per_defect=1, clean=2, pairs=1, seed=3)
    assert [s.name for s in a] == [s.name for s in b]
    assert all((x.image == y.image).all() for x, y in zip(a, b, strict=True))
