"""Storing inspections: findings, availability intervals (``output``, ``integrity``) and
references; and reading back what the scheduler resumes from.

``output`` is ``ok``/``fail`` on every inspection. ``integrity`` is ``intact`` or a VQD
defect name (see :func:`~xueliang.inspection.analysis.diagnosis_state`) when a picture was
diagnosed; when none was delivered the camera is "neither intact nor diagnosable", so its
open ``integrity`` interval is closed and none opened until a picture comes again.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from xueliang.catalog import Availability, Channel, Device, record_states
from xueliang.inspection.models import ChannelReference, Finding
from xueliang.inspection.openers import StreamTarget

__all__ = [
    "FindingRecord",
    "channel_states",
    "finding_public",
    "last_inspected",
    "list_findings",
    "list_recent_findings",
    "load_references",
    "load_targets",
    "prune_findings",
    "record_finding",
    "record_findings",
]


@dataclass(frozen=True, slots=True)
class FindingRecord:
    """One inspection's result, ready to store."""

    channel_id: int
    at: datetime
    output_ok: bool
    failure: str | None = None
    message: str = ""
    integrity: str | None = None  # "intact" or a defect name when a picture was diagnosed
    defects: tuple[dict[str, Any], ...] = ()
    metrics: dict[str, float] | None = None
    width: int | None = None
    height: int | None = None
    codec: str = ""
    via: str = ""
    duration_ms: float = 0.0
    thumbnail: bytes | None = None
    reference: bytes | None = None  # a new reference to store with it
    reference_by: str = "auto"

    @property
    def ok(self) -> bool:
        return self.output_ok and self.integrity == "intact"


async def record_finding(session: AsyncSession, record: FindingRecord) -> Finding:
    """Write one finding (see :func:`record_findings`). The caller commits."""
    return (await record_findings(session, [record]))[0]


async def record_findings(session: AsyncSession, records: Sequence[FindingRecord]) -> list[Finding]:
    """Write the findings, their intervals and (where one brought it) the new reference,
    a statement per kind for the whole batch. At most one record a channel. The caller commits."""
    findings = [
        Finding(
            channel_id=r.channel_id,
            at=r.at,
            ok=r.ok,
            output_ok=r.output_ok,
            failure=r.failure,
            message=r.message[:2000],
            defects=list(r.defects),
            metrics={k: round(float(v), 4) for k, v in (r.metrics or {}).items()},
            width=r.width,
            height=r.height,
            codec=r.codec,
            via=r.via,
            duration_ms=round(r.duration_ms, 1),
            reference_set=r.reference is not None,
            thumbnail=r.thumbnail,
        )
        for r in records
    ]
    session.add_all(findings)
    await session.flush()
    at = {r.channel_id: r.at for r in records}
    await record_states(
        session, "output", {r.channel_id: "ok" if r.output_ok else "fail" for r in records}, at
    )
    diagnosed = {r.channel_id: r.integrity for r in records if r.integrity is not None}
    await record_states(session, "integrity", diagnosed, at)
    undiagnosed = [r.channel_id for r in records if r.integrity is None]
    if undiagnosed:  # no picture: neither intact nor diagnosable
        await session.execute(
            update(Availability)
            .where(
                Availability.channel_id.in_(undiagnosed),
                Availability.kind == "integrity",
                Availability.until.is_(None),
            )
            .values(until=case({c: at[c] for c in undiagnosed}, value=Availability.channel_id))
            .execution_options(synchronize_session=False)
        )
    references = [
        ChannelReference(
            channel_id=r.channel_id, data=r.reference, set_at=r.at, set_by=r.reference_by, finding_id=f.id
        )
        for r, f in zip(records, findings, strict=True)
        if r.reference is not None
    ]
    if references:
        replaced = [x.channel_id for x in references]
        await session.execute(delete(ChannelReference).where(ChannelReference.channel_id.in_(replaced)))
        session.add_all(references)
        await session.flush()
    return findings


async def load_references(session: AsyncSession, channel_ids: Collection[int]) -> dict[int, bytes]:
    """The reference pictures of these channels (those that have one)."""
    rows = await session.execute(
        select(ChannelReference.channel_id, ChannelReference.data).where(
            ChannelReference.channel_id.in_(channel_ids)
        )
    )
    return {channel_id: data for channel_id, data in rows}


async def clear_reference(session: AsyncSession, channel_id: int) -> bool:
    """Forget the reference: the next healthy inspection sets a new one."""
    result = await session.execute(delete(ChannelReference).where(ChannelReference.channel_id == channel_id))
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def last_inspected(session: AsyncSession) -> dict[int, datetime]:
    """When each channel was last inspected: what a restarted scheduler resumes from."""
    rows = await session.execute(
        select(Finding.channel_id, func.max(Finding.at)).group_by(Finding.channel_id)
    )
    return {channel_id: at for channel_id, at in rows if at is not None}


