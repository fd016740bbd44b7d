"""A real Mosquitto broker on a free loopback port, with a generated config, users and ACL."""

from __future__ import annotations

import getpass
import os
import signal
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from contract import MAX_PAYLOAD_BYTES
from contract.mqtt import BrokerOptions
from harness.errors import ServerStartError
from harness.ports import LOOPBACK, free_port, process_listens_on
from harness.process import ServerProcess, find_binary, start_on_free_ports

START_TIMEOUT_S = 10.0


@dataclass(frozen=True, slots=True, kw_only=True)
class SiteFiles:
    """A site's generated password and ACL files, read by the broker as a server's would be.

    `officina broker-acl` writes them from the ledger; `reload()` makes the broker read them again.
    """

    password_file: Path
    acl_file: Path


@dataclass(frozen=True, slots=True, kw_only=True)
class TlsListener:
    """A second, TLS listener: the CA that signs client certificates, and the broker's own."""

    ca_file: Path
    cert_file: Path
    key_file: Path
    # Refuse clients that present no certificate signed by ca_file.
    require_certificate: bool = False


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
        tls: TlsListener | None = None,
        bind_client_ids: bool = False,
        site_files: SiteFiles | None = None,
    ) -> None:
        self.host = LOOPBACK
        self.port = port or free_port()
        self.tls = tls
        self.tls_port = free_port() if tls is not None else None
        self.bind_client_ids = bind_client_ids
        self.workdir = workdir
        self.data_dir = workdir / "data"
        self.config_path = workdir / "mosquitto.conf"
        self.users = dict(users or {})
        self.persistence = persistence
        self.site_files = site_files
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

    def options(self, **changes: object) -> BrokerOptions:
        """Broker options for a client of this broker's plain listener."""
        return BrokerOptions(host=self.host, port=self.port).but(**changes)

    def tls_options(self, **changes: object) -> BrokerOptions:
        """Broker options for its TLS listener, trusting the test CA (change ca_file to test)."""
        if self.tls is None or self.tls_port is None:
            raise ServerStartError(f"{self!r} has no TLS listener")
        options = BrokerOptions(
            host=self.host, port=self.tls_port, tls=True, ca_file=self.tls.ca_file
        )
        return options.but(**changes)

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

    def reload(self) -> None:
        """Send SIGHUP, as `docker compose kill -s HUP mosquitto`: it rereads its files."""
        pid = self._process.pid
        if pid is None:
            raise ServerStartError(f"{self!r} is not running")
        os.kill(pid, signal.SIGHUP)

    def log_tail(self, lines: int = 40) -> str:
        """The last lines of the broker's log."""
        return self._process.log_tail(lines)

    def _write_config(self, acl: str | None) -> None:
        lines = [
            f"listener {self.port} {self.host}",
            f"allow_anonymous {'false' if self.users or self.site_files else 'true'}",
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
            # As deployed: no message larger than the contract allows reaches a subscriber.
            f"message_size_limit {MAX_PAYLOAD_BYTES}",
        ]
        if self.bind_client_ids:
            # As deployed: a login cannot take another client's id (and its session).
            lines.append("use_username_as_clientid true")
        if self.tls is not None:
            lines += [
                f"listener {self.tls_port} {self.host}",
                f"cafile {self.tls.ca_file}",
                f"certfile {self.tls.cert_file}",
                f"keyfile {self.tls.key_file}",
                f"require_certificate {'true' if self.tls.require_certificate else 'false'}",
            ]
        if self.users:
            password_file = self.workdir / "passwords"
            self._write_password_file(password_file)
            lines.append(f"password_file {password_file}")
        if self.site_files is not None:
            lines.append(f"password_file {self.site_files.password_file}")
            lines.append(f"acl_file {self.site_files.acl_file}")
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
    tls: TlsListener | None = None,
    bind_client_ids: bool = False,
    site_files: SiteFiles | None = None,
) -> MosquittoServer:
    """Write a config into workdir, start a broker with it, and return it running."""
    return start_on_free_ports(
        lambda: MosquittoServer(
            workdir=workdir,
            users=users,
            acl=acl,
            persistence=persistence,
            tls=tls,
            bind_client_ids=bind_client_ids,
            site_files=site_files,
        )
    )
