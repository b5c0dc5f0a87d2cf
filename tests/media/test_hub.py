"""MediaHub over real sockets: GB/T 28181-style devices (PS over RTP from PsRtpSender,
reached through InviteOpener) feeding one session per channel, however many viewers."""

from __future__ import annotations

import asyncio
import os
import threading

import cv2
import numpy as np
import pytest
from tests.support.media_device import ChannelMedia, LoopbackDevice

from xueliang.media import (
    InviteOpener,
    LiveFrame,
    MediaHub,
    NoMedia,
    SourceUnavailable,
    VideoCodec,
    Viewer,
    snapshot_jpeg,
)

DEVICE = "34020000001180000001"
CH1 = "34020000001320000001"
CH2 = "34020000001320000002"


def make_hub(device: LoopbackDevice, transport: str = "UDP", **options: float) -> MediaHub:
    gb = InviteOpener(device, transport=transport, no_media_timeout=options.pop("no_media_timeout", 3.0))  # type: ignore[arg-type]

    async def opener(channel_id: str):  # type: ignore[no-untyped-def]
        return await gb(DEVICE, channel_id)

    return MediaHub(opener, **options)  # type: ignore[arg-type]


async def take(viewer: Viewer, count: int, timeout: float = 10) -> list[LiveFrame]:
    return [await viewer.get(timeout) for _ in range(count)]


async def wait_until(predicate, timeout: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        assert loop.time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.02)


@pytest.mark.parametrize("transport", ["UDP", "TCP-passive", "TCP-active"])
async def test_viewers_share_one_upstream(transport: str) -> None:
    device = LoopbackDevice()
    hub = make_hub(device, transport)
    try:
        viewers = [hub.watch(CH1) for _ in range(5)]
        batches = await asyncio.gather(*(take(v, 20) for v in viewers))
        assert device.invites == 1, "one INVITE however many viewers"
        for batch in batches:
            assert batch[0].keyframe and batch[0].fragment is not None
        first = batches[0]
        for batch in batches[1:]:  # same frames, and the same fMP4 bytes object: packaged once
            assert [item.fragment for item in batch] == [item.fragment for item in first]
        (info,) = hub.sessions()
        assert info.viewers == 5 and info.codec == "h264" and not info.transcoding
        assert hub.codec_string(CH1) == first[0].fragment.init.codec  # type: ignore[union-attr]
    finally:
        await hub.close()
    assert device.byes == 1


async def test_late_viewer_starts_on_the_cached_keyframe_at_once() -> None:
    device = LoopbackDevice()
    hub = make_hub(device)
    try:
        first = hub.watch(CH1)
        seen = await take(first, 35)  # into the second GOP (one keyframe a second)
        late = hub.watch(CH1)
        assert len(late.queue) > 0, "the GOP cache is handed over without waiting"
        item = await late.get(0)
        assert item.keyframe
        last_key = [x for x in seen if x.keyframe][-1]
        assert item.frame.pts >= last_key.frame.pts
        assert device.invites == 1
    finally:
        await hub.close()


async def test_idle_upstream_is_torn_down() -> None:
    device = LoopbackDevice()
    hub = make_hub(device, idle_timeout=0.3)
    try:
        viewer = hub.watch(CH1)
        await take(viewer, 5)
        viewer.close()
        await asyncio.sleep(0.1)
        assert hub.sessions(), "kept during the idle time"
        again = hub.watch(CH1)  # a viewer coming back in time reuses it
        await take(again, 2)
        again.close()
        assert device.invites == 1
        await wait_until(lambda: not hub.sessions())
        await wait_until(lambda: device.byes == 1)
        assert device.active == 0
    finally:
        await hub.close()


async def test_timestamps_stay_monotonic_across_an_upstream_reconnect() -> None:
    device = LoopbackDevice()
    hub = make_hub(device, reopen_backoff=0.05)
    try:
        viewer = hub.watch(CH1)
        before = await take(viewer, 15)
        await device.hang_up(device.dialogs[0])  # the device ends the session (BYE)
        after = await take(viewer, 30)
        assert device.invites == 2
        stamps = [i.frame.decode_time for i in before + after]
        assert all(b > a for a, b in zip(stamps, stamps[1:], strict=False))
        gap = max(b - a for a, b in zip(stamps, stamps[1:], strict=False))
        assert gap <= 2 * 3600, "the new upstream continues one frame after the old one"
        assert hub.sessions()[0].reopens == 1
    finally:
        await hub.close()


