"""Dashboards as data: a dashboard is variables and rows of panels, each panel its InfluxQL queries.

Queries use Grafana's InfluxQL template syntax (`$timeFilter`, `$__interval`, `/^$site$/`) so
the same text runs in Grafana and, expanded by `dashboards.expand`, in the tests and the bench.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

INFLUX_UID = "officina-influxdb"


class PanelKind(StrEnum):
    """The Grafana panel types officina uses."""

    TIMESERIES = "timeseries"
    STATE_TIMELINE = "state-timeline"
    TABLE = "table"
    STAT = "stat"
    BARCHART = "barchart"


class VariableKind(StrEnum):
    """How a template variable gets its values."""

    QUERY = "query"  # from InfluxDB (tag values)
    CONSTANT = "constant"  # a setting of the dashboard, hidden
    CUSTOM = "custom"  # a short list the viewer picks from


@dataclass(frozen=True, slots=True, kw_only=True)
class Variable:
    """A template variable: a tag query, or a setting with a default."""

    name: str
    label: str
    kind: VariableKind
    definition: str  # InfluxQL for QUERY, the value(s) for CONSTANT/CUSTOM (comma-separated)
    multi: bool = False
    include_all: bool = False
    description: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Query:
    """One InfluxQL query of a panel; `table` asks Grafana for rows instead of series."""

    influxql: str
    alias: str = ""
    table: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class FieldLink:
    """A data link on one column: a click opens `url` (Grafana fills in `${__value.raw}`)."""

    field: str
    title: str
    url: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Panel:
    """One panel: its title, kind, unit and queries; `width` in Grafana's 24-column grid.

    `min_interval` (`10s`, `1m`, `1h`): Grafana never groups finer, so a panel reading a rollup
    sets its step. `max_data_points` caps the points per series (Grafana's default is about
    one per pixel). `relative_time` (`1h`) shows only that much before now, whatever the
    dashboard's range, as Grafana's panel option of that name does. `links` are data links on
    columns; `hidden_columns` are left out of a table (the time of an aggregate over the range).
    """

    title: str
    kind: PanelKind
    queries: tuple[Query, ...]
    unit: str = "none"
    description: str = ""
    width: int = 12
    height: int = 8
    reads_rollups: bool = False
    min_interval: str = ""
    max_data_points: int = 0
    relative_time: str = ""
    links: tuple[FieldLink, ...] = ()
    hidden_columns: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Dashboard:
    """A dashboard: a stable uid, its variables, its default time range and its panels."""

    uid: str
    title: str
    description: str
    variables: tuple[Variable, ...]
    panels: tuple[Panel, ...]
    time_from: str = "now-6h"
    refresh: str = "30s"
    tags: tuple[str, ...] = ("officina",)

    @property
    def file_name(self) -> str:
        """The JSON file this dashboard is provisioned from."""
        return f"{self.uid}.json"
