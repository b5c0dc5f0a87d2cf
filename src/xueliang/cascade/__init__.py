"""The cascade (级联, GB/T 28181-2022 §7): this platform as a lower platform registering to
upper platforms and sharing chosen channels with them, over the signalling and media planes.

Pure cores: :mod:`rules` (which channels, under which IDs), :mod:`catalog` (the directory
tree presented upward, parts, notifications), :mod:`offer` (an upper platform's INVITE),
:mod:`timing` (back-off, refresh). Adapters: :mod:`uplink` (registration and keepalive),
:mod:`relay` (live view relayed upward), :mod:`service` (the running cascade),
:mod:`routes` (``/api/v1/cascade``).

The other direction, this platform as the upper platform of lower ones, is the signalling
server's ordinary work: a lower platform registers as a type-200 device and its catalog
tree lands in the resource directory like any device's.
"""

from xueliang.cascade.catalog import (
    BUSINESS_GROUP_NAME,
    OrgNode,
    SharedChannel,
    business_group_id,
    catalog_changes,
    catalog_items,
    catalog_parts,
    notify_parts,
    virtual_org_id,
)
from xueliang.cascade.models import Uplink, UplinkChannel
from xueliang.cascade.offer import OfferRejected, RelayOffer, answer_sdp, invited_channel, read_offer
from xueliang.cascade.relay import LiveRelay, RelayMedia
from xueliang.cascade.rules import ChannelFacts, SharePolicy, ShareRule
from xueliang.cascade.service import CascadeService, UpperPeer
from xueliang.cascade.share import DirectoryRow, DirectorySnapshot, SharedView, share
from xueliang.cascade.store import UplinkConfig, load_directory, load_uplinks
from xueliang.cascade.timing import Backoff, refresh_after
from xueliang.cascade.uplink import LinkState, LinkStatus, RegistrationError, UplinkLink

__all__ = [
    "BUSINESS_GROUP_NAME",
    "Backoff",
    "CascadeService",
    "ChannelFacts",
    "DirectoryRow",
    "DirectorySnapshot",
    "LinkState",
    "LinkStatus",
    "LiveRelay",
    "OfferRejected",
    "OrgNode",
    "RegistrationError",
    "RelayMedia",
    "RelayOffer",
    "SharePolicy",
    "ShareRule",
    "SharedChannel",
    "SharedView",
    "UpperPeer",
    "Uplink",
    "UplinkChannel",
    "UplinkConfig",
    "UplinkLink",
    "answer_sdp",
    "business_group_id",
    "catalog_changes",
    "catalog_items",
    "catalog_parts",
    "invited_channel",
    "load_directory",
    "load_uplinks",
    "notify_parts",
    "read_offer",
    "refresh_after",
    "share",
    "virtual_org_id",
]
