from pathlib import Path

import pytest
from pydantic import ValidationError

from xueliang.config import Settings, load_settings, split_host_port


def test_defaults_are_safe(monkeypatch):
    for key in list(__import__("os").environ):
        if key.startswith("XUELIANG_"):
            monkeypatch.delenv(key)
    settings = load_settings()
    assert settings.http == "127.0.0.1:8000" and settings.sip == "127.0.0.1:5060"
    assert settings.sip_id == "34020000002000000001" and settings.sip_domain == "3402000000"
    assert settings.database_url.startswith("sqlite+aiosqlite:///")
    assert settings.database_url.endswith("xueliang-data/xueliang.db")


def test_precedence_file_env_flag(tmp_path: Path, monkeypatch):
    config = tmp_path / "xueliang.toml"
    config.write_text('http = "127.0.0.1:9001"\nsip = "127.0.0.1:5999"\nsip_domain = "4401000000"\n')
    monkeypatch.setenv("XUELIANG_SIP", "127.0.0.1:6000")
    settings = load_settings(config, sip_domain="4401020000")
    assert settings.http == "127.0.0.1:9001"  # from the file
    assert settings.sip == "127.0.0.1:6000"  # environment beats the file
    assert settings.sip_domain == "4401020000"  # a flag beats both


def test_config_file_from_environment(tmp_path: Path, monkeypatch):
    config = tmp_path / "c.toml"
    config.write_text("keepalive_interval = 30\n")
    monkeypatch.setenv("XUELIANG_CONFIG", str(config))
    assert load_settings().keepalive_interval == 30


def test_none_overrides_fall_through(monkeypatch):
    monkeypatch.setenv("XUELIANG_HTTP", "127.0.0.1:9100")
    assert load_settings(http=None).http == "127.0.0.1:9100"


def test_postgres_url_is_normalised():
    settings = Settings(db="postgresql://postgres@127.0.0.1:5432/x")
    assert settings.database_url == "postgresql+asyncpg://postgres@127.0.0.1:5432/x"


@pytest.mark.parametrize(
    "bad",
    [
        {"sip_id": "123"},
        {"http": "nohost"},
        {"keepalive_interval": 0},
        {"unknown_option": 1},
        {"db": "mysql://x"},
    ],
)
def test_bad_settings_are_rejected(bad):
    with pytest.raises((ValidationError, ValueError)):
        Settings(**bad).database_url  # noqa: B018


def test_missing_config_file(tmp_path: Path):
    with pytest.raises(FileNotFoundError):
        load_settings(tmp_path / "nope.toml")


def test_split_host_port():
    assert split_host_port("127.0.0.1:5060") == ("127.0.0.1", 5060)
    assert split_host_port("[::1]:80") == ("::1", 80)
    with pytest.raises(ValueError):
        split_host_port("127.0.0.1:99999")
