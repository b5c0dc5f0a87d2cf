"""SIP message parsing, helpers and serialisation."""

from __future__ import annotations

import random

import pytest

from xueliang.gb28181 import (
    AbsoluteUri,
    CSeq,
    MessageTooLarge,
    NameAddr,
    ParseError,
    SipRequest,
    SipResponse,
    SipUri,
    Via,
    make_response,
    parse_message,
    parse_uri,
    response_address,
    stamp_received,
)
from xueliang.gb28181.message import salvage_error_response, split_header_list

REGISTER = (
    b"REGISTER sip:34020000002000000001@3402000000 SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP 192.168.1.64:5060;rport;branch=z9hG4bK1371463273\r\n"
    b"From: <sip:34020000001320000001@3402000000>;tag=2043466181\r\n"
    b"To: <sip:34020000001320000001@3402000000>\r\n"
    b"Call-ID: 1011047669\r\n"
    b"CSeq: 1 REGISTER\r\n"
    b"Contact: <sip:34020000001320000001@192.168.1.64:5060>\r\n"
    b"Max-Forwards: 70\r\n"
    b"Expires: 3600\r\n"
    b"Content-Length: 0\r\n\r\n"
)


def _request(extra: bytes = b"", body: bytes = b"", length: bytes | None = None) -> bytes:
    head = REGISTER.replace(b"Content-Length: 0\r\n\r\n", b"")
    cl = length if length is not None else str(len(body)).encode()
    return head + extra + b"Content-Length: " + cl + b"\r\n\r\n" + body


def test_parse_register_helpers() -> None:
    m = parse_message(REGISTER)
    assert isinstance(m, SipRequest)
    assert m.method == "REGISTER" and m.uri == "sip:34020000002000000001@3402000000"
    assert m.call_id == "1011047669"
    assert m.cseq == CSeq(1, "REGISTER")
    assert m.from_.tag == "2043466181" and m.to.tag is None
    assert m.expires == 3600 and m.max_forwards == 70
    via = m.top_via
    assert via.transport == "UDP" and via.host == "192.168.1.64" and via.port == 5060
    assert via.branch == "z9hG4bK1371463273" and via.has_param("rport") and via.rport is None
    assert via.is_rfc3261_branch
    contact = m.contact
    assert contact is not None and isinstance(contact.uri, SipUri)
    assert contact.uri.user == "34020000001320000001" and contact.uri.port == 5060
    uri = m.request_uri
    assert isinstance(uri, SipUri) and uri.host == "3402000000"


def test_compact_forms_and_case_insensitive_names() -> None:
    data = (
        b"MESSAGE sip:a@b SIP/2.0\r\nv: SIP/2.0/UDP h:5060;branch=z9hG4bKx\r\n"
        b"f: <sip:x@y>;tag=1\r\nt: <sip:a@b>\r\ni: cid\r\nCSEQ: 4 MESSAGE\r\n"
        b"m: <sip:x@h>\r\nc: Application/MANSCDP+xml\r\ns: subj\r\nk: timer\r\n"
        b"o: presence\r\nu: presence\r\ne: gzip\r\nl: 3\r\n\r\nabc"
    )
    m = parse_message(data)
    assert [n for n, _ in m.headers] == [
        "Via", "From", "To", "Call-ID", "CSeq", "Contact", "Content-Type", "Subject",
        "Supported", "Event", "Allow-Events", "Content-Encoding", "Content-Length",
    ]  # fmt: skip
    assert m.get("call-id") == m.get("I") == "cid"
    assert m.content_type == "application/manscdp+xml" and m.body == b"abc"


def test_multiple_via_lines_and_comma_joined() -> None:
    data = _request(b"Via: SIP/2.0/TCP p1:5070;branch=z9hG4bKa, SIP/2.0/UDP [2001:db8::1]:5061;"
                    b"branch=z9hG4bKb\r\n")  # fmt: skip
    m = parse_message(data)
    assert [v.sent_by for v in m.vias] == ["192.168.1.64:5060", "p1:5070", "[2001:db8::1]:5061"]
    assert m.get_all("Via")[1].startswith("SIP/2.0/TCP")


def test_folded_lines_and_bare_lf() -> None:
    data = REGISTER.replace(b"Expires: 3600\r\n", b"Expires:\r\n 3600\r\nX-Note: a\r\n\tb\r\n")
    m = parse_message(data.replace(b"\r\n", b"\n"))
    assert m.expires == 3600 and m.get("x-note") == "a b"