async def test_slow_viewer_drops_to_the_next_keyframe() -> None:
    device = LoopbackDevice()
    hub = make_hub(device, viewer_queue_frames=10)
    try:
        fast, slow = hub.watch(CH1), hub.watch(CH1)
        await take(fast, 40)  # 1.6 s during which "slow" reads nothing
        assert len(slow.queue) <= 10 and slow.queue.dropped > 0
        items = await take(slow, 3)
        assert items[0].keyframe
        assert all(b.frame.pts > a.frame.pts for a, b in zip(items, items[1:], strict=False))
    finally:
        await hub.close()


async def test_h265_is_transcoded_only_while_an_h264_viewer_needs_it() -> None:
    device = LoopbackDevice({CH2: ChannelMedia(codec="h265")})
    hub = make_hub(device)
    try:
        native = hub.watch(CH2, codec=None)
        items = await take(native, 5)
        assert items[0].frame.codec is VideoCodec.H265 and items[0].fragment is None
        assert not hub.sessions()[0].transcoding
        browser = hub.watch(CH2)
        out = await take(browser, 20)
        assert hub.sessions()[0].transcoding
        assert all(i.frame.codec is VideoCodec.H264 for i in out)
        assert out[0].keyframe and out[0].fragment is not None
        assert out[0].fragment.init.width == 640 and out[0].fragment.init.codec.startswith("avc1.")
        browser.close()
        assert not hub.sessions()[0].transcoding
        await take(native, 5)  # the native viewer is unaffected
        assert device.invites == 1
    finally:
        await hub.close()


async def test_refused_invite_and_silence_reach_the_viewer_as_typed_errors() -> None:
    device = LoopbackDevice({CH1: ChannelMedia(refuse=True), CH2: ChannelMedia(silent=True)})
    hub = make_hub(device, no_media_timeout=0.5)
    try:
        with pytest.raises(SourceUnavailable, match="486"):
            await hub.watch(CH1).get(5)
        with pytest.raises(NoMedia, match="no media within 0.5 s"):
            await hub.watch(CH2).get(5)
        await wait_until(lambda: not hub.sessions())
        assert device.byes == 1, "the silent dialog was ended with BYE"
    finally:
        await hub.close()


async def test_snapshot_from_a_cold_and_a_warm_session() -> None:
    device = LoopbackDevice({CH2: ChannelMedia(codec="h265")})
    hub = make_hub(device, idle_timeout=0.2)
    try:
        for channel in (CH1, CH2):
            jpeg = await snapshot_jpeg(hub, channel, timeout=5)  # cold: opens, waits for a keyframe
            picture = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
            assert jpeg[:2] == b"\xff\xd8" and picture.shape == (360, 640, 3)
            assert float(picture.std()) > 20, "a real picture, not a blank one"
        viewer = hub.watch(CH1)
        await take(viewer, 3)
        invites = device.invites
        warm = await snapshot_jpeg(hub, CH1, timeout=5)  # from the GOP cache
        assert warm[:2] == b"\xff\xd8" and device.invites == invites
        viewer.close()
        await wait_until(lambda: not hub.sessions())
    finally:
        await hub.close()


def _resources() -> tuple[int, int, int]:
    tasks = len([t for t in asyncio.all_tasks() if not t.done()])
    return tasks, len(os.listdir("/proc/self/fd")), threading.active_count()


async def test_repeated_open_close_cycles_leak_nothing() -> None:
    device = LoopbackDevice({CH2: ChannelMedia(codec="h265")})
    hub = make_hub(device, idle_timeout=0.0)
    try:
        for channel in (CH1, CH2):  # warm up lazily created things (the default thread pool, clips)
            warm = hub.watch(channel)
            await take(warm, 2)
            warm.close()
            await wait_until(lambda: not hub.sessions())
        await asyncio.sleep(0.1)
        baseline = _resources()
        for cycle in range(8):
            channel = CH2 if cycle % 4 == 3 else CH1  # now and then an H.265 one, transcoded
            viewers = [hub.watch(channel) for _ in range(3)]
            await asyncio.gather(*(take(v, 3) for v in viewers))
            viewers[0].close()
            if cycle % 2:
                viewers.append(hub.watch(channel))  # a viewer joining mid-session
                await viewers[-1].get(5)
            for v in viewers[1:]:
                v.close()
            await wait_until(lambda: not hub.sessions())
        await wait_until(lambda: device.active == 0)
        await asyncio.sleep(0.2)
        now = _resources()
        leaked = any(a > b for a, b in zip(now, baseline, strict=True))
        assert not leaked, f"leaked (tasks, fds, threads): {now} > {baseline}"
        assert device.invites == 10
    finally:
        await hub.close()
