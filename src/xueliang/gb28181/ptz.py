"""PTZCmd: the 8-byte front-end device control command (GB/T 28181-2022 Appendix A.3).

Byte layout (A.3.1): 1 ``A5``; 2 version (high nibble) and check nibble
``(0xA + 0x5 + version) % 16``; 3 address low byte; 4 instruction; 5 data 1; 6 data 2;
7 data 3 (high nibble) and address high nibble; 8 checksum = sum of bytes 1–7 mod 256.

Instructions: A.3.2 pan/tilt/zoom (``0x00``–``0x3F``: 0x01 right, 0x02 left, 0x04 down,
0x08 up, 0x10 zoom in, 0x20 zoom out; data 1 pan speed, data 2 tilt speed, data 3 zoom
speed), A.3.3 focus/iris (``0x40``–``0x4F``: 0x01 focus far, 0x02 focus near, 0x04 iris
open, 0x08 iris close; data 1 focus speed, data 2 iris speed), A.3.4 presets (0x81 set,
0x82 call, 0x83 delete; data 2 preset number 1–255).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, IntEnum

from xueliang.gb28181.errors import PtzError

__all__ = ["PresetAction", "PtzCommand", "PtzKind"]

_LEAD = 0xA5
_VERSION = 0


class PtzKind(Enum):
    """The instruction family a byte-4 value belongs to."""

    MOTION = "motion"  # A.3.2, includes stop (0x00)
    FOCUS_IRIS = "focus_iris"  # A.3.3
    PRESET = "preset"  # A.3.4
    OTHER = "other"  # cruise, scan, auxiliary switches (A.3.5–A.3.7): kept raw


class PresetAction(IntEnum):
    SET = 0x81
    CALL = 0x82
    DELETE = 0x83


@dataclass(frozen=True, slots=True)
class PtzCommand:
    """One decoded PTZCmd. ``data3`` is a nibble; ``address`` is 12 bits."""

    instruction: int
    data1: int = 0
    data2: int = 0
    data3: int = 0
    address: int = 0

    def __post_init__(self) -> None:
        for name, value, top in (
            ("instruction", self.instruction, 0xFF),
            ("data1", self.data1, 0xFF),
            ("data2", self.data2, 0xFF),
            ("data3", self.data3, 0x0F),
            ("address", self.address, 0xFFF),
        ):
            if not 0 <= value <= top:
                raise PtzError(f"PTZ {name} {value} out of range 0..{top}")
        code = self.instruction
        pairs = (0x03, 0x0C, 0x30) if code < 0x40 else (0x03, 0x0C) if code < 0x50 else ()
        if code >= 0xC0 or any(code & pair == pair for pair in pairs):
            raise PtzError(f"PTZ instruction {code:#04x} is reserved or contradictory")

    # ------------------------------------------------------------------ constructors

    @classmethod
    def move(
        cls,
        *,
        pan: int = 0,
        tilt: int = 0,
        zoom: int = 0,
        pan_speed: int = 0,
        tilt_speed: int = 0,
        zoom_speed: int = 0,
        address: int = 0,
    ) -> PtzCommand:
        """Pan -1 left / +1 right, tilt -1 down / +1 up, zoom -1 out / +1 in (A.3.2)."""
        code = {1: 0x01, -1: 0x02, 0: 0}[pan] | {1: 0x08, -1: 0x04, 0: 0}[tilt]
        code |= {1: 0x10, -1: 0x20, 0: 0}[zoom]
        return cls(code, pan_speed, tilt_speed, zoom_speed, address)

    @classmethod
    def stop(cls, address: int = 0) -> PtzCommand:
        return cls(0x00, address=address)

    @classmethod
    def focus_iris(
        cls, *, focus: int = 0, iris: int = 0, focus_speed: int = 0, iris_speed: int = 0,
        address: int = 0,
    ) -> PtzCommand:  # fmt: skip
        """Focus +1 far / -1 near, iris +1 open / -1 close (A.3.3)."""
        code = 0x40 | {1: 0x01, -1: 0x02, 0: 0}[focus] | {1: 0x04, -1: 0x08, 0: 0}[iris]
        return cls(code, focus_speed, iris_speed, 0, address)

    @classmethod
    def preset(cls, action: PresetAction, number: int, address: int = 0) -> PtzCommand:
        """Set, call or delete preset ``number`` (1–255, A.3.4)."""
        if not 1 <= number <= 255:
            raise PtzError(f"preset number {number} out of range 1..255")
        return cls(int(action), 0, number, 0, address)

    # -------------------------------------------------------------------- reading

    @property
    def kind(self) -> PtzKind:
        if self.instruction < 0x40:
            return PtzKind.MOTION
        if self.instruction < 0x50:
            return PtzKind.FOCUS_IRIS
        if self.instruction in (0x81, 0x82, 0x83):
            return PtzKind.PRESET
        return PtzKind.OTHER

    @property
    def is_stop(self) -> bool:
        return self.instruction in (0x00, 0x40)

    def _axis(self, plus: int, minus: int) -> int:
        return 1 if self.instruction & plus else -1 if self.instruction & minus else 0

    @property
    def pan(self) -> int:
        return self._axis(0x01, 0x02) if self.kind is PtzKind.MOTION else 0

    @property
    def tilt(self) -> int:
        return self._axis(0x08, 0x04) if self.kind is PtzKind.MOTION else 0

    @property
    def zoom(self) -> int:
        return self._axis(0x10, 0x20) if self.kind is PtzKind.MOTION else 0

    @property
    def preset_action(self) -> PresetAction | None:
        return PresetAction(self.instruction) if self.kind is PtzKind.PRESET else None

    @property
    def preset_number(self) -> int | None:
        return self.data2 if self.kind is PtzKind.PRESET else None

    # --------------------------------------------------------------------- codec

    def to_bytes(self) -> bytes:
        check = (_LEAD >> 4) + (_LEAD & 0x0F) + _VERSION
        body = bytes(
            [
                _LEAD,
                (_VERSION << 4) | (check & 0x0F),
                self.address & 0xFF,
                self.instruction,
                self.data1,
                self.data2,
                (self.data3 << 4) | (self.address >> 8),
            ]
        )
        return body + bytes([sum(body) & 0xFF])

    def to_hex(self) -> str:
        """Upper-case 16 hex digits, as sent in ``<PTZCmd>``."""
        return self.to_bytes().hex().upper()

    @classmethod
    def from_bytes(cls, data: bytes) -> PtzCommand:
        if len(data) != 8:
            raise PtzError(f"PTZCmd must be 8 bytes, got {len(data)}")
        if data[0] != _LEAD:
            raise PtzError(f"PTZCmd must start with A5, got {data[0]:02X}")
        if (data[1] & 0x0F) != ((_LEAD >> 4) + (_LEAD & 0x0F) + (data[1] >> 4)) & 0x0F:
            raise PtzError(f"PTZCmd check nibble wrong in {data[1]:02X}")
        if sum(data[:7]) & 0xFF != data[7]:
            raise PtzError(f"PTZCmd checksum {data[7]:02X} != {sum(data[:7]) & 0xFF:02X}")
        return cls(data[3], data[4], data[5], data[6] >> 4, ((data[6] & 0x0F) << 8) | data[2])

    @classmethod
    def from_hex(cls, text: str) -> PtzCommand:
        try:
            data = bytes.fromhex(text.strip())
        except ValueError:
            raise PtzError(f"PTZCmd is not hex: {text!r}") from None
        return cls.from_bytes(data)
