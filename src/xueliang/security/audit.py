"""The audit log (审计日志): append-only and hash-chained.

Each record stores the previous record's hash and the SHA-256 of its own canonical form
(sorted-key JSON of every field but ``hash``, including ``id`` and ``prev_hash``), so a
changed record fails its own hash, and a removed or reordered one breaks the chain after it.
Appends are serialised (PostgreSQL advisory lock, SQLite write lock) so the chain never forks.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from xueliang.db import utcnow
from xueliang.security.models import AuditRecord

__all__ = [
    "GENESIS",
    "AuditEntry",
    "ChainBreak",
    "append_audit",
    "canonical_hash",
    "record_audit",
    "verify_chain",
]

GENESIS = "0" * 64
_PG_LOCK = 0x78756C69  # "xuli": the advisory lock key of the audit chain


@dataclass(frozen=True, slots=True)
class AuditEntry:
    actor: str
    action: str  # login, logout, view_live, snapshot, export, ptz, permission_change, share, …
    outcome: str = "ok"  # ok, denied, failed
    channel: str | None = None
    target: str = ""
    client_address: str = ""
    reason: str = ""
    detail: dict[str, Any] | None = None


def _fields(record: AuditRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "at": record.at.isoformat(timespec="microseconds"),
        "actor": record.actor,
        "action": record.action,
        "outcome": record.outcome,
        "channel": record.channel,
        "target": record.target,
        "client_address": record.client_address,
        "reason": record.reason,
        "detail": record.detail,
        "prev_hash": record.prev_hash,
    }


def canonical_hash(record: AuditRecord) -> str:
    body = json.dumps(_fields(record), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(body.encode()).hexdigest()


async def append_audit(session: AsyncSession, entry: AuditEntry, now: datetime | None = None) -> AuditRecord:
    """Append ``entry`` inside the caller's transaction (it commits with the change it records).
    On SQLite, start that transaction with a write or with this append: a transaction that
    read first may not be able to take the write lock."""
    if session.bind.dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK})
    else:  # take SQLite's write lock before reading the head, so two appends cannot fork
        await session.execute(update(AuditRecord).where(AuditRecord.id < 0).values(id=AuditRecord.id))
    head = (
        await session.execute(
            select(AuditRecord.id, AuditRecord.hash).order_by(AuditRecord.id.desc()).limit(1)
        )
    ).first()
    record = AuditRecord(
        id=(head[0] + 1) if head else 1,
        at=now or utcnow(),
        actor=entry.actor[:64],
        action=entry.action[:32],
        outcome=entry.outcome[:16],
        channel=entry.channel,
        target=entry.target[:200],
        client_address=entry.client_address[:64],
        reason=entry.reason,
        detail=entry.detail or {},
        prev_hash=head[1] if head else GENESIS,
    )
    record.hash = canonical_hash(record)
    session.add(record)
    await session.flush()
    return record


async def record_audit(sessions: async_sessionmaker[AsyncSession], entry: AuditEntry) -> None:
    """Append ``entry`` in a transaction of its own."""
    async with sessions() as session, session.begin():
        await append_audit(session, entry)


@dataclass(frozen=True, slots=True)
class ChainBreak:
    record_id: int
    problem: str

    def __str__(self) -> str:
        return f"audit record {self.record_id}: {self.problem}"


async def _records(session: AsyncSession, batch: int = 5000) -> AsyncIterator[AuditRecord]:
    last = 0
    while True:
        rows = (
            await session.scalars(
                select(AuditRecord).where(AuditRecord.id > last).order_by(AuditRecord.id).limit(batch)
            )
        ).all()
        if not rows:
            return
        for row in rows:
            yield row
        last = rows[-1].id
        session.expunge_all()


async def verify_chain(session: AsyncSession) -> tuple[int, str, ChainBreak | None]:
    """(records checked, head hash, the first bad record or None)."""
    expected_prev, expected_id, count = GENESIS, 1, 0
    async for record in _records(session):
        if record.id != expected_id:
            return (
                count,
                expected_prev,
                ChainBreak(record.id, f"records {expected_id}..{record.id - 1} are missing"),
            )
        if record.prev_hash != expected_prev:
            return (
                count,
                expected_prev,
                ChainBreak(record.id, "does not follow the record before it (removed or reordered)"),
            )
        if canonical_hash(record) != record.hash:
            return count, expected_prev, ChainBreak(record.id, "its content was changed (hash mismatch)")
        expected_prev, expected_id, count = record.hash, record.id + 1, count + 1
    return count, expected_prev, None
