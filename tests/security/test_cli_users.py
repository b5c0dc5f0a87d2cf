"""``xueliang user …`` as an operator runs it, and the demo's administrator."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pyotp
import pytest

from xueliang.config import Settings
from xueliang.db import create_engine, session_factory
from xueliang.demo.run import demo_login
from xueliang.migrate import upgrade_async
from xueliang.security import find_user, verify_password


def xl(*args: str, env: dict[str, str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "xueliang", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("XUELIANG_")}
    return {**clean, "XUELIANG_DATA_DIR": str(tmp_path)}


async def _user(tmp_path: Path, name: str):  # type: ignore[no-untyped-def]
    engine = create_engine(f"sqlite:///{tmp_path / 'xueliang.db'}")
    try:
        async with session_factory(engine)() as session:
            return await find_user(session, name)
    finally:
        await engine.dispose()


async def test_user_add_list_passwd_totp(env, tmp_path):
    added = xl("user", "add", "alice", "--role", "operator", "--role", "auditor", "--password-stdin",
               "--department", "transport", env=env, stdin="Wonder-Land-42!\n")  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert "user alice added with role operator, auditor" in added.stdout
    user = await _user(tmp_path, "alice")
    assert (
        user.password_hash.startswith("$argon2id$")
        and verify_password(user.password_hash, "Wonder-Land-42!")[0]
    )

    listed = xl("user", "list", env=env)
    assert listed.stdout.split("\n")[0].split("\t") == ["alice", "auditor,operator", "transport"]

    again = xl(
        "user", "add", "alice", "--role", "viewer", "--password-stdin", env=env, stdin="Other-Passw0rd!\n"
    )
    assert again.returncode == 2 and "already exists" in again.stderr
    weak = xl("user", "add", "bob", "--role", "viewer", "--password-stdin", env=env, stdin="bob\n")
    assert weak.returncode == 2 and "at least 10 characters" in weak.stderr
    role = xl("user", "add", "bob", "--role", "wizard", "--password-stdin", env=env, stdin="Bob-Passw0rd!\n")
    assert role.returncode == 2 and "unknown role 'wizard'" in role.stderr
    assert "bob" not in xl("user", "list", env=env).stdout, "a refused account is not half-made"

    changed = xl("user", "passwd", "alice", "--password-stdin", env=env, stdin="New-Passw0rd-alice2\n")
    assert changed.returncode == 2 and "user name" in changed.stderr
    changed = xl("user", "passwd", "alice", "--password-stdin", env=env, stdin="New-Passw0rd-2\n")
    assert changed.returncode == 0, changed.stderr
    assert verify_password((await _user(tmp_path, "alice")).password_hash, "New-Passw0rd-2")[0]

    uri = xl("user", "totp", "alice", env=env).stdout.strip()
    parsed = pyotp.parse_uri(uri)
    assert parsed.secret == (await _user(tmp_path, "alice")).totp_secret
    assert "2fa" in xl("user", "list", env=env).stdout
    assert xl("user", "totp", "alice", "--disable", env=env).returncode == 0
    assert (await _user(tmp_path, "alice")).totp_secret is None
    assert (
        xl("user", "passwd", "nobody", "--password-stdin", env=env, stdin="New-Passw0rd-2\n").returncode == 2
    )


async def test_demo_prints_a_working_admin_login(tmp_path):
    settings = Settings(data_dir=tmp_path)
    engine = create_engine(settings.database_url)
    try:
        await upgrade_async(engine)
        sessions = session_factory(engine)
        async with sessions() as session, session.begin():
            name, password = await demo_login(session, settings)
        async with sessions() as session, session.begin():
            assert await demo_login(session, settings) == (name, password), "a resumed demo prints it again"
            user = await find_user(session, name)
        assert verify_password(user.password_hash, password)[0]
        assert (tmp_path / "demo-admin-password").stat().st_mode & 0o077 == 0
    finally:
        await engine.dispose()
