"""A lower platform's catalog tree rebuilt: repeated IDs, unknown parents and loops repaired,
nothing dropped."""

from xueliang.catalog import TreeEntry, build_tree

BG = "34020000002150000001"
VA, VB, VC = "34020000002160000001", "34020000002160000002", "34020000002160000003"


def region(code, name=""):
    return TreeEntry(code, name or code, "region")


def org(gb, parent, name=""):
    return TreeEntry(gb, name or gb, "virtual_org", parent, BG)


def cam(n, parent="", civil="340223"):
    return TreeEntry(f"{civil:0<8}00132{n:07d}", f"cam{n}", "channel", parent, "", civil, "online")


def shape(node):
    return (node.gb_id, [shape(c) for c in node.children])


def test_a_clean_tree():
    tree = build_tree(
        [region("34"), region("3402"), region("340223"), TreeEntry(BG, "group", "business_group"),
         org(VA, BG), org(VB, VA), cam(1, VB), cam(2, "340223"), cam(3, f"{BG}/{VA}")]
    )  # fmt: skip
    assert not tree.repaired
    assert [shape(r) for r in tree.roots] == [
        ("34", [("3402", [("340223", [("34022300001320000002", [])])])]),
        (BG, [(VA, [(VB, [("34022300001320000001", [])]), ("34022300001320000003", [])])]),
    ]
    assert tree.roots[0].channels == 1 and tree.roots[1].channels == 2
    assert tree.roots[1].as_dict(with_channels=False)["children"][0]["channels"] == 2


def test_duplicates_keep_the_first_and_are_reported():
    tree = build_tree([region("34"), org(VA, "34"), org(VA, "34", name="again"), cam(1, VA), cam(1, "34")])
    assert sorted(tree.duplicates) == [VA, "34022300001320000001"]
    [root] = tree.roots
    assert shape(root) == ("34", [(VA, [("34022300001320000001", [])])])
    assert root.children[0].entry.name == VA


def test_loops_are_cut_at_the_smallest_id_and_nothing_is_lost():
    selfish = "34020000002160000009"
    entries = [region("34"), region("3402"), org(VA, VC), org(VB, VA), org(VC, VB), cam(1, VB),
               org(selfish, selfish), cam(2, selfish)]  # fmt: skip
    tree = build_tree(entries)
    assert sorted(tree.cycles) == [VA, selfish]
    ids = set()

    def walk(node):
        ids.add(node.gb_id)
        for child in node.children:
            walk(child)

    for root in tree.roots:
        walk(root)
    assert ids == {e.gb_id for e in entries}  # every entry is somewhere in the tree
    # VA moved under its civil code's nearest node: virtual orgs carry none here, so the top
    assert VA in [r.gb_id for r in tree.roots]


def test_unknown_parents_fall_back_to_the_civil_code_node():
    tree = build_tree([region("34"), region("3402"), cam(1, "34999999992160000001"), cam(2, "", civil="34")])
    assert tree.orphans == ["34022300001320000001"]
    [root] = tree.roots
    assert shape(root) == ("34", [("3402", [("34022300001320000001", [])]), ("34000000001320000002", [])])
    lone = build_tree([cam(5, "nowhere")])
    assert [r.gb_id for r in lone.roots] == ["34022300001320000005"] and lone.orphans
