"""Who is asking: the authenticated user, the session, and the grant rules that apply now."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from xueliang.catalog import Channel
from xueliang.security.grants import Rule, channel_clause, reason_clause, rules_allow
from xueliang.security.permissions import Action

__all__ = ["Principal", "may"]


@dataclass(frozen=True, slots=True)
class Principal:
    user_id: int
    username: str
    display_name: str
    department: str | None
    session_id: str
    rules: tuple[Rule, ...]

    @property
    def roles(self) -> list[str]:
        return sorted({r.role for r in self.rules if not r.deny})

    @property
    def actions(self) -> list[str]:
        return [a.value for a in Action if rules_allow(self.rules, a)]

    def can(self, action: Action | str) -> bool:
        """Allowed somewhere (on some channel, or at all for actions not about channels)."""
        return rules_allow(self.rules, Action(action))

    def channels(self, action: Action | str) -> Any | None:
        """The where-clause on :class:`Channel` for the channels ``action`` is allowed on, or
        None when that is every channel (so queries stay unchanged for administrators)."""
        return channel_clause(self.rules, Action(action))

    def restrict(self, statement: Any, action: Action | str) -> Any:
        """``statement`` (a SELECT involving :class:`Channel`) limited to the allowed channels."""
        clause = self.channels(action)
        return statement if clause is None else statement.where(clause)

    def reason_needed(self, action: Action | str) -> Any | None:
        """The channels for which ``action`` needs a stated reason (per-grant), or None."""
        return reason_clause(self.rules, Action(action))


async def may(session: AsyncSession, principal: Principal, action: Action | str, channel_gb_id: str) -> bool:
    """Whether ``principal`` may do ``action`` on the channel now (e.g. ``lift_privacy_mask``)."""
    if not principal.can(action):
        return False
    statement = principal.restrict(select(Channel.id).where(Channel.gb_id == channel_gb_id), action)
    return await session.scalar(statement) is not None
