"""Machine profiles for the emulator, as data: what a machine draws when idle and when working."""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType


class Load(StrEnum):
    """What the operator is doing with the machine."""

    OFF = "off"  # switched off at the machine
    IDLE = "idle"  # on, motor or chiller running, not cutting
    RUNNING = "running"  # working the piece


@dataclass(frozen=True, slots=True)
class MachineProfile:
    """One kind of machine on single-phase mains; currents are RMS amps at `volts`."""

    name: str
    idle_amps: float
    running_amps: float
    idle_pf: float
    running_pf: float
    noise: float = 0.03  # gaussian sigma as a fraction of the current
    floor_amps: float = 0.005  # the clamp's own noise when nothing flows

    def current(self, load: Load, *, seconds_in_state: float, rng: random.Random) -> float:
        """RMS amps for `load`; `seconds_in_state` is there for inrush and pulsing to come."""
        del seconds_in_state  # steady draw in this version
        mean = {Load.OFF: 0.0, Load.IDLE: self.idle_amps, Load.RUNNING: self.running_amps}[load]
        sigma = max(mean * self.noise, self.floor_amps)
        return max(0.0, rng.gauss(mean, sigma))

    def power_factor(self, load: Load) -> float:
        """Real power over apparent power for `load` (motors idle with a poor one)."""
        return self.running_pf if load is Load.RUNNING else self.idle_pf


PROFILES: Mapping[str, MachineProfile] = MappingProxyType(
    {
        p.name: p
        for p in (
            # 1.1 kW motor: spinning the chuck with no cut still takes a good share
            MachineProfile("lathe", idle_amps=1.8, running_amps=6.5, idle_pf=0.35, running_pf=0.8),
            # 2.2 kW spindle; steppers, controller and vacuum when idle
            MachineProfile(
                "cnc-router", idle_amps=1.2, running_amps=9.0, idle_pf=0.6, running_pf=0.85
            ),
            # 80 W CO2 tube: chiller, fans and fume extraction dominate when idle
            MachineProfile(
                "laser-cutter", idle_amps=1.5, running_amps=5.0, idle_pf=0.7, running_pf=0.9
            ),
            # 550 W motor
            MachineProfile(
                "drill-press", idle_amps=1.6, running_amps=3.5, idle_pf=0.35, running_pf=0.75
            ),
        )
    }
)
"""The known machine profiles by name."""


def machine_profile(profile: str | MachineProfile) -> MachineProfile:
    """A profile by name (ValueError listing the known names), or the profile itself."""
    if isinstance(profile, MachineProfile):
        return profile
    try:
        return PROFILES[profile]
    except KeyError:
        known = ", ".join(sorted(PROFILES))
        raise ValueError(f"profile: unknown machine {profile!r}; known: {known}") from None