def test_leading_crlf_ignored() -> None:
    assert parse_message(b"\r\n\r\n" + REGISTER).call_id == "1011047669"


def test_content_length_rules() -> None:
    assert parse_message(_request(body=b"hello")).body == b"hello"
    longer = _request(body=b"hello", length=b"3")
    assert parse_message(longer).body == b"hel"  # datagram: extra bytes ignored
    with pytest.raises(ParseError, match="exceeds"):
        parse_message(_request(body=b"hi", length=b"9"))
    with pytest.raises(ParseError):
        parse_message(_request(body=b"hi", length=b"-2"))
    with pytest.raises(ParseError):
        parse_message(_request(body=b"hi", length=b"2x"))
    no_length = REGISTER.replace(b"Content-Length: 0\r\n", b"") + b"rest of datagram"
    assert parse_message(no_length).body == b"rest of datagram"
    with pytest.raises(ParseError, match="conflicting"):
        parse_message(_request(b"l: 4\r\n", body=b"hi"))


def test_size_cap() -> None:
    big = _request(body=b"x" * 70_000)
    with pytest.raises(MessageTooLarge) as info:
        parse_message(big)
    assert info.value.status == 513
    assert parse_message(big, max_size=100_000).body == b"x" * 70_000
    with pytest.raises(MessageTooLarge):
        parse_message(REGISTER, max_size=100)


@pytest.mark.parametrize(
    ("mutation", "status"),
    [
        ((b"SIP/2.0\r\n", b"SIP/3.0\r\n"), 505),
        ((b"CSeq: 1 REGISTER", b"CSeq: 1 INVITE"), 400),
        ((b"CSeq: 1 REGISTER", b"CSeq: 2147483648 REGISTER"), 400),
        ((b"Call-ID: 1011047669\r\n", b""), 400),
        ((b"Call-ID: 1011047669\r\n", b"Call-ID: a\r\nCall-ID: b\r\n"), 400),
        ((b"Expires: 3600", b"Expires: soon"), 400),
        ((b"Max-Forwards: 70", b"Max-Forwards: -1"), 400),
        ((b"To: <sip:", b"To: \"unbalanced <sip:"), 400),
        ((b"Via: SIP/2.0/UDP 192.168.1.64:5060", b"Via: SIP/2.0/UDP 192.168.1.64:99999"), 400),
        ((b"Via: SIP/2.0/UDP", b"Via: SIP/2.0/UDP host;;"), 400),
        ((b"Max-Forwards: 70\r\n", b"Max-Forwards 70\r\n"), 400),
        ((b"\r\n\r\n", b"\r\n"), 400),
    ],
)
def test_rejections(mutation: tuple[bytes, bytes], status: int) -> None:
    old, new = mutation
    with pytest.raises(ParseError) as info:
        parse_message(REGISTER.replace(old, new, 1))
    assert info.value.status == status


def test_expires_capped() -> None:
    m = parse_message(REGISTER.replace(b"Expires: 3600", b"Expires: 99999999999999"))
    assert m.expires == 2**32 - 1


def test_utf8_and_raw_bytes_survive_round_trip() -> None:
    extra = 'Subject: 34020000001320000001:0,前门:0\r\n'.encode() + b"X-Raw: \xff\xfe\x01\r\n"
    data = _request(extra)
    m = parse_message(data)
    assert m.get("Subject") == "34020000001320000001:0,前门:0"
    assert bytes(m) == data
    assert m.get("X-Raw") == "\udcff\udcfe\x01"


def test_serialise_sets_content_length() -> None:
    m = SipRequest("MESSAGE", "sip:a@b", (("Content-Length", "99"),), b"body")
    assert bytes(m).endswith(b"Content-Length: 4\r\n\r\nbody")
    r = SipResponse(200, "OK")
    assert bytes(r) == b"SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n"


def test_construction_validates() -> None:
    with pytest.raises(ParseError):
        SipRequest("BAD METHOD", "sip:a@b")
    with pytest.raises(ParseError):
        SipRequest("MESSAGE", "sip:a@b c")
    with pytest.raises(ParseError):
        SipRequest("MESSAGE", "sip:a@b", (("Subject", "x\r\nInjected: 1"),))
    with pytest.raises(ParseError):
        SipRequest("MESSAGE", "sip:a@b", (("Bad Name", "x"),))
    with pytest.raises(ParseError):
        SipResponse(700, "no")
    with pytest.raises(ParseError):
        SipResponse(99, "no")
    with pytest.raises(ParseError):
        CSeq(2**31, "INVITE")


