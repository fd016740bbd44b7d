"""A workshop's first run, walked in Chromium as its coordinator would, to the first PDF statement.

Everything runs for real: a fresh SQLite ledger, Mosquitto reading the password and ACL files
`officina broker-acl` writes from that ledger, the api served over HTTP, ingest, and a gateway
process started with the gateway.toml the browser downloaded. Only the board is emulated: the
card reader, the relay and the current clamp. The api's clock is moved past the month's end once
the session is booked, as the coordinator would come back on the 1st to close the month.

Each step leaves a screenshot in tests/artifacts/first-run/.
"""

from __future__ import annotations

import io
import json
import os
import queue
import re
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from pypdf import PdfReader

from contract.mqtt import MqttProtocol
from firmware_bridge.emulator import Emulator
from firmware_bridge.profiles import Load
from harness.mosquitto import MosquittoServer, SiteFiles, start_mosquitto
from services.api.floor import RefusedCard
from services.api.settings import ApiSettings
from services.billing.months import Month, MonthWindow
from services.ingest.service import Ingest
from services.ingest.settings import IngestSettings
from services.ledger import SessionBook, open_ledger
from tests.api.chromium import Chromium
from tests.api.conftest import MovableClock, make_settings, served_api
from tests.waiting import eventually

SITE = "officine-prima"
SHOTS = Path(__file__).resolve().parents[1] / "artifacts" / "first-run"
ADMIN, ADMIN_PASSWORD = "ada", "the first admin, a long password"
MEMBER, MEMBER_NAME = "giulia", "Giulia Rossi"
MACHINE, MACHINE_NAME, GATEWAY = "lathe-1", "Tornio grande", "gw-hall"
CARD = "04A1B2C3"
# The server's own broker logins, as `officina init` would write them into its .env.
INGEST_PASSWORD = "ingest-broker-password-1"
API_PASSWORD = "api-broker-password-123"
RUNNING_S = 2.0
# The gateway's log line for a machine's policy taken from the api's config topic: the page's
# thresholds, which gateway.toml does not hold.
POLICY_TAKEN = re.compile(r"lathe-1: policy of config v\d+: idle 0\.80 A, run 4\.00 A")


class Walk:
    """The browser, and where the walk saves its screenshots, numbered in order."""

    def __init__(self, browser: Chromium, url: str) -> None:
        self.browser = browser
        self.url = url
        self.step = 0

    def open(self, path: str) -> None:
        """Open one of the api's pages, in English."""
        joiner = "&" if "?" in path else "?"
        self.browser.open(f"{self.url}{path}{joiner}lang=en")

    def fill(self, form: str, values: dict[str, str]) -> None:
        """Type into a form's fields and submit it as its button would."""
        for name, value in values.items():
            field = f"{form}.querySelector('[name=\"{name}\"]')"
            self.browser.evaluate(f"{field}.value = {json.dumps(value)}")
        self.browser.evaluate(f"{form}.requestSubmit()")

    def click(self, selector: str) -> None:
        """Click the first element the selector finds."""
        self.browser.evaluate(f"document.querySelector({json.dumps(selector)}).click()")

    def loaded(self, path: str) -> None:
        """Wait until the browser shows that page, fully loaded."""
        self.browser.wait_for(
            f"location.pathname === {json.dumps(path)} && document.readyState === 'complete'"
        )

    def text(self) -> str:
        """The page's text as a reader sees it."""
        return str(self.browser.evaluate("document.body.innerText"))

    def shot(self, name: str) -> None:
        """Save the page as the next numbered step."""
        self.step += 1
        self.browser.screenshot(SHOTS / f"{self.step:02d}-{name}.png")

    def log_in(self) -> None:
        """Log in through the login page."""
        self.loaded("/login")
        self.fill(
            "document.getElementById('login')", {"username": ADMIN, "password": ADMIN_PASSWORD}
        )
        self.browser.wait_for("location.pathname !== '/login'")


