"""Machine profiles as data: each machine is a table of parts (motors, fans, a laser tube) drawing
current, and `Circuit` works out what a CT clamp on the machine's supply reads.

How the clamp's reading is made, and why it matters for run detection:

- Every part is a row (`Draw`): its steady RMS amps and power factor, the loads it is on in, and
  how it moves: an inrush when it starts, on/off pulses, a slow wander.
- The parts' currents add as phasors (each lags the voltage by its power factor angle), so a
  motor idling at a poor power factor and a resistive load do not simply add their amps.
- A board measures RMS over whole mains cycles for the whole sample period: the reading is
  `sqrt(mean of i² over the window)`, and real power is the mean of p over the window. A laser's
  tube pulsing at a few hertz is therefore averaged inside one reading; only a window shorter
  than a pulse period shows the tube's on and off states as separate readings.
- An inrush lasts a few hundred milliseconds, so one reading (or, at short sample periods, a
  few) after a motor starts is several times the running current. A run detector rides it out
  with a minimum dwell longer than the inrush.

Calibrating run detection (`idle_amps`, `run_amps` per machine) against these profiles:

| profile | idle, A | running, A | running, lowest 1 s reading | what moves |
|---|---|---|---|---|
| lathe | 1.8 | 5.9 | 4.6 | spindle inrush 6x for 0.3 s; the cut wanders ±30 % at most |
| cnc-router | 3.3 | 9.2 | 7.8 | dust extraction always on, inrush 5x for 0.25 s |
| laser-cutter | 2.5 | 4.7 | 4.4 | tube in 2.5 Hz bursts, 60 % on; chiller inrush 4x |
| drill-press | 1.6 | 3.5 | 2.9 | motor inrush 6x for 0.2 s; drilling wanders |

A laser read over windows shorter than a pulse period (0.4 s) swings between its idle current
and about 6 A from one reading to the next; read over a second or more it stays above 4.4 A.
A reading describes the window that just closed, so a change shows up to one window late.
"""

from __future__ import annotations

import cmath
import math
import random
from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from types import MappingProxyType


class Load(StrEnum):
    """What the operator is doing with the machine."""

    OFF = "off"  # switched off at the machine
    IDLE = "idle"  # on, motor or chiller running, not cutting
    RUNNING = "running"  # working the piece


ON = frozenset({Load.IDLE, Load.RUNNING})
"""A part that runs whenever the machine is switched on."""
CUTTING = frozenset({Load.RUNNING})
"""A part that draws only while the machine works the piece."""

_MAX_TICKS = 250  # a span longer than this many mains cycles is integrated in coarser steps
_WANDER_LIMIT = 2.0  # a wandering load stays within this many standard deviations


@dataclass(frozen=True, slots=True, kw_only=True)
class Draw:
    """One part of a machine that draws current: a row of its profile."""

    part: str
    amps: float  # steady RMS amps at nominal mains voltage
    pf: float  # displacement power factor, 0 < pf <= 1
    when: frozenset[Load]  # the loads in which the part is on
    inrush_x: float = 1.0  # multiple of `amps` drawn right after the part starts
    inrush_s: float = 0.0  # how long the inrush lasts
    pulse_hz: float = 0.0  # on/off bursts per second while on; 0 for a steady draw
    duty: float = 1.0  # fraction of each pulse period the part draws
    wander: float = 0.0  # standard deviation of a slow drift, as a fraction of `amps`
    wander_s: float = 10.0  # how quickly the drift changes (its time constant)

    def __post_init__(self) -> None:
        problems = [
            name
            for name, ok in (
                ("amps", self.amps >= 0),
                ("pf", 0 < self.pf <= 1),
                ("when", Load.OFF not in self.when),
                ("inrush_x", self.inrush_x >= 1),
                ("inrush_s", self.inrush_s >= 0),
                ("pulse_hz", self.pulse_hz >= 0),
                ("duty", 0 < self.duty <= 1),
                ("wander", 0 <= self.wander < 1 / _WANDER_LIMIT),
                ("wander_s", self.wander_s > 0),
            )
            if not ok
        ]
        if problems:
            raise ValueError(f"{self.part}: out of range: {', '.join(problems)}")

    @property
    def phasor(self) -> complex:
        """Its steady current as a phasor: in phase with the voltage, and lagging it."""
        return cmath.rect(self.amps, -math.acos(self.pf))

    def on_fraction(self, start: float, end: float) -> float:
        """Fraction of [start, end] (seconds since the part started) that it draws."""
        if self.pulse_hz == 0 or end <= start:
            return 1.0
        return (_pulse_on_time(end, self) - _pulse_on_time(start, self)) / (end - start)


