"""Media port allocation: sockets bound on a configured range (firewalls open one range for
RTP), or on an ephemeral port when no range is configured."""

from __future__ import annotations

import errno
import socket

from xueliang.media.live_errors import SourceUnavailable

__all__ = ["PortRange", "bind_socket"]


class PortRange:
    """Ports ``first..last`` handed out round-robin, so a port just released is not reused
    at once (late packets of the previous session would land in the next one)."""

    def __init__(self, first: int, last: int) -> None:
        if not 1 <= first <= last <= 65535:
            raise ValueError(f"bad media port range {first}-{last}")
        self.first = first
        self.last = last
        self._next = first

    @classmethod
    def parse(cls, text: str) -> PortRange:
        """``'30000-30999'``."""
        low, _, high = text.partition("-")
        return cls(int(low), int(high or low))

    def bind(self, kind: int, host: str) -> socket.socket:
        size = self.last - self.first + 1
        for _ in range(size):
            port = self._next
            self._next = self.first if port >= self.last else port + 1
            try:
                return _bound(kind, host, port)
            except OSError as exc:
                if exc.errno not in (errno.EADDRINUSE, errno.EACCES):
                    raise SourceUnavailable(f"cannot bind media port {host}:{port}: {exc}") from exc
        raise SourceUnavailable(f"no free media port in {self.first}-{self.last} on {host}")


def _bound(kind: int, host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, kind)
    try:
        if kind == socket.SOCK_STREAM:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        else:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        sock.bind((host, port))
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


def bind_socket(kind: int, host: str, ports: PortRange | None) -> socket.socket:
    """A non-blocking socket of ``kind`` bound on ``host``, from ``ports`` or ephemeral."""
    if ports is not None:
        return ports.bind(kind, host)
    try:
        return _bound(kind, host, 0)
    except OSError as exc:
        raise SourceUnavailable(f"cannot bind a media port on {host}: {exc}") from exc
