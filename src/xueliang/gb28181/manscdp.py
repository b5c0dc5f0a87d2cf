"""MANSCDP XML commands (``Application/MANSCDP+xml``, GB/T 28181-2022 Appendix A).

:func:`parse_manscdp` decodes a body (see :mod:`charset`), parses it with ``xml.etree`` and
dispatches on (root element, ``CmdType``) through :data:`PARSERS` to a typed, frozen
command. :func:`encode_manscdp` builds the XML with ElementTree (values are escaped by the
library, never concatenated) in GB2312, GB18030 or UTF-8. Unknown child elements are kept
in ``extra`` so nothing a device sends is lost.
"""

from __future__ import annotations

import functools
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeAlias

from xueliang.gb28181.charset import decode_body, encode_xml
from xueliang.gb28181.errors import ManscdpError, PtzError, UnknownCommandError
from xueliang.gb28181.ptz import PtzCommand

__all__ = [
    "CATALOG_EVENTS",
    "CONTENT_TYPE",
    "MAX_CATALOG_ITEMS",
    "PARSERS",
    "CatalogItem",
    "CatalogNotify",
    "CatalogQuery",
    "CatalogResponse",
    "Command",
    "DeviceControl",
    "DeviceControlResponse",
    "DeviceInfoQuery",
    "DeviceInfoResponse",
    "DeviceStatusQuery",
    "DeviceStatusResponse",
    "Keepalive",
    "ManscdpMessage",
    "RecordInfoQuery",
    "encode_manscdp",
    "parse_manscdp",
    "split_catalog",
]

CONTENT_TYPE = "Application/MANSCDP+xml"
MAX_CATALOG_ITEMS = 10_000  # GB/T 28181-2022 Appendix M: at most this many items per MESSAGE
CATALOG_EVENTS = frozenset({"ON", "OFF", "VLOST", "DEFECT", "ADD", "DEL", "UPDATE"})  # A.2.5
_XML_DECL = re.compile(r"^\ufeff?\s*<\?xml.*?\?>", re.S)
_BAD_XML_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")

Extra: TypeAlias = dict[str, str]


# -------------------------------------------------------------------------- element helpers


def _children(element: ET.Element) -> dict[str, ET.Element]:
    """Direct children by lower-cased tag (devices vary the case: ``DeviceId``)."""
    out: dict[str, ET.Element] = {}
    for child in element:
        out.setdefault(child.tag.lower(), child)
    return out


def _leaf_text(element: ET.Element) -> str:
    if len(element):
        return ET.tostring(element, encoding="unicode").strip()
    return (element.text or "").strip()


def _text(children: dict[str, ET.Element], tag: str) -> str | None:
    child = children.get(tag.lower())
    return None if child is None else (child.text or "").strip()


def _sn(children: dict[str, ET.Element]) -> int:
    text = _text(children, "SN")
    if text is None or not text.isdigit():
        raise ManscdpError(f"SN missing or not a number: {text!r}")
    return int(text)


def _device_id(children: dict[str, ET.Element]) -> str:
    text = _text(children, "DeviceID")
    if not text:
        raise ManscdpError("DeviceID missing")
    return text


def _to_int(text: str) -> int:
    return int(text)


def _to_float(text: str) -> float:
    value = float(text)
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(text)
    return value


def _to_status(text: str) -> str:
    """``ON``/``OFF`` (A.2.1.9); ``ONLINE``/``OK`` and ``OFFLINE`` normalised."""
    upper = text.upper()
    return {"ONLINE": "ON", "OK": "ON", "OFFLINE": "OFF"}.get(upper, upper)


def _format(value: Any) -> str:
    return repr(value) if isinstance(value, float) else str(value)


# A field spec: (XML tag, attribute name, converter from text).
Converter: TypeAlias = Callable[[str], Any]
Spec: TypeAlias = tuple[tuple[str, str, Converter], ...]