def test_header_editing_returns_new_messages() -> None:
    m = parse_message(REGISTER)
    m2 = m.with_header("Authorization", "Digest x=1")
    assert m.get("Authorization") is None and m2.get("authorization") == "Digest x=1"
    m3 = m2.with_replaced("Expires", "0")
    assert m3.expires == 0 and len(m3.get_all("Expires")) == 1
    assert m3.without_header("Expires").expires is None
    assert m.with_header("Via", "SIP/2.0/UDP p;branch=z9hG4bKp", first=True).top_via.host == "p"


def test_uri_parsing() -> None:
    uri = parse_uri("sip:34020000001320000001:pw@192.168.1.64:5060;transport=tcp;lr?X=1&Y=2")
    assert isinstance(uri, SipUri)
    assert (uri.user, uri.password, uri.host, uri.port) == (
        "34020000001320000001", "pw", "192.168.1.64", 5060)  # fmt: skip
    assert uri.param("transport") == "tcp" and uri.has_param("lr") and uri.param("lr") is None
    assert uri.headers == (("X", "1"), ("Y", "2"))
    assert str(uri) == "sip:34020000001320000001:pw@192.168.1.64:5060;transport=tcp;lr?X=1&Y=2"
    assert parse_uri("sips:[2001:db8::1]:5061") == SipUri("[2001:db8::1]", port=5061, scheme="sips")
    assert parse_uri("tel:+86-553-1234") == AbsoluteUri("tel", "+86-553-1234")
    for bad in ("<sip:a@b>", "sip:a b@c", "sip:@h", "sip:a@h:port", "nocolon", "sip:a@h;;x"):
        with pytest.raises(ParseError):
            parse_uri(bad)
    with pytest.raises(ParseError):
        parse_uri("sip:a@b?Route=x", request_uri=True)


def test_name_addr_forms() -> None:
    a = NameAddr.parse('"前门 \\"东\\"" <sip:a@b;lr>;tag=1;x')
    assert a.display_name == '前门 "东"' and a.tag == "1" and a.has_param("x")
    assert NameAddr.parse(str(a)) == a
    b = NameAddr.parse("sip:a@b;tag=9")
    assert b.tag == "9" and isinstance(b.uri, SipUri) and not b.uri.params
    c = NameAddr.parse("Camera One <sip:a@b>")
    assert c.display_name == "Camera One"
    assert NameAddr.parse("<sip:a@b>").with_tag("t").tag == "t"
    assert str(NameAddr.parse("<sip:a@b>;tag=1").with_tag("2")) == "<sip:a@b>;tag=2"
    for bad in ('"open <sip:a@b>', "< sip:a@b >", "Bell, A <sip:a@b>", "sip:a@b?x=y",
                "<sip:a@b> junk", "<sip:a@b"):  # fmt: skip
        with pytest.raises(ParseError):
            NameAddr.parse(bad)


def test_via_model() -> None:
    v = Via.parse("SIP / 2.0 / udp host.example:5070 ; branch = z9hG4bKabc ; received=1.2.3.4")
    assert v.transport == "UDP" and v.port == 5070 and v.received == "1.2.3.4"
    assert str(v) == "SIP/2.0/UDP host.example:5070;branch=z9hG4bKabc;received=1.2.3.4"
    assert Via.parse(str(v)) == v
    assert not Via.parse("SIP/2.0/UDP h;branch=z9hG4bK").is_rfc3261_branch
    assert not Via.parse("SIP/2.0/UDP h;branch=1234").is_rfc3261_branch
    with pytest.raises(ParseError):
        Via.parse("SIP/3.0/UDP h")
    assert Via.parse("SIP/3.0/UDP h", any_version=True).host == "h"


def test_split_header_list_respects_quotes_and_brackets() -> None:
    value = '"a, b" <sip:x@y;p=1,2>, <sip:z@w>'
    assert split_header_list(value) == ['"a, b" <sip:x@y;p=1,2>', "<sip:z@w>"]
    with pytest.raises(ParseError):
        split_header_list("a,,b")


