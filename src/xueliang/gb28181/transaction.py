"""SIP transactions as state tables (RFC 3261 §17, RFC 6026 §7, h11 ``_state.py`` style).

Each of the four transaction kinds is a table ``(state, input) -> Transition``. A
transition names the next state, the actions for the endpoint to perform and the timers
to arm and cancel. Network inputs with no entry are absorbed (a retransmission or a
late response); a transaction-user input with no entry raises
:class:`TransactionStateError`. Timers are deadlines in the caller's clock (``now``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from xueliang.gb28181.errors import TransactionStateError
from xueliang.gb28181.message import SipRequest, SipResponse

__all__ = [
    "T1",
    "T2",
    "T4",
    "Action",
    "Input",
    "Kind",
    "State",
    "Timer",
    "Transaction",
    "Transition",
    "TABLES",
]

T1 = 0.5  # RTT estimate (RFC 3261 §17.1.1.1, table 4)
T2 = 4.0  # maximum retransmit interval for non-INVITE requests and INVITE responses
T4 = 5.0  # maximum duration a message remains in the network


class Kind(Enum):
    CLIENT_INVITE = "client-invite"  # §17.1.1
    CLIENT_NON_INVITE = "client-non-invite"  # §17.1.2
    SERVER_INVITE = "server-invite"  # §17.2.1
    SERVER_NON_INVITE = "server-non-invite"  # §17.2.2


class State(Enum):
    CALLING = "calling"
    TRYING = "trying"
    PROCEEDING = "proceeding"
    ACCEPTED = "accepted"  # RFC 6026 §7.1/7.2
    COMPLETED = "completed"
    CONFIRMED = "confirmed"
    TERMINATED = "terminated"


class Input(Enum):
    # from the network
    RESPONSE_1XX = "1xx"
    RESPONSE_2XX = "2xx"
    RESPONSE_FAILURE = "300-699"
    REQUEST = "request"  # a retransmission of the server transaction's request
    ACK = "ack"
    # from the transaction user
    SEND_1XX = "send-1xx"
    SEND_2XX = "send-2xx"
    SEND_FAILURE = "send-300-699"
    # timers (§17, table 4)
    TIMER_A = "A"
    TIMER_B = "B"
    TIMER_D = "D"
    TIMER_E = "E"
    TIMER_F = "F"
    TIMER_G = "G"
    TIMER_H = "H"
    TIMER_I = "I"
    TIMER_J = "J"
    TIMER_K = "K"
    TIMER_L = "L"
    TIMER_M = "M"


class Timer(Enum):
    A = "A"  # INVITE request retransmit (UDP)
    B = "B"  # INVITE transaction timeout
    D = "D"  # wait for response retransmits
    E = "E"  # non-INVITE request retransmit (UDP)
    F = "F"  # non-INVITE transaction timeout
    G = "G"  # INVITE final response retransmit (UDP)
    H = "H"  # wait for ACK
    I = "I"  # wait for ACK retransmits  # noqa: E741
    J = "J"  # wait for non-INVITE request retransmits
    K = "K"  # wait for non-INVITE response retransmits
    L = "L"  # RFC 6026: accepted INVITE server
    M = "M"  # RFC 6026: accepted INVITE client

    @property
    def input(self) -> Input:
        return Input[f"TIMER_{self.value}"]


class Action(Enum):
    SEND_REQUEST = "send-request"  # (re)transmit the request
    SEND_RESPONSE = "send-response"  # (re)transmit the last response
    SEND_ACK = "send-ack"  # the ACK for a non-2xx final response (§17.1.1.3)
    DELIVER = "deliver"  # pass the message up to the transaction user
    TIMEOUT = "timeout"  # tell the transaction user the transaction timed out
    TERMINATE = "terminate"  # forget the transaction


@dataclass(frozen=True, slots=True)
class Transition:
    state: State
    actions: tuple[Action, ...] = ()
    arm: tuple[Timer, ...] = ()
    cancel: tuple[Timer, ...] = ()


_S, _I, _A, _T = State, Input, Action, Timer
_END = (_A.TERMINATE,)

CLIENT_INVITE: dict[tuple[State, Input], Transition] = {  # RFC 3261 figure 5 + RFC 6026
    (_S.CALLING, _I.TIMER_A): Transition(_S.CALLING, (_A.SEND_REQUEST,), (_T.A,)),
    (_S.CALLING, _I.TIMER_B): Transition(_S.TERMINATED, (_A.TIMEOUT, *_END)),
    (_S.CALLING, _I.RESPONSE_1XX): Transition(_S.PROCEEDING, (_A.DELIVER,), (), (_T.A, _T.B)),
    (_S.CALLING, _I.RESPONSE_2XX): Transition(_S.ACCEPTED, (_A.DELIVER,), (_T.M,), (_T.A, _T.B)),
    (_S.CALLING, _I.RESPONSE_FAILURE): Transition(
        _S.COMPLETED, (_A.SEND_ACK, _A.DELIVER), (_T.D,), (_T.A, _T.B)
    ),
    (_S.PROCEEDING, _I.RESPONSE_1XX): Transition(_S.PROCEEDING, (_A.DELIVER,)),
    (_S.PROCEEDING, _I.RESPONSE_2XX): Transition(_S.ACCEPTED, (_A.DELIVER,), (_T.M,)),
    (_S.PROCEEDING, _I.RESPONSE_FAILURE): Transition(
        _S.COMPLETED, (_A.SEND_ACK, _A.DELIVER), (_T.D,)
    ),
    (_S.COMPLETED, _I.RESPONSE_FAILURE): Transition(_S.COMPLETED, (_A.SEND_ACK,)),
    (_S.COMPLETED, _I.TIMER_D): Transition(_S.TERMINATED, _END),
    (_S.ACCEPTED, _I.RESPONSE_2XX): Transition(_S.ACCEPTED, (_A.DELIVER,)),  # TU re-ACKs
    (_S.ACCEPTED, _I.TIMER_M): Transition(_S.TERMINATED, _END),
}

CLIENT_NON_INVITE: dict[tuple[State, Input], Transition] = {  # RFC 3261 figure 6
    (_S.TRYING, _I.TIMER_E): Transition(_S.TRYING, (_A.SEND_REQUEST,), (_T.E,)),
    (_S.TRYING, _I.TIMER_F): Transition(_S.TERMINATED, (_A.TIMEOUT, *_END)),
    (_S.TRYING, _I.RESPONSE_1XX): Transition(_S.PROCEEDING, (_A.DELIVER,)),
    (_S.TRYING, _I.RESPONSE_2XX): Transition(_S.COMPLETED, (_A.DELIVER,), (_T.K,), (_T.E, _T.F)),
    (_S.TRYING, _I.RESPONSE_FAILURE): Transition(
        _S.COMPLETED, (_A.DELIVER,), (_T.K,), (_T.E, _T.F)
    ),
    (_S.PROCEEDING, _I.TIMER_E): Transition(_S.PROCEEDING, (_A.SEND_REQUEST,), (_T.E,)),
    (_S.PROCEEDING, _I.TIMER_F): Transition(_S.TERMINATED, (_A.TIMEOUT, *_END)),
    (_S.PROCEEDING, _I.RESPONSE_1XX): Transition(_S.PROCEEDING, (_A.DELIVER,)),
    (_S.PROCEEDING, _I.RESPONSE_2XX): Transition(
        _S.COMPLETED, (_A.DELIVER,), (_T.K,), (_T.E, _T.F)
    ),
    (_S.PROCEEDING, _I.RESPONSE_FAILURE): Transition(
        _S.COMPLETED, (_A.DELIVER,), (_T.K,), (_T.E, _T.F)
    ),
    (_S.COMPLETED, _I.TIMER_K): Transition(_S.TERMINATED, _END),
}

SERVER_INVITE: dict[tuple[State, Input], Transition] = {  # RFC 3261 figure 7 + RFC 6026
    (_S.PROCEEDING, _I.REQUEST): Transition(_S.PROCEEDING, (_A.SEND_RESPONSE,)),
    (_S.PROCEEDING, _I.SEND_1XX): Transition(_S.PROCEEDING, (_A.SEND_RESPONSE,)),
    (_S.PROCEEDING, _I.SEND_2XX): Transition(_S.ACCEPTED, (_A.SEND_RESPONSE,), (_T.G, _T.L)),
    (_S.PROCEEDING, _I.SEND_FAILURE): Transition(
        _S.COMPLETED, (_A.SEND_RESPONSE,), (_T.G, _T.H)
    ),
    (_S.COMPLETED, _I.REQUEST): Transition(_S.COMPLETED, (_A.SEND_RESPONSE,)),
    (_S.COMPLETED, _I.TIMER_G): Transition(_S.COMPLETED, (_A.SEND_RESPONSE,), (_T.G,)),
    (_S.COMPLETED, _I.TIMER_H): Transition(_S.TERMINATED, (_A.TIMEOUT, *_END), (), (_T.G,)),
    (_S.COMPLETED, _I.ACK): Transition(_S.CONFIRMED, (), (_T.I,), (_T.G, _T.H)),
    (_S.CONFIRMED, _I.TIMER_I): Transition(_S.TERMINATED, _END),
    # RFC 6026 §7.1 Accepted: absorb INVITE retransmissions; 2xx retransmission until the
    # ACK is the UAS core's duty (RFC 3261 §13.3.1.4), done here with timer G's schedule.
    (_S.ACCEPTED, _I.SEND_2XX): Transition(_S.ACCEPTED, (_A.SEND_RESPONSE,)),
    (_S.ACCEPTED, _I.TIMER_G): Transition(_S.ACCEPTED, (_A.SEND_RESPONSE,), (_T.G,)),
    (_S.ACCEPTED, _I.ACK): Transition(_S.TERMINATED, (_A.DELIVER, *_END), (), (_T.G, _T.L)),
    (_S.ACCEPTED, _I.TIMER_L): Transition(_S.TERMINATED, (_A.TIMEOUT, *_END), (), (_T.G,)),
}

SERVER_NON_INVITE: dict[tuple[State, Input], Transition] = {  # RFC 3261 figure 8
    (_S.TRYING, _I.SEND_1XX): Transition(_S.PROCEEDING, (_A.SEND_RESPONSE,)),
    (_S.TRYING, _I.SEND_2XX): Transition(_S.COMPLETED, (_A.SEND_RESPONSE,), (_T.J,)),
    (_S.TRYING, _I.SEND_FAILURE): Transition(_S.COMPLETED, (_A.SEND_RESPONSE,), (_T.J,)),
    (_S.PROCEEDING, _I.REQUEST): Transition(_S.PROCEEDING, (_A.SEND_RESPONSE,)),
    (_S.PROCEEDING, _I.SEND_1XX): Transition(_S.PROCEEDING, (_A.SEND_RESPONSE,)),
    (_S.PROCEEDING, _I.SEND_2XX): Transition(_S.COMPLETED, (_A.SEND_RESPONSE,), (_T.J,)),
    (_S.PROCEEDING, _I.SEND_FAILURE): Transition(_S.COMPLETED, (_A.SEND_RESPONSE,), (_T.J,)),
    (_S.COMPLETED, _I.REQUEST): Transition(_S.COMPLETED, (_A.SEND_RESPONSE,)),
    (_S.COMPLETED, _I.TIMER_J): Transition(_S.TERMINATED, _END),
}

TABLES: dict[Kind, dict[tuple[State, Input], Transition]] = {
    Kind.CLIENT_INVITE: CLIENT_INVITE,
    Kind.CLIENT_NON_INVITE: CLIENT_NON_INVITE,
    Kind.SERVER_INVITE: SERVER_INVITE,
    Kind.SERVER_NON_INVITE: SERVER_NON_INVITE,
}
INITIAL = {
    Kind.CLIENT_INVITE: (State.CALLING, (Timer.A, Timer.B)),
    Kind.CLIENT_NON_INVITE: (State.TRYING, (Timer.E, Timer.F)),
    Kind.SERVER_INVITE: (State.PROCEEDING, ()),
    Kind.SERVER_NON_INVITE: (State.TRYING, ()),
}
_TU_INPUTS = frozenset({Input.SEND_1XX, Input.SEND_2XX, Input.SEND_FAILURE})
_RETRANSMIT = frozenset({Timer.A, Timer.E, Timer.G})


def response_input(status: int, *, sending: bool) -> Input:
    """The table input for a response of ``status`` received or sent."""
    if status < 200:
        return Input.SEND_1XX if sending else Input.RESPONSE_1XX
    if status < 300:
        return Input.SEND_2XX if sending else Input.RESPONSE_2XX
    return Input.SEND_FAILURE if sending else Input.RESPONSE_FAILURE


class Transaction:
    """One transaction: its request, last response, state and armed timers.

    ``reliable`` (TCP/TLS) disables retransmission timers and zeroes D, I, J, K
    (§17.1.1.2, §17.1.2.2, §17.2.1, §17.2.2).
    """

    __slots__ = (
        "key", "kind", "request", "reliable", "addr", "transport", "state", "timers",
        "last_response", "ack", "_intervals",
    )  # fmt: skip

    def __init__(
        self,
        key: tuple[str, ...],
        kind: Kind,
        request: SipRequest,
        *,
        reliable: bool,
        addr: tuple[str, int],
        transport: str,
        now: float,
    ) -> None:
        self.key = key
        self.kind = kind
        self.request = request
        self.reliable = reliable
        self.addr = addr
        self.transport = transport
        self.last_response: SipResponse | None = None
        self.ack: SipRequest | None = None
        self.timers: dict[Timer, float] = {}
        self._intervals: dict[Timer, float] = {}
        self.state, timers = INITIAL[kind]
        for timer in timers:
            self._arm(timer, now)

    @property
    def is_client(self) -> bool:
        return self.kind in (Kind.CLIENT_INVITE, Kind.CLIENT_NON_INVITE)

    def next_deadline(self) -> float | None:
        return min(self.timers.values(), default=None)

    def due_timers(self, now: float) -> list[Timer]:
        return sorted((t for t, d in self.timers.items() if d <= now), key=self.timers.get)

    def handle(self, event: Input, now: float) -> tuple[Action, ...]:
        """Apply one input; return the actions to perform."""
        transition = TABLES[self.kind].get((self.state, event))
        if transition is None:
            if event in _TU_INPUTS:
                raise TransactionStateError(
                    f"{self.kind.value} transaction in {self.state.value} cannot {event.value}"
                )
            if event.name.startswith("TIMER_"):
                self.timers.pop(Timer(event.value), None)
            return ()  # absorbed (§17.1.1.2, §17.2.1: retransmissions, late responses)
        if event.name.startswith("TIMER_"):
            self.timers.pop(Timer(event.value), None)
        for timer in transition.cancel:
            self.timers.pop(timer, None)
        self.state = transition.state
        for timer in transition.arm:
            self._arm(timer, now)
        if self.state is State.TERMINATED:
            self.timers.clear()
        return transition.actions

    def _arm(self, timer: Timer, now: float) -> None:
        if timer in _RETRANSMIT:
            if self.reliable:
                return
            previous = self._intervals.get(timer)
            interval = T1 if previous is None else previous * 2
            cap = T2 if timer in (Timer.E, Timer.G) else float("inf")  # A doubles unbounded
            interval = min(interval, cap)
            if timer is Timer.E and self.state is State.PROCEEDING:
                interval = T2  # §17.1.2.2: in Proceeding, E is reset to T2
            self._intervals[timer] = interval
        elif timer in (Timer.B, Timer.F, Timer.H, Timer.L, Timer.M):
            interval = 64 * T1
        elif timer is Timer.D:
            interval = 0.0 if self.reliable else 32.0
        elif timer is Timer.J:
            interval = 0.0 if self.reliable else 64 * T1
        else:  # I, K
            interval = 0.0 if self.reliable else T4
        self.timers[timer] = now + interval