@functools.cache
def _lookup(spec: Spec, skip: tuple[str, ...]) -> tuple[dict[str, tuple[str, Converter]], frozenset[str]]:
    """The spec by lower-cased tag, and the lower-cased tags to skip (built once per spec)."""
    return {tag.lower(): (attr, conv) for tag, attr, conv in spec}, frozenset(s.lower() for s in skip)


def _read(
    element: ET.Element, spec: Spec, skip: tuple[str, ...]
) -> tuple[dict[str, Any], Extra, dict[str, ET.Element]]:
    """Read the spec's fields; anything else (and unconvertible values) goes to ``extra``.

    Skipped children are returned by lower-cased tag (first occurrence) for the caller.
    """
    by_tag, skipped = _lookup(spec, skip)
    values: dict[str, Any] = {}
    extra: Extra = {}
    found: dict[str, ET.Element] = {}
    for child in element:
        lower = child.tag.lower()
        if lower in skipped:
            found.setdefault(lower, child)
            continue
        leaf = not len(child)
        text = (child.text or "").strip() if leaf else _leaf_text(child)
        if leaf and lower in by_tag:
            attr, conv = by_tag[lower]
            if text == "":
                values[attr] = None
                continue
            try:
                values[attr] = conv(text)
            except ValueError:
                values[attr] = None
                extra[child.tag] = text  # kept, never lost
        else:
            extra[child.tag] = text
    return values, extra, found


def _write(parent: ET.Element, obj: Any, spec: Spec) -> None:
    for tag, attr, _ in spec:
        value = getattr(obj, attr)
        if value is not None:
            ET.SubElement(parent, tag).text = _format(value)


def _write_extra(parent: ET.Element, extra: Extra) -> None:
    for tag, text in extra.items():
        ET.SubElement(parent, tag).text = text


def _root(root: str, cmd_type: str, sn: int, device_id: str) -> ET.Element:
    element = ET.Element(root)
    ET.SubElement(element, "CmdType").text = cmd_type
    ET.SubElement(element, "SN").text = str(sn)
    ET.SubElement(element, "DeviceID").text = device_id
    return element


_HEAD = ("CmdType", "SN", "DeviceID")


class _Command:
    """What every command has: where it lives in the dispatch table."""

    __slots__ = ()
    ROOT: ClassVar[str]
    CMD_TYPE: ClassVar[str]
    sn: int
    device_id: str

    def _check(self) -> None:
        if not 0 <= self.sn < 2**63:
            raise ManscdpError(f"SN out of range: {self.sn}")
        if not self.device_id or _BAD_XML_CHARS.search(self.device_id):
            raise ManscdpError(f"bad DeviceID {self.device_id!r}")


# ----------------------------------------------------------------------------------- notify


@dataclass(frozen=True, slots=True)
class Keepalive(_Command):
    """Device keepalive (GB/T 28181-2022 §9.6, A.2.5); ``faulty`` lists faulty channel IDs."""

    ROOT: ClassVar[str] = "Notify"
    CMD_TYPE: ClassVar[str] = "Keepalive"
    sn: int
    device_id: str
    status: str = "OK"
    faulty: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        self._check()

    def to_element(self) -> ET.Element:
        root = _root(self.ROOT, self.CMD_TYPE, self.sn, self.device_id)
        ET.SubElement(root, "Status").text = self.status
        if self.faulty:
            info = ET.SubElement(root, "Info")
            for device_id in self.faulty:
                ET.SubElement(info, "DeviceID").text = device_id
        return root

    @classmethod
    def from_element(cls, element: ET.Element) -> Keepalive:
        children = _children(element)
        info = children.get("info")
        faulty = () if info is None else tuple(
            (c.text or "").strip() for c in info if c.tag.lower() == "deviceid"
        )  # fmt: skip
        status = _text(children, "Status") or "OK"
        return cls(_sn(children), _device_id(children), status, faulty)


# ---------------------------------------------------------------------------------- catalog

