"""INVITE dialogs (RFC 3261 §12)."""

from __future__ import annotations

from pathlib import Path

import pytest

from xueliang.gb28181 import (
    Dialog,
    DialogError,
    DialogState,
    SipRequest,
    SipResponse,
    make_response,
    parse_message,
)

DATA = Path(__file__).parent / "data"

INVITE = SipRequest("INVITE", "sip:34020000001320000003@3402000000", (
    ("Via", "SIP/2.0/UDP 10.10.0.5:5060;branch=z9hG4bKplat0001;rport"),
    ("From", "<sip:34020000002000000001@3402000000>;tag=plat77"),
    ("To", "<sip:34020000001320000003@3402000000>"),
    ("Call-ID", "live0001@10.10.0.5"),
    ("CSeq", "20 INVITE"),
    ("Contact", "<sip:34020000002000000001@10.10.0.5:5060>"),
    ("Subject", "34020000001320000003:0200000123,34020000002000000001:0"),
))  # fmt: skip


def _dahua_200() -> SipResponse:
    response = parse_message((DATA / "dahua_invite_200.sip").read_bytes())
    assert isinstance(response, SipResponse)
    return response


def test_uac_dialog_from_dahua_answer_with_record_route() -> None:
    dialog = Dialog.from_response(INVITE, _dahua_200())
    assert dialog.state is DialogState.CONFIRMED and dialog.is_uac
    assert dialog.id == ("live0001@10.10.0.5", "plat77", "dahua9917")
    assert dialog.remote_target == "sip:34020000001320000003@10.10.2.18:5060"
    assert dialog.route_set == ("<sip:gw@10.10.1.1:5060;lr>",
                                "<sip:34020000001180000002@10.10.2.18:5060;lr>")  # fmt: skip
    ack = dialog.create_ack()
    assert ack.method == "ACK" and str(ack.cseq) == "20 ACK"
    assert ack.uri == dialog.remote_target  # loose routing keeps the target
    assert ack.get_all("Route") == list(dialog.route_set)
    assert ack.to.tag == "dahua9917" and ack.from_.tag == "plat77"
    assert dialog.next_hop() == ("10.10.1.1", 5060)
    bye = dialog.create_request("BYE")
    assert str(bye.cseq) == "21 BYE" and dialog.state is DialogState.TERMINATED
    with pytest.raises(DialogError):
        dialog.create_request("BYE")


def test_uac_early_then_confirmed_and_target_refresh() -> None:
    ringing = make_response(INVITE, 180, to_tag="dev1",
                            headers=[("Contact", "<sip:dev@10.0.0.1>")])  # fmt: skip
    dialog = Dialog.from_response(INVITE, ringing)
    assert dialog.state is DialogState.EARLY and dialog.route_set == ()
    ok = make_response(INVITE, 200, to_tag="dev1", headers=[("Contact", "<sip:dev@10.0.0.2>")])
    dialog.on_response(ok)
    assert dialog.state is DialogState.CONFIRMED and dialog.remote_target == "sip:dev@10.0.0.2"
    assert dialog.matches(ok)
    with pytest.raises(DialogError):
        Dialog.from_response(INVITE, make_response(INVITE, 180))  # no To tag
    with pytest.raises(DialogError):
        dialog.create_request("ACK")


def test_uas_dialog_and_cseq_checks() -> None:
    invite = INVITE.with_header("Record-Route", "<sip:p1;lr>").with_header(
        "Record-Route", "<sip:p2;lr>")  # fmt: skip
    assert isinstance(invite, SipRequest)
    ok = make_response(invite, 200, to_tag="dev5", headers=[("Contact", "<sip:d@10.0.0.3>")])
    dialog = Dialog.from_request(invite, ok, local_contact="<sip:d@10.0.0.3>")
    assert not dialog.is_uac and dialog.state is DialogState.CONFIRMED
    assert dialog.route_set == ("<sip:p1;lr>", "<sip:p2;lr>")
    assert dialog.remote_target == "sip:34020000002000000001@10.10.0.5:5060"
    info = dialog.create_request("INFO", body=b"x", content_type="Application/MANSRTSP")
    assert info.cseq.number == 1 and info.to.tag == "plat77" and info.from_.tag == "dev5"
    assert info.get("Contact") == "<sip:d@10.0.0.3>"
    uac_bye = SipRequest("BYE", "sip:d@10.0.0.3", (
        ("Via", "SIP/2.0/UDP h;branch=z9hG4bK9"), ("From", "<sip:x@y>;tag=plat77"),
        ("To", "<sip:z@w>;tag=dev5"), ("Call-ID", "live0001@10.10.0.5"), ("CSeq", "19 BYE")))  # fmt: skip
    with pytest.raises(DialogError) as low:
        dialog.receive_request(uac_bye)
    assert low.value.status == 500
    dialog.receive_request(uac_bye.with_replaced("CSeq", "21 BYE"))  # type: ignore[arg-type]
    assert dialog.state is DialogState.TERMINATED and dialog.remote_seq == 21
    stranger = uac_bye.with_replaced("To", "<sip:z@w>;tag=other")
    with pytest.raises(DialogError):
        dialog.receive_request(stranger)  # type: ignore[arg-type]


def test_strict_routing() -> None:
    ok = make_response(INVITE, 200, to_tag="t", headers=[
        ("Contact", "<sip:dev@10.0.0.9>"), ("Record-Route", "<sip:strict@10.0.0.7>"),
        ("Record-Route", "<sip:first@10.0.0.8>")])  # fmt: skip
    dialog = Dialog.from_response(INVITE, ok)
    bye = dialog.create_request("BYE")
    assert bye.uri == "sip:first@10.0.0.8"
    assert bye.get_all("Route") == ["<sip:strict@10.0.0.7>", "<sip:dev@10.0.0.9>"]


def test_missing_contact_is_an_error() -> None:
    with pytest.raises(DialogError):
        Dialog.from_response(INVITE, make_response(INVITE, 200, to_tag="x"))
