"""An ingest as operators run it: `python -m officina ingest run …` as a child process."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import httpx

from harness.influxdb import InfluxDatabase, InfluxServer
from harness.mosquitto import MosquittoServer
from harness.ports import LOOPBACK, free_port
from services.ingest.settings import MAX_SESSION_AGE_DAYS

REPO = Path(__file__).resolve().parents[1]


class IngestProcess:
    """One `officina ingest run` child process, with /metrics on a free port and a log file."""

    def __init__(
        self,
        *,
        broker: MosquittoServer,
        ledger_url: str,
        influx: InfluxServer | InfluxDatabase,
        client_id: str,
        log_path: Path,
        database: str | None = None,
        flush_interval_s: float | None = None,
        shared_group: str | None = None,
        log_level: str | None = None,
        extra: Sequence[str] = (),
        scrape_timeout_s: float = 2.0,
    ) -> None:
        self.client_id = client_id
        self.metrics_port = free_port()
        self.log_path = log_path
        # One client for every scrape: httpx.get makes a client, and a TLS context, each time
        # (some 60 ms of CPU), which polling every 50 ms would spend on the shared CPUs.
        self._http = httpx.Client(timeout=scrape_timeout_s)
        command = [
            sys.executable,
            "-m",
            "officina",
            "ingest",
            "run",
            "--broker",
            f"mqtt://{broker.host}:{broker.port}",
            "--ledger",
            ledger_url,
            "--influx-url",
            influx.url,
            "--influx-db",
            database or influx.database,
            "--client-id",
            client_id,
            "--metrics-port",
            str(self.metrics_port),
            # Tests' and benches' months are fixed dates, however long ago they are when run.
            "--session-max-age-days",
            str(MAX_SESSION_AGE_DAYS),
        ]
        if flush_interval_s is not None:
            command += ["--flush-interval", f"{flush_interval_s:g}"]
        if shared_group is not None:
            command += ["--shared-group", shared_group]
        if log_level is not None:
            command += ["--log-level", log_level]
        command += extra
        with log_path.open("ab") as log:
            self.process = subprocess.Popen(
                command, cwd=REPO, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
            )

    @property
    def pid(self) -> int:
        """The child's process id."""
        return self.process.pid

    def scrape(self) -> str | None:
        """The text of /metrics, or None while the process does not answer."""
        try:
            return self._http.get(f"http://{LOOPBACK}:{self.metrics_port}/metrics").text
        except httpx.HTTPError:
            return None

    def metric(self, sample: str) -> float | None:
        """The value of one sample line of /metrics (`name{labels}`), None if not served."""
        text = self.scrape()
        if text is None:
            return None
        for line in text.splitlines():
            if line.startswith(sample + " "):
                return float(line.rsplit(" ", 1)[1])
        return None

    def metrics(self) -> dict[str, float] | None:
        """Every metric of /metrics summed over its labels, None while it does not answer."""
        text = self.scrape()
        if text is None:
            return None
        found: dict[str, float] = {}
        for line in text.splitlines():
            if not line or line.startswith("#"):
                continue
            sample, value = line.rsplit(" ", 1)
            name = sample.split("{", 1)[0]
            found[name] = found.get(name, 0.0) + float(value)
        return found

    def kill(self) -> None:
        """SIGKILL: no flush, no acknowledgement, no goodbye."""
        self.process.kill()
        self.process.wait()

    def stop(self, timeout_s: float = 15.0) -> int:
        """SIGTERM and wait (SIGKILL after `timeout_s`); the exit status."""
        self._http.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                return self.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
        return self.process.wait()

    def log_text(self) -> str:
        """Everything the process logged so far."""
        return self.log_path.read_text(errors="replace")

    def log_tail(self, lines: int = 30) -> str:
        """The last lines the process logged."""
        return "\n".join(self.log_text().splitlines()[-lines:])
