"""A device's or lower platform's catalog tree, rebuilt from what its catalog said (pure).

Lower platforms (and NVRs) report directory nodes (civil codes, business groups 215, virtual
organisations 216) and channels, each with a ``ParentID`` (GB/T 28181-2022 allows a
``/``-separated path of ancestors; the last one is the parent). What arrives is not always
a tree: an ID may come twice, a parent may be missing, parents may form a loop. Nothing is
dropped: a repeated ID keeps its first entry (the rest are reported), a channel or node
whose parent is unknown hangs under its civil code's node (or the nearest one above it),
else at the top, and a loop is cut at its smallest ID, which moves to the top. Each such
repair is listed in :class:`DirectoryTree` so it can be logged and shown.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from xueliang.gbcode import civil_code_ancestors, is_civil_code

__all__ = ["DirectoryTree", "TreeEntry", "TreeNode", "build_tree"]

NODE_KINDS = ("region", "business_group", "virtual_org")


@dataclass(frozen=True, slots=True)
class TreeEntry:
    """A catalog node (``kind`` one of :data:`NODE_KINDS`) or a channel (``kind='channel'``)."""

    gb_id: str
    name: str = ""
    kind: str = "channel"
    parent_id: str = ""
    business_group_id: str = ""
    civil_code: str = ""
    status: str = ""


@dataclass(slots=True)
class TreeNode:
    entry: TreeEntry
    children: list[TreeNode] = field(default_factory=list)
    channels: int = 0  # channels anywhere below

    @property
    def gb_id(self) -> str:
        return self.entry.gb_id

    def as_dict(self, *, with_channels: bool) -> dict[str, object]:
        out: dict[str, object] = {
            "id": self.entry.gb_id,
            "name": self.entry.name,
            "kind": self.entry.kind,
        }
        if self.entry.kind == "channel":
            out["status"] = self.entry.status
            return out
        out["channels"] = self.channels
        out["children"] = [
            c.as_dict(with_channels=with_channels)
            for c in self.children
            if with_channels or c.entry.kind != "channel"
        ]
        return out


@dataclass(slots=True)
class DirectoryTree:
    roots: list[TreeNode]
    duplicates: list[str] = field(default_factory=list)  # IDs given more than once
    orphans: list[str] = field(default_factory=list)  # parent unknown: placed by civil code or at the top
    cycles: list[str] = field(default_factory=list)  # where a loop of parents was cut

    @property
    def repaired(self) -> bool:
        return bool(self.duplicates or self.orphans or self.cycles)


def build_tree(entries: Iterable[TreeEntry]) -> DirectoryTree:
    """The tree of ``entries`` (nodes and channels of one lower platform)."""
    tree = DirectoryTree(roots=[])
    by_id: dict[str, TreeEntry] = {}
    for entry in entries:
        if entry.gb_id in by_id:
            tree.duplicates.append(entry.gb_id)
        else:
            by_id[entry.gb_id] = entry
    nodes = {gb: e for gb, e in by_id.items() if e.kind != "channel"}
    parent: dict[str, str | None] = {}
    for gb_id, entry in by_id.items():
        chosen, orphan = _parent(entry, nodes)
        parent[gb_id] = chosen
        if orphan:
            tree.orphans.append(gb_id)
    for gb_id in sorted(nodes):  # cut loops at their smallest ID, deterministically
        trail: dict[str, int] = {}
        at: str | None = gb_id
        while at is not None and at not in trail:
            trail[at] = len(trail)
            at = parent.get(at)
        if at is not None:  # came back to `at`: the loop runs from it to the end of the trail
            loop = list(trail)[trail[at] :]
            cut = min(loop)
            parent[cut] = _fallback(nodes[cut], nodes, exclude=set(loop))
            tree.cycles.append(cut)
    built = {gb: TreeNode(e) for gb, e in by_id.items()}
    for gb_id, node in built.items():
        above = parent[gb_id]
        (built[above].children if above is not None else tree.roots).append(node)
    for node in built.values():
        node.children.sort(key=lambda n: (n.entry.kind == "channel", n.gb_id))
    tree.roots.sort(key=lambda n: (n.entry.kind == "channel", n.gb_id))
    for root in tree.roots:
        _count(root)
    return tree


def _declared(entry: TreeEntry) -> list[str]:
    """Parents named, farthest first: a virtual organisation's business group, then the
    ``ParentID`` path (its last element is the parent)."""
    ids = [p.strip() for p in entry.parent_id.split("/") if p.strip()]
    if entry.kind == "virtual_org" and entry.business_group_id:
        ids.insert(0, entry.business_group_id)
    return ids


def _parent(entry: TreeEntry, nodes: dict[str, TreeEntry]) -> tuple[str | None, bool]:
    """(the parent chosen, whether it replaces a parent named but unknown). A named parent
    wins when known (the last of a path that is); else the civil-code fallback."""
    declared = _declared(entry)
    for candidate in reversed(declared):
        if candidate in nodes:
            return candidate, False
    fallback = _fallback(entry, nodes, exclude={entry.gb_id})
    return fallback, bool(declared) and not (entry.kind == "region" and fallback is not None)


def _fallback(entry: TreeEntry, nodes: dict[str, TreeEntry], *, exclude: set[str]) -> str | None:
    """The civil-code node an entry belongs to without a usable parent, or None (the top)."""
    if entry.kind == "region":
        codes = civil_code_ancestors(entry.gb_id) if is_civil_code(entry.gb_id) else []
    else:
        code = entry.civil_code
        codes = [*civil_code_ancestors(code), code] if is_civil_code(code) else []
    for code in reversed(codes):
        if code in nodes and code not in exclude:
            return code
    return None


def _count(node: TreeNode) -> int:
    total = 0
    for child in node.children:
        total += 1 if child.entry.kind == "channel" else _count(child)
    node.channels = total
    return total
