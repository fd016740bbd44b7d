"""Headless Debian Chromium driven over the DevTools protocol, with a small websocket client."""

from __future__ import annotations

import base64
import itertools
import json
import shutil
import subprocess
import time
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import httpx
import pytest
from websockets.sync.client import ClientConnection, connect

from harness.ports import LOOPBACK, free_port

CHROMIUM = Path("/usr/bin/chromium")
START_TIMEOUT_S = 20.0
PHONE_WIDTH = 600
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def chromium_or_skip() -> Path:
    """The Debian chromium binary; skip (fail under CI) when it is not installed."""
    if CHROMIUM.exists():
        return CHROMIUM
    found = shutil.which("chromium")
    if found:
        return Path(found)
    from harness.plugin import running_in_ci

    message = "Debian chromium is not installed (scripts/system-deps.sh installs it)"
    if running_in_ci():
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


class Chromium:
    """One headless browser with one page, spoken to over the page's DevTools websocket."""

    def __init__(self, *, profile: Path, width: int = 1280, height: int = 800) -> None:
        self._binary = chromium_or_skip()
        self._port = free_port()
        # In the test's temp dir: pytest removes it later, once every chromium child has left.
        self._profile = profile
        self._size = (width, height)
        self._ids = itertools.count(1)
        self._process: subprocess.Popen[bytes] | None = None
        self._socket: ClientConnection | None = None

    def __enter__(self) -> Self:
        self._process = subprocess.Popen(
            [
                str(self._binary),
                *FLAGS,
                f"--user-data-dir={self._profile}",
                f"--remote-debugging-port={self._port}",
                f"--window-size={self._size[0]},{self._size[1]}",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self._socket = connect(self._page_socket(), max_size=64 << 20, open_timeout=10)
        self.send("Page.enable")
        self.send("Runtime.enable")
        width, height = self._size
        # A headless window has a minimum width; the emulated viewport has none.
        self.send(
            "Emulation.setDeviceMetricsOverride",
            width=width,
            height=height,
            deviceScaleFactor=1,
            mobile=width < PHONE_WIDTH,
        )
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._socket is not None:
            self._socket.close()
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()

    def _page_socket(self) -> str:
        deadline = time.monotonic() + START_TIMEOUT_S
        url = f"http://{LOOPBACK}:{self._port}/json/list"
        while time.monotonic() < deadline:
            try:
                pages = [t for t in httpx.get(url, timeout=2).json() if t["type"] == "page"]
            except (httpx.HTTPError, ValueError):
                pages = []
            if pages:
                return str(pages[0]["webSocketDebuggerUrl"])
            time.sleep(0.1)
        raise RuntimeError(f"chromium's DevTools did not answer on port {self._port}")

    def send(self, method: str, **params: Any) -> dict[str, Any]:
        """Call a DevTools method and return its result (events in between are skipped)."""
        assert self._socket is not None
        message_id = next(self._ids)
        self._socket.send(json.dumps({"id": message_id, "method": method, "params": params}))
        while True:
            answer = json.loads(self._socket.recv(timeout=30))
            if answer.get("id") == message_id:
                if "error" in answer:
                    raise RuntimeError(f"{method}: {answer['error']}")
                result: dict[str, Any] = answer.get("result", {})
                return result

    def set_cookie(self, *, url: str, name: str, value: str) -> None:
        """Give the browser a cookie for a site, as a login would."""
        self.send("Network.setCookie", url=url, name=name, value=value, httpOnly=True)

    def open(self, url: str) -> None:
        """Navigate and wait until the page has loaded."""
        self.send("Page.navigate", url=url)
        self.wait_for("document.readyState === 'complete'")

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page."""
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression: str, *, timeout: float = 10.0) -> None:
        """Wait until a JavaScript expression is true in the page; fail the test otherwise.

        An expression that throws counts as not true yet: during a navigation the next page's
        body may not exist for a moment.
        """
        deadline = time.monotonic() + timeout
        check = (
            f"(() => {{ try {{ return Boolean({expression}); }} catch (e) {{ return false; }} }})()"
        )
        while not self.evaluate(check):
            if time.monotonic() > deadline:
                pytest.fail(f"the page never showed {expression} within {timeout:g} s")
            time.sleep(0.05)

    def screenshot(self, path: Path) -> None:
        """Save the viewport as a PNG."""
        data = self.send("Page.captureScreenshot", format="png")["data"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))
