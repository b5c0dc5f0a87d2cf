"""Which channels an upper platform sees, and by which IDs (pure).

A :class:`SharePolicy` shares a channel when any of its :class:`ShareRule` matches it (every
field a rule gives must match: civil-code prefix, organisation or one of its
sub-organisations, point class) or when the channel is listed explicitly. Upper platforms
often assign their own IDs: ``id_map`` maps a channel's GB ID to the one the upper platform
uses; unmapped channels keep their own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from xueliang.gbcode import GbCodeError, parse_gb_id

__all__ = ["ChannelFacts", "SharePolicy", "ShareRule"]


@dataclass(frozen=True, slots=True)
class ChannelFacts:
    """What share rules look at. ``organizations`` holds the codes of the channel's
    organisation and of every organisation above it (a rule naming a parent covers it)."""

    gb_id: str
    civil_code: str = ""
    organizations: tuple[str, ...] = ()
    point_class: int | None = None


@dataclass(frozen=True, slots=True)
class ShareRule:
    """Channels whose civil code starts with ``region``, under ``organization`` (code) and of
    ``point_class``; a field left None does not restrict."""

    region: str | None = None
    organization: str | None = None
    point_class: int | None = None

    def __post_init__(self) -> None:
        if self.region is None and self.organization is None and self.point_class is None:
            raise ValueError("a share rule needs a region, an organisation or a point class")
        if self.region is not None and not (
            self.region.isascii() and self.region.isdigit() and 1 <= len(self.region) <= 8
        ):
            raise ValueError(f"a region is a civil-code prefix of 1 to 8 digits, not {self.region!r}")
        if self.organization is not None and not self.organization.strip():
            raise ValueError("an organisation code cannot be blank")
        if self.point_class is not None and not 1 <= self.point_class <= 9:
            raise ValueError(f"point class {self.point_class} is not within 1..9")

    def matches(self, channel: ChannelFacts) -> bool:
        return (
            (self.region is None or channel.civil_code.startswith(self.region))
            and (self.organization is None or self.organization in channel.organizations)
            and (self.point_class is None or channel.point_class == self.point_class)
        )


@dataclass(frozen=True, slots=True)
class SharePolicy:
    """The rules, the explicit channel list and the ID map of one upper platform."""

    rules: tuple[ShareRule, ...] = ()
    channels: frozenset[str] = frozenset()
    id_map: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for local, upper in self.id_map.items():
            for gb_id in (local, upper):
                try:
                    parse_gb_id(gb_id)
                except GbCodeError as exc:
                    raise ValueError(f"ID map {local} → {upper}: {exc}") from None
        uppers = list(self.id_map.values())
        if len(set(uppers)) != len(uppers):
            twice = sorted({u for u in uppers if uppers.count(u) > 1})
            raise ValueError(f"ID map gives the same upper ID to several channels: {', '.join(twice)}")

    def shares(self, channel: ChannelFacts) -> bool:
        return channel.gb_id in self.channels or any(rule.matches(channel) for rule in self.rules)

    def upper_id(self, gb_id: str) -> str:
        """The ID the upper platform knows the channel by."""
        return self.id_map.get(gb_id, gb_id)

    def select(self, channels: Iterable[ChannelFacts]) -> tuple[dict[str, str], int]:
        """The shared channels as ``{upper ID: GB ID}``, and how many shared channels were
        left out: an upper ID claimed twice (a mapped ID equal to another shared channel's
        own) goes to the mapped channel."""
        chosen: dict[str, str] = {}
        shared = 0
        for channel in channels:
            if not self.shares(channel):
                continue
            shared += 1
            upper = self.upper_id(channel.gb_id)
            holder = chosen.get(upper)
            if holder is None or (holder not in self.id_map and channel.gb_id in self.id_map):
                chosen[upper] = channel.gb_id
        return chosen, shared - len(chosen)