def test_make_response_per_8_2_6() -> None:
    req = parse_message(
        REGISTER.replace(b"Max-Forwards", b"Via: SIP/2.0/UDP p2;branch=z9hG4bK2\r\nMax-Forwards")
    )
    assert isinstance(req, SipRequest)
    r = make_response(req, 200, to_tag="abc", headers=[("Expires", "3600")])
    assert r.status == 200 and r.reason == "OK"
    assert r.get_all("Via") == req.get_all("Via")
    assert r.from_ == req.from_ and r.to.tag == "abc" and r.call_id == req.call_id
    assert r.cseq == req.cseq and r.expires == 3600
    assert make_response(req, 100).to.tag is None  # 100 Trying needs no tag
    assert make_response(req, 488, "Bad SDP").reason == "Bad SDP"
    invite = SipRequest("INVITE", "sip:a@b", (
        ("Via", "SIP/2.0/UDP h;branch=z9hG4bK1"), ("Record-Route", "<sip:p;lr>"),
        ("From", "<sip:x@y>;tag=1"), ("To", "<sip:a@b>"), ("Call-ID", "c"),
        ("CSeq", "1 INVITE")))  # fmt: skip
    assert make_response(invite, 200, to_tag="t").get("Record-Route") == "<sip:p;lr>"
    assert make_response(invite, 486, to_tag="t").get("Record-Route") is None
    assert parse_message(bytes(r)) == r.with_replaced("Content-Length", "0")


def test_stamp_received_and_response_address() -> None:
    req = parse_message(REGISTER)
    assert isinstance(req, SipRequest)
    stamped = stamp_received(req, ("10.0.0.9", 40123))
    via = stamped.top_via
    assert via.received == "10.0.0.9" and via.rport == 40123
    assert response_address(via, ("10.0.0.9", 40123), reliable=False) == ("10.0.0.9", 40123)
    no_rport = stamp_received(
        parse_message(REGISTER.replace(b";rport;", b";")), ("10.0.0.9", 40123)  # type: ignore[arg-type]
    ).top_via
    assert no_rport.received == "10.0.0.9" and no_rport.rport is None
    assert response_address(no_rport, ("10.0.0.9", 40123), reliable=False) == ("10.0.0.9", 5060)
    same_host = stamp_received(
        parse_message(REGISTER.replace(b";rport;", b";")), ("192.168.1.64", 5060)  # type: ignore[arg-type]
    ).top_via
    assert same_host.received is None
    assert response_address(via, ("10.0.0.9", 1), reliable=True) == ("10.0.0.9", 1)


def test_salvage_error_response() -> None:
    broken = REGISTER.replace(b"CSeq: 1 REGISTER", b"CSeq: 99999999999 REGISTER")
    reply = salvage_error_response(broken, 400, "Bad Request")
    assert reply is not None and reply.status == 400
    assert reply.get("CSeq") == "99999999999 REGISTER" and reply.get("Call-ID") == "1011047669"
    assert salvage_error_response(b"garbage", 400, "Bad Request") is None
    assert salvage_error_response(b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h\r\n\r\n", 400, "x") is None


def test_property_random_mutations_never_raise_other_errors() -> None:
    rng = random.Random(28181)
    for _ in range(3000):
        data = bytearray(REGISTER)
        for _ in range(rng.randint(1, 6)):
            op = rng.random()
            pos = rng.randrange(len(data))
            if op < 0.4:
                data[pos] = rng.randrange(256)
            elif op < 0.7:
                del data[pos : pos + rng.randint(1, 10)]
            else:
                data[pos:pos] = bytes(rng.choice(b" :;,<>\"\r\n\t@=") for _ in range(3))
        try:
            m = parse_message(bytes(data))
        except ParseError:
            continue
        assert parse_message(bytes(m)).headers is not None  # what parses also re-serialises


def test_property_round_trip_generated_requests() -> None:
    rng = random.Random(7)
    for i in range(300):
        body = bytes(rng.randrange(256) for _ in range(rng.randint(0, 40)))
        name = "".join(rng.choice("东西南北abc ") for _ in range(rng.randint(1, 8))).strip() or "x"
        req = SipRequest("MESSAGE", f"sip:{i}@3402000000", (
            ("Via", f"SIP/2.0/UDP 10.0.0.{i % 250}:{5060 + i};branch=z9hG4bK{i};rport"),
            ("From", str(NameAddr(SipUri("3402000000", user=str(i)), name, (("tag", str(i)),)))),
            ("To", "<sip:34020000002000000001@3402000000>"), ("Call-ID", f"c{i}"),
            ("CSeq", f"{i + 1} MESSAGE")), body)  # fmt: skip
        again = parse_message(bytes(req))
        assert again == req.with_replaced("Content-Length", str(len(body)))
        assert again.from_.display_name == name
