"""``xueliang report`` and ``xueliang workorders`` as a user runs them (real processes, SQLite)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from tests.insight.conftest import T0, H, build_city

from xueliang.db import create_engine, session_factory
from xueliang.insight import reconcile_work_orders
from xueliang.migrate import upgrade_async


def run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "xueliang", *args], env=env, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
async def env(tmp_path: Path) -> dict[str, str]:
    data = tmp_path / "data"
    engine = create_engine(f"sqlite:///{data / 'xueliang.db'}")
    await upgrade_async(engine)
    async with session_factory(engine)() as session:
        async with session.begin():
            await build_city(session)
        async with session.begin():
            await reconcile_work_orders(session, T0 + 10 * H)
    await engine.dispose()
    clean = {k: v for k, v in os.environ.items() if not k.startswith("XUELIANG_")}
    return {**clean, "XUELIANG_DATA_DIR": str(data)}


async def test_report_command(env, tmp_path):
    out = tmp_path / "out" / "weekly.pdf"
    result = run("report", "weekly", "--date", "2026-11-02", "--out", str(out), env=env)
    assert result.returncode == 0, result.stderr
    assert out.read_bytes().startswith(b"%PDF") and "weekly report for 2026-11-02" in result.stdout
    xlsx = tmp_path / "m.xlsx"
    result = run(
        "report",
        "monthly",
        "--region",
        "340202",
        "--lang",
        "en",
        "--format",
        "xlsx",
        "--out",
        str(xlsx),
        env=env,
    )
    assert result.returncode == 0 and xlsx.read_bytes()[:2] == b"PK"
    html = tmp_path / "d.html"
    assert run("report", "daily", "--date", "2026-11-02", "--out", str(html), env=env).returncode == 0
    assert "镜湖区" in html.read_text(encoding="utf-8")


async def test_report_command_bad_input(env, tmp_path):
    out = str(tmp_path / "x.pdf")
    unknown = run("report", "daily", "--region", "349999", "--out", out, env=env)
    assert unknown.returncode == 1 and "region 349999 not found" in unknown.stderr
    assert "use daily, weekly or monthly" in run("report", "yearly", "--out", out, env=env).stderr
    assert "is not a date" in run("report", "daily", "--date", "2026-13-01", "--out", out, env=env).stderr
    assert "give --format" in run("report", "daily", "--out", str(tmp_path / "x.doc"), env=env).stderr


async def test_workorders_commands(env, tmp_path):
    listing = run("workorders", "list", env=env)
    assert listing.returncode == 0 and "2 of 2 work orders" in listing.stdout and "OVERDUE" in listing.stdout
    assert run("workorders", "assign", "1", "维保甲", "--actor", "zhang", env=env).returncode == 0
    assert run("workorders", "comment", "1", "已到现场", env=env).returncode == 0
    no_reason = run("workorders", "close", "1", env=env)
    assert no_reason.returncode != 0 and "--reason" in no_reason.stderr
    assert run("workorders", "close", "1", "--reason", "已拆除", env=env).returncode == 0
    again = run("workorders", "close", "1", "--reason", "again", env=env)
    assert again.returncode == 1 and "already closed" in again.stderr
    assert "not found" in run("workorders", "assign", "99", "x", env=env).stderr
    assert "1 of 1 work orders" in run("workorders", "list", env=env).stdout
    assert "2 of 2" in run("workorders", "list", "--status", "all", env=env).stdout
    out = tmp_path / "orders.xlsx"
    exported = run("workorders", "export", str(out), env=env)
    assert exported.returncode == 0 and "exported 2 work orders" in exported.stdout
    from openpyxl import load_workbook

    book = load_workbook(out)
    assert book.sheetnames == ["work orders", "events"]
    kinds = [row[2] for row in book["events"].iter_rows(min_row=2, values_only=True)]
    assert kinds.count("opened") == 2 and "closed" in kinds and "comment" in kinds
