"""The output check against a real PS-over-RTP sender on 127.0.0.1: the finding names the
injected fault, and every way of not delivering a picture gets its failure class."""

from __future__ import annotations

import pytest

from xueliang.inspection import (
    CheckConfig,
    FailureClass,
    GbInviteOpener,
    StreamTarget,
    TargetOpener,
    diagnosis_state,
    run_check,
)
from xueliang.media import NoMedia, SourceUnavailable

from .conftest import DEVICE, Camera, channel_gb

CONFIG = CheckConfig(open_timeout=5, keyframe_timeout=4, second_frame_after=1.0, second_frame_timeout=2)


def opener_for(device, *, no_media_timeout: float = 1.5) -> TargetOpener:
    return TargetOpener(gb=GbInviteOpener(device, no_media_timeout=no_media_timeout, invite_timeout=2))


async def check(device, camera: Camera, n: int = 1, reference: bytes | None = None):
    gb = channel_gb(n)
    device.cameras[gb] = camera
    via, open_stream = opener_for(device)(StreamTarget(n, gb, DEVICE))
    assert via == "gb28181"
    return await run_check(open_stream, CONFIG, reference=reference)


async def test_a_healthy_camera_delivers_an_intact_picture_and_sets_a_reference(device):
    analysis, failure, _ = await check(device, Camera("normal"))
    assert failure is None and analysis is not None
    assert diagnosis_state(analysis.diagnosis) == "intact"
    assert (analysis.width, analysis.height) == (640, 360)
    assert analysis.thumbnail[:2] == b"\xff\xd8"
    assert analysis.reference is not None  # the first healthy inspection sets it
    assert "changed_share" in analysis.metrics  # a second frame was taken (frozen/jitter)
    assert device.invites == device.byes == 1


@pytest.mark.parametrize(
    ("fault", "state"),
    [
        ("too_dark", "too_dark"),
        ("black_screen", "signal_loss"),
        ("occluded", "occlusion"),
        ("noise", "noise"),
        ("stripes", "stripes"),
    ],
)
async def test_the_finding_names_the_injected_fault(device, fault, state):
    analysis, failure, _ = await check(device, Camera(fault))
    assert failure is None and analysis is not None
    assert diagnosis_state(analysis.diagnosis) == state
    assert analysis.reference is None  # no reference from an unhealthy picture


async def test_a_blurred_camera_is_not_intact(device):
    analysis, failure, _ = await check(device, Camera("blurred"))
    assert failure is None and analysis is not None
    assert not analysis.diagnosis.ok


@pytest.mark.parametrize(
    ("fault", "state"),
    [
        ("blurred", "blur"),
        ("colour_cast", "color_cast"),
        ("frozen", "frozen"),
    ],
)
async def test_the_finding_names_more_faults(device, fault, state):
    analysis, failure, _ = await check(device, Camera(fault))
    assert analysis is not None and diagnosis_state(analysis.diagnosis) == state


@pytest.mark.parametrize(
    ("behaviour", "failure_class"),
    [
        ("silent", FailureClass.NO_MEDIA),
        ("refuse", FailureClass.REFUSED),
        ("no_answer", FailureClass.NO_ANSWER),
        ("no_keyframe", FailureClass.TIMEOUT),
        ("undecodable", FailureClass.UNDECODABLE),
    ],
)
async def test_failure_classes(device, behaviour, failure_class):
    analysis, failure, _ = await check(device, Camera(behaviour=behaviour))
    assert analysis is None and failure is not None
    assert failure.failure is failure_class, str(failure)
    assert device.byes == (0 if behaviour in ("refuse", "no_answer") else 1)  # every dialog is closed


async def test_an_offline_device_is_no_answer_without_an_invite(device):
    presence = {"other": object()}
    opener = TargetOpener(gb=GbInviteOpener(device, presence=presence))
    _, open_stream = opener(StreamTarget(1, channel_gb(1), DEVICE))
    analysis, failure, _ = await run_check(open_stream, CONFIG)
    assert failure is not None and failure.failure is FailureClass.NO_ANSWER
    assert device.invites == 0


async def test_a_channel_without_url_or_device_is_no_answer():
    _, open_stream = TargetOpener()(StreamTarget(1, channel_gb(1)))
    analysis, failure, _ = await run_check(open_stream, CONFIG)
    assert failure is not None and failure.failure is FailureClass.NO_ANSWER


def test_live_errors_are_classified():
    from xueliang.inspection import classify_live_error

    assert (
        classify_live_error(SourceUnavailable("Server returned 401 Unauthorized")).failure
        is FailureClass.REFUSED
    )
    assert (
        classify_live_error(SourceUnavailable("[Errno 111] Connection refused")).failure
        is FailureClass.NO_ANSWER
    )
    assert classify_live_error(NoMedia("no media within 5 s")).failure is FailureClass.NO_MEDIA


async def test_rtsp_connection_refused_is_no_answer():
    from tests.conftest import free_port

    target = StreamTarget(1, channel_gb(1), stream_url=f"rtsp://127.0.0.1:{free_port()}/live")
    via, open_stream = TargetOpener(rtsp_timeout=2)(target)
    assert via == "rtsp"
    analysis, failure, _ = await run_check(open_stream, CONFIG)
    assert failure is not None and failure.failure is FailureClass.NO_ANSWER, str(failure)
