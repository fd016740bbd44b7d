"""One gateway's part of the simulated floor: its machines, the members at them, the truth.

`GatewayFloor` runs the real `gateway.daemon.Gateway` on simulated hardware in lock step (see
`lockstep`), plays the month's visits at its machines, and writes down what really happened:
each session as the interlock let it happen, with its running, idle and unlocked time and its
energy exactly as the machine used them. That record is the ground truth the statements are
checked against.

Faults that happen at the gateway itself are part of its floor: a power cut (the floor stops,
says so, and waits to be killed), a day without network (it pauses at either end of the day
so that whoever runs the simulation can cut and restore the link), and a wall clock that runs
late until it jumps. Each pause is a line of JSON on stdout answered by a line on stdin.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any
from zoneinfo import ZoneInfo

from contract import POLICY_FIELDS
from gateway.config import (
    AccessConfig,
    BrokerConfig,
    GatewayConfig,
    MachineConfig,
    SpoolConfig,
    mcu_roles,
)
from gateway.daemon import Gateway
from gateway.drivers import MachineDrivers
from officina.simulation.lockstep import (
    BoardState,
    Lockstep,
    LockstepInbox,
    SimCardReader,
    SimClock,
    SimCurrentSensor,
    SimRelay,
)
from officina.simulation.schedule import (
    Load,
    OpenDay,
    Visit,
    communal_cycles,
    open_days,
    plan_machine,
)
from officina.simulation.workshop import (
    IDLE_TIMEOUT_S,
    MACHINES,
    MEMBERS,
    POWER_FACTOR,
    SITE,
    SITE_KEY,
    TIMEZONE,
    VOLTS,
    SimMachine,
    machine_spec,
)
from services.billing.months import Month

log = logging.getLogger(__name__)

DRAIN_S = 600
FAULT_HOUR = 11  # faults strike from 11:00 local time on their day


@dataclass(frozen=True, slots=True, kw_only=True)
class GatewayFaults:
    """What goes wrong at this gateway, by day of the month (0: nothing)."""

    power_cut_day: int = 0
    offline_day: int = 0
    clock_late_s: int = 0  # its wall clock runs this late until it jumps right
    clock_jump_day: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class FloorOptions:
    """Where the gateway's floor runs and how fast."""

    gateway: str
    month: Month
    broker_url: str
    workdir: Path
    seed: int = 2026
    step_s: int = 60
    speed: float | None = None  # simulated seconds per real second in opening hours; None: flat out
    resume_at_s: int | None = None  # after a power cut: the floor's power comes back then
    days: int | None = None  # play only the month's first open days
    telemetry_every: int = 1  # publish telemetry every this many steps (1: every sample)
    faults: GatewayFaults = GatewayFaults()


@dataclass(slots=True)
class TruthSession:
    """A session as it really was: from the interlock closing to it opening again."""

    machine: str
    member: str
    started_s: int
    ended_s: int = 0
    running_ms: int = 0
    idle_ms: int = 0
    energy_mwh: int = 0
    end: str = ""

    @property
    def unlocked_ms(self) -> int:
        """From badge-in to the lock."""
        return (self.ended_s - self.started_s) * 1000


@dataclass(slots=True)
class _Operator:
    """The member at one machine, working through the visits planned there."""

    machine: SimMachine
    board: BoardState
    visits: list[Visit]
    visit: Visit | None = None
    phase: int = 0
    steps_left: int = 0
    stage: str = "waiting"
    session: TruthSession | None = None
    samples: int = 0
    cycles: list[tuple[int, int]] = field(default_factory=list)
    load: Load = Load.OFF
    run_scale: float = 1.0


class Control:
    """The line protocol with whoever runs the simulation: events out, answers in."""

    def __init__(self, out: IO[str] | None, answers: IO[str] | None) -> None:
        self._out = out
        self._answers = answers

    def say(self, event: str, **fields: Any) -> None:
        """One event as a JSON line."""
        if self._out is not None:
            self._out.write(json.dumps({"event": event, **fields}) + "\n")
            self._out.flush()

    def pause(self, event: str, **fields: Any) -> None:
        """Say `event` and wait for the answer (an empty line is enough)."""
        self.say(event, **fields)
        if self._answers is not None:
            self._answers.readline()