def _pulse_on_time(t: float, draw: Draw) -> float:
    period = 1.0 / draw.pulse_hz
    whole, into = divmod(t, period)
    return whole * draw.duty * period + min(into, draw.duty * period)


@dataclass(frozen=True, slots=True)
class MachineProfile:
    """One kind of machine on single-phase mains: its parts, and the clamp's own noise."""

    name: str
    draws: tuple[Draw, ...]
    noise: float = 0.02  # the clamp's measurement noise, a fraction of the reading
    floor_amps: float = 0.005  # what the clamp reads with nothing flowing

    def nominal_amps(self, load: Load) -> float:
        """Steady RMS amps in `load` over a long window: pulses averaged, no inrush or wander."""
        on = [d for d in self.draws if load in d.when]
        return math.sqrt(_mean_square([(d.phasor, d.duty) for d in on]))

    def nominal_watts(self, load: Load, *, volts: float = 230.0) -> float:
        """Steady real power in `load` at `volts`."""
        return volts * sum(d.phasor.real * d.duty for d in self.draws if load in d.when)

    def power_factor(self, load: Load) -> float:
        """Real power over apparent power in steady `load` (1.0 when nothing draws)."""
        amps = self.nominal_amps(load)
        return self.nominal_watts(load, volts=1.0) / amps if amps else 1.0

    def without_inrush(self) -> MachineProfile:
        """The same machine with its motors soft-started: no inrush when it is switched on."""
        draws = tuple(replace(d, inrush_x=1.0, inrush_s=0.0) for d in self.draws)
        return replace(self, draws=draws)

    @property
    def idle_amps(self) -> float:
        """Steady RMS amps switched on and not cutting."""
        return self.nominal_amps(Load.IDLE)

    @property
    def running_amps(self) -> float:
        """Steady RMS amps while working the piece."""
        return self.nominal_amps(Load.RUNNING)


def _mean_square(parts: list[tuple[complex, float]]) -> float:
    """Mean of |i|² for parts (phasor, fraction of the time on), each switching independently."""
    mean = sum((phasor * on for phasor, on in parts), 0j)
    spread = sum(abs(phasor) ** 2 * on * (1 - on) for phasor, on in parts)
    return abs(mean) ** 2 + spread


@dataclass(frozen=True, slots=True)
class Window:
    """What the clamp accumulated over a stretch of time: ∫i²dt, ∫p dt and its length."""

    amp2_s: float = 0.0
    watt_s: float = 0.0
    seconds: float = 0.0

    def __add__(self, other: Window) -> Window:
        return Window(
            self.amp2_s + other.amp2_s, self.watt_s + other.watt_s, self.seconds + other.seconds
        )

    @property
    def irms(self) -> float:
        """RMS amps over the window."""
        return math.sqrt(self.amp2_s / self.seconds) if self.seconds > 0 else 0.0

    @property
    def watts(self) -> float:
        """Mean real power over the window."""
        return self.watt_s / self.seconds if self.seconds > 0 else 0.0


