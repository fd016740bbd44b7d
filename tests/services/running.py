"""Ingest as the tests run it: in this process, or as `python -m officina ingest run`."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Sequence
from pathlib import Path

import httpx

from contract.mqtt import MqttProtocol
from services.influx import InfluxSettings
from services.ingest import IngestSettings, RetryPolicy
from services.ingest.settings import MAX_SESSION_AGE_DAYS
from tests.harness.influxdb import InfluxDatabase, InfluxServer
from tests.harness.mosquitto import MosquittoServer
from tests.harness.ports import free_port

REPO = Path(__file__).parents[2]
# Short waits keep the tests quick; what they prove does not depend on the values.
FLUSH_INTERVAL_S = 0.1
QUICK_RETRY = RetryPolicy(first_s=0.1, max_s=0.5)


def ingest_settings(
    broker: MosquittoServer,
    ledger_url: str,
    *,
    influx: InfluxDatabase | InfluxServer | None = None,
    client_id: str | None = None,
    **options: object,
) -> IngestSettings:
    """Settings for an ingest on the test broker, ledger and (optionally) InfluxDB."""
    values: dict[str, object] = {
        "flush_interval_s": FLUSH_INTERVAL_S,
        "retry": QUICK_RETRY,
        "hold_wait_s": 0.3,
        # The examples' sessions are dated 2026-01-01, however long ago that is when they run.
        "session_max_age_days": MAX_SESSION_AGE_DAYS,
    }
    values.update(options)
    protocol = values.pop("protocol", MqttProtocol.V5)
    return IngestSettings(
        broker=broker.options(
            client_id=client_id or f"ingest-{uuid.uuid4().hex[:8]}", protocol=protocol
        ),
        ledger_url=ledger_url,
        influx=InfluxSettings(url=influx.url, database=influx.database) if influx else None,
        **values,  # type: ignore[arg-type]
    )


class IngestProcess:
    """`python -m officina ingest run …` as a child process, with /metrics on a free port."""

    def __init__(
        self,
        *,
        broker: MosquittoServer,
        ledger_url: str,
        influx: InfluxServer | InfluxDatabase,
        client_id: str,
        log_path: Path,
        extra: Sequence[str] = (),
    ) -> None:
        self.metrics_port = free_port()
        self.log_path = log_path
        # One client for every scrape: httpx.get makes a client, and a TLS context, each time
        # (some 60 ms of CPU), which polling every 50 ms would spend on the shared CPUs.
        self._http = httpx.Client(timeout=2)
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
            influx.database,
            "--client-id",
            client_id,
            "--flush-interval",
            "0.2",
            "--metrics-port",
            str(self.metrics_port),
            # The tests' months are fixed dates, however long ago they are when the tests run.
            "--session-max-age-days",
            str(MAX_SESSION_AGE_DAYS),
            *extra,
        ]
        with log_path.open("ab") as log:
            self.process = subprocess.Popen(
                command, cwd=REPO, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
            )

    def metric(self, sample: str) -> float | None:
        """The value of one sample line of /metrics (`name{labels}`), None if not served."""
        try:
            text = self._http.get(f"http://127.0.0.1:{self.metrics_port}/metrics").text
        except httpx.HTTPError:
            return None
        for line in text.splitlines():
            if line.startswith(sample + " "):
                return float(line.rsplit(" ", 1)[1])
        return None

    def kill(self) -> None:
        """SIGKILL: no flush, no acknowledgement, no goodbye."""
        self.process.kill()
        self.process.wait()

    def stop(self) -> int:
        """SIGTERM and wait; the exit status."""
        self._http.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                return self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
        return self.process.wait()

    def log_text(self) -> str:
        """Everything the process logged so far."""
        return self.log_path.read_text(errors="replace")

    def log_tail(self, lines: int = 30) -> str:
        """The last lines the process logged."""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
