"""The simulated shop floor: machines on emulated MCUs and members who badge in and work."""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from firmware_bridge.emulator import Emulator
from firmware_bridge.profiles import Load
from gateway.clock import ScaledClock
from gateway.config import (
    AccessConfig,
    BrokerConfig,
    GatewayConfig,
    MachineConfig,
    SpoolConfig,
    mcu_roles,
)

log = logging.getLogger(__name__)

DEMO_SITE_KEY = "demo-site-key-not-for-production"


@dataclass(frozen=True, slots=True)
class FloorMember:
    """A member of the workshop, the card in their pocket and the machines they are trained on."""

    id: str
    card_uid: str
    machines: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class FloorMachine:
    """A machine on the floor: its emulated electrical profile and its run-detection calibration."""

    id: str
    profile: str
    idle_amps: float
    run_amps: float
    hysteresis_amps: float


@dataclass(frozen=True, slots=True, kw_only=True)
class Habits:
    """How members work, in simulated minutes: (shortest, longest) of each stretch."""

    pause_min: tuple[float, float] = (1.0, 4.0)
    setup_min: tuple[float, float] = (0.5, 2.0)
    cut_min: tuple[float, float] = (2.0, 8.0)
    cuts: tuple[int, int] = (1, 3)
    walk_away_chance: float = 0.15
    stranger_chance: float = 0.08


MACHINES: tuple[FloorMachine, ...] = (
    FloorMachine("lathe-1", "lathe", idle_amps=0.8, run_amps=4.0, hysteresis_amps=0.3),
    FloorMachine("cnc-router-1", "cnc-router", idle_amps=0.6, run_amps=5.0, hysteresis_amps=0.3),
    FloorMachine("laser-1", "laser-cutter", idle_amps=0.8, run_amps=3.2, hysteresis_amps=0.3),
    FloorMachine("drill-press-1", "drill-press", idle_amps=0.8, run_amps=2.6, hysteresis_amps=0.2),
)

MEMBERS: tuple[FloorMember, ...] = (
    FloorMember("giulia", "04A1B2C3", ("lathe-1", "drill-press-1")),
    FloorMember("marco", "04D4E5F6", ("cnc-router-1", "laser-1")),
    FloorMember("chiara", "04112233", ("laser-1", "drill-press-1")),
    FloorMember("coop-legno", "04445566", ("cnc-router-1", "lathe-1")),
    FloorMember("luca", "04778899", ("lathe-1", "laser-1", "drill-press-1")),
    FloorMember("sara", "04AABBCC", ("cnc-router-1", "drill-press-1")),
)

STRANGER_CARD = "DEADBEEF"


class Floor:
    """Emulated machines, and one operator thread per machine playing the members' habits."""

    def __init__(
        self,
        *,
        clock: ScaledClock,
        machines: Sequence[FloorMachine] = MACHINES[:3],
        members: Sequence[FloorMember] = MEMBERS,
        habits: Habits = Habits(),
        sample_period_s: float = 0.2,
        seed: int = 7,
    ) -> None:
        self.clock = clock
        self.machines = tuple(machines)
        self.members = tuple(members)
        self.habits = habits
        self.sample_period_s = sample_period_s
        self._seed = seed
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.emulators: dict[str, Emulator] = {}

    def __enter__(self) -> Floor:
        self.power_on()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def power_on(self) -> None:
        """Plug in every machine's MCU (the emulators start talking on their serial ports)."""
        for n, machine in enumerate(self.machines):
            self.emulators[machine.id] = Emulator(
                machine.profile,
                sample_period_s=self.sample_period_s,
                clock=self.clock,
                seed=self._seed + n,
            )

    def gateway_config(
        self, *, site: str, gateway: str, broker_url: str, spool: Path
    ) -> GatewayConfig:
        """A gateway configuration for these machines on their emulated serial ports."""
        # One sample is this many simulated seconds; gaps are judged against it.
        sample_sim_s = self.sample_period_s * self.clock.speed
        here = {m.id for m in self.machines}
        return GatewayConfig(
            site=site,
            gateway=gateway,
            site_key=DEMO_SITE_KEY,
            broker=BrokerConfig(url=broker_url),
            spool=SpoolConfig(path=spool, journal_interval_s=max(10.0, sample_sim_s)),
            machines=tuple(
                MachineConfig(
                    id=m.id,
                    **mcu_roles(self.emulators[m.id].port),
                    idle_amps=m.idle_amps,
                    run_amps=m.run_amps,
                    hysteresis_amps=m.hysteresis_amps,
                    min_dwell_s=2.0,
                    idle_timeout_s=5 * 60.0,
                    max_duration_s=4 * 3600.0,
                    max_sample_gap_s=max(5.0, 5 * sample_sim_s),
                    telemetry_interval_s=max(1.0, sample_sim_s),
                )
                for m in self.machines
            ),
            access=tuple(
                AccessConfig(
                    card=member.card_uid,
                    member=member.id,
                    machines=tuple(m for m in member.machines if m in here),
                )
                for member in self.members
            ),
        )

    def start_work(self) -> None:
        """Let the members in: one operator thread per machine."""
        for n, machine in enumerate(self.machines):
            thread = threading.Thread(
                target=self._operate,
                args=(machine, random.Random(self._seed * 1000 + n)),  # noqa: S311 - a simulation
                name=f"operator-{machine.id}",
                daemon=True,
            )
            thread.start()
            self._threads.append(thread)

    def stop_work(self) -> None:
        """Everyone goes home; machines are left as they are."""
        self._stop.set()
        for thread in self._threads:
            thread.join(5.0)

    def close(self) -> None:
        """Stop the operators and unplug every MCU."""
        self.stop_work()
        for emulator in self.emulators.values():
            emulator.close()

    def ground_truth(self) -> dict[str, tuple[float, float]]:
        """Per machine, the running seconds and Wh the emulators actually produced."""
        return {m: (e.running_seconds, e.energy_wh) for m, e in self.emulators.items()}

    # -- the operators --------------------------------------------------------------------------

    def _wait(self, minutes: float) -> bool:
        """Wait simulated minutes; False when the floor is closing."""
        return not self._stop.wait(self.clock.real_seconds(minutes * 60.0))

    def _operate(self, machine: FloorMachine, rng: random.Random) -> None:
        emulator = self.emulators[machine.id]
        habits = self.habits
        trained = [m for m in self.members if machine.id in m.machines]
        while self._wait(rng.uniform(*habits.pause_min)):
            if rng.random() < habits.stranger_chance:
                emulator.present_card(STRANGER_CARD)
            member = rng.choice(trained)
            emulator.present_card(member.card_uid)
            if not self._wait(0.2):
                return
            emulator.set_load(Load.IDLE)
            if not self._wait(rng.uniform(*habits.setup_min)):
                return
            for _ in range(rng.randint(*habits.cuts)):
                emulator.set_load(Load.RUNNING)
                if not self._wait(rng.uniform(*habits.cut_min)):
                    return
                emulator.set_load(Load.IDLE)
                if not self._wait(rng.uniform(*habits.setup_min)):
                    return
            emulator.set_load(Load.OFF)
            if rng.random() < habits.walk_away_chance:
                log.info("%s walked away from %s without badging out", member.id, machine.id)
                continue  # the idle timeout will lock the machine
            if not self._wait(0.2):
                return
            emulator.present_card(member.card_uid)


def demo_ledger_url(directory: Path) -> str:
    """The demo's SQLite ledger inside a working directory."""
    return f"sqlite:///{directory / 'officina-demo.db'}"
