"""A real RTSP camera stand-in: GStreamer's RTSP server (gst-rtsp-server) serving a live
test pattern as H.264 (or H.265) over RTP, run with Debian's ``/usr/bin/python3`` (``gi``).

    /usr/bin/python3 tests/support/rtsp_camera.py --port 8554 [--path /live] [--codec h264|h265]
        [--user U --password P] [--width 640 --height 360 --fps 25]

Prints ``READY rtsp://127.0.0.1:PORT/PATH`` once it listens; runs until killed.
Binds 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402


def launch_line(codec: str, width: int, height: int, fps: int) -> str:
    source = (
        "videotestsrc is-live=true pattern=smpte horizontal-speed=4 ! "
        f"video/x-raw,width={width},height={height},framerate={fps}/1 ! videoconvert"
    )
    if codec == "h265":
        encode = (
            f"x265enc tune=zerolatency speed-preset=ultrafast key-int-max={fps} ! rtph265pay name=pay0 pt=96"
        )
    else:
        encode = (
            f"x264enc tune=zerolatency speed-preset=ultrafast key-int-max={fps} ! "
            "video/x-h264,profile=main ! rtph264pay name=pay0 pt=96"
        )
    return f"( {source} ! {encode} )"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", default="/live")
    parser.add_argument("--codec", choices=("h264", "h265"), default="h264")
    parser.add_argument("--user")
    parser.add_argument("--password")
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=360)
    parser.add_argument("--fps", type=int, default=25)
    args = parser.parse_args()

    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(args.port))
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(launch_line(args.codec, args.width, args.height, args.fps))
    factory.set_shared(True)
    if args.user:
        auth = GstRtspServer.RTSPAuth()
        token = GstRtspServer.RTSPToken()
        token.set_string(GstRtspServer.RTSP_TOKEN_MEDIA_FACTORY_ROLE, "viewer")
        auth.add_basic(GstRtspServer.RTSPAuth.make_basic(args.user, args.password or ""), token)
        server.set_auth(auth)
        permissions = GstRtspServer.RTSPPermissions()
        permissions.add_role_from_structure(
            Gst.Structure.new_from_string(
                "viewer, media.factory.access=(boolean)true, media.factory.construct=(boolean)true"
            )
        )
        factory.set_permissions(permissions)
    server.get_mount_points().add_factory(args.path, factory)
    if server.attach(None) == 0:
        print(f"cannot listen on 127.0.0.1:{args.port}", file=sys.stderr, flush=True)
        sys.exit(1)
    print(f"READY rtsp://127.0.0.1:{args.port}{args.path}", flush=True)
    GLib.MainLoop().run()


if __name__ == "__main__":
    main()
