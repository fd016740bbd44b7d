"""A PostgreSQL server of the tests' own, made with initdb in a temp dir, to stop and start at will.

The machine's own server (port 5432) is shared and never stopped; outage tests need one they may
take away. Run as root, the server runs as the `postgres` OS user (PostgreSQL refuses root) in a
directory that user owns; run as anyone else, it runs as that user.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

import psycopg

from harness.errors import HarnessError, MissingServerError, ServerStartError
from harness.ports import LOOPBACK, free_port, poll_until

START_TIMEOUT_S = 30.0
SERVER_USER = "postgres"
_BIN_ROOT = Path("/usr/lib/postgresql")


def postgres_bin_dir() -> Path:
    """The newest installed PostgreSQL's bin directory; MissingServerError if there is none."""
    candidates = sorted(
        (p / "bin" for p in _BIN_ROOT.glob("*") if (p / "bin" / "initdb").is_file()),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
    )
    if candidates:
        return candidates[-1]
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    raise MissingServerError(
        "initdb is not installed; the outage tests start a PostgreSQL of their own.\n"
        "Install it with:\n"
        "    sudo apt-get install -y --no-install-recommends postgresql"
    )


class PrivatePostgres:
    """One initdb'd cluster on a free loopback port; stop() and start() keep its data."""

    def __init__(self) -> None:
        self.bin_dir = postgres_bin_dir()
        self.host = LOOPBACK
        self.port = free_port()
        self._as_root = os.geteuid() == 0
        if self._as_root:
            try:
                account = pwd.getpwnam(SERVER_USER)
            except KeyError as err:
                raise MissingServerError(
                    f"running as root needs the {SERVER_USER!r} OS user to run PostgreSQL"
                ) from err
            if shutil.which("runuser") is None:
                raise MissingServerError("running as root needs runuser to start PostgreSQL")
        # Not under pytest's tmp dir: that is private to root, and the server user must enter.
        self.root = Path(tempfile.mkdtemp(prefix="officina-pg-"))
        if self._as_root:
            os.chown(self.root, account.pw_uid, account.pw_gid)
        self.data_dir = self.root / "data"
        self.log_path = self.root / "postgres.log"
        self.user = SERVER_USER if self._as_root else pwd.getpwuid(os.geteuid()).pw_name
        self._run(
            "initdb",
            "-D",
            str(self.data_dir),
            "-U",
            self.user,
            "--auth=trust",
            "--no-sync",
            "-E",
            "UTF8",
        )

    def __repr__(self) -> str:
        return f"PrivatePostgres({self.host}:{self.port})"

    def _run(self, tool: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = [str(self.bin_dir / tool), *args]
        if self._as_root:
            command = ["runuser", "-u", SERVER_USER, "--", *command]
        done = subprocess.run(
            command, capture_output=True, text=True, check=False, cwd=self.root, timeout=60
        )
        if check and done.returncode != 0:
            raise ServerStartError(f"{tool} failed ({done.returncode}): {done.stderr.strip()}")
        return done

    def start(self) -> None:
        """Start the server (again) and wait until it takes connections."""
        options = (
            f"-c listen_addresses={self.host} -c port={self.port} "
            f"-c unix_socket_directories={self.root} -c fsync=off -c full_page_writes=off"
        )
        data, log = str(self.data_dir), str(self.log_path)
        self._run("pg_ctl", "-D", data, "-l", log, "-o", options, "start")
        poll_until(self.answers, timeout=START_TIMEOUT_S, what=repr(self))

    def stop(self) -> None:
        """Stop the server at once (`-m immediate`, as a crash or a pulled cable would)."""
        self._run("pg_ctl", "-D", str(self.data_dir), "-m", "immediate", "stop", check=False)

    def remove(self) -> None:
        """Stop the server and delete its files."""
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def answers(self) -> bool:
        """Whether a connection succeeds now."""
        try:
            with psycopg.connect(self._dsn("postgres"), connect_timeout=1) as connection:
                connection.execute("SELECT 1")
        except psycopg.Error:
            return False
        return True

    def create_database(self, name: str) -> str:
        """Create a database and return its SQLAlchemy URL."""
        try:
            with psycopg.connect(self._dsn("postgres"), autocommit=True) as admin:
                admin.execute(f'CREATE DATABASE "{name}"')
        except psycopg.Error as err:
            raise HarnessError(f"cannot create database {name}: {err}") from err
        return f"postgresql+psycopg://{self.user}@{self.host}:{self.port}/{name}"

    def _dsn(self, database: str) -> str:
        return f"host={self.host} port={self.port} user={self.user} dbname={database}"


def start_private_postgres() -> PrivatePostgres:
    """Make and start a private cluster; MissingServerError when this machine cannot."""
    server = PrivatePostgres()
    try:
        server.start()
    except (ServerStartError, HarnessError):
        log = server.log_path.read_text(errors="replace") if server.log_path.exists() else ""
        server.remove()
        raise ServerStartError(f"private PostgreSQL did not start:\n{log[-2000:]}") from None
    return server
