"""PTZ requests become the GB/T 28181 A.3.2 instruction byte and speeds."""

import pytest

from xueliang.api.routers.ptz import PtzRequest, command_for


@pytest.mark.parametrize(
    ("direction", "instruction"),
    [
        ("right", 0x01),
        ("left", 0x02),
        ("down", 0x04),
        ("up", 0x08),
        ("zoom_in", 0x10),
        ("zoom_out", 0x20),
        ("stop", 0),
    ],
)
def test_directions(direction, instruction):
    command = command_for(PtzRequest(direction=direction, speed=200))
    assert command.instruction == instruction
    if direction != "stop":
        assert (command.data1, command.data2, command.data3) == (200, 200, 12)
