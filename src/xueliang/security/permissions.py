"""Actions and the built-in roles that grant them (pure).

``view`` is the base action: reading lists, details, the directory trees and statistics. Every
other action guards one kind of access to video or to the platform itself.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["ROLES", "Action", "actions_of", "known_role"]


class Action(StrEnum):
    VIEW = "view"  # lists, details, statistics (the base action every role has)
    VIEW_LIVE = "view_live"  # 实时视频
    SNAPSHOT = "snapshot"  # 抓图 (and inspection thumbnails)
    PLAYBACK = "playback"  # 录像回放
    PTZ = "ptz"  # 云台控制
    EXPORT = "export"  # reports and directory exports as files
    MANAGE_CATALOG = "manage_catalog"  # devices, catalog queries, inspection runs, work orders
    MANAGE_USERS = "manage_users"  # accounts, grants, shares, sessions
    VIEW_AUDIT = "view_audit"  # the audit log
    LIFT_PRIVACY_MASK = "lift_privacy_mask"  # see video without privacy masks


ROLES: dict[str, frozenset[Action]] = {
    "admin": frozenset(Action),
    "operator": frozenset(
        {
            Action.VIEW,
            Action.VIEW_LIVE,
            Action.SNAPSHOT,
            Action.PLAYBACK,
            Action.PTZ,
            Action.EXPORT,
            Action.MANAGE_CATALOG,
        }
    ),
    "maintainer": frozenset({Action.VIEW, Action.VIEW_LIVE, Action.SNAPSHOT}),  # contractors
    "auditor": frozenset({Action.VIEW, Action.VIEW_AUDIT, Action.EXPORT}),
    "viewer": frozenset({Action.VIEW, Action.VIEW_LIVE, Action.SNAPSHOT}),
}


def known_role(name: str) -> bool:
    return name in ROLES


def actions_of(role: str) -> frozenset[Action]:
    """The actions a built-in role grants; KeyError for an unknown role."""
    return ROLES[role]
