"""Security and governance: privacy masks of channels, and asset and connection monitoring
(资产、漏洞、违规内外联) of the devices that talk to the platform.

- :mod:`~xueliang.security.privacy`: stored mask polygons (burned in by the media plane);
  ``privacy_routes``: their API and the ``privacy_masking`` decision the live routes depend on.
- :mod:`~xueliang.security.assets`: the pure :class:`AssetMonitor` (registrations and keepalives
  in, security events out); ``monitoring`` keeps it in step with the resource directory.
- :mod:`~xueliang.security.alerts`: stored alerts and the vulnerable-firmware list;
  ``alert_routes``: their API.
"""

from xueliang.security.alerts import (
    AlertFilter,
    SecurityAlert,
    VulnerableFirmware,
    alert_summary,
    check_firmware,
    list_alerts,
    record_events,
    resolve_alert,
    scan_firmware,
)
from xueliang.security.assets import AlertKind, AssetMonitor, FirmwareRule, SecurityEvent
from xueliang.security.privacy import PrivacyMaskRow, load_privacy_masks, save_privacy_masks

__all__ = [
    "AlertFilter",
    "AlertKind",
    "AssetMonitor",
    "FirmwareRule",
    "PrivacyMaskRow",
    "SecurityAlert",
    "SecurityEvent",
    "VulnerableFirmware",
    "alert_summary",
    "check_firmware",
    "list_alerts",
    "load_privacy_masks",
    "record_events",
    "resolve_alert",
    "save_privacy_masks",
    "scan_firmware",
]