_ITEM_SPEC: Spec = (
    ("DeviceID", "device_id", str),
    ("Name", "name", str),
    ("Manufacturer", "manufacturer", str),
    ("Model", "model", str),
    ("Owner", "owner", str),
    ("CivilCode", "civil_code", str),
    ("Block", "block", str),
    ("Address", "address", str),
    ("Parental", "parental", _to_int),
    ("ParentID", "parent_id", str),
    ("SafetyWay", "safety_way", _to_int),
    ("RegisterWay", "register_way", _to_int),
    ("CertNum", "cert_num", str),
    ("Certifiable", "certifiable", _to_int),
    ("ErrCode", "err_code", _to_int),
    ("EndTime", "end_time", str),
    ("Secrecy", "secrecy", _to_int),
    ("IPAddress", "ip_address", str),
    ("Port", "port", _to_int),
    ("Password", "password", str),
    ("Status", "status", _to_status),
    ("Longitude", "longitude", _to_float),
    ("Latitude", "latitude", _to_float),
    ("BusinessGroupID", "business_group_id", str),
)


@dataclass(frozen=True, slots=True)
class CatalogItem:
    """One directory item (GB/T 28181-2022 A.2.1.9; 2016 extras Owner…EndTime).

    ``status`` is ``ON``/``OFF``; ``longitude``/``latitude`` are WGS-84 floats or None;
    ``ptz_type`` comes from ``<Info><PTZType>`` (or a bare ``<PTZType>``); the other
    ``<Info>`` children are in ``info``; unknown elements in ``extra``; ``event`` is set in
    catalog notifications (A.2.5: ON/OFF/VLOST/DEFECT/ADD/DEL/UPDATE).
    """

    device_id: str
    name: str | None = None
    manufacturer: str | None = None
    model: str | None = None
    owner: str | None = None
    civil_code: str | None = None
    block: str | None = None
    address: str | None = None
    parental: int | None = None
    parent_id: str | None = None
    safety_way: int | None = None
    register_way: int | None = None
    cert_num: str | None = None
    certifiable: int | None = None
    err_code: int | None = None
    end_time: str | None = None
    secrecy: int | None = None
    ip_address: str | None = None
    port: int | None = None
    password: str | None = None
    status: str | None = None
    longitude: float | None = None
    latitude: float | None = None
    business_group_id: str | None = None
    ptz_type: int | None = None
    event: str | None = None
    info: Extra = field(default_factory=dict)
    extra: Extra = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.device_id:
            raise ManscdpError("catalog item without DeviceID")
        if self.event is not None and self.event not in CATALOG_EVENTS:
            raise ManscdpError(f"unknown catalog event {self.event!r}")

    @property
    def parent_ids(self) -> tuple[str, ...]:
        """``ParentID`` split on ``/`` (2022 allows a path of ancestors)."""
        return tuple(p for p in (self.parent_id or "").split("/") if p)

    def to_element(self) -> ET.Element:
        item = ET.Element("Item")
        _write(item, self, _ITEM_SPEC)
        if self.event is not None:
            ET.SubElement(item, "Event").text = self.event
        if self.ptz_type is not None or self.info:
            info = ET.SubElement(item, "Info")
            if self.ptz_type is not None:
                ET.SubElement(info, "PTZType").text = str(self.ptz_type)
            _write_extra(info, self.info)
        _write_extra(item, self.extra)
        return item

    @classmethod
    def from_element(cls, element: ET.Element) -> CatalogItem:
        values, extra, children = _read(element, _ITEM_SPEC, ("Info", "Event", "PTZType"))
        info: Extra = {}
        ptz_text = _text(children, "PTZType")
        if (info_el := children.get("info")) is not None:
            for child in info_el:
                if child.tag.lower() == "ptztype":
                    ptz_text = (child.text or "").strip()
                else:
                    info[child.tag] = _leaf_text(child)
        ptz_type = None
        if ptz_text:
            if ptz_text.isdigit():
                ptz_type = int(ptz_text)
            else:
                info["PTZType"] = ptz_text
        event = _text(children, "Event")
        if not values.get("device_id"):
            raise ManscdpError("catalog item without DeviceID")
        return cls(
            **values,
            ptz_type=ptz_type,
            event=event.upper() if event else None,
            info=info,
            extra=extra,
        )


