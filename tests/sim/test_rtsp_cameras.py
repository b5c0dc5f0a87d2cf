"""Simulated RTSP cameras: the pure parts, then the server over a real socket with FFmpeg's
RTSP client (PyAV) and the platform's own probe and RTSP source as peers."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import av
import numpy as np
import pytest

from xueliang.inspection.probe import probe_rtsp
from xueliang.media import RtspSource
from xueliang.media.clips import FaultPattern, clip_frames
from xueliang.media.h26x import H264NalType, iter_nal_units
from xueliang.sim import VideoFaultSpec
from xueliang.sim.rtsp import (
    H264RtpPacer,
    RtspCameraServer,
    RtspRequestError,
    camera_path,
    parse_request,
    session_description,
)

CAMERA = "34020000001320000001"


def test_request_parsing_and_its_errors() -> None:
    request = parse_request(b"DESCRIBE rtsp://127.0.0.1/cam/x RTSP/1.0\r\nCSeq: 3\r\nAccept: application/sdp")
    assert (request.method, request.cseq, request.headers["accept"]) == ("DESCRIBE", "3", "application/sdp")
    for junk in (
        b"GET / HTTP/1.1\r\nCSeq: 1",
        b"OPTIONS * RTSP/1.0\r\nno colon here",
        b"OPTIONS * RTSP/1.0\r\nAccept: x",  # no CSeq
        b"OPTIONS * RTSP/1.0\r\nCSeq: \xff",
    ):
        with pytest.raises(RtspRequestError):
            parse_request(junk)


def test_camera_paths() -> None:
    assert camera_path(f"rtsp://127.0.0.1:554/cam/{CAMERA}") == CAMERA
    assert camera_path(f"rtsp://127.0.0.1:554/cam/{CAMERA}/track0") == CAMERA
    assert camera_path("rtsp://127.0.0.1:554/cam/123") is None
    assert camera_path("rtsp://127.0.0.1:554/other/34020000001320000001") is None


def test_fu_a_fragments_rebuild_every_nal_unit() -> None:
    frames = clip_frames(CAMERA, seconds=1)
    pacer = H264RtpPacer(frames, 7, loop=False, max_packet_size=600)
    for frame in frames:
        item = pacer.next()
        assert item is not None
        _, packets = item
        assert all(len(p) <= 600 for p in packets)
        markers = [bool(p[1] & 0x80) for p in packets]
        assert markers == [False] * (len(packets) - 1) + [True]
        rebuilt: list[bytes] = []
        for packet in packets:
            payload = packet[12:]
            if payload[0] & 0x1F == 28:  # FU-A
                if payload[1] & 0x80:
                    rebuilt.append(bytes(((payload[0] & 0xE0) | (payload[1] & 0x1F),)))
                rebuilt[-1] += payload[2:]
            else:
                rebuilt.append(payload)
        expected = [n for n in iter_nal_units(frame.data) if n[0] & 0x1F != H264NalType.AUD]
        assert rebuilt == expected
    assert pacer.next() is None
    sdp = session_description(frames, CAMERA).decode()
    assert "sprop-parameter-sets=" in sdp and "packetization-mode=1" in sdp


@pytest.fixture
async def cameras() -> AsyncIterator[tuple[RtspCameraServer, str]]:
    server = RtspCameraServer(faults=VideoFaultSpec.parse("too_dark=1"))
    host, port = await server.start("127.0.0.1", 0)
    try:
        yield server, f"rtsp://{host}:{port}"
    finally:
        await server.close()


def _decode(url: str, count: int) -> list[np.ndarray]:
    pictures = []
    with av.open(url, options={"rtsp_transport": "tcp"}, timeout=10) as container:
        for frame in container.decode(video=0):
            pictures.append(frame.to_ndarray(format="gray"))
            if len(pictures) == count:
                break
    return pictures


async def test_ffmpeg_plays_a_camera_with_its_fault(cameras: tuple[RtspCameraServer, str]) -> None:
    server, base = cameras
    assert server.fault_of(CAMERA) is FaultPattern.TOO_DARK
    pictures = await asyncio.to_thread(_decode, f"{base}/cam/{CAMERA}", 30)
    assert len(pictures) == 30 and pictures[0].shape == (360, 640)
    assert float(np.mean(pictures[-1])) < 60  # the dark fault, decoded through RTSP
    for _ in range(50):  # the connection's end stops its stream
        if server.streams == 0:
            break
        await asyncio.sleep(0.05)
    assert server.streams == 0


async def test_the_platform_probe_and_source_speak_to_it(cameras: tuple[RtspCameraServer, str]) -> None:
    _, base = cameras
    found = await probe_rtsp(f"{base}/cam/{CAMERA}", describe=True)
    missing = await probe_rtsp(f"{base}/cam/not-a-camera", describe=True)
    assert (found.online, found.status) == (True, 200)
    assert (missing.online, missing.status) == (False, 404)
    source = RtspSource(f"{base}/cam/{CAMERA}")
    try:
        frames = []
        async for frame in source.frames():
            frames.append(frame)
            if len(frames) == 5:
                break
    finally:
        await source.close()
    assert frames[0].keyframe


async def _exchange(base: str, raw: bytes) -> bytes:
    host, port = base.removeprefix("rtsp://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(raw)
    await writer.drain()
    try:
        return await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


async def test_bad_requests_get_clear_answers_and_the_server_keeps_serving(
    cameras: tuple[RtspCameraServer, str],
) -> None:
    _, base = cameras
    url = f"{base}/cam/{CAMERA}"
    assert (await _exchange(base, b"HELLO\r\n\r\n")).startswith(b"RTSP/1.0 400")
    udp = f"SETUP {url}/track0 RTSP/1.0\r\nCSeq: 2\r\nTransport: RTP/AVP;unicast;client_port=5000-5001\r\n"
    udp += "\r\n"
    assert (await _exchange(base, udp.encode())).startswith(b"RTSP/1.0 461")
    play = f"PLAY {url} RTSP/1.0\r\nCSeq: 3\r\n\r\n"
    assert (await _exchange(base, play.encode())).startswith(b"RTSP/1.0 455")
    assert (await probe_rtsp(url, describe=True)).online
