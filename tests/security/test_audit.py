"""The audit chain: appends never fork, and any changed, removed or reordered record is
named by ``verify_chain`` and ``xueliang audit verify``."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from xueliang.db import create_engine, session_factory
from xueliang.migrate import upgrade_async
from xueliang.security import AuditEntry, record_audit, verify_chain


async def _chain(sessions, n: int = 5) -> None:  # type: ignore[no-untyped-def]
    for i in range(1, n + 1):
        entry = AuditEntry(
            f"user{i}", "view_live", channel=f"3402020000132{i:07d}", reason=f"巡查 #{i}", detail={"n": i}
        )
        await record_audit(sessions, entry)


async def _verify(sessions):  # type: ignore[no-untyped-def]
    async with sessions() as session:
        return await verify_chain(session)


TAMPERING = {
    "changed": ["UPDATE audit_record SET reason = 'nothing to see' WHERE id = 3"],
    "removed": ["DELETE FROM audit_record WHERE id = 3"],
    "reordered": [
        "UPDATE audit_record SET id = -3 WHERE id = 3",
        "UPDATE audit_record SET id = 3 WHERE id = 4",
        "UPDATE audit_record SET id = 4 WHERE id = -3",
    ],
    "rehashed": [  # a changed record with a made-up hash
        "UPDATE audit_record SET reason = 'x', hash = '" + "ab" * 32 + "' WHERE id = 3",
    ],
}
FIRST_BAD = {
    "changed": (3, "content was changed"),
    "removed": (4, "records 3..3 are missing"),
    "reordered": (3, "does not follow"),
    "rehashed": (3, "content was changed"),
}


@pytest.mark.parametrize("tampering", sorted(TAMPERING))
async def test_tampering_is_named(sessions, tampering: str) -> None:
    await _chain(sessions)
    count, head, problem = await _verify(sessions)
    assert (count, problem) == (5, None) and len(head) == 64
    async with sessions() as session, session.begin():
        for statement in TAMPERING[tampering]:
            await session.execute(text(statement))
    count, _, problem = await _verify(sessions)
    bad_id, words = FIRST_BAD[tampering]
    assert problem is not None and problem.record_id == bad_id and words in problem.problem, problem
    assert count == bad_id - 1 if tampering != "removed" else count == 2


async def test_concurrent_appends_keep_one_chain(sessions) -> None:
    await asyncio.gather(*(record_audit(sessions, AuditEntry(f"u{i}", "snapshot")) for i in range(20)))
    count, _, problem = await _verify(sessions)
    assert (count, problem) == (20, None)


def test_cli_verify_names_the_first_bad_record(tmp_path: Path) -> None:
    async def build() -> None:
        engine = create_engine(f"sqlite:///{tmp_path / 'xueliang.db'}")
        try:
            await upgrade_async(engine)
            await _chain(session_factory(engine))
        finally:
            await engine.dispose()

    asyncio.run(build())
    env = {k: v for k, v in os.environ.items() if not k.startswith("XUELIANG_")} | {
        "XUELIANG_DATA_DIR": str(tmp_path)
    }

    def verify() -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "xueliang", "audit", "verify"]
        return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)

    good = verify()
    assert good.returncode == 0 and good.stdout.startswith("OK: 5 records, head "), good.stderr
    import sqlite3

    with sqlite3.connect(tmp_path / "xueliang.db") as raw:
        raw.execute("UPDATE audit_record SET actor = 'someone else' WHERE id = 2")
    bad = verify()
    assert bad.returncode == 1
    assert "FAILED after 1 good records: audit record 2: its content was changed" in bad.stderr
