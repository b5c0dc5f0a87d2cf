"""Cascade tables (级联): the upper platforms this platform registers to, what each may see.

An :class:`Uplink` is one upper platform (上级平台): where it is, how to register (its SIP
ID, domain, transport, password, expiry, keepalive) and the share rules (JSON: a few rules,
each a region prefix, organisation code and/or point class). :class:`UplinkChannel` rows
list channels shared explicitly and the IDs the upper platform gives channels of its own.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from xueliang.db import Base, UtcDateTime, utcnow

__all__ = ["Uplink", "UplinkChannel"]


class Uplink(Base):
    """An upper platform (type 200) this platform registers to as a lower platform."""

    __tablename__ = "uplink"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sip_id: Mapped[str] = mapped_column(String(20), unique=True, doc="The upper platform's GB ID")
    name: Mapped[str] = mapped_column(String(200), default="")
    domain: Mapped[str] = mapped_column(String(64), doc="The upper platform's SIP domain")
    host: Mapped[str] = mapped_column(String(255))
    port: Mapped[int] = mapped_column(Integer)
    transport: Mapped[str] = mapped_column(String(8), default="UDP", doc="UDP or TCP")
    password: Mapped[str | None] = mapped_column(String(128), doc="Secret: never in API output")
    local_id: Mapped[str] = mapped_column(
        String(20), default="", doc="Our GB ID towards this upper platform; '' = the platform's own"
    )
    register_expires: Mapped[int] = mapped_column(Integer, default=3600)
    keepalive_interval: Mapped[int] = mapped_column(Integer, default=60)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    share_rules: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class UplinkChannel(Base):
    """A channel listed for an upper platform: shared explicitly (``listed``) and/or known
    there by ``upper_id`` ('' = its own GB ID). No foreign key to ``channel``: a listed
    channel may leave the directory and come back."""

    __tablename__ = "uplink_channel"

    uplink_id: Mapped[int] = mapped_column(ForeignKey("uplink.id", ondelete="CASCADE"), primary_key=True)
    channel_gb_id: Mapped[str] = mapped_column(String(20), primary_key=True)
    upper_id: Mapped[str] = mapped_column(String(20), default="")
    listed: Mapped[bool] = mapped_column(Boolean, default=True)
