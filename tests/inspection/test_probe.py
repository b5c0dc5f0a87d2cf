"""The RTSP online probe against a tiny asyncio RTSP responder on 127.0.0.1."""

from __future__ import annotations

import asyncio
import hashlib
import re

import pytest
from tests.conftest import free_port

from xueliang.inspection import parse_response, probe_rtsp


class Responder:
    """Answers OPTIONS 200 (or ``options_status``); DESCRIBE wants Digest for user:secret."""

    def __init__(self, options_status: int = 200, silent: bool = False) -> None:
        self.options_status = options_status
        self.silent = silent
        self.requests: list[str] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = (await reader.readuntil(b"\r\n\r\n")).decode()
                self.requests.append(head)
                if self.silent:
                    continue
                method, uri = head.split(" ")[:2]
                cseq = re.search(r"CSeq: (\d+)", head).group(1)
                status, extra = self.options_status, ""
                if method == "DESCRIBE":
                    auth = re.search(r'response="([0-9a-f]+)"', head)

                    def md5(s: str) -> str:
                        return hashlib.md5(s.encode()).hexdigest()

                    good = md5(f"{md5('user:cam:secret')}:n1:{md5(f'DESCRIBE:{uri}')}")
                    if auth and auth.group(1) == good:
                        status, extra = 200, "Content-Type: application/sdp\r\nContent-Length: 4\r\n"
                    else:
                        status, extra = 401, 'WWW-Authenticate: Digest realm="cam", nonce="n1"\r\n'
                writer.write(f"RTSP/1.0 {status} X\r\nCSeq: {cseq}\r\n{extra}\r\n".encode())
                if "Content-Length: 4" in extra:
                    writer.write(b"v=0\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@pytest.fixture
async def camera():
    servers = []

    async def start(responder: Responder) -> str:
        server = await asyncio.start_server(responder.handle, "127.0.0.1", 0)
        servers.append(server)
        return f"rtsp://127.0.0.1:{server.sockets[0].getsockname()[1]}/live"

    yield start
    for server in servers:
        server.close()
        await server.wait_closed()


async def test_options_200_is_online(camera):
    url = await camera(Responder())
    result = await probe_rtsp(url, timeout=3)
    assert result.online and result.status == 200


async def test_describe_with_digest_credentials(camera):
    responder = Responder()
    url = await camera(responder)
    assert (await probe_rtsp(url, username="user", password="secret", describe=True, timeout=3)).online
    assert "Authorization: Digest" in responder.requests[-1]
    wrong = await probe_rtsp(url, username="user", password="nope", describe=True, timeout=3)
    assert not wrong.online and wrong.status == 401


async def test_errors_and_silence_are_offline(camera):
    assert not (await probe_rtsp(await camera(Responder(options_status=503)), timeout=3)).online
    silent = await probe_rtsp(await camera(Responder(silent=True)), timeout=0.3)
    assert not silent.online and silent.status is None
    refused = await probe_rtsp(f"rtsp://127.0.0.1:{free_port()}/x", timeout=3)
    assert not refused.online and refused.status is None
    assert not (await probe_rtsp("http://127.0.0.1/x")).online


def test_parse_response_rejects_junk():
    response = parse_response(b"RTSP/1.0 200 OK\r\nCSeq: 1\r\nPublic: OPTIONS, DESCRIBE\r\n\r\n")
    assert response.status == 200 and response.headers["public"] == "OPTIONS, DESCRIBE"
    for junk in (b"HTTP/1.1 200 OK\r\n\r\n", b"RTSP/1.0 200 OK\r\nno colon here\r\n\r\n", b"\x00\xff"):
        with pytest.raises(ValueError):
            parse_response(junk)
