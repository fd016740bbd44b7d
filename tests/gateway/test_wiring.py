"""`officina gateway check`: the wiring check a volunteer runs when fitting a machine."""

from __future__ import annotations

import threading
from pathlib import Path

from typer.testing import CliRunner

from firmware_bridge.emulator import Emulator
from gateway.cli import app
from gateway.config import MachineConfig, mcu_roles
from gateway.wiring import WiringEvent, check_machine


def test_the_live_check_clicks_the_relay_and_shows_amps_and_cards() -> None:
    events: list[WiringEvent] = []
    with Emulator("drill-press", sample_period_s=0.1, seed=2) as board:
        machine = MachineConfig(id="drill-1", idle_amps=0.8, run_amps=2.6, **mcu_roles(board.port))
        timer = threading.Timer(0.8, board.present_card, args=("04A1B2C3",))
        timer.start()
        ok = check_machine(machine, site_key=b"k" * 16, seconds=1.5, report=events.append)
        timer.join()
    assert ok
    relay = [e.detail for e in events if e.what == "relay"]
    assert relay == ["energised", "de-energised"]
    assert sum(e.what == "current" for e in events) >= 5
    [card] = [e.detail for e in events if e.what == "card"]
    assert card.startswith("…B2C3 (hash ")
    assert "04A1B2C3" not in card


def test_the_live_check_reports_a_board_that_is_not_there(tmp_path: Path) -> None:
    events: list[WiringEvent] = []
    machine = MachineConfig(
        id="drill-1", idle_amps=0.8, run_amps=2.6, **mcu_roles(str(tmp_path / "ttyNONE"))
    )
    assert not check_machine(machine, site_key=b"k" * 16, seconds=0.2, report=events.append)
    assert events[-1].what == "failed"


def test_check_validates_a_file_and_lists_its_machines(tmp_path: Path) -> None:
    path = tmp_path / "gateway.toml"
    path.write_text(
        """
site = "officine-zero"
gateway = "gw-a"
site_key = "a-long-enough-site-key-of-the-wiring-tests"

[[machines]]
id = "laser-1"
idle_amps = 1.0
run_amps = 3.2
mcu = { port = "/dev/ttyACM0" }
"""
    )
    result = CliRunner().invoke(app, ["check", "--config", str(path)])
    assert result.exit_code == 0, result.output
    assert "laser-1" in result.output
    assert "current mcu" in result.output

    path.write_text(path.read_text().replace("run_amps = 3.2", "run_amps = 0.5"))
    result = CliRunner().invoke(app, ["check", "--config", str(path)])
    assert result.exit_code == 2
    assert "run_amps: must be greater than idle_amps" in result.output
