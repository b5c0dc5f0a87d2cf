"""Resource directory tables (资源目录): regions, organisations, devices, channels."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from xueliang.db import Base, UtcDateTime, utcnow

__all__ = [
    "Channel",
    "DirectoryNode",
    "ChannelSource",
    "ChannelStatus",
    "Device",
    "DeviceKind",
    "OrgKind",
    "Organization",
    "Region",
    "RegionPlan",
]


class ChannelSource(StrEnum):
    """Who built the camera: police Skynet (天网), rural Sharp Eyes (雪亮), a department
    (行业/部门), community Huiyan (慧眼), or other."""

    SKYNET = "skynet"
    SHARP_EYES = "sharp_eyes"
    DEPARTMENT = "department"
    HUIYAN = "huiyan"
    OTHER = "other"


class ChannelStatus(StrEnum):
    ONLINE = "online"
    OFFLINE = "offline"


class DeviceKind(StrEnum):
    """GB/T 28181 device (IPC, DVR, NVR), a lower platform (type 200), or an RTSP camera."""

    IPC = "ipc"
    DVR = "dvr"
    NVR = "nvr"
    PLATFORM = "platform"
    RTSP = "rtsp"
    OTHER = "other"


class OrgKind(StrEnum):
    PUBLIC_SECURITY = "public_security"
    TRANSPORT = "transport"
    TOURISM = "tourism"
    HOUSING = "housing"
    URBAN_MANAGEMENT = "urban_management"
    EDUCATION = "education"
    COMMUNITY = "community"
    ENTERPRISE = "enterprise"
    OTHER = "other"


class Region(Base):
    """An administrative division (行政区划) by civil code: 2/4/6/8 digits."""

    __tablename__ = "region"

    civil_code: Mapped[str] = mapped_column(String(8), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    parent_code: Mapped[str | None] = mapped_column(
        String(8), ForeignKey("region.civil_code", ondelete="RESTRICT"), index=True
    )
    level: Mapped[int] = mapped_column(Integer)

    plans: Mapped[list[RegionPlan]] = relationship(
        back_populates="region", cascade="all, delete-orphan", lazy="selectin"
    )


class RegionPlan(Base):
    """How many class-k points are planned in a region: what coverage (覆盖率) is measured against."""

    __tablename__ = "region_plan"

    civil_code: Mapped[str] = mapped_column(
        String(8), ForeignKey("region.civil_code", ondelete="CASCADE"), primary_key=True
    )
    point_class: Mapped[int] = mapped_column(Integer, primary_key=True)
    planned: Mapped[int] = mapped_column(Integer)

    region: Mapped[Region] = relationship(back_populates="plans")


class Organization(Base):
    """A department or owner (建设/管理单位) in a tree; ``path`` is '/id/.../id/' for subtree queries."""

    __tablename__ = "organization"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32), default=OrgKind.OTHER)
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("organization.id", ondelete="RESTRICT"), index=True
    )
    path: Mapped[str] = mapped_column(String(500), default="/", index=True)


class Device(Base):
    """A GB/T 28181 device or lower platform (by GB ID), or an RTSP camera."""

    __tablename__ = "device"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    gb_id: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    kind: Mapped[str] = mapped_column(String(16), default=DeviceKind.OTHER)
    type_code: Mapped[str] = mapped_column(String(3), default="")
    civil_code: Mapped[str] = mapped_column(String(8), default="", index=True)
    organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("organization.id", ondelete="SET NULL"), index=True
    )
    manufacturer: Mapped[str] = mapped_column(String(100), default="")
    model: Mapped[str] = mapped_column(String(100), default="")
    firmware: Mapped[str] = mapped_column(String(100), default="")
    transport: Mapped[str] = mapped_column(String(8), default="")
    address: Mapped[str] = mapped_column(String(64), default="", doc="Signalling source HOST:PORT")
    gb_version: Mapped[str] = mapped_column(String(8), default="")
    password: Mapped[str | None] = mapped_column(String(128), doc="Secret: never in API output")
    status: Mapped[str] = mapped_column(String(8), default=ChannelStatus.OFFLINE, index=True)
    registered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_seen_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class Channel(Base):
    """A video channel (通道/点位): what a user views, addressed by its GB ID."""

    __tablename__ = "channel"
    __table_args__ = (
        Index("ix_channel_civil_code_gb_id", "civil_code", "gb_id"),
        Index("ix_channel_lon_lat", "longitude", "latitude"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    gb_id: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    device_id: Mapped[int | None] = mapped_column(ForeignKey("device.id", ondelete="SET NULL"), index=True)
    civil_code: Mapped[str] = mapped_column(String(8), default="")
    organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("organization.id", ondelete="SET NULL"), index=True
    )
    point_class: Mapped[int] = mapped_column(Integer, default=3, index=True)
    source: Mapped[str] = mapped_column(String(16), default=ChannelSource.OTHER, index=True)
    resolution: Mapped[str] = mapped_column(String(16), default="")
    hd: Mapped[bool | None] = mapped_column(Boolean)
    longitude: Mapped[float | None] = mapped_column(Float)
    latitude: Mapped[float | None] = mapped_column(Float)
    address: Mapped[str] = mapped_column(String(300), default="")
    ptz_type: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(8), default=ChannelStatus.OFFLINE, index=True)
    reported_status: Mapped[str] = mapped_column(
        String(8), default="", doc="Status the device last reported in its catalog: ON, OFF or ''"
    )
    parent_id: Mapped[str] = mapped_column(String(200), default="", doc="GB parent path from the catalog")
    business_group_id: Mapped[str] = mapped_column(String(20), default="")
    manufacturer: Mapped[str] = mapped_column(String(100), default="")
    model: Mapped[str] = mapped_column(String(100), default="")
    stream_url: Mapped[str] = mapped_column(Text, default="", doc="RTSP URL without credentials")
    stream_username: Mapped[str | None] = mapped_column(String(128), doc="Secret")
    stream_password: Mapped[str | None] = mapped_column(String(128), doc="Secret")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)

    device: Mapped[Device | None] = relationship(lazy="raise")
    organization: Mapped[Organization | None] = relationship(lazy="raise")


class DirectoryNode(Base):
    """A node of a device's or lower platform's catalog tree that is not a channel: an
    administrative division, a business group (业务分组, 215) or a virtual organisation (216)."""

    __tablename__ = "directory_node"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("device.id", ondelete="CASCADE"), index=True)
    gb_id: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200), default="")
    kind: Mapped[str] = mapped_column(String(20), default="")
    parent_id: Mapped[str] = mapped_column(String(200), default="")
    business_group_id: Mapped[str] = mapped_column(String(20), default="")

    __table_args__ = (Index("ix_directory_node_device_gb", "device_id", "gb_id", unique=True),)
