"""Settings: defaults < TOML file (``--config``) < ``XUELIANG_*`` environment < CLI flags.

Every option has a safe default so ``xueliang serve`` runs with none.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

__all__ = ["Settings", "load_settings", "split_host_port"]


class Settings(BaseSettings):
    """Platform configuration. Each field is also the environment variable ``XUELIANG_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="XUELIANG_", extra="forbid")

    data_dir: Path = Field(Path("xueliang-data"), description="Directory for the database and media files.")
    db: str = Field(
        "",
        description="Database URL (sqlite:///FILE or postgresql://USER@HOST/DB); "
        "empty means SQLite in the data directory.",
    )
    http: str = Field("127.0.0.1:8000", description="HTTP API and web listen address HOST:PORT.")
    sip: str = Field("127.0.0.1:5060", description="SIP listen address HOST:PORT (UDP and TCP).")
    sip_id: str = Field("34020000002000000001", description="The platform's 20-digit GB/T 28181 ID.")
    sip_domain: str = Field("3402000000", description="The platform's 10-digit SIP domain (digest realm).")
    sip_password: str = Field(
        "12345678", description="Default device password, used where a device has none of its own."
    )
    keepalive_interval: float = Field(60.0, gt=0, description="Expected device keepalive interval, seconds.")
    keepalive_misses: int = Field(3, ge=1, description="Missed keepalives before a device is offline.")
    sip_rate_limit: float = Field(
        500.0,
        gt=0,
        description="SIP messages per second accepted from one source address (burst: twice that).",
    )
    sip_accept_unknown: bool = Field(
        True,
        description="Let device IDs that are not in the resource directory register (raising an "
        "unknown_device alert); false refuses them with 403 (once the directory has devices).",
    )
    media_ip: str = Field(
        "", description="Address put in INVITE SDP for devices to send media to; empty: the SIP host."
    )
    media_ports: str = Field(
        "",
        pattern=r"^(\d{1,5}(-\d{1,5})?)?$",
        description="UDP/TCP port range for GB/T 28181 media, e.g. 30000-30999; empty: any free port.",
    )
    media_transport: str = Field(
        "UDP",
        pattern="^(UDP|TCP-passive|TCP-active)$",
        description="How devices send media: UDP, "
        "TCP-passive (they connect to us) or TCP-active (we connect to them).",
    )
    live_idle_timeout: float = Field(
        10.0, gt=0, description="Seconds a live upstream stays open with no viewer."
    )
    inspection_interval: float = Field(
        3600.0, ge=0, description="Seconds between two inspections of a channel; 0 turns the sweep off."
    )
    inspection_concurrency: int = Field(
        128, ge=1, description="Channels inspected at once (each mostly waits for its keyframes)."
    )
    cascade_poll_interval: float = Field(
        10.0,
        gt=0,
        description="Seconds between two looks at what upper platforms are shared; changes are "
        "pushed to them as catalog notifications.",
    )
    timezone: str = Field("Asia/Shanghai", description="Zone that reports are rendered in.")
    point_classes: int = Field(
        3, ge=1, le=9, description="Number of point classes (1..N) in this deployment."
    )
    area: tuple[float, float, float, float] | None = Field(
        None,
        description="Deployment area as min_lon,min_lat,max_lon,max_lat (WGS-84); coordinates "
        "outside it do not count as annotated. Empty means mainland China's extent.",
    )
    map_tile_url: str = Field(
        "",
        description="Web map tile URL template, e.g. http://tiles.city.local/{z}/{x}/{y}.png; "
        "empty: the offline base layer (region outlines from the resource directory).",
    )
    map_coord_system: str = Field(
        "wgs84",
        pattern="^(wgs84|gcj02)$",
        description="Coordinate system of the map tiles: wgs84, or gcj02 (points are shifted to match).",
    )
    log_level: str = Field("INFO", description="Logging level.")
    access_token_ttl: int = Field(900, ge=30, le=86400, description="Seconds an access token is valid.")
    refresh_token_ttl: int = Field(
        43200, ge=60, description="Seconds a login lasts without a refresh (each refresh extends it)."
    )
    login_max_failures: int = Field(
        5,
        ge=1,
        description="Failed logins (and failed SIP digest registrations of one device) within "
        "login_failure_window before a lockout; a source address gets ten times as many.",
    )
    login_failure_window: float = Field(300.0, gt=0, description="Seconds over which failures are counted.")
    login_lockout_seconds: float = Field(
        900.0, gt=0, description="Seconds a user name, device or address stays locked out."
    )
    login_rate_limit: float = Field(
        30.0, gt=0, description="Login and refresh requests per minute from one client address."
    )
    cors_origins: str = Field(
        "", description="Comma-separated origins allowed to call the API cross-site; empty: none."
    )
    view_reason_required: bool = Field(
        False, description="Live view and snapshots need a stated reason (also settable per grant)."
    )
    oidc_issuer: str = Field(
        "", description="OpenID Connect issuer URL of the identity platform; empty: no single sign-on."
    )
    oidc_client_id: str = Field("", description="This platform's client ID at the identity platform.")
    oidc_client_secret: str = Field("", description="This platform's client secret (never logged).")
    oidc_scopes: str = Field("openid profile", description="Scopes asked for at single sign-on.")
    oidc_username_claim: str = Field(
        "preferred_username", description="ID-token claim naming the local account on first sign-on."
    )
    oidc_redirect_url: str = Field(
        "", description="Public URL of /api/v1/auth/oidc/callback; empty: derived from the request."
    )
    content_security_policy: str = Field(
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self' ws: wss:; "
        "worker-src 'self' blob:; object-src 'none'; base-uri 'self'; form-action 'self'; "
        "frame-ancestors 'none'",
        description="Content-Security-Policy header of every response.",
    )

    @field_validator("sip_id")
    @classmethod
    def _sip_id_is_gb(cls, value: str) -> str:
        from xueliang.gbcode import parse_gb_id

        parse_gb_id(value)
        return value

    @field_validator("http", "sip")
    @classmethod
    def _host_port(cls, value: str) -> str:
        split_host_port(value)
        return value

    @field_validator("map_tile_url")
    @classmethod
    def _tile_template(cls, value: str) -> str:
        value = value.strip()
        if value and (
            not value.startswith(("http://", "https://", "/"))
            or not all(part in value for part in ("{z}", "{x}", "{y}"))
        ):
            raise ValueError("map_tile_url must be an http(s) URL or a path containing {z}, {x} and {y}")
        return value

    @field_validator("area", mode="before")
    @classmethod
    def _area_from_text(cls, value: Any) -> Any:
        if isinstance(value, str):
            if not value.strip():
                return None
            return tuple(float(part) for part in value.split(","))
        return value

    @property
    def database_url(self) -> str:
        """The SQLAlchemy async URL for ``db`` (SQLite in the data directory by default)."""
        from xueliang.db import async_url

        return async_url(self.db or f"sqlite:///{self.data_dir / 'xueliang.db'}")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The TOML file named by ``model_config["toml_file"]`` (none unless load_settings set one).
        return init_settings, env_settings, TomlConfigSettingsSource(settings_cls)


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Build settings from an optional TOML file, the environment and explicit overrides.

    Overrides that are ``None`` are ignored, so CLI flags left unset fall through to the
    environment, then the file, then the defaults.
    """
    import os

    if config_file is None and os.environ.get("XUELIANG_CONFIG"):
        config_file = Path(os.environ["XUELIANG_CONFIG"])
    if config_file is not None and not config_file.is_file():
        raise FileNotFoundError(f"configuration file not found: {config_file}")
    cls: type[Settings] = Settings
    if config_file is not None:
        config = SettingsConfigDict(**{**Settings.model_config, "toml_file": config_file})
        cls = type("FileSettings", (Settings,), {"model_config": config})
    return cls(**{k: v for k, v in overrides.items() if v is not None})


def split_host_port(value: str) -> tuple[str, int]:
    """'127.0.0.1:5060' → ('127.0.0.1', 5060); ValueError on anything else."""
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"expected HOST:PORT, got {value!r}")
    return host.strip("[]"), int(port)
