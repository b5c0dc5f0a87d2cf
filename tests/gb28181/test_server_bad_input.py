"""`serve`'s SIP side against bad input over real sockets: it answers or drops, never stalls,
and loses nothing it already stored."""

from __future__ import annotations

import random
import socket
from pathlib import Path

import pytest
from tests.support.platform import running_platform

from xueliang.gb28181.digest import authorize, parse_challenge

RFC4475 = Path(__file__).parent / "data" / "rfc4475"
DEVICE = "34020000001180000077"


def udp(bind: str = "127.0.0.1") -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((bind, 0))
    sock.settimeout(3)
    return sock


def message(
    method: str,
    sock: socket.socket,
    call_id: str,
    cseq: int,
    *,
    extra: str = "",
    body: bytes = b"",
    uri: str = "sip:34020000002000000001@3402000000",
) -> bytes:
    host, port = sock.getsockname()
    head = (
        f"{method} {uri} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP {host}:{port};rport;branch=z9hG4bK{call_id}{cseq}\r\n"
        f"From: <sip:{DEVICE}@3402000000>;tag=t{call_id}\r\n"
        f"To: <sip:34020000002000000001@3402000000>\r\n"
        f"Call-ID: {call_id}\r\nCSeq: {cseq} {method}\r\nMax-Forwards: 70\r\n{extra}"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def status_of(data: bytes) -> int:
    return int(data.split(b" ", 2)[1])


def register(sock: socket.socket, sip: tuple[str, int]) -> None:
    extra = f"Contact: <sip:{DEVICE}@127.0.0.1:{sock.getsockname()[1]}>\r\nExpires: 3600\r\n"
    sock.sendto(message("REGISTER", sock, "reg", 1, extra=extra), sip)
    reply = sock.recv(65536)
    assert status_of(reply) == 401
    header = next(
        line for line in reply.decode().split("\r\n") if line.lower().startswith("www-authenticate")
    )
    challenge = parse_challenge(header.split(":", 1)[1].strip())
    auth = authorize(
        challenge,
        username=DEVICE,
        password="12345678",
        method="REGISTER",
        uri="sip:34020000002000000001@3402000000",
        cnonce="c",
    ).to_header()
    sock.sendto(message("REGISTER", sock, "reg", 2, extra=extra + f"Authorization: {auth}\r\n"), sip)
    assert status_of(sock.recv(65536)) == 200


def keepalive(sock: socket.socket, sip: tuple[str, int], n: int) -> int:
    body = (
        f'<?xml version="1.0" encoding="GB2312"?><Notify><CmdType>Keepalive</CmdType><SN>{n}</SN>'
        f"<DeviceID>{DEVICE}</DeviceID><Status>OK</Status></Notify>"
    ).encode()
    sock.sendto(
        message("MESSAGE", sock, f"ka{n}", 1, extra="Content-Type: Application/MANSCDP+xml\r\n", body=body),
        sip,
    )
    while True:  # skip the platform's own queries (Catalog, DeviceInfo) to this socket
        reply = sock.recv(65536)
        if reply.startswith(b"SIP/2.0"):
            return status_of(reply)


def test_malformed_input_is_answered_or_dropped_and_nothing_is_lost(tmp_path):
    with running_platform(tmp_path, keepalive_interval="2", keepalive_misses="3") as platform:
        sip = ("127.0.0.1", platform.sip_port)
        device = udp()
        register(device, sip)
        platform.wait_for(lambda: platform.get("/devices")["total"] == 1, 10, "registration stored")

        # Every RFC 4475 torture message, over UDP: the invalid ones get a 400 or nothing.
        torture = udp()
        torture.settimeout(0.3)
        for path in sorted(RFC4475.glob("*.dat")):
            torture.sendto(path.read_bytes(), sip)
            try:
                reply = torture.recv(65536)
            except TimeoutError:
                continue
            assert reply.startswith(b"SIP/2.0 ")

        # Random junk, truncated messages, a huge datagram, a lying Content-Length, a bad charset.
        rng = random.Random(4475)
        junk = udp()
        junk.settimeout(0.2)
        valid = message("MESSAGE", junk, "j", 1, body=b"<Notify/>")
        for _ in range(200):
            cut = valid[: rng.randrange(len(valid))]
            noise = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 300)))
            junk.sendto(rng.choice([cut, noise, cut + noise]), sip)
        junk.sendto(b"REGISTER " + b"A" * 60000, sip)
        junk.sendto(message("MESSAGE", junk, "cl", 1, extra="Content-Length: 999\r\n"), sip)
        bad_body = b"<?xml version='1.0' encoding='GB2312'?><Notify><CmdType>Keepalive" + b"\xff\xfe"
        junk.sendto(message("MESSAGE", junk, "bb", 1, body=bad_body), sip)

        # The platform still works: the device keeps alive, its record is intact.
        assert keepalive(device, sip, 1) == 200
        assert platform.get(f"/devices/{DEVICE}")["status"] == "online"
        assert "malformed SIP" in platform.log()

        # A forged keepalive from another host does not keep the device online.
        forger = udp("127.0.0.2")
        assert keepalive(forger, sip, 2) == 403
        assert "suspect MESSAGE" in platform.log()
        platform.wait_for(
            lambda: platform.get(f"/devices/{DEVICE}")["status"] == "offline",
            15,
            "the device to drop after missed keepalives",
        )


def test_tcp_stream_with_a_lying_length_is_closed(tmp_path):
    with running_platform(tmp_path) as platform:
        with socket.create_connection(("127.0.0.1", platform.sip_port), timeout=5) as conn:
            conn.sendall(b"OPTIONS sip:x@y SIP/2.0\r\nContent-Length: -5\r\n\r\n")
            conn.settimeout(5)
            try:
                while conn.recv(65536):
                    pass
            except ConnectionResetError:
                pass
        # A well-formed OPTIONS over a fresh connection still gets its 200.
        with socket.create_connection(("127.0.0.1", platform.sip_port), timeout=5) as conn:
            host, port = conn.getsockname()
            conn.sendall(
                f"OPTIONS sip:34020000002000000001@3402000000 SIP/2.0\r\nVia: SIP/2.0/TCP {host}:{port};"
                f"branch=z9hG4bKo1\r\nFrom: <sip:{DEVICE}@3402000000>;tag=1\r\nTo: <sip:x@3402000000>\r\n"
                "Call-ID: o1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n".encode()
            )
            assert conn.recv(65536).startswith(b"SIP/2.0 200")


@pytest.mark.parametrize("method", ["SUBSCRIBE", "PUBLISH"])
def test_unsupported_method_gets_405(tmp_path, method):
    with running_platform(tmp_path) as platform:
        sock = udp()
        sock.sendto(message(method, sock, "u", 1), ("127.0.0.1", platform.sip_port))
        assert status_of(sock.recv(65536)) == 405
