"""The demo: a simulated month through the real path, its statements checked against the truth."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import httpx

from harness.mosquitto import MosquittoServer
from officina.showcase import Live, ShowcaseOptions, run_showcase
from services.billing.months import Month


def test_the_demo_bills_its_days_to_the_cent_on_the_embedded_broker(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "officina",
            "demo",
            "--month",
            "2026-10",
            "--days",
            "1",
            "--speed",
            "0",
            "--workdir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "equals, to the cent" in result.stdout
    assert "live floor: http://127.0.0.1:" in result.stdout
    pdfs = sorted((tmp_path / "statements").glob("2026-10-*.pdf"))
    assert len(pdfs) == 12  # every member has at least the month's rent to pay
    assert all(p.read_bytes().startswith(b"%PDF-") for p in pdfs)


def test_the_live_floor_page_shows_the_simulated_machines_while_the_month_runs(
    mosquitto: MosquittoServer, tmp_path: Path
) -> None:
    seen: dict[str, str] = {}

    def look(live: Live) -> None:
        if seen or live.simulated_day == "—":
            return
        base = live.api_url.removesuffix("/floor")
        with httpx.Client(base_url=base, timeout=10) as client:
            login = client.post(
                "/api/v1/login", json={"username": "coordinator", "password": live.password}
            )
            assert login.status_code == 200, login.text
            seen["floor"] = client.get("/floor").text

    report = run_showcase(
        ShowcaseOptions(
            month=Month(2026, 10),
            speed=None,
            days=1,
            broker_url=f"mqtt://{mosquitto.host}:{mosquitto.port}",
            workdir=tmp_path,
        ),
        threading.Event(),
        look,
    )
    assert "lathe-1" in seen["floor"] and "laser-1" in seen["floor"]
    assert report.finished
    assert report.booked == len(report.truth.sessions) > 0
    assert report.differences == []