def _target_query() -> Any:
    return select(
        Channel.id,
        Channel.gb_id,
        Device.gb_id,
        Channel.stream_url,
        Channel.stream_username,
        Channel.stream_password,
        Channel.civil_code,
        Channel.point_class,
        Channel.status,
    ).outerjoin(Device, Channel.device_id == Device.id)


@dataclass(frozen=True, slots=True)
class FleetEntry:
    """A channel as the scheduler sees it."""

    target: StreamTarget
    civil_code: str
    point_class: int
    status: str


async def load_targets(session: AsyncSession, gb_id: str | None = None) -> list[FleetEntry]:
    query = _target_query()
    if gb_id is not None:
        query = query.where(Channel.gb_id == gb_id)
    rows = await session.execute(query)
    return [
        FleetEntry(
            StreamTarget(cid, gb, dev, url or "", user, password), civil or "", pclass or 3, status or ""
        )
        for cid, gb, dev, url, user, password, civil, pclass, status in rows
    ]


def finding_public(finding: Finding, gb_id: str | None = None) -> dict[str, Any]:
    """A finding as the API shows it (thumbnail by URL, never inline)."""
    return {
        "id": finding.id,
        "channel_id": gb_id,
        "at": finding.at.isoformat(),
        "ok": finding.ok,
        "output": "ok" if finding.output_ok else "fail",
        "failure": finding.failure,
        "message": finding.message,
        "defects": finding.defects,
        "metrics": finding.metrics,
        "width": finding.width,
        "height": finding.height,
        "codec": finding.codec,
        "via": finding.via,
        "duration_ms": finding.duration_ms,
        "reference_set": finding.reference_set,
        "thumbnail_url": f"/api/v1/findings/{finding.id}/thumbnail" if finding.output_ok else None,
    }


async def list_findings(
    session: AsyncSession, channel_id: int, *, limit: int, offset: int
) -> tuple[list[Finding], int]:
    total = await session.scalar(
        select(func.count()).select_from(Finding).where(Finding.channel_id == channel_id)
    )
    rows = await session.scalars(
        select(Finding)
        .where(Finding.channel_id == channel_id)
        .order_by(Finding.at.desc(), Finding.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return list(rows), int(total or 0)


async def list_recent_findings(
    session: AsyncSession,
    *,
    ok: bool | None,
    region: str | None,
    limit: int,
    offset: int,
    where: Any | None = None,
) -> tuple[list[tuple[Finding, str, str]], int]:
    """Findings of every channel, newest first, with the channel's GB ID and name;
    ``ok=False`` gives the faults, ``region`` a civil-code prefix, ``where`` a further clause
    on :class:`Channel` (a user's scope)."""
    conditions = [] if where is None else [where]
    if ok is not None:
        conditions.append(Finding.ok.is_(ok))
    if region:
        conditions += [Channel.civil_code >= region, Channel.civil_code < region + ":"]
    on_channel = Channel.id == Finding.channel_id
    total = await session.scalar(
        select(func.count()).select_from(Finding).join(Channel, on_channel).where(*conditions)
    )
    rows = await session.execute(
        select(Finding, Channel.gb_id, Channel.name)
        .join(Channel, on_channel)
        .where(*conditions)
        .order_by(Finding.at.desc(), Finding.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return [(finding, gb_id, name) for finding, gb_id, name in rows], int(total or 0)


async def channel_states(session: AsyncSession, channel_id: int) -> dict[str, Any]:
    """The channel's current ``online``/``integrity``/``output`` states (open intervals) and
    its reference's age: what the API shows per channel."""
    rows = await session.execute(
        select(Availability.kind, Availability.state, Availability.since).where(
            Availability.channel_id == channel_id,
            Availability.until.is_(None),
            Availability.kind.in_(("online", "integrity", "output")),
        )
    )
    states: dict[str, Any] = {"online": None, "integrity": None, "output": None}
    since: dict[str, str] = {}
    for kind, state, at in rows:
        states[kind] = state
        since[kind] = at.isoformat()
    reference = await session.execute(
        select(ChannelReference.set_at, ChannelReference.set_by).where(
            ChannelReference.channel_id == channel_id
        )
    )
    ref = reference.first()
    return {
        **states,
        "since": since,
        "reference": {"set_at": ref[0].isoformat(), "set_by": ref[1]} if ref else None,
    }


async def prune_findings(
    session: AsyncSession, now: datetime, *, keep_days: float = 90, thumbnails_days: float = 7
) -> None:
    """Retention: drop findings older than ``keep_days``; drop thumbnails older than
    ``thumbnails_days`` except each channel's latest finding's."""
    await session.execute(delete(Finding).where(Finding.at < now - timedelta(days=keep_days)))
    latest = select(func.max(Finding.id)).group_by(Finding.channel_id).scalar_subquery()
    await session.execute(
        update(Finding)
        .where(
            Finding.at < now - timedelta(days=thumbnails_days),
            Finding.thumbnail.is_not(None),
            Finding.id.not_in(latest),
        )
        .values(thumbnail=None)
        .execution_options(synchronize_session=False)
    )
