"""A known week on three machines: every working day the same pattern, so every total is known.

Each day from 08:00 to 18:00 UTC a gateway sends one sample a minute (it is off at night):
an hour locked, two hours running, an hour idle, an hour unlocked, then half an hour of current
on the locked machine (unattributed use), then locked until 18:00. The lathe's gateway loses
five samples of the first day (a gap in its sample counter). Each day's unlocked stretch is one
session, closed when the machine locks: the lathe is Giulia's, the mill Marco's, the laser
Sara's on the first three days and Giulia's on the other four.

Each site has one gateway. It says online every hour of the working day with its spool, and
offline (a clean stop, with its spool) at 18:00; the south gateway stays on the last evening.
On the third day the north gateway's spool holds a backlog it works off over two hours. A few
messages are garbage and rejected: negative current, a spool of -1 and of "x", a bad site and
an unknown topic kind.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

from contract import (
    EndReason,
    GatewayStatus,
    GatewayStatusValue,
    GatewayTopic,
    MachineState,
    MachineTopic,
    SessionRecord,
    StateChange,
    Telemetry,
    TopicKind,
    card_hash,
    encode_payload,
)

DAY_MS = 86_400_000
MINUTE_MS = 60_000
SAMPLE_S = 60
WORK_START_MS = 8 * 3_600_000
WORK_MINUTES = 600
VOLTS = 230.0
UNATTRIBUTED_AMPS = 3.0
LOST_SEQS = frozenset(range(400, 405))  # the lathe's first day, while locked


@dataclass(frozen=True, slots=True)
class Stretch:
    """A stretch of the working day: from which minute, in which state, at which current."""

    start_minute: int
    state: MachineState
    current: str  # "off", "run", "idle" or "stray"


DAY = (
    Stretch(0, MachineState.LOCKED, "off"),
    Stretch(60, MachineState.RUNNING, "run"),
    Stretch(180, MachineState.IDLE, "idle"),
    Stretch(240, MachineState.UNLOCKED, "off"),
    Stretch(300, MachineState.LOCKED, "stray"),
    Stretch(330, MachineState.LOCKED, "off"),
)


@dataclass(frozen=True, slots=True)
class WeekMachine:
    """A machine of the week and the current it draws running and idle."""

    site: str
    machine: str
    run_amps: float
    idle_amps: float
    loses_samples: bool = False

    def amps(self, current: str) -> float:
        """The current of a stretch."""
        return {"off": 0.0, "run": self.run_amps, "idle": self.idle_amps}.get(
            current, UNATTRIBUTED_AMPS
        )

    def kwh_per_day(self) -> float:
        """Energy a day: 120 min running, 60 idle, 30 unattributed, at 230 V."""
        watt_minutes = (120 * self.run_amps + 60 * self.idle_amps + 30 * UNATTRIBUTED_AMPS) * VOLTS
        return watt_minutes / 60 / 1000


MACHINES = (
    WeekMachine("officina-nord", "lathe-1", run_amps=10.0, idle_amps=2.0, loses_samples=True),
    WeekMachine("officina-nord", "mill-1", run_amps=5.0, idle_amps=1.0),
    WeekMachine("officina-sud", "laser-1", run_amps=8.0, idle_amps=1.0),
)
DAYS = 7


def _stretch_at(minute: int) -> Stretch:
    return [s for s in DAY if s.start_minute <= minute][-1]


def telemetry(week_start_ms: int, machine: WeekMachine) -> Iterator[tuple[str, Telemetry]]:
    """Every sample the machine's gateway sends in the week, with its topic."""
    topic = str(MachineTopic(machine.site, machine.machine, TopicKind.TELEMETRY))
    seq = 0
    wh = 0.0
    for day in range(DAYS):
        for minute in range(WORK_MINUTES):
            stretch = _stretch_at(minute)
            amps = machine.amps(stretch.current)
            wh += amps * VOLTS / 60
            seq += 1
            if machine.loses_samples and seq in LOST_SEQS:
                continue
            ts = week_start_ms + day * DAY_MS + WORK_START_MS + minute * MINUTE_MS
            yield (
                topic,
                Telemetry(
                    id=f"t-{uuid.uuid4()}",
                    ts=ts,
                    seq=seq,
                    amps=amps,
                    volts=VOLTS,
                    watts=amps * VOLTS,
                    wh=wh,
                    state=stretch.state,
                ),
            )


def state_changes(week_start_ms: int, machine: WeekMachine) -> Iterator[tuple[str, StateChange]]:
    """Every state change of the week (the last locked stretch continues the one before)."""
    topic = str(MachineTopic(machine.site, machine.machine, TopicKind.STATE))
    for day in range(DAYS):
        session = str(uuid.uuid4())
        for stretch in DAY[:5]:
            since = week_start_ms + day * DAY_MS + WORK_START_MS + stretch.start_minute * MINUTE_MS
            in_session = stretch.state is not MachineState.LOCKED
            yield (
                topic,
                StateChange(
                    id=f"s-{uuid.uuid4()}",
                    ts=since,
                    state=stretch.state,
                    member=member_of(machine, day) if in_session else None,
                    session=session if in_session else None,
                    since=since,
                ),
            )


@dataclass(frozen=True, slots=True)
class WeekGateway:
    """A site's gateway and the machines it serves."""

    site: str
    gateway: str
    machines: tuple[str, ...]
    stays_on_last_evening: bool = False


GATEWAYS = (
    WeekGateway("officina-nord", "gw-nord", ("lathe-1", "mill-1")),
    WeekGateway("officina-sud", "gw-sud", ("laser-1",), stays_on_last_evening=True),
)
HOUR_MS = 3_600_000
STATUS_HOURS = 10  # online at 08:00, 09:00, … 17:00
# The north gateway's backlog on the third day, by hour of its working day.
BACKLOG_DAY = 2
BACKLOG = {2: 240, 3: 35}
SOUTH_LAST_SPOOL = 2