def _read_items(element: ET.Element) -> tuple[tuple[CatalogItem, ...], int | None]:
    device_list = _children(element).get("devicelist")
    if device_list is None:
        return (), None
    num_text = device_list.get("Num") or device_list.get("num")
    items = tuple(CatalogItem.from_element(c) for c in device_list if c.tag.lower() == "item")
    return items, int(num_text) if num_text and num_text.isdigit() else None


@dataclass(frozen=True, slots=True)
class CatalogResponse(_Command):
    """One part of a catalog answer (A.2.6.4): ``sum_num`` is the total over all parts,
    ``num`` the ``DeviceList Num`` this part declared (None if absent)."""

    ROOT: ClassVar[str] = "Response"
    CMD_TYPE: ClassVar[str] = "Catalog"
    sn: int
    device_id: str
    sum_num: int
    items: tuple[CatalogItem, ...] = ()
    num: int | None = None
    extra: Extra = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._check()
        if self.sum_num < 0:
            raise ManscdpError("negative SumNum")

    def to_element(self) -> ET.Element:
        root = _root(self.ROOT, self.CMD_TYPE, self.sn, self.device_id)
        ET.SubElement(root, "SumNum").text = str(self.sum_num)
        if self.items or self.sum_num:
            device_list = ET.SubElement(root, "DeviceList", Num=str(len(self.items)))
            device_list.extend(item.to_element() for item in self.items)
        _write_extra(root, self.extra)
        return root

    @classmethod
    def from_element(cls, element: ET.Element) -> CatalogResponse:
        children = _children(element)
        sum_text = _text(children, "SumNum") or "0"
        if not sum_text.isdigit():
            raise ManscdpError(f"SumNum is not a number: {sum_text!r}")
        items, num = _read_items(element)
        _, extra, _ = _read(element, (), (*_HEAD, "SumNum", "DeviceList"))
        return cls(_sn(children), _device_id(children), int(sum_text), items, num, extra)


@dataclass(frozen=True, slots=True)
class CatalogNotify(_Command):
    """A catalog change notification (subscription, A.2.5): items carry ``event``."""

    ROOT: ClassVar[str] = "Notify"
    CMD_TYPE: ClassVar[str] = "Catalog"
    sn: int
    device_id: str
    sum_num: int
    items: tuple[CatalogItem, ...] = ()
    num: int | None = None
    extra: Extra = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._check()

    to_element = CatalogResponse.to_element

    @classmethod
    def from_element(cls, element: ET.Element) -> CatalogNotify:
        r = CatalogResponse.from_element(element)
        return cls(r.sn, r.device_id, r.sum_num, r.items, r.num, r.extra)


def split_catalog(
    sn: int,
    device_id: str,
    items: Sequence[CatalogItem],
    *,
    max_items: int = MAX_CATALOG_ITEMS,
) -> list[CatalogResponse]:
    """Split a catalog into MESSAGE bodies of at most ``max_items`` items (Appendix M).

    Every part has the same SN and ``SumNum`` = total; ``DeviceList Num`` = items in the part.
    Zero items give one part with ``SumNum`` 0 and no list.
    """
    if max_items < 1:
        raise ValueError("max_items must be at least 1")
    total = len(items)
    if total == 0:
        return [CatalogResponse(sn, device_id, 0)]
    return [
        CatalogResponse(sn, device_id, total, tuple(items[i : i + max_items]),
                        len(items[i : i + max_items]))
        for i in range(0, total, max_items)
    ]  # fmt: skip


# ------------------------------------------------------------------------ device info/status

_DEVICE_INFO_SPEC: Spec = (
    ("DeviceName", "device_name", str),
    ("Result", "result", str),
    ("Manufacturer", "manufacturer", str),
    ("Model", "model", str),
    ("Firmware", "firmware", str),
    ("Channel", "channel", _to_int),
)


