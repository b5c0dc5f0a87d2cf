"""The resource directory (资源目录): regions, organisations, devices and channels.

Every other plane reads and writes the catalog through these names.
"""

from xueliang.catalog.directory import (
    ChannelFilter,
    ImportResult,
    RegionRow,
    apply_channel_records,
    channel_query,
    civil_code_range,
    count_rows,
    device_kind_for,
    export_channel_rows,
    known_civil_codes,
    upsert_regions,
)
from xueliang.catalog.importer import ChannelImport, export_channels, import_channels, import_regions
from xueliang.catalog.models import (
    Channel,
    ChannelSource,
    ChannelStatus,
    Device,
    DeviceKind,
    Organization,
    OrgKind,
    Region,
    RegionPlan,
)
from xueliang.catalog.records import (
    COLUMNS,
    ChannelRecord,
    HeaderError,
    ImportCheck,
    RowError,
    check_rows,
    map_header,
    parse_resolution,
)
from xueliang.catalog.tabular import TabularError, read_table, write_table

__all__ = [
    "ChannelImport",
    "export_channels",
    "import_channels",
    "import_regions",
    "COLUMNS",
    "Channel",
    "ChannelFilter",
    "ChannelRecord",
    "ChannelSource",
    "ChannelStatus",
    "Device",
    "DeviceKind",
    "HeaderError",
    "ImportCheck",
    "ImportResult",
    "OrgKind",
    "Organization",
    "Region",
    "RegionPlan",
    "RegionRow",
    "RowError",
    "TabularError",
    "apply_channel_records",
    "channel_query",
    "check_rows",
    "civil_code_range",
    "count_rows",
    "device_kind_for",
    "export_channel_rows",
    "known_civil_codes",
    "map_header",
    "parse_resolution",
    "read_table",
    "upsert_regions",
    "write_table",
]
