"""Access to one channel's video: in scope, a reason where one is required, and audited."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from xueliang.catalog import Channel
from xueliang.security.audit import AuditEntry, append_audit
from xueliang.security.permissions import Action
from xueliang.security.principal import Principal

__all__ = ["ChannelHidden", "ReasonRequired", "authorize_channel"]


class ChannelHidden(LookupError):
    """The channel does not exist, or is outside the user's scope: the same answer, 404."""


class ReasonRequired(ValueError):
    """This access needs a stated reason."""


async def authorize_channel(
    session: AsyncSession,
    principal: Principal,
    action: Action,
    gb_id: str,
    *,
    reason: str,
    client: str,
    reason_always_required: bool = False,
) -> None:
    """Check ``action`` on the channel and record it in the audit log (commits).

    A channel outside the scope raises :class:`ChannelHidden` like a missing one (the refusal
    is audited when the channel exists); a missing reason where the setting or a grant covering
    the channel asks for one raises :class:`ReasonRequired`.
    """
    reason = reason.strip()
    channel = select(Channel.id).where(Channel.gb_id == gb_id)
    if await session.scalar(principal.restrict(channel, action)) is None:
        if await session.scalar(channel) is not None:
            await session.rollback()  # the append starts a write transaction of its own
            entry = AuditEntry(
                principal.username, action.value, "denied", gb_id, client_address=client, reason=reason
            )
            await append_audit(session, entry)
            await session.commit()
        raise ChannelHidden(f"channel {gb_id} not found")
    if not reason:
        strict = principal.reason_needed(action)
        if reason_always_required or (strict is not None and await session.scalar(channel.where(strict))):
            raise ReasonRequired(f"{action.value} of channel {gb_id} needs a reason: say why you need it")
    await session.rollback()
    await append_audit(
        session,
        AuditEntry(principal.username, action.value, "ok", gb_id, client_address=client, reason=reason),
    )
    await session.commit()
