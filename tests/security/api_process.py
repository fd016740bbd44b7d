"""`python -m officina api run` as a child process, on a real ledger and a real Mosquitto."""

from __future__ import annotations

import secrets
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy.orm import Session

from harness.errors import ServerStartError
from harness.mosquitto import MosquittoServer
from harness.ports import LOOPBACK, free_port
from harness.process import ServerProcess
from services.api.accounts import add_user
from services.api.security import PasswordCost, Passwords, Role
from services.api.state import utc_now
from services.ledger import open_ledger

SECRET = "security-test-secret-" + "s" * 40
SITE_KEY = "security-test-site-key-0123456789"
PASSWORD = "correct horse battery staple"
START_TIMEOUT_S = 30.0
START_ATTEMPTS = 3


@dataclass(frozen=True)
class ApiProcess:
    """Where the api process listens, and its site."""

    url: str
    host: str
    port: int
    site: str
    pid: int


def add_login(ledger_url: str, username: str, role: Role = Role.ADMIN) -> None:
    """A login with the full Argon2id cost, as `officina api add-user` makes it."""
    engine = open_ledger(ledger_url)
    try:
        with Session(engine) as session:
            add_user(
                session,
                passwords=Passwords(PasswordCost()),
                username=username,
                password=PASSWORD,
                role=role,
                member=None,
                now=utc_now(),
            )
            session.commit()
    finally:
        engine.dispose()


def _answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@contextmanager
def api_process(
    *, ledger_url: str, broker: MosquittoServer, log_dir: Path, extra: Sequence[str] = ()
) -> Iterator[ApiProcess]:
    """Start the api process, wait until its health check answers, and stop it afterwards."""
    site = f"site-{secrets.token_hex(4)}"
    for attempt in range(1, START_ATTEMPTS + 1):
        port = free_port()
        url = f"http://{LOOPBACK}:{port}"
        server = ServerProcess(
            name="officina api",
            command=_command(site, ledger_url, broker, port, extra),
            log_path=log_dir / f"api-{port}.log",
            ready=lambda _pid, url=url: _answers(url),  # type: ignore[misc]
            start_timeout=START_TIMEOUT_S,
        )
        try:
            server.start()
        except ServerStartError:
            # The free port was taken before the api bound it: another port.
            if attempt == START_ATTEMPTS:
                raise
            continue
        assert server.pid is not None
        try:
            yield ApiProcess(url=url, host=LOOPBACK, port=port, site=site, pid=server.pid)
        finally:
            server.stop()
        return


def _command(
    site: str, ledger_url: str, broker: MosquittoServer, port: int, extra: Sequence[str]
) -> list[str]:
    return [
        sys.executable,
        "-m",
        "officina",
        "api",
        "run",
        "--site",
        site,
        "--secret",
        SECRET,
        "--site-key",
        SITE_KEY,
        "--broker",
        f"mqtt://{broker.host}:{broker.port}",
        "--ledger",
        ledger_url,
        "--host",
        LOOPBACK,
        "--port",
        str(port),
        *extra,
    ]


def peak_memory_kib(pid: int) -> int:
    """The most resident memory the process has held so far (VmHWM), in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmHWM for process {pid}")
