"""`Bridge`: the gateway's current, RFID and relay driver for a board speaking protocol v1."""

from __future__ import annotations

import logging
import queue
import threading
import time
from types import TracebackType

from firmware_bridge.errors import (
    BridgeError,
    DeviceNotRespondingError,
    LinkError,
    ProtocolMismatchError,
    RelayMismatchError,
    RelayNotAcknowledgedError,
)
from firmware_bridge.frames import (
    MAX_U16,
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
from firmware_bridge.transport import SerialLink

logger = logging.getLogger(__name__)

KEEPALIVE_S = 1.0
"""Protocol v1: the host sends `PING` at least this often, so the board knows it is alive."""

Reading = Measurement | CardRead
"""What `Bridge.read` hands to the gateway."""


class Bridge:
    """One board on one serial port: readings in, relay commands out, version checked."""

    def __init__(
        self,
        port: str,
        *,
        baudrate: int = 115200,
        ack_timeout_s: float = 0.3,
        relay_attempts: int = 3,
        hello_timeout_s: float = 2.0,
        silence_s: float = 3.0,
        keepalive_s: float = KEEPALIVE_S,
    ) -> None:
        self.port = port
        self._baudrate = baudrate
        self._ack_timeout_s = ack_timeout_s
        self._relay_attempts = max(1, relay_attempts)
        self._hello_timeout_s = hello_timeout_s
        self._silence_s = silence_s
        self._keepalive_s = keepalive_s
        self._link: SerialLink | None = None
        self._readings: queue.Queue[Reading] = queue.Queue()
        self._changed = threading.Condition()  # HELLO and ACKs arrive on the reader thread
        self._hello: Hello | None = None
        self._mismatch: ProtocolMismatchError | None = None
        self._acks: dict[int, RelayAck] = {}
        self._relay_lock = threading.Lock()
        self._seq = 0
        self._link_down = False
        self._last_probe = 0.0
        self._ping_outstanding = False
        # What the host last commanded per relay: re-applied when the board restarts by itself.
        self._commanded: dict[int, bool] = {}
        self._restarted = False
        self._counts = {
            "device_errors": 0,
            "relay_retries": 0,
            "relay_failures": 0,
            "silences": 0,
            "board_starts": 0,
            "unexpected_frames": 0,
        }

    # ----- lifecycle -------------------------------------------------------------------------

    def open(self) -> None:
        """Open the port and wait for HELLO (ProtocolMismatchError, DeviceNotRespondingError)."""
        if self._link is not None:
            raise BridgeError(f"{self.port}: the bridge is already open")
        link = SerialLink(
            self.port,
            baudrate=self._baudrate,
            on_frame=self._on_frame,
            on_reconnect=self._on_reconnect,
        )
        link.open()
        self._link = link
        try:
            self._await_hello()
        except BridgeError:
            self.close()
            raise

    def close(self) -> None:
        """Release the port."""
        if self._link is not None:
            self._link.close()
            self._link = None

    def __enter__(self) -> Bridge:
        self.open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # ----- what the gateway calls ------------------------------------------------------------

    @property
    def hello(self) -> Hello | None:
        """The board's latest HELLO (firmware, protocol, channel count)."""
        return self._hello

    @property
    def link_up(self) -> bool:
        """False once the board has been silent longer than `silence_s`."""
        return self._link is not None and self._link.silent_for_s <= self._silence_s

    @property
    def counters(self) -> dict[str, int]:
        """A snapshot: the decoder's and the link's counters plus relay and device problems."""
        counts = self._link.counters if self._link is not None else {}
        counts.update(self._counts)
        return counts

    def read(self, timeout: float) -> Reading | None:
        """The next measurement or card read, or None after `timeout` seconds."""
        link = self._require_link()
        deadline = time.monotonic() + timeout
        while True:
            if self._mismatch is not None:
                raise self._mismatch
            self._watch_silence(link)
            if time.monotonic() - self._last_probe >= self._keepalive_s:
                self._ping()  # the board de-energises its relays if the host falls silent
            if self._restarted:
                self._reapply_relays()
            remaining = deadline - time.monotonic()
            try:
                return self._readings.get(timeout=max(0.0, min(remaining, 0.5)))
            except queue.Empty:
                if remaining <= 0.5:
                    return None

    def set_relay(self, channel: int, energised: bool) -> None:
        """Energise or de-energise a relay; wait for its ACK (RelayNotAcknowledgedError if none)."""
        link = self._require_link()
        if self._mismatch is not None:
            raise self._mismatch
        if self._hello is not None and not 0 <= channel < self._hello.channels:
            raise ValueError(f"channel: the board has relays 0..{self._hello.channels - 1}")
        with self._relay_lock:
            self._seq = (self._seq + 1) & MAX_U16
            command = RelayCommand(channel=channel, closed=energised, seq=self._seq)
            last_error: LinkError | None = None
            for attempt in range(1, self._relay_attempts + 1):
                if attempt > 1:
                    self._counts["relay_retries"] += 1
                    logger.warning(
                        "%s: no ACK for relay %d seq %d, attempt %d",
                        self.port,
                        channel,
                        command.seq,
                        attempt,
                    )
                try:
                    link.send(command)  # a resend keeps the seq: the command is idempotent
                except LinkError as err:
                    last_error = err
                ack = self._await_ack(command.seq)
                if ack is not None:
                    self._commanded[channel] = energised
                    if ack.channel != channel or ack.closed != energised:
                        raise RelayMismatchError(
                            f"relay {channel}: asked energised={energised}, board reports "
                            f"relay {ack.channel} energised={ack.closed}"
                        )
                    return
            self._counts["relay_failures"] += 1
            raise RelayNotAcknowledgedError(
                channel=channel, energised=energised, attempts=self._relay_attempts
            ) from last_error

    # ----- on the reader thread --------------------------------------------------------------

    def _on_frame(self, frame: Frame) -> None:
        if self._link_down:
            self._link_down = False
            logger.info("%s: frames again, link up", self.port)
        if isinstance(frame, Measurement | CardRead):
            if self._hello is not None and self._mismatch is None:
                self._readings.put(frame)
        elif isinstance(frame, Hello):
            self._take_hello(frame)
        elif isinstance(frame, RelayAck):
            with self._changed:
                self._acks[frame.seq] = frame
                self._changed.notify_all()
        elif isinstance(frame, DeviceError):
            self._counts["device_errors"] += 1
            logger.warning("%s: board reports %s (%s)", self.port, frame.code, frame.detail)
        elif isinstance(frame, Heartbeat):
            pass  # its arrival is the news: the link tracks when frames last came
        else:
            self._counts["unexpected_frames"] += 1
            logger.warning("%s: the board sent a host frame %s", self.port, frame.TYPE)

    def _take_hello(self, hello: Hello) -> None:
        with self._changed:
            answered, self._ping_outstanding = self._ping_outstanding, False
            if hello == self._hello and self._mismatch is None and answered:
                return  # the answer to a keep-alive PING: nothing new
            if not answered and self._hello is not None:
                # Nobody asked: the board started again by itself (a reset, a brown-out).
                self._counts["board_starts"] += 1
                self._restarted = True
            self._hello = hello
            if hello.protocol != PROTOCOL_VERSION:
                self._mismatch = ProtocolMismatchError(
                    device=hello.protocol, host=PROTOCOL_VERSION, firmware=hello.firmware
                )
                logger.error("%s: %s", self.port, self._mismatch)
            else:
                self._mismatch = None
                logger.info(
                    "%s: board firmware %s, protocol v%d, %d channel(s)",
                    self.port,
                    hello.firmware,
                    hello.protocol,
                    hello.channels,
                )
            self._changed.notify_all()

    def _on_reconnect(self) -> None:
        self._ping()  # the board may have changed while away: ask who it is
        self._restarted = True  # and it may have lost power: put the relays back

    # ----- helpers ---------------------------------------------------------------------------

    def _require_link(self) -> SerialLink:
        if self._link is None:
            raise BridgeError(f"{self.port}: the bridge is not open")
        return self._link

    def _reapply_relays(self) -> None:
        """A restarted board opened its relays: put back what the host had commanded."""
        self._restarted = False
        for channel, energised in sorted(self._commanded.items()):
            if energised:
                logger.warning("%s: board restarted, energising relay %d again", self.port, channel)
                self.set_relay(channel, True)

    def _ping(self) -> None:
        self._last_probe = time.monotonic()
        self._ping_outstanding = True
        if self._link is None:
            return
        try:
            self._link.send(Ping())
        except LinkError as err:
            logger.debug("%s: ping not sent: %s", self.port, err)

    def _await_hello(self) -> None:
        deadline = time.monotonic() + self._hello_timeout_s
        with self._changed:
            while self._hello is None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise DeviceNotRespondingError(
                        f"{self.port}: no HELLO within {self._hello_timeout_s:.1f} s"
                    )
                self._ping()
                self._changed.wait(min(remaining, 0.5))
        if self._mismatch is not None:
            raise self._mismatch

    def _await_ack(self, seq: int) -> RelayAck | None:
        deadline = time.monotonic() + self._ack_timeout_s
        with self._changed:
            while seq not in self._acks:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._changed.wait(remaining)
            return self._acks.pop(seq)

    def _watch_silence(self, link: SerialLink) -> None:
        silent = link.silent_for_s
        if silent <= self._silence_s:
            return
        if not self._link_down:
            self._link_down = True
            self._counts["silences"] += 1
            logger.warning("%s: no frames for %.1f s, link down", self.port, silent)
        if time.monotonic() - self._last_probe >= 1.0:
            self._ping()
