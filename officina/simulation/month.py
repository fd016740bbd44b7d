"""A simulated month across every gateway of the workshop, each gateway its own process.

`MonthRun` starts one process per gateway (`officina.simulation.floor`), reads the events they
print, and answers their pauses. A power cut is carried out here for real: the gateway's
process is killed with SIGKILL, and a new one is started when the power comes back, on the same
spool, to find the session it was in the middle of. Whoever runs the month decides what else
happens at each event (`on_event`), and must answer the pauses it is given.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import IO, Any

from officina.simulation.floor import GatewayFaults
from officina.simulation.workshop import GATEWAYS
from services.billing.months import Month

log = logging.getLogger(__name__)

POWER_OUTAGE_S = 45 * 60  # how long the power stays off after a cut, in simulated seconds


@dataclass(slots=True)
class _Process:
    gateway: str
    args: dict[str, Any]
    popen: subprocess.Popen[str]
    log: IO[str]
    reader: threading.Thread | None = None


Event = dict[str, Any]
OnEvent = Callable[["MonthRun", str, Event], None]


@dataclass(slots=True, kw_only=True)
class MonthPlan:
    """What to simulate: the month, where, how fast, and what goes wrong at which gateway."""

    month: Month
    workdir: Path
    broker_urls: dict[str, str]
    seed: int = 2026
    step_s: int = 60
    speed: float | None = None
    faults: dict[str, GatewayFaults] = field(default_factory=dict)
    gateways: tuple[str, ...] = GATEWAYS
    days: int | None = None
    telemetry_every: int = 1
    log_level: str = "WARNING"


class MonthRun:
    """The gateways' processes of one simulated month."""

    def __init__(self, plan: MonthPlan, on_event: OnEvent | None = None) -> None:
        self.plan = plan
        self.on_event = on_event
        self.events: list[tuple[str, Event]] = []
        self.injected: list[str] = []
        self._processes: dict[str, _Process] = {}
        self._done: dict[str, threading.Event] = {g: threading.Event() for g in plan.gateways}
        self._lock = threading.Lock()
        self.failures: list[str] = []

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> None:
        """Start every gateway's floor."""
        self.plan.workdir.mkdir(parents=True, exist_ok=True)
        for gateway in self.plan.gateways:
            self._spawn(gateway, resume_at_s=None)

    def wait(self, timeout_s: float) -> None:
        """Block until every gateway has played the month; TimeoutError if it takes too long."""
        for gateway, done in self._done.items():
            if not done.wait(timeout_s):
                raise TimeoutError(f"gateway {gateway} did not finish the month in {timeout_s} s")
        if self.failures:
            raise RuntimeError("; ".join(self.failures))

    def all_done(self) -> bool:
        """Whether every gateway has played the month (or failed)."""
        return all(done.is_set() for done in self._done.values())

    def stop(self) -> None:
        """Kill whatever is still running (after a failure)."""
        with self._lock:
            processes = list(self._processes.values())
        for process in processes:
            if process.popen.poll() is None:
                process.popen.kill()
                process.popen.wait(10)
            process.log.close()

    def __enter__(self) -> MonthRun:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    # -- what the month's runner does to gateways ------------------------------------------------

    def answer(self, gateway: str) -> None:
        """Let a paused gateway go on."""
        process = self._processes[gateway]
        assert process.popen.stdin is not None
        process.popen.stdin.write("\n")
        process.popen.stdin.flush()

    def note(self, what: str) -> None:
        """Record a fault that was injected, for the report."""
        log.info("injected: %s", what)
        with self._lock:
            self.injected.append(what)

    # -- processes -------------------------------------------------------------------------------

    def _spawn(self, gateway: str, *, resume_at_s: int | None) -> None:
        plan = self.plan
        faults = plan.faults.get(gateway, GatewayFaults())
        if resume_at_s is not None:
            faults = replace(faults, power_cut_day=0)
        args: dict[str, Any] = {
            "gateway": gateway,
            "month": str(plan.month),
            "broker_url": plan.broker_urls[gateway],
            "workdir": str(plan.workdir),
            "seed": plan.seed,
            "step_s": plan.step_s,
            "speed": plan.speed,
            "resume_at_s": resume_at_s,
            "faults": asdict(faults),
            "days": plan.days,
            "telemetry_every": plan.telemetry_every,
            "log_level": plan.log_level,
        }
        log_file = (plan.workdir / f"{gateway}.log").open("a", encoding="utf-8")
        popen = subprocess.Popen(
            [sys.executable, "-m", "officina.simulation.floor", json.dumps(args)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log_file,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        process = _Process(gateway, args, popen, log_file)
        process.reader = threading.Thread(
            target=self._read, args=(process,), name=f"month-{gateway}", daemon=True
        )
        with self._lock:
            self._processes[gateway] = process
        process.reader.start()

    def _read(self, process: _Process) -> None:
        gateway = process.gateway
        assert process.popen.stdout is not None
        for line in process.popen.stdout:
            try:
                event: Event = json.loads(line)
            except json.JSONDecodeError:
                log.warning("%s printed %r", gateway, line.rstrip())
                continue
            with self._lock:
                self.events.append((gateway, event))
            name = event.get("event")
            if name == "power-cut":
                self._power_cut(process, event)
                return
            if self.on_event is not None:
                try:
                    self.on_event(self, gateway, event)
                except Exception as err:  # a failed fault must fail the run, not hang it
                    log.exception("handling %s of %s", name, gateway)
                    self.failures.append(f"{gateway} {name}: {err}")
                    self._done[gateway].set()
            if name == "done":
                self._done[gateway].set()
        code = process.popen.wait()
        if not self._done[gateway].is_set() and process.popen.returncode != -signal.SIGKILL:
            self.failures.append(f"{gateway}: the floor's process exited with {code}")
            self._done[gateway].set()

    def _power_cut(self, process: _Process, event: Event) -> None:
        """Cut the power for real: SIGKILL, then start again when it comes back."""
        process.popen.send_signal(signal.SIGKILL)
        process.popen.wait(30)
        process.log.close()
        at = int(event["at"])
        self.note(
            f"{process.gateway}: power cut mid-session (SIGKILL of the gateway process), "
            f"back {POWER_OUTAGE_S // 60} min later"
        )
        if self.on_event is not None:
            self.on_event(self, process.gateway, event)
        self._spawn(process.gateway, resume_at_s=at + POWER_OUTAGE_S)
