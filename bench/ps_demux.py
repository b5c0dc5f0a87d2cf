"""Benchmark: GB/T 28181 PS demuxing throughput on one core.

Builds program streams for 50 channels at ~4 Mbit/s, 25 fps (synthetic H.264-shaped frames:
keyframes ~10x P frames, random payload bytes, one PS pack per frame as devices send it),
cuts each into RTP-payload-sized chunks, and demuxes them with xueliang's ``PsDemuxer``,
side by side with baselines measured in the same run:

- FFmpeg's own ``mpeg`` demuxer through PyAV (``av.open(BytesIO, format="mpeg")``),
- a naive Python scanner that walks the bytes one by one (on a slice, extrapolated).

It also times the whole receive path (RTP parse, reorder buffer, frame assembly, demux).

Run: ``.venv/bin/python bench/ps_demux.py [--seconds S] [--streams N]``.
"""

from __future__ import annotations

import argparse
import io
import random
import resource
import sys
import time
from collections.abc import Callable

import av

from xueliang.media import PsDemuxer, PsMuxer, RtpPacketizer, RtpReceiver, StreamType

FPS = 25
TICKS = 90000 // FPS
CHUNK = 1400 - 12  # RTP payload of a 1400-byte packet
SSRC = 0x3402_0000


def synth_frames(rng: random.Random, seconds: float, bitrate: int, gop: int) -> list[bytes]:
    """H.264-shaped access units whose sizes average ``bitrate``; keyframes ~10x P."""
    count = int(seconds * FPS)
    per_gop = bitrate / 8 * gop / FPS
    p_size = per_gop / (gop - 1 + 10)
    frames = []
    for i in range(count):
        key = i % gop == 0
        size = max(64, int(rng.gauss(10 * p_size if key else p_size, p_size * 0.2)))
        head = (
            b"\x00\x00\x00\x01\x67\x64\x00\x1f\xac\x00\x00\x00\x01\x68\xee\x3c\x80\x00\x00\x00\x01\x65"
            if key
            else b"\x00\x00\x00\x01\x41"
        )
        frames.append(head + rng.randbytes(size - len(head)))
    return frames


def naive_scan(data: bytes) -> int:
    """The obvious pure-Python scanner: look at every byte for 00 00 01 xx."""
    found = 0
    zeros = 0
    for b in data:
        if b == 0:
            zeros += 1
            continue
        if b == 1 and zeros >= 2:
            found += 1
        zeros = 0
    return found