@dataclass(frozen=True, slots=True)
class DeviceInfoResponse(_Command):
    """Device information answer (A.2.6.6)."""

    ROOT: ClassVar[str] = "Response"
    CMD_TYPE: ClassVar[str] = "DeviceInfo"
    sn: int
    device_id: str
    device_name: str | None = None
    result: str | None = "OK"
    manufacturer: str | None = None
    model: str | None = None
    firmware: str | None = None
    channel: int | None = None
    extra: Extra = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._check()

    def to_element(self) -> ET.Element:
        root = _root(self.ROOT, self.CMD_TYPE, self.sn, self.device_id)
        _write(root, self, _DEVICE_INFO_SPEC)
        _write_extra(root, self.extra)
        return root

    @classmethod
    def from_element(cls, element: ET.Element) -> DeviceInfoResponse:
        children = _children(element)
        values, extra, _ = _read(element, _DEVICE_INFO_SPEC, _HEAD)
        return cls(_sn(children), _device_id(children), **values, extra=extra)


_DEVICE_STATUS_SPEC: Spec = (
    ("Result", "result", str),
    ("Online", "online", str.upper),
    ("Status", "status", str),
    ("Encode", "encode", str),
    ("Record", "record", str),
    ("DeviceTime", "device_time", str),
)


@dataclass(frozen=True, slots=True)
class DeviceStatusResponse(_Command):
    """Device status answer (A.2.6.7); ``alarms`` are (DeviceID, DutyStatus) pairs."""

    ROOT: ClassVar[str] = "Response"
    CMD_TYPE: ClassVar[str] = "DeviceStatus"
    sn: int
    device_id: str
    result: str | None = "OK"
    online: str | None = None
    status: str | None = None
    encode: str | None = None
    record: str | None = None
    device_time: str | None = None
    alarms: tuple[tuple[str, str], ...] = ()
    extra: Extra = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._check()

    def to_element(self) -> ET.Element:
        root = _root(self.ROOT, self.CMD_TYPE, self.sn, self.device_id)
        _write(root, self, _DEVICE_STATUS_SPEC)
        if self.alarms:
            alarm_status = ET.SubElement(root, "Alarmstatus", Num=str(len(self.alarms)))
            for device_id, duty in self.alarms:
                item = ET.SubElement(alarm_status, "Item")
                ET.SubElement(item, "DeviceID").text = device_id
                ET.SubElement(item, "DutyStatus").text = duty
        _write_extra(root, self.extra)
        return root

    @classmethod
    def from_element(cls, element: ET.Element) -> DeviceStatusResponse:
        children = _children(element)
        values, extra, _ = _read(element, _DEVICE_STATUS_SPEC, (*_HEAD, "Alarmstatus"))
        alarms: list[tuple[str, str]] = []
        if (alarm_el := children.get("alarmstatus")) is not None:
            for item in alarm_el:
                c = _children(item)
                alarms.append((_text(c, "DeviceID") or "", _text(c, "DutyStatus") or ""))
        return cls(
            _sn(children), _device_id(children), **values, alarms=tuple(alarms), extra=extra
        )


# ---------------------------------------------------------------------------------- queries


_TIME_SPEC: Spec = (("StartTime", "start_time", str), ("EndTime", "end_time", str))


@dataclass(frozen=True, slots=True)
class CatalogQuery(_Command):
    """Catalog query (A.2.4.4); the optional times ask for changes in a window."""

    ROOT: ClassVar[str] = "Query"
    CMD_TYPE: ClassVar[str] = "Catalog"
    sn: int
    device_id: str
    start_time: str | None = None
    end_time: str | None = None

    def __post_init__(self) -> None:
        self._check()

    def to_element(self) -> ET.Element:
        root = _root(self.ROOT, self.CMD_TYPE, self.sn, self.device_id)
        _write(root, self, _TIME_SPEC)
        return root

    @classmethod
    def from_element(cls, element: ET.Element) -> CatalogQuery:
        children = _children(element)
        values, _, _ = _read(element, _TIME_SPEC, _HEAD)
        return cls(_sn(children), _device_id(children), **values)


