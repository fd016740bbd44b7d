"""One real server binary run as a child process: start, stop, kill, restart with the same files."""

from __future__ import annotations

import logging
import shutil
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol, TypeVar

from harness.errors import MissingServerError, NotReadyError, ServerStartError
from harness.ports import poll_until

logger = logging.getLogger(__name__)

STOP_TIMEOUT_S = 10.0
LOG_TAIL_LINES = 40
# A port found free can be taken before the server binds it (another test run, an outgoing
# connection); a new server on new ports is then the cure.
START_ATTEMPTS = 3
_SYSTEM_BIN_DIRS = (Path("/usr/sbin"), Path("/usr/bin"), Path("/usr/local/sbin"))


def find_binary(name: str, *, package: str) -> Path:
    """The path of a server binary, or MissingServerError naming the command that installs it."""
    found = shutil.which(name)
    if found:
        return Path(found)
    # Non-root shells often lack /usr/sbin on PATH, where Debian puts mosquitto.
    for directory in _SYSTEM_BIN_DIRS:
        candidate = directory / name
        if candidate.is_file():
            return candidate
    raise MissingServerError(
        f"{name} is not installed; the tests start a real one. Install it with:\n"
        f"    sudo apt-get install -y --no-install-recommends {package}\n"
        f"(or run scripts/system-deps.sh)"
    )


class ServerProcess:
    """A child process whose output goes to a log file, started again on demand.

    `ready(pid)` says whether the process answers; it is polled until true or the process exits.
    """

    def __init__(
        self,
        *,
        name: str,
        command: Sequence[str],
        log_path: Path,
        ready: Callable[[int], bool],
        start_timeout: float,
    ) -> None:
        self.name = name
        self.command = tuple(command)
        self.log_path = log_path
        self._ready = ready
        self._start_timeout = start_timeout
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def running(self) -> bool:
        """Whether the child process is alive."""
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        """The child's process id while it runs."""
        return self._process.pid if self.running and self._process else None

    def start(self) -> None:
        """Start the process and wait until it answers; raise ServerStartError with its log."""
        if self.running:
            raise ServerStartError(f"{self.name} is already running (pid {self.pid})")
        # Appending keeps the log of earlier runs, which is what one reads after a restart.
        with self.log_path.open("ab") as log:
            log.write(f"--- starting: {' '.join(self.command)}\n".encode())
            log.flush()
            self._process = subprocess.Popen(
                self.command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
            )
        try:
            poll_until(self._ready_or_exited, timeout=self._start_timeout, what=self.name)
        except (NotReadyError, ServerStartError) as err:
            self.kill()
            raise ServerStartError(
                f"{err} (log: {self.log_path})", log_tail=self.log_tail()
            ) from err
        logger.info("%s started (pid %s)", self.name, self.pid)

    def stop(self) -> None:
        """Ask the process to exit (SIGTERM) and wait; SIGKILL it if it does not."""
        process = self._process
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            logger.warning("%s ignored SIGTERM for %s s; killing it", self.name, STOP_TIMEOUT_S)
            self.kill()
        logger.info("%s stopped", self.name)

    def kill(self) -> None:
        """Kill the process at once (SIGKILL), as a power cut would."""
        process = self._process
        if process is None or process.poll() is not None:
            return
        process.kill()
        process.wait()

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        """The last lines the process wrote."""
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def _ready_or_exited(self) -> bool:
        process = self._process
        if process is None:
            return False
        if process.poll() is not None:
            raise ServerStartError(f"{self.name} exited with status {process.returncode}")
        return self._ready(process.pid)


class Startable(Protocol):
    """A server the harness can start."""

    def start(self) -> None:
        """Start the server and wait until it answers."""


ServerT = TypeVar("ServerT", bound=Startable)


def start_on_free_ports(make: Callable[[], ServerT]) -> ServerT:
    """Make a server on fresh free ports and start it, again on new ports if one was taken."""
    for _ in range(START_ATTEMPTS - 1):
        server = make()
        try:
            server.start()
        except ServerStartError as err:
            if not err.port_taken:
                raise
            logger.warning("a port of %r was taken before it bound; trying new ports", server)
            continue
        return server
    server = make()
    server.start()
    return server