def broker_acl(ledger_url: str, files: SiteFiles) -> None:
    """Write the broker's files from the ledger, as the server's `officina broker-acl` does."""
    command = [sys.executable, "-m", "officina", "broker-acl", "--ledger", ledger_url]
    command += ["--password-file", str(files.password_file), "--acl-file", str(files.acl_file)]
    env = os.environ | {"MQTT_INGEST_PASSWORD": INGEST_PASSWORD, "MQTT_API_PASSWORD": API_PASSWORD}
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


@contextmanager
def gateway_process(config: Path, log: Path) -> Iterator[None]:
    """`officina gateway run` with the downloaded file, as its systemd unit starts and stops it."""
    command = [sys.executable, "-m", "officina", "--log-level", "info", "gateway", "run"]
    command += ["--config", str(config)]
    with log.open("w") as output:
        gateway = subprocess.Popen(
            command, env=os.environ | {"PYTHONUNBUFFERED": "1"}, stdout=output, stderr=output
        )
    try:
        yield
    finally:
        gateway.send_signal(signal.SIGTERM)
        try:
            gateway.wait(15)
        except subprocess.TimeoutExpired:
            gateway.kill()
            gateway.wait()
            raise


def badge_in(emulator: Emulator, refusals: queue.Queue[RefusedCard]) -> None:
    """Present the card, one badge at a time, until the gateway lets it in.

    Each badge is answered one way or the other: the relay closes, or the api hears of a
    refused card. Until the new access list reaches the gateway, the card is refused.
    """

    def let_in() -> bool:
        emulator.present_card(CARD)
        eventually(
            lambda: emulator.relay_energised or not refusals.empty(),
            what="the gateway to answer the badge",
        )
        if emulator.relay_energised:
            return True
        refusals.get_nowait()
        return False

    eventually(let_in, timeout=30, what="the qualified card to be let in")


def test_a_coordinator_walks_the_first_run_to_an_issued_statement(
    sqlite_url: str, tmp_path: Path
) -> None:
    # The server's ledger exists before its broker files are written from it.
    open_ledger(sqlite_url).dispose()
    site_files = SiteFiles(password_file=tmp_path / "passwd", acl_file=tmp_path / "acl")
    broker_acl(sqlite_url, site_files)
    broker = start_mosquitto(
        workdir=tmp_path / "broker", site_files=site_files, bind_client_ids=True
    )
    try:
        # The api logs in to the broker with its own login, as on the server.
        api_login = broker.options(username="api", password=API_PASSWORD)
        settings = replace(make_settings(sqlite_url, broker, SITE), broker=api_login)
        walk_the_first_run(settings, broker, site_files, sqlite_url, tmp_path)
    finally:
        broker.stop()


