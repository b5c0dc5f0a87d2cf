"""The simulator's configuration and its fault specification (pure values, no I/O)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from enum import IntFlag

from xueliang.sim.plan import unit

__all__ = [
    "FAULT_NAMES",
    "Fault",
    "FaultSpec",
    "SimConfig",
    "parse_platform",
]


class Fault(IntFlag):
    """What is wrong with a simulated device (a device may carry several)."""

    NONE = 0
    OFFLINE = 1  # never registers
    FLAPPING = 2  # goes silent for a while (no keepalives), then registers afresh, periodically
    SLOW_CATALOG = 4  # seconds between catalog parts
    FRAGMENTED = 8  # tiny catalog parts, sent out of order, one of them twice
    WRONG_PASSWORD = 16  # digest fails → 403, retried later
    GB2312 = 32  # MANSCDP bodies in GB2312 rather than UTF-8


FAULT_NAMES: dict[str, Fault] = {
    "offline": Fault.OFFLINE,
    "flapping": Fault.FLAPPING,
    "slow_catalog": Fault.SLOW_CATALOG,
    "fragmented": Fault.FRAGMENTED,
    "wrong_password": Fault.WRONG_PASSWORD,
    "gb2312": Fault.GB2312,
}


@dataclass(frozen=True, slots=True)
class FaultSpec:
    """Fractions of the fleet carrying each fault, e.g. ``offline=0.03,gb2312=0.3``.

    Which devices carry a fault is a pure function of (seed, device index, fault): the same
    seed always picks the same devices, and each fault is drawn independently.
    """

    fractions: tuple[tuple[Fault, float], ...] = ()

    @classmethod
    def parse(cls, text: str) -> FaultSpec:
        """Parse ``name=fraction[,name=fraction...]``; raises ValueError with the reason."""
        fractions: dict[Fault, float] = {}
        for piece in (p.strip() for p in text.split(",")):
            if not piece:
                continue
            name, eq, value = piece.partition("=")
            name = name.strip().lower().replace("-", "_")
            if name not in FAULT_NAMES:
                known = ", ".join(FAULT_NAMES)
                raise ValueError(f"unknown fault {name!r} (known: {known})")
            if not eq:
                raise ValueError(f"fault {name!r} needs a fraction, e.g. {name}=0.05")
            try:
                fraction = float(value)
            except ValueError:
                raise ValueError(f"fault {name!r}: {value!r} is not a number") from None
            if not 0.0 <= fraction <= 1.0:
                raise ValueError(f"fault {name!r}: fraction {fraction} is not within 0..1")
            fractions[FAULT_NAMES[name]] = fraction
        return cls(tuple(fractions.items()))

    def faults_for(self, seed: int, index: int) -> Fault:
        """The faults device ``index`` carries under ``seed``."""
        faults = Fault.NONE
        for fault, fraction in self.fractions:
            if fraction and unit(seed, index, int(fault)) < fraction:
                faults |= fault
        return faults

    def __str__(self) -> str:
        names = {v: k for k, v in FAULT_NAMES.items()}
        return ",".join(f"{names[f]}={x:g}" for f, x in self.fractions)


def parse_platform(text: str) -> tuple[str, int]:
    """``HOST:PORT`` → (host, port); the host must be a loopback address (127.0.0.0/8).

    The simulator is a load generator for a platform on the same machine: every socket is
    bound to loopback and nothing is ever sent elsewhere.
    """
    host, sep, port_text = text.rpartition(":")
    if not sep or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ValueError(f"platform address {text!r} is not HOST:PORT")
    if host == "localhost":
        host = "127.0.0.1"
    try:
        address = ipaddress.IPv4Address(host)
    except ValueError:
        raise ValueError(f"platform host {host!r} is not an IPv4 address") from None
    if not address.is_loopback:
        raise ValueError(f"platform host {host} is not on loopback (127.0.0.0/8)")
    return host, int(port_text)


@dataclass(frozen=True, slots=True)
class SimConfig:
    """Everything that shapes a simulated fleet. Times are seconds.

    ``catalog_part_size`` None means 4 items a MESSAGE over UDP (≈ 2–3 KB, what NVRs send)
    and 100 over TCP. ``register_retry`` is how long a device waits after a failed
    registration (GB/T 28181-2022 9.1: at least 60 s; lowered in tests).
    """

    platform: tuple[str, int]
    platform_id: str = "34020000002000000001"
    domain: str = "3402000000"
    password: str = "12345678"
    devices: int = 1
    channels: int = 4
    faults: FaultSpec = field(default_factory=FaultSpec)
    transport: str = "UDP"
    seed: int = 7
    keepalive: float = 60.0
    register_expires: int = 3600
    civil_code: str | None = None
    rate: float = 500.0
    first_index: int = 0
    bind_host: str = "127.0.0.1"
    devices_per_socket: int = 100
    register_retry: float = 60.0
    keepalive_failures: int = 3  # keepalives without answer before registering afresh
    catalog_part_size: int | None = None
    fragment_part_size: int = 1
    slow_catalog_delay: float = 3.0
    flap_period: float = 600.0  # a flapping device goes silent about this often
    flap_silence: float = 240.0  # ... for this long (4 keepalive windows by default)
    unregister_on_stop: bool = False
    gb_version: str = "3.0"
    user_agent: str = "xueliang-sim"
    manscdp_encoding: str = "UTF-8"  # devices with the gb2312 fault use GB2312
    # live view (9.2): picture faults as fractions of channels, e.g. "blur=0.05,too_dark=0.03"
    video_faults: str = ""
    h265: float = 0.0  # fraction of channels that send H.265 (the others H.264)
    max_streams: int = 256  # concurrent media sessions of the whole sim; beyond: 486 Busy Here
    clip_pool: int = 0  # 0: each channel's clip shows its ID; N: channels share N clips a fault
    ack_timeout: float = 32.0  # an answered INVITE whose ACK does not come in this long ends

    def __post_init__(self) -> None:
        if self.transport not in ("UDP", "TCP"):
            raise ValueError(f"transport must be UDP or TCP, not {self.transport!r}")
        if self.devices < 0 or self.channels < 0:
            raise ValueError("devices and channels must not be negative")
        if (self.first_index + self.devices) * max(self.channels, 1) > 9_999_999:
            raise ValueError("device × channel serials must fit in 7 digits (≤ 9,999,999)")
        if self.rate <= 0 or self.keepalive <= 0:
            raise ValueError("rate and keepalive must be positive")
        if not 1 <= self.devices_per_socket <= 65_535:
            raise ValueError("devices_per_socket must be 1..65535")
        if self.register_expires < 0:
            raise ValueError("register_expires must not be negative")
        if not 0.0 <= self.h265 <= 1.0:
            raise ValueError("h265 must be a fraction within 0..1")
        if self.clip_pool < 0:
            raise ValueError("clip_pool must not be negative")
        if self.max_streams < 0 or self.ack_timeout <= 0:
            raise ValueError("max_streams must not be negative and ack_timeout must be positive")
        from xueliang.sim.media import VideoFaultSpec

        VideoFaultSpec.parse(self.video_faults)  # ValueError with the reason

    @property
    def part_size(self) -> int:
        if self.catalog_part_size is not None:
            return max(1, self.catalog_part_size)
        return 4 if self.transport == "UDP" else 100
