"""Each meter driver's energy register, through its bus-level fake, into the session machine."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from contract import SessionRecord, card_hash
from firmware_bridge import Bridge, Emulator
from firmware_bridge.clock import ManualClock
from gateway.access import AccessList, Grant
from gateway.drivers import CURRENT_DRIVERS, mcu
from gateway.drivers.base import CurrentReading
from gateway.drivers.current import ads1115, pzem004t
from gateway.energy import NEVER_WRAPS, EnergyRegister, RegisterRange, StepKind
from gateway.run_detection import RunThresholds
from gateway.session import Effect, MachineSessions, MeterStepBack, Publish, SessionPolicy
from tests.gateway.drivers.fakes.ads1115 import FakeAds1115, sine
from tests.gateway.drivers.fakes.pzem004t import ENERGY_TOP_WH, FakePzem004t

KEY = b"meter-test-site-key-0123456789ab"
GIULIA = card_hash("04A1B2C3", KEY)
START_MS = 1_767_225_600_000


def _machine(clock: ManualClock) -> MachineSessions:
    return MachineSessions(
        "lathe-1",
        thresholds=RunThresholds(idle_amps=0.5, run_amps=3.0, min_dwell_s=0),
        policy=SessionPolicy(),
        access=AccessList([Grant(GIULIA, "giulia")], version=1),
        clock=clock,
    )


def _sample(machine: MachineSessions, reading: CurrentReading | None) -> list[Effect]:
    assert reading is not None
    return machine.sample(
        reading.amps,
        volts=reading.volts,
        watts=reading.watts,
        meter_wh=reading.meter_wh,
        meter_range=reading.meter_range,
    )


def _session(effects: list[Effect]) -> SessionRecord:
    [record] = [e.payload for e in effects if isinstance(e, Publish)
                and isinstance(e.payload, SessionRecord)]  # fmt: skip
    return record


def _steps_back(effects: list[Effect]) -> list[MeterStepBack]:
    return [e for e in effects if isinstance(e, MeterStepBack)]


def test_every_current_driver_declares_its_energy_register() -> None:
    declared = {name: module.ENERGY_REGISTER for name, module in CURRENT_DRIVERS.items()}
    assert declared == {
        "pzem004t": RegisterRange(wraps_at_wh=10_000_000, resolution_wh=1.0),
        "mcu": NEVER_WRAPS,
        "ads1115": None,
    }


def test_a_pzem_register_wrapping_mid_session_loses_nothing() -> None:
    clock = ManualClock(wall_ms=START_MS)
    chip = FakePzem004t(address=0x01)
    chip.amps, chip.watts, chip.energy_wh = 15.6, 3600.0, ENERGY_TOP_WH - 95
    meter = pzem004t.Driver(pzem004t.Config(driver="pzem004t", port="/dev/ttyUSB0"), bus=chip)
    meter.open()
    machine = _machine(clock)
    _sample(machine, meter.read())
    machine.badge(GIULIA)
    stepped: list[MeterStepBack] = []
    for _ in range(20):  # 20 s at 36 kW: 10 Wh a second, across the top at the 10th second
        clock.advance(1.0)
        chip.draw(10)
        stepped += _steps_back(_sample(machine, meter.read()))
    assert chip.energy_wh == 105
    record = _session(machine.badge(GIULIA))
    assert record.energy_wh == 200
    assert [step.kind for step in stepped] == [StepKind.WRAPPED]


def test_a_pzem_reset_command_mid_session_is_a_reset_not_a_wrap() -> None:
    clock = ManualClock(wall_ms=START_MS)
    chip = FakePzem004t(address=0x01)
    chip.amps, chip.watts, chip.energy_wh = 15.6, 3600.0, 4_000_000
    meter = pzem004t.Driver(pzem004t.Config(driver="pzem004t", port="/dev/ttyUSB0"), bus=chip)
    meter.open()
    machine = _machine(clock)
    _sample(machine, meter.read())
    machine.badge(GIULIA)
    stepped: list[MeterStepBack] = []
    for second in range(10):
        clock.advance(1.0)
        chip.draw(10)
        if second == 5:
            meter.reset_energy()
            chip.draw(3)  # drawn after the reset, before the next poll
        stepped += _steps_back(_sample(machine, meter.read()))
    record = _session(machine.badge(GIULIA))
    # Five polls of 10 Wh, the 3 Wh after the reset, then four polls of 10 Wh: the 10 Wh the
    # meter counted between the last poll and its reset is the one thing no meter can give back.
    assert record.energy_wh == 50 + 3 + 40
    assert [(step.kind, step.before_wh) for step in stepped] == [(StepKind.RESET, 4_000_050)]


@pytest.fixture
def board() -> Iterator[Emulator]:
    """A lathe's board sending a measurement 20 times a second."""
    with Emulator("lathe", sample_period_s=0.05, seed=7) as emulated:
        yield emulated


