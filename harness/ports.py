"""Free loopback ports, and waiting with a deadline for something to become true."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from pathlib import Path

from harness.errors import NotReadyError

LOOPBACK = "127.0.0.1"
POLL_INTERVAL_S = 0.02
_TCP_LISTEN = "0A"


def free_port(host: str = LOOPBACK) -> int:
    """A TCP port that nothing listens on right now, chosen by the kernel."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


def port_accepts(host: str, port: int) -> bool:
    """Whether a TCP connection to host:port succeeds now."""
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def process_listens_on(pid: int, port: int) -> bool:
    """Whether process pid itself holds a listening TCP socket on port (Linux /proc)."""
    # Checking the owner, not just that the port answers, keeps a server from taking another
    # program's listener on a port it failed to bind for its own.
    listening = _listening_inodes(port)
    if not listening:
        return False
    try:
        links = [fd.readlink().name for fd in Path(f"/proc/{pid}/fd").iterdir()]
    except OSError:
        return False
    return any(link in listening for link in links)


def _listening_inodes(port: int) -> set[str]:
    """`socket:[inode]` names of the sockets listening on port, from /proc/net/tcp and tcp6."""
    found: set[str] = set()
    for table in (Path("/proc/net/tcp"), Path("/proc/net/tcp6")):
        try:
            rows = table.read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            local_port = int(fields[1].rsplit(":", 1)[1], 16)
            if local_port == port and fields[3] == _TCP_LISTEN:
                found.add(f"socket:[{fields[9]}]")
    return found


def poll_until(ready: Callable[[], bool], *, timeout: float, what: str) -> None:
    """Call ready() every few milliseconds until it is true; raise NotReadyError at the deadline."""
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() >= deadline:
            raise NotReadyError(f"{what}: not ready after {timeout:g} s")
        time.sleep(POLL_INTERVAL_S)


def wait_for_port(host: str, port: int, timeout: float = 10.0) -> None:
    """Block until host:port accepts TCP connections, or raise NotReadyError."""
    poll_until(lambda: port_accepts(host, port), timeout=timeout, what=f"port {host}:{port}")
