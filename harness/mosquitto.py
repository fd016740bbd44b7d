"""A real Mosquitto broker on a free loopback port, with a generated config, users and ACL."""

from __future__ import annotations

import getpass
import subprocess
from collections.abc import Mapping
from pathlib import Path

from harness.errors import ServerStartError
from harness.ports import LOOPBACK, free_port, process_listens_on
from harness.process import ServerProcess, find_binary, start_on_free_ports

START_TIMEOUT_S = 10.0


class MosquittoServer:
    """One Mosquitto broker; stop() and start() keep its port and its data directory."""

    def __init__(
        self,
        *,
        workdir: Path,
        users: Mapping[str, str] | None = None,
        acl: str | None = None,
        persistence: bool = False,
        port: int | None = None,
    ) -> None:
        self.host = LOOPBACK
        self.port = port or free_port()
        self.workdir = workdir
        self.data_dir = workdir / "data"
        self.config_path = workdir / "mosquitto.conf"
        self.users = dict(users or {})
        self.persistence = persistence
        binary = find_binary("mosquitto", package="mosquitto")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._write_config(acl)
        self._process = ServerProcess(
            name=f"mosquitto on {self.host}:{self.port}",
            command=[str(binary), "-c", str(self.config_path)],
            log_path=workdir / "mosquitto.log",
            ready=lambda pid: process_listens_on(pid, self.port),
            start_timeout=START_TIMEOUT_S,
        )

    def __repr__(self) -> str:
        return f"MosquittoServer({self.host}:{self.port})"

    @property
    def running(self) -> bool:
        """Whether the broker process is alive."""
        return self._process.running

    @property
    def log_path(self) -> Path:
        """Where the broker's output goes."""
        return self._process.log_path

    def start(self) -> None:
        """Start (or restart) the broker and wait until its port accepts connections."""
        self._process.start()

    def stop(self) -> None:
        """Stop the broker cleanly; with persistence on it saves retained messages first."""
        self._process.stop()

    def kill(self) -> None:
        """Kill the broker with SIGKILL: nothing is saved."""
        self._process.kill()

    def log_tail(self, lines: int = 40) -> str:
        """The last lines of the broker's log."""
        return self._process.log_tail(lines)

    def _write_config(self, acl: str | None) -> None:
        lines = [
            f"listener {self.port} {self.host}",
            f"allow_anonymous {'false' if self.users else 'true'}",
            # Running as root, Mosquitto would drop to its own user, which cannot read a
            # private temp dir; as any other user this line has no effect.
            f"user {getpass.getuser()}",
            "log_dest stderr",
            "log_type error",
            "log_type warning",
            "log_type notice",
            "log_type information",
            "connection_messages true",
            f"persistence {'true' if self.persistence else 'false'}",
            f"persistence_location {self.data_dir}/",
            # A persistent session must hold an outage's whole backlog, not the default 1,000.
            "max_queued_messages 0" if self.persistence else "max_queued_messages 1000",
        ]
        if self.users:
            password_file = self.workdir / "passwords"
            self._write_password_file(password_file)
            lines.append(f"password_file {password_file}")
        if acl is not None:
            acl_file = self.workdir / "acl"
            acl_file.write_text(acl if acl.endswith("\n") else acl + "\n")
            lines.append(f"acl_file {acl_file}")
        self.config_path.write_text("\n".join(lines) + "\n")

    def _write_password_file(self, path: Path) -> None:
        tool = find_binary("mosquitto_passwd", package="mosquitto")
        path.write_text("")
        path.chmod(0o600)
        for username, password in self.users.items():
            done = subprocess.run(
                [str(tool), "-b", str(path), username, password],
                capture_output=True,
                text=True,
                check=False,
            )
            if done.returncode != 0:
                raise ServerStartError(
                    f"mosquitto_passwd refused user {username!r}: {done.stderr.strip()}"
                )


def start_mosquitto(
    *,
    workdir: Path,
    users: Mapping[str, str] | None = None,
    acl: str | None = None,
    persistence: bool = False,
) -> MosquittoServer:
    """Write a config into workdir, start a broker with it, and return it running."""
    return start_on_free_ports(
        lambda: MosquittoServer(workdir=workdir, users=users, acl=acl, persistence=persistence)
    )
