"""Who is asking: the authenticated user, the session, and the grant rules that apply now."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from xueliang.catalog import Channel
from xueliang.security.grants import Rule, channel_clause, rules_allow
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

    def channels(self, action: Action | str) -> Any:
        """The where-clause on :class:`Channel` for the channels ``action`` is allowed on."""
        return channel_clause(self.rules, Action(action))


async def may(session: AsyncSession, principal: Principal, action: Action | str, channel_gb_id: str) -> bool:
    """Whether ``principal`` may do ``action`` on the channel now (e.g. ``lift_privacy_mask``)."""
    if not principal.can(action):
        return False
    found = await session.scalar(
        select(Channel.id).where(Channel.gb_id == channel_gb_id, principal.channels(action))
    )
    return found is not None
