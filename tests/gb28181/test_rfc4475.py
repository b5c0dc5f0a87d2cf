"""RFC 4475 torture messages: each file's outcome as its README table states it."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from xueliang.gb28181 import (
    SipEndpoint,
    SipError,
    SipRequest,
    SipResponse,
    SipUri,
    parse_message,
    precheck_request,
)
from xueliang.gb28181.events import MalformedMessage, RequestReceived, ResponseReceived

DATA = Path(__file__).parent / "data" / "rfc4475"

VALID = {"wsinv", "intmeth", "esc01", "escnull", "esc02", "lwsdisp", "longreq", "dblreq",
         "semiuri", "transports", "mpart01", "unreason", "noreason", "badbranch", "baddate",
         "unkscm", "novelsc", "unksm2", "bext01", "invut", "regaut01", "multi01_", "bcast",
         "zeromf", "cparam01", "cparam02", "regescrt", "sdp01", "inv2543"}  # fmt: skip
# Invalid: our parser rejects with this status (400 unless stated); a request with a
# recoverable Via also gets the error response, otherwise it is dropped.
REJECT = {
    "badinv01": (400, False), "clerr": (400, True), "ncl": (400, True),
    "scalar02": (400, True), "scalarlg": (400, False), "quotbal": (400, True),
    "ltgtruri": (400, True), "lwsruri": (400, True), "lwsstart": (400, True),
    "trws": (400, True), "escruri": (400, True), "regbadct": (400, True),
    "badaspec": (400, True), "baddn": (400, True), "badvers": (505, True),
    "mismatch01": (400, True), "mismatch02": (400, True), "bigcode": (400, False),
    "insuf": (400, True), "multi01": (400, True), "mcl01": (400, True), "test": (400, False),
}  # fmt: skip
# Well-formed requests a UAS refuses before method handling (RFC 4475 §3.3).
PRECHECK = {"unkscm": 416, "novelsc": 416, "unksm2": 400, "bext01": 420, "invut": 415,
            "sdp01": 406, "zeromf": None, "regaut01": None, "cparam01": None,
            "cparam02": None, "regescrt": None, "badbranch": None, "wsinv": None}  # fmt: skip

FILES = sorted(p.stem for p in DATA.glob("*.dat"))


def _read(name: str) -> bytes:
    return (DATA / f"{name}.dat").read_bytes()


def test_all_fifty_files_present_and_byte_exact() -> None:
    assert len(FILES) == 50
    sums = {}
    for line in (DATA / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split()
        sums[name.lstrip("*")] = digest
    for name in FILES:
        assert hashlib.sha256(_read(name)).hexdigest() == sums[f"{name}.dat"], name
    assert (DATA / ".gitattributes").read_text().strip() == "*.dat binary"


def test_every_file_is_classified() -> None:
    assert set(FILES) == (VALID - {"multi01_"}) | set(REJECT)


@pytest.mark.parametrize("name", FILES)
def test_outcome(name: str) -> None:
    data = _read(name)
    if name in REJECT:
        status, answered = REJECT[name]
        with pytest.raises(SipError) as info:
            parse_message(data)
        assert info.value.status == status
        endpoint = SipEndpoint("127.0.0.1", 5060, token="t")
        endpoint.receive(data, ("127.0.0.1", 40000), "UDP", now=0.0)
        event = endpoint.next_event()
        assert isinstance(event, MalformedMessage)
        assert event.raw == data and event.status == status and event.answered is answered
        out = endpoint.datagrams_to_send(0.0)
        assert len(out) == int(answered)
        if answered:
            reply = parse_message_lenient(out[0][0])
            assert reply.status == status
            assert out[0][1] == ("127.0.0.1", 40000)  # never to the example hosts
        return
    message = parse_message(data)
    assert isinstance(message, SipRequest | SipResponse)
    assert bytes(message)  # serialises
    reparsed = parse_message(bytes(message))
    def without_length(m: SipRequest | SipResponse) -> list[tuple[str, str]]:
        return [h for h in m.headers if h[0] != "Content-Length"]

    assert without_length(reparsed) == without_length(message) and reparsed.body == message.body
    endpoint = SipEndpoint("127.0.0.1", 5060, token="t")
    endpoint.receive(data, ("127.0.0.1", 40000), "UDP", now=0.0)
    event = endpoint.next_event()
    if isinstance(message, SipRequest):
        assert isinstance(event, RequestReceived)
        assert event.request.top_via.received == "127.0.0.1"
    else:  # stray responses: a 2xx to INVITE is handed up, others discarded
        assert event is None or isinstance(event, ResponseReceived)
    if name in PRECHECK:
        answer = precheck_request(message)  # type: ignore[arg-type]
        assert (answer.status if answer else None) == PRECHECK[name]


def parse_message_lenient(data: bytes) -> SipResponse:
    """Error responses copy possibly-broken headers verbatim; read just the status line."""
    first = data.split(b"\r\n", 1)[0].decode()
    version, status, reason = first.split(" ", 2)
    assert version == "SIP/2.0"
    return SipResponse(int(status), reason)


def test_wsinv_key_fields() -> None:
    m = parse_message(_read("wsinv"))
    assert isinstance(m, SipRequest)
    assert m.method == "INVITE"
    assert m.to.tag == "1918181833n"
    assert m.from_.tag == "98asjd8"
    assert m.from_.display_name == 'J Rosenberg \\"'
    assert m.max_forwards == 68
    assert m.cseq.number == 9 and m.cseq.method == "INVITE"
    vias = m.vias
    assert [v.transport for v in vias] == ["UDP", "TCP", "UDP"]
    assert vias[0].host == "192.0.2.2" and vias[0].branch == "390skdjuw"
    assert vias[1].branch == "z9hG4bK9ikj8" and vias[2].host == "192.168.255.111"
    assert m.get("Subject") == ""
    assert m.get("NewFangledHeader") == "newfangled value continued newfangled value"
    assert m.content_type == "application/sdp" and len(m.body) == 150


def test_intmeth_keeps_raw_control_bytes() -> None:
    data = _read("intmeth")
    m = parse_message(data)
    assert isinstance(m, SipRequest)
    assert m.method == "!interesting-Method0123456789_*+`.%indeed'~"
    assert m.cseq.method == m.method
    assert m.to.display_name == "BEL:\x07 NUL:\x00 DEL:\x7f"
    uri = m.request_uri
    assert isinstance(uri, SipUri) and uri.host == "example.com"
    assert uri.user == "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*"
    assert m.from_.param("fromParam''~+*_!.-%") == "работающий"
    assert m.from_.tag == "_token~1'+`*%!-."
    assert bytes(m).split(b"\r\n")[2:4] == data.split(b"\r\n")[2:4]  # To/From byte-exact


def test_escapes_are_kept_as_sent() -> None:
    m = parse_message(_read("esc01"))
    assert isinstance(m, SipRequest)
    assert m.uri == "sip:sips%3Auser%40example.com@example.net"
    assert m.call_id == "esc01.239409asdfakjkn23onasd0-3234"
    contact = m.contact
    assert contact is not None and isinstance(contact.uri, SipUri)
    assert contact.uri.user == "cal%6Cer" and contact.uri.has_param("%6C%72")
    esc02 = parse_message(_read("esc02"))
    assert isinstance(esc02, SipRequest) and esc02.method == "RE%47IST%45R"
    assert len(esc02.contacts) == 2  # "C%6Fntact" is a different header
    assert esc02.get("C%6Fntact") == "<sip:alias2@host2.example.com>"
    escnull = parse_message(_read("escnull"))
    assert [str(c.uri) for c in escnull.contacts] == [
        "sip:%00@host5.example.com", "sip:%00%00@host5.example.com"]  # fmt: skip


def test_dblreq_ignores_bytes_after_content_length() -> None:
    m = parse_message(_read("dblreq"))
    assert isinstance(m, SipRequest) and m.method == "REGISTER" and m.body == b""


def test_longreq_and_transports() -> None:
    m = parse_message(_read("longreq"))
    assert len(m.vias) == 34 and len(m.body) == 150
    t = parse_message(_read("transports"))
    assert [v.transport for v in t.vias] == ["UDP", "SCTP", "TLS", "UNKNOWN", "TCP"]


def test_responses_with_odd_reason_phrases() -> None:
    unreason = parse_message(_read("unreason"))
    assert isinstance(unreason, SipResponse) and unreason.status == 200
    assert "\u043d\u043e" in unreason.reason  # UTF-8 reason phrase kept as text
    noreason = parse_message(_read("noreason"))
    assert isinstance(noreason, SipResponse) and noreason.reason == ""
    bcast = parse_message(_read("bcast"))
    assert bcast.vias[1].host == "255.255.255.255"


def test_contact_parameters_land_where_rfc_says() -> None:
    c1 = parse_message(_read("cparam01")).contact
    assert c1 is not None and c1.has_param("unknownparam")
    assert isinstance(c1.uri, SipUri) and not c1.uri.has_param("unknownparam")
    c2 = parse_message(_read("cparam02")).contact
    assert c2 is not None and not c2.has_param("unknownparam")
    assert isinstance(c2.uri, SipUri) and c2.uri.has_param("unknownparam")
    c3 = parse_message(_read("regescrt")).contact
    assert c3 is not None and isinstance(c3.uri, SipUri)
    assert c3.uri.headers == (("Route", "%3Csip:sip.example.com%3E"),)


def test_semiuri_lwsdisp_mpart() -> None:
    semi = parse_message(_read("semiuri"))
    assert isinstance(semi, SipRequest)
    uri = semi.request_uri
    assert isinstance(uri, SipUri) and uri.user == "user;par=u%40example.net"
    assert len(semi.values("Accept")) == 6
    disp = parse_message(_read("lwsdisp"))
    assert disp.from_.display_name == "caller"
    mpart = parse_message(_read("mpart01"))
    assert b"\x00" in mpart.body and len(mpart.body) == 553


def test_inv2543_and_badbranch_use_rfc2543_matching() -> None:
    endpoint = SipEndpoint("127.0.0.1", 5060, token="t")
    data = _read("inv2543")
    endpoint.receive(data, ("127.0.0.1", 40000), "UDP", 0.0)
    assert isinstance(endpoint.next_event(), RequestReceived)
    endpoint.receive(data, ("127.0.0.1", 40000), "UDP", 0.1)  # retransmission: absorbed
    assert endpoint.next_event() is None
    assert len(endpoint.datagrams_to_send(0.1)) == 2  # 100 Trying, then resent
    m = parse_message(_read("badbranch"))
    assert not m.top_via.is_rfc3261_branch