@dataclass(frozen=True, slots=True)
class DeviceInfoQuery(_Command):
    """Device information query (A.2.4.2)."""

    ROOT: ClassVar[str] = "Query"
    CMD_TYPE: ClassVar[str] = "DeviceInfo"
    sn: int
    device_id: str

    def __post_init__(self) -> None:
        self._check()

    def to_element(self) -> ET.Element:
        return _root(self.ROOT, self.CMD_TYPE, self.sn, self.device_id)

    @classmethod
    def from_element(cls, element: ET.Element) -> DeviceInfoQuery:
        children = _children(element)
        return cls(_sn(children), _device_id(children))


@dataclass(frozen=True, slots=True)
class DeviceStatusQuery(_Command):
    """Device status query (A.2.4.3)."""

    ROOT: ClassVar[str] = "Query"
    CMD_TYPE: ClassVar[str] = "DeviceStatus"
    sn: int
    device_id: str

    def __post_init__(self) -> None:
        self._check()

    to_element = DeviceInfoQuery.to_element

    @classmethod
    def from_element(cls, element: ET.Element) -> DeviceStatusQuery:
        children = _children(element)
        return cls(_sn(children), _device_id(children))


_RECORD_SPEC: Spec = (
    ("StartTime", "start_time", str),
    ("EndTime", "end_time", str),
    ("FilePath", "file_path", str),
    ("Address", "address", str),
    ("Secrecy", "secrecy", _to_int),
    ("Type", "type", str),
    ("RecorderID", "recorder_id", str),
)


@dataclass(frozen=True, slots=True)
class RecordInfoQuery(_Command):
    """Recording query (A.2.4.5): StartTime and EndTime required; Type defaults to ``all``."""

    ROOT: ClassVar[str] = "Query"
    CMD_TYPE: ClassVar[str] = "RecordInfo"
    sn: int
    device_id: str
    start_time: str
    end_time: str
    file_path: str | None = None
    address: str | None = None
    secrecy: int | None = 0
    type: str | None = "all"
    recorder_id: str | None = None

    def __post_init__(self) -> None:
        self._check()
        if not self.start_time or not self.end_time:
            raise ManscdpError("RecordInfo needs StartTime and EndTime")

    def to_element(self) -> ET.Element:
        root = _root(self.ROOT, self.CMD_TYPE, self.sn, self.device_id)
        _write(root, self, _RECORD_SPEC)
        return root

    @classmethod
    def from_element(cls, element: ET.Element) -> RecordInfoQuery:
        children = _children(element)
        values, _, _ = _read(element, _RECORD_SPEC, _HEAD)
        values.setdefault("start_time", "")
        values.setdefault("end_time", "")
        return cls(_sn(children), _device_id(children), **values)


# ---------------------------------------------------------------------------------- control


@dataclass(frozen=True, slots=True)
class DeviceControl(_Command):
    """Device control (A.2.3.1); ``ptz`` decodes ``<PTZCmd>``, other controls stay in
    ``extra`` (TeleBoot, RecordCmd, GuardCmd, ...)."""

    ROOT: ClassVar[str] = "Control"
    CMD_TYPE: ClassVar[str] = "DeviceControl"
    sn: int
    device_id: str
    ptz: PtzCommand | None = None
    extra: Extra = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._check()

    def to_element(self) -> ET.Element:
        root = _root(self.ROOT, self.CMD_TYPE, self.sn, self.device_id)
        if self.ptz is not None:
            ET.SubElement(root, "PTZCmd").text = self.ptz.to_hex()
        _write_extra(root, self.extra)
        return root

    @classmethod
    def from_element(cls, element: ET.Element) -> DeviceControl:
        children = _children(element)
        _, extra, _ = _read(element, (), (*_HEAD, "PTZCmd"))
        ptz_text = _text(children, "PTZCmd")
        try:
            ptz = PtzCommand.from_hex(ptz_text) if ptz_text else None
        except PtzError as exc:
            raise ManscdpError(f"bad PTZCmd: {exc}") from None
        return cls(_sn(children), _device_id(children), ptz, extra)


