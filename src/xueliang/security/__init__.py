"""The security plane (安全): identity, authorisation, audit, privacy and asset monitoring.

Local accounts (Argon2 hashes, password policy, lockout, optional TOTP), short-lived access
tokens bound to revocable sessions, built-in roles granting actions over channel scopes, and
the guards every API route declares; privacy-mask polygons of channels (burned in by the
media plane); the pure :class:`AssetMonitor` (registrations and keepalives in, security
events out) and the stored alerts and vulnerable-firmware list (资产、漏洞、违规内外联).
"""

from xueliang.security.access import ChannelHidden, ReasonRequired, authorize_channel
from xueliang.security.accounts import AccountError, create_user, find_user, load_rules, set_password
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
from xueliang.security.audit import AuditEntry, ChainBreak, append_audit, record_audit, verify_chain
from xueliang.security.authority import AuthError, Authority, TokenPair, login_lockout
from xueliang.security.dependencies import AUTHENTICATED, assert_protected, public, require
from xueliang.security.grants import Rule, channel_clause, rules_allow
from xueliang.security.headers import page_policy
from xueliang.security.models import AccessGrant, AuditRecord, AuthSession, User
from xueliang.security.passwords import (
    PasswordRejected,
    check_password_policy,
    hash_password,
    verify_password,
)
from xueliang.security.permissions import ROLES, Action, actions_of
from xueliang.security.principal import Principal, may
from xueliang.security.privacy import PrivacyMaskRow, load_privacy_masks, save_privacy_masks
from xueliang.security.totp import new_totp_secret, provisioning_uri, verify_totp

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
    "AuditEntry",
    "ChainBreak",
    "ChannelHidden",
    "ReasonRequired",
    "append_audit",
    "authorize_channel",
    "page_policy",
    "record_audit",
    "verify_chain",
    "AUTHENTICATED",
    "ROLES",
    "AccessGrant",
    "AccountError",
    "Action",
    "AuditRecord",
    "AuthError",
    "AuthSession",
    "Authority",
    "PasswordRejected",
    "Principal",
    "Rule",
    "TokenPair",
    "User",
    "actions_of",
    "assert_protected",
    "channel_clause",
    "check_password_policy",
    "create_user",
    "find_user",
    "hash_password",
    "load_rules",
    "login_lockout",
    "may",
    "new_totp_secret",
    "provisioning_uri",
    "public",
    "require",
    "rules_allow",
    "set_password",
    "verify_password",
    "verify_totp",
]
