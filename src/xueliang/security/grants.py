"""Grant rules (pure): which actions a user has now, and over which channels.

A rule is an access grant as loaded for one user: a role's actions, allow or deny, a scope
(every channel when no scope field is set; otherwise the channels matching every field that
is set) and when it applies. Deny overrides allow: an action is allowed on a channel when an
applicable allow rule covers the channel and no applicable deny rule does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, false, not_, or_, select, true

from xueliang.catalog import Channel, Organization, civil_code_range
from xueliang.security.permissions import Action, actions_of

__all__ = ["Rule", "channel_clause", "reason_clause", "rules_allow"]


@dataclass(frozen=True, slots=True)
class Rule:
    id: int
    role: str
    effect: str = "allow"  # allow, deny
    region: str | None = None
    org_code: str | None = None
    org_path: str | None = None  # None with an org_code: the organisation is gone, nothing matches
    point_class: int | None = None
    channels: frozenset[str] | None = None
    weekdays: int | None = None  # bit 0 = Monday
    minute_from: int | None = None
    minute_to: int | None = None
    require_reason: bool = False
    kind: str = "role"

    @property
    def actions(self) -> frozenset[Action]:
        return actions_of(self.role)

    @property
    def deny(self) -> bool:
        return self.effect == "deny"

    @property
    def unscoped(self) -> bool:
        return (
            self.region is None
            and self.org_code is None
            and self.point_class is None
            and self.channels is None
        )

    def applies_at(self, local: datetime) -> bool:
        """Within the rule's weekdays and hours at the local time ``local``."""
        if self.weekdays is not None and not self.weekdays & (1 << local.weekday()):
            return False
        if self.minute_from is None or self.minute_to is None:
            return True
        minute = local.hour * 60 + local.minute
        if self.minute_from <= self.minute_to:
            return self.minute_from <= minute < self.minute_to
        return minute >= self.minute_from or minute < self.minute_to  # wraps past midnight

    def scope_clause(self) -> Any:
        """The SQL condition on :class:`Channel` for the channels this rule covers."""
        if self.unscoped:
            return true()
        conditions: list[Any] = []
        if self.region is not None:
            low, high = civil_code_range(self.region)
            conditions.append(and_(Channel.civil_code >= low, Channel.civil_code < high))
        if self.org_code is not None:
            if self.org_path is None:
                return false()
            subtree = select(Organization.id).where(
                Organization.path.startswith(self.org_path, autoescape=True)
            )
            # the NULL test first: NOT(...) of a deny rule must not turn NULL into a match
            conditions.append(and_(Channel.organization_id.isnot(None), Channel.organization_id.in_(subtree)))
        if self.point_class is not None:
            conditions.append(Channel.point_class == self.point_class)
        if self.channels is not None:
            conditions.append(Channel.gb_id.in_(sorted(self.channels)) if self.channels else false())
        return and_(*conditions)


def rules_allow(rules: tuple[Rule, ...], action: Action) -> bool:
    """Whether the action is allowed on at least some channel (or, for actions that are not
    about channels, at all): an allow rule grants it and no unscoped deny rule takes it away."""
    if any(r.deny and r.unscoped and action in r.actions for r in rules):
        return False
    return any(not r.deny and action in r.actions for r in rules)


def channel_clause(rules: tuple[Rule, ...], action: Action) -> Any | None:
    """A where-clause on :class:`Channel` selecting exactly the channels ``action`` is allowed
    on, or None when that is every channel."""
    allows = [r for r in rules if not r.deny and action in r.actions]
    denies = [r for r in rules if r.deny and action in r.actions]
    if not allows or any(r.unscoped for r in denies):
        return false()
    everything = any(r.unscoped for r in allows)
    if everything and not denies:
        return None
    allowed = true() if everything else or_(*(r.scope_clause() for r in allows))
    if not denies:
        return allowed
    return and_(allowed, not_(or_(*(r.scope_clause() for r in denies))))


def reason_clause(rules: tuple[Rule, ...], action: Action) -> Any | None:
    """The channels whose ``action`` needs a stated reason under some applicable rule, or None."""
    strict = [r for r in rules if not r.deny and r.require_reason and action in r.actions]
    return or_(*(r.scope_clause() for r in strict)) if strict else None