def _spool(gateway: WeekGateway, day: int, hour: int) -> int:
    if gateway.gateway == "gw-nord" and day == BACKLOG_DAY:
        return BACKLOG.get(hour, 0)
    last = day == DAYS - 1 and hour == STATUS_HOURS - 1
    return SOUTH_LAST_SPOOL if gateway.stays_on_last_evening and last else 0


def statuses(week_start_ms: int, gateway: WeekGateway) -> Iterator[tuple[str, GatewayStatus]]:
    """Every status the gateway sends in the week, with its topic."""
    topic = str(GatewayTopic(gateway.site, gateway.gateway))
    for day in range(DAYS):
        morning = week_start_ms + day * DAY_MS + WORK_START_MS
        for hour in range(STATUS_HOURS):
            spool = _spool(gateway, day, hour)
            yield (
                topic,
                _status(gateway, GatewayStatusValue.ONLINE, morning + hour * HOUR_MS, spool),
            )
        if not (gateway.stays_on_last_evening and day == DAYS - 1):
            evening = morning + WORK_MINUTES * MINUTE_MS
            yield topic, _status(gateway, GatewayStatusValue.OFFLINE, evening, 0)


def _status(gateway: WeekGateway, value: GatewayStatusValue, ts: int, spool: int) -> GatewayStatus:
    return GatewayStatus(
        id=f"{gateway.gateway}-{value}-{ts}",
        ts=ts,
        status=value,
        version="0.4.0",
        machines=gateway.machines,
        spool=spool,
        spool_oldest_s=90.0 if spool else None,
    )


def rejected(week_start_ms: int) -> list[tuple[str, bytes]]:
    """The week's garbage: (topic, raw bytes), each message placed at its own ts."""
    noon = week_start_ms + DAY_MS + 12 * HOUR_MS
    lathe = str(MachineTopic("officina-nord", "lathe-1", TopicKind.TELEMETRY))
    sud = str(GatewayTopic("officina-sud", "gw-sud"))

    def negative_amps(ts: int) -> bytes:
        return json.dumps(
            {"v": 1, "id": f"t-{ts}", "ts": ts, "seq": 1, "amps": -1.0, "state": "idle"}
        ).encode()

    def bad_spool(ts: int, spool: object) -> bytes:
        document = json.loads(
            encode_payload(_status(GATEWAYS[1], GatewayStatusValue.ONLINE, ts, 0))
        )
        return json.dumps(document | {"spool": spool}).encode()

    return [
        (lathe, negative_amps(noon)),
        (lathe, negative_amps(noon + MINUTE_MS)),
        (lathe, negative_amps(noon + 2 * MINUTE_MS)),
        (sud, bad_spool(noon + DAY_MS, -1)),
        (sud, bad_spool(noon + DAY_MS + 1000, "x")),
        ("officina/v1/Officina_Nord/machines/lathe-1/telemetry", negative_amps(noon + 5000)),
        ("officina/v1/officina-nord/machines/lathe-1/gossip", negative_amps(noon + 6000)),
    ]


# What the Rejected messages panel counts, by site and kind ("unknown": a level that is bad).
REJECTED = {
    ("officina-nord", "telemetry"): 3.0,
    ("officina-sud", "status"): 2.0,
    ("unknown", "telemetry"): 1.0,
    ("officina-nord", "unknown"): 1.0,
}


# What the Session conflicts panel counts: the lathe's first session comes again, altered.
CONFLICTED_MACHINE = ("officina-nord", "lathe-1")
SESSION_CONFLICTS = {CONFLICTED_MACHINE: 1.0}


def conflicting_copy(record: SessionRecord) -> SessionRecord:
    """The same session sent again a second later with more energy: a conflict, not a repeat."""
    return record.model_copy(update={"ts": record.ts + 1000, "energy_wh": record.energy_wh + 1})


SESSION_START_MINUTE, SESSION_END_MINUTE = 60, 300  # from running to locked again
SARAS_LASER_DAYS = 3


def member_of(machine: WeekMachine, day: int) -> str:
    """Who used the machine that day."""
    if machine.machine == "mill-1":
        return "marco"
    if machine.machine == "laser-1" and day < SARAS_LASER_DAYS:
        return "sara"
    return "giulia"


def session_kwh(machine: WeekMachine) -> float:
    """What a day's session meters: two hours running and one idle, at 230 V."""
    return (120 * machine.run_amps + 60 * machine.idle_amps) * VOLTS / 60 / 1000


def sessions(week_start_ms: int, machine: WeekMachine) -> Iterator[tuple[str, SessionRecord]]:
    """Every session of the week, closed at the end of the unlocked stretch."""
    topic = str(MachineTopic(machine.site, machine.machine, TopicKind.SESSIONS))
    for day in range(DAYS):
        morning = week_start_ms + day * DAY_MS + WORK_START_MS
        started = morning + SESSION_START_MINUTE * MINUTE_MS
        ended = morning + SESSION_END_MINUTE * MINUTE_MS
        yield (
            topic,
            SessionRecord(
                id=str(uuid.uuid4()),
                ts=ended,
                machine=machine.machine,
                member=member_of(machine, day),
                card=card_hash("04A1B2C3", b"week"),
                started=started,
                ended=ended,
                unlocked_s=(ended - started) / 1000,
                running_s=120 * 60.0,
                idle_s=60 * 60.0,
                energy_wh=session_kwh(machine) * 1000,
                end_reason=EndReason.BADGE_OUT,
                clock_ok=True,
            ),
        )
