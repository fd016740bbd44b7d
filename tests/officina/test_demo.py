"""The demo: the simulated floor through the real path, stopping by itself."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

from officina.demo import DemoOptions, run_demo
from tests.harness.mosquitto import MosquittoServer


def test_demo_on_the_embedded_broker_closes_sessions_and_exits_by_itself(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "officina", "demo", "--for", "15", "--workdir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "session closed: " in result.stdout
    assert "booked in the ledger" in result.stdout
    assert (tmp_path / "officina-demo.db").exists()


def test_every_session_the_demo_gateway_published_is_booked_once(
    mosquitto: MosquittoServer, tmp_path: Path
) -> None:
    options = DemoOptions(
        broker_url=f"mqtt://{mosquitto.host}:{mosquitto.port}",
        speed=120,
        seconds=10,
        workdir=tmp_path,
    )
    report = run_demo(options, threading.Event())
    assert report.sessions_published > 0
    assert len(report.sessions) == report.sessions_published
    assert len({s.id for s in report.sessions}) == len(report.sessions)
    assert report.ingest_counters.get("rejected", 0) == 0
    for session in report.sessions:
        assert session.running_s + session.idle_s <= session.unlocked_s + 2