def walk_the_first_run(
    settings: ApiSettings,
    broker: MosquittoServer,
    site_files: SiteFiles,
    ledger_url: str,
    tmp_path: Path,
) -> None:
    clock = MovableClock()
    ingest_settings = IngestSettings(
        broker=broker.options(
            username="ingest", password=INGEST_PASSWORD, protocol=MqttProtocol.V5
        ),
        ledger_url=ledger_url,
    )
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    with (
        served_api(settings, clock=clock) as running,
        Ingest(ingest_settings) as ingest,
        Emulator("lathe", sample_period_s=0.2, seed=7) as emulator,
        Chromium(profile=tmp_path / "chromium", width=1280, height=900) as browser,
        # The gateway's own folder, as /var/lib/officina on a gateway: its path is on a screenshot.
        tempfile.TemporaryDirectory(prefix="officina-gateway-") as gateway_home,
    ):
        ingest.wait_connected(10)
        refusals: queue.Queue[RefusedCard] = queue.Queue()
        running.state.floor.listen_to_refusals(refusals.put)
        browser.send("Browser.setDownloadBehavior", behavior="allow", downloadPath=str(downloads))
        walk = Walk(browser, running.url)

        # 1-2. The fresh site offers /setup on its login page; the first admin is made there.
        walk.open("/login")
        walk.click('a[href="/setup"]')
        walk.loaded("/setup")
        walk.shot("setup")
        walk.fill(
            "document.getElementById('setup')",
            {"username": ADMIN, "password": ADMIN_PASSWORD, "password_again": ADMIN_PASSWORD},
        )
        walk.loaded("/login")
        assert not browser.evaluate("Boolean(document.querySelector('a[href=\"/setup\"]'))")
        walk.shot("login")
        walk.log_in()

        # 3. A member, a machine on a gateway, a tariff.
        walk.open("/manage/members")
        walk.fill(
            "document.querySelector('form[data-api=\"/api/v1/members\"]')",
            {"id": MEMBER, "name": MEMBER_NAME, "email": "giulia@example.org"},
        )
        browser.wait_for(f"document.querySelector('[data-member-row=\"{MEMBER}\"]')")
        walk.shot("member-added")

        walk.open("/manage/machines")
        walk.fill(
            "document.getElementById('add-machine')",
            {
                "id": MACHINE,
                "name": MACHINE_NAME,
                "gateway": GATEWAY,
                "idle_amps": "0.8",
                "run_amps": "4",
                "hysteresis_amps": "0.3",
                "min_dwell_s": "0.3",
            },
        )
        browser.wait_for(f"document.querySelector('[data-machine-row=\"{MACHINE}\"]')")
        walk.shot("machine-added")

        today = clock().astimezone(ZoneInfo(settings.timezone)).date()
        month = Month.of(today)
        walk.open("/manage/tariffs")
        walk.fill(
            "document.querySelector('[data-tariff-form]')",
            {
                "valid_from": month.first_day.isoformat(),
                "machine": MACHINE,
                "per_running_minute": "0.50",
                "minimum": "2.00",
            },
        )
        browser.wait_for(
            "[...document.querySelectorAll('tbody tr')].some(r => r.cells.length === 10"
            f" && r.cells[1].textContent === {json.dumps(MACHINE_NAME)})"
        )
        walk.shot("tariff-added")

        # The gateway's login is issued with its file; the board's serial device is typed in its
        # wiring: the emulated board's pty, as the page takes only a device under /dev.
        walk.open("/manage/gateways")
        form = f"document.querySelector('[data-gateway-config=\"{GATEWAY}\"]')"
        browser.wait_for(form)
        walk.fill(
            form,
            {
                "port": os.path.realpath(emulator.port),
                "spool_path": f"{gateway_home}/gateway.db",
            },
        )
        browser.wait_for(f"!{form}.querySelector('.issued').hidden")
        walk.shot("gateway-toml-issued")
        browser.evaluate(f"{form}.querySelector('[data-download]').click()")
        gateway_toml = downloads / "gateway.toml"
        eventually(gateway_toml.exists, what="the browser to save gateway.toml")
        assert f'username = "gateway-{GATEWAY}"' in gateway_toml.read_text(encoding="utf-8")

        # 4. On the server: the broker learns the new login from its files, written again, and a
        # reload (INSTALL.md; the gateways page does not say so).
        broker_acl(ledger_url, site_files)
        broker.reload()
        gateway_log = tmp_path / "gateway.log"
        with gateway_process(gateway_toml, gateway_log):
            eventually(
                lambda: running.state.floor.machine(MACHINE).gateway_online is True,
                timeout=20,
                what="the gateway to connect with its issued login",
            )
            eventually(
                lambda: POLICY_TAKEN.search(gateway_log.read_text()) is not None,
                what="the machine's policy to reach the gateway over its config topic",
            )
            walk.open("/manage/gateways")
            assert "Online" in walk.text()
            walk.shot("gateway-online")

            # 5. The card is enrolled by badging it at the machine while the page waits.
            walk.open("/manage/cards")
            walk.fill(
                "document.querySelector('form[data-api=\"/api/v1/cards/enrol\"]')",
                {"member": MEMBER, "machine": MACHINE, "label": "blue tag"},
            )
            browser.wait_for("document.querySelector('form[data-wait] .error:not([hidden])')")
            walk.shot("enrolment-waiting")

            def enrolled() -> bool:
                # Unknown until enrolled, and unqualified after: each badge is refused.
                emulator.present_card(CARD)
                refusals.get(timeout=5)
                # The page reloads once the card is taken: between two pages there is no body.
                shown = "document.body !== null && document.body.innerText.includes('blue tag')"
                return bool(browser.evaluate(shown))

            eventually(enrolled, timeout=30, what="the badged card to be enrolled")
            walk.loaded("/manage/cards")
            assert MEMBER in walk.text()
            walk.shot("card-enrolled")

            walk.open("/manage/qualifications")
            walk.fill(
                "document.querySelector('form[data-api=\"/api/v1/qualifications\"]')",
                {"member": MEMBER, "machine": MACHINE},
            )
            browser.wait_for(
                "[...document.querySelectorAll('tbody tr')]"
                f".some(r => r.cells[1].textContent === {json.dumps(MEMBER)})"
            )
            walk.shot("qualified")

            # 6. Giulia badges in and turns the lathe: the floor shows her on its tile.
            walk.open("/floor")
            browser.wait_for("document.getElementById('live').classList.contains('on')")
            badge_in(emulator, refusals)
            tile = f"document.querySelector('[data-machine=\"{MACHINE}\"]')"
            emulator.set_load(Load.RUNNING)
            browser.wait_for(
                f"{tile}.querySelector('[data-field=\"member\"]').textContent"
                f" === {json.dumps(MEMBER_NAME)}"
                f" && {tile}.classList.contains('state-running')"
                f" && parseFloat({tile}.querySelector('[data-field=\"amps\"]').textContent) > 4"
            )
            walk.shot("floor-running")
            eventually(
                lambda: emulator.running_seconds >= RUNNING_S, what="the lathe to run a while"
            )
            emulator.set_load(Load.OFF)
            emulator.present_card(CARD)
            eventually(lambda: not emulator.relay_energised, what="the relay to open at badge-out")
            browser.wait_for(f"{tile}.querySelector('[data-field=\"member\"]').textContent === ''")
            walk.shot("floor-after-badge-out")

            book = SessionBook(running.state.engine)
            eventually(lambda: len(book.sessions()) == 1, what="ingest to book the session")
            (session,) = book.sessions()
            assert (session.member, session.machine, session.end_reason) == (
                MEMBER,
                MACHINE,
                "badge_out",
            )
            assert session.running_s > 0

        # 7. The 1st of next month: the api's clock moves past the month's end; the old login
        # has expired by then, so the coordinator logs in again and closes the month.
        clock.move_to(MonthWindow(month, ZoneInfo(settings.timezone)).end + timedelta(hours=8))
        walk.open("/manage/statements")
        walk.log_in()
        # The pages open on the api's today, the new month: the one to close is the one before.
        walk.open("/manage/statements")
        assert browser.evaluate("document.querySelector('h1 small').textContent") == (
            month.next().first_day.strftime("%B %Y")
        )
        walk.click(f'a[href="?month={month}"]')
        browser.wait_for(f"location.search.startsWith('?month={month}')")
        walk.shot("month-to-close")
        walk.click('form[action="/manage/statements/drafts"] button')
        browser.wait_for("location.search.includes('done=drafted')")
        row = "document.querySelector('[data-statement]')"
        browser.wait_for(row)
        drafted = browser.evaluate(f"{row}.innerText")
        # Two seconds at 0.50 a minute is under the 2.00 minimum: 2.00 and 22 % VAT.
        assert MEMBER_NAME in drafted and "€2.44" in drafted
        walk.shot("month-drafted")

        # 8. The draft is reviewed on its page, issued, and its PDF saved by the browser.
        browser.evaluate(f"{row}.querySelector('a[href^=\"/manage/statements/\"]').click()")
        browser.wait_for("document.querySelector('#issue button')")
        assert MACHINE_NAME in walk.text()
        walk.shot("draft-review")
        walk.click("#issue button")
        browser.wait_for("document.querySelector('[data-status=\"issued\"]')")
        walk.shot("statement-issued")
        walk.click("a[data-pdf]")
        eventually(
            lambda: any(p.suffix == ".pdf" for p in downloads.iterdir()),
            what="the browser to save the PDF",
        )

    (pdf,) = downloads.glob("*.pdf")
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF")
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
    assert MEMBER_NAME in text and MACHINE_NAME in text
