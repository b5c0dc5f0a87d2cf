"""PTZCmd encode/decode (GB/T 28181-2022 A.3)."""

from __future__ import annotations

import itertools

import pytest

from xueliang.gb28181 import PresetAction, PtzCommand, PtzError, PtzKind


def test_reference_vector_pan_left() -> None:
    cmd = PtzCommand.from_hex("A50F01021F0000D6")
    assert cmd.kind is PtzKind.MOTION
    assert (cmd.pan, cmd.tilt, cmd.zoom) == (-1, 0, 0)
    assert cmd.data1 == 0x1F and cmd.address == 1
    assert PtzCommand.move(pan=-1, pan_speed=0x1F, address=1).to_hex() == "A50F01021F0000D6"


def test_stop_and_lowercase_hex() -> None:
    stop = PtzCommand.stop(address=1)
    assert stop.is_stop and stop.to_hex() == "A50F0100000000B5"
    assert PtzCommand.from_hex("a50f0100000000b5") == stop


def test_address_high_nibble_and_zoom_speed() -> None:
    cmd = PtzCommand.move(zoom=1, tilt=1, tilt_speed=0x40, zoom_speed=0xA, address=0x3FF)
    raw = cmd.to_bytes()
    assert raw[2] == 0xFF and raw[6] == 0xA3 and raw[3] == 0x18
    assert PtzCommand.from_bytes(raw) == cmd
    assert (cmd.tilt, cmd.zoom) == (1, 1)


def test_presets_and_focus_iris() -> None:
    call = PtzCommand.preset(PresetAction.CALL, 5)
    assert call.to_hex()[6:12] == "820005" and call.preset_number == 5
    assert call.preset_action is PresetAction.CALL and call.kind is PtzKind.PRESET
    with pytest.raises(PtzError):
        PtzCommand.preset(PresetAction.SET, 0)
    fi = PtzCommand.focus_iris(focus=-1, iris=1, focus_speed=9, iris_speed=3)
    assert fi.kind is PtzKind.FOCUS_IRIS and fi.instruction == 0x46 and fi.pan == 0
    assert PtzCommand.from_hex(fi.to_hex()) == fi


def test_round_trip_all_motion_combinations() -> None:
    for pan, tilt, zoom in itertools.product((-1, 0, 1), repeat=3):
        for speed in (0, 1, 0x7F, 0xFF):
            cmd = PtzCommand.move(pan=pan, tilt=tilt, zoom=zoom, pan_speed=speed,
                                  tilt_speed=255 - speed, zoom_speed=speed & 0xF, address=speed)
            back = PtzCommand.from_hex(cmd.to_hex())
            assert back == cmd and (back.pan, back.tilt, back.zoom) == (pan, tilt, zoom)


@pytest.mark.parametrize(
    "text",
    [
        "A50F01021F0000D7",  # checksum
        "A50E01021F0000D5",  # check nibble
        "B50F01021F0000E6",  # lead byte
        "A50F01021F00",  # length
        "A50F01021F0000ZZ",  # not hex
        "A50F0103000000B8",  # left and right at once
        "A50F01C0000000F5",  # reserved instruction
    ],
)
def test_invalid_commands(text: str) -> None:
    with pytest.raises(PtzError):
        PtzCommand.from_hex(text)


def test_field_ranges() -> None:
    with pytest.raises(PtzError):
        PtzCommand(0, data3=16)
    with pytest.raises(PtzError):
        PtzCommand(0, address=4096)
    with pytest.raises(PtzError):
        PtzCommand(0, data1=256)
