"""`SerialLink`: owns a serial port, decodes it on a reader thread, reconnects when it vanishes."""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from firmware_bridge.codec import Decoder, Frame, encode
from firmware_bridge.errors import LinkDownError, LinkError

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Backoff:
    """How long to wait between attempts to reopen a vanished port."""

    initial_s: float = 0.1
    maximum_s: float = 2.0
    factor: float = 2.0

    def delays(self) -> Callable[[], float]:
        """A fresh sequence of growing delays, one per call."""
        current = self.initial_s

        def next_delay() -> float:
            nonlocal current
            delay = current
            current = min(current * self.factor, self.maximum_s)
            return delay

        return next_delay


def _open_serial(port: str, baudrate: int, timeout: float) -> Any:
    """pyserial is imported here so the package imports on machines without it."""
    import serial

    try:
        return serial.Serial(port, baudrate=baudrate, timeout=timeout)
    except (serial.SerialException, OSError, ValueError) as err:
        raise LinkError(port, f"cannot open: {err}") from err


def _serial_errors() -> tuple[type[BaseException], ...]:
    import serial

    return (serial.SerialException, OSError)


class SerialLink:
    """One serial port: frames in through a background reader, frames out with `send`."""

    def __init__(
        self,
        port: str,
        *,
        baudrate: int = 115200,
        read_timeout_s: float = 0.5,
        backoff: Backoff = Backoff(),  # frozen: a shared default is safe
        on_frame: Callable[[Frame], None] | None = None,
        on_reconnect: Callable[[], None] | None = None,
    ) -> None:
        self.port = port
        self._baudrate = baudrate
        self._read_timeout_s = read_timeout_s
        self._backoff = backoff
        self._on_frame = on_frame
        self._on_reconnect = on_reconnect
        self._frames: queue.Queue[Frame] = queue.Queue()
        self._decoder = Decoder(source=port)
        self._serial: Any = None
        self._lock = threading.Lock()  # guards _serial against a concurrent send
        self._closing = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_frame_at = time.monotonic()
        self._reconnects = 0
        self._disconnects = 0

    def open(self) -> None:
        """Open the port (LinkError if it cannot) and start reading it."""
        if self._thread is not None:
            raise LinkError(self.port, "already open")
        self._serial = _open_serial(self.port, self._baudrate, self._read_timeout_s)
        self._last_frame_at = time.monotonic()
        self._closing.clear()
        self._thread = threading.Thread(
            target=self._read_forever, name=f"serial-link {self.port}", daemon=True
        )
        self._thread.start()
        logger.info("serial port %s open at %d baud", self.port, self._baudrate)

    def close(self) -> None:
        """Stop reading and release the port."""
        self._closing.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        with self._lock:
            self._close_serial()

    def __enter__(self) -> SerialLink:
        self.open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def connected(self) -> bool:
        """Whether the port is open right now (False while the device is away)."""
        return self._serial is not None

    @property
    def silent_for_s(self) -> float:
        """Seconds since the last valid frame (or since the port was opened)."""
        return time.monotonic() - self._last_frame_at

    @property
    def counters(self) -> dict[str, int]:
        """A snapshot of the decoder's counters plus disconnects and reconnects."""
        counts = self._decoder.counters
        counts["disconnects"] = self._disconnects
        counts["reconnects"] = self._reconnects
        return counts

    def read(self, timeout: float) -> Frame | None:
        """The next frame, or None after `timeout` seconds (frames go to `on_frame` if given)."""
        try:
            return self._frames.get(timeout=timeout)
        except queue.Empty:
            return None

    def send(self, frame: Frame) -> None:
        """Write one frame; LinkDownError while the device is away, LinkError if the write fails."""
        line = encode(frame)
        with self._lock:
            if self._serial is None:
                raise LinkDownError(self.port, "not connected")
            try:
                self._serial.write(line)
            except _serial_errors() as err:
                raise LinkError(self.port, f"write failed: {err}") from err

    def _read_forever(self) -> None:
        errors = _serial_errors()
        while not self._closing.is_set():
            port = self._serial
            if port is None:
                self._reconnect()
                continue
            try:
                data = port.read(port.in_waiting or 1)
            except errors as err:
                self._disconnects += 1
                logger.warning("serial port %s lost (%s); reconnecting", self.port, err)
                with self._lock:
                    self._close_serial()
                continue
            if data:
                self._deliver(self._decoder.feed(data))

    def _deliver(self, frames: list[Frame]) -> None:
        if frames:
            self._last_frame_at = time.monotonic()
        for frame in frames:
            if self._on_frame is None:
                self._frames.put(frame)
                continue
            try:
                self._on_frame(frame)
            except Exception:  # a listener's bug must not stop the port being read
                logger.exception("%s: the frame listener failed on %s", self.port, frame.TYPE)

    def _reconnect(self) -> None:
        next_delay = self._backoff.delays()
        while not self._closing.wait(next_delay()):
            try:
                port = _open_serial(self.port, self._baudrate, self._read_timeout_s)
            except LinkError as err:
                logger.debug("still waiting for %s: %s", self.port, err.reason)
                continue
            self._decoder.reset()
            with self._lock:
                self._serial = port
            self._reconnects += 1
            logger.info("serial port %s is back", self.port)
            if self._on_reconnect is not None:
                self._on_reconnect()
            return

    def _close_serial(self) -> None:
        port, self._serial = self._serial, None
        if port is not None:
            try:
                port.close()
            except _serial_errors() as err:
                logger.debug("closing %s: %s", self.port, err)
