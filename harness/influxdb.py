"""A real InfluxDB 1.x on free loopback ports, spoken to through its v1 HTTP API."""

from __future__ import annotations

import gzip
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from harness.errors import InfluxQueryError
from harness.ports import LOOPBACK, free_port, process_listens_on
from harness.process import ServerProcess, find_binary, start_on_free_ports

START_TIMEOUT_S = 30.0
HTTP_TIMEOUT_S = 10.0

_CONFIG = """\
reporting-disabled = true
bind-address = "{host}:{rpc_port}"

[meta]
  dir = "{root}/meta"
  logging-enabled = false

[data]
  dir = "{root}/data"
  wal-dir = "{root}/wal"
  query-log-enabled = false

[monitor]
  store-enabled = false

[http]
  bind-address = "{host}:{http_port}"
  log-enabled = false
  pprof-enabled = false

[logging]
  level = "warn"
  suppress-logo = true

[continuous_queries]
  log-enabled = false
"""


@dataclass(frozen=True, slots=True)
class Series:
    """One series of an InfluxQL answer: its measurement, tags, columns and rows."""

    name: str
    columns: tuple[str, ...]
    values: tuple[tuple[object, ...], ...]
    tags: Mapping[str, str] = field(default_factory=dict)

    def rows(self) -> list[dict[str, object]]:
        """Each row as column name → value, for readable assertions."""
        return [dict(zip(self.columns, row, strict=True)) for row in self.values]


def _series_of(answer: object) -> list[Series]:
    if not isinstance(answer, dict):
        raise InfluxQueryError(f"unexpected answer from InfluxDB: {answer!r}")
    if "error" in answer:
        raise InfluxQueryError(str(answer["error"]))
    found: list[Series] = []
    for result in answer.get("results", []):
        if "error" in result:
            raise InfluxQueryError(str(result["error"]))
        for raw in result.get("series", []):
            found.append(
                Series(
                    name=str(raw.get("name", "")),
                    columns=tuple(raw.get("columns", [])),
                    values=tuple(tuple(row) for row in raw.get("values", [])),
                    tags=dict(raw.get("tags", {})),
                )
            )
    return found


class InfluxServer:
    """One influxd with its own meta, data and WAL dirs; stop() and start() keep port and data."""

    def __init__(self, *, workdir: Path, database: str, port: int | None = None) -> None:
        self.host = LOOPBACK
        self.port = port or free_port()
        # The RPC (backup) port defaults to 8088 and would collide between instances.
        self.rpc_port = free_port()
        self.url = f"http://{self.host}:{self.port}"
        self.database = database
        self.workdir = workdir
        self.config_path = workdir / "influxdb.conf"
        binary = find_binary("influxd", package="influxdb")
        workdir.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(
            _CONFIG.format(
                host=self.host, rpc_port=self.rpc_port, http_port=self.port, root=workdir
            )
        )
        self._process = ServerProcess(
            name=f"influxd on {self.url}",
            command=[str(binary), "-config", str(self.config_path)],
            log_path=workdir / "influxd.log",
            ready=self._answers,
            start_timeout=START_TIMEOUT_S,
        )

    def __repr__(self) -> str:
        return f"InfluxServer({self.url}, database={self.database!r})"

    @property
    def running(self) -> bool:
        """Whether the influxd process is alive."""
        return self._process.running

    @property
    def log_path(self) -> Path:
        """Where influxd's output goes."""
        return self._process.log_path

    def start(self) -> None:
        """Start (or restart) influxd and wait until GET /ping answers 204."""
        self._process.start()

    def stop(self) -> None:
        """Stop influxd cleanly (SIGTERM)."""
        self._process.stop()

    def kill(self) -> None:
        """Kill influxd with SIGKILL; on restart it replays its WAL."""
        self._process.kill()

    def log_tail(self, lines: int = 40) -> str:
        """The last lines of influxd's log."""
        return self._process.log_tail(lines)

    def execute(self, influxql: str) -> None:
        """Run a statement that changes things (CREATE, DROP) with POST /query."""
        answer = self._request("POST", "/query", params={"q": influxql})
        _series_of(answer)

    def query(
        self, influxql: str, *, database: str | None = None, epoch: str = "ms"
    ) -> list[Series]:
        """Run an InfluxQL query with GET /query; times come back as integers in `epoch` units."""
        params = {"q": influxql, "db": database or self.database, "epoch": epoch}
        return _series_of(self._request("GET", "/query", params=params))

    def write(
        self, lines: str | Iterable[str], *, database: str | None = None, precision: str = "ms"
    ) -> None:
        """Write line protocol with POST /write, gzip-compressed as officina sends it."""
        text = lines if isinstance(lines, str) else "\n".join(lines)
        try:
            response = httpx.post(
                f"{self.url}/write",
                params={"db": database or self.database, "precision": precision},
                content=gzip.compress(text.encode("utf-8")),
                headers={"Content-Encoding": "gzip", "Content-Type": "text/plain; charset=utf-8"},
                timeout=HTTP_TIMEOUT_S,
            )
        except httpx.HTTPError as err:
            raise InfluxQueryError(f"POST /write failed: {err}") from err
        if response.status_code != httpx.codes.NO_CONTENT:
            raise InfluxQueryError(f"write refused ({response.status_code}): {response.text}")

    def create_database(self, name: str) -> None:
        """Create a database (a no-op when it exists)."""
        self.execute(f'CREATE DATABASE "{name}"')

    def drop_database(self, name: str) -> None:
        """Drop a database and everything in it."""
        self.execute(f'DROP DATABASE "{name}"')

    def _request(self, method: str, path: str, *, params: Mapping[str, str]) -> object:
        try:
            response = httpx.request(
                method, f"{self.url}{path}", params=dict(params), timeout=HTTP_TIMEOUT_S
            )
        except httpx.HTTPError as err:
            raise InfluxQueryError(f"{method} {path} failed: {err}") from err
        try:
            answer: object = response.json()
        except ValueError as err:
            raise InfluxQueryError(
                f"{method} {path}: not JSON ({response.status_code}): {response.text[:200]}"
            ) from err
        return answer

    def _answers(self, pid: int) -> bool:
        if not process_listens_on(pid, self.port):
            return False
        try:
            response = httpx.get(f"{self.url}/ping", timeout=1.0)
        except httpx.HTTPError:
            return False
        return response.status_code == httpx.codes.NO_CONTENT


@dataclass(frozen=True, slots=True)
class InfluxDatabase:
    """One database on a running InfluxServer, with the same helpers bound to it."""

    server: InfluxServer
    database: str

    @property
    def url(self) -> str:
        """The server's base URL."""
        return self.server.url

    def query(self, influxql: str, *, epoch: str = "ms") -> list[Series]:
        """Run an InfluxQL query against this database."""
        return self.server.query(influxql, database=self.database, epoch=epoch)

    def write(self, lines: str | Iterable[str], *, precision: str = "ms") -> None:
        """Write line protocol into this database."""
        self.server.write(lines, database=self.database, precision=precision)


def start_influxdb(*, workdir: Path, database: str = "officina") -> InfluxServer:
    """Write a config into workdir, start influxd with it, create the database, return it."""
    server = start_on_free_ports(lambda: InfluxServer(workdir=workdir, database=database))
    try:
        server.create_database(database)
    except InfluxQueryError:
        server.stop()
        raise
    return server
