"""Public API shapes. Public models never carry secrets (passwords, stream credentials)."""

from __future__ import annotations

from datetime import datetime
from typing import Generic, TypeVar

from pydantic import BaseModel, Field

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    page: int = 1
    page_size: int


class ChannelPublic(BaseModel):
    id: str = Field(description="The channel's 20-digit GB ID")
    name: str
    device_id: str | None = Field(description="GB ID of the device the channel belongs to")
    civil_code: str
    organization: str | None = Field(description="Organisation code")
    organization_name: str | None
    point_class: int
    source: str
    status: str = Field(description="online or offline")
    longitude: float | None
    latitude: float | None
    address: str
    resolution: str
    hd: bool | None
    ptz_type: int | None
    manufacturer: str
    model: str
    parent_id: str
    business_group_id: str
    stream_url: str = Field(description="RTSP URL without credentials, for RTSP cameras")
    has_stream_credentials: bool
    updated_at: datetime


class IntervalPublic(BaseModel):
    """A span of one state: ``until`` is null for the interval that is open now."""

    state: str
    since: datetime
    until: datetime | None


class DevicePublic(BaseModel):
    id: str = Field(description="The device's 20-digit GB ID")
    name: str
    kind: str
    type_code: str
    type_name: str
    civil_code: str
    manufacturer: str
    model: str
    firmware: str
    transport: str
    address: str
    gb_version: str
    status: str
    registered_at: datetime | None
    last_seen_at: datetime | None
    channels: int


class DeviceStatusPublic(BaseModel):
    """A device's own answer to DeviceStatus (GB/T 28181 A.2.6.7)."""

    id: str
    result: str
    online: str
    status: str
    encode: str
    record: str
    device_time: str


class RegionPublic(BaseModel):
    civil_code: str
    name: str
    parent_code: str | None
    level: int
    planned: dict[int, int] = Field(description="Planned points per point class")


class OrganizationPublic(BaseModel):
    id: int
    code: str
    name: str
    kind: str
    parent_id: int | None


class Health(BaseModel):
    status: str
    version: str
    database: str