class TruthLog:
    """The ground truth, appended line by line and flushed to disk as it is written."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file = path.open("a", encoding="utf-8")

    def write(self, kind: str, **fields: Any) -> None:
        """Append one record and make it durable (a power cut follows some of them)."""
        self._file.write(json.dumps({"kind": kind, **fields}) + "\n")
        self._file.flush()
        os.fsync(self._file.fileno())

    def close(self) -> None:
        """Close the file."""
        self._file.close()


def _sim_roles(machine: SimMachine) -> dict[str, Any]:
    """Driver settings for the config; never opened, the hardware is simulated."""
    roles = dict(mcu_roles(f"/dev/officina-sim-{machine.id}"))
    if not machine.reader:
        del roles["reader"], roles["relay"]
    return roles


def gateway_config(options: FloorOptions, machines: list[SimMachine]) -> GatewayConfig:
    """The configuration a real gateway at these machines would have.

    Each machine's policy is the registry's (what the api sends on the gateway's config topic),
    given here too so a floor played without the api runs by the same rules.
    """
    step = options.step_s
    here = {m.id for m in machines}
    return GatewayConfig(
        site=SITE,
        gateway=options.gateway,
        site_key=SITE_KEY,
        broker=BrokerConfig(url=options.broker_url, keepalive_s=10),
        spool=SpoolConfig(
            path=options.workdir / f"{options.gateway}-spool.db", journal_interval_s=step
        ),
        machines=tuple(
            MachineConfig(
                id=m.id,
                **_sim_roles(m),
                name=m.name,
                **{key: getattr(machine_spec(m), key) for key in POLICY_FIELDS},
                max_sample_gap_s=3.0 * step,
                volts_nominal=VOLTS,
                power_factor=POWER_FACTOR,
                telemetry_interval_s=float(step * options.telemetry_every),
            )
            for m in machines
        ),
        access=tuple(
            AccessConfig(
                card=member.card_uid,
                member=member.id,
                machines=tuple(m for m in member.machines if m in here),
            )
            for member in MEMBERS
            if any(m in here for m in member.machines)
        ),
    )


class GatewayFloor:
    """The machines of one gateway through a month, on a real gateway in lock step."""

    def __init__(self, options: FloorOptions, control: Control) -> None:
        self.options = options
        self.control = control
        self.tz = ZoneInfo(TIMEZONE)
        self.machines = [m for m in MACHINES if m.gateway == options.gateway]
        if not self.machines:
            raise ValueError(f"gateway: no machine is wired to {options.gateway!r}")
        self.days = open_days(options.month, self.tz)[: options.days]
        first_s = options.resume_at_s or self.days[0].opens_s - options.step_s
        faults = options.faults
        late_ms = -1000 * faults.clock_late_s if faults.clock_jump_day else 0
        self.clock = SimClock(now_s=first_s, wall_offset_ms=late_ms)
        self.lockstep = Lockstep(self.clock)
        self.operators: dict[str, _Operator] = {}
        for m in self.machines:
            visits = plan_machine(
                m,
                self.days,
                seed=options.seed,
                step_s=options.step_s,
                idle_timeout_s=IDLE_TIMEOUT_S,
            )
            resume = options.resume_at_s or 0
            op = _Operator(m, BoardState(), [v for v in visits if v.start_s >= resume])
            if not m.reader:
                op.cycles = [
                    c
                    for c in communal_cycles(m, self.days, seed=options.seed, step_s=options.step_s)
                    if c[0] >= resume
                ]
            self.operators[m.id] = op
        self.truth = TruthLog(options.workdir / f"{options.gateway}-truth.jsonl")
        self.gateway = Gateway(
            gateway_config(options, self.machines),
            clock=self.clock,
            drivers_factory=self._drivers,
        )
        for worker in self.gateway.workers.values():
            worker.inbox = LockstepInbox(self.lockstep)
        self._power_cut_done = False
        self._offline = False

    def _drivers(self, config: MachineConfig) -> MachineDrivers:
        board = self.operators[config.id].board
        reader = SimCardReader(self.lockstep, board) if config.reader is not None else None
        relay = SimRelay(self.lockstep, board) if config.relay is not None else None
        return MachineDrivers(
            current=SimCurrentSensor(self.lockstep, board), reader=reader, relay=relay
        )

    # -- the month -------------------------------------------------------------------------------

    def run(self) -> None:
        """Play the month (from where a power cut left it), then stop the gateway cleanly."""
        self.gateway.start()
        if not self.gateway.link.wait_connected(30.0):
            log.warning("%s: not connected to the broker yet; spooling", self.options.gateway)
        self.lockstep.settle()
        self.control.say("started", gateway=self.options.gateway, at=self.clock.now_s)
        try:
            for day in self.days:
                if day.closes_s < self.clock.now_s:
                    continue
                if not self._play_day(day):
                    return  # the power was cut: the process is about to be killed
            self._finish()
            # Whatever the broker has not acknowledged yet is still only on this gateway's disk.
            if not self.gateway.link.wait_sent(DRAIN_S):
                log.warning("%s: spool not drained within %d s", self.options.gateway, DRAIN_S)
        finally:
            self.lockstep.close()
            self.gateway.stop(timeout=30.0)
            self.truth.close()
        self.control.say("done", gateway=self.options.gateway, counters=dict(self.gateway.counters))

    def _play_day(self, day: OpenDay) -> bool:
        faults = self.options.faults
        number = day.day.day
        self.control.say("day", gateway=self.options.gateway, day=day.day.isoformat())
        if faults.offline_day and number == faults.offline_day and not self._offline:
            self._offline = True
            self.control.pause("offline-start", gateway=self.options.gateway, day=number)
        elif self._offline and number > faults.offline_day:
            self._offline = False
            self.control.pause("offline-end", gateway=self.options.gateway, day=number)
        step = self.options.step_s
        t = max(day.opens_s, self.clock.now_s + step)
        paced_from = (time.monotonic(), t)
        fault_from = int(
            datetime.combine(
                day.day, datetime.min.time().replace(hour=FAULT_HOUR), self.tz
            ).timestamp()
        )
        while t <= day.closes_s or self._anyone_in():
            self._pace(paced_from, t)
            self._step(t)
            if t >= fault_from and self._fault_now(number):
                return False
            t += step
        return True

    def _pace(self, start: tuple[float, int], t: int) -> None:
        speed = self.options.speed
        if speed is None:
            return
        real0, sim0 = start
        delay = real0 + (t - sim0) / speed - time.monotonic()
        if delay > 0:
            time.sleep(delay)

    def _anyone_in(self) -> bool:
        return any(
            op.stage != "waiting" or op.board.relay_energised for op in self.operators.values()
        )

    def _fault_now(self, day: int) -> bool:
        """Strike the day's faults once a member is cutting; True when the power is gone."""
        faults = self.options.faults
        cutting = any(
            op.session is not None and op.load is Load.RUNNING for op in self.operators.values()
        )
        if not cutting:
            return False
        late = self.clock.wall_offset_ms
        if faults.clock_jump_day and day >= faults.clock_jump_day and late:
            self.clock.wall_offset_ms = 0
            self.control.say(
                "clock-jump", gateway=self.options.gateway, at=self.clock.now_s, jump_ms=-late
            )
        power_cut_due = faults.power_cut_day and day >= faults.power_cut_day
        if power_cut_due and not self._power_cut_done and self.options.resume_at_s is None:
            self._power_cut()
            return True
        return False

    # -- one step --------------------------------------------------------------------------------

    def _step(self, t: int) -> None:
        """Account the interval up to `t`, let the members act at `t`, wait for the gateway."""
        previous = self.clock.now_s
        self.lockstep.advance(t, lambda: self._act(previous, t))
        self.lockstep.settle()
        for op in self.operators.values():
            op.samples += 1
            self._observe(op, t)

    def _act(self, previous: int, t: int) -> None:
        step_ms = (t - previous) * 1000
        gap = t - previous > 3 * self.options.step_s
        for op in self.operators.values():
            board = op.board
            # The interval (previous, t] at the load set at `previous`.
            if not gap:
                energy = round(board.watts * (t - previous) / 3.6)
                board.meter_mwh += energy
                if op.session is not None:
                    op.session.energy_mwh += energy
                    if op.load is Load.RUNNING:
                        op.session.running_ms += step_ms
                    elif op.load is Load.IDLE:
                        op.session.idle_ms += step_ms
            if op.machine.reader:
                self._operate(op, t)
            else:
                self._communal(op, t)

    def _set_load(self, op: _Operator, load: Load) -> None:
        op.load = load
        m = op.machine
        amps = {
            Load.OFF: 0.0,
            Load.IDLE: m.draw_idle_amps,
            Load.RUNNING: round(m.draw_run_amps * op.run_scale, 3),
        }[load]
        op.board.amps = amps
        op.board.watts = round(m.watts(amps), 3)

    def _communal(self, op: _Operator, t: int) -> None:
        if op.steps_left > 0:
            op.steps_left -= 1
            if op.steps_left == 0:
                self._set_load(op, Load.OFF)
        elif op.cycles and op.cycles[0][0] <= t:
            _, op.steps_left = op.cycles.pop(0)
            self._set_load(op, Load.RUNNING)

    def _operate(self, op: _Operator, t: int) -> None:
        board = op.board
        if op.stage == "waiting":
            if op.visits and op.visits[0].start_s <= t and not board.relay_energised:
                op.visit = op.visits.pop(0)
                op.run_scale = op.visit.run_scale
                board.cards.append(op.visit.card_uid)
                op.stage = "badged"
        elif op.stage == "badged":
            visit = op.visit
            if visit is None or not board.relay_energised or not visit.phases:
                op.stage = "waiting"  # refused, or never meant to work here
                return
            op.phase, op.steps_left = 0, visit.phases[0][1]
            self._set_load(op, visit.phases[0][0])
            op.stage = "working"
        elif op.stage == "working":
            visit = op.visit
            assert visit is not None
            if not board.relay_energised:
                self._set_load(op, Load.OFF)  # locked under the member's hands
                op.stage = "waiting"
                return
            op.steps_left -= 1
            if op.steps_left > 0:
                return
            op.phase += 1
            if op.phase < len(visit.phases):
                load, op.steps_left = visit.phases[op.phase]
                self._set_load(op, load)
            else:
                self._set_load(op, Load.OFF)
                op.stage = "switched-off"
        elif op.stage == "switched-off":
            visit = op.visit
            if visit is not None and visit.badge_out and board.relay_energised:
                board.cards.append(visit.card_uid)
                op.stage = "leaving"
            else:
                op.stage = "gone"  # walked away: the idle timeout will lock the machine
        elif op.stage in {"leaving", "gone"} and not board.relay_energised:
            op.stage = "waiting"

    def _observe(self, op: _Operator, t: int) -> None:
        """What the interlock did at `t`: it opened a session or ended one."""
        energised = op.board.relay_energised
        if energised and op.session is None:
            member = op.visit.member if op.visit else None
            if member is None:
                raise RuntimeError(
                    f"{op.machine.id}: the interlock was energised for nobody at {t}"
                )
            op.session = TruthSession(op.machine.id, member, t)
        elif not energised and op.session is not None:
            self._close_truth(op, t, "lock")

    def _close_truth(self, op: _Operator, t: int, end: str) -> None:
        session = op.session
        assert session is not None
        session.ended_s = t
        session.end = end
        op.session = None
        self.truth.write("session", **asdict(session), unlocked_ms=session.unlocked_ms)

    # -- faults and the end ----------------------------------------------------------------------

    def _power_cut(self) -> None:
        """The power goes: every session ends now; the gateway gets no chance to say so."""
        t = self.clock.now_s
        for op in self.operators.values():
            if op.session is not None:
                self._close_truth(op, t, "power_loss")
        self._write_samples()
        self._power_cut_done = True
        self.control.pause("power-cut", gateway=self.options.gateway, at=t)

    def _write_samples(self) -> None:
        for op in self.operators.values():
            self.truth.write("samples", machine=op.machine.id, count=op.samples)
            op.samples = 0

    def _finish(self) -> None:
        for op in self.operators.values():
            if op.session is not None:
                self._close_truth(op, self.clock.now_s, "power_loss")
        self._write_samples()


def run_gateway_floor(
    options: FloorOptions,
    *,
    out: IO[str] | None = None,
    answers: IO[str] | None = None,
    on_ready: Callable[[GatewayFloor], None] | None = None,
) -> None:
    """Run one gateway's floor through its month."""
    floor = GatewayFloor(options, Control(out, answers))
    if on_ready is not None:
        on_ready(floor)
    floor.run()


def main(argv: list[str] | None = None) -> None:
    """`python -m officina.simulation.floor '{json options}'`: one gateway's floor, as a process."""
    args = json.loads((argv or sys.argv[1:])[0])
    logging.basicConfig(
        level=args.pop("log_level", "WARNING"),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    options = FloorOptions(
        gateway=args["gateway"],
        month=Month.parse(args["month"]),
        broker_url=args["broker_url"],
        workdir=Path(args["workdir"]),
        seed=args.get("seed", 2026),
        step_s=args.get("step_s", 60),
        speed=args.get("speed"),
        resume_at_s=args.get("resume_at_s"),
        days=args.get("days"),
        telemetry_every=args.get("telemetry_every", 1),
        faults=GatewayFaults(**args.get("faults", {})),
    )
    run_gateway_floor(options, out=sys.stdout, answers=sys.stdin)


if __name__ == "__main__":
    main()
