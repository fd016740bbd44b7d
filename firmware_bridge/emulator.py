"""A simulated MCU on a pseudo-terminal: protocol v1, a metered machine and its interlock relay.

The machine's current comes from its profile (`firmware_bridge.profiles`): each `M` frame carries
the RMS current and mean real power over the whole sample period, as a board does, so a laser's
pulsing tube is averaged inside one reading and a motor's inrush shows in the reading after it
starts. Faults can be switched on at will (`firmware_bridge.faults` lists them).

The port is a symlink to the pty's slave device, the way udev names a USB serial adapter under
`/dev/serial/by-id/`: `unplug()` closes the pty and removes the link, `replug()` makes a new pty and
points the same path at it, so a reader sees the device vanish and come back on the same path.
"""

from __future__ import annotations

import logging
import os
import queue
import random
import select
import tempfile
import threading
import time
import tty
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from firmware_bridge.clock import Clock, SystemClock
from firmware_bridge.codec import Decoder, encode
from firmware_bridge.errors import FrameError
from firmware_bridge.faults import BoardFaults, FaultCounts
from firmware_bridge.frames import (
    MAX_U16,
    MAX_U32,
    PROTOCOL_VERSION,
    CardRead,
    DeviceError,
    Frame,
    Heartbeat,
    Hello,
    Measurement,
    Ping,
    RelayAck,
    RelayCommand,
)
from firmware_bridge.profiles import Circuit, Load, MachineProfile, Window, machine_profile

logger = logging.getLogger(__name__)

_CHANNELS = 1  # one machine per emulated board: CT channel 0, relay 0, reader 0
_DETAIL_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_ .-")


HOST_SILENCE_OPEN_S = 10.0
"""Protocol v1: a board de-energises its relays after this long without a frame from the host."""


def _detail(text: str) -> str:
    return "".join(c if c in _DETAIL_CHARS else "_" for c in text)[:48]


