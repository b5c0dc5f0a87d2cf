"""Inspection sweep: N simulated channels inspected (INVITE, first keyframe, decode,
diagnosis) by the inspection plane, beside a naive baseline measured in the same run.

    .venv/bin/python bench/inspection_sweep.py [--channels 2000] [--concurrency 48]
        [--second-frame 0] [--baseline 40]

Media is real: every INVITE starts a :class:`PsRtpSender` on 127.0.0.1 sending a cached
labelled clip (normal and faulty, 640×360 H.264) as PS over RTP by UDP to the port the
inspection plane prepared; only the SIP exchange is stood in for (an in-process inviter),
so the figure is the media + decode + diagnosis cost, the platform's own part.

Optimised: bounded concurrency, keyframes only, scaled in the decoder path, decode and VQD
in a 2-thread pool. Naive baseline (on ``--baseline`` channels): one channel at a time,
every frame of the first second decoded at full size, diagnosis of the last one.
Prints channels/minute, projected time for 20,000, p50/p99 per channel and peak RSS.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import median_ms, p99_ms, peak_rss_mib, verdict  # noqa: E402

from xueliang.inspection import (  # noqa: E402
    CheckConfig,
    GbInviteOpener,
    StreamTarget,
    TargetOpener,
    diagnosis_state,
    run_check,
)
from xueliang.media import PsRtpSender, clip_frames  # noqa: E402
from xueliang.quality import diagnose  # noqa: E402

FAULTS = ("normal", "normal", "normal", "too_dark", "signal_loss", "occlusion", "noise", "stripes")
DEVICE = "34020000001320000001"


class Inviter:
    """Answers every INVITE by sending the channel's clip to the offered port."""

    def __init__(self, clips: list[list]) -> None:
        self.clips = clips
        self.ssrc = itertools.count(1)

    async def invite(self, device_id, channel_id, *, media_ip, media_port, transport="UDP", timeout=10.0):
        ssrc = next(self.ssrc)
        sender = PsRtpSender(self.clips[int(channel_id[-6:]) % len(self.clips)], ssrc)
        local = await sender.start(transport, (media_ip, media_port))
        answer = SimpleNamespace(connection_address=local[0], media=(SimpleNamespace(port=local[1]),))
        return SimpleNamespace(channel_id=channel_id, ssrc=str(ssrc), answer=answer, sender=sender)

    async def bye(self, dialog) -> None:
        await dialog.sender.stop()


async def optimised(count: int, concurrency: int, second: float | None, inviter: Inviter) -> dict:
    opener = TargetOpener(gb=GbInviteOpener(inviter, no_media_timeout=5))
    config = CheckConfig(keyframe_timeout=8, second_frame_after=second, second_frame_timeout=3)
    pool = ThreadPoolExecutor(os.cpu_count() or 2, thread_name_prefix="vqd")
    slots = asyncio.Semaphore(concurrency)
    durations: list[float] = []
    states: dict[str, int] = {}
    lag = [0.0]

    async def one(n: int) -> None:
        async with slots:
            _, open_stream = opener(StreamTarget(n, f"340200000013{n:08d}", DEVICE))
            analysis, failure, seconds = await run_check(open_stream, config, executor=pool)
            durations.append(seconds)
            state = failure.failure.value if failure else diagnosis_state(analysis.diagnosis)
            states[state] = states.get(state, 0) + 1

    async def responsiveness() -> None:  # the event loop must stay responsive
        loop = asyncio.get_running_loop()
        while True:
            start = loop.time()
            await asyncio.sleep(0.05)
            lag[0] = max(lag[0], loop.time() - start - 0.05)

    watcher = asyncio.create_task(responsiveness())
    start = time.perf_counter()
    await asyncio.gather(*(one(n) for n in range(1, count + 1)))
    elapsed = time.perf_counter() - start
    watcher.cancel()
    pool.shutdown()
    return {"elapsed": elapsed, "durations": durations, "states": states, "max_loop_lag": lag[0]}


def naive(count: int, clips: list[list]) -> dict:
    import av

    durations = []
    start = time.perf_counter()
    for n in range(count):
        t0 = time.perf_counter()
        frames = clips[n % len(clips)][:25]
        decoder = av.CodecContext.create("h264", "r")
        last = None
        for frame in frames:
            for picture in decoder.decode(av.Packet(frame.data)):
                last = picture.to_ndarray(format="bgr24")
        diagnose(last)
        durations.append(time.perf_counter() - t0)
    return {"elapsed": time.perf_counter() - start, "durations": durations}


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--channels", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=48)
    parser.add_argument("--second-frame", type=float, default=0.0, help="seconds; 0 = first keyframe only")
    parser.add_argument("--baseline", type=int, default=40, help="channels for the naive baseline")
    args = parser.parse_args()
    clips = [clip_frames(f"3402000000132{i:07d}", fault, seconds=2) for i, fault in enumerate(FAULTS)]
    inviter = Inviter(clips)

    base = naive(args.baseline, clips)
    result = await optimised(args.channels, args.concurrency, args.second_frame or None, inviter)

    rate = args.channels / result["elapsed"] * 60
    base_rate = args.baseline / base["elapsed"] * 60
    projected = 20_000 / rate
    print(
        f"inspection sweep: {args.channels} channels, concurrency {args.concurrency}, {os.cpu_count()} CPUs"
    )
    print(f"{'':28}{'channels/min':>14}{'p50 ms':>10}{'p99 ms':>10}{'20,000 in':>12}")
    print(
        f"{'naive (sequential, full)':28}{base_rate:>14.0f}{median_ms(base['durations']):>10.1f}"
        f"{p99_ms(base['durations']):>10.1f}{20_000 / base_rate:>10.1f} min"
    )
    print(
        f"{'inspection plane':28}{rate:>14.0f}{median_ms(result['durations']):>10.1f}"
        f"{p99_ms(result['durations']):>10.1f}{projected:>10.1f} min"
    )
    print(f"ratio {rate / base_rate:.1f}x; outcomes {dict(sorted(result['states'].items()))}")
    print(f"event loop max lag {result['max_loop_lag'] * 1000:.0f} ms; peak RSS {peak_rss_mib():.0f} MiB")
    print(f"target 20,000 channels in under 10 minutes: {verdict(projected < 10)}")


if __name__ == "__main__":
    asyncio.run(main())
