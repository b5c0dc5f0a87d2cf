from xueliang.gb28181.presence import KeepaliveVerdict, PresenceTable

ADDR = ("127.0.0.1", 5070)


def test_keepalives_keep_a_device_online_until_three_are_missed():
    table = PresenceTable(interval=60, misses=3)
    assert table.register("d1", ADDR, "UDP", expires=3600, now=0) is True
    for t in range(60, 600, 60):
        assert table.keepalive("d1", ADDR, t) is KeepaliveVerdict.OK
        assert table.expire(t) == []
    last = 540
    assert table.expire(last + 179) == []
    assert table.expire(last + 180) == ["d1"]
    assert table.expire(last + 1000) == []  # reported once
    assert table.keepalive("d1", ADDR, last + 200) is KeepaliveVerdict.UNREGISTERED


def test_registration_expiry_ends_presence_even_with_keepalives():
    table = PresenceTable(interval=60, misses=3)
    table.register("d1", ADDR, "UDP", expires=100, now=0)
    table.keepalive("d1", ADDR, 60)
    assert table.expire(99) == [] and table.expire(100) == ["d1"]


def test_keepalive_from_another_address_is_suspect_and_does_not_count():
    table = PresenceTable(interval=60, misses=3)
    table.register("d1", ADDR, "UDP", expires=3600, now=0)
    assert table.keepalive("d1", ("127.0.0.9", 5070), 100) is KeepaliveVerdict.SUSPECT
    assert table.expire(180) == ["d1"]


def test_same_host_new_port_is_accepted():
    table = PresenceTable()
    table.register("d1", ADDR, "TCP", expires=3600, now=0)
    assert table.keepalive("d1", ("127.0.0.1", 40000), 10) is KeepaliveVerdict.OK


def test_reregistration_and_unregister():
    table = PresenceTable()
    assert table.register("d1", ADDR, "UDP", 3600, 0) is True
    assert table.register("d1", ADDR, "UDP", 3600, 30) is False  # refresh, already online
    assert table.unregister("d1") is True and table.unregister("d1") is False
    assert table.expire(10_000) == [] and len(table) == 0


def test_many_devices_expire_in_deadline_order():
    table = PresenceTable(interval=10, misses=3)
    for i in range(1000):
        table.register(f"d{i}", ADDR, "UDP", 3600, now=i * 0.01)
    assert table.next_deadline() == 30
    assert len(table.expire(30 + 4.995)) == 500
    assert len(table.online_ids()) == 500
