"""InfluxDB over its v1-compatible HTTP API (1.8+, 2.x, 3.x): line protocol and InfluxQL.

The client sends one batch per call and says plainly what went wrong: InfluxDB away, busy or
not letting us in (`InfluxUnavailableError`: the same batch may succeed later) or InfluxDB
refusing the lines themselves (`InfluxRefusedError`, HTTP 400/413: sending them again would fail
again). Batching, retrying and acknowledging are the writer's job (ingest's booker,
billing's projection).
"""

from __future__ import annotations

import gzip
import ipaddress
import logging
from collections.abc import Sequence
from dataclasses import dataclass

import httpx

from contract.secrets import password_problem, secret_problem
from services.influx.errors import (
    InfluxError,
    InfluxRefusedError,
    InfluxSettingsError,
    InfluxUnavailableError,
)

log = logging.getLogger(__name__)

MAX_BATCH_LINES = 5_000
# Level 1 compresses line protocol about 8:1 at a fraction of level 6's time.
GZIP_LEVEL = 1
_REFUSED = frozenset({400, 413})


@dataclass(frozen=True, slots=True)
class InfluxSettings:
    """Where and as whom to write: a v1 database (a DBRP-mapped bucket on 2.x and 3.x)."""

    url: str
    database: str
    token: str | None = None
    username: str | None = None
    password: str | None = None
    retention_policy: str | None = None
    timeout_s: float = 10.0
    # gzip the line protocol: None decides by the address (see `compresses`).
    gzip: bool | None = None

    @property
    def compresses(self) -> bool:
        """Whether writes are gzip'd: by default on a network, not on this machine's loopback.

        Over a LAN the body is what counts (a 100 Mbit/s link carries ~100,000 plain lines a
        second, 8:1 gzip'd lines eight times as many). On loopback no link is saved, and both
        sides pay: ingest compressing, InfluxDB inflating every body on the same CPUs.
        """
        if self.gzip is not None:
            return self.gzip
        return not _is_loopback(httpx.URL(self.url).host)

    def __post_init__(self) -> None:
        if not self.url.startswith(("http://", "https://")):
            raise InfluxSettingsError(
                f"influx url {self.url!r}: must start with http:// or https://"
            )
        if not self.database:
            raise InfluxSettingsError("influx database: must not be empty")
        if self.token and self.username:
            raise InfluxSettingsError(
                "influx token and username: give one way of logging in, not both"
            )
        weak = [
            secret_problem("influx token", self.token) if self.token else None,
            password_problem("influx password", self.password or None),
        ]
        if any(weak):
            raise InfluxSettingsError("; ".join(problem for problem in weak if problem))


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class InfluxClient:
    """One HTTP connection pool to InfluxDB; `write_lines` sends one batch (gzip'd off-host)."""

    def __init__(self, settings: InfluxSettings) -> None:
        self.settings = settings
        self._client = httpx.Client(
            base_url=settings.url.rstrip("/"),
            timeout=settings.timeout_s,
            auth=(settings.username, settings.password or "") if settings.username else None,
            headers={"Authorization": f"Token {settings.token}"} if settings.token else None,
        )
        self._params = {"db": settings.database, "precision": "ms"}
        self._gzip = settings.compresses
        if settings.retention_policy:
            self._params["rp"] = settings.retention_policy

    def __enter__(self) -> InfluxClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    def write_lines(self, lines: Sequence[str]) -> None:
        """Write up to 5,000 lines in one POST; raise what InfluxDB said if it did not."""
        if not lines:
            return
        if len(lines) > MAX_BATCH_LINES:
            raise ValueError(f"{len(lines)} lines: at most {MAX_BATCH_LINES} per write")
        body = ("\n".join(lines) + "\n").encode("utf-8")
        headers = {"Content-Type": "text/plain; charset=utf-8"}
        if self._gzip:
            body = gzip.compress(body, compresslevel=GZIP_LEVEL)
            headers["Content-Encoding"] = "gzip"
        response = self._request(
            "POST", "/write", params=self._params, content=body, headers=headers
        )
        if response.is_success:
            return
        text = response.text.strip()
        if response.status_code in _REFUSED:
            raise InfluxRefusedError(
                f"InfluxDB refused {len(lines)} lines: HTTP {response.status_code} {text}",
                status=response.status_code,
            )
        raise InfluxUnavailableError(
            f"POST {self.settings.url}/write: HTTP {response.status_code} {text}",
            status=response.status_code,
        )

    def query(self, influxql: str, *, database: str | None = None) -> list[dict[str, object]]:
        """Run InfluxQL that reads (GET /query); the `results` of the answer, errors raised."""
        params = {"q": influxql, "db": database or self.settings.database, "epoch": "ms"}
        return self._results(self._request("GET", "/query", params=params), influxql)

    def execute(self, influxql: str) -> list[dict[str, object]]:
        """Run InfluxQL that changes things (POST /query): CREATE, ALTER, DROP, SELECT INTO."""
        params = {"q": influxql, "db": self.settings.database}
        return self._results(self._request("POST", "/query", params=params), influxql)

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str],
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        try:
            return self._client.request(
                method, path, params=params, content=content, headers=headers
            )
        except httpx.HTTPError as err:
            raise InfluxUnavailableError(f"{method} {self.settings.url}{path}: {err}") from err

    def _results(self, response: httpx.Response, influxql: str) -> list[dict[str, object]]:
        if response.status_code in (401, 403) or response.status_code >= 500:
            raise InfluxUnavailableError(
                f"{influxql!r}: HTTP {response.status_code} {response.text.strip()}",
                status=response.status_code,
            )
        try:
            answer = response.json()
        except ValueError as err:
            raise InfluxError(f"{influxql!r}: not JSON: {response.text[:200]}") from err
        if not isinstance(answer, dict):
            raise InfluxError(f"{influxql!r}: unexpected answer {answer!r}")
        if "error" in answer:
            raise InfluxError(f"{influxql!r}: {answer['error']}")
        results = answer.get("results", [])
        for result in results:
            if "error" in result:
                raise InfluxError(f"{influxql!r}: {result['error']}")
        return list(results)
