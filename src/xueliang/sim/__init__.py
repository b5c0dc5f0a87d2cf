"""The device-fleet simulator (``xueliang sim``): N simulated GB/T 28181 devices with M
channels each that register to a platform, keep alive, answer queries and live-view INVITEs
(real H.264/H.265 video over PS/RTP), with faults.

A pure core (:class:`SimDevice` per device, :class:`SimPort` for the devices sharing one SIP
endpoint, :class:`FleetPlan` for IDs and catalogs) and a thin asyncio adapter
(:class:`Fleet`, :func:`run_fleet`). It is the platform's load generator and the demo's city.
"""

from xueliang.sim.config import FAULT_NAMES, Fault, FaultSpec, SimConfig, parse_platform
from xueliang.sim.device import CatalogJob, DeviceState, Link, SimContext, SimDevice
from xueliang.sim.fleet import Fleet, MediaRunner, run_fleet
from xueliang.sim.media import MediaSession, StartMedia, StopMedia, VideoFaultSpec
from xueliang.sim.plan import DevicePlan, FleetPlan, unit
from xueliang.sim.port import SimPort
from xueliang.sim.stats import LatencyWindow, SimStats

__all__ = [
    "FAULT_NAMES",
    "CatalogJob",
    "DevicePlan",
    "DeviceState",
    "Fault",
    "FaultSpec",
    "Fleet",
    "FleetPlan",
    "LatencyWindow",
    "Link",
    "MediaRunner",
    "MediaSession",
    "SimConfig",
    "SimContext",
    "SimDevice",
    "SimPort",
    "SimStats",
    "StartMedia",
    "StopMedia",
    "VideoFaultSpec",
    "parse_platform",
    "run_fleet",
    "unit",
]
