"""The asset monitor's pure core, driven with an explicit clock: each alert kind from the
sequences that mean it, and none from what healthy devices do; the vulnerable-list patterns."""

from __future__ import annotations

import pytest

from xueliang.security.assets import AlertKind, AssetMonitor, FirmwareRule, glob_to_like, validate_glob

DEV = "34020000001320000001"
OTHER = "34020000001320000002"
STRANGER = "34020000001329999999"
A = ("10.0.0.1", 5060)
B = ("10.0.0.2", 5060)
C = ("10.0.0.3", 5060)


def kinds(events: list) -> list[AlertKind]:
    return [e.kind for e in events]


def monitor(**kw: object) -> AssetMonitor:
    return AssetMonitor(known=[DEV, OTHER], window=180.0, **kw)  # type: ignore[arg-type]


def test_a_healthy_device_raises_nothing() -> None:
    m = monitor()
    assert m.registered(DEV, A, "UDP", 0, default_password=False) == []
    for t in range(60, 3600, 60):  # keepalives from the registered endpoint, NAT moving its port
        assert m.keepalive(DEV, (A[0], 40000 + t), "UDP", t, registered=(A[0], "UDP")) == []
    assert m.registered(DEV, (A[0], 5061), "UDP", 3600, default_password=False) == []  # refresh
    assert m.keepalive(DEV, A, "UDP", 3700, registered=None) == [], "keeps alive after our restart"


def test_unknown_ids_are_reported_once_the_directory_is_curated() -> None:
    m = monitor()
    events = m.registered(STRANGER, A, "UDP", 0, default_password=False)
    assert kinds(events) == [AlertKind.UNKNOWN_DEVICE] and events[0].address == "UDP 10.0.0.1:5060"
    assert m.is_known(STRANGER), "registered: now in the directory"
    assert m.registered(STRANGER, A, "UDP", 60, default_password=False) == []
    assert kinds(m.refused(OTHER, B, "TCP")) == [AlertKind.UNKNOWN_DEVICE]
    discovering = AssetMonitor(known=None)
    assert discovering.registered(STRANGER, A, "UDP", 0, default_password=False) == []
    discovering.learn([STRANGER])  # nothing to learn into: still discovering
    assert discovering.known is None


def test_default_password_on_every_registration_with_it() -> None:
    m = monitor()
    for t in (0, 3600):
        assert kinds(m.registered(DEV, A, "UDP", t, default_password=True)) == [AlertKind.DEFAULT_PASSWORD]


def test_a_device_moving_is_an_address_change_not_a_duplicate() -> None:
    m = monitor()
    m.registered(DEV, A, "UDP", 0, default_password=False)
    events = m.registered(DEV, B, "UDP", 100, default_password=False)
    assert kinds(events) == [AlertKind.ADDRESS_CHANGED]
    assert "UDP 10.0.0.2" in events[0].detail and "UDP 10.0.0.1" in events[0].detail
    assert m.keepalive(DEV, B, "UDP", 160, registered=(B[0], "UDP")) == []
    # Back at the old address days later: moved again, not two devices.
    assert kinds(m.registered(DEV, A, "UDP", 90_000, default_password=False)) == [AlertKind.ADDRESS_CHANGED]
    # Over TCP from the same host: another endpoint.
    assert kinds(m.registered(DEV, A, "TCP", 90_100, default_password=False)) == [AlertKind.ADDRESS_CHANGED]


def test_the_directory_remembers_where_a_device_was_before_a_restart() -> None:
    m = monitor()
    m.remember(DEV, A[0], "UDP")
    assert m.registered(DEV, A, "UDP", 0, default_password=False) == []
    m2 = monitor()
    m2.remember(DEV, A[0], "UDP")
    assert kinds(m2.registered(DEV, B, "UDP", 0, default_password=False)) == [AlertKind.ADDRESS_CHANGED]


