"""The command line as a user runs it: real processes, a real port, the embedded database."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from tests.conftest import free_port
from tests.support.auth import PASSWORD, login_sync

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def run(
    *args: str, env: dict[str, str], check: bool = True, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "xueliang", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"xueliang {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("XUELIANG_")}
    return {**clean, "XUELIANG_DATA_DIR": str(tmp_path / "data")}


def test_import_then_serve_lists_the_channels(env, tmp_path):
    run("import", "regions", str(EXAMPLES / "regions.csv"), env=env)
    out = run("import", "channels", str(EXAMPLES / "channels.csv"), env=env).stdout
    assert "3 rows, 3 valid, 0 errors; imported: 3 new" in out
    assert "3 unchanged" in run("import", "channels", str(EXAMPLES / "channels.csv"), env=env).stdout

    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "xueliang", "serve", "--http", f"127.0.0.1:{port}"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}/api/v1"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert server.poll() is None, server.stdout.read() if server.stdout else ""
            assert time.monotonic() < deadline, "serve did not answer /health within 60 s"
            time.sleep(0.2)
        assert httpx.get(f"{base}/channels").status_code == 401, "the API needs a login"
        run("user", "add", "admin", "--role", "admin", "--password-stdin", env=env, stdin=PASSWORD + "\n")
        headers = login_sync(base, "admin")
        body = httpx.get(f"{base}/channels", params={"region": "340202"}, headers=headers).json()
        assert body["total"] == 2
        assert {c["id"] for c in body["items"]} == {"34020200001320000001", "34020200001320000002"}
    finally:
        server.terminate()
        server.wait(timeout=20)


def test_bad_file_is_refused_with_row_and_column(env, tmp_path):
    run("import", "regions", str(EXAMPLES / "regions.csv"), env=env)
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "gb_id,name,civil_code,longitude,latitude\n"
        "34020200001320000001,好,340202,118.3,31.3\n"
        "3402020000132000000X,坏,340202,118.3,31.3\n"
        "34020200001320000003,坏,349999,31.3,118.3\n",
        encoding="utf-8",
    )
    result = run("import", "channels", str(bad), env=env, check=False)
    assert result.returncode == 1
    assert "row 3, column gb_id" in result.stderr
    assert "row 4, column civil_code: unknown civil code 349999" in result.stderr
    assert "row 4, column latitude: longitude and latitude look swapped" in result.stderr
    assert "nothing was imported" in result.stderr
    export = tmp_path / "out.csv"
    assert "exported 0 channels" in run("export", "channels", str(export), env=env).stdout

    result = run("import", "channels", str(bad), "--skip-invalid", env=env)
    assert "imported: 1 new" in result.stdout


def test_dry_run_and_unreadable_file(env, tmp_path):
    run("import", "regions", str(EXAMPLES / "regions.csv"), env=env)
    result = run("import", "channels", str(EXAMPLES / "channels.csv"), "--dry-run", env=env)
    assert "would import: 3 new" in result.stdout
    junk = tmp_path / "junk.csv"
    junk.write_bytes(b"\xff\xfe\x00\xd8garbage")
    result = run("import", "channels", str(junk), env=env, check=False)
    assert result.returncode == 1 and "error:" in result.stderr


def test_environment_and_config_file_are_honoured(env, tmp_path):
    config = tmp_path / "x.toml"
    config.write_text(f'data_dir = "{tmp_path / "from-file"}"\n')
    env_only = {k: v for k, v in env.items() if k != "XUELIANG_DATA_DIR"}
    run("db", "upgrade", "--config", str(config), env=env_only)
    assert (tmp_path / "from-file" / "xueliang.db").exists()
    run("db", "upgrade", env=env)
    assert (Path(env["XUELIANG_DATA_DIR"]) / "xueliang.db").exists()


def test_serve_help_documents_every_setting(env):
    from xueliang.config import Settings

    text = run("serve", "--help", env={**env, "COLUMNS": "200"}).stdout
    for name in Settings.model_fields:
        assert f"--{name.replace('_', '-')}" in text, name
        assert f"XUELIANG_{name.upper()}" in text, name
    assert "--config" in text