def rss_mib() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1 << 20) if sys.platform == "darwin" else peak / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=6.0, help="media seconds per stream")
    parser.add_argument("--bitrate", type=int, default=4_000_000)
    parser.add_argument("--repeat", type=int, default=3, help="best of N timed runs")
    args = parser.parse_args()

    rng = random.Random(28181)
    muxer = PsMuxer(StreamType.H264)
    streams: list[list[bytes]] = []  # per stream: PS packs, one per frame
    originals: list[list[bytes]] = []
    for _ in range(args.streams):
        frames = synth_frames(rng, args.seconds, args.bitrate, gop=2 * FPS)
        originals.append(frames)
        streams.append(
            [muxer.mux_video(f, i * TICKS + 3600, keyframe=i % 50 == 0) for i, f in enumerate(frames)]
        )
    total = sum(len(p) for s in streams for p in s)
    frame_count = sum(len(s) for s in streams)
    # Interleave as a server sees it: frame i of every stream, each cut into RTP payloads.
    schedule: list[tuple[int, list[bytes]]] = []
    for i in range(len(streams[0])):
        for k, s in enumerate(streams):
            pack = s[i]
            schedule.append((k, [pack[j : j + CHUNK] for j in range(0, len(pack), CHUNK)]))
    realtime = args.streams * args.bitrate / 8  # bytes per second of all streams
    print(
        f"{args.streams} streams x {args.bitrate / 1e6:g} Mbit/s x {args.seconds:g} s: "
        f"{total / 1e6:.1f} MB of PS, {frame_count} frames, "
        f"{sum(len(c) for _, c in schedule)} RTP-sized chunks"
    )

    def run(label: str, flush: bool, whole: bool) -> float:
        return best(label, lambda: run_once(flush, whole))

    def best(label: str, once: Callable[[], float]) -> float:
        elapsed = min(once() for _ in range(args.repeat))
        report(label, total, elapsed)
        return elapsed

    def run_once(flush: bool, whole: bool) -> float:
        demuxers = [PsDemuxer() for _ in streams]
        got = 0
        start = time.perf_counter()
        for k, chunks in schedule:
            d = demuxers[k]
            if whole:
                got += len(d.push(b"".join(chunks)))
            else:
                for c in chunks:
                    got += len(d.push(c))
            if flush:
                got += len(d.flush())
        for d in demuxers:
            got += len(d.flush())
        elapsed = time.perf_counter() - start
        assert got == frame_count, (got, frame_count)
        assert all(d.stats.errors == 0 for d in demuxers)
        return elapsed

    def rtp_once() -> float:
        receivers = [RtpReceiver(SSRC + k, reorder_window=8) for k in range(len(streams))]
        demuxers = [PsDemuxer() for _ in streams]
        got = 0
        start = time.perf_counter()
        for (k, packets), now in zip(rtp_schedule, times, strict=True):
            d = demuxers[k]
            push = receivers[k].push
            for p in packets:
                for frame in push(p, now):
                    got += len(d.push(frame.payload)) + len(d.flush())
        for r, d in zip(receivers, demuxers, strict=True):
            for frame in r.flush():
                got += len(d.push(frame.payload))
            got += len(d.flush())
        elapsed = time.perf_counter() - start
        assert got == frame_count, (got, frame_count)
        return elapsed

    def report(label: str, nbytes: float, elapsed: float) -> None:
        rate = nbytes / elapsed
        print(
            f"  {label:<44} {nbytes / 1e6:8.1f} MB {elapsed:7.3f} s {rate / 1e6:8.1f} MB/s"
            f"  {rate / realtime:6.1f}x real time"
        )

    print(f"real time for {args.streams} x {args.bitrate / 1e6:g} Mbit/s = {realtime / 1e6:.1f} MB/s")
    # Correctness first (untimed): stream 0 comes back bit-exact.
    check = PsDemuxer()
    back = [f for _, chunks in schedule[:: args.streams] for c in chunks for f in check.push(c)]
    back += check.flush()
    assert [f.data for f in back] == originals[0], "demuxed frames differ from the originals"

    ours = run("xueliang PsDemuxer, RTP chunks + flush/frame", flush=True, whole=False)
    run("xueliang PsDemuxer, RTP chunks, no flush", flush=False, whole=False)
    run("xueliang PsDemuxer, whole frames (RtpFrame)", flush=True, whole=True)

    packetizers = [RtpPacketizer(SSRC + k) for k in range(len(streams))]
    rtp_schedule = [
        (k, packetizers[k].packetize(b"".join(chunks), (i // len(streams)) * TICKS))
        for i, (k, chunks) in enumerate(schedule)
    ]
    times = [(i // len(streams)) / FPS for i in range(len(rtp_schedule))]
    best("RtpReceiver + PsDemuxer, from RTP packets", rtp_once)

    # Baseline 1: FFmpeg's mpeg demuxer via PyAV, each stream's bytes from memory. Its
    # h264 parser (need_parsing) also runs; PyAV offers no switch to turn it off.
    blobs = [b"".join(s) for s in streams]

    def ffmpeg_once() -> float:
        start = time.perf_counter()
        for blob in blobs:
            with av.open(io.BytesIO(blob), format="mpeg") as container:
                for _packet in container.demux():
                    pass
        return time.perf_counter() - start

    ffmpeg = best("FFmpeg mpeg demuxer (+h264 parser) via PyAV", ffmpeg_once)

    # Baseline 2: naive byte-by-byte scanner on a slice, extrapolated.
    sample = blobs[0][: 4 << 20]
    start = time.perf_counter()
    naive_scan(sample)
    naive = (time.perf_counter() - start) * total / len(sample)
    report("naive per-byte Python scan (extrapolated)", total, naive)

    print(
        f"ratio xueliang / FFmpeg-via-PyAV: {ffmpeg / ours:.2f}x "
        f"(>1 means xueliang is faster); xueliang / naive: {naive / ours:.0f}x"
    )
    print(
        f"peak RSS: {rss_mib():.0f} MiB (includes the {total / 1e6:.0f} MB of test data held "
        "several times over)"
    )


if __name__ == "__main__":
    main()