def test_two_devices_with_one_id_are_a_duplicate() -> None:
    m = monitor()
    m.registered(DEV, A, "UDP", 0, default_password=False)
    m.keepalive(DEV, A, "UDP", 50, registered=(A[0], "UDP"))
    assert kinds(m.registered(DEV, B, "UDP", 60, default_password=False)) == [AlertKind.ADDRESS_CHANGED]
    # The first one is still there, keeping alive: two devices use the ID.
    events = m.keepalive(DEV, A, "UDP", 110, registered=(B[0], "UDP"))
    assert (
        kinds(events) == [AlertKind.DUPLICATE_ID] and "while registered from UDP 10.0.0.2" in events[0].detail
    )
    m.keepalive(DEV, B, "UDP", 115, registered=(B[0], "UDP"))
    # ... and registers back: they alternate.
    events = m.registered(DEV, A, "UDP", 120, default_password=False)
    assert kinds(events) == [AlertKind.DUPLICATE_ID] and "alternately" in events[0].detail


def test_forged_keepalives() -> None:
    m = monitor()
    m.registered(DEV, A, "UDP", 0, default_password=False)
    events = m.keepalive(DEV, C, "UDP", 10, registered=(A[0], "UDP"))
    assert kinds(events) == [AlertKind.FORGED_KEEPALIVE] and events[0].address == "UDP 10.0.0.3:5060"
    assert kinds(m.keepalive(DEV, A, "TCP", 20, registered=(A[0], "UDP"))) == [AlertKind.FORGED_KEEPALIVE]
    # Not registered: from an endpoint it never used, or an ID nobody knows.
    assert kinds(m.keepalive(DEV, C, "UDP", 30, registered=None)) == [AlertKind.FORGED_KEEPALIVE]
    assert kinds(m.keepalive(STRANGER, C, "UDP", 40, registered=None)) == [AlertKind.FORGED_KEEPALIVE]
    assert m.keepalive(OTHER, C, "UDP", 50, registered=None) == [], "known, never seen: nothing to compare"
    # The old endpoint of a device that moved, silent for longer than the window, is a forger now.
    m.registered(DEV, B, "UDP", 100, default_password=False)
    assert kinds(m.keepalive(DEV, A, "UDP", 1000, registered=(B[0], "UDP"))) == [AlertKind.FORGED_KEEPALIVE]


def test_a_flood_of_spoofed_keepalives_is_capped_per_source() -> None:
    m = monitor(forged_per_source=3, source_window=60.0)
    ids = [f"340200000013288{n:05d}" for n in range(10)]  # unknown IDs
    raised = [m.keepalive(i, C, "UDP", 1.0, registered=None) for i in ids]
    assert sum(len(r) for r in raised) == 3 and m.suppressed == 7
    assert kinds(m.keepalive(STRANGER, B, "UDP", 2.0, registered=None)) == [AlertKind.FORGED_KEEPALIVE]
    assert len(m.keepalive(ids[0], C, "UDP", 61.0, registered=None)) == 1, "a new window"


@pytest.mark.parametrize(
    ("rule", "device", "covered"),
    [
        (("Hikvision", "DS-2CD*", "V5.5.*"), ("HIKVISION", "DS-2CD2T47", "V5.5.0"), True),
        (("Hikvision", "DS-2CD*", "V5.5.*"), ("Hikvision", "DS-2CD2T47", "V5.6.0"), False),
        (("*", "*", "V4.0?"), ("Dahua", "X", "v4.01"), True),
        (("*", "*", "V4.0?"), ("Dahua", "X", "V4.011"), False),
        (("*", "*", "*"), ("Dahua", "X", ""), False),  # no firmware reported: nothing to judge
        (("*", "*", "1.0_beta%"), ("A", "B", "1.0_beta%"), True),
    ],
)
def test_firmware_rules(rule: tuple[str, str, str], device: tuple[str, str, str], covered: bool) -> None:
    assert FirmwareRule(1, *rule, "advisory").matches(*device) is covered


def test_patterns() -> None:
    assert glob_to_like("V5.5.*") == "v5.5.%"
    assert glob_to_like("1.0_b?%") == "1.0\\_b_\\%"
    assert validate_glob("  ") == "*"
    with pytest.raises(ValueError, match="only \\* and \\?"):
        validate_glob("V[45]*")
