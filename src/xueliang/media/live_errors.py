"""Runtime errors of the live media plane, each carrying the HTTP status it maps to.

One boundary (the live router) turns them into responses or WebSocket error messages; the
``http_status`` hint plays the part of h11's ``error_status_hint``.
"""

from __future__ import annotations

__all__ = [
    "ChannelNotFound",
    "HubClosed",
    "LiveError",
    "NoKeyframe",
    "NoMedia",
    "NoStreamConfigured",
    "SourceClosed",
    "SourceUnavailable",
    "TranscodeError",
    "ViewerClosed",
]


class LiveError(Exception):
    """A live view or snapshot that cannot be served; ``http_status`` says how to answer."""

    http_status = 502


class ChannelNotFound(LiveError):
    """No channel with this GB ID in the resource directory."""

    http_status = 404


class NoStreamConfigured(LiveError):
    """The channel has neither a stream URL nor a GB/T 28181 device to INVITE."""

    http_status = 502


class SourceUnavailable(LiveError):
    """The camera (RTSP server, GB/T 28181 device) could not be opened or refused."""

    http_status = 502


class NoMedia(LiveError):
    """The upstream was set up but no media arrived within the allowed time."""

    http_status = 504


class NoKeyframe(LiveError):
    """Media arrived but no keyframe within the allowed time (snapshots)."""

    http_status = 504


class SourceClosed(LiveError):
    """The upstream ended (connection closed by the camera, BYE)."""

    http_status = 502


class TranscodeError(LiveError):
    """H.265 could not be transcoded to H.264 for a browser viewer."""

    http_status = 502


class ViewerClosed(LiveError):
    """The viewer left (or was closed); raised to its own reader."""

    http_status = 499


class HubClosed(LiveError):
    """The media hub is shutting down."""

    http_status = 503
