"""Transaction state tables (RFC 3261 §17) tested directly."""

from __future__ import annotations

import pytest

from xueliang.gb28181 import SipRequest, TransactionStateError
from xueliang.gb28181.transaction import (
    INITIAL,
    TABLES,
    Action,
    Input,
    Kind,
    State,
    Timer,
    Transaction,
)

REQUEST = SipRequest("MESSAGE", "sip:a@b", (("Via", "SIP/2.0/UDP h;branch=z9hG4bK1"),))


def _tx(kind: Kind, reliable: bool = False) -> Transaction:
    return Transaction(("k",), kind, REQUEST, reliable=reliable, addr=("h", 5060),
                       transport="TCP" if reliable else "UDP", now=0.0)  # fmt: skip


def test_tables_are_consistent() -> None:
    for kind, table in TABLES.items():
        initial, _ = INITIAL[kind]
        reachable = {initial} | {t.state for t in table.values()}
        for (state, _event), transition in table.items():
            assert state in reachable and state is not State.TERMINATED
            assert (transition.state is State.TERMINATED) == (Action.TERMINATE in transition.actions)
        assert State.TERMINATED in reachable


def _fire_all(tx: Transaction, until: float) -> list[tuple[float, Timer]]:
    fired = []
    while tx.timers:
        deadline = tx.next_deadline()
        assert deadline is not None
        if deadline > until:
            break
        for timer in tx.due_timers(deadline):
            fired.append((deadline, timer))
            tx.handle(timer.input, deadline)
    return fired


def test_timer_a_doubles_and_b_times_out() -> None:
    tx = _tx(Kind.CLIENT_INVITE)
    fired = _fire_all(tx, 100)
    assert fired == [(0.5, Timer.A), (1.5, Timer.A), (3.5, Timer.A), (7.5, Timer.A),
                     (15.5, Timer.A), (31.5, Timer.A), (32.0, Timer.B)]  # fmt: skip
    assert tx.state is State.TERMINATED


def test_timer_e_caps_at_t2_and_f_times_out() -> None:
    tx = _tx(Kind.CLIENT_NON_INVITE)
    times = [t for t, timer in _fire_all(tx, 100) if timer is Timer.E]
    assert times == [0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5, 23.5, 27.5, 31.5]
    assert tx.state is State.TERMINATED


def test_timer_e_is_t2_in_proceeding() -> None:
    tx = _tx(Kind.CLIENT_NON_INVITE)
    assert tx.handle(Input.TIMER_E, 0.5) == (Action.SEND_REQUEST,)
    assert tx.handle(Input.RESPONSE_1XX, 0.7) == (Action.DELIVER,)
    assert tx.state is State.PROCEEDING and tx.timers[Timer.E] == 1.5
    tx.handle(Input.TIMER_E, 1.5)
    assert tx.timers[Timer.E] == 5.5 and tx.timers[Timer.F] == 32.0


def test_reliable_transport_never_retransmits() -> None:
    for kind in (Kind.CLIENT_INVITE, Kind.CLIENT_NON_INVITE):
        tx = _tx(kind, reliable=True)
        assert set(tx.timers) <= {Timer.B, Timer.F}
    tx = _tx(Kind.CLIENT_NON_INVITE, reliable=True)
    tx.handle(Input.RESPONSE_2XX, 1.0)
    assert tx.timers == {Timer.K: 1.0}  # K is zero on reliable transports
    inv = _tx(Kind.CLIENT_INVITE, reliable=True)
    inv.handle(Input.RESPONSE_FAILURE, 2.0)
    assert inv.timers == {Timer.D: 2.0}
    srv = _tx(Kind.SERVER_INVITE, reliable=True)
    srv.handle(Input.SEND_FAILURE, 0.0)
    assert set(srv.timers) == {Timer.H}
    srv.handle(Input.ACK, 1.0)
    assert srv.timers == {Timer.I: 1.0}


def test_unreliable_wait_timers() -> None:
    inv = _tx(Kind.CLIENT_INVITE)
    assert inv.handle(Input.RESPONSE_FAILURE, 1.0) == (Action.SEND_ACK, Action.DELIVER)
    assert inv.timers == {Timer.D: 33.0}
    assert inv.handle(Input.RESPONSE_FAILURE, 2.0) == (Action.SEND_ACK,)  # absorbed, re-ACK
    srv = _tx(Kind.SERVER_NON_INVITE)
    srv.handle(Input.SEND_2XX, 1.0)
    assert srv.timers == {Timer.J: 33.0}
    assert srv.handle(Input.REQUEST, 2.0) == (Action.SEND_RESPONSE,)


def test_server_invite_g_and_h() -> None:
    srv = _tx(Kind.SERVER_INVITE)
    srv.handle(Input.SEND_1XX, 0.0)
    srv.handle(Input.SEND_FAILURE, 0.0)
    fired = _fire_all(srv, 100)
    assert [t for t, timer in fired if timer is Timer.G] == [0.5, 1.5, 3.5, 7.5, 11.5, 15.5,
                                                           19.5, 23.5, 27.5, 31.5]  # fmt: skip
    assert fired[-1] == (32.0, Timer.H) and srv.state is State.TERMINATED


def test_server_invite_accepted_rfc6026() -> None:
    srv = _tx(Kind.SERVER_INVITE)
    srv.handle(Input.SEND_2XX, 0.0)
    assert srv.state is State.ACCEPTED and set(srv.timers) == {Timer.G, Timer.L}
    assert srv.handle(Input.REQUEST, 0.1) == ()  # INVITE retransmission absorbed
    assert srv.handle(Input.ACK, 0.2) == (Action.DELIVER, Action.TERMINATE)


def test_illegal_tu_moves_raise_and_network_noise_is_absorbed() -> None:
    srv = _tx(Kind.SERVER_NON_INVITE)
    srv.handle(Input.SEND_2XX, 0.0)
    with pytest.raises(TransactionStateError) as info:
        srv.handle(Input.SEND_2XX, 0.0)
    assert info.value.status == 500
    client = _tx(Kind.CLIENT_NON_INVITE)
    client.handle(Input.RESPONSE_2XX, 0.0)
    assert client.handle(Input.RESPONSE_1XX, 0.1) == ()
    assert client.handle(Input.RESPONSE_2XX, 0.1) == ()
    assert client.state is State.COMPLETED
