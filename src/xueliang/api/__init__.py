"""HTTP API (FastAPI), base path ``/api/v1``."""

from xueliang.api.app import API_PREFIX, create_app

__all__ = ["API_PREFIX", "create_app"]
