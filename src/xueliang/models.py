"""The one place that imports every plane's tables, so Alembic and tests see the whole schema."""

from __future__ import annotations


def load_all() -> None:
    """Import every module that declares tables on :class:`xueliang.db.Base`."""
    import xueliang.cascade.models  # noqa: F401
    import xueliang.catalog.availability  # noqa: F401
    import xueliang.catalog.models  # noqa: F401
    import xueliang.insight.workorders  # noqa: F401
    import xueliang.inspection.models  # noqa: F401
    import xueliang.security.alerts  # noqa: F401
    import xueliang.security.models  # noqa: F401
    import xueliang.security.privacy  # noqa: F401