class Emulator:
    """A simulated MCU board for one machine, on a pty whose path is `port`; starts at once.

    Faults on demand: `inject_garbage`, `drop_measurements`, `unplug`/`replug`, `stick_relay`/
    `free_relay`, `reset_board`, `listening = False`, `hang` (see `firmware_bridge.faults`).
    """

    def __init__(
        self,
        profile: str | MachineProfile = "lathe",
        *,
        sample_period_s: float = 1.0,
        heartbeat_period_s: float = 2.0,
        clock: Clock | None = None,
        seed: int | None = None,
        volts: float = 230.0,
        mains_hz: float = 50.0,
        firmware: str = "emu-1.0",
        protocol: int = PROTOCOL_VERSION,
        host_silence_open_s: float | None = HOST_SILENCE_OPEN_S,
    ) -> None:
        if sample_period_s <= 0 or heartbeat_period_s <= 0:
            raise ValueError("sample_period_s, heartbeat_period_s: must be > 0")
        self.profile = machine_profile(profile)
        self._sample_period_s = sample_period_s
        self._heartbeat_period_s = heartbeat_period_s
        self._clock: Clock = clock if clock is not None else SystemClock()
        self._rng = random.Random(seed)  # noqa: S311 - simulation noise, not secrets
        self._volts_nominal = volts
        self._mains_hz = mains_hz
        self._cycles = min(MAX_U16, max(1, round(sample_period_s * mains_hz)))
        self._hello = Hello(firmware=firmware, protocol=protocol, channels=_CHANNELS)

        self._state_lock = threading.Lock()
        self._circuit = Circuit(self.profile, rng=self._rng, mains_hz=mains_hz)
        now = self._clock.monotonic()
        self._boot = now
        self._last_t = now
        self._load = Load.OFF
        self._relay_energised = False
        self._running_s = 0.0
        self._energy_wh = 0.0  # what the machine drew, board resets or not
        self._board_wh = 0.0  # the board's counter: back to 0 at a reset
        self._window = Window()
        self._volts = self._draw_volts()
        self._seq = 0
        self._faults = BoardFaults(seed=None if seed is None else seed + 1)

        self._write_lock = threading.Lock()
        self._dropped_bytes = 0
        self._received = 0
        self._errors_sent = 0
        self._listening = True
        self._decoder = Decoder(source="emulator", on_reject=self._answer_reject)
        # The guard against a host that died: relays de-energise after this long without its frames.
        self._host_silence_open_s = host_silence_open_s
        self._host_heard = time.monotonic()

        self._dir = tempfile.TemporaryDirectory(prefix="officina-mcu-")
        self._port = str(Path(self._dir.name) / "ttyMCU0")
        self._master: int | None = None
        self._slave: int | None = None
        self._plug()

        self._requests: queue.Queue[tuple[Callable[[], None], threading.Event]] = queue.Queue()
        self._wake_r, self._wake_w = os.pipe()
        self._closing = False
        self._thread = threading.Thread(target=self._run, name="mcu-emulator", daemon=True)
        self._thread.start()

    # ----- what tests and the demo see -------------------------------------------------------

    @property
    def port(self) -> str:
        """The serial device path to open (stable across unplug/replug)."""
        return self._port

    @property
    def relay_energised(self) -> bool:
        """Whether the interlock relay is energised (the machine can draw current)."""
        return self._relay_energised

    @property
    def load(self) -> Load:
        """What the operator is doing with the machine."""
        return self._load

    @property
    def running_seconds(self) -> float:
        """Ground truth: clock seconds with the load RUNNING and the relay energised."""
        with self._state_lock:
            self._advance(self._clock.monotonic())
            return self._running_s

    @property
    def energy_wh(self) -> float:
        """Ground truth: Wh the machine drew since power-on (M frames' `wh` restarts at a reset)."""
        with self._state_lock:
            self._advance(self._clock.monotonic())
            return self._energy_wh

    @property
    def counters(self) -> dict[str, int]:
        """Frames received from the host, ERR frames sent, bytes dropped, faults that struck."""
        faults = self._faults.counts
        return {
            "frames_received": self._received,
            "errors_sent": self._errors_sent,
            "dropped_bytes": self._dropped_bytes,
            "measurements_dropped": faults.measurements_dropped,
            "relay_commands_ignored": faults.relay_commands_ignored,
            "resets": faults.resets,
        }

    @property
    def fault_counts(self) -> FaultCounts:
        """How often the switched-on faults struck."""
        return self._faults.counts

    @property
    def listening(self) -> bool:
        """Whether the board acts on what the host sends (False: a deaf board, for faults)."""
        return self._listening

    @listening.setter
    def listening(self, value: bool) -> None:
        self._listening = value

    @property
    def relay_stuck(self) -> bool:
        """Whether the relay's contacts are welded (it ignores commands; ACKs tell the truth)."""
        return self._faults.relay_stuck

    @property
    def hung(self) -> bool:
        """Whether the firmware is hung: nothing sent, nothing answered, until a reset."""
        return self._faults.hung

    def set_load(self, load: Load | str) -> None:
        """Switch the machine OFF, IDLE or RUNNING (case-insensitive); from OFF, motors inrush."""
        try:
            new = load if isinstance(load, Load) else Load(load.lower())
        except ValueError:
            raise ValueError(f"load: expected off, idle or running, got {load!r}") from None
        with self._state_lock:
            now = self._clock.monotonic()
            self._advance(now)
            if new is not self._load:
                self._load = new
                self._circuit.switch(self._electrical_load(), now)

    def present_card(self, uid: str, *, reader: int = 0) -> None:
        """Hold a card to the reader: the board sends CARD (FrameError if `uid` is not hex)."""
        line = encode(CardRead(uid=uid.upper(), reader=reader))
        if not self._faults.hung:
            self._write(line)

    def inject_garbage(self, data: bytes) -> None:
        """Put raw bytes on the line, as electrical noise or a confused firmware would."""
        self._write(data)

    def drop_measurements(self, *, next_n: int = 0, fraction: float | None = None) -> None:
        """Lose the next `next_n` M frames, and from now on each with chance `fraction`."""
        self._faults.drop_measurements(next_n=next_n, fraction=fraction)

    def stick_relay(self) -> None:
        """Weld the relay's contacts where they are: commands are ACKed with the real state."""
        self._faults.relay_stuck = True

    def free_relay(self) -> None:
        """Unweld the relay: it follows commands again."""
        self._faults.relay_stuck = False

    def hang(self) -> None:
        """Hang the firmware: no frames out, none acted on, until `reset_board()`."""
        self._faults.hung = True

    def reset_board(self) -> None:
        """Reset the board: HELLO, seq and Wh counter from 0, relay de-energised (unless stuck)."""
        self._in_thread(self._reset)

    def unplug(self) -> None:
        """Pull the USB cable: the port path vanishes and the host's open port fails."""
        self._in_thread(self._unplug)

    def replug(self) -> None:
        """Plug the cable back: the same path works again and the board says HELLO."""
        self._in_thread(self._plug)

    def close(self) -> None:
        """Stop the board and remove its pty."""
        if self._closing:
            return
        self._closing = True
        os.write(self._wake_w, b"x")
        self._thread.join()
        self._unplug()
        os.close(self._wake_r)
        os.close(self._wake_w)
        self._dir.cleanup()

    def __enter__(self) -> Emulator:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # ----- physics ---------------------------------------------------------------------------

    def _electrical_load(self) -> Load:
        return self._load if self._relay_energised else Load.OFF

    def _draw_volts(self) -> float:
        return max(0.0, self._rng.gauss(self._volts_nominal, 0.5))

    def _advance(self, now: float) -> None:
        """Integrate current, energy and running time up to `now` (state lock held)."""
        dt = now - self._last_t
        if dt <= 0:
            return
        window = self._circuit.integrate(self._last_t, now, volts=self._volts)
        self._window = self._window + window
        self._energy_wh += window.watt_s / 3600.0
        self._board_wh += window.watt_s / 3600.0
        if self._relay_energised and self._load is Load.RUNNING:
            self._running_s += dt
        self._last_t = now

    def _measure(self) -> Measurement:
        """The M frame for the window since the last one: RMS and mean power over all of it."""
        with self._state_lock:
            now = self._clock.monotonic()
            self._advance(now)
            window, self._window = self._window, Window()
            if window.seconds > 0:
                cycles = min(MAX_U16, max(1, round(window.seconds * self._mains_hz)))
            else:  # the clock stood still (a test's manual clock): read one cycle now
                window, cycles = self._circuit.instant(now, volts=self._volts), self._cycles
            gain = 1.0 + self._rng.gauss(0.0, self.profile.noise)
            irms = abs(window.irms * gain + self._rng.gauss(0.0, self.profile.floor_amps))
            volts, self._volts = self._volts, self._draw_volts()
            self._seq = (self._seq + 1) & MAX_U32
            return Measurement(
                channel=0,
                seq=self._seq,
                irms=irms,
                vrms=volts,
                watts=window.watts * gain,
                wh=self._board_wh,
                cycles=cycles,
            )

    def _set_relay(self, energised: bool) -> None:
        with self._state_lock:
            now = self._clock.monotonic()
            self._advance(now)
            if self._faults.relay_stuck:
                if energised != self._relay_energised:
                    self._faults.relay_ignored()
                return
            if energised != self._relay_energised:
                self._relay_energised = energised
                # Closing onto a machine already switched on starts its parts without an inrush:
                # a machine with a no-volt-release switch would need a fresh start (set_load).
                self._circuit.switch(self._electrical_load(), now, inrush=False)

    # ----- the board's loop ------------------------------------------------------------------

    def _run(self) -> None:
        next_sample = time.monotonic()
        next_beat = next_sample + self._heartbeat_period_s
        while True:
            timeout = max(0.0, min(next_sample, next_beat) - time.monotonic())
            fds = [self._wake_r] if self._master is None else [self._wake_r, self._master]
            readable, _, _ = select.select(fds, [], [], timeout)
            if self._wake_r in readable:
                os.read(self._wake_r, 64)
                self._run_requests()
                if self._closing:
                    return
            if self._master is not None and self._master in readable:
                self._receive(self._master)
            now = time.monotonic()
            if now >= next_sample:
                self._sample()
                next_sample = max(next_sample + self._sample_period_s, now)
            if now >= next_beat:
                if not self._faults.hung:
                    self._write(encode(Heartbeat(uptime_ms=self._uptime_ms())))
                next_beat = max(next_beat + self._heartbeat_period_s, now)
            self._guard_host_silence(now)

    def _guard_host_silence(self, now: float) -> None:
        limit = self._host_silence_open_s
        if limit is None or self._faults.hung or now - self._host_heard < limit:
            return
        self._host_heard = now  # once per silence: the host that returns closes them again
        if self._relay_energised:
            self._set_relay(False)
            self._send_error("HOST_SILENT", "relays opened")

    def _sample(self) -> None:
        if self._faults.hung:
            return  # a hung firmware measures nothing; the machine draws on regardless
        measurement = self._measure()
        if not self._faults.lose_measurement():
            self._write(encode(measurement))

    def _receive(self, master: int) -> None:
        try:
            data = os.read(master, 1024)
        except OSError:
            return
        if not self._listening or self._faults.hung:
            return
        for frame in self._decoder.feed(data):
            self._received += 1
            self._host_heard = time.monotonic()
            self._answer(frame)

    def _answer(self, frame: Frame) -> None:
        if isinstance(frame, RelayCommand):
            if frame.channel >= _CHANNELS:
                self._send_error("BAD_CHANNEL", f"relay {frame.channel} seq {frame.seq}")
                return
            self._set_relay(frame.closed)
            self._write(encode(RelayAck(frame.channel, self._relay_energised, frame.seq)))
        elif isinstance(frame, Ping):
            self._write(encode(self._hello))
            if frame.protocol != self._hello.protocol:
                self._send_error(
                    "VERSION", f"host v{frame.protocol} device v{self._hello.protocol}"
                )
        else:
            self._send_error("UNKNOWN_TYPE", frame.TYPE)

    def _answer_reject(self, err: FrameError) -> None:
        self._send_error(err.kind.upper(), err.field or err.frame_type or "")

    def _send_error(self, code: str, detail: str) -> None:
        self._errors_sent += 1
        self._write(encode(DeviceError(code=code, detail=_detail(detail))))

    def _uptime_ms(self) -> int:
        return int((self._clock.monotonic() - self._boot) * 1000) & MAX_U32

    def _write(self, data: bytes) -> None:
        with self._write_lock:
            if self._master is None:
                self._dropped_bytes += len(data)
                return
            try:
                written = os.write(self._master, data)
            except OSError:  # the pty buffer is full because nobody reads the port
                written = 0
            self._dropped_bytes += len(data) - written

    # ----- the pty, changed only on the board's own thread -----------------------------------

    def _in_thread(self, action: Callable[[], None]) -> None:
        if threading.current_thread() is self._thread or self._closing:
            action()
            return
        done = threading.Event()
        self._requests.put((action, done))
        os.write(self._wake_w, b"x")
        if not done.wait(timeout=5.0):
            raise RuntimeError("the emulated board's thread is not responding")

    def _run_requests(self) -> None:
        while True:
            try:
                action, done = self._requests.get_nowait()
            except queue.Empty:
                return
            try:
                action()
            finally:
                done.set()

    def _plug(self) -> None:
        if self._master is not None:
            return
        master, slave = os.openpty()
        tty.setraw(slave)
        os.set_blocking(master, False)
        link = Path(self._port)
        fresh = link.with_name(link.name + ".new")
        fresh.unlink(missing_ok=True)
        fresh.symlink_to(os.ttyname(slave))
        fresh.replace(link)  # atomic: a reader never sees a half-made path
        self._decoder.reset()
        with self._write_lock:
            self._master, self._slave = master, slave
        if not self._faults.hung:
            self._write(encode(self._hello))
        logger.info("emulated board plugged in at %s", self._port)

    def _reset(self) -> None:
        with self._state_lock:
            now = self._clock.monotonic()
            self._advance(now)
            self._boot = now
            self._seq = 0
            self._board_wh = 0.0
            self._window = Window()
            if not self._faults.relay_stuck:  # every relay is de-energised at power-up
                self._relay_energised = False
                self._circuit.switch(self._electrical_load(), now)
        self._faults.board_reset()
        self._decoder.reset()
        self._write(encode(self._hello))
        logger.info("emulated board at %s reset", self._port)

    def _unplug(self) -> None:
        with self._write_lock:
            master, slave = self._master, self._slave
            self._master = self._slave = None
        if master is None:
            return
        Path(self._port).unlink(missing_ok=True)
        os.close(master)
        if slave is not None:
            os.close(slave)
        logger.info("emulated board unplugged from %s", self._port)
