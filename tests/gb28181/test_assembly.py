from xueliang.gb28181.assembly import CatalogAssembler


def items(*ids):
    return [(i, {"id": i}) for i in ids]


def test_parts_in_any_order_complete_once():
    asm = CatalogAssembler(idle=5)
    asm.expect("d", 7, now=0)
    assert asm.add_part("d", 7, 5, items("c3", "c4"), 1) is None
    assert asm.add_part("d", 7, 5, items("c3", "c4"), 1.5) is None  # duplicate part
    done = asm.add_part("d", 7, 5, items("c1", "c2", "c5"), 2)
    assert done is not None and done.complete and done.parts == 3 and done.missing == 0
    assert [i["id"] for i in done.items] == ["c3", "c4", "c1", "c2", "c5"]
    assert asm.pending() == 0


def test_gap_times_out_as_partial():
    asm = CatalogAssembler(idle=5, first_reply=60)
    asm.expect("d", 1, 0)
    asm.add_part("d", 1, 10, items("a", "b"), 2)
    assert asm.next_deadline() == 7
    assert asm.expire(6.9) == []
    [partial] = asm.expire(7)
    assert not partial.complete and partial.missing == 8 and partial.total == 10


def test_no_answer_at_all():
    asm = CatalogAssembler(first_reply=120)
    asm.expect("d", 1, 0)
    [nothing] = asm.expire(120)
    assert nothing.items == [] and nothing.total is None and not nothing.complete


def test_zero_items_is_complete_and_sn_separates_queries():
    asm = CatalogAssembler()
    asm.expect("d", 1, 0)
    asm.expect("d", 2, 0)
    assert asm.add_part("d", 2, 0, [], 1).complete
    assert asm.pending() == 1


def test_unsolicited_part_is_kept():
    asm = CatalogAssembler()
    assert asm.add_part("x", 99, 1, items("a"), 0).complete


def test_duplicate_part_after_completion_is_ignored():
    asm = CatalogAssembler(idle=5)
    asm.expect("d", 3, 0)
    assert asm.add_part("d", 3, 2, items("a", "b"), 1).complete
    assert asm.add_part("d", 3, 2, items("a"), 2) is None  # late duplicate
    assert asm.pending() == 0 and asm.expire(100) == []