class Circuit:
    """A machine's supply as the clamp sees it: which parts are on, since when, how they drift."""

    def __init__(self, profile: MachineProfile, *, rng: random.Random, mains_hz: float) -> None:
        self.profile = profile
        self._rng = rng
        self._cycle_s = 1.0 / mains_hz
        self._load = Load.OFF
        self._started: list[float | None] = [None] * len(profile.draws)
        self._inrush_until = [-math.inf] * len(profile.draws)
        self._drift = [0.0] * len(profile.draws)

    @property
    def load(self) -> Load:
        """What the machine is doing electrically (OFF while the interlock is open)."""
        return self._load

    def switch(self, load: Load, now: float, *, inrush: bool = True) -> None:
        """The machine's electrical load changes at `now`: parts start (with `inrush`) and stop."""
        self._load = load
        for i, draw in enumerate(self.profile.draws):
            if load not in draw.when:
                self._started[i] = None
            elif self._started[i] is None:
                self._started[i] = now
                self._inrush_until[i] = now + draw.inrush_s if inrush else -math.inf
                self._drift[i] = 0.0  # a cut starts at its nominal draw

    def integrate(self, start: float, end: float, *, volts: float) -> Window:
        """What flows from `start` to `end` at `volts` (the parts stay as they are meanwhile)."""
        if end <= start:
            return Window()
        step = max(self._cycle_s, (end - start) / _MAX_TICKS)
        total = Window()
        t = start
        while t < end:
            t_next = min(end, t + step, self._next_inrush_end(t))
            total = total + self._tick(t, t_next, volts=volts)
            t = t_next
        return total

    def instant(self, now: float, *, volts: float) -> Window:
        """One mains cycle from `now`, for a reading taken while no time has passed."""
        return self._tick(now, now + self._cycle_s, volts=volts, drift=False)

    def _next_inrush_end(self, t: float) -> float:
        return min((end for end in self._inrush_until if end > t), default=math.inf)

    def _tick(self, start: float, end: float, *, volts: float, drift: bool = True) -> Window:
        dt = end - start
        parts: list[tuple[complex, float]] = []
        for i, draw in enumerate(self.profile.draws):
            started = self._started[i]
            if started is None:
                continue
            scale = draw.inrush_x if start < self._inrush_until[i] else 1.0
            if draw.wander:
                scale *= 1.0 + self._drift[i]
                if drift:
                    self._drift[i] = self._wander(draw, self._drift[i], dt)
            on = draw.on_fraction(start - started, end - started)
            parts.append((draw.phasor * scale, on))
        power = volts * sum(phasor.real * on for phasor, on in parts)
        return Window(_mean_square(parts) * dt, power * dt, dt)

    def _wander(self, draw: Draw, drift: float, dt: float) -> float:
        """An Ornstein-Uhlenbeck step: exact for any `dt`, so coarse steps drift the same way."""
        keep = math.exp(-dt / draw.wander_s)
        drift = drift * keep + self._rng.gauss(0.0, draw.wander * math.sqrt(1 - keep * keep))
        limit = _WANDER_LIMIT * draw.wander
        return min(limit, max(-limit, drift))


PROFILES: Mapping[str, MachineProfile] = MappingProxyType(
    {
        p.name: p
        for p in (
            # 1.1 kW motor: spinning the chuck with no cut takes magnetising current at a poor
            # power factor; the cut adds a real load that wanders with depth and feed.
            MachineProfile(
                "lathe",
                (
                    Draw(part="spindle motor", amps=1.8, pf=0.35, when=ON,
                         inrush_x=6.0, inrush_s=0.3),
                    Draw(part="cutting load", amps=4.6, pf=0.95, when=CUTTING,
                         wander=0.15, wander_s=8.0),
                ),
            ),
            # 2.2 kW spindle on a VFD (soft start, no inrush); the dust extraction's induction
            # motor runs, and starts with an inrush, whenever the machine is on.
            MachineProfile(
                "cnc-router",
                (
                    Draw(part="controller and steppers", amps=0.5, pf=0.6, when=ON),
                    Draw(part="dust extraction", amps=2.8, pf=0.85, when=ON,
                         inrush_x=5.0, inrush_s=0.25),
                    Draw(part="spindle", amps=6.0, pf=0.9, when=CUTTING,
                         wander=0.12, wander_s=6.0),
                ),
            ),
            # 80 W CO2 tube: its power supply fires in bursts while a job runs (cuts on, travel
            # moves off); chiller, fans and fume extraction run whenever the machine is on.
            MachineProfile(
                "laser-cutter",
                (
                    Draw(part="chiller", amps=1.2, pf=0.7, when=ON, inrush_x=4.0, inrush_s=0.2),
                    Draw(part="fans and fume extraction", amps=0.9, pf=0.75, when=ON),
                    Draw(part="controller and air assist", amps=0.4, pf=0.6, when=ON),
                    Draw(part="tube power supply", amps=3.4, pf=0.95, when=CUTTING,
                         pulse_hz=2.5, duty=0.6),
                ),
            ),
            # 550 W motor; drilling loads it in bursts as the quill goes down and up.
            MachineProfile(
                "drill-press",
                (
                    Draw(part="motor", amps=1.6, pf=0.35, when=ON, inrush_x=6.0, inrush_s=0.2),
                    Draw(part="drilling load", amps=2.2, pf=0.9, when=CUTTING,
                         wander=0.15, wander_s=3.0),
                ),
            ),
        )
    }
)  # fmt: skip
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