def test_an_mcu_board_reset_mid_session_keeps_what_was_drawn_before_it(board: Emulator) -> None:
    config = mcu.Config(driver="mcu", port=board.port)
    driver = mcu.Driver(config, bus=Bridge(board.port, hello_timeout_s=2.0))
    current, relay = driver.current(), driver.relay()
    current.open()
    relay.open()
    clock = ManualClock(wall_ms=START_MS)
    machine = _machine(clock)
    stepped: list[MeterStepBack] = []

    def take(readings: int) -> float:
        """Feed the next `readings` measurements (a board restarting sends none for a while)."""
        last, taken = 0.0, 0
        while taken < readings:
            reading = current.read()
            if reading is None or reading.meter_wh is None:
                continue
            clock.advance(0.05)
            stepped.extend(_steps_back(_sample(machine, reading)))
            last, taken = reading.meter_wh, taken + 1
        return last

    try:
        take(1)
        machine.badge(GIULIA)
        relay.set(True)
        board.set_load("running")
        before_reset = take(20)
        assert before_reset > 0
        board.reset_board()
        take(20)
        record = _session(machine.badge(GIULIA))
    finally:
        relay.close()
        current.close()
    assert [step.kind for step in stepped] == [StepKind.RESET]
    assert stepped[0].before_wh >= before_reset
    assert record.energy_wh >= round(stepped[0].before_wh, 3)


def test_an_ads1115_clamp_has_no_register_and_its_energy_comes_from_amps() -> None:
    clock = ManualClock(wall_ms=START_MS)
    chip = FakeAds1115(clock, inputs={"A0": sine(0.2)})  # 6 A through a 30 A/V clamp
    config = ads1115.Config(driver="ads1115", amps_per_volt=30.0)
    clamp = ads1115.Driver(config, bus=chip, clock=clock)
    clamp.open()
    machine = _machine(clock)
    machine.badge(GIULIA)
    for _ in range(10):
        reading = clamp.read()
        assert reading is not None and reading.meter_wh is None
        _sample(machine, reading)
    record = _session(machine.badge(GIULIA))
    assert record.energy_wh > 0


@pytest.mark.parametrize(
    ("before", "after", "seconds", "kind", "added"),
    [
        (9_999_990.0, 5.0, 2.0, StepKind.WRAPPED, 15.0),
        (9_999_990.0, 5.0, 0.0, StepKind.RESET, 0.0),  # no time passed: no wrap could happen
        (9_999_999.0, 0.0, 0.0, StepKind.WRAPPED, 1.0),  # one step of the register: a wrap
        (4_000_000.0, 2.0, 1.0, StepKind.RESET, 2.0),
        (4_000_000.0, 3_000_000.0, 1.0, StepKind.RESET, 0.0),  # a drop to nowhere near zero
        (100.0, 130.0, 1.0, StepKind.COUNTED, 30.0),
    ],
)
def test_a_drop_is_a_wrap_only_when_the_machine_could_have_drawn_across_the_top(
    before: float, after: float, seconds: float, kind: StepKind, added: float
) -> None:
    register = EnergyRegister(RegisterRange(wraps_at_wh=10_000_000, resolution_wh=1.0))
    register.read(before, 100.0)
    step = register.read(after, 100.0 + seconds)
    assert (step.kind, step.added_wh) == (kind, added)
    assert (register.wraps, register.resets) == (
        int(kind is StepKind.WRAPPED),
        int(kind is StepKind.RESET),
    )


def test_a_register_that_never_wraps_takes_every_drop_as_a_reset() -> None:
    register = EnergyRegister(NEVER_WRAPS)
    register.read(9_999_990.0, 0.0)
    step = register.read(5.0, 1.0)
    assert (step.kind, step.added_wh) == (StepKind.RESET, 5.0)
