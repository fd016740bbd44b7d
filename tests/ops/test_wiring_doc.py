"""Every config line the wiring guide shows is one the gateway accepts."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from pydantic import TypeAdapter

from gateway.config import MachineConfig
from gateway.drivers import mcu

GUIDE = Path(__file__).parents[2] / "docs" / "wiring.md"
BLOCKS = re.findall(r"```toml\n(.*?)```", GUIDE.read_text(), flags=re.DOTALL)
LINES = [line for block in BLOCKS for line in block.splitlines() if "=" in line]


def test_the_guide_covers_every_supported_part() -> None:
    drivers = {tomllib.loads(line).popitem()[1].get("driver") for line in LINES}
    assert drivers >= {"rc522", "rdm6300", "pn532", "ads1115", "pzem004t", "gpio", None}


@pytest.mark.parametrize("line", LINES)
def test_each_config_line_in_the_guide_validates(line: str) -> None:
    key, table = tomllib.loads(line).popitem()
    if key == "mcu":
        mcu.Config.model_validate({"driver": "mcu", **table})
        return
    annotation = MachineConfig.model_fields[key].annotation
    assert annotation is not None
    TypeAdapter(annotation).validate_python(table)