@dataclass(frozen=True, slots=True)
class DeviceControlResponse(_Command):
    """Answer to a device control (A.2.6.2): Result OK or ERROR."""

    ROOT: ClassVar[str] = "Response"
    CMD_TYPE: ClassVar[str] = "DeviceControl"
    sn: int
    device_id: str
    result: str = "OK"

    def __post_init__(self) -> None:
        self._check()

    def to_element(self) -> ET.Element:
        root = _root(self.ROOT, self.CMD_TYPE, self.sn, self.device_id)
        ET.SubElement(root, "Result").text = self.result
        return root

    @classmethod
    def from_element(cls, element: ET.Element) -> DeviceControlResponse:
        children = _children(element)
        return cls(_sn(children), _device_id(children), _text(children, "Result") or "OK")


Command: TypeAlias = (
    Keepalive | CatalogResponse | CatalogNotify | DeviceInfoResponse | DeviceStatusResponse
    | CatalogQuery | DeviceInfoQuery | DeviceStatusQuery | RecordInfoQuery | DeviceControl
    | DeviceControlResponse
)  # fmt: skip

_COMMANDS: tuple[type[Any], ...] = (
    Keepalive, CatalogResponse, CatalogNotify, DeviceInfoResponse, DeviceStatusResponse,
    CatalogQuery, DeviceInfoQuery, DeviceStatusQuery, RecordInfoQuery, DeviceControl,
    DeviceControlResponse,
)  # fmt: skip

# The dispatch table: (root element, CmdType), lower-cased → parser.
PARSERS: dict[tuple[str, str], Callable[[ET.Element], Command]] = {
    (cls.ROOT.lower(), cls.CMD_TYPE.lower()): cls.from_element for cls in _COMMANDS
}


# ------------------------------------------------------------------------------- top level


@dataclass(frozen=True, slots=True)
class ManscdpMessage:
    """A parsed body: the command, the exact bytes received and the codec that decoded them."""

    command: Command
    raw: bytes
    encoding: str
    declared_encoding: str | None = None

    @property
    def root(self) -> str:
        return self.command.ROOT

    @property
    def cmd_type(self) -> str:
        return self.command.CMD_TYPE


def parse_manscdp(raw: bytes) -> ManscdpMessage:
    """Decode and parse a MANSCDP body. Every error is a :class:`ManscdpError` with ``raw``."""
    decoded = decode_body(raw)
    text = _XML_DECL.sub("", decoded.text, count=1).strip().rstrip("\x00").strip()
    if "<!DOCTYPE" in text.upper() or "<!ENTITY" in text.upper():
        raise ManscdpError("DTDs are not allowed in MANSCDP", raw=raw)
    try:
        element = ET.fromstring(text)
    except ET.ParseError as exc:
        raise ManscdpError(f"ill-formed XML: {exc}", raw=raw) from None
    cmd_type = _text(_children(element), "CmdType")
    if not cmd_type:
        raise ManscdpError(f"<{element.tag}> without CmdType", raw=raw)
    parser = PARSERS.get((element.tag.lower(), cmd_type.lower()))
    if parser is None:
        raise UnknownCommandError(element.tag, cmd_type, raw=raw)
    try:
        command = parser(element)
    except ManscdpError as exc:
        raise ManscdpError(f"{element.tag}/{cmd_type}: {exc.reason}", raw=raw) from None
    return ManscdpMessage(command, raw, decoded.encoding, decoded.declared)


def encode_manscdp(command: Command, encoding: str = "GB2312") -> bytes:
    """Serialise a command with an XML declaration naming ``encoding``."""
    element = command.to_element()
    ET.indent(element, space="")
    body = ET.tostring(element, encoding="unicode")
    if _BAD_XML_CHARS.search(body):
        raise ManscdpError("control characters cannot be sent in XML 1.0")
    return encode_xml(f'<?xml version="1.0" encoding="{encoding}"?>\r\n{body}\r\n', encoding)
