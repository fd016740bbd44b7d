"""The demo: a simulated month through the real path, its statements checked against the truth."""

from __future__ import annotations

import csv
import os
import queue
import re
import signal
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO

import httpx
import pytest
from typer.testing import CliRunner

from harness.mosquitto import MosquittoServer
from officina.cli import app
from officina.demo_cli import MonthProgress
from officina.demo_workdir import MARKER, WorkdirRefusedError, claim_workdir
from officina.showcase import Live, ShowcaseOptions, run_showcase
from services.billing.months import Month

# One open day played flat out: the whole path in a few seconds.
QUICK = ["--month", "2026-10", "--days", "1", "--speed", "0"]
STILL_ANSWERS = re.compile(
    r"The api still answers: (?P<url>http://127\.0\.0\.1:\d+)/floor  "
    r"\(log in as coordinator, password (?P<password>[\w-]+)\)"
)


def _demo(*args: str) -> list[str]:
    return [sys.executable, "-m", "officina", "demo", *QUICK, *args]


def _lines_into(stream: IO[str], lines: queue.Queue[str | None]) -> None:
    for line in stream:
        lines.put(line)
    lines.put(None)


def _read_until(lines: queue.Queue[str | None], pattern: re.Pattern[str]) -> tuple[str, str]:
    """Everything printed up to the first line matching `pattern`, and that match's line."""
    seen: list[str] = []
    while True:
        try:
            line = lines.get(timeout=240)
        except queue.Empty:
            pytest.fail("the demo printed nothing for 240 s:\n" + "".join(seen)[-3000:])
        if line is None:
            pytest.fail("the demo ended before serving:\n" + "".join(seen)[-3000:])
        seen.append(line)
        if pattern.search(line):
            return "".join(seen), line


def test_the_demo_bills_its_days_to_the_cent_on_the_embedded_broker(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "officina",
            "demo",
            *QUICK,
            "--workdir",
            str(tmp_path),
            "--exit",
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


def test_the_demo_keeps_its_month_in_its_folder_and_serves_it_until_ctrl_c(
    tmp_path: Path,
) -> None:
    workdir = tmp_path / "demo"
    demo = subprocess.Popen(
        _demo("--workdir", str(workdir)),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    lines: queue.Queue[str | None] = queue.Queue()
    assert demo.stdout is not None
    threading.Thread(target=_lines_into, args=(demo.stdout, lines), daemon=True).start()
    try:
        printed, serving = _read_until(lines, STILL_ANSWERS)
        assert f"writing into {workdir.resolve()}" in printed.splitlines()[0]
        assert "day 1 of 1 (2026-10-01)" in printed
        assert "equals, to the cent" in printed
        found = STILL_ANSWERS.search(serving)
        assert found is not None
        with httpx.Client(base_url=found["url"], timeout=30) as client:
            assert client.get("/login").status_code == 200
            login = client.post(
                "/api/v1/login",
                json={"username": "coordinator", "password": found["password"]},
            )
            assert login.status_code == 200, login.text
            floor = client.get("/floor")
            assert floor.status_code == 200
            assert "lathe-1" in floor.text and "laser-1" in floor.text
            # Without a month asked for, the pages open on the simulated month, not today's.
            month = client.get("/members/marco/month")
            assert month.status_code == 200
            assert "?month=2026-09" in month.text and "?month=2026-11" in month.text
            assert "<td>2026-10</td>" in month.text
            day = client.get("/machines/lathe-1/day")
            assert day.status_code == 200
            assert "?date=2026-10-30" in day.text and "?date=2026-11-01" in day.text
        statements = workdir / "statements"
        pdfs = sorted(statements.glob("2026-10-*.pdf"))
        assert len(pdfs) == 12 and all(p.read_bytes().startswith(b"%PDF-") for p in pdfs)
        with (statements / "register-2026-10.csv").open(encoding="utf-8") as register:
            rows = list(csv.DictReader(register, delimiter=";"))  # the Italian workshop's CSV
        assert {row["month"] for row in rows} == {"2026-10"}
        assert len({row["member"] for row in rows}) == 12
        assert (statements / "lines-2026-10.csv").stat().st_size > 0
        assert (workdir / "officina-demo.log").stat().st_size > 0
        assert sorted(p.name for p in (workdir / "floor").glob("*.log")) == [
            "gw-hall-a.log",
            "gw-hall-b.log",
            "gw-yard.log",
        ]
        demo.send_signal(signal.SIGINT)
        rest: list[str] = []
        while (line := lines.get(timeout=60)) is not None:
            rest.append(line)
        assert demo.wait(timeout=60) == 0, "".join(rest)
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()
    ended = "".join(rest)
    assert f"The demo ended; what it made is in {workdir.resolve()}" in ended
    assert "Traceback" not in printed + ended
    booked = re.search(r"(\d+) booked in the ledger", printed)
    assert booked is not None
    with sqlite3.connect(workdir / "officina-demo.db") as ledger:
        (sessions,) = ledger.execute("SELECT count(*) FROM sessions").fetchone()
    assert sessions == int(booked[1]) > 0


def test_the_demo_refuses_a_folder_it_did_not_make(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("the treasurer's notes", encoding="utf-8")
    result = CliRunner().invoke(app, ["demo", *QUICK, "--workdir", str(tmp_path), "--exit"])
    assert result.exit_code == 2, result.output
    assert "not empty and was not made by the demo" in result.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]
    assert notes.read_text(encoding="utf-8") == "the treasurer's notes"


def test_the_demo_replaces_a_folder_it_made_before(tmp_path: Path) -> None:
    claim_workdir(tmp_path / "demo")
    (tmp_path / "demo" / "statements").mkdir()
    (tmp_path / "demo" / "statements" / "2026-09-marco.pdf").write_bytes(b"%PDF- last run")
    (tmp_path / "demo" / "officina-demo.db").write_bytes(b"last run")
    claim_workdir(tmp_path / "demo")
    assert [p.name for p in (tmp_path / "demo").iterdir()] == [MARKER]


def test_the_demo_takes_an_empty_folder_and_refuses_a_file(tmp_path: Path) -> None:
    assert claim_workdir(tmp_path) == tmp_path
    assert (tmp_path / MARKER).is_file()
    with pytest.raises(WorkdirRefusedError, match="is a file"):
        claim_workdir(tmp_path / MARKER)


def test_the_progress_line_tells_the_day_and_the_time_the_rest_of_the_month_takes() -> None:
    now = [100.0]
    progress = MonthProgress(clock=lambda: now[0])
    assert progress.of("—", 0, 20) == "the month is starting"
    assert progress.of("2026-10-01", 1, 20) == "day 1 of 20 (2026-10-01)"
    now[0] = 130.0
    # Day one took 30 s: this day and 18 more to go.
    assert progress.of("2026-10-02", 2, 20) == "day 2 of 20 (2026-10-02), about 9 min 30 s left"
    now[0] = 140.0
    assert progress.of("2026-10-02", 2, 20) == "day 2 of 20 (2026-10-02), about 9 min 20 s left"
    now[0] = 200.0
    assert progress.of("2026-10-20", 20, 20) == "day 20 of 20 (2026-10-20), about 5 s left"
    now[0] = 260.0
    assert progress.of("2026-10-20", 20, 20) == "day 20 of 20 (2026-10-20), about 0 s left"
