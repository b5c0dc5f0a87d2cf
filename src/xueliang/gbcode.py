"""GB/T 28181 20-digit codes (国标编码), per GB/T 28181-2022 Appendix E.

A device or channel ID is 20 decimal digits: ``centre(8) industry(2) type(3) network(1)
serial(6)``. GB/T 28181-2016 described the tail as ``type(3) serial(7)``; both parse the
same way here, since the network digit is simply the serial's first digit under 2016.
Administrative-division (civil code, 行政区划) nodes use 2, 4, 6 or 8 digits.

Pure functions: strings in, values out.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "CIVIL_CODE_LENGTHS",
    "TYPE_CODES",
    "DeviceCategory",
    "GbCodeError",
    "GbId",
    "civil_code_ancestors",
    "civil_code_level",
    "is_civil_code",
    "parse_gb_id",
]

CIVIL_CODE_LENGTHS = (2, 4, 6, 8)


class GbCodeError(ValueError):
    """A string that is not a valid GB/T 28181 code, with the reason in the message."""


class DeviceCategory(StrEnum):
    """What kind of thing a type code names: a device, a channel, a platform or a tree node."""

    DEVICE = "device"
    CHANNEL = "channel"
    PLATFORM = "platform"
    NODE = "node"
    OTHER = "other"


# Appendix E, Table E.3 (the codes met in practice); unknown codes parse as OTHER.
TYPE_CODES: dict[str, tuple[str, DeviceCategory]] = {
    "111": ("DVR", DeviceCategory.DEVICE),
    "112": ("video server", DeviceCategory.DEVICE),
    "113": ("encoder", DeviceCategory.DEVICE),
    "114": ("decoder", DeviceCategory.DEVICE),
    "115": ("video switch matrix", DeviceCategory.DEVICE),
    "116": ("audio switch matrix", DeviceCategory.DEVICE),
    "117": ("alarm controller", DeviceCategory.DEVICE),
    "118": ("NVR", DeviceCategory.DEVICE),
    "119": ("HVR", DeviceCategory.DEVICE),
    "121": ("video checkpoint", DeviceCategory.CHANNEL),
    "131": ("camera", DeviceCategory.CHANNEL),
    "132": ("IPC", DeviceCategory.CHANNEL),
    "133": ("display", DeviceCategory.CHANNEL),
    "134": ("alarm input", DeviceCategory.CHANNEL),
    "135": ("alarm output", DeviceCategory.CHANNEL),
    "136": ("audio input", DeviceCategory.CHANNEL),
    "137": ("audio output", DeviceCategory.CHANNEL),
    "138": ("mobile transmitter", DeviceCategory.CHANNEL),
    "139": ("other peripheral", DeviceCategory.CHANNEL),
    "200": ("central signalling server", DeviceCategory.PLATFORM),
    "201": ("web application server", DeviceCategory.PLATFORM),
    "202": ("media distribution server", DeviceCategory.PLATFORM),
    "203": ("proxy server", DeviceCategory.PLATFORM),
    "204": ("security server", DeviceCategory.PLATFORM),
    "205": ("alarm server", DeviceCategory.PLATFORM),
    "206": ("database server", DeviceCategory.PLATFORM),
    "207": ("GIS server", DeviceCategory.PLATFORM),
    "208": ("management server", DeviceCategory.PLATFORM),
    "209": ("gateway", DeviceCategory.PLATFORM),
    "210": ("media storage server", DeviceCategory.PLATFORM),
    "211": ("signalling security gateway", DeviceCategory.PLATFORM),
    "215": ("business group", DeviceCategory.NODE),
    "216": ("virtual organisation", DeviceCategory.NODE),
}


@dataclass(frozen=True, slots=True)
class GbId:
    """A parsed 20-digit GB/T 28181 ID."""

    value: str
    centre: str
    industry: str
    type_code: str
    network: str
    serial: str

    @property
    def province(self) -> str:
        return self.centre[:2]

    @property
    def city(self) -> str:
        return self.centre[:4]

    @property
    def district(self) -> str:
        return self.centre[:6]

    @property
    def civil_code(self) -> str:
        """The deepest administrative division the centre code names (trailing '00' pairs dropped)."""
        code = self.centre
        while len(code) > 2 and code.endswith("00"):
            code = code[:-2]
        return code

    @property
    def type_name(self) -> str:
        return TYPE_CODES.get(self.type_code, ("unknown", DeviceCategory.OTHER))[0]

    @property
    def category(self) -> DeviceCategory:
        return TYPE_CODES.get(self.type_code, ("unknown", DeviceCategory.OTHER))[1]

    def __str__(self) -> str:
        return self.value


def parse_gb_id(value: str) -> GbId:
    """Parse a 20-digit ID; raise GbCodeError saying what is wrong."""
    if not isinstance(value, str):
        raise GbCodeError("a GB ID must be a string of 20 digits")
    text = value.strip()
    if len(text) != 20:
        raise GbCodeError(f"a GB ID has 20 digits, got {len(text)}: {text!r}")
    if not (text.isascii() and text.isdigit()):
        raise GbCodeError(f"a GB ID has only the digits 0-9: {text!r}")
    if text[:2] == "00":
        raise GbCodeError(f"the province code of {text!r} is 00")
    return GbId(
        value=text,
        centre=text[0:8],
        industry=text[8:10],
        type_code=text[10:13],
        network=text[13],
        serial=text[14:20],
    )


def is_civil_code(value: str) -> bool:
    """True for a 2, 4, 6 or 8-digit administrative-division code."""
    return len(value) in CIVIL_CODE_LENGTHS and value.isascii() and value.isdigit() and value[:2] != "00"


def civil_code_level(value: str) -> int:
    """1 province, 2 city, 3 district/county, 4 grassroots; GbCodeError if not a civil code."""
    if not is_civil_code(value):
        raise GbCodeError(f"a civil code has 2, 4, 6 or 8 digits: {value!r}")
    return len(value) // 2


def civil_code_ancestors(value: str) -> list[str]:
    """The proper prefixes of a civil code, from the province down: '340201' → ['34', '3402']."""
    civil_code_level(value)
    return [value[:n] for n in CIVIL_CODE_LENGTHS if n < len(value)]
